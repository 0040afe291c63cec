// queue/message_view.cpp — a queued message as an administrator sees it (see message_view.hpp).
#include "queue/message_view.hpp"

#include "queue/queue_query.hpp"

namespace queue {

std::string_view MessageView::state() const noexcept {
  std::vector<RecipientState> states;
  std::vector<std::uint32_t> tries;
  for (const auto& r : recipients) {
    states.push_back(r.state);
    // A recipient that was tried, or that waits with a reason (parked: no usable hop), is
    // deferred rather than merely queued.
    tries.push_back(r.attempts > 0 || !r.last_reply.empty() || !r.parked_on.empty() ? 1 : 0);
  }
  return message_state(held, states, tries);
}

}  // namespace queue
