// routing/mta_sts_source.hpp — the MTA-STS policy in force for a recipient domain.
//
// Owns: the per-domain cache of policies: in memory (so deliveries to one domain do not
// ask DNS per message) and on disk, one small file per domain under
// <state_dir>/mta-sts/ (written to a temporary name and renamed, so a crash never
// leaves half a policy), read back after a restart. On a lookup it asks the
// `_mta-sts.<domain>` TXT record (at most once a minute per domain, failures included), fetches the policy
// when routing/mta_sts_policy says so, and returns resolve_sts()'s answer: a DNS or HTTPS
// outage keeps an unexpired stored policy in force.
// Never: throws (a cache file that cannot be written or read is logged and ignored).
// Threading: the delivery executor only.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "routing/mta_sts_fetch.hpp"
#include "routing/mta_sts_policy.hpp"

namespace routing {

class DnsResolver;

class MtaStsSource {
 public:
  /// `cache_dir` empty: memory only (tests, or a state directory that cannot be used).
  MtaStsSource(boost::asio::any_io_executor executor, DnsResolver& resolver, std::string cache_dir,
               StsFetchOptions options);

  /// The resolution for `domain` (lower case) now: one shared, immutable answer for every
  /// delivery to the domain within a check (never null).
  boost::asio::awaitable<std::shared_ptr<const StsResolution>> policy_for(std::string domain);

  /// What is known for `domain` without asking anything (memory, then disk): for
  /// `hubrelay route explain`.
  std::optional<StsCacheEntry> stored(const std::string& domain);

 private:
  struct Known {
    std::optional<StsCacheEntry> entry;
    bool loaded = false;                                 // the disk file was read
    std::chrono::steady_clock::time_point checked{};     // last TXT answer
    std::shared_ptr<const StsResolution> last;           // what that check resolved to
  };
  Known& known(const std::string& domain);
  void write(const std::string& domain, const StsCacheEntry& entry);

  boost::asio::any_io_executor executor_;
  DnsResolver& resolver_;
  std::string cache_dir_;
  StsFetchOptions options_;
  std::map<std::string, Known> domains_;
};

}  // namespace routing
