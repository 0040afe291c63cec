// tests/relay/smtp/reply_table_test.cpp — reply rows, wire format, policy mapping.
#include "relay/smtp/reply_table.hpp"

#include <gtest/gtest.h>

#include <set>
#include <string>
#include <vector>

namespace {

using relay::ReplyId;

TEST(ReplyTable, RequiredCodesAndEnhancedStatus) {
  struct Case {
    ReplyId id;
    int code;
    std::string enhanced;
  };
  const std::vector<Case> cases = {
      {ReplyId::banner, 220, ""},
      {ReplyId::closing, 221, "2.0.0"},
      {ReplyId::ok, 250, "2.0.0"},
      {ReplyId::sender_ok, 250, "2.1.0"},
      {ReplyId::recipient_ok, 250, "2.1.5"},
      {ReplyId::queued, 250, "2.0.0"},
      {ReplyId::cannot_verify, 252, "2.5.0"},
      {ReplyId::help, 214, "2.0.0"},
      {ReplyId::start_data, 354, ""},
      {ReplyId::timeout, 421, "4.4.2"},
      {ReplyId::shutting_down, 421, "4.3.2"},
      {ReplyId::too_many_errors, 421, "4.7.0"},
      {ReplyId::local_error, 451, "4.3.0"},
      {ReplyId::insufficient_storage, 452, "4.3.1"},
      {ReplyId::too_many_recipients, 452, "4.5.3"},
      {ReplyId::command_unrecognized, 500, "5.5.1"},
      {ReplyId::line_too_long, 500, "5.5.2"},
      {ReplyId::syntax_error, 501, "5.5.4"},
      {ReplyId::bad_sender_syntax, 501, "5.1.7"},
      {ReplyId::bad_recipient_syntax, 501, "5.1.3"},
      {ReplyId::need_helo, 503, "5.5.1"},
      {ReplyId::need_mail, 503, "5.5.1"},
      {ReplyId::need_rcpt, 503, "5.5.1"},
      {ReplyId::nested_mail, 503, "5.5.1"},
      {ReplyId::parameter_not_implemented, 504, "5.5.4"},
      {ReplyId::relay_denied, 550, "5.7.1"},
      {ReplyId::client_not_trusted, 550, "5.7.1"},
      {ReplyId::connection_refused, 554, "5.7.1"},
      {ReplyId::message_too_big, 552, "5.3.4"},
      {ReplyId::parameters_not_recognized, 555, "5.5.4"},
      {ReplyId::bare_line_ending, 550, "5.5.2"},
      {ReplyId::text_line_too_long, 554, "5.6.0"},
      {ReplyId::non_ascii_address, 553, "5.6.7"},
  };
  for (const auto& c : cases) {
    const auto& spec = relay::reply_spec(c.id);
    EXPECT_EQ(spec.id, c.id) << relay::to_string(c.id);
    EXPECT_EQ(spec.code, c.code) << relay::to_string(c.id);
    EXPECT_EQ(spec.enhanced, c.enhanced) << relay::to_string(c.id);
  }
}

TEST(ReplyTable, NamesAreUnique) {
  std::set<std::string_view> names;
  for (int i = 0; i < static_cast<int>(ReplyId::count_); ++i) {
    const auto name = relay::to_string(static_cast<ReplyId>(i));
    EXPECT_TRUE(names.insert(name).second) << name;
  }
}

TEST(ReplyTable, VrfyNeverLeaks) {
  EXPECT_EQ(relay::format_reply(ReplyId::cannot_verify),
            "252 2.5.0 Cannot VRFY user, but will accept message and attempt delivery\r\n");
}

TEST(FormatReply, SingleLineWithArguments) {
  EXPECT_EQ(relay::format_reply(ReplyId::banner, "mx.example.com"), "220 mx.example.com ESMTP\r\n");
  EXPECT_EQ(relay::format_reply(ReplyId::queued, "ABC123"), "250 2.0.0 Ok: queued as ABC123\r\n");
  EXPECT_EQ(relay::format_reply(ReplyId::start_data), "354 End data with <CR><LF>.<CR><LF>\r\n");
  EXPECT_EQ(relay::format_reply(ReplyId::relay_denied), "550 5.7.1 Relay access denied\r\n");
  // A missing argument leaves the placeholder empty rather than failing.
  EXPECT_EQ(relay::format_reply(ReplyId::queued), "250 2.0.0 Ok: queued as \r\n");
}

TEST(FormatReply, ArgumentsCannotInjectLines) {
  const auto got = relay::format_reply(ReplyId::queued, "X\r\n250 2.0.0 fake");
  EXPECT_EQ(got, "250 2.0.0 Ok: queued as X??250 2.0.0 fake\r\n");
}

TEST(FormatReply, MultiLine) {
  std::string out;
  const std::vector<std::string> lines = {"PIPELINING", "SIZE 1000", "8BITMIME"};
  relay::append_multiline_reply(out, ReplyId::ehlo_greeting, lines, {"mx.example.com"});
  EXPECT_EQ(out, "250-mx.example.com\r\n250-PIPELINING\r\n250-SIZE 1000\r\n250 8BITMIME\r\n");

  out.clear();
  relay::append_multiline_reply(out, ReplyId::help, std::vector<std::string>{"more"});
  EXPECT_EQ(out,
            "214-2.0.0 Commands: EHLO HELO MAIL RCPT DATA RSET NOOP QUIT VRFY HELP\r\n"
            "214 2.0.0 more\r\n");

  out.clear();
  relay::append_multiline_reply(out, ReplyId::ehlo_greeting, {}, {"h"});
  EXPECT_EQ(out, "250 h\r\n");
}

TEST(ReplyFor, PolicyDecisions) {
  using policy::Decision;
  using policy::Reason;
  using relay::PolicyStage;
  struct Case {
    Decision decision;
    PolicyStage stage;
    ReplyId want;
  };
  const std::vector<Case> cases = {
      {Decision::accept(), PolicyStage::connect, ReplyId::banner},
      {Decision::accept(), PolicyStage::mail, ReplyId::sender_ok},
      {Decision::accept(), PolicyStage::rcpt, ReplyId::recipient_ok},
      {Decision::reject(Reason::client_not_allowed), PolicyStage::connect, ReplyId::connection_refused},
      {Decision::defer(Reason::client_not_allowed), PolicyStage::connect, ReplyId::connection_deferred},
      {Decision::reject(Reason::relay_denied), PolicyStage::rcpt, ReplyId::relay_denied},
      {Decision::reject(Reason::untrusted_client), PolicyStage::mail, ReplyId::client_not_trusted},
      {Decision::reject(Reason::untrusted_client), PolicyStage::rcpt, ReplyId::client_not_trusted},
      {Decision::reject(Reason::client_not_allowed), PolicyStage::mail, ReplyId::client_not_trusted},
      {Decision::reject(Reason::too_many_recipients), PolicyStage::rcpt, ReplyId::too_many_recipients},
      {Decision::defer(Reason::too_many_recipients), PolicyStage::rcpt, ReplyId::too_many_recipients},
      {Decision::reject(Reason::message_too_large), PolicyStage::mail, ReplyId::message_too_big},
      {Decision::defer(Reason::relay_denied), PolicyStage::rcpt, ReplyId::policy_deferred},
      {Decision::reject(Reason::none), PolicyStage::rcpt, ReplyId::access_denied},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(relay::reply_for(c.decision, c.stage), c.want)
        << policy::to_string(c.decision.reason) << " -> " << relay::to_string(relay::reply_for(c.decision, c.stage));
  }
}

}  // namespace
