// relay/delivery/spool_recovery.cpp — orphan files removed, lost bodies failed and reported.
#include "relay/delivery/spool_recovery.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <map>

#include "queue/admin_store.hpp"
#include "queue/spool_scan.hpp"
#include "relay/delivery/admin_reports.hpp"
#include "relay/client/judge.hpp"

namespace relay {

std::expected<SpoolRecovery, std::string> recover_spool(const conf::Config& config, const std::string& db_path,
                                                        const queue::Spool& spool, queue::UnixMillis now) {
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

  queue::Selection lost;
  const auto fault = [&](const std::string& file, std::string_view what) {
    const auto id = owner.find(file);
    if (id == owner.end()) return;
    spdlog::error("qid={} spooled body {} {}: the message cannot be delivered; its recipients fail (5.3.0)",
                  queue::format_queue_id(id->second), file, what);
    lost.ids.push_back(id->second);
  };
  for (const auto& file : removal->scan.envelopes_without_file) fault(file, "is missing");
  for (const auto& file : removal->scan.incomplete) fault(file, "has the wrong size");
  result.bodies_lost = lost.ids.size();
  if (lost.ids.empty()) return result;

  std::size_t unreported = 0;
  const std::string reply = reply_line(ReplyId::body_lost, "spool file missing or short at start-up");
  auto finished = store->finish(lost, queue::RecipientState::failed, reply, now,
                                administrator_reports(config, now, unreported));
  if (!finished) return std::unexpected("cannot fail the messages whose body is lost: " + finished.error());
  result.reports = finished->notices;
  return result;
}

}  // namespace relay
