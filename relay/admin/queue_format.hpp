// relay/admin/queue_format.hpp — how `hubrelay queue` and the admin queue API show the queue.
//
// Owns: turning option values (the same keys for `queue list --KEY VALUE` and the
// /api/queue?KEY=VALUE query) into a queue::QueueFilter with clear errors, one JSON
// object per message (JSON lines), the human table, `show` output (with the node holding
// each recipient's lease on a shared queue), and the qshape-like summary table.
// Never: opens the database or prints; callers write the strings.
// Threading: pure functions. Errors: std::expected with the message for the operator.
#pragma once

#include <expected>
#include <map>
#include <string>
#include <vector>

#include "queue/message_view.hpp"
#include "queue/queue_query.hpp"

namespace relay::queue_format {

using Options = std::map<std::string, std::string, std::less<>>;

/// Keys: state, direction, listener, sender, recipient, domain, hop, older, newer,
/// limit, offset, after. Unknown keys and bad values are errors naming the key.
std::expected<queue::QueueFilter, std::string> filter_from(const Options& options);

std::string message_json(const queue::MessageView& m, queue::UnixMillis now);
std::string list_header();
std::string message_line(const queue::MessageView& m, queue::UnixMillis now);
std::string show_text(const queue::MessageView& m, queue::UnixMillis now);
/// Why a pending recipient waits: `hop=H "last real reply or fault"` and/or `parked on
/// route R since T` (with the park's text when it was never tried); "" when neither is
/// known (the compact line of `queue list`).
std::string waiting_text(const queue::RecipientView& r);
/// Who holds a recipient on a shared queue: `node N until T`, with ` (ran out: any node
/// may take it over)` once T is past at `now`; "" when no node holds it (always on SQLite).
std::string lease_text(const queue::RecipientView& r, queue::UnixMillis now);
/// A delivery is in progress: leased, and on a shared queue the lease has not run out.
bool in_delivery(const queue::RecipientView& r, queue::UnixMillis now);
std::string summary_text(const std::vector<queue::SummaryRow>& rows);
std::string summary_json(const std::vector<queue::SummaryRow>& rows);

/// "2026-11-23T05:33:28Z" for Unix milliseconds (UTC, no clock read); "-" for 0.
std::string iso_time(queue::UnixMillis ms);
/// "42s", "17m", "3h", "2d".
std::string short_age(std::int64_t ms);

}  // namespace relay::queue_format
