// queue/message.cpp — names of recipient states and the printed form of queue ids.
#include "queue/message.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <cstdint>

namespace queue {

std::string_view to_string(RecipientState s) noexcept {
  switch (s) {
    case RecipientState::pending: return "pending";
    case RecipientState::delivered: return "delivered";
    case RecipientState::failed: return "failed";
    case RecipientState::expired: return "expired";
  }
  return "unknown";
}

std::string_view to_string(AttemptKind k) noexcept {
  switch (k) {
    case AttemptKind::delivery: return "delivery";
    case AttemptKind::parked: return "parked";
    case AttemptKind::administrator: return "administrator";
  }
  return "unknown";
}

std::string format_queue_id(MessageId id) {
  // Ids are positive rowids; the unsigned view keeps a corrupt negative value printable
  // instead of producing a '-' that the CLI would not parse back.
  constexpr std::size_t min_digits = 10;
  std::array<char, 16> digits{};
  const auto [end, ec] = std::to_chars(digits.data(), digits.data() + digits.size(),
                                       static_cast<std::uint64_t>(id), 16);
  (void)ec;  // 16 hex digits always fit
  const auto length = static_cast<std::size_t>(end - digits.data());
  std::string out(length < min_digits ? min_digits - length : 0, '0');
  out.reserve(std::max(length, min_digits));
  for (const char* p = digits.data(); p != end; ++p) {
    const char c = *p;
    out.push_back(c >= 'a' && c <= 'f' ? static_cast<char>(c - 'a' + 'A') : c);
  }
  return out;
}

}  // namespace queue
