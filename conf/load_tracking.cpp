// conf/load_tracking.cpp — the [tracking] table: message tracking records.
//
// Owns: the keys of [tracking] (enabled, dir, retention, max_file_size), their limits,
// and the default directory (state_dir/tracking, read after [relay] has resolved
// state_dir). Never: creates the directory (the daemon's tracking writer does).
// See docs/tracking.md and docs/configuration.md.
#include "conf/reader.hpp"

namespace conf::reading {
namespace {

constexpr Limit tracking_retention{"tracking.retention", LimitKind::duration, 60 * 60 * 1000LL,
                                   10LL * 366 * 24 * 60 * 60 * 1000};
constexpr Limit tracking_max_file_size{"tracking.max_file_size", LimitKind::size, 1024 * 1024,
                                       std::int64_t{1} << 40, "rotate by day only"};

}  // namespace

const Keys<TrackingConfig>& tracking_keys() {
  static const Keys<TrackingConfig> keys{
      {"enabled", Need::optional, into_bool(&TrackingConfig::enabled)},
      {"dir", Need::optional,
       [](Loader& l, const Field& f, TrackingConfig& tracking) {
         std::string dir;
         if (!l.read_string(*f.value, f.key, dir)) return;
         if (dir.empty()) l.error(f, "must not be empty (leave the key out for state_dir/tracking)");
         else tracking.dir = l.resolve(dir);
       }},
      {"retention", Need::optional,
       [](Loader& l, const Field& f, TrackingConfig& tracking) {
         Millis retention{};
         if (l.read_duration(*f.value, f.key, tracking_retention, retention))
           tracking.retention = std::chrono::ceil<std::chrono::hours>(retention);
       }},
      {"max_file_size", Need::optional, into_size(&TrackingConfig::max_file_size, tracking_max_file_size)},
  };
  return keys;
}

void read_tracking(Loader& loader, const Field& f, Config& config) {
  if (f.value != nullptr && loader.expect(*f.value, toml::value_t::table, f.key))
    read_keys(loader, *f.value, f.key, tracking_keys(), config.tracking);
  if (config.tracking.dir.empty()) config.tracking.dir = config.relay.state_dir + "/tracking";
}

}  // namespace conf::reading
