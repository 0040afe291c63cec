// health/icmp_probe.cpp — the active checks (see the header). Every probe runs under one
// Deadline covering resolve + connect + exchange; on expiry the sockets are closed,
// which completes the pending operation with an error the probe reports as a timeout.
#include "health/probe.hpp"

#include <ares.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/generic/datagram_protocol.hpp>
#include <boost/asio/ip/icmp.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <chrono>
#include <fmt/format.h>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <cstring>

#include "conf/limits.hpp"

namespace health {
namespace asio = boost::asio;
using asio::ip::tcp;
using Clock = std::chrono::steady_clock;

namespace {

constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);
constexpr std::size_t max_reply_bytes = 1 << 20;  // HTTP bodies and SMTP replies we read at most

/// Calls `on_expire` once if `timeout` passes while this object is alive.
class Deadline {
 public:
  Deadline(const asio::any_io_executor& ex, Clock::duration timeout, std::function<void()> on_expire)
      : timer_(ex), state_(std::make_shared<State>()) {
    state_->on_expire = std::move(on_expire);
    timer_.expires_after(timeout);
    timer_.async_wait([weak = std::weak_ptr<State>(state_)](boost::system::error_code ec) {
      const auto s = weak.lock();
      if (ec || !s) return;
      s->expired = true;
      if (s->on_expire) s->on_expire();
    });
  }
  ~Deadline() {
    state_->on_expire = nullptr;
    timer_.cancel();
  }
  Deadline(const Deadline&) = delete;
  Deadline& operator=(const Deadline&) = delete;
  bool expired() const noexcept { return state_->expired; }

 private:
  struct State {
    bool expired = false;
    std::function<void()> on_expire;
  };
  asio::steady_timer timer_;
  std::shared_ptr<State> state_;
};

std::int64_t ms_since(Clock::time_point start) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start).count();
}

std::string failure(const Deadline& deadline, const std::string& what, const boost::system::error_code& ec) {
  if (deadline.expired()) return what + ": timed out";
  return what + ": " + ec.message();
}

/// Resolves and connects (trying every address), binding `source` when given.
/// Returns an error text, empty on success.
/// `deadline` is the caller's: once it has expired nothing new is started (it may fire
/// while the resolver runs, when there is no socket yet for it to close).
asio::awaitable<std::string> connect_tcp(tcp::socket& socket, const conf::CheckConfig& check,
                                         const Deadline& deadline) {
  tcp::resolver resolver(socket.get_executor());
  const Deadline resolving(socket.get_executor(), check.timeout, [&resolver] { resolver.cancel(); });
  const auto [rec, results] = co_await resolver.async_resolve(check.host, std::to_string(check.port), use_tuple);
  if (deadline.expired() || resolving.expired()) co_return "timed out resolving " + check.host;
  if (rec) co_return "cannot resolve " + check.host + ": " + rec.message();
  std::string last = "no address for " + check.host;
  for (const auto& entry : results) {
    if (deadline.expired()) co_return "timed out";
    const tcp::endpoint remote = entry.endpoint();
    boost::system::error_code ec;
    if (socket.is_open()) socket.close(ec);
    socket.open(remote.protocol(), ec);
    if (ec) {
      last = "socket: " + ec.message();
      continue;
    }
    if (!check.source.empty()) {
      const auto source = asio::ip::make_address(check.source, ec);
      if (!ec) socket.bind(tcp::endpoint(source, 0), ec);
      if (ec) co_return "cannot bind source " + check.source + ": " + ec.message();
    }
    const auto [cec] = co_await socket.async_connect(remote, use_tuple);
    if (!cec) co_return std::string{};
    last = "connect " + remote.address().to_string() + ":" + std::to_string(remote.port()) + ": " + cec.message();
    if (!socket.is_open()) break;  // closed by the deadline
  }
  co_return last;
}

// --- TCP ------------------------------------------------------------------------------

asio::awaitable<CheckResult> tcp_check(const conf::CheckConfig& check) {
  const auto ex = co_await asio::this_coro::executor;
  tcp::socket socket(ex);
  Deadline deadline(ex, check.timeout, [&socket] {
    boost::system::error_code ignored;
    socket.close(ignored);
  });
  CheckResult r{check.label};
  const auto start = Clock::now();
  const std::string error = co_await connect_tcp(socket, check, deadline);
  r.latency_ms = ms_since(start);
  r.ok = error.empty();
  r.detail = r.ok ? "connected" : (deadline.expired() ? "timed out" : error);
  co_return r;
}

// --- SMTP -----------------------------------------------------------------------------

/// Reads one (possibly multi-line) SMTP reply; returns its code, 0 on error.
asio::awaitable<int> read_smtp_reply(tcp::socket& socket, std::string& buffer, std::string& text,
                                     boost::system::error_code& ec) {
  for (int lines = 0; lines < 100; ++lines) {
    const auto [rec, n] =
        co_await asio::async_read_until(socket, asio::dynamic_buffer(buffer, 64 * 1024), "\r\n", use_tuple);
    if (rec) {
      ec = rec;
      co_return 0;
    }
    std::string line = buffer.substr(0, n - 2);
    buffer.erase(0, n);
    text = line;
    if (line.size() < 3) co_return -1;
    const int code = std::atoi(line.substr(0, 3).c_str());
    if (line.size() == 3 || line[3] == ' ') co_return code;
    if (line[3] != '-') co_return -1;
  }
  co_return -1;
}

asio::awaitable<CheckResult> smtp_check(const conf::CheckConfig& check, const std::string& helo) {
  const auto ex = co_await asio::this_coro::executor;
  tcp::socket socket(ex);
  Deadline deadline(ex, check.timeout, [&socket] {
    boost::system::error_code ignored;
    socket.close(ignored);
  });
  CheckResult r{check.label};
  const auto start = Clock::now();
  const std::string error = co_await connect_tcp(socket, check, deadline);
  if (!error.empty()) {
    r.latency_ms = ms_since(start);
    r.detail = deadline.expired() ? "timed out" : error;
    co_return r;
  }
  std::string buffer;
  std::string text;
  boost::system::error_code ec;
  const int banner = co_await read_smtp_reply(socket, buffer, text, ec);
  if (banner != 220) {
    r.latency_ms = ms_since(start);
    r.detail = banner == 0 ? failure(deadline, "banner", ec) : "banner: " + text;
    co_return r;
  }
  const std::string ehlo = "EHLO " + helo + "\r\n";
  const auto [wec, written] = co_await asio::async_write(socket, asio::buffer(ehlo), use_tuple);
  if (wec) {
    r.latency_ms = ms_since(start);
    r.detail = failure(deadline, "EHLO", wec);
    co_return r;
  }
  const int reply = co_await read_smtp_reply(socket, buffer, text, ec);
  r.latency_ms = ms_since(start);
  if (reply != 250) {
    r.detail = reply == 0 ? failure(deadline, "EHLO", ec) : "EHLO: " + text;
    co_return r;
  }
  r.ok = true;
  r.detail = "220 banner, 250 to EHLO";
  static const std::string quit = "QUIT\r\n";
  co_await asio::async_write(socket, asio::buffer(quit), use_tuple);  // courtesy; result irrelevant
  co_return r;
}

// --- HTTP / HTTPS ---------------------------------------------------------------------

std::string http_request(const conf::CheckConfig& check) {
  // HTTP/1.0: no chunked bodies, the server closes after the response (RFC 9112 §9.3).
  const bool default_port = check.port == (check.kind == conf::CheckKind::https ? 443 : 80);
  std::string host = check.host.find(':') != std::string::npos ? "[" + check.host + "]" : check.host;
  if (!default_port) host += ":" + std::to_string(check.port);
  return "GET " + check.url_path + " HTTP/1.0\r\nHost: " + host +
         "\r\nUser-Agent: hubrelay-health\r\nAccept: */*\r\nConnection: close\r\n\r\n";
}

/// Judges a complete HTTP response against the check. Empty string: acceptable.
std::string judge_http(const conf::CheckConfig& check, const std::string& response, int& status) {
  status = 0;
  const auto eol = response.find("\r\n");
  const std::string first = response.substr(0, eol);
  if (!first.starts_with("HTTP/") || first.size() < 12) return "not an HTTP response";
  status = std::atoi(first.substr(9, 3).c_str());
  if (std::ranges::find(check.expect_status, status) == check.expect_status.end())
    return fmt::format("status {} not expected", status);
  if (!check.body_contains.empty()) {
    const auto body_start = response.find("\r\n\r\n");
    const std::string_view body =
        body_start == std::string::npos ? std::string_view{} : std::string_view(response).substr(body_start + 4);
    if (body.find(check.body_contains) == std::string_view::npos)
      return fmt::format("status {} but the body lacks \"{}\"", status, check.body_contains);
  }
  return {};
}

/// Sends the request on a connected (for HTTPS: handshaken) stream and judges the
/// response; fills `r`. One body for both schemes so HTTP and HTTPS cannot drift apart.
template <class Stream>
asio::awaitable<void> http_exchange(Stream& stream, const conf::CheckConfig& check, const Deadline& deadline,
                                    Clock::time_point start, std::string_view ok_note, CheckResult& r) {
  const std::string request = http_request(check);
  const auto [wec, written] = co_await asio::async_write(stream, asio::buffer(request), use_tuple);
  std::string response;
  boost::system::error_code rec;
  if (!wec) {
    std::tie(rec, std::ignore) =
        co_await asio::async_read(stream, asio::dynamic_buffer(response, max_reply_bytes), use_tuple);
  }
  r.latency_ms = ms_since(start);
  // TLS servers often close without close_notify; the response is complete either way for
  // HTTP/1.0 (we only judge status and a substring, never trust a length we did not get).
  const bool clean_end = !rec || rec == asio::error::eof || rec == asio::ssl::error::stream_truncated;
  if (wec || deadline.expired() || !clean_end) {
    r.detail = failure(deadline, "request", wec ? wec : rec);
    co_return;
  }
  int status = 0;
  const std::string error = judge_http(check, response, status);
  r.ok = error.empty();
  r.detail = r.ok ? fmt::format("status {}{}", status, ok_note) : error;
}

asio::awaitable<CheckResult> http_check(const conf::CheckConfig& check) {
  const auto ex = co_await asio::this_coro::executor;
  tcp::socket socket(ex);
  Deadline deadline(ex, check.timeout, [&socket] {
    boost::system::error_code ignored;
    socket.close(ignored);
  });
  CheckResult r{check.label};
  const auto start = Clock::now();
  const std::string error = co_await connect_tcp(socket, check, deadline);
  if (!error.empty()) {
    r.latency_ms = ms_since(start);
    r.detail = deadline.expired() ? "timed out" : error;
    co_return r;
  }
  co_await http_exchange(socket, check, deadline, start, "", r);
  co_return r;
}

asio::awaitable<CheckResult> https_check(const conf::CheckConfig& check) {
  const auto ex = co_await asio::this_coro::executor;
  CheckResult r{check.label};
  asio::ssl::context ctx(asio::ssl::context::tls_client);
  boost::system::error_code ec;
  ctx.set_default_verify_paths(ec);
  if (!check.ca_file.empty()) ctx.load_verify_file(check.ca_file, ec);
  if (ec) {
    r.detail = "cannot load trust anchors: " + ec.message();
    co_return r;
  }
  asio::ssl::stream<tcp::socket> stream(ex, ctx);
  stream.set_verify_mode(asio::ssl::verify_peer);
  stream.set_verify_callback(asio::ssl::host_name_verification(check.host));
  if (!conf::is_ip_literal(check.host)) SSL_set_tlsext_host_name(stream.native_handle(), check.host.c_str());
  Deadline deadline(ex, check.timeout, [&stream] {
    boost::system::error_code ignored;
    stream.lowest_layer().close(ignored);
  });
  const auto start = Clock::now();
  const std::string error = co_await connect_tcp(stream.next_layer(), check, deadline);
  if (!error.empty()) {
    r.latency_ms = ms_since(start);
    r.detail = deadline.expired() ? "timed out" : error;
    co_return r;
  }
  const auto [hec] = co_await stream.async_handshake(asio::ssl::stream_base::client, use_tuple);
  if (hec) {
    r.latency_ms = ms_since(start);
    r.detail = failure(deadline, "TLS handshake", hec);
    co_return r;
  }
  co_await http_exchange(stream, check, deadline, start, " (certificate verified)", r);
  co_return r;
}

// --- ICMP -----------------------------------------------------------------------------

std::uint16_t icmp_checksum(const std::uint8_t* data, std::size_t size) {
  std::uint32_t sum = 0;
  for (std::size_t i = 0; i + 1 < size; i += 2) sum += static_cast<std::uint32_t>(data[i] << 8 | data[i + 1]);
  if (size % 2) sum += static_cast<std::uint32_t>(data[size - 1] << 8);
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<std::uint16_t>(~sum);
}

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

asio::awaitable<CheckResult> icmp_check(const conf::CheckConfig& check) {
  const auto ex = co_await asio::this_coro::executor;
  CheckResult r{check.label};
  const auto start = Clock::now();
  // Resolve asynchronously (a host name may be given); IPv4 only.
  tcp::resolver resolver(ex);
  Deadline whole(ex, check.timeout, [&resolver] { resolver.cancel(); });
  const auto [rec, results] = co_await resolver.async_resolve(tcp::v4(), check.host, "0", use_tuple);
  if (rec || results.empty()) {
    r.latency_ms = ms_since(start);
    r.detail = whole.expired() ? "timed out resolving" : "cannot resolve " + check.host + " (IPv4): " + rec.message();
    co_return r;
  }
  const auto target = results.begin()->endpoint().address().to_v4();
  std::string why;
  auto opened = open_icmp(ex, why);
  if (!opened) {
    r.detail = why;
    co_return r;
  }
  auto& socket = opened->socket;
  if (!check.source.empty()) {
    sockaddr_in src{};
    src.sin_family = AF_INET;
    if (::inet_pton(AF_INET, check.source.c_str(), &src.sin_addr) != 1 ||
        ::bind(socket.native_handle(), reinterpret_cast<sockaddr*>(&src), sizeof src) != 0) {
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
  std::array<std::uint8_t, 1500> in{};
  std::array<std::uint8_t, 16> out{};
  bool whole_expired = false;
  for (std::uint32_t seq = 1; seq <= check.count && !whole_expired; ++seq) {
    out.fill(0);
    out[0] = 8;  // echo request
    out[4] = static_cast<std::uint8_t>(id >> 8);
    out[5] = static_cast<std::uint8_t>(id);
    out[6] = static_cast<std::uint8_t>(seq >> 8);
    out[7] = static_cast<std::uint8_t>(seq);
    const std::uint16_t sum = icmp_checksum(out.data(), out.size());
    out[2] = static_cast<std::uint8_t>(sum >> 8);
    out[3] = static_cast<std::uint8_t>(sum);
    const auto sent = Clock::now();
    const auto [sec, n] = co_await socket.async_send_to(asio::buffer(out), remote, use_tuple);
    if (sec) {
      r.detail = "send: " + sec.message();
      break;
    }
    // Wait for the matching reply, at most reply_timeout (and never past the whole timeout).
    Deadline reply_deadline(ex, std::min<Clock::duration>(check.reply_timeout, check.timeout), [&socket] {
      boost::system::error_code ignored;
      socket.cancel(ignored);
    });
    for (int packets = 0; packets < 1000; ++packets) {
      asio::generic::datagram_protocol::endpoint from;
      const auto [ec, got] = co_await socket.async_receive_from(asio::buffer(in), from, use_tuple);
      if (ec) break;  // reply timeout (cancelled) or error: this echo is lost
      std::size_t offset = 0;
      if (opened->raw) offset = static_cast<std::size_t>(in[0] & 0x0f) * 4;  // skip the IPv4 header
      if (got < offset + 8) continue;
      const std::uint8_t* icmp = in.data() + offset;
      if (icmp[0] != 0) continue;  // not an echo reply (a raw socket also sees our own requests)
      const std::uint16_t rid = static_cast<std::uint16_t>(icmp[4] << 8 | icmp[5]);
      const std::uint16_t rseq = static_cast<std::uint16_t>(icmp[6] << 8 | icmp[7]);
      // A datagram socket's kernel rewrites the id and filters for us; raw sockets see all.
      if ((opened->raw && rid != id) || rseq != seq) continue;
      ++replies;
      rtt_total += ms_since(sent);
      break;
    }
    whole_expired = Clock::now() - start >= check.timeout;
  }
  r.latency_ms = replies ? rtt_total / replies : ms_since(start);
  r.ok = replies >= check.min_replies;
  if (r.detail.empty())
    r.detail = fmt::format("{} of {} replies ({} needed){}", replies, check.count, check.min_replies,
                           opened->raw ? "" : ", unprivileged socket");
  co_return r;
}

// --- DNS (c-ares) ---------------------------------------------------------------------

std::once_flag ares_once;

struct DnsOutcome {
  bool done = false;
  int status = ARES_SUCCESS;
  std::string addresses;
};

void on_addrinfo(void* arg, int status, int, ares_addrinfo* result) {
  auto* out = static_cast<DnsOutcome*>(arg);
  out->done = true;
  out->status = status;
  if (result != nullptr) {
    for (const ares_addrinfo_node* n = result->nodes; n != nullptr; n = n->ai_next) {
      std::array<char, INET6_ADDRSTRLEN> text{};
      const void* addr = n->ai_family == AF_INET ? static_cast<const void*>(&reinterpret_cast<sockaddr_in*>(n->ai_addr)->sin_addr)
                                                 : static_cast<const void*>(&reinterpret_cast<sockaddr_in6*>(n->ai_addr)->sin6_addr);
      if (::inet_ntop(n->ai_family, addr, text.data(), text.size()) != nullptr)
        out->addresses += (out->addresses.empty() ? "" : " ") + std::string(text.data());
    }
    ares_freeaddrinfo(result);
  }
}

asio::awaitable<CheckResult> dns_check(const conf::CheckConfig& check) {
  const auto ex = co_await asio::this_coro::executor;
  CheckResult r{check.label};
  std::call_once(ares_once, [] { ares_library_init(ARES_LIB_INIT_ALL); });
  ares_options options{};
  options.timeout = static_cast<int>(check.timeout.count());
  options.tries = 1;
  ares_channel channel = nullptr;
  if (const int status = ares_init_options(&channel, &options, ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES);
      status != ARES_SUCCESS) {
    r.detail = std::string("c-ares: ") + ares_strerror(status);
    co_return r;
  }
  // The channel is ours alone: destroyed on every path out (pending queries complete
  // with ARES_EDESTRUCTION into `outcome`, which is still alive then).
  DnsOutcome outcome;
  std::unique_ptr<ares_channeldata, void (*)(ares_channel)> guard(channel, ares_destroy);
  const bool v6 = check.host.find(':') != std::string::npos;
  const std::string server = (v6 ? "[" + check.host + "]" : check.host) + ":" + std::to_string(check.port);
  if (const int status = ares_set_servers_ports_csv(channel, server.c_str()); status != ARES_SUCCESS) {
    r.detail = "c-ares server " + server + ": " + ares_strerror(status);
    co_return r;
  }
  if (!check.source.empty()) {
    in_addr a4{};
    std::array<unsigned char, 16> a6{};
    if (::inet_pton(AF_INET, check.source.c_str(), &a4) == 1) ares_set_local_ip4(channel, ntohl(a4.s_addr));
    else if (::inet_pton(AF_INET6, check.source.c_str(), a6.data()) == 1) ares_set_local_ip6(channel, a6.data());
  }
  ares_addrinfo_hints hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_flags = ARES_AI_NOSORT;
  const auto start = Clock::now();
  ares_getaddrinfo(channel, check.query_name.c_str(), nullptr, &hints, on_addrinfo, &outcome);

  // c-ares needs its sockets serviced; a DNS probe is one small exchange, so poll them
  // every few milliseconds (never blocking the io_context) until done or out of time.
  asio::steady_timer tick(ex);
  const auto deadline = start + check.timeout + std::chrono::milliseconds(200);
  while (!outcome.done && Clock::now() < deadline) {
    std::array<ares_socket_t, ARES_GETSOCK_MAXNUM> socks{};
    const int bits = ares_getsock(channel, socks.data(), ARES_GETSOCK_MAXNUM);
    std::array<pollfd, ARES_GETSOCK_MAXNUM> fds{};
    nfds_t count = 0;
    for (int i = 0; i < ARES_GETSOCK_MAXNUM; ++i) {
      const bool rd = ARES_GETSOCK_READABLE(bits, i);
      const bool wr = ARES_GETSOCK_WRITABLE(bits, i);
      if (!rd && !wr) continue;
      fds[count++] = pollfd{socks[static_cast<std::size_t>(i)],
                            static_cast<short>((rd ? POLLIN : 0) | (wr ? POLLOUT : 0)), 0};
    }
    const int ready = count ? ::poll(fds.data(), count, 0) : 0;
    bool serviced = false;
    for (nfds_t i = 0; ready > 0 && i < count; ++i) {
      if (fds[i].revents == 0) continue;
      serviced = true;
      ares_process_fd(channel, (fds[i].revents & (POLLIN | POLLERR | POLLHUP)) ? fds[i].fd : ARES_SOCKET_BAD,
                      (fds[i].revents & POLLOUT) ? fds[i].fd : ARES_SOCKET_BAD);
    }
    if (!serviced) ares_process_fd(channel, ARES_SOCKET_BAD, ARES_SOCKET_BAD);  // timeouts
    if (outcome.done) break;
    tick.expires_after(std::chrono::milliseconds(5));
    co_await tick.async_wait(use_tuple);
  }
  r.latency_ms = ms_since(start);
  if (!outcome.done) {
    r.detail = "timed out";
  } else if (outcome.status != ARES_SUCCESS) {
    r.detail = std::string(ares_strerror(outcome.status));
  } else {
    r.ok = true;
    r.detail = outcome.addresses;
  }
  guard.reset();
  co_return r;
}

}  // namespace

asio::awaitable<CheckResult> run_check(const conf::CheckConfig& check, std::string helo) {
  switch (check.kind) {
    case conf::CheckKind::icmp: co_return co_await icmp_check(check);
    case conf::CheckKind::tcp: co_return co_await tcp_check(check);
    case conf::CheckKind::http: co_return co_await http_check(check);
    case conf::CheckKind::https: co_return co_await https_check(check);
    case conf::CheckKind::smtp: co_return co_await smtp_check(check, helo);
    case conf::CheckKind::dns: co_return co_await dns_check(check);
  }
  co_return CheckResult{check.label, false, 0, "unknown check type"};
}

}  // namespace health
