// routing/dns_resolver.cpp — c-ares channel, socket watchers and timer on an Asio executor.
//
// How the pieces meet: ares_query() sends and returns at once; c-ares reports which
// sockets it wants watched through the socket-state callback, and we start an
// async_wait on each; when one is ready (or the ares_timeout() timer fires) we call
// ares_process_fd(), which runs the query callbacks. Those post the awaiting
// coroutine's completion to its executor, never resuming it inside c-ares. Nothing
// polls: between readiness and timer events c-ares does not run at all.
#include "routing/dns_resolver.hpp"
#include "conf/domain_pattern.hpp"

#include <ares.h>
#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <netinet/in.h>

#include <array>
#include <boost/asio/async_result.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <chrono>
#include <map>
#include <span>
#include <mutex>
#include <utility>
#include <stdexcept>

#include "routing/dns_cache.hpp"
#include "routing/dns_message.hpp"

namespace routing {
namespace asio = boost::asio;

namespace {

struct Answer {
  int status = ARES_SUCCESS;
  std::vector<unsigned char> bytes;    // ares_query: the DNS message
  std::vector<std::string> addresses;  // ares_getaddrinfo: the addresses found, as text
  bool authentic = false;              // AD bit, counted only with ChannelOptions::dnssec
};

// Negative answers (NXDOMAIN / no records of the type) are remembered this long.
constexpr std::chrono::seconds negative_ttl{60};

// The smallest TTL among the answer records of `type` in a DNS message (RFC 1035 §4.1).
// c-ares' MX parser does not report TTLs, so the answer section is walked here.
std::chrono::seconds min_answer_ttl(const std::vector<unsigned char>& msg, int type) {
  const auto u16 = [&](std::size_t at) { return static_cast<unsigned>(msg[at] << 8 | msg[at + 1]); };
  std::int64_t best = -1;
  if (msg.size() < 12) return std::chrono::seconds(0);
  const unsigned qdcount = u16(4), ancount = u16(6);
  std::size_t pos = 12;
  const auto skip_name = [&]() -> bool {
    char* name = nullptr;
    long length = 0;
    if (ares_expand_name(msg.data() + pos, msg.data(), static_cast<int>(msg.size()), &name, &length) != ARES_SUCCESS)
      return false;
    ares_free_string(name);
    pos += static_cast<std::size_t>(length);
    return pos <= msg.size();
  };
  for (unsigned i = 0; i < qdcount; ++i) {
    if (!skip_name() || pos + 4 > msg.size()) return std::chrono::seconds(0);
    pos += 4;
  }
  for (unsigned i = 0; i < ancount; ++i) {
    if (!skip_name() || pos + 10 > msg.size()) break;
    const unsigned rr_type = u16(pos);
    const std::int64_t ttl = static_cast<std::int64_t>(u16(pos + 4)) << 16 | u16(pos + 6);
    const unsigned rdlength = u16(pos + 8);
    pos += 10 + rdlength;
    if (static_cast<int>(rr_type) == type && (best < 0 || ttl < best)) best = ttl;
  }
  return std::chrono::seconds(best < 0 ? 0 : best);
}

std::string describe(int status) { return ares_strerror(status); }

LookupFailure failure_kind(int status) {
  switch (status) {
    case ARES_ENOTFOUND: return LookupFailure::nxdomain;
    case ARES_ESERVFAIL: return LookupFailure::servfail;
    case ARES_EREFUSED: return LookupFailure::refused;
    case ARES_ETIMEOUT: return LookupFailure::timeout;
    case ARES_ENODATA: return LookupFailure::no_data;
    default: return LookupFailure::other;
  }
}

ChannelOptions options_of(const conf::DnsConfig& config) {
  ChannelOptions options;
  options.servers = config.servers;
  options.timeout = std::chrono::duration_cast<std::chrono::milliseconds>(config.timeout);
  options.tries = 2;
  options.dnssec = config.dnssec;
  return options;
}

// ares_library_init is not thread-safe and its reference count is a plain int, while
// resolvers are made on the delivery, listener and health threads: initialise once and
// never clean up (on POSIX it allocates nothing).
void init_library() {
  static std::once_flag once;
  static int rc = ARES_SUCCESS;
  std::call_once(once, [] { rc = ares_library_init(ARES_LIB_INIT_ALL); });
  if (rc != ARES_SUCCESS) throw std::runtime_error("c-ares: " + describe(rc));
}

// The addresses of an A or AAAA answer (c-ares fills at most 32 records) and the smallest
// TTL among them; `ttl` stays as it was when the answer does not parse.
template <typename Record, typename Address>
void read_address_records(const std::vector<unsigned char>& bytes,
                          int (*parse)(const unsigned char*, int, hostent**, Record*, int*), int family,
                          Address Record::*address, DnsAnswer& parsed, std::chrono::seconds& ttl) {
  std::array<Record, 32> records{};
  int count = static_cast<int>(records.size());
  if (parse(bytes.data(), static_cast<int>(bytes.size()), nullptr, records.data(), &count) != ARES_SUCCESS) return;
  ttl = std::chrono::hours(24);
  std::array<char, INET6_ADDRSTRLEN> text{};
  for (int i = 0; i < count; ++i) {
    const Record& record = records[static_cast<std::size_t>(i)];
    ares_inet_ntop(family, &(record.*address), text.data(), text.size());
    parsed.addresses.emplace_back(text.data());
    ttl = std::min(ttl, std::chrono::seconds(record.ttl));
  }
}

}  // namespace

struct DnsResolver::Impl : std::enable_shared_from_this<Impl> {
  using HostOverrides = decltype(conf::DnsConfig::hosts);
  struct Watcher {
    std::unique_ptr<asio::posix::stream_descriptor> descriptor;
    bool want_read = false, want_write = false, reading = false, writing = false;
  };
  struct OpBase {
    virtual ~OpBase() = default;
    virtual void complete(Answer answer) = 0;
  };
  template <class Handler>
  struct Op final : OpBase {
    Op(Handler h, asio::any_io_executor ex) : handler(std::move(h)), executor(std::move(ex)) {}
    void complete(Answer answer) override {
      auto ex = asio::get_associated_executor(handler, executor);
      asio::post(ex, [h = std::move(handler), a = std::move(answer)]() mutable { std::move(h)(std::move(a)); });
    }
    Handler handler;
    asio::any_io_executor executor;
  };

  Impl(asio::any_io_executor ex, ChannelOptions options, HostOverrides hosts)
      : executor(ex), timer(ex), options(std::move(options)), hosts(std::move(hosts)) {}

  ~Impl() {
    if (channel != nullptr) ares_destroy(channel);  // runs pending callbacks with ARES_EDESTRUCTION
    for (auto& [fd, watcher] : watchers) (void)watcher.descriptor->release();  // c-ares owns the fds
  }

  void init() {
    init_library();
    ares_options settings{};
    settings.sock_state_cb = &Impl::on_socket_state;
    settings.sock_state_cb_data = this;
    // The tries share the configured budget.
    const int tries = std::max(1, options.tries);
    settings.timeout = static_cast<int>(options.timeout.count() / tries);
    settings.tries = tries;
    int mask = ARES_OPT_SOCK_STATE_CB | ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES;
    if (options.keep_failure_answers) {  // only then: other channels keep c-ares' default flags
      settings.flags = ARES_FLAG_NOCHECKRESP;
      mask |= ARES_OPT_FLAGS;
    }
    if (const int rc = ares_init_options(&channel, &settings, mask); rc != ARES_SUCCESS)
      throw std::runtime_error("c-ares: " + describe(rc));
    if (!options.servers.empty()) {
      std::string csv;
      for (const auto& server : options.servers) csv += (csv.empty() ? "" : ",") + server;
      if (const int rc = ares_set_servers_ports_csv(channel, csv.c_str()); rc != ARES_SUCCESS)
        throw std::runtime_error("c-ares: cannot use DNS servers '" + csv + "': " + describe(rc));
    }
    if (!options.source.empty()) {
      in_addr a4{};
      std::array<unsigned char, 16> a6{};
      if (::inet_pton(AF_INET, options.source.c_str(), &a4) == 1)
        ares_set_local_ip4(channel, ntohl(a4.s_addr));
      else if (::inet_pton(AF_INET6, options.source.c_str(), a6.data()) == 1)
        ares_set_local_ip6(channel, a6.data());
      else
        throw std::runtime_error("c-ares: source address '" + options.source + "' is not an IP address");
    }
  }

  static void on_socket_state(void* data, ares_socket_t fd, int readable, int writable) {
    auto* self = static_cast<Impl*>(data);
    if (!readable && !writable) {
      if (auto it = self->watchers.find(fd); it != self->watchers.end()) {
        (void)it->second.descriptor->release();  // cancels our waits; c-ares closes the fd
        self->watchers.erase(it);
      }
      return;
    }
    auto& watcher = self->watchers[fd];
    if (!watcher.descriptor) watcher.descriptor = std::make_unique<asio::posix::stream_descriptor>(self->executor, fd);
    watcher.want_read = readable != 0;
    watcher.want_write = writable != 0;
    self->watch(fd);
  }

  void watch(ares_socket_t fd) {
    auto it = watchers.find(fd);
    if (it == watchers.end()) return;
    Watcher& w = it->second;
    if (w.want_read && !w.reading) start_wait(fd, w, asio::posix::stream_descriptor::wait_read, &Watcher::reading);
    if (w.want_write && !w.writing) start_wait(fd, w, asio::posix::stream_descriptor::wait_write, &Watcher::writing);
  }

  // One wait for `fd` to become readable or writable (`busy` marks it pending); when it
  // is, c-ares processes that direction, and the watch and the timer are renewed.
  void start_wait(ares_socket_t fd, Watcher& w, asio::posix::stream_descriptor::wait_type what, bool Watcher::*busy) {
    w.*busy = true;
    const bool read = what == asio::posix::stream_descriptor::wait_read;
    w.descriptor->async_wait(what, [weak = weak_from_this(), fd, busy, read](boost::system::error_code ec) {
      auto self = weak.lock();
      if (!self) return;
      auto found = self->watchers.find(fd);
      if (found != self->watchers.end()) found->second.*busy = false;
      if (ec == asio::error::operation_aborted) return;
      ares_process_fd(self->channel, read ? fd : ARES_SOCKET_BAD, read ? ARES_SOCKET_BAD : fd);
      self->watch(fd);
      self->arm_timer();
    });
  }

  void arm_timer() {
    timeval tv{};
    if (ares_timeout(channel, nullptr, &tv) == nullptr) {
      timer.cancel();
      return;
    }
    ++timer_generation;
    timer.expires_after(std::chrono::seconds(tv.tv_sec) + std::chrono::microseconds(tv.tv_usec));
    std::weak_ptr<Impl> weak = weak_from_this();
    timer.async_wait([weak, generation = timer_generation](boost::system::error_code ec) {
      auto self = weak.lock();
      if (!self || ec || generation != self->timer_generation) return;
      ares_process_fd(self->channel, ARES_SOCKET_BAD, ARES_SOCKET_BAD);  // handles timeouts
      self->arm_timer();
    });
  }

  // Identical questions asked while one is on the wire share its answer: a burst of mail
  // to one domain sends one MX query, not one per message (the cache only helps after
  // the first answer has arrived).
  using QuestionKey = std::pair<std::string, int>;
  struct Question {
    Impl* self;
    QuestionKey key;
  };

  static void on_answer(void* arg, int status, int /*timeouts*/, unsigned char* abuf, int alen) {
    std::unique_ptr<Question> question(static_cast<Question*>(arg));
    Answer answer{status, {}, {}, false};
    if (abuf != nullptr && alen > 0) answer.bytes.assign(abuf, abuf + alen);
    answer.authentic = question->self->options.dnssec && authentic_data(answer.bytes);
    auto waiting = question->self->in_flight.extract(question->key);
    if (waiting.empty()) return;
    for (OpBase* raw : waiting.mapped()) {
      std::unique_ptr<OpBase> op(raw);
      op->complete(answer);
    }
  }

  asio::awaitable<Answer> query(std::string name, int type) {
    return asio::async_initiate<decltype(asio::use_awaitable), void(Answer)>(
        [](auto handler, Impl* self, std::string query_name, int query_type) {
          using Handler = decltype(handler);
          auto* op = new Op<Handler>(std::move(handler), self->executor);
          QuestionKey key{query_name, query_type};
          auto [it, first] = self->in_flight.try_emplace(key);
          it->second.push_back(op);
          if (!first) return;  // the same question is on the wire already
          self->send(query_name, query_type, new Question{self, std::move(key)});
          self->arm_timer();
        },
        asio::use_awaitable, this, std::move(name), type);
  }

  // With dnssec the question is built here so that it carries the AD bit (RFC 6840
  // §5.7): c-ares' own ares_query cannot set it. ares_send gives it a fresh random id.
  void send(const std::string& name, int type, Question* question) {
    if (!options.dnssec) {
      ares_query(channel, name.c_str(), ns_c_in, type, &Impl::on_answer, question);
      return;
    }
    unsigned char* built = nullptr;
    int length = 0;
    if (const int rc = ares_create_query(name.c_str(), ns_c_in, type, 0, 1, &built, &length, 0); rc != ARES_SUCCESS) {
      on_answer(question, rc, 0, nullptr, 0);
      return;
    }
    request_authentic_data(std::span(built, static_cast<std::size_t>(length)));
    ares_send(channel, built, length, &Impl::on_sent_answer, question);
    ares_free_string(built);
  }

  // ares_send reports any answer as success; ares_query turns the RCODE and an empty
  // answer section into statuses, and the lookups above rely on those: do the same.
  static void on_sent_answer(void* arg, int status, int timeouts, unsigned char* abuf, int alen) {
    if (status == ARES_SUCCESS && abuf != nullptr && alen >= 12) {
      const int rcode = abuf[3] & 0x0F;
      const int answers = abuf[6] << 8 | abuf[7];
      switch (rcode) {
        case 0: status = answers == 0 ? ARES_ENODATA : ARES_SUCCESS; break;
        case 1: status = ARES_EFORMERR; break;
        case 2: status = ARES_ESERVFAIL; break;
        case 3: status = ARES_ENOTFOUND; break;
        case 4: status = ARES_ENOTIMP; break;
        case 5: status = ARES_EREFUSED; break;
        default: status = ARES_EBADRESP; break;
      }
    }
    on_answer(arg, status, timeouts, abuf, alen);
  }

  static void on_addrinfo(void* arg, int status, int /*timeouts*/, ares_addrinfo* result) {
    std::unique_ptr<OpBase> op(static_cast<OpBase*>(arg));
    Answer answer{status, {}, {}, false};
    if (result != nullptr) {
      for (const ares_addrinfo_node* n = result->nodes; n != nullptr; n = n->ai_next) {
        std::array<char, INET6_ADDRSTRLEN> text{};
        const void* addr = n->ai_family == AF_INET
                               ? static_cast<const void*>(&reinterpret_cast<const sockaddr_in*>(n->ai_addr)->sin_addr)
                               : static_cast<const void*>(&reinterpret_cast<const sockaddr_in6*>(n->ai_addr)->sin6_addr);
        if (ares_inet_ntop(n->ai_family, addr, text.data(), text.size()) != nullptr)
          answer.addresses.emplace_back(text.data());
      }
      ares_freeaddrinfo(result);
    }
    op->complete(std::move(answer));
  }

  // getaddrinfo questions are not shared: only the DNS health check asks them, each
  // on a channel of its own.
  asio::awaitable<Answer> getaddrinfo(std::string name) {
    return asio::async_initiate<decltype(asio::use_awaitable), void(Answer)>(
        [](auto handler, Impl* self, std::string query_name) {
          using Handler = decltype(handler);
          auto* op = new Op<Handler>(std::move(handler), self->executor);
          ares_addrinfo_hints hints{};
          hints.ai_family = AF_UNSPEC;
          hints.ai_flags = ARES_AI_NOSORT;
          ares_getaddrinfo(self->channel, query_name.c_str(), nullptr, &hints, &Impl::on_addrinfo,
                           static_cast<OpBase*>(op));
          self->arm_timer();
        },
        asio::use_awaitable, this, std::move(name));
  }

  asio::any_io_executor executor;
  asio::steady_timer timer;
  std::uint64_t timer_generation = 0;
  const ChannelOptions options;
  const HostOverrides hosts;
  ares_channel channel = nullptr;
  std::map<ares_socket_t, Watcher> watchers;
  DnsCache cache;
  std::map<QuestionKey, std::vector<OpBase*>> in_flight;  // owned until their answer
};

DnsResolver::DnsResolver(asio::any_io_executor executor, const conf::DnsConfig& config)
    : impl_(std::make_shared<Impl>(std::move(executor), options_of(config), config.hosts)) {
  impl_->init();
}

DnsResolver::DnsResolver(asio::any_io_executor executor, ChannelOptions options)
    : impl_(std::make_shared<Impl>(std::move(executor), std::move(options), Impl::HostOverrides{})) {
  impl_->init();
}

DnsResolver::~DnsResolver() = default;

asio::awaitable<std::expected<std::vector<asio::ip::address>, ResolveError>> DnsResolver::addresses(std::string host) {
  auto answer = co_await address_answer(std::move(host));
  if (!answer) co_return std::unexpected(std::move(answer.error()));
  co_return std::move(answer->addresses);
}

asio::awaitable<std::expected<DnsResolver::AddressAnswer, ResolveError>> DnsResolver::address_answer(std::string host) {
  AddressAnswer result;
  std::vector<asio::ip::address>& found = result.addresses;
  boost::system::error_code ec;
  const auto literal = asio::ip::make_address(host, ec);
  if (!ec) {
    found.push_back(literal);
    co_return result;
  }
  const std::string name = conf::dns_name_key(host);
  for (const auto& [override_name, list] : impl_->hosts) {
    if (override_name != name) continue;
    for (const auto& text : list) {
      const auto address = asio::ip::make_address(text, ec);
      if (!ec) found.push_back(address);
    }
    co_return result;
  }

  std::string failure;
  bool secure = true;
  const std::array<std::pair<RecordType, int>, 2> kinds{{{RecordType::a, ns_t_a}, {RecordType::aaaa, ns_t_aaaa}}};
  for (const auto& [kind, type] : kinds) {
    const auto now = std::chrono::steady_clock::now();
    std::optional<DnsAnswer> cached = impl_->cache.find(kind, name, now);
    if (!cached) {
      Answer answer = co_await impl_->query(name, type);
      DnsAnswer parsed;
      std::chrono::seconds ttl = negative_ttl;
      if (answer.status == ARES_SUCCESS) {
        if (kind == RecordType::a)
          read_address_records(answer.bytes, ares_parse_a_reply, AF_INET, &ares_addrttl::ipaddr, parsed, ttl);
        else
          read_address_records(answer.bytes, ares_parse_aaaa_reply, AF_INET6, &ares_addr6ttl::ip6addr, parsed, ttl);
        parsed.exists = !parsed.addresses.empty();
      } else if (answer.status == ARES_ENODATA || answer.status == ARES_ENOTFOUND) {
        parsed.exists = false;
      } else {
        // A failed A or AAAA lookup contributes no addresses, so it does not make the
        // others insecure: an attacker who blocks one type must not turn DANE off.
        // Not an answer: nothing is cached, the next attempt asks again.
        failure = name + (kind == RecordType::a ? " A: " : " AAAA: ") + describe(answer.status);
        continue;
      }
      parsed.secure = answer.authentic;
      impl_->cache.store(kind, name, parsed, ttl, now);
      cached = std::move(parsed);
    }
    secure = secure && cached->secure;
    for (const auto& text : cached->addresses) {
      const auto address = asio::ip::make_address(text, ec);
      if (!ec) found.push_back(address);
    }
  }
  result.secure = secure;
  if (!found.empty()) co_return result;
  co_return std::unexpected(ResolveError{failure.empty() ? name + ": no A or AAAA record" : failure});
}

asio::awaitable<std::expected<std::vector<MxRecord>, ResolveError>> DnsResolver::mx(std::string domain) {
  auto answer = co_await mx_answer(std::move(domain));
  if (!answer) co_return std::unexpected(std::move(answer.error()));
  co_return std::move(answer->records);
}

asio::awaitable<std::expected<DnsResolver::MxAnswer, ResolveError>> DnsResolver::mx_answer(std::string domain) {
  const std::string name = conf::dns_name_key(domain);
  for (const auto& entry : impl_->hosts) {
    if (entry.first == name) co_return MxAnswer{};  // overridden: implicit MX
  }
  const auto now = std::chrono::steady_clock::now();
  if (auto cached = impl_->cache.find(RecordType::mx, name, now)) {
    if (!cached->exists) co_return std::unexpected(ResolveError{name + " MX: domain not found"});
    co_return MxAnswer{cached->mx, cached->secure};
  }
  Answer answer = co_await impl_->query(name, ns_t_mx);
  DnsAnswer parsed;
  std::chrono::seconds ttl = negative_ttl;
  if (answer.status == ARES_SUCCESS) {
    ares_mx_reply* records = nullptr;
    const int rc = ares_parse_mx_reply(answer.bytes.data(), static_cast<int>(answer.bytes.size()), &records);
    if (rc == ARES_SUCCESS) {
      for (auto* r = records; r != nullptr; r = r->next)
        parsed.mx.push_back({static_cast<std::uint16_t>(r->priority), r->host ? r->host : ""});
      ares_free_data(records);
      ttl = min_answer_ttl(answer.bytes, ns_t_mx);
    } else if (rc != ARES_ENODATA) {
      co_return std::unexpected(ResolveError{name + " MX: " + describe(rc)});
    }
  } else if (answer.status == ARES_ENOTFOUND) {
    parsed.exists = false;
  } else if (answer.status != ARES_ENODATA) {
    co_return std::unexpected(ResolveError{name + " MX: " + describe(answer.status)});
  }
  parsed.secure = answer.authentic;
  impl_->cache.store(RecordType::mx, name, parsed, ttl, now);
  if (!parsed.exists) co_return std::unexpected(ResolveError{name + " MX: domain not found"});
  co_return MxAnswer{std::move(parsed.mx), parsed.secure};
}

asio::awaitable<TlsaLookup> DnsResolver::tlsa(std::string host, std::uint16_t port) {
  TlsaLookup lookup;
  if (!impl_->options.dnssec) co_return lookup;
  const std::string name = "_" + std::to_string(port) + "._tcp." + conf::dns_name_key(host);
  // Answers, negative ones included, are kept for their TTL like MX and address answers;
  // failures are not (the next attempt asks again).
  const auto now = std::chrono::steady_clock::now();
  if (auto cached = impl_->cache.find(RecordType::tlsa, name, now)) {
    lookup.secure = cached->secure;
    lookup.records = std::move(cached->tlsa);
    co_return lookup;
  }
  Answer answer = co_await impl_->query(name, dns_type_tlsa);
  if (answer.status == ARES_ENOTFOUND || answer.status == ARES_ENODATA) {
    // A denial of existence counts as secure only when validated (NSEC/NSEC3 checked by
    // the resolver): an unsigned "no such name" is just no TLSA.
    lookup.secure = answer.authentic;
    impl_->cache.store(RecordType::tlsa, name, DnsAnswer{false, {}, {}, {}, lookup.secure}, negative_ttl, now);
    co_return lookup;
  }
  if (answer.status != ARES_SUCCESS) {
    lookup.status = TlsaLookup::Status::failed;
    lookup.error = name + " TLSA: " + describe(answer.status);
    co_return lookup;
  }
  auto facts = read_dns_answer(answer.bytes);
  if (!facts) {
    lookup.status = TlsaLookup::Status::failed;
    lookup.error = name + " TLSA: " + facts.error();
    co_return lookup;
  }
  lookup.secure = answer.authentic;
  lookup.records = std::move(facts->tlsa);
  impl_->cache.store(RecordType::tlsa, name, DnsAnswer{true, {}, {}, lookup.records, lookup.secure},
                     min_answer_ttl(answer.bytes, dns_type_tlsa), now);
  co_return lookup;
}

// DNSBL lookups. One A query; every record's address and the smallest TTL.
asio::awaitable<std::expected<DnsResolver::ARecords, ResolveError>> DnsResolver::lookup_a(std::string name) {
  Answer answer = co_await impl_->query(name, ns_t_a);
  ARecords result;
  if (answer.status == ARES_ENOTFOUND || answer.status == ARES_ENODATA) co_return result;
  if (answer.status != ARES_SUCCESS) co_return std::unexpected(ResolveError{name + " A: " + describe(answer.status)});
  std::array<ares_addrttl, 32> records{};
  int count = static_cast<int>(records.size());
  const int rc = ares_parse_a_reply(answer.bytes.data(), static_cast<int>(answer.bytes.size()), nullptr, records.data(), &count);
  if (rc == ARES_ENODATA) co_return result;
  if (rc != ARES_SUCCESS) co_return std::unexpected(ResolveError{name + " A: " + describe(rc)});
  std::array<char, INET6_ADDRSTRLEN> text{};
  result.ttl = std::chrono::hours(24);
  for (int i = 0; i < count; ++i) {
    const auto& record = records[static_cast<std::size_t>(i)];
    ares_inet_ntop(AF_INET, &record.ipaddr, text.data(), text.size());
    result.addresses.emplace_back(text.data());
    result.ttl = std::min(result.ttl, std::chrono::seconds(record.ttl));
  }
  result.exists = !result.addresses.empty();
  if (!result.exists) result.ttl = std::chrono::seconds(0);
  co_return result;
}

// A DNSBL's reason: only the first record is read (lists publish one reason per listing).
asio::awaitable<std::expected<std::string, ResolveError>> DnsResolver::lookup_txt(std::string name) {
  auto records = co_await lookup_txt_records(std::move(name));
  if (!records) co_return std::unexpected(std::move(records.error()));
  co_return records->empty() ? std::string() : std::move(records->front());
}

asio::awaitable<std::expected<std::vector<std::string>, ResolveError>> DnsResolver::lookup_txt_records(
    std::string name) {
  std::vector<std::string> texts;
  Answer answer = co_await impl_->query(name, ns_t_txt);
  if (answer.status == ARES_ENOTFOUND || answer.status == ARES_ENODATA) co_return texts;
  if (answer.status != ARES_SUCCESS) co_return std::unexpected(ResolveError{name + " TXT: " + describe(answer.status)});
  ares_txt_ext* records = nullptr;
  const int rc = ares_parse_txt_reply_ext(answer.bytes.data(), static_cast<int>(answer.bytes.size()), &records);
  if (rc == ARES_ENODATA) co_return texts;
  if (rc != ARES_SUCCESS) co_return std::unexpected(ResolveError{name + " TXT: " + describe(rc)});
  // A record is one or more character-strings (each at most 255 octets), joined.
  for (const ares_txt_ext* r = records; r != nullptr; r = r->next) {
    if (r->record_start || texts.empty()) texts.emplace_back();
    texts.back().append(reinterpret_cast<const char*>(r->txt), r->length);
  }
  ares_free_data(records);
  co_return texts;
}

asio::awaitable<std::expected<std::vector<std::string>, LookupError>> DnsResolver::lookup_addresses(std::string name) {
  Answer answer = co_await impl_->getaddrinfo(name);
  if (answer.status == ARES_SUCCESS && !answer.addresses.empty()) co_return std::move(answer.addresses);
  const int status = answer.status == ARES_SUCCESS ? ARES_ENODATA : answer.status;
  co_return std::unexpected(LookupError{failure_kind(status), name + ": " + describe(status)});
}

}  // namespace routing
