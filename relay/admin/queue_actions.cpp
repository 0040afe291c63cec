// relay/admin/queue_actions.cpp — the queue mutations `hubrelay queue` and the admin API share.
#include "relay/admin/queue_actions.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "relay/admin/queue_format.hpp"
#include "relay/delivery/admin_reports.hpp"
#include "relay/tracking/files.hpp"
#include "relay/tracking/writer.hpp"

namespace relay::admin {
namespace {

constexpr const char* deleted_reply = "550 5.0.0 deleted by administrator";
constexpr const char* bounced_reply = "550 5.0.0 bounced by administrator";
constexpr const char* expired_reply = "451 4.4.7 expired by administrator";

std::string target_text(const QueueAction& a) {
  if (a.all) return "all";
  if (!a.domain.empty()) return "domain=" + a.domain;
  if (a.filter) {
    std::string out = "filter:";
    for (const auto& [k, v] : *a.filter) out += (out.size() > 7 ? "," : "") + k + "=" + v;
    return out;
  }
  std::string out;
  for (const auto& id : a.ids) out += (out.empty() ? "" : ",") + id;
  return out;
}

std::string action_text(const QueueAction& a) { return a.action == "delete" && a.report ? "delete --bounce" : a.action; }

// The messages a filter (or `all`, or a retry domain, for a dry run) selects.
std::expected<std::vector<queue::MessageId>, ApiError> select(queue::AdminStore& store, const QueueAction& a,
                                                              queue::UnixMillis now) {
  queue_format::Options options;
  if (a.filter) options.insert(a.filter->begin(), a.filter->end());
  if (a.all) options["state"] = "all";
  if (!a.domain.empty()) options["domain"] = a.domain;
  auto filter = queue_format::filter_from(options);
  if (!filter) return std::unexpected(ApiError{400, "bad_request", "filter: " + filter.error()});
  filter->limit = max_filtered_messages + 1;
  auto rows = store.list(*filter, now);
  if (!rows) return std::unexpected(ApiError{500, "internal", rows.error()});
  if (rows->size() > max_filtered_messages)
    return std::unexpected(ApiError{409, "conflict", fmt::format("the filter selects more than {} messages; narrow it",
                                                                 max_filtered_messages)});
  std::vector<queue::MessageId> ids;
  for (const auto& m : *rows) ids.push_back(m.id);
  return ids;
}

ApiError store_error(std::string text) {
  // AdminStore: "no message with queue id ..." for an unknown id, else a queue error.
  const bool unknown = text.starts_with("no message");
  return ApiError{unknown ? 404 : 500, unknown ? "not_found" : "internal", std::move(text)};
}

}  // namespace

namespace {

// The tracking records of an administrator's queue action (hold, release, delete, bounce,
// expire; a retry is told by its next attempt), one per message named, appended to the
// tracking directory beside a running daemon's own records (whole records, O_APPEND).
// A record that cannot be written is logged: the action itself succeeded.
void track_action(const conf::Config& config, const QueueAction& a, const queue::Selection& selection,
                  std::string_view who) {
  if (!config.tracking.enabled) return;
  tracking::Record base;
  base.time = tracking::now_ms();
  if (a.action == "hold") base.event = tracking::Event::hold;
  else if (a.action == "release") base.event = tracking::Event::release;
  else if (a.action == "delete") base.event = tracking::Event::del;
  else if (a.action == "bounce") base.event = tracking::Event::bounce;
  else if (a.action == "expire") base.event = tracking::Event::expire;
  else return;
  base.actor = std::string(who);
  base.stage = "admin";
  if (a.action == "delete" && a.report) base.reason = "deleted with a notice to the sender";
  std::vector<tracking::Record> records;
  for (const auto id : selection.ids) {
    records.push_back(base);
    records.back().queue_id = queue::format_queue_id(id);
  }
  if (selection.all || !selection.domain.empty()) {
    records.push_back(base);
    records.back().reason = selection.all ? "every message" : "every message to domain " + selection.domain;
  }
  if (auto written = tracking::append_records(config.tracking.dir, records, base.time, config.tracking.max_file_size);
      !written)
    spdlog::warn("queue admin: tracking record not written: {}", written.error());
}

}  // namespace

std::expected<QueueActionResult, ApiError> run_queue_action(queue::AdminStore& store, const conf::Config& config,
                                                           const QueueAction& a, std::string_view who,
                                                           queue::UnixMillis now) {
  QueueActionResult out{a.action, a.dry_run, 0, 0, 0, 0, {}};
  const std::string action = action_text(a);
  const auto refuse = [&](ApiError error) -> std::expected<QueueActionResult, ApiError> {
    if (!a.dry_run)
      spdlog::warn("queue admin {} action=\"{}\" target={} result=refused reason=\"{}\"", who, action, target_text(a),
                   error.message);
    return std::unexpected(std::move(error));
  };

  queue::Selection selection;
  std::vector<queue::MessageId> selected;
  if (!a.ids.empty()) {
    for (const auto& text : a.ids) {
      const auto id = queue::parse_queue_id(text);
      if (!id) return refuse({400, "bad_request", "'" + text + "' is not a queue id (hexadecimal, as in queue list)"});
      selected.push_back(*id);
    }
    if (a.dry_run)
      for (auto id : selected)
        if (auto shown = store.show(id); !shown) return refuse(store_error(shown.error()));
    selection.ids = selected;
  } else if (a.filter || a.dry_run) {
    auto ids = select(store, a, now);
    if (!ids) return refuse(ids.error());
    selected = std::move(*ids);
    selection.ids = selected;
  } else {
    selection.all = a.all;
    selection.domain = a.domain;
  }
  for (auto id : selected) out.ids.push_back(queue::format_queue_id(id));
  out.matched = selected.size();
  if (a.dry_run) return out;
  // A filter that matches nothing changes nothing (a Selection without ids would be empty too).
  if (a.filter && selected.empty()) {
    spdlog::info("queue admin {} action=\"{}\" target={} messages=0 recipients=0", who, action, target_text(a));
    return out;
  }

  std::expected<queue::MutationResult, std::string> result;
  std::size_t unreported = 0;
  const queue::NoticeComposer reports = administrator_reports(config, now, unreported);
  if (a.action == "retry") result = store.retry(selection, now);
  else if (a.action == "hold") result = store.hold(selection);
  else if (a.action == "release") result = store.release(selection, now);
  else if (a.action == "delete" && a.report) result = store.finish(selection, queue::RecipientState::failed, deleted_reply, now, reports);
  else if (a.action == "delete") result = store.remove(selection);
  else if (a.action == "bounce") result = store.finish(selection, queue::RecipientState::failed, bounced_reply, now, reports);
  else if (a.action == "expire") result = store.finish(selection, queue::RecipientState::expired, expired_reply, now, reports);
  else return refuse({400, "bad_request", "unknown queue action '" + a.action + "'"});
  if (!result) return refuse(store_error(result.error()));

  const bool finishing = a.action == "bounce" || a.action == "expire" || (a.action == "delete" && a.report);
  spdlog::info("queue admin {} action=\"{}\" target={} messages={} recipients={}{}", who, action, target_text(a),
               result->messages, result->recipients, finishing ? fmt::format(" dsn_queued={}", result->notices) : "");
  track_action(config, a, selection, who);
  if (unreported > 0)
    spdlog::warn("queue admin action=\"{}\": {} failed recipient(s) of null-sender mail; no DSN (RFC 3464 section 2)",
                 action, unreported);
  spdlog::default_logger()->flush();
  out.messages = result->messages;
  out.recipients = result->recipients;
  out.notices = result->notices;
  if (selected.empty()) out.matched = result->messages;
  return out;
}

}  // namespace relay::admin
