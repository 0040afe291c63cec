// relay/tlsrpt/rua_record.cpp — parsing "v=TLSRPTv1; rua=..." (RFC 8460 §3).
#include "relay/tlsrpt/rua_record.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>

#include "relay/delivery/dsn_report.hpp"
#include "routing/txt_version.hpp"

namespace relay::tlsrpt {
namespace {

std::string_view trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  return text;
}

bool starts_with_nocase(std::string_view text, std::string_view prefix) {
  return text.size() >= prefix.size() &&
         std::equal(prefix.begin(), prefix.end(), text.begin(),
                    [](char a, char b) { return std::tolower(static_cast<unsigned char>(a)) == b; });
}

}  // namespace

std::optional<ReportDestinations> parse_rua_record(std::string_view record) {
  std::vector<std::string_view> fields;
  while (!record.empty()) {
    const std::size_t semicolon = record.find(';');
    fields.push_back(trim(record.substr(0, semicolon)));
    if (semicolon == std::string_view::npos) break;
    record.remove_prefix(semicolon + 1);
  }
  // §3: the version must be the first field, exactly "v=TLSRPTv1".
  if (fields.empty() || fields.front() != "v=TLSRPTv1") return std::nullopt;
  ReportDestinations out;
  for (const std::string_view field : fields) {
    if (!field.starts_with("rua=")) continue;
    std::string_view list = field.substr(4);
    while (!list.empty()) {
      const std::size_t comma = list.find(',');
      const std::string_view uri = trim(list.substr(0, comma));
      if (starts_with_nocase(uri, "mailto:")) {
        // Only the address: header fields (?subject=) of a mailto URI are not ours to send.
        const std::string address = hex_unescape(uri.substr(7, uri.find('?') - 7), '%');
        if (address.find('@') != std::string::npos && address.find_first_of("<>\r\n ") == std::string::npos)
          out.mailto.push_back(address);
      } else if (starts_with_nocase(uri, "https://")) {
        out.https.emplace_back(uri);
      }
      if (comma == std::string_view::npos) break;
      list.remove_prefix(comma + 1);
    }
  }
  if (out.mailto.empty() && out.https.empty()) return std::nullopt;
  return out;
}

std::optional<HttpsDestination> parse_https_uri(std::string_view uri) {
  if (!starts_with_nocase(uri, "https://")) return std::nullopt;
  uri.remove_prefix(8);
  if (uri.find('#') != std::string_view::npos) return std::nullopt;
  const std::size_t end = uri.find_first_of("/?");
  std::string_view authority = uri.substr(0, end);
  HttpsDestination out;
  if (end != std::string_view::npos) out.target = (uri[end] == '/' ? "" : "/") + std::string(uri.substr(end));
  if (const std::size_t colon = authority.rfind(':'); colon != std::string_view::npos) {
    const std::string_view digits = authority.substr(colon + 1);
    unsigned port = 0;
    const auto [last, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), port);
    if (digits.empty() || ec != std::errc{} || last != digits.data() + digits.size() || port == 0 || port > 65535)
      return std::nullopt;
    out.port = static_cast<std::uint16_t>(port);
    authority = authority.substr(0, colon);
  }
  // A host name only: letters, digits, hyphens and dots (no user information, no literal).
  const auto host_char = [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.'; };
  if (authority.empty() || authority.size() > 253 || authority.front() == '.' || authority.front() == '-' ||
      !std::ranges::all_of(authority, host_char))
    return std::nullopt;
  for (const char c : authority) out.host.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  if (out.target.find_first_of(" \t\r\n") != std::string::npos) return std::nullopt;
  return out;
}

std::expected<ReportDestinations, std::string> select_rua_record(const std::vector<std::string>& records) {
  // §3: records not beginning with the version are discarded; not exactly one left: none.
  constexpr std::string_view version = "v=TLSRPTv1;";
  const auto found = routing::select_versioned_record(records, version);
  if (found.status != routing::VersionedRecord::Status::found)
    return std::unexpected(routing::versioned_record_problem(found, version));
  auto destinations = parse_rua_record(found.record);
  if (!destinations) return std::unexpected("the v=TLSRPTv1 TXT record has no usable rua");
  return std::move(*destinations);
}

}  // namespace relay::tlsrpt
