// relay/tracking/message_id.hpp — the Message-ID of a message, for its tracking records.
//
// Owns: finding the Message-ID header field (RFC 5322 §3.6.4) in a message's header
// section, unfolded, without its angle brackets. Pure; bounded: it reads at most
// max_header_scan octets, so a huge header section costs nothing more.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace relay::tracking {

inline constexpr std::size_t max_header_scan = 64 * 1024;

/// "" when the header section has none.
std::string message_id_of(std::string_view message);

}  // namespace relay::tracking
