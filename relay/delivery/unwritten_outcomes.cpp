// relay/delivery/unwritten_outcomes.cpp — delivery outcomes the queue could not write yet.
//
// A full disk stays full for a while: the held writes of an outage back off together, so
// an outage of minutes costs a retry per held write every 30 s, not a spin.
#include "relay/delivery/unwritten_outcomes.hpp"

#include <algorithm>

namespace relay {

std::chrono::milliseconds unwritten_retry_delay(std::uint32_t failures) noexcept {
  constexpr std::chrono::milliseconds first{1000};
  constexpr std::chrono::milliseconds cap{30'000};
  const std::uint32_t doublings = std::min<std::uint32_t>(failures > 0 ? failures - 1 : 0, 5);  // 2^5 s > cap
  return std::min(first * (1 << doublings), cap);
}

bool UnwrittenOutcomes::hold(std::span<const queue::RecipientOutcome> outcomes) {
  const bool starts_outage = writes_ == 0;
  if (starts_outage) {
    outage_writes_ = 0;
    failures_ = 0;
  }
  ++writes_;
  ++outage_writes_;
  ++failures_;
  ++failures_total_;
  for (const auto& outcome : outcomes) held_.insert({outcome.id, outcome.index});
  return starts_outage;
}

std::optional<UnwrittenOutcomes::Outage> UnwrittenOutcomes::release(std::span<const queue::RecipientOutcome> outcomes,
                                                                    bool written) {
  for (const auto& outcome : outcomes) held_.erase({outcome.id, outcome.index});
  if (writes_ > 0) --writes_;
  if (writes_ != 0 || !written) return std::nullopt;
  return Outage{outage_writes_, failures_};
}

std::vector<std::string> UnwrittenOutcomes::queue_ids() const {
  std::vector<std::string> ids;
  for (const auto& [id, index] : held_) {
    std::string qid = queue::format_queue_id(id);
    if (ids.empty() || ids.back() != qid) ids.push_back(std::move(qid));
  }
  return ids;
}

}  // namespace relay
