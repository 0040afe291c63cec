// health/icmp_probe.cpp — the icmp check: `count` echo requests, each waiting at most
// reply_timeout for its reply, all within the check's timeout; OK with min_replies.
//
// Socket: an unprivileged datagram ("ping") socket, which needs net.ipv4.ping_group_range
// to include our gid, or else a raw socket (root or CAP_NET_RAW); IPv4 only. The kernel
// rewrites the id of a datagram socket's echoes and filters replies for it; a raw socket
// sees every ICMP packet, so replies are matched by id and sequence here.
// Statuses: L3OK, L3TOUT (no reply), L3FEW (fewer than min_replies), L3SEND, SOCKERR,
// RESOLV/RESTOUT. Bytes are built and parsed by health/icmp_packet.hpp (pure).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <boost/asio/generic/datagram_protocol.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/this_coro.hpp>
#include <cerrno>
#include <cstring>
#include <fmt/format.h>
#include <optional>

#include "health/icmp_packet.hpp"
#include "health/probe.hpp"
#include "health/probe_connect.hpp"

namespace health {
namespace asio = boost::asio;
using asio::ip::tcp;

namespace {

std::atomic<std::uint16_t> next_icmp_id{static_cast<std::uint16_t>(::getpid() * 7)};

/// An open ICMP socket: datagram (kernel handles ids, no IP header) or raw.
struct IcmpSocket {
  asio::generic::datagram_protocol::socket socket;
  bool raw = false;
};

std::optional<IcmpSocket> open_icmp(const asio::any_io_executor& ex, std::string& why) {
  using proto = asio::generic::datagram_protocol;
  int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, IPPROTO_ICMP);
  bool raw = false;
  if (fd < 0) {
    const int dgram_errno = errno;
    fd = ::socket(AF_INET, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_ICMP);
    if (fd < 0) {
      why = fmt::format(
          "cannot open an ICMP socket: unprivileged ping refused ({}; allow this group in "
          "net.ipv4.ping_group_range) and raw socket refused ({}; needs root or CAP_NET_RAW)",
          std::strerror(dgram_errno), std::strerror(errno));
      return std::nullopt;
    }
    raw = true;
  }
  // Asio's generic protocol carries family and protocol; the socket type comes from the fd.
  return IcmpSocket{proto::socket(ex, proto(AF_INET, IPPROTO_ICMP), fd), raw};
}

}  // namespace

asio::awaitable<CheckResult> icmp_probe(const conf::CheckConfig& check) {
  const auto ex = co_await asio::this_coro::executor;
  CheckResult r{check.label, ProbeStatus::icmp_no_reply, 0, {}};
  const auto start = ProbeClock::now();
  // Resolve asynchronously (a host name may be given); IPv4 only.
  tcp::resolver resolver(ex);
  Deadline whole(ex, check.timeout, [&resolver] { resolver.cancel(); });
  const auto [rec, results] = co_await resolver.async_resolve(tcp::v4(), check.host, "0", use_tuple);
  if (rec || results.empty()) {
    r.latency_ms = ms_since(start);
    r.status = whole.expired() ? ProbeStatus::resolve_timeout : ProbeStatus::resolve_failed;
    r.detail = whole.expired() ? check.host : check.host + " (IPv4): " + rec.message();
    co_return r;
  }
  const auto target = results.begin()->endpoint().address().to_v4();
  std::string why;
  auto opened = open_icmp(ex, why);
  if (!opened) {
    r.status = ProbeStatus::socket_error;
    r.detail = why;
    co_return r;
  }
  auto& socket = opened->socket;
  if (!check.source.empty()) {
    sockaddr_in src{};
    src.sin_family = AF_INET;
    if (::inet_pton(AF_INET, check.source.c_str(), &src.sin_addr) != 1 ||
        ::bind(socket.native_handle(), reinterpret_cast<sockaddr*>(&src), sizeof src) != 0) {
      r.status = ProbeStatus::socket_error;
      r.detail = "cannot bind source " + check.source + ": " + std::strerror(errno);
      co_return r;
    }
  }
  sockaddr_in dst{};
  dst.sin_family = AF_INET;
  dst.sin_addr.s_addr = htonl(target.to_uint());
  const asio::generic::datagram_protocol::endpoint remote(&dst, sizeof dst, IPPROTO_ICMP);
  const std::uint16_t id = next_icmp_id.fetch_add(1);

  std::uint32_t replies = 0;
  std::int64_t rtt_total = 0;
  std::string send_error;
  std::array<std::uint8_t, 1500> in{};
  bool whole_expired = false;
  for (std::uint32_t seq = 1; seq <= check.count && !whole_expired; ++seq) {
    const auto out = echo_request(id, static_cast<std::uint16_t>(seq));
    const auto sent = ProbeClock::now();
    const auto [sec, n] = co_await socket.async_send_to(asio::buffer(out), remote, use_tuple);
    if (sec) {
      send_error = sec.message();
      break;
    }
    // Wait for the matching reply, at most reply_timeout (and never past the whole timeout).
    Deadline reply_deadline(ex, std::min<ProbeClock::duration>(check.reply_timeout, check.timeout), [&socket] {
      boost::system::error_code ignored;
      socket.cancel(ignored);
    });
    for (int packets = 0; packets < 1000; ++packets) {
      asio::generic::datagram_protocol::endpoint from;
      const auto [ec, got] = co_await socket.async_receive_from(asio::buffer(in), from, use_tuple);
      if (ec) break;  // reply timeout (cancelled) or error: this echo is lost
      const auto reply = parse_echo_reply(std::span(in).first(got), opened->raw);
      // A raw socket also sees our own requests and other processes' echoes.
      if (!reply || (opened->raw && reply->id != id) || reply->sequence != static_cast<std::uint16_t>(seq)) continue;
      ++replies;
      rtt_total += ms_since(sent);
      break;
    }
    whole_expired = ProbeClock::now() - start >= check.timeout;
  }
  r.latency_ms = replies ? rtt_total / replies : ms_since(start);
  r.status = icmp_verdict(replies, check.min_replies);
  if (!r.ok() && !send_error.empty()) {
    r.status = ProbeStatus::icmp_send_failed;
    r.detail = fmt::format("{} ({} of {} replies before it)", send_error, replies, check.count);
  } else {
    r.detail = fmt::format("{} of {} replies ({} needed){}", replies, check.count, check.min_replies,
                           opened->raw ? "" : ", unprivileged socket");
  }
  co_return r;
}

}  // namespace health
