// relay/tlsrpt/report.cpp — the RFC 8460 report JSON and its gzip form.
#include "relay/tlsrpt/report.hpp"

#include <zlib.h>

#include <chrono>
#include <fmt/format.h>

#include "health/report.hpp"

namespace relay::tlsrpt {
namespace {

std::string utc(std::int64_t unix_seconds) { return health::format_utc(unix_seconds * 1000); }

void string_array(std::string& out, const std::vector<std::string>& values) {
  out.push_back('[');
  for (std::size_t i = 0; i < values.size(); ++i) {
    if (i != 0) out.push_back(',');
    out += health::json_string(values[i]);
  }
  out.push_back(']');
}

void member(std::string& out, std::string_view name, std::string_view value) {
  out += health::json_string(name);
  out.push_back(':');
  out += health::json_string(value);
}

}  // namespace

std::string report_id(const ReportInput& input) {
  return utc(input.begin) + "_" + input.domain + "@" + input.submitter + "_" + input.unique;
}

std::string report_json(const ReportInput& input, const DomainDay& counts) {
  std::string out = "{";
  member(out, "organization-name", input.organization);
  out += ",\"date-range\":{";
  member(out, "start-datetime", utc(input.begin));
  out.push_back(',');
  member(out, "end-datetime", utc(input.end));
  out += "},";
  member(out, "contact-info", input.contact);
  out.push_back(',');
  member(out, "report-id", report_id(input));
  out += ",\"policies\":[";
  bool first_policy = true;
  for (const auto& [policy, totals] : counts.policies) {
    if (!first_policy) out.push_back(',');
    first_policy = false;
    out += "{\"policy\":{";
    member(out, "policy-type", to_string(policy.type));
    if (policy.type != PolicyType::no_policy_found) {
      out += ",\"policy-string\":";
      string_array(out, policy.strings);
    }
    out.push_back(',');
    member(out, "policy-domain", input.domain);
    if (!policy.mx_hosts.empty()) {
      out += ",\"mx-host\":";
      string_array(out, policy.mx_hosts);
    }
    out += fmt::format("}},\"summary\":{{\"total-successful-session-count\":{},\"total-failure-session-count\":{}}}",
                       totals.successful, totals.failed);
    if (!totals.failures.empty()) {
      out += ",\"failure-details\":[";
      bool first_failure = true;
      for (const auto& [failure, count] : totals.failures) {
        if (!first_failure) out.push_back(',');
        first_failure = false;
        out.push_back('{');
        member(out, "result-type", to_string(failure.result));
        // Absent facts are left out rather than sent empty (RFC 8460 §4.4: optional).
        const std::pair<std::string_view, const std::string*> optional_members[] = {
            {"sending-mta-ip", &failure.sending_mta_ip},
            {"receiving-mx-hostname", &failure.receiving_mx_hostname},
            {"receiving-ip", &failure.receiving_ip},
            {"additional-information", &failure.additional_information}};
        for (const auto& [name, value] : optional_members) {
          if (value->empty()) continue;
          out.push_back(',');
          member(out, name, *value);
        }
        out += fmt::format(",\"failed-session-count\":{}}}", count);
      }
      out.push_back(']');
    }
    out.push_back('}');
  }
  out += "]}";
  return out;
}

std::string report_file_name(const ReportInput& input) {
  return fmt::format("{}!{}!{}!{}!{}.json.gz", input.submitter, input.domain, input.begin, input.end, input.unique);
}

std::string gzip(std::string_view data) {
  z_stream stream{};
  // windowBits 15 + 16: a gzip header and trailer instead of zlib's.
  if (deflateInit2(&stream, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
    return {};
  std::string out(deflateBound(&stream, static_cast<uLong>(data.size())) + 32, '\0');
  stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  stream.avail_in = static_cast<uInt>(data.size());
  stream.next_out = reinterpret_cast<Bytef*>(out.data());
  stream.avail_out = static_cast<uInt>(out.size());
  const int result = deflate(&stream, Z_FINISH);
  out.resize(stream.total_out);
  deflateEnd(&stream);
  if (result != Z_STREAM_END) return {};
  return out;
}

}  // namespace relay::tlsrpt
