// queue/queue_store.cpp — the parts of QueueStore every backend shares.
#include "queue/queue_store.hpp"

#include "queue/errc.hpp"

namespace queue {

QueuedMessage stored_envelope(MessageId id, NewMessage& message) {
  QueuedMessage stored;
  stored.id = id;
  stored.direction = message.direction;
  stored.listener = std::move(message.listener);
  stored.sender = std::move(message.sender);
  stored.mail_parameters = std::move(message.mail_parameters);
  stored.received_at = message.received_at;
  stored.recipients.reserve(message.recipients.size());
  for (std::size_t i = 0; i < message.recipients.size(); ++i) {
    stored.recipients.push_back({static_cast<std::int32_t>(i), std::move(message.recipients[i]), 0,
                                 i < message.recipient_parameters.size() ? std::move(message.recipient_parameters[i])
                                                                         : std::string()});
  }
  return stored;
}

std::expected<std::optional<QueuedMessage>, std::error_code> QueueStore::record_with_notice(
    std::span<const RecipientOutcome> outcomes, NewMessage&& notice, UnixMillis lease_until, FreedFiles& freed) {
  const std::error_code recorded = record(outcomes, freed);
  if (recorded == errc::not_found) return std::optional<QueuedMessage>{};
  if (recorded) return std::unexpected(recorded);
  auto stored = insert(std::move(notice), lease_until);
  if (!stored) return std::unexpected(stored.error());
  return std::optional<QueuedMessage>{std::move(*stored)};
}

}  // namespace queue
