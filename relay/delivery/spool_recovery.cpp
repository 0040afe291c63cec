// relay/delivery/spool_recovery.cpp — orphan files and never-acknowledged envelopes removed.
#include "relay/delivery/spool_recovery.hpp"

#include <spdlog/spdlog.h>

#include <map>

#include "queue/admin_store.hpp"
#include "queue/spool_scan.hpp"

namespace relay {

std::expected<SpoolRecovery, std::string> recover_spool(const conf::Config& /*config*/, const std::string& db_path,
                                                        const queue::Spool& spool, queue::UnixMillis /*now*/) {
  auto store = queue::AdminStore::open(db_path);
  if (!store) return std::unexpected(store.error());
  auto known = store->spooled_bodies();
  if (!known) return std::unexpected(known.error());
  std::vector<queue::SpoolEntry> entries;
  std::map<std::string, queue::MessageId, std::less<>> owner;
  for (const auto& body : *known) {
    entries.push_back({body.file, body.size});
    owner.emplace(body.file, body.id);
  }
  auto removal = queue::remove_orphans(spool, std::move(entries));
  if (!removal) return std::unexpected("cannot list the spool " + spool.path() + ": " + removal.error().message());

  SpoolRecovery result;
  result.orphans_removed = removal->scan.files_without_envelope.size();
  if (result.orphans_removed > 0)
    spdlog::info("spool: {} file(s) without a queued message removed", result.orphans_removed);

  queue::Selection unacknowledged;
  const auto drop = [&](const std::string& file, std::string_view what) {
    const auto id = owner.find(file);
    if (id == owner.end()) return;
    spdlog::warn("qid={} spooled body {} {}: the message was never acknowledged; removed from the queue",
                 queue::format_queue_id(id->second), file, what);
    unacknowledged.ids.push_back(id->second);
  };
  for (const auto& file : removal->scan.envelopes_without_file) drop(file, "is missing");
  for (const auto& file : removal->scan.incomplete) drop(file, "has the wrong size");
  result.never_acknowledged = unacknowledged.ids.size();
  if (unacknowledged.ids.empty()) return result;
  auto removed = store->remove(unacknowledged);
  if (!removed) return std::unexpected("cannot remove the never-acknowledged messages: " + removed.error());
  spdlog::info("spool: {} never-acknowledged message(s) without a durable body removed", result.never_acknowledged);
  return result;
}

}  // namespace relay
