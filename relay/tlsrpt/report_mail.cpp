// relay/tlsrpt/report_mail.cpp — the RFC 8460 §5.3 report message.
#include "relay/tlsrpt/report_mail.hpp"

#include "policy/base64.hpp"
#include "relay/delivery/dsn_report.hpp"

namespace relay::tlsrpt {

std::string report_message(const ReportMail& mail, const ReportInput& input, std::string_view report_gz) {
  constexpr std::string_view crlf = "\r\n";
  const std::string boundary = "=_hubrelay_tlsrpt_" + mail.token;
  const std::string domain = one_line(input.domain);
  const std::string submitter = one_line(input.submitter);
  std::string to;
  for (const auto& address : mail.to) to += (to.empty() ? "<" : ", <") + one_line(address) + ">";
  std::string out;
  out += "From: <" + one_line(mail.from) + ">\r\n";
  out += "To: " + to + "\r\n";
  out += "Date: " + rfc5322_date(mail.now_ms) + "\r\n";
  out += "Message-ID: <tlsrpt." + mail.token + "@" + one_line(mail.hostname) + ">\r\n";
  out += "Subject: Report Domain: " + domain + " Submitter: " + submitter + " Report-ID: <" +
         one_line(report_id(input)) + ">\r\n";
  out += "TLS-Report-Domain: " + domain + "\r\n";
  out += "TLS-Report-Submitter: " + submitter + "\r\n";
  // RFC 3834: automatic mail; nobody should answer it or report on it by mail.
  out += "Auto-Submitted: auto-generated\r\n";
  out += "MIME-Version: 1.0\r\n";
  out += "Content-Type: multipart/report; report-type=\"tlsrpt\";\r\n\tboundary=\"" + boundary + "\"\r\n";
  out += crlf;
  out += "This is a MIME-formatted message.\r\n\r\n";
  out += "--" + boundary + "\r\n";
  out += "Content-Type: text/plain; charset=us-ascii\r\n\r\n";
  out += "This is an aggregate TLS report (RFC 8460) from " + submitter + " about mail delivered to " + domain +
         ".\r\nThe report is attached, compressed with gzip.\r\n\r\n";
  out += "--" + boundary + "\r\n";
  const std::string file_name = report_file_name(input);
  out += "Content-Type: application/tlsrpt+gzip; name=\"" + file_name + "\"\r\n";
  out += "Content-Disposition: attachment; filename=\"" + file_name + "\"\r\n";
  out += "Content-Transfer-Encoding: base64\r\n\r\n";
  const std::string encoded = policy::base64_encode(report_gz);
  // RFC 2045 §6.8: encoded lines of at most 76 characters.
  for (std::size_t at = 0; at < encoded.size(); at += 76) {
    out.append(encoded, at, 76);
    out += crlf;
  }
  out += "\r\n--" + boundary + "--\r\n";
  return out;
}

}  // namespace relay::tlsrpt
