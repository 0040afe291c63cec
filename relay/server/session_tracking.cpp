// relay/server/session_tracking.cpp — server tracking records (see the header).
#include "relay/server/session_tracking.hpp"

#include "relay/tracking/message_id.hpp"

namespace relay {

void track_reception(tracking::Writer* writer, const queue::QueuedMessage& message, const conf::ListenerConfig& listener,
                     std::string_view client, std::string_view helo, const SSL* tls, std::string_view spooled_head,
                     std::string_view dkim) {
  if (writer == nullptr) return;
  tracking::Record r;
  r.time = message.received_at;
  r.event = tracking::Event::receive;
  r.queue_id = queue::format_queue_id(message.id);
  // A spooled body's file is not read back on this thread: its first octets were kept.
  r.message_id = tracking::message_id_of(message.body.data ? std::string_view(*message.body.data) : spooled_head);
  r.sender = message.sender;
  for (const auto& rcpt : message.recipients) r.recipients.push_back(rcpt.address);
  r.size = message.body.size();
  r.direction = conf::to_string(listener.direction);
  r.listener = listener.name;
  r.client = std::string(client);
  r.helo = std::string(helo);
  r.dkim = std::string(dkim);
  if (tls != nullptr) {
    r.tls_protocol = SSL_get_version(tls);
    if (const char* cipher = SSL_get_cipher_name(tls)) r.tls_cipher = cipher;
  }
  // The queue record says the same of the message, without the session's details.
  tracking::Record queued{.time = tracking::now_ms(), .event = tracking::Event::queue, .queue_id = r.queue_id,
                          .message_id = r.message_id, .sender = r.sender, .recipients = r.recipients,
                          .size = r.size, .direction = r.direction, .listener = r.listener,
                          .dkim = r.dkim};
  queued.latency_ms = queued.time - message.received_at;
  writer->emit(std::move(r));
  writer->emit(std::move(queued));
}

void track_refusal(tracking::Writer* writer, const PolicyEvent& event, const conf::ListenerConfig& listener,
                   std::string_view client) {
  if (writer == nullptr || event.decision.accepted()) return;
  tracking::Record r;
  r.time = tracking::now_ms();
  r.event = tracking::Event::reject;
  if (event.sender) r.sender = std::string(*event.sender);
  if (event.recipient) r.recipients.emplace_back(*event.recipient);
  r.direction = conf::to_string(listener.direction);
  r.listener = listener.name;
  r.client = std::string(client);
  r.helo = std::string(event.helo);
  r.stage = std::string(to_string(event.stage));
  r.reason = std::string(policy::to_string(event.decision.reason));
  if (event.reply != ReplyId::count_) {
    const ReplySpec& spec = reply_spec(event.reply);
    r.reply = std::to_string(spec.code);
    if (!spec.enhanced.empty()) r.reply += " " + std::string(spec.enhanced);
  }
  writer->emit(std::move(r));
}

}  // namespace relay
