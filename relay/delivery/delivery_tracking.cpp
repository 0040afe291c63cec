// relay/delivery/delivery_tracking.cpp — delivery tracking records (see the header).
#include "relay/delivery/delivery_tracking.hpp"

#include <algorithm>

namespace relay {
namespace {

tracking::Record about(const queue::QueuedMessage& message, tracking::Event event, tracking::UnixMillis now) {
  tracking::Record r;
  r.time = now;
  r.event = event;
  r.queue_id = queue::format_queue_id(message.id);
  r.sender = message.sender;
  r.size = message.body.size();
  r.direction = conf::to_string(message.direction);
  r.listener = message.listener;
  r.latency_ms = now - message.received_at;
  return r;
}

std::optional<tracking::Event> event_of(const queue::RecipientOutcome& outcome) {
  switch (outcome.state) {
    case queue::RecipientState::delivered: return tracking::Event::deliver;
    case queue::RecipientState::failed: return tracking::Event::bounce;
    case queue::RecipientState::expired: return tracking::Event::expire;
    case queue::RecipientState::pending:
      if (outcome.attempted || outcome.parked_route != 0) return tracking::Event::defer;
      return std::nullopt;
  }
  return std::nullopt;
}

void with_tls(tracking::Record& r, const std::optional<TlsUsed>& tls) {
  if (!tls) return;
  r.tls_kind = std::string(to_string(tls->kind));
  r.tls_protocol = tls->protocol;
  r.tls_cipher = tls->cipher;
}

}  // namespace

void track_outcomes(tracking::Writer* writer, const queue::QueuedMessage& message,
                    std::span<const queue::RecipientOutcome> outcomes, const std::optional<TlsUsed>& tls) {
  if (writer == nullptr) return;
  const auto now = tracking::now_ms();
  for (const auto& outcome : outcomes) {
    const auto event = event_of(outcome);
    if (!event) continue;
    tracking::Record r = about(message, *event, now);
    const auto rcpt = std::ranges::find(message.recipients, outcome.index, &queue::QueuedRecipient::index);
    if (rcpt != message.recipients.end()) {
      r.recipients.push_back(rcpt->address);
      if (outcome.attempted) r.attempt = rcpt->attempts + 1;
    }
    r.hop = outcome.hop;
    r.remote = outcome.hop_address;
    r.reply = outcome.reply;
    if (!outcome.hop.empty()) with_tls(r, tls);
    if (outcome.parked_route != 0) {
      r.stage = "parked";
      r.reason = "no usable hop on route " + outcome.parked_on;
    }
    writer->emit(std::move(r));
  }
}

void track_hop_retry(tracking::Writer* writer, const queue::QueuedMessage& message,
                     std::span<const std::size_t> positions, std::string_view hop, std::string_view remote,
                     std::string_view reply, const std::optional<TlsUsed>& tls) {
  if (writer == nullptr) return;
  tracking::Record r = about(message, tracking::Event::defer, tracking::now_ms());
  std::uint32_t attempt = 0;
  for (const std::size_t position : positions) {
    r.recipients.push_back(message.recipients[position].address);
    attempt = std::max(attempt, message.recipients[position].attempts + 1);
  }
  r.attempt = attempt;
  r.hop = std::string(hop);
  r.remote = std::string(remote);
  r.reply = std::string(reply);
  with_tls(r, tls);
  r.stage = "next_hop";  // tried on another hop at once, not queued
  writer->emit(std::move(r));
}

void track_notice(tracking::Writer* writer, const queue::QueuedMessage& message, std::string_view kind,
                  std::size_t recipients) {
  if (writer == nullptr) return;
  tracking::Record r = about(message, tracking::Event::dsn, tracking::now_ms());
  r.reason = std::string(kind);
  r.reply = std::to_string(recipients) + " recipient(s) reported to the sender";
  writer->emit(std::move(r));
}

void track_drop(tracking::Writer* writer, const queue::QueuedMessage& message, std::string_view why) {
  if (writer == nullptr) return;
  tracking::Record r = about(message, tracking::Event::drop, tracking::now_ms());
  r.reason = std::string(why);
  writer->emit(std::move(r));
}

}  // namespace relay
