// Tests of relay/tracking/present: record lines and message stories.
#include "relay/tracking/present.hpp"

#include <gtest/gtest.h>

namespace relay::tracking {
namespace {

TEST(TrackingPresent, OneLinePerRecord) {
  Record r;
  r.time = 1'764'888'840'123;
  r.event = Event::deliver;
  r.queue_id = "Q1";
  r.sender = "";
  r.recipients = {"bob@example.com"};
  r.hop = "b";
  r.reply = "250 ok";
  EXPECT_EQ(record_line(r), "2025-12-04 22:54:00.123 deliver Q1 from=<> to=<bob@example.com> hop=b reply=\"250 ok\"\n");
}

TEST(TrackingPresent, AStoryReadsInOrderUnderItsMessage) {
  std::vector<Record> records(5);
  records[0] = {.time = 1000, .event = Event::receive, .queue_id = "Q1", .message_id = "m@x", .sender = "a@x",
                .recipients = {"b@y"}, .size = 10, .client = "192.0.2.1", .helo = "h"};
  records[1] = {.time = 1001, .event = Event::queue, .queue_id = "Q1"};
  records[2] = {.time = 1002, .event = Event::defer, .queue_id = "Q1", .recipients = {"b@y"}, .stage = "next_hop",
                .hop = "a", .remote = "10.0.0.1:25", .reply = "451 later", .attempt = 1};
  records[3] = {.time = 1003, .event = Event::reject, .recipients = {"z@q"}, .client = "192.0.2.9", .stage = "rcpt"};
  records[4] = {.time = 1004, .event = Event::deliver, .queue_id = "Q1", .recipients = {"b@y"}, .hop = "b",
                .reply = "250 ok"};
  const std::string text = stories(records);
  EXPECT_EQ(text,
            "message Q1 <m@x> from <a@x> size 10\n"
            "  1970-01-01 00:00:01.000  received from 192.0.2.1 (helo h), 1 recipient(s)\n"
            "  1970-01-01 00:00:01.001  queued\n"
            "  1970-01-01 00:00:01.002  deferred at hop a (10.0.0.1:25) for <b@y>, attempt 1: 451 later (another hop "
            "tried at once)\n"
            "  1970-01-01 00:00:01.004  delivered at hop b for <b@y>: 250 ok\n"
            "refused before a message was queued\n"
            "  1970-01-01 00:00:01.003 reject to=<z@q> client=192.0.2.9 stage=rcpt\n");
}

}  // namespace
}  // namespace relay::tracking

namespace relay::tracking {
namespace {

// Every field set: the JSON line and the text line name each one in their own order.
Record every_field() {
  Record r;
  r.time = 1'764'888'840'123;
  r.event = Event::deliver;
  r.queue_id = "00000000002A";
  r.message_id = "m.1@example.org";
  r.sender = "alice@example.org";
  r.recipients = {"bob@example.com", "carol@example.net"};
  r.size = 4211;
  r.direction = "outbound";
  r.listener = "submission";
  r.client = "192.0.2.1";
  r.helo = "client.test";
  r.stage = "next_hop";
  r.reason = "why";
  r.hop = "smarthost-b";
  r.remote = "10.0.0.8:25";
  r.reply = "250 2.0.0 Ok";
  r.attempt = 2;
  r.tls_protocol = "TLSv1.3";
  r.tls_cipher = "TLS_AES_256_GCM_SHA384";
  r.dkim = "example.org/s1/rsa-sha256";
  r.latency_ms = 1804;
  r.actor = "uid=0 user=root";
  return r;
}

TEST(TrackingFields, EveryFieldInBothForms) {
  EXPECT_EQ(format_record(every_field()),
            R"({"time":"2025-12-04T22:54:00.123Z","event":"deliver","queue_id":"00000000002A",)"
            R"("message_id":"m.1@example.org","sender":"alice@example.org",)"
            R"("recipients":["bob@example.com","carol@example.net"],"size":4211,"direction":"outbound",)"
            R"("listener":"submission","client":"192.0.2.1","helo":"client.test","stage":"next_hop",)"
            R"("reason":"why","hop":"smarthost-b","remote":"10.0.0.8:25","reply":"250 2.0.0 Ok","attempt":2,)"
            R"("tls_protocol":"TLSv1.3","tls_cipher":"TLS_AES_256_GCM_SHA384","dkim":"example.org/s1/rsa-sha256",)"
            R"("latency_ms":1804,"actor":"uid=0 user=root"})"
            "\n");
  EXPECT_EQ(record_line(every_field()),
            "2025-12-04 22:54:00.123 deliver 00000000002A message-id=<m.1@example.org> from=<alice@example.org> "
            "to=<bob@example.com>,<carol@example.net> client=192.0.2.1 helo=client.test stage=next_hop reason=why "
            "hop=smarthost-b remote=10.0.0.8:25 attempt=2 tls=TLSv1.3/TLS_AES_256_GCM_SHA384 "
            "dkim=example.org/s1/rsa-sha256 size=4211 latency=1804ms by=uid=0 user=root reply=\"250 2.0.0 Ok\"\n");
  const auto back = parse_record(format_record(every_field()));
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(format_record(*back), format_record(every_field()));
  EXPECT_EQ(record_line(*back), record_line(every_field()));
}

// What protected a delivery's session: after the cipher in the JSON, beside tls= on the line.
TEST(TrackingFields, TlsKindInBothForms) {
  Record r = every_field();
  r.tls_kind = "dane";
  EXPECT_NE(format_record(r).find(R"("tls_cipher":"TLS_AES_256_GCM_SHA384","tls_kind":"dane",)"), std::string::npos)
      << format_record(r);
  EXPECT_NE(record_line(r).find(" tls=TLSv1.3/TLS_AES_256_GCM_SHA384 tls_kind=dane "), std::string::npos)
      << record_line(r);
  const auto back = parse_record(format_record(r));
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(back->tls_kind, "dane");
}

}  // namespace
}  // namespace relay::tracking
