// relay/server/signing_stage.cpp — DKIM signing before the commit (see signing_stage.hpp).
#include "relay/server/signing_stage.hpp"

#include <spdlog/spdlog.h>

#include <chrono>
#include <optional>
#include <span>

#include "queue/body_reader.hpp"
#include "relay/dkim/signing_pool.hpp"

namespace relay {
namespace asio = boost::asio;

namespace {

// A header section larger than this is not signed (the listener's max_header_size is
// smaller by default; this only bounds what one message may hold in memory here).
constexpr std::size_t max_header_section = 1024 * 1024;
constexpr std::size_t chunk_size = 64 * 1024;

// "[dkim.NAME]: why" names the key; its identity labels the failure counter.
const dkim::KeyedSettings* key_named(const dkim::Signer& signer, std::string_view failure) {
  constexpr std::string_view prefix = "[dkim.";
  if (!failure.starts_with(prefix)) return nullptr;
  const auto end = failure.find(']');
  if (end == std::string_view::npos) return nullptr;
  const std::string_view name = failure.substr(prefix.size(), end - prefix.size());
  for (const auto& key : signer.keys())
    if (key.settings.name == name) return &key;
  return nullptr;
}

}  // namespace

// The header section (without the empty line) and the body hashes of one message, fed in
// pieces: everything up to the first empty line is the header section, the rest the body.
class SigningStage::Splitter {
 public:
  explicit Splitter(dkim::BodyHasher hasher) : hasher_(std::move(hasher)) {}

  /// False once the header section is over the cap (the rest is then ignored).
  bool feed(std::string_view piece) {
    if (!fits_) return false;
    if (in_body_) {
      hasher_.feed(piece);
      return true;
    }
    const std::size_t before = head_.size();
    head_.append(piece);
    // The empty line may straddle pieces: search from just before the new octets.
    const std::size_t from = before >= 3 ? before - 3 : 0;
    std::size_t end = std::string::npos;
    if (head_.starts_with("\r\n")) {
      end = 0;  // no header fields at all
    } else if (const auto at = head_.find("\r\n\r\n", from); at != std::string::npos) {
      end = at + 2;  // keep the last field's CR LF
    }
    if (end == std::string::npos) return fits_ = head_.size() <= max_header_section;
    in_body_ = true;
    hasher_.feed(std::string_view(head_).substr(end + 2));
    head_.resize(end);
    return fits_ = head_.size() <= max_header_section;
  }

  std::string& header_section() { return head_; }
  bool fits() const noexcept { return fits_; }
  dkim::BodyHashes finish() { return hasher_.finish(); }

 private:
  dkim::BodyHasher hasher_;
  std::string head_;
  bool in_body_ = false;
  bool fits_ = true;
};

SigningStage::SigningStage(dkim::SignerPtr signer, dkim::SigningPool* pool, conf::Direction direction,
                           ListenerCounters& counters, std::string session_id, queue::Spool* spool)
    : signer_(std::move(signer)),
      pool_(pool),
      direction_(direction),
      counters_(counters),
      session_id_(std::move(session_id)),
      spool_(spool),
      enabled_(signer_ && pool_ && signer_->signs(direction)) {}

SigningStage::~SigningStage() = default;

// The header section up to and with its empty line (all of a message without one).
std::expected<std::string, std::error_code> SigningStage::read_header_section(
    const queue::NewMessage& message, const std::optional<queue::FinishedBody>& file) const {
  if (file) {
    // A filter's header section replaces the file's own (body_prefix over body_skip).
    if (message.body_skip > 0) return message.body_prefix;
    if (spool_ == nullptr) return std::unexpected(std::make_error_code(std::errc::invalid_argument));
    return queue::read_header_section(*spool_, file->name(), max_header_section + 4);
  }
  const std::string_view body = message.body;
  if (body.starts_with("\r\n")) return std::string("\r\n");
  const auto end = body.find("\r\n\r\n");
  return std::string(end == std::string_view::npos ? body : body.substr(0, end + 4));
}

void SigningStage::observe(const std::string& pending, std::uint64_t open_body) {
  if (!enabled_ || open_body == 0) return;
  if (open_body != streamed_body_ || !streamed_) {
    streamed_ = std::make_unique<Splitter>(signer_->body_hasher(direction_));
    streamed_body_ = open_body;
    fed_ = 0;
  }
  if (pending.size() > fed_) streamed_->feed(std::string_view(pending).substr(fed_));
  fed_ = pending.size();
}

void SigningStage::fail(std::string_view domain, std::string_view selector, std::string_view reason,
                        std::string_view detail) {
  ++counters_.dkim_failures[{std::string(domain), std::string(selector), std::string(reason)}];
  spdlog::error("session={} dkim: not signed{}{}{}{}: {}", session_id_, domain.empty() ? "" : " d=", domain,
                selector.empty() ? "" : " s=", selector, detail);
}

void SigningStage::fail_message(std::string_view reason, std::string_view detail, const std::string* header) {
  const std::vector<std::size_t> keys =
      signer_->signing_keys(header ? std::optional<std::string_view>(*header) : std::nullopt, direction_);
  // No key would have signed what arrived: nothing was lost unless a filter changed From:.
  if (keys.empty()) fail("", "", reason, detail);
  for (const std::size_t i : keys) {
    const auto& key = signer_->keys()[i];
    fail(key.settings.identity.domain, key.settings.identity.selector, reason,
         "[dkim." + key.settings.name + "]: " + std::string(detail));
  }
}

asio::awaitable<std::string> SigningStage::sign(queue::NewMessage& message, std::optional<queue::FinishedBody>& file,
                                               std::uint64_t body_number, ContentChanges changed) {
  if (!enabled_) co_return std::string();
  // What streamed in for this body: hashed already, unless a filter replaced the body;
  // then the message is read again, as it will be stored: a filter's header section
  // (body_prefix), then the file from body_skip on (the file's own header section, when
  // the prefix replaced it, is not hashed). Header fields changed alone: the body hash
  // stands, the header section is read again. What arrived also names the keys of a failure.
  std::unique_ptr<Splitter> arrived = std::move(streamed_);
  if (arrived && streamed_body_ != body_number) arrived.reset();
  const std::string* arrived_header = arrived ? &arrived->header_section() : nullptr;
  const bool streamed = arrived && !changed.body;
  std::unique_ptr<Splitter> splitter =
      streamed ? std::move(arrived) : std::make_unique<Splitter>(signer_->body_hasher(direction_));
  bool fits = splitter->fits();
  if (streamed && changed.header_section) {
    auto head = read_header_section(message, file);
    if (!head) {
      fail_message("read", "cannot read the spooled header section: " + head.error().message(), arrived_header);
      co_return std::string();
    }
    Splitter fresh(signer_->body_hasher(direction_));
    fits = fresh.feed(*head);
    splitter->header_section() = std::move(fresh.header_section());
    spdlog::debug("session={} dkim: header section read again (changed by a filter)", session_id_);
  } else if (!streamed) {
    spdlog::debug("session={} dkim: body hashed again ({})", session_id_,
                  changed.body ? "replaced by a filter" : "not hashed as it streamed");
  }
  if (!streamed && file) {
    if (spool_ == nullptr) {
      fail_message("read", "no spool", arrived_header);
      co_return std::string();
    }
    auto reader = queue::BodyReader::open(*spool_, file->name());
    if (!reader) {
      fail_message("read", "cannot read the spooled body: " + reader.error().message(), arrived_header);
      co_return std::string();
    }
    reader->seek(message.body_skip);
    fits = splitter->feed(message.body_prefix);
    std::string chunk;  // not zero-filled: each read overwrites the octets it returns
    chunk.resize_and_overwrite(chunk_size, [](char*, std::size_t n) { return n; });
    while (fits) {
      auto n = reader->read(std::span<char>(chunk.data(), chunk.size()));
      if (!n) {
        fail_message("read", "cannot read the spooled body: " + n.error().message(), arrived_header);
        co_return std::string();
      }
      if (*n == 0) break;
      fits = splitter->feed(std::string_view(chunk.data(), *n));
    }
  } else if (!streamed) {
    fits = splitter->feed(message.body);
  }
  if (!fits) {
    fail_message("header_too_large", "header section over 1 MiB", arrived_header);
    co_return std::string();
  }
  dkim::SignJob job;
  job.signer = signer_;
  job.header_section = std::move(splitter->header_section());
  job.body = splitter->finish();
  job.direction = direction_;
  job.now = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
  dkim::Signer::Result result = co_await dkim::sign_message(*pool_, std::move(job));
  for (const auto& failure : result.failures) {
    const auto* key = key_named(*signer_, failure);
    fail(key ? key->settings.identity.domain : "", key ? key->settings.identity.selector : "", "sign", failure);
  }
  if (result.fields.empty()) co_return std::string();
  if (file) {
    message.body_prefix.insert(0, result.fields);  // stored beside the file, sent before it
  } else {
    message.body.insert(0, result.fields);
  }
  std::string names;
  for (const auto& s : result.signatures) {
    ++counters_.dkim_signatures[{s.domain, s.selector, std::string(dkim::to_string(s.algorithm))}];
    if (!names.empty()) names += ',';
    names += s.domain + '/' + s.selector + '/' + std::string(dkim::to_string(s.algorithm));
  }
  co_return names;
}

}  // namespace relay
