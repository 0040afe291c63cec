// conf/load_queue_backend.cpp — where the queue lives and what this node is called:
// [queue] backend and node, and the [queue.postgresql] table.
//
// Owns: the rows of those keys (appended to the [queue] key table by load_service.cpp),
// the node name's default (the system host name) and its check, and the cross-check that
// backend = "postgresql" comes with a [queue.postgresql] conninfo_file, whose text is read
// here (conf/secret_file.hpp) so that a missing or unsafe file is a diagnostic of the
// configuration, with file, line and key, and never a failure of a running daemon.
// Never: connects to PostgreSQL; puts the conninfo text into a diagnostic (it may hold a
// password).
// See docs/configuration.md ([queue], [queue.postgresql]) and docs/scale-out.md.
#include <unistd.h>

#include <array>
#include <climits>

#include "conf/reader.hpp"
#include "conf/secret_file.hpp"
#include "conf/value_syntax.hpp"

namespace conf::reading {
namespace {

/// The system host name as this node's default name; an error when it cannot be one.
std::expected<std::string, std::string> default_node_name() {
  std::array<char, HOST_NAME_MAX + 1> buffer{};
  if (::gethostname(buffer.data(), buffer.size() - 1) != 0) {
    return std::unexpected(std::string("cannot read the system host name; set node"));
  }
  const std::string host(buffer.data());
  if (!is_node_name(host)) {
    return std::unexpected("the system host name " + quote(host) +
                           " cannot be a node name (1 to 63 of letters, digits, '.', '-', '_'); set node");
  }
  return host;
}

void take_default_node(Loader& l, int line, const std::string& key, QueueConfig& queue) {
  auto host = default_node_name();
  if (!host) return l.error(line, key, host.error());
  queue.node = std::move(*host);
}

const Keys<QueueConfig>& postgresql_keys() {
  static const Keys<QueueConfig> keys{
      {"conninfo_file", Need::required,
       [](Loader& l, const Field& f, QueueConfig& queue) {
         std::string text;
         if (!l.read_string(*f.value, f.key, text)) return;
         if (text.empty()) return l.error(f, "must not be empty");
         queue.pg_conninfo_file = l.resolve(text);
         queue.pg_conninfo_file_line = l.line_of(*f.value);
         // Only the backend in use needs its secret: a prepared table for a later switch
         // does not make the file a condition of starting.
         if (queue.backend != QueueBackend::postgresql) return;
         auto conninfo = read_conninfo_file(queue.pg_conninfo_file);
         if (!conninfo) return l.error(f, conninfo.error());
         queue.pg_conninfo = std::move(*conninfo);
       }},
      {"connect_timeout", Need::optional,
       into_seconds(&QueueConfig::pg_connect_timeout, limits::queue_pg_connect_timeout)},
      {"lease_time", Need::optional, into_seconds(&QueueConfig::pg_lease_time, limits::queue_pg_lease_time)},
  };
  return keys;
}

}  // namespace

const Keys<QueueConfig>& queue_backend_keys() {
  static const Keys<QueueConfig> keys{
      {"backend", Need::optional,
       [](Loader& l, const Field& f, QueueConfig& queue) {
         static constexpr std::array<std::pair<std::string_view, QueueBackend>, 2> choices{{
             {"sqlite", QueueBackend::sqlite},
             {"postgresql", QueueBackend::postgresql},
         }};
         if (read_choice(l, *f.value, f.key, choices, queue.backend)) queue.backend_line = l.line_of(*f.value);
       }},
      {"node", Need::always,
       [](Loader& l, const Field& f, QueueConfig& queue) {
         if (f.value == nullptr) return take_default_node(l, f.section.line(), f.key, queue);
         std::string node;
         if (!l.read_string(*f.value, f.key, node)) return;
         if (!is_node_name(node)) {
           return l.error(f, quote(node) + " is not a node name (1 to 63 of letters, digits, '.', '-', '_', "
                                           "starting with a letter or digit)");
         }
         queue.node = std::move(node);
         queue.node_line = l.line_of(*f.value);
       }},
      {"postgresql", Need::always,
       [](Loader& l, const Field& f, QueueConfig& queue) {
         if (f.value != nullptr) {
           if (l.expect(*f.value, toml::value_t::table, f.key)) read_keys(l, *f.value, f.key, postgresql_keys(), queue);
           return;
         }
         if (queue.backend == QueueBackend::postgresql) {
           l.error(queue.backend_line, f.section.key("backend"),
                   "\"postgresql\" needs a [queue.postgresql] table with conninfo_file");
         }
       }},
  };
  return keys;
}

KeyTable queue_postgresql_key_table() { return key_table("queue.postgresql", postgresql_keys()); }

void read_queue(Loader& l, const Field& f, Config& config) {
  if (f.value == nullptr) return take_default_node(l, 0, "queue.node", config.queue);
  if (l.expect(*f.value, toml::value_t::table, f.key)) read_keys(l, *f.value, f.key, queue_keys(), config.queue);
}

}  // namespace conf::reading
