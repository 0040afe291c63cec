// relay/cli/dkim_cli.cpp — `hubrelay dkim keygen|check` (see the header).
#include "relay/cli/dkim_cli.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <cerrno>
#include <cstring>
#include <iostream>

#include "conf/load.hpp"
#include "relay/cli/arguments.hpp"
#include "relay/cli/help.hpp"
#include "relay/dkim/dns_record.hpp"
#include "relay/dkim/key_ring.hpp"
#include "routing/dns_resolver.hpp"

namespace relay {
namespace {

namespace asio = boost::asio;

int keygen(const cli::Words& parsed) {
  const auto usage_error = [](const std::string& why) { return cli::usage_error("dkim keygen", why); };
  for (const char* required : {"domain", "selector", "out"})
    if (!parsed.options.contains(required)) return usage_error(std::string("missing --") + required);
  const std::string type = parsed.options.contains("type") ? parsed.options.at("type") : "rsa";
  if (type != "rsa" && type != "ed25519") return usage_error("--type is rsa or ed25519");
  int bits = dkim::min_rsa_bits;
  if (const auto it = parsed.options.find("bits"); it != parsed.options.end()) {
    if (type != "rsa") return usage_error("--bits is for RSA keys");
    bits = std::atoi(it->second.c_str());
    if (bits < dkim::min_rsa_bits || bits > 8192) return usage_error("--bits is 2048 to 8192");
  }
  const auto key = dkim::SigningKey::generate(type == "rsa" ? dkim::Algorithm::rsa_sha256
                                                           : dkim::Algorithm::ed25519_sha256,
                                              bits);
  if (!key) {
    std::cerr << "hubrelay dkim keygen: " << key.error() << "\n";
    return 1;
  }
  // O_EXCL: never replace a key that may be published and in use.
  const std::string& out = parsed.options.at("out");
  const int fd = ::open(out.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) {
    std::cerr << "hubrelay dkim keygen: cannot create " << out << ": " << std::strerror(errno)
              << (errno == EEXIST ? " (an existing key is never overwritten)" : "") << "\n";
    return 1;
  }
  const std::string pem = key->private_pem();
  const bool written = ::write(fd, pem.data(), pem.size()) == static_cast<ssize_t>(pem.size()) && ::fsync(fd) == 0;
  ::close(fd);
  if (!written) {
    std::cerr << "hubrelay dkim keygen: cannot write " << out << ": " << std::strerror(errno) << "\n";
    ::unlink(out.c_str());
    return 1;
  }
  std::cout << dkim::zone_file_record(parsed.options.at("selector"), parsed.options.at("domain"),
                                      key->dns_key_type(), key->dns_public_key())
            << "\n";
  return 0;
}

int check(const std::string& config_path) {
  auto loaded = conf::load_file(config_path);
  std::expected<dkim::SignerPtr, std::vector<conf::Diagnostic>> signer =
      loaded ? dkim::load_signer(**loaded) : std::unexpected(loaded.error());
  if (!signer) {
    for (const auto& d : signer.error()) std::cerr << d.to_string() << "\n";
    return 2;
  }
  if ((*signer)->keys().empty()) {
    std::cout << config_path << ": no [dkim.NAME] keys configured\n";
    return 0;
  }
  asio::io_context io(1);
  int status = 0;
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        routing::DnsResolver resolver(io.get_executor(), (*loaded)->dns);
        for (const auto& k : (*signer)->keys()) {
          const auto& id = k.settings.identity;
          const std::string name = id.selector + "._domainkey." + id.domain;
          auto published = co_await resolver.lookup_txt(name);
          std::cout << "[dkim." << k.settings.name << "] " << name << " (" << k.key.dns_key_type() << "): ";
          if (!published) {
            std::cout << "lookup failed: " << published.error().text << "\n";
            status = 1;
            continue;
          }
          const auto match = dkim::compare_record(*published, k.key.dns_key_type(), k.key.dns_public_key());
          std::cout << dkim::to_string(match) << "\n";
          if (match != dkim::RecordMatch::match) {
            status = 1;
            std::cout << "  publish: "
                      << dkim::zone_file_record(id.selector, id.domain, k.key.dns_key_type(), k.key.dns_public_key())
                      << "\n";
          }
        }
      },
      [&](std::exception_ptr e) {
        if (!e) return;
        try {
          std::rethrow_exception(e);
        } catch (const std::exception& error) {
          std::cerr << "hubrelay dkim check: " << error.what() << "\n";  // c-ares could not start
          status = 1;
        }
      });
  io.run();
  return status;
}

}  // namespace

int dkim_command(const std::vector<std::string>& words, const std::string& default_config) {
  auto parsed = cli::parse_words(words, {.flags = {}, .valued = {"domain", "selector", "type", "bits", "out"}});
  if (!parsed) return cli::usage_error("dkim", parsed.error());
  const auto& positional = parsed->positional;
  const std::string command = positional.empty() ? "" : positional[0];
  if (parsed->help) {
    std::cout << *cli::help_for(command == "keygen" || command == "check" ? "dkim " + command : "dkim");
    return 0;
  }
  if (command != "keygen" && command != "check")
    return cli::usage_error("dkim", command.empty() ? "missing command (keygen or check)"
                                                    : "unknown dkim command '" + command + "'");
  if (positional.size() > 1) return cli::usage_error("dkim " + command, "unexpected argument '" + positional[1] + "'");
  if (command == "keygen") return keygen(*parsed);
  if (!parsed->options.empty()) return cli::usage_error("dkim check", "takes only --config");
  return check(parsed->config.value_or(default_config));
}

}  // namespace relay
