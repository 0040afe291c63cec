// routing/mta_sts_fetch.cpp — one HTTPS GET of a policy file (see the header).
#include "routing/mta_sts_fetch.hpp"

#include <algorithm>

#include "routing/https_request.hpp"

namespace routing {
namespace asio = boost::asio;

asio::awaitable<StsFetchResult> fetch_sts_policy(asio::any_io_executor executor, DnsResolver& resolver,
                                                 std::string domain, StsFetchOptions options) {
  const std::string host = "mta-sts." + domain;
  HttpsRequest request{host, options.port, "/.well-known/mta-sts.txt", false, {}, {}};
  HttpsLimits limits{options.ca_file, options.timeout, options.max_size};
  HttpsAnswer answer = co_await https_request(std::move(executor), resolver, std::move(request), std::move(limits));
  // A handshake that failed on the certificate is RFC 8460's sts-webpki-invalid.
  if (answer.status == HttpsAnswer::Status::certificate)
    co_return StsFetchResult{StsFetchResult::Status::webpki_invalid, {}, std::move(answer.why)};
  if (answer.status != HttpsAnswer::Status::ok)
    co_return StsFetchResult{StsFetchResult::Status::fetch_error, {}, std::move(answer.why)};
  // §3.3: only 200 is a policy; redirects are not followed.
  if (answer.code != 200)
    co_return StsFetchResult{StsFetchResult::Status::fetch_error, {},
                             host + ": HTTP " + std::to_string(answer.code) + " (only 200 is a policy)"};
  const std::string_view media = std::string_view(answer.content_type).substr(0, answer.content_type.find(';'));
  if (media.size() != 10 || !std::equal(media.begin(), media.end(), "text/plain", [](char a, char b) {
        return (a >= 'A' && a <= 'Z' ? static_cast<char>(a - 'A' + 'a') : a) == b;
      }))
    co_return StsFetchResult{StsFetchResult::Status::invalid, {}, host + ": Content-Type is not text/plain"};
  co_return StsFetchResult{StsFetchResult::Status::ok, std::move(answer.body), {}};
}

}  // namespace routing
