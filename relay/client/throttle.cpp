// relay/client/throttle.cpp — throttling replies in a transcript.
#include "relay/client/throttle.hpp"

namespace relay {

namespace {

/// Every reply of the transcript that was not positive, in stage order, until `pick` says yes.
template <class Pick>
std::optional<std::string> first_refusal(const Transcript& t, Pick pick) {
  const auto try_one = [&](const std::optional<Reply>& r) -> std::optional<std::string> {
    if (r && !r->positive() && pick(*r)) return r->to_string();
    return std::nullopt;
  };
  if (t.refusal && pick(t.refusal->reply)) return t.refusal->reply.to_string();
  if (auto found = try_one(t.mail)) return found;
  for (const auto& rcpt : t.rcpt)
    if (auto found = try_one(rcpt)) return found;
  if (auto found = try_one(t.data)) return found;
  return try_one(t.final_reply);
}

}  // namespace

bool is_throttle(const Reply& reply) noexcept {
  if (!reply.transient() || !reply.enhanced) return false;
  const auto& status = *reply.enhanced;
  return status.subject == 7 || (status.subject == 5 && status.detail == 3);
}

std::optional<std::string> refusing_reply(const Transcript& transcript) {
  return first_refusal(transcript, [](const Reply&) { return true; });
}

std::optional<std::string> throttle_reply(const Transcript& transcript) {
  return first_refusal(transcript, [](const Reply& r) { return is_throttle(r); });
}

}  // namespace relay
