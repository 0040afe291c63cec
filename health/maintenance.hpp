// health/maintenance.hpp — is a path inside one of its weekly maintenance windows?
//
// Owns: the calendar arithmetic for conf::MaintenanceWindow: days of the week plus a
// start and end time of day in a fixed UTC offset. A window whose end is before its
// start crosses midnight: it belongs to the day it starts on (Saturday 22:00-02:00
// covers Saturday 22:00 to Sunday 02:00). start == end means the whole day.
// Pure: the wall-clock instant is passed in. Named TZ database zones are not supported
// (g++ 12's libstdc++ lacks std::chrono::locate_zone); the loader accepts "UTC" and
// fixed offsets such as "+02:00" (docs/health.md).
#pragma once

#include <chrono>
#include <vector>

#include "conf/config.hpp"

namespace health {

/// True when `now` falls in `window`.
bool in_window(const conf::MaintenanceWindow& window, std::chrono::system_clock::time_point now) noexcept;
/// True when `now` falls in any of `windows`.
bool in_maintenance(const std::vector<conf::MaintenanceWindow>& windows,
                    std::chrono::system_clock::time_point now) noexcept;

}  // namespace health
