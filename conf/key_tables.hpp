// conf/key_tables.hpp — the keys the loader accepts, table by table, for tests and docs checks.
//
// Owns: a read-only view of the loader's key tables (conf/reader.hpp): each TOML table's
// dotted path and its keys, in reading order. The tables themselves drive the unknown-key
// check and the reads, so this list is exactly what hubrelay.toml may contain.
// Never: used by the loader itself.
#pragma once

#include <string>
#include <vector>

namespace conf {

struct KeyTable {
  /// "" for the top level; "relay", "listener", "policy" (any [policy.NAME]),
  /// "policy.dnsbl[]" (each entry of an array of tables), "path.down_after" (a sub-table),
  /// "[dkim]" (the keys of the table itself, whose other entries are [dkim.NAME] tables).
  std::string path;
  std::vector<std::string> keys;
};

/// Every table the loader reads. Tables whose keys are names (auth_users, [dns.hosts]) are
/// not listed: any key is accepted there.
std::vector<KeyTable> key_tables();

}  // namespace conf
