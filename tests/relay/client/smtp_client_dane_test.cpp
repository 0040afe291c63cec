// tests/relay/client/smtp_client_dane_test.cpp — with TLSA records (DANE) a hop that does
// not offer STARTTLS is a TLS fault before anything but EHLO is sent (RFC 7672 §2.2: the
// offer may have been stripped); the same hop without records is plaintext, tls=none.
// A scripted server on 127.0.0.1 that offers no STARTTLS records the commands it got.
#include <gtest/gtest.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <string>
#include <vector>

#include "relay/client/smtp_client.hpp"

namespace relay {
namespace {

namespace asio = boost::asio;
using asio::ip::tcp;

// Greets, answers EHLO without STARTTLS and every other command with 250 until the peer
// closes; each command line goes to `commands`.
asio::awaitable<void> plain_server(tcp::acceptor& acceptor, std::vector<std::string>& commands) {
  tcp::socket socket = co_await acceptor.async_accept(asio::use_awaitable);
  std::string in;
  std::string chunk(1024, '\0');
  co_await asio::async_write(socket, asio::buffer(std::string("220 plain ESMTP\r\n")), asio::use_awaitable);
  for (;;) {
    const std::size_t eol = in.find("\r\n");
    if (eol == std::string::npos) {
      auto [ec, n] = co_await socket.async_read_some(asio::buffer(chunk), asio::as_tuple(asio::use_awaitable));
      if (ec) co_return;
      in.append(chunk.data(), n);
      continue;
    }
    commands.push_back(in.substr(0, eol));
    in.erase(0, eol + 2);
    const std::string reply = commands.back().starts_with("EHLO") ? "250-plain\r\n250 PIPELINING\r\n" : "250 ok\r\n";
    co_await asio::async_write(socket, asio::buffer(reply), asio::use_awaitable);
  }
}

struct Opened {
  Transcript transcript;
  std::string tls_mode;
  std::vector<std::string> commands;
};

Opened open_with(std::vector<routing::TlsaRecord> records) {
  asio::io_context io;
  tcp::acceptor acceptor(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  Opened opened;
  asio::co_spawn(io, plain_server(acceptor, opened.commands), asio::detached);
  ClientSettings settings;
  settings.helo_name = "relay.test";
  settings.tls = conf::TlsPolicy::automatic;
  settings.tls_server_name = "mx.example.com";
  settings.dane_records = std::move(records);
  SmtpClient client(io.get_executor(), settings);
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        std::vector<tcp::endpoint> endpoints{acceptor.local_endpoint()};
        opened.transcript = co_await client.connect(endpoints);
        opened.tls_mode = std::string(client.tls_mode());
        co_await client.quit();
      },
      asio::detached);
  io.run_for(std::chrono::seconds(30));
  return opened;
}

TEST(SmtpClientDane, StartTlsMissingUnderDaneIsATlsFaultAfterEhloOnly) {
  const Opened opened = open_with({routing::TlsaRecord{3, 1, 1, std::vector<std::uint8_t>(32, 1)}});
  ASSERT_TRUE(opened.transcript.fault);
  EXPECT_EQ(opened.transcript.fault->kind, FaultKind::tls_failed);
  EXPECT_EQ(opened.transcript.fault->stage, Stage::starttls);
  EXPECT_NE(opened.transcript.fault->text.find("DANE"), std::string::npos) << opened.transcript.fault->text;
  ASSERT_EQ(opened.commands.size(), 1u);  // no QUIT either: the session is given up
  EXPECT_TRUE(opened.commands[0].starts_with("EHLO"));
}

TEST(SmtpClientDane, WithoutRecordsAutoIsOpportunistic) {
  const Opened opened = open_with({});
  EXPECT_TRUE(opened.transcript.opened());
  EXPECT_EQ(opened.tls_mode, "none");
}

}  // namespace
}  // namespace relay
