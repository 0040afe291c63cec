// tests/health/maintenance_test.cpp — weekly maintenance windows: day boundaries,
// windows across midnight, fixed UTC offsets.
#include "health/maintenance.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <vector>

namespace {

using namespace std::chrono;

// 2026-11-21 is a Saturday.
system_clock::time_point utc(int day, int hour, int minute) {
  return sys_days{year{2026} / November / day} + hours{hour} + minutes{minute};
}

constexpr std::uint8_t mon = 1, fri = 1 << 4, sat = 1 << 5, sun = 1 << 6;

conf::MaintenanceWindow window(std::uint8_t days, int start, int end, int offset = 0) {
  conf::MaintenanceWindow w;
  w.days = days;
  w.start_minute = static_cast<std::uint16_t>(start);
  w.end_minute = static_cast<std::uint16_t>(end);
  w.utc_offset_minutes = offset;
  return w;
}

TEST(Maintenance, Table) {
  struct Case {
    const char* name;
    conf::MaintenanceWindow w;
    system_clock::time_point at;
    bool inside;
  };
  const auto sat_22_02 = window(sat, 22 * 60, 2 * 60);
  const std::vector<Case> cases{
      {"same-day window, inside", window(sat, 9 * 60, 17 * 60), utc(21, 12, 0), true},
      {"same-day window, at end (exclusive)", window(sat, 9 * 60, 17 * 60), utc(21, 17, 0), false},
      {"same-day window, at start (inclusive)", window(sat, 9 * 60, 17 * 60), utc(21, 9, 0), true},
      {"same-day window, wrong day", window(sat, 9 * 60, 17 * 60), utc(22, 12, 0), false},
      {"across midnight, evening of the listed day", sat_22_02, utc(21, 23, 30), true},
      {"across midnight, morning after", sat_22_02, utc(22, 1, 59), true},
      {"across midnight, morning after at end", sat_22_02, utc(22, 2, 0), false},
      {"across midnight, morning of the listed day is not in", sat_22_02, utc(21, 1, 0), false},
      {"across midnight, Sunday evening not listed", sat_22_02, utc(22, 22, 30), false},
      {"Sunday night into Monday (week wrap)", window(sun, 23 * 60, 60), utc(23, 0, 30), true},
      {"whole day when start == end", window(mon, 0, 0), utc(23, 15, 0), true},
      {"whole day, next day not", window(mon, 0, 0), utc(24, 0, 0), false},
      {"+02:00: 22:30 local Saturday is 20:30 UTC", window(sat, 22 * 60, 23 * 60, 120), utc(21, 20, 30), true},
      {"+02:00: 22:30 UTC is 00:30 local Sunday", window(sat, 22 * 60, 23 * 60, 120), utc(21, 22, 30), false},
      {"-05:00: Friday 23:00 local is Saturday 04:00 UTC", window(fri, 22 * 60, 0, -300), utc(22, 4, 0), false},
      {"-05:00: Friday 22:30 local is Saturday 03:30 UTC", window(fri, 22 * 60, 0, -300), utc(21, 3, 30), true},
  };
  for (const auto& c : cases) EXPECT_EQ(health::in_window(c.w, c.at), c.inside) << c.name;
}

TEST(Maintenance, AnyOfSeveralWindows) {
  const std::vector<conf::MaintenanceWindow> windows{window(sat, 60, 120), window(sun, 60, 120)};
  EXPECT_TRUE(health::in_maintenance(windows, utc(22, 1, 30)));
  EXPECT_FALSE(health::in_maintenance(windows, utc(23, 1, 30)));
  EXPECT_FALSE(health::in_maintenance({}, utc(23, 1, 30)));
}

}  // namespace
