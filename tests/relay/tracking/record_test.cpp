// Tests of relay/tracking/record: the JSON line of a record and reading it back.
#include "relay/tracking/record.hpp"

#include <gtest/gtest.h>

namespace relay::tracking {
namespace {

Record delivered() {
  Record r;
  r.time = 1'764'888'840'123;  // 2025-12-04T22:54:00.123Z
  r.event = Event::deliver;
  r.queue_id = "000000000000002A";
  r.sender = "alice@example.org";
  r.recipients = {"bob@example.com"};
  r.direction = "outbound";
  r.hop = "smarthost-a";
  r.remote = "10.0.0.7:25";
  r.reply = "250 2.0.0 Ok: queued as X";
  r.attempt = 2;
  r.latency_ms = 1500;
  return r;
}

TEST(TrackingRecord, FormatsOneLineWithOnlyThePresentFields) {
  EXPECT_EQ(format_record(delivered()),
            "{\"time\":\"2025-12-04T22:54:00.123Z\",\"event\":\"deliver\",\"queue_id\":\"000000000000002A\","
            "\"sender\":\"alice@example.org\",\"recipients\":[\"bob@example.com\"],\"direction\":\"outbound\","
            "\"hop\":\"smarthost-a\",\"remote\":\"10.0.0.7:25\",\"reply\":\"250 2.0.0 Ok: queued as X\","
            "\"attempt\":2,\"latency_ms\":1500}\n");
}

TEST(TrackingRecord, NullSenderIsWrittenAsEmpty) {
  Record r;
  r.event = Event::queue;
  r.sender = "";
  EXPECT_NE(format_record(r).find("\"sender\":\"\""), std::string::npos);
  Record none;
  EXPECT_EQ(format_record(none).find("sender"), std::string::npos);
}

TEST(TrackingRecord, ReadsBackWhatItWrote) {
  Record r = delivered();
  r.message_id = "abc@host";
  r.client = "192.0.2.1";
  r.helo = "mx.example.org";
  r.tls_protocol = "TLSv1.3";
  r.tls_cipher = "TLS_AES_256_GCM_SHA384";
  r.size = 1234;
  r.recipients.push_back("carol@example.net");
  const auto back = parse_record(format_record(r));
  ASSERT_TRUE(back);
  EXPECT_EQ(format_record(*back), format_record(r));
}

TEST(TrackingRecord, ClientTextCannotBreakTheLine) {
  Record r;
  r.event = Event::reject;
  r.helo = "evil\r\n{\"event\":\"deliver\"}\"\\";
  r.sender = std::string("a\xff\xfe@b");  // not UTF-8
  const std::string line = format_record(r);
  EXPECT_EQ(line.find('\n'), line.size() - 1);
  EXPECT_EQ(line.find('\r'), std::string::npos);
  const auto back = parse_record(line);
  ASSERT_TRUE(back);
  EXPECT_EQ(back->helo, r.helo);
  EXPECT_EQ(back->event, Event::reject);
  EXPECT_EQ(*back->sender, "a\xef\xbf\xbd\xef\xbf\xbd@b");
}

TEST(TrackingRecord, RefusesCutAndForeignLines) {
  const std::string line = format_record(delivered());
  EXPECT_FALSE(parse_record(line.substr(0, line.size() / 2)));
  EXPECT_FALSE(parse_record("hello"));
  EXPECT_FALSE(parse_record("{\"event\":\"deliver\"}"));  // no time
  EXPECT_FALSE(parse_record("{\"time\":\"2025-12-04T00:00:00.000Z\",\"event\":\"teleport\"}"));
}

TEST(TrackingRecord, IgnoresUnknownKeys) {
  const auto r = parse_record(
      "{\"time\":\"2025-12-04T00:00:00.000Z\",\"event\":\"queue\",\"future\":[\"x\",1],\"n\":3,\"queue_id\":\"Q\"}");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->queue_id, "Q");
}

TEST(TrackingRecord, EveryEventNameRoundTrips) {
  for (std::size_t i = 0; i < static_cast<std::size_t>(Event::count_); ++i) {
    const auto e = static_cast<Event>(i);
    EXPECT_EQ(event_from_string(to_string(e)), e);
  }
  EXPECT_EQ(to_string(Event::del), "delete");
}

TEST(TrackingRecord, TimeRoundTrips) {
  EXPECT_EQ(format_time(0), "1970-01-01T00:00:00.000Z");
  EXPECT_EQ(parse_time("2025-12-04T22:54:00.123Z"), 1'764'888'840'123);
  EXPECT_EQ(parse_time("2025-12-04"), 1'764'806'400'000);
  EXPECT_EQ(parse_time("2025-12-04 22:54:00"), 1'764'888'840'000);
  EXPECT_FALSE(parse_time("2025-13-04"));
  EXPECT_FALSE(parse_time("yesterday"));
}

}  // namespace
}  // namespace relay::tracking

#include "relay/tracking/message_id.hpp"

namespace relay::tracking {
namespace {

TEST(TrackingMessageId, FoundInTheHeaderSectionOnly) {
  EXPECT_EQ(message_id_of("Received: from x\r\nmessage-ID:  <abc@host.example>\r\nSubject: s\r\n\r\nbody"),
            "abc@host.example");
  EXPECT_EQ(message_id_of("Subject: s\r\nMessage-ID:\r\n <folded@host>\r\n\r\n"), "folded@host");
  EXPECT_EQ(message_id_of("Subject: s\r\n\r\nMessage-ID: <in-body@host>\r\n"), "");
  EXPECT_EQ(message_id_of("X-Message-ID: <other@host>\r\n\r\n"), "");
}

}  // namespace
}  // namespace relay::tracking
