// tests/relay/dkim/sign_tool.cpp — signs one message with relay/dkim, for the independent
// verifiers (verify_signatures.py runs python3-dkim and Mail::DKIM over the output).
//
//   dkim_sign_tool keygen rsa|ed25519 OUT   writes a key, prints its DNS record's p= value
//   dkim_sign_tool sign [--chunk N] KEY:DOMAIN:SELECTOR:C[:oversign] ... < message > signed
//
// The message is read whole, its header section split at the first empty line; the body is
// fed to the hasher N octets at a time (default 7: CR LF pairs and whitespace runs straddle
// chunks), as a session feeds it while the data streams in. The signed message (the new
// fields, then the message unchanged) goes to standard output. C is the c= value.
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <iterator>
#include <sstream>
#include <string>
#include <vector>

#include "relay/dkim/signer.hpp"

using namespace relay::dkim;

namespace {

std::vector<std::string> split(const std::string& text, char separator) {
  std::vector<std::string> out;
  std::stringstream in(text);
  for (std::string part; std::getline(in, part, separator);) out.push_back(part);
  return out;
}

int keygen(const std::string& type, const std::string& out) {
  auto key = SigningKey::generate(type == "rsa" ? Algorithm::rsa_sha256 : Algorithm::ed25519_sha256, 2048);
  if (!key) return std::cerr << key.error() << "\n", 1;
  std::ofstream(out) << key->private_pem();
  std::cout << key->dns_public_key() << "\n";
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.size() == 3 && args[0] == "keygen") return keygen(args[1], args[2]);
  if (args.empty() || args[0] != "sign") return std::cerr << "usage: see sign_tool.cpp\n", 2;
  std::size_t chunk = 7;
  std::vector<KeyedSettings> keys;
  for (std::size_t i = 1; i < args.size(); ++i) {
    if (args[i] == "--chunk" && i + 1 < args.size()) {
      chunk = std::stoul(args[++i]);
      continue;
    }
    const auto parts = split(args[i], ':');
    if (parts.size() < 4) return std::cerr << "bad key spec " << args[i] << "\n", 2;
    std::ifstream file(parts[0]);
    const std::string pem((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
    auto key = SigningKey::from_pem(pem);
    if (!key) return std::cerr << parts[0] << ": " << key.error() << "\n", 1;
    SignerSettings settings{.name = parts[2], .identity = {parts[1], parts[2], false}};
    auto canonicalization = parse_canonicalization(parts[3]);
    if (!canonicalization) return std::cerr << canonicalization.error() << "\n", 2;
    settings.canonicalization = *canonicalization;
    if (parts.size() > 4) settings.oversign = split(parts[4], ',');
    keys.push_back({settings, *key});
  }
  const std::string message((std::istreambuf_iterator<char>(std::cin)), std::istreambuf_iterator<char>());
  const auto blank = message.find("\r\n\r\n");
  const std::string headers = blank == std::string::npos ? message : message.substr(0, blank + 2);
  const std::string body = blank == std::string::npos ? std::string{} : message.substr(blank + 4);
  const Signer signer(std::move(keys));
  auto hasher = signer.body_hasher(conf::Direction::outbound);
  for (std::size_t i = 0; i < body.size(); i += chunk) hasher.feed(std::string_view(body).substr(i, chunk));
  const auto now = std::chrono::duration_cast<std::chrono::seconds>(
                       std::chrono::system_clock::now().time_since_epoch()).count();
  const auto result = signer.sign(headers, hasher.finish(), conf::Direction::outbound, now);
  for (const auto& failure : result.failures) std::cerr << failure << "\n";
  std::cout << result.fields << message;
  return result.failures.empty() ? 0 : 1;
}
