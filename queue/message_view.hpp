// queue/message_view.hpp — a queued message as an administrator sees it.
//
// Owns: the plain view types AdminStore::list/show return (MessageView with its
// RecipientView and AttemptView rows), separate from the SQLite store so the pure
// formatting of `hubrelay queue` and the admin queue API (relay/admin/queue_format) can
// use them without linking SQLite.
// Never: opens a database, reads a clock or prints. Threading: plain values.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "conf/config.hpp"
#include "queue/message.hpp"

namespace queue {

struct RecipientView {
  std::int32_t index = 0;
  std::string address;
  RecipientState state = RecipientState::pending;
  std::uint32_t attempts = 0;
  UnixMillis next_attempt = 0;
  bool leased = false;                   // a delivery is in progress
  std::string last_reply;
  std::string hop;
  UnixMillis updated_at = 0;             // 0: unknown
  std::string parameters;                // RCPT parameters (DSN NOTIFY/ORCPT), "" if none
  std::string parked_on;                 // route waited on when parked (no usable hop), else ""
  UnixMillis parked_since = 0;           // when that wait began; 0 when not parked
  std::string parked_reason;             // the latest park's text (route, each hop's state), "" if not parked
  // The lease on a shared (PostgreSQL) queue: the node delivering the recipient and until
  // when; past lease_until any node may take it over. "" and 0 on SQLite and when free.
  std::string lease_node;
  UnixMillis lease_until = 0;
};

struct AttemptView {
  std::int32_t index = 0;                // recipient index
  UnixMillis at = 0;
  std::string hop;
  RecipientState state = RecipientState::pending;
  std::string reply;                     // the hop's reply or the fault; for a park: route and hop states
  AttemptKind kind = AttemptKind::delivery;
  std::string address;                   // the hop's address:port, "" if unknown
  std::string tls;                       // what protected the session ("dane TLSv1.3 ..."), "" if unknown
};

struct MessageView {
  MessageId id = 0;
  conf::Direction direction = conf::Direction::inbound;
  std::string listener;
  std::string client_address;
  std::string helo;
  std::string sender;
  std::string mail_parameters;
  UnixMillis received_at = 0;
  std::uint64_t size = 0;
  bool held = false;
  bool has_body = false;
  std::vector<RecipientView> recipients;
  std::vector<AttemptView> attempts;     // only filled by show()
  std::string_view state() const noexcept;  // queue/queue_query.hpp message_state()
};

}  // namespace queue
