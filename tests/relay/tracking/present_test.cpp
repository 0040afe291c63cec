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
