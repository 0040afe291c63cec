// conf/load.hpp — reading and validating hubrelay.toml.
//
// Owns: TOML text → validated conf::Config. Validation reports EVERY problem found,
// each with file, line and dotted key (e.g. "hubrelay.toml:42: route[1].hops[0].hop:
// unknown hop 'hub3'"), never just the first. Unknown keys are errors (a typo must not
// silently fall back to a default). Exceptions from toml11 never escape.
// Performs file I/O only in load_file().
#pragma once

#include <expected>
#include <string>
#include <string_view>
#include <vector>

#include "conf/config.hpp"
#include "conf/value_syntax.hpp"  // parse_duration, parse_size: declared here before

namespace conf {

struct Diagnostic {
  std::string file;
  int line = 0;          // 1-based; 0 when unknown (e.g. file unreadable)
  std::string key;       // dotted path, "listener[0].bind[1]"
  std::string message;

  /// "file:line: key: message"
  std::string to_string() const;
};

using LoadResult = std::expected<ConfigPtr, std::vector<Diagnostic>>;

LoadResult load_file(const std::string& path);
LoadResult load_string(std::string_view text, const std::string& file_name);

}  // namespace conf
