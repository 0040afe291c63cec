// health/maintenance.cpp — weekly windows in a fixed UTC offset (see the header).
#include "health/maintenance.hpp"

namespace health {

namespace {

constexpr std::int64_t minutes_per_day = 24 * 60;

bool day_set(std::uint8_t days, std::int64_t weekday) noexcept {
  return ((days >> ((weekday % 7 + 7) % 7)) & 1u) != 0;
}

}  // namespace

bool in_window(const conf::MaintenanceWindow& window, std::chrono::system_clock::time_point now) noexcept {
  using namespace std::chrono;
  const std::int64_t local = duration_cast<minutes>(now.time_since_epoch()).count() + window.utc_offset_minutes;
  // floor division: instants before 1970 still land on the right day
  const std::int64_t day = local >= 0 ? local / minutes_per_day : (local - minutes_per_day + 1) / minutes_per_day;
  const std::int64_t minute = local - day * minutes_per_day;
  const std::int64_t weekday = day + 3;  // 1970-01-01 was a Thursday; 0 = Monday
  const std::int64_t start = window.start_minute;
  const std::int64_t end = window.end_minute;
  if (start == end) return day_set(window.days, weekday);
  if (start < end) return day_set(window.days, weekday) && minute >= start && minute < end;
  // Crosses midnight: the evening part of a listed day, or the morning after one.
  return (day_set(window.days, weekday) && minute >= start) || (day_set(window.days, weekday - 1) && minute < end);
}

bool in_maintenance(const std::vector<conf::MaintenanceWindow>& windows,
                    std::chrono::system_clock::time_point now) noexcept {
  for (const auto& w : windows)
    if (in_window(w, now)) return true;
  return false;
}

}  // namespace health
