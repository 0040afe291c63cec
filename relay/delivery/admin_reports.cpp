// relay/delivery/admin_reports.cpp — composing the report on recipients finished outside delivery.
#include "relay/delivery/admin_reports.hpp"

#include <fmt/format.h>

#include <random>

#include "relay/delivery/notices.hpp"

namespace relay {

queue::NoticeComposer administrator_reports(const conf::Config& config, queue::UnixMillis now, std::size_t& unreported) {
  return [&config, now, &unreported](const queue::QueuedMessage& original,
                                     std::span<const queue::RecipientOutcome> finished) -> std::optional<queue::NewMessage> {
    std::vector<RecipientNews> news;
    for (const auto& f : finished)
      news.push_back({.index = f.index, .action = DsnAction::failed, .reply = f.reply, .hop = f.hop,
                      .expired = f.state == queue::RecipientState::expired});
    std::random_device random;
    const std::string token = fmt::format("{:08x}{:08x}{:08x}", random(), random(), static_cast<std::uint32_t>(original.id));
    SenderNotice notice = sender_notice(config, original, news, now, token);
    unreported += notice.unreported_failures;
    return std::move(notice.message);
  };
}

}  // namespace relay
