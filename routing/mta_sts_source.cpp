// routing/mta_sts_source.cpp — memory and disk cache in front of TXT lookups and fetches.
#include "routing/mta_sts_source.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "routing/dns_resolver.hpp"

namespace routing {
namespace asio = boost::asio;

namespace {

// The TXT record is asked again at most this often per domain, whatever the outcome: a
// burst of mail to one domain asks (and fetches, or fails to) once, and a changed id is
// still noticed within a minute (RFC 8461 §3.3).
constexpr std::chrono::seconds recheck_after{60};

std::int64_t unix_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

}  // namespace

MtaStsSource::MtaStsSource(asio::any_io_executor executor, DnsResolver& resolver, std::string cache_dir,
                           StsFetchOptions options)
    : executor_(std::move(executor)), resolver_(resolver), cache_dir_(std::move(cache_dir)), options_(std::move(options)) {}

MtaStsSource::Known& MtaStsSource::known(const std::string& domain) {
  Known& known = domains_[domain];
  if (known.loaded) return known;
  known.loaded = true;
  const std::string path = sts_cache_path(cache_dir_, domain);
  if (path.empty()) return known;
  std::ifstream in(path, std::ios::binary);
  if (!in) return known;
  std::ostringstream text;
  text << in.rdbuf();
  if (auto entry = parse_sts_cache(text.str())) known.entry = std::move(*entry);
  else spdlog::warn("MTA-STS cache file {} ignored: {}", path, entry.error());
  return known;
}

void MtaStsSource::write(const std::string& domain, const StsCacheEntry& entry) {
  const std::string path = sts_cache_path(cache_dir_, domain);
  if (path.empty()) return;
  std::error_code ec;
  std::filesystem::create_directories(cache_dir_, ec);
  const std::string temporary = path + ".tmp";
  {
    std::ofstream out(temporary, std::ios::binary | std::ios::trunc);
    out << format_sts_cache(entry);
    out.flush();
    if (!out) {
      spdlog::warn("MTA-STS cache file {} not written", temporary);
      return;
    }
  }
  std::filesystem::rename(temporary, path, ec);
  if (ec) spdlog::warn("MTA-STS cache file {} not written: {}", path, ec.message());
}

std::optional<StsCacheEntry> MtaStsSource::stored(const std::string& domain) { return known(domain).entry; }

asio::awaitable<std::shared_ptr<const StsResolution>> MtaStsSource::policy_for(std::string domain) {
  const auto now_steady = std::chrono::steady_clock::now();
  {
    Known& cached = known(domain);
    if (cached.last && now_steady - cached.checked < recheck_after) {
      // The stored policy may have run out since: the shared answer is replaced, never changed.
      if (cached.last->entry && sts_expired(*cached.last->entry, unix_now())) {
        auto expired = std::make_shared<StsResolution>(*cached.last);
        expired->entry.reset();
        cached.last = std::move(expired);
      }
      co_return cached.last;
    }
  }
  StsRecordLookup record;
  bool dns_failed = false;
  std::string dns_error;
  auto texts = co_await resolver_.lookup_txt_records("_mta-sts." + domain);
  if (texts) record = select_sts_record(*texts);
  else {
    dns_failed = true;
    dns_error = texts.error().text;
  }
  // `known` again: the map may have changed while the lookup was on the wire.
  std::optional<StsCacheEntry> stored = known(domain).entry;
  const std::int64_t now = unix_now();
  std::optional<StsFetchResult> fetched;
  if (!dns_failed && sts_needs_fetch(stored, record, now))
    fetched = co_await fetch_sts_policy(executor_, resolver_, domain, options_);
  StsResolution resolution = resolve_sts(stored, record, fetched, now);
  if (dns_failed && resolution.failure == TlsFailure::none && !resolution.entry) {
    // §3.3 treats a failed TXT lookup like no record: auto falls back, mta-sts defers.
    resolution.failure = TlsFailure::sts_policy_fetch_error;
    resolution.why = dns_error;
  }
  Known& now_known = known(domain);
  if (resolution.store && resolution.entry) {
    now_known.entry = resolution.entry;
    write(domain, *resolution.entry);
    spdlog::info("MTA-STS policy of {}: id={} mode={} max_age={}", domain, resolution.entry->policy.id,
                 to_string(resolution.entry->policy.mode), resolution.entry->policy.max_age);
  } else if (resolution.failure != TlsFailure::none) {
    spdlog::warn("MTA-STS policy of {}: {} ({})", domain, resolution.why, to_string(resolution.failure));
  }
  // Failures are remembered for the minute too: a policy server that times out must not
  // cost every delivery to the domain another ten seconds.
  now_known.checked = now_steady;
  resolution.store = false;  // written above: what is shared is only the answer
  now_known.last = std::make_shared<const StsResolution>(std::move(resolution));
  co_return now_known.last;
}

}  // namespace routing
