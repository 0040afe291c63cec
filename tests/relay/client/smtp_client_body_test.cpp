// tests/relay/client/smtp_client_body_test.cpp — the client streams a body read in chunks:
// after DATA the octets on the wire equal the whole-body dot-stuffing
// (tests/support/whole_body_stuffing.hpp) byte for byte wherever the chunk borders fall (inside CRLF ".",
// before a leading "."); with CHUNKING it is one "BDAT n LAST" and the raw octets; a
// body that ends before its announced size is a fault, not a short message.
// A scripted SMTP server on 127.0.0.1 records what arrives; no timing is asserted.
#include <gtest/gtest.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <string>
#include <vector>

#include "relay/client/smtp_client.hpp"
#include "tests/support/whole_body_stuffing.hpp"

namespace relay {
namespace {

namespace asio = boost::asio;
using asio::ip::tcp;

// One connection: greets, answers EHLO (PIPELINING, SIZE, CHUNKING if asked), then 250 to
// MAIL/RCPT/RSET, 354 to DATA and 250 after the terminator (the octets between 354 and
// it, terminator included, go to `data`), 250 after BDAT n LAST (command and octets go to
// `data`), 221 to QUIT.
asio::awaitable<void> scripted_server(tcp::acceptor& acceptor, bool chunking, std::string& data) {
  tcp::socket socket = co_await acceptor.async_accept(asio::use_awaitable);
  std::string in;
  std::string chunk(4096, '\0');
  const auto say = [&](std::string text) -> asio::awaitable<void> {
    co_await asio::async_write(socket, asio::buffer(text), asio::use_awaitable);
  };
  const auto more = [&]() -> asio::awaitable<bool> {
    auto [ec, n] = co_await socket.async_read_some(asio::buffer(chunk), asio::as_tuple(asio::use_awaitable));
    if (ec) co_return false;
    in.append(chunk.data(), n);
    co_return true;
  };
  co_await say("220 sink ESMTP\r\n");
  for (;;) {
    const std::size_t eol = in.find("\r\n");
    if (eol == std::string::npos) {
      if (!co_await more()) co_return;
      continue;
    }
    const std::string line = in.substr(0, eol);
    in.erase(0, eol + 2);
    if (line.starts_with("EHLO")) {
      co_await say(std::string("250-sink\r\n250-PIPELINING\r\n") + (chunking ? "250-CHUNKING\r\n" : "") +
                   "250 SIZE 100000000\r\n");
    } else if (line.starts_with("DATA")) {
      co_await say("354 go\r\n");
      std::size_t end = std::string::npos;
      while ((end = ("\r\n" + in).find("\r\n.\r\n")) == std::string::npos) {
        if (!co_await more()) co_return;
      }
      data = in.substr(0, end + 3);  // ("\r\n" + in) shifted the index by 2
      in.erase(0, end + 3);
      co_await say("250 queued\r\n");
    } else if (line.starts_with("BDAT")) {
      const std::size_t size = std::stoul(line.substr(5));
      while (in.size() < size) {
        if (!co_await more()) co_return;
      }
      data = line + "\r\n" + in.substr(0, size);
      in.erase(0, size);
      co_await say("250 queued\r\n");
    } else if (line.starts_with("QUIT")) {
      co_await say("221 bye\r\n");
      co_return;
    } else {
      co_await say("250 ok\r\n");
    }
  }
}

struct Sent {
  Transcript transcript;
  std::string wire;  // what the server received as the message
};

// Sends `body` through SmtpClient, the reader giving at most `step` octets per read and
// announcing `size` (the body's own size unless given).
Sent send_through_client(const std::string& body, std::size_t step, bool chunking,
                         std::optional<std::uint64_t> size = std::nullopt) {
  asio::io_context io;
  tcp::acceptor acceptor(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  Sent sent;
  asio::co_spawn(io, scripted_server(acceptor, chunking, sent.wire), asio::detached);
  ClientSettings settings;
  settings.helo_name = "relay.test";
  settings.command_timeout = std::chrono::seconds(30);
  settings.data_timeout = std::chrono::seconds(30);
  SmtpClient client(io.get_executor(), settings);
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        std::vector<tcp::endpoint> endpoints;
        endpoints.push_back(acceptor.local_endpoint());
        const Transcript greeted = co_await client.connect(endpoints);
        EXPECT_FALSE(greeted.fault) << greeted.fault->text;
        Envelope envelope;
        envelope.sender = "a@example.net";
        envelope.recipients.push_back("b@example.com");
        BodySource source{size.value_or(body.size()),
                          [&body, step, offset = std::size_t{0}](std::span<char> buffer) mutable
                              -> std::expected<std::size_t, std::error_code> {
                            const std::size_t n = std::min({buffer.size(), step, body.size() - offset});
                            std::copy_n(body.data() + offset, n, buffer.data());
                            offset += n;
                            return n;
                          }};
        sent.transcript = co_await client.send(envelope, source);
        co_await client.quit();
      },
      asio::detached);
  io.run_for(std::chrono::seconds(60));
  return sent;
}

const std::vector<std::string>& bodies() {
  static const std::vector<std::string> cases = [] {
    std::vector<std::string> v{
        "",
        ".\r\n",
        ".leading dot\r\nline\r\n..two\r\n.\r\n",
        "Subject: x\r\n\r\nno final line break",
        "a\r\n.\r\n.\r\n\r\n.\r\n",
        "\r\n.\r\n",
    };
    std::string big = "Subject: big\r\n\r\n";
    for (int i = 0; i < 400; ++i) big += (i % 3 == 0 ? "." : "") + std::string(i % 17, 'x') + "\r\n";
    v.push_back(big);
    return v;
  }();
  return cases;
}

TEST(SmtpClientBody, DataStreamEqualsWholeBodyStuffingAtEveryChunking) {
  for (const std::string& body : bodies()) {
    for (const std::size_t step : {std::size_t{1}, std::size_t{2}, std::size_t{3}, std::size_t{5}, std::size_t{1} << 20}) {
      const Sent sent = send_through_client(body, step, false);
      ASSERT_TRUE(sent.transcript.final_reply.has_value()) << "step " << step;
      EXPECT_EQ(sent.transcript.final_reply->code, 250);
      EXPECT_EQ(sent.wire, test_support::whole_body_stuffing(body)) << "step " << step << " body " << body.size();
    }
  }
}

TEST(SmtpClientBody, BdatSendsOneLastChunkRaw) {
  for (const std::string& body : bodies()) {
    if (body.empty()) continue;  // an empty message is not sent with BDAT 0 LAST by a relay
    for (const std::size_t step : {std::size_t{3}, std::size_t{1} << 20}) {
      const Sent sent = send_through_client(body, step, true);
      ASSERT_TRUE(sent.transcript.final_reply.has_value());
      EXPECT_EQ(sent.transcript.final_reply->code, 250);
      EXPECT_EQ(sent.wire, "BDAT " + std::to_string(body.size()) + " LAST\r\n" + body);
    }
  }
}

TEST(SmtpClientBody, ABodyShorterThanItsSizeIsAFault) {
  const Sent sent = send_through_client("short\r\n", 4, false, 100);
  ASSERT_TRUE(sent.transcript.fault.has_value());
  EXPECT_EQ(sent.transcript.fault->kind, FaultKind::io_error);
  EXPECT_FALSE(sent.transcript.final_reply.has_value()) << "the hop must not get a terminator";
}

// REQUIRETLS (RFC 8689 §4.2.1) goes on the MAIL FROM only to a hop that offers it (the
// delivery engine never sends a REQUIRETLS message to one that does not).
TEST(SmtpClientBody, MailCommandCarriesRequireTlsToAHopOfferingIt) {
  relay::Envelope envelope{.sender = "a@b.example"};
  envelope.requiretls = true;
  relay::HopCapabilities capabilities;
  EXPECT_EQ(relay::mail_command(envelope, capabilities, 10), "MAIL FROM:<a@b.example>\r\n");
  capabilities.requiretls = true;
  EXPECT_EQ(relay::mail_command(envelope, capabilities, 10), "MAIL FROM:<a@b.example> REQUIRETLS\r\n");
  envelope.requiretls = false;
  EXPECT_EQ(relay::mail_command(envelope, capabilities, 10), "MAIL FROM:<a@b.example>\r\n");
}

}  // namespace relay

}  // namespace
