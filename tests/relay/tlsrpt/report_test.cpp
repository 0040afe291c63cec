// Tests for relay/tlsrpt/report, rua_record, report_mail and state_file.
#include "relay/tlsrpt/report.hpp"

#include <gtest/gtest.h>
#include <zlib.h>

#include <filesystem>
#include <fstream>

#include "relay/tlsrpt/report_mail.hpp"
#include "relay/tlsrpt/rua_record.hpp"
#include "relay/tlsrpt/state_file.hpp"

namespace relay::tlsrpt {
namespace {

constexpr std::int64_t begin = 20791LL * 86400;  // 2026-12-04T00:00:00Z

ReportInput input() {
  return {"Example Org", "mailto:postmaster@relay.example.org", "relay.example.org", "example.com", "a1b2",
          begin, begin + 86399};
}

DomainDay sample_day() {
  DailyCounts counts;
  const PolicyDescription tlsa{PolicyType::tlsa, "example.com", {"3 1 1 abcd"}, {"mx.example.com"}};
  counts.record({tlsa, true, {}, "", "", "", ""}, begin + 10);
  counts.record({tlsa, false, ResultType::validation_failure, "198.51.100.5", "mx.example.com", "192.0.2.1", ""},
                begin + 20);
  counts.record({{PolicyType::no_policy_found, "example.com", {}, {}}, true, {}, "", "", "", ""}, begin + 30);
  return *counts.find({20791, "example.com"});
}

std::string gunzip(const std::string& data) {
  z_stream stream{};
  EXPECT_EQ(inflateInit2(&stream, 15 + 16), Z_OK);
  std::string out(1 << 20, '\0');
  stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  stream.avail_in = static_cast<uInt>(data.size());
  stream.next_out = reinterpret_cast<Bytef*>(out.data());
  stream.avail_out = static_cast<uInt>(out.size());
  EXPECT_EQ(inflate(&stream, Z_FINISH), Z_STREAM_END);
  out.resize(stream.total_out);
  inflateEnd(&stream);
  return out;
}

TEST(TlsReport, JsonHasTheRfc8460Shape) {
  const std::string json = report_json(input(), sample_day());
  EXPECT_EQ(json,
            "{\"organization-name\":\"Example Org\","
            "\"date-range\":{\"start-datetime\":\"2026-12-04T00:00:00Z\",\"end-datetime\":\"2026-12-04T23:59:59Z\"},"
            "\"contact-info\":\"mailto:postmaster@relay.example.org\","
            "\"report-id\":\"2026-12-04T00:00:00Z_example.com@relay.example.org_a1b2\","
            "\"policies\":["
            "{\"policy\":{\"policy-type\":\"tlsa\",\"policy-string\":[\"3 1 1 abcd\"],\"policy-domain\":\"example.com\","
            "\"mx-host\":[\"mx.example.com\"]},"
            "\"summary\":{\"total-successful-session-count\":1,\"total-failure-session-count\":1},"
            "\"failure-details\":[{\"result-type\":\"validation-failure\",\"sending-mta-ip\":\"198.51.100.5\","
            "\"receiving-mx-hostname\":\"mx.example.com\",\"receiving-ip\":\"192.0.2.1\",\"failed-session-count\":1}]},"
            "{\"policy\":{\"policy-type\":\"no-policy-found\",\"policy-domain\":\"example.com\"},"
            "\"summary\":{\"total-successful-session-count\":1,\"total-failure-session-count\":0}}]}");
}

TEST(TlsReport, FileNameFollowsSection53) {
  EXPECT_EQ(report_file_name(input()), "relay.example.org!example.com!1796342400!1796428799!a1b2.json.gz");
}

TEST(TlsReport, GzipRoundTrips) {
  const std::string json = report_json(input(), sample_day());
  const std::string compressed = gzip(json);
  ASSERT_GE(compressed.size(), 2U);
  EXPECT_EQ(static_cast<unsigned char>(compressed[0]), 0x1f);  // gzip magic
  EXPECT_EQ(static_cast<unsigned char>(compressed[1]), 0x8b);
  EXPECT_EQ(gunzip(compressed), json);
}

TEST(TlsReportRecord, ParsesMailtoAndHttps) {
  const auto destinations =
      parse_rua_record("v=TLSRPTv1; rua=mailto:tls%40reports.example.com?subject=x,https://r.example.com/v1 ;x=y");
  ASSERT_TRUE(destinations);
  EXPECT_EQ(destinations->mailto, std::vector<std::string>{"tls@reports.example.com"});
  EXPECT_EQ(destinations->https, std::vector<std::string>{"https://r.example.com/v1"});
}

TEST(TlsReportRecord, RefusesOtherRecords) {
  EXPECT_FALSE(parse_rua_record("v=spf1 -all"));
  EXPECT_FALSE(parse_rua_record("rua=mailto:a@b; v=TLSRPTv1"));  // version must come first
  EXPECT_FALSE(parse_rua_record("v=TLSRPTv1;"));                 // no destination
  EXPECT_FALSE(parse_rua_record("v=TLSRPTv1; rua=http://plain.example.com/"));
}

TEST(TlsReportRecord, ExactlyOneTlsrptRecordAmongTheTxtRecords) {
  // §3: other TXT records at the name are discarded.
  const auto one = select_rua_record({"v=spf1 -all", "v=TLSRPTv1; rua=mailto:r@example.com"});
  ASSERT_TRUE(one);
  EXPECT_EQ(one->mailto, std::vector<std::string>{"r@example.com"});
  // Two TLSRPTv1 records: the domain is taken to ask for no reports.
  const auto two = select_rua_record({"v=TLSRPTv1; rua=mailto:a@example.com", "v=TLSRPTv1; rua=mailto:b@example.com"});
  ASSERT_FALSE(two);
  EXPECT_EQ(two.error(), "more than one v=TLSRPTv1 TXT record");
  EXPECT_EQ(select_rua_record({}).error(), "no v=TLSRPTv1 TXT record");
  EXPECT_FALSE(select_rua_record({"v=TLSRPTv1; rua=http://plain.example.com/"}));
}

TEST(TlsReportRecord, HttpsUrisGiveHostPortAndTarget) {
  const auto plain = parse_https_uri("https://Reports.Example.com/v1/tlsrpt?x=1");
  ASSERT_TRUE(plain);
  EXPECT_EQ(plain->host, "reports.example.com");
  EXPECT_EQ(plain->port, 443);
  EXPECT_EQ(plain->target, "/v1/tlsrpt?x=1");
  const auto ported = parse_https_uri("https://r.example.com:8443");
  ASSERT_TRUE(ported);
  EXPECT_EQ(ported->port, 8443);
  EXPECT_EQ(ported->target, "/");
  EXPECT_FALSE(parse_https_uri("http://r.example.com/"));
  EXPECT_FALSE(parse_https_uri("https://user@r.example.com/"));
  EXPECT_FALSE(parse_https_uri("https://[2001:db8::1]/"));
  EXPECT_FALSE(parse_https_uri("https://r.example.com:0/"));
  EXPECT_FALSE(parse_https_uri("https://r.example.com:99999/"));
  EXPECT_FALSE(parse_https_uri("https:///path"));
  EXPECT_FALSE(parse_https_uri("https://r.example.com/a#frag"));
}

TEST(TlsReportMail, CarriesTheSection53Fields) {
  const std::string gz = gzip("{}");
  const std::string message =
      report_message({"tlsrpt@relay.example.org", {"tls@example.com"}, begin * 1000, "tok", "relay.example.org"},
                     input(), gz);
  EXPECT_NE(message.find("Subject: Report Domain: example.com Submitter: relay.example.org Report-ID: "
                         "<2026-12-04T00:00:00Z_example.com@relay.example.org_a1b2>\r\n"),
            std::string::npos);
  EXPECT_NE(message.find("TLS-Report-Domain: example.com\r\n"), std::string::npos);
  EXPECT_NE(message.find("TLS-Report-Submitter: relay.example.org\r\n"), std::string::npos);
  EXPECT_NE(message.find("Content-Type: multipart/report; report-type=\"tlsrpt\";"), std::string::npos);
  EXPECT_NE(message.find("Content-Type: application/tlsrpt+gzip;"), std::string::npos);
  EXPECT_NE(message.find("Content-Transfer-Encoding: base64"), std::string::npos);
  EXPECT_NE(message.find("filename=\"relay.example.org!example.com!1796342400!1796428799!a1b2.json.gz\""),
            std::string::npos);
}

TEST(TlsReportState, SaveAndLoadRoundTrip) {
  const auto dir = std::filesystem::temp_directory_path() / ("tlsrpt_state_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const std::string path = (dir / "tls-report-counts").string();
  auto missing = load_counts(path);
  ASSERT_TRUE(missing);
  EXPECT_TRUE(missing->empty());
  DailyCounts counts;
  counts.record({{PolicyType::tlsa, "example.com", {"3 1 1 ab"}, {"mx"}}, false, ResultType::dane_required, "a", "b",
                 "c", "d"},
                begin + 5);
  ASSERT_TRUE(save_counts(path, counts));
  EXPECT_FALSE(std::filesystem::exists(path + ".tmp"));
  const auto loaded = load_counts(path);
  ASSERT_TRUE(loaded) << loaded.error();
  EXPECT_EQ(*loaded, counts);
  std::ofstream(path) << "garbage";
  EXPECT_FALSE(load_counts(path));
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace relay::tlsrpt
