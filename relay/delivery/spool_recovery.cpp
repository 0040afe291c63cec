// relay/delivery/spool_recovery.cpp — orphan files and never-acknowledged envelopes removed,
// lost bodies of messages already tried failed and reported.
#include "relay/delivery/spool_recovery.hpp"

#include <spdlog/spdlog.h>

#include <map>

#include "queue/sqlite_admin_store.hpp"
#include "queue/spool_scan.hpp"
#include "relay/client/judge.hpp"
#include "relay/delivery/admin_reports.hpp"

namespace relay {

std::expected<SpoolRecovery, std::string> recover_spool(const conf::Config& config, const std::string& db_path,
                                                        const queue::Spool& spool, queue::UnixMillis now) {
  auto store = queue::SqliteAdminStore::open(db_path);
  if (!store) return std::unexpected(store.error());
  auto known = store->spooled_bodies();
  if (!known) return std::unexpected(known.error());
  std::vector<queue::SpoolEntry> entries;
  std::map<std::string, const queue::SpooledBody*, std::less<>> owner;
  for (const auto& body : *known) {
    entries.push_back({body.file, body.size});
    owner.emplace(body.file, &body);
  }
  auto removal = queue::remove_orphans(spool, std::move(entries));
  if (!removal) return std::unexpected("cannot list the spool " + spool.path() + ": " + removal.error().message());

  SpoolRecovery result;
  result.orphans_removed = removal->scan.files_without_envelope.size();
  if (result.orphans_removed > 0)
    spdlog::info("spool: {} file(s) without a queued message removed", result.orphans_removed);

  queue::Selection unacknowledged, lost;
  const auto judge = [&](const std::string& file, std::string_view what) {
    const auto found = owner.find(file);
    if (found == owner.end()) return;
    const queue::SpooledBody& body = *found->second;
    if (body.tried) {
      // Tried before the crash, so its 250 was sent: the file went afterwards (a disk
      // fault, or removed by hand). It can never be delivered; the sender is told.
      spdlog::error("qid={} spooled body {} {}: the message cannot be delivered; its recipients fail (5.3.0)",
                    queue::format_queue_id(body.id), file, what);
      lost.ids.push_back(body.id);
      return;
    }
    spdlog::warn("qid={} spooled body {} {}: the message was never acknowledged; removed from the queue",
                 queue::format_queue_id(body.id), file, what);
    unacknowledged.ids.push_back(body.id);
  };
  for (const auto& file : removal->scan.envelopes_without_file) judge(file, "is missing");
  for (const auto& file : removal->scan.incomplete) judge(file, "has the wrong size");
  result.never_acknowledged = unacknowledged.ids.size();
  result.bodies_lost = lost.ids.size();
  if (!unacknowledged.ids.empty()) {
    auto removed = store->remove(unacknowledged);
    if (!removed) return std::unexpected("cannot remove the never-acknowledged messages: " + removed.error());
    spdlog::info("spool: {} never-acknowledged message(s) without a durable body removed", result.never_acknowledged);
  }
  if (!lost.ids.empty()) {
    std::size_t unreported = 0;
    const std::string reply = reply_line(ReplyId::body_lost, "spool file missing or short at start-up");
    auto finished = store->finish(lost, queue::RecipientState::failed, reply, now,
                                  administrator_reports(config, now, unreported));
    if (!finished) return std::unexpected("cannot fail the messages whose body is lost: " + finished.error());
    result.reports = finished->notices;
  }
  return result;
}

}  // namespace relay
