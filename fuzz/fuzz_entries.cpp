// fuzz/fuzz_entries.cpp — fuzz entry bodies and their invariants.
//
// Input layouts (first octets steer, the rest is the protocol stream):
//   command_parser: the whole input is one command line.
//   data_decoder:   [flags][chunk] stream — flags bit0: refuse bare line endings,
//                   bits1-3: size cap class; chunk: piece size for the split run.
//   reply_parser:   [chunk] stream.
//   server_fsm:     [flags][chunk] stream — flags bit0: reject bare line endings,
//                   bits1-2: commit result, bit3: trusted peer, bit4: implicit TLS,
//                   bit5: AUTH, bit6: header cap, bit7: DNSBL and recipient verification
//                   (answered from the recipient's first letter); chunk: low 6
//                   bits piece size, bit6: DNSBL at connect.
#include "fuzz/fuzz_entries.hpp"

#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "policy/dnsbl.hpp"
#include "policy/listener_policy.hpp"
#include "relay/smtp/command_parser.hpp"
#include "relay/smtp/data_decoder.hpp"
#include "relay/smtp/reply_parser.hpp"
#include "relay/server/server_fsm.hpp"
#include "tests/support/decode_in_pieces.hpp"
#include "tests/support/fsm_driver.hpp"

namespace fuzz {
namespace {

FailureHandler failure_handler = nullptr;

void check(bool ok, const char* what) {
  if (ok) return;
  if (failure_handler != nullptr) {
    failure_handler(what);
    return;
  }
  std::fprintf(stderr, "fuzz invariant broken: %s\n", what);
  std::abort();
}

std::string_view as_view(const std::uint8_t* data, std::size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

bool printable_ascii(std::string_view s) {
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 32 || u > 126) return false;
  }
  return true;
}

bool is_canonical_crlf(std::string_view s) {
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\n' && (i == 0 || s[i - 1] != '\r')) return false;
    if (s[i] == '\r' && (i + 1 == s.size() || s[i + 1] != '\n')) return false;
  }
  return true;
}

// Every line is "DDD-text" or "DDD text" (or "DDD"), CRLF-terminated.
bool well_formed_replies(std::string_view out) {
  std::size_t start = 0;
  while (start < out.size()) {
    const auto end = out.find("\r\n", start);
    if (end == std::string_view::npos) return false;
    const auto line = out.substr(start, end - start);
    if (line.size() < 3 || line.size() > 510) return false;
    for (int i = 0; i < 3; ++i) {
      if (line[i] < '0' || line[i] > '9') return false;
    }
    if (line.size() > 3 && line[3] != ' ' && line[3] != '-') return false;
    if (line.find('\r') != std::string_view::npos || line.find('\n') != std::string_view::npos) return false;
    start = end + 2;
  }
  return true;
}

// Two runs over the same input agree. Once output is discarded the sink holds an
// unspecified prefix (how much of the last piece made it in depends on piece sizes);
// nothing else may differ.
bool same_result(const test_support::DecodeRun& a, const test_support::DecodeRun& b) {
  return a.consumed == b.consumed && a.finished == b.finished && a.too_big == b.too_big && a.bare == b.bare &&
         a.long_line == b.long_line && a.discarded == b.discarded && (a.discarded || a.output == b.output);
}

test_support::DecodeRun decode_in_pieces(std::string_view input, std::size_t piece,
                                         relay::DataDecoder::Options options) {
  return test_support::decode_in_pieces(input, piece, options, check);
}

// The sending side's transformation (RFC 5321 §4.5.2): double a leading dot, add the
// terminator. Decoding it must give back exactly the canonical message.
std::string stuff(std::string_view message) {
  std::string out;
  bool line_start = true;
  for (char c : message) {
    if (line_start && c == '.') out.push_back('.');
    out.push_back(c);
    line_start = c == '\n';
  }
  out.append(".\r\n");
  return out;
}

}  // namespace

void set_failure_handler(FailureHandler handler) noexcept { failure_handler = handler; }

int command_parser(const std::uint8_t* data, std::size_t size) {
  const std::string_view line = as_view(data, size);
  const auto command = relay::parse_command(line);
  check(command.argument.empty() ||
            (command.argument.data() >= line.data() &&
             command.argument.data() + command.argument.size() <= line.data() + line.size()),
        "argument must view into the line");
  if (auto mail = relay::parse_mail_from(command.argument)) {
    check(mail->sender.size() <= relay::limits::max_path, "sender longer than a path");
    check(printable_ascii(mail->sender), "sender has non-printable octets");
    check(mail->sender.empty() || relay::is_valid_mailbox(mail->sender), "parsed sender does not re-validate");
    (void)relay::interpret_mail_parameters(mail->parameters);
  }
  if (auto rcpt = relay::parse_rcpt_to(command.argument)) {
    check(!rcpt->recipient.empty(), "empty recipient accepted");
    check(printable_ascii(rcpt->recipient), "recipient has non-printable octets");
    check(rcpt->postmaster || relay::is_valid_mailbox(rcpt->recipient), "parsed recipient does not re-validate");
  }
  (void)relay::parse_esmtp_parameters(line);
  return 0;
}

int data_decoder(const std::uint8_t* data, std::size_t size) {
  if (size < 2) return 0;
  static constexpr std::uint64_t caps[8] = {0, 1, 16, 100, 1000, 5000, 100000, 0};
  const relay::DataDecoder::Options options{
      .max_size = caps[(data[0] >> 1) & 7],
      .refuse_bare_line_endings = (data[0] & 1) != 0,
  };
  const std::size_t piece = 1 + data[1] % 16;
  const std::string_view input = as_view(data + 2, size - 2);

  const auto whole = decode_in_pieces(input, 0, options);
  const auto split = decode_in_pieces(input, piece, options);
  check(same_result(whole, split), "result depends on how the input is split");
  if (whole.finished) {
    check(whole.consumed >= 3 && input.substr(whole.consumed - 3, 3) == ".\r\n", "ended without .CRLF");
  } else {
    check(whole.consumed == input.size(), "unfinished but not everything consumed");
  }
  if (options.max_size != 0) check(whole.output.size() <= options.max_size, "output beyond the size cap");
  if (whole.discarded) return 0;
  check(is_canonical_crlf(whole.output), "output has a bare CR or LF");
  if (whole.finished) {
    check(whole.output.empty() || whole.output.ends_with("\r\n"), "message does not end in CRLF");
    const auto again = decode_in_pieces(stuff(whole.output), 0, {});
    check(again.finished && again.output == whole.output && again.bare == 0, "stuff/unstuff round trip differs");
  }
  return 0;
}

int reply_parser(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  const std::size_t piece = 1 + data[0] % 32;
  const std::string_view input = as_view(data + 1, size - 1);

  const auto run = [&](std::size_t n) {
    relay::ReplyParser parser;
    std::string transcript;
    std::size_t offset = 0;
    while (offset < input.size()) {
      std::string_view chunk = input.substr(offset, std::min(n, input.size() - offset));
      offset += chunk.size();
      while (!chunk.empty()) {
        auto step = parser.feed(chunk);
        if (!step) return transcript + "error:" + std::string(relay::to_string(step.error()));
        check(step->consumed <= chunk.size(), "reply parser consumed more than given");
        if (step->reply) {
          const auto& r = *step->reply;
          check(r.code >= 200 && r.code <= 559, "reply code out of range");
          check(!r.lines.empty() && r.lines.size() <= relay::limits::max_reply_lines, "line count out of range");
          for (const auto& l : r.lines) check(l.size() < relay::limits::max_reply_line, "line too long accepted");
          if (r.enhanced) check(r.enhanced->klass == r.code / 100, "enhanced class differs from code");
          transcript += std::to_string(r.code) + (r.enhanced ? r.enhanced->to_string() : "") + r.text() + "\n";
        } else {
          check(step->consumed == chunk.size(), "no reply but input left");
        }
        chunk.remove_prefix(step->consumed);
      }
    }
    return transcript;
  };
  check(run(input.size() + 1) == run(piece), "replies depend on how the input is split");
  return 0;
}

int server_fsm(const std::uint8_t* data, std::size_t size) {
  if (size < 2) return 0;
  static const policy::ListenerPolicy policy = [] {
    conf::PolicyConfig config;
    config.name = "fuzz";
    config.trusted_networks = {"192.0.2.0/24"};
    config.accepted_domains = {"example.com"};
    auto compiled = policy::ListenerPolicy::compile(config, {});
    return compiled ? std::move(*compiled) : policy::ListenerPolicy{};
  }();
  relay::ServerSettings settings;
  settings.hostname = "mx.fuzz";
  settings.max_message_size = 2000;
  settings.max_recipients = 5;
  settings.max_errors = 20;
  settings.bare_line_endings = (data[0] & 1) ? relay::BareLineEndings::reject : relay::BareLineEndings::normalize;
  // Implicit TLS (so AUTH is allowed) and AUTH; STARTTLS is left out because
  // dropping the buffered input makes the outcome depend on the split, by design.
  settings.tls = (data[0] & 16) ? conf::ListenerTls::implicit : conf::ListenerTls::off;
  settings.auth = (data[0] & 32) != 0;
  settings.max_header_size = (data[0] & 64) ? 64 : 0;
  settings.dnsbl = (data[0] & 128) != 0;
  settings.verify_recipients = (data[0] & 128) != 0;
  settings.dnsbl_at_connect = (data[1] & 64) != 0;
  static constexpr relay::CommitStatus results[4] = {relay::CommitStatus::committed, relay::CommitStatus::temporary_failure,
                                                     relay::CommitStatus::storage_full, relay::CommitStatus::committed};
  const relay::CommitStatus result = results[(data[0] >> 1) & 3];
  const char* ip = (data[0] & 8) ? "192.0.2.1" : "198.51.100.1";
  const std::size_t piece = 1 + data[1] % 64;
  // A deterministic driver answer, so both splits see the same answers.
  const auto answer = [](const relay::PolicyQuery& q) {
    relay::PolicyAnswer a;
    if (q.kind == relay::PolicyQueryKind::dnsbl) {
      if (!q.recipient.empty() && q.recipient.front() == 'l') {
        a.decision = policy::Decision::reject(policy::Reason::dnsbl_listed);
        a.zone = "bl.fuzz";
        // A reason from the input (the recipient), already made reply-safe as the
        // verification layer does: the FSM must keep it on the one reply line.
        if (q.recipient.size() > 1 && q.recipient[1] == 'r') a.reason = policy::dnsbl_reason(q.recipient);
      } else if (!q.recipient.empty() && q.recipient.front() == 't') {
        a.header = "X-Hubrelay-DNSBL: tag.fuzz=127.0.0.2\r\n";
      }
    } else if (!q.recipient.empty() && q.recipient.front() == 'n') {
      a.decision = policy::Decision::reject(policy::Reason::recipient_unknown);
    } else if (!q.recipient.empty() && q.recipient.front() == 'u') {
      a.decision = policy::Decision::defer(policy::Reason::recipient_unverified);
    }
    return a;
  };
  const std::string_view input = as_view(data + 2, size - 2);
  const auto now = std::chrono::system_clock::time_point{} + std::chrono::hours{24 * 365 * 50};

  // Feed::by_line is a client that waits for each reply: then the output must not depend
  // on how the input is split. Feed::as_written is a client that writes everything at
  // once, which may trip the pipelining rule (data behind DATA before the 354).
  const auto run = [&](std::size_t n, test_support::Feed feed) {
    relay::Peer peer;
    peer.address = ip;
    peer.ip = policy::IpAddress::parse(ip).value_or(policy::IpAddress{});
    relay::ServerFsm fsm(settings, policy, peer, "f1");
    test_support::FsmDriver driver(fsm, now);
    driver.auto_commit = result;
    driver.queue_id = [](std::size_t) { return std::string("Q"); };
    driver.on_query = answer;
    driver.on_auth = [](const relay::AuthRequest& request) {
      check(!request.user.empty(), "AUTH without a user name");
      return request.password == "pw" ? relay::AuthResult::success : relay::AuthResult::failure;
    };
    std::string out = driver.start();
    for (std::size_t offset = 0; offset < input.size() && !fsm.closed(); offset += n) {
      out += driver.send(input.substr(offset, std::min(n, input.size() - offset)), feed);
      check(!driver.stalled(), "no progress");
    }
    std::string bodies;
    for (const relay::Transaction& t : driver.committed()) {
      check(!t.recipients.empty(), "committing a message without recipients");
      check(t.recipients.size() <= settings.max_recipients, "more recipients than allowed");
      check(t.body.starts_with("Received: "), "message without trace header");
      check(is_canonical_crlf(t.body), "committed body is not canonical CRLF");
      check(t.recipient_parameters.size() == t.recipients.size(), "recipient parameters out of step");
      bodies += t.body;
    }
    fsm.timed_out(out);
    check(fsm.closed(), "timed_out must close");
    return out + "\n--\n" + bodies;
  };
  const auto replies_of = [](const std::string& run_output) { return run_output.substr(0, run_output.find("\n--\n")); };
  const std::string whole = run(input.size() + 1, test_support::Feed::by_line);
  check(well_formed_replies(replies_of(whole)), "malformed reply output");
  check(whole == run(piece, test_support::Feed::by_line), "session output depends on how the input is split");
  check(well_formed_replies(replies_of(run(piece, test_support::Feed::as_written))), "malformed reply output");
  return 0;
}

}  // namespace fuzz

// --- PROXY protocol header parser --------------------------------------------------

#include "relay/smtp/proxy_protocol.hpp"

namespace fuzz {

int proxy_protocol(const std::uint8_t* data, std::size_t size) {
  const std::string_view input = as_view(data, size);
  std::size_t needed = 0;
  const auto whole = relay::parse_proxy_header(input, &needed);
  check(whole.consumed <= input.size(), "consumed more than given");
  if (whole.status == relay::ProxyStatus::ok) {
    check(whole.consumed > 0, "ok without consuming");
    check(whole.header.version == 1 || whole.header.version == 2, "bad version");
    check(whole.header.local || !whole.header.source_address.empty(), "proxied header without a source address");
    // Every strict prefix of a good header asks for more, never ok/invalid: the driver
    // reads in arbitrary pieces.
    for (std::size_t n = 0; n < whole.consumed; ++n) {
      check(relay::parse_proxy_header(input.substr(0, n)).status == relay::ProxyStatus::need_more,
            "a prefix of a valid header is not need_more");
    }
    // Bytes after the header do not change it.
    check(relay::parse_proxy_header(input.substr(0, whole.consumed)).consumed == whole.consumed,
          "trailing bytes changed the header");
  }
  if (whole.status == relay::ProxyStatus::need_more) {
    check(needed == 0 || needed > input.size(), "need_more but enough octets");
    check(input.size() < relay::limits::max_proxy_v2, "need_more beyond the size cap");
  }
  return 0;
}

}  // namespace fuzz

// --- DSN (RFC 3461) / SMTPUTF8 (RFC 6531) parameters ------------------------------------
//   esmtp_parameters: [flags] argument — flags bit0: RCPT (else MAIL), bit1: UTF-8 paths
//   allowed. Invariants: accepted paths are valid UTF-8 (ASCII without the flag); what
//   we would send on to a DSN hop is printable ASCII and parses again; xtext round-trips.

#include "relay/smtp/esmtp_parameters.hpp"

namespace fuzz {

int esmtp_parameters(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  const bool rcpt = (data[0] & 1) != 0;
  const relay::PathOptions options{.allow_utf8 = (data[0] & 2) != 0};
  const std::string_view argument = as_view(data + 1, size - 1);
  const auto path_ok = [&](const std::string& address) {
    return options.allow_utf8 ? relay::is_valid_utf8(address) : printable_ascii(address);
  };
  if (!rcpt) {
    if (auto mail = relay::parse_mail_from(argument, options)) {
      check(path_ok(mail->sender), "sender octets not allowed by the options");
      if (auto ext = relay::interpret_mail_extensions(mail->parameters)) {
        const auto envid = relay::decode_xtext(ext->envid);
        check(envid && envid->size() <= relay::limits::max_envid && printable_ascii(*envid), "bad ENVID accepted");
        const std::string onward = relay::dsn_mail_parameters(mail->parameter_text);
        check(printable_ascii(onward), "onward MAIL parameters not printable");
        auto again = relay::parse_esmtp_parameters(onward);
        check(again && relay::interpret_mail_extensions(*again).has_value(), "onward MAIL parameters do not parse");
      }
    }
  } else if (auto to = relay::parse_rcpt_to(argument, options)) {
    check(path_ok(to->recipient), "recipient octets not allowed by the options");
    if (auto ext = relay::interpret_rcpt_parameters(to->parameters)) {
      check((ext->notify & relay::notify_never) == 0 || ext->notify == relay::notify_never, "NEVER combined");
      const std::string onward = relay::dsn_rcpt_parameters(to->parameter_text, to->recipient);
      check(printable_ascii(onward), "onward RCPT parameters not printable");
      check(relay::parse_esmtp_parameters(onward).has_value(), "onward RCPT parameters do not parse");
      (void)relay::original_recipient_of(to->parameter_text);
    }
  }
  const auto decoded = relay::decode_xtext(relay::encode_xtext(argument));
  check(decoded && *decoded == argument, "xtext does not round-trip");
  return 0;
}

}  // namespace fuzz

// --- Milter filter replies ------------------------------------------------------------
//   milter_reply: [chunk] stream of filter packets, read as the answer to end of message.
//   Invariants: framing does not depend on the split; whatever is accepted and applied
//   leaves a header section of CRLF-ended fields (no injected line) and a CRLF-only body;
//   a custom reply is a 4xx/5xx SMTP reply.

#include "relay/milter/conversation.hpp"
#include "relay/milter/message_edit.hpp"

namespace fuzz {

int milter_reply(const std::uint8_t* data, std::size_t size) {
  using namespace relay::milter;
  if (size < 1) return 0;
  const std::size_t piece = 1 + data[0] % 64;
  const std::string_view input = as_view(data + 1, size - 1);

  const auto run = [&](std::size_t n) {
    PacketReader reader;
    Conversation conversation(default_macro_lists());
    conversation.negotiate();
    Packet optneg{'O', {}};
    append_u32(optneg.data, 6);
    append_u32(optneg.data, action_bit::all);
    append_u32(optneg.data, step_bit::skip);
    conversation.receive(optneg);
    conversation.mail("a@example.com", {}, {});
    conversation.receive(Packet{'c', {}});
    conversation.end_of_message({});
    std::string transcript;
    std::size_t offset = 0;
    bool stopped = false;
    while (offset < input.size() && !stopped) {
      reader.feed(input.substr(offset, std::min(n, input.size() - offset)));
      offset += std::min(n, input.size() - offset);
      for (;;) {
        auto next = reader.next();
        if (!next) {
          transcript += "framing:" + std::string(to_string(next.error()));
          stopped = true;
          break;
        }
        if (!*next) break;
        const Outcome outcome = conversation.receive(**next);
        transcript += std::to_string(static_cast<int>(outcome.status)) + ":" +
                      std::string(to_string(outcome.verdict)) + outcome.reply + ";";
        if (outcome.status == Outcome::Status::decided && outcome.verdict == ReplyKind::reply_code) {
          check(!outcome.reply.empty() && (outcome.reply[0] == '4' || outcome.reply[0] == '5'), "reply not 4xx/5xx");
          check(is_canonical_crlf(outcome.reply), "reply lines not CRLF");
        }
        if (outcome.status != Outcome::Status::waiting) {
          stopped = true;
          break;
        }
      }
    }
    Envelope envelope{"a@example.com", "", {"r@example.com"}, {""}};
    const auto edits = apply_modifications(conversation.modifications(), "Subject: x\r\n\r\n", envelope);
    // A filter may delete every field: the section is then the empty line alone.
    check(is_canonical_crlf(edits.header_section) &&
              (edits.header_section == "\r\n" || edits.header_section.ends_with("\r\n\r\n")),
          "header section not CRLF");
    // Every line of the section is a field, a folded continuation, or the final empty line.
    std::string_view section = edits.header_section;
    while (!section.empty()) {
      const auto end = section.find("\r\n");
      const std::string_view line = section.substr(0, end);
      section.remove_prefix(end + 2);
      if (line.empty()) {
        check(section.empty(), "empty line inside the header section");
        break;
      }
      check(line[0] == ' ' || line[0] == '\t' || line.find(':') != std::string_view::npos, "injected header line");
    }
    if (edits.body) check(is_canonical_crlf(*edits.body), "replaced body not CRLF");
    for (const auto& r : envelope.recipients) check(printable_ascii(r) && !r.empty(), "bad recipient accepted");
    check(envelope.recipients.size() == envelope.recipient_parameters.size(), "recipient parameters out of step");
    return transcript;
  };
  check(run(input.size() + 1) == run(piece), "filter replies depend on how the input is split");
  return 0;
}

}  // namespace fuzz
