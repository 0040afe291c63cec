// relay/cli/admin_cli.cpp — `hubrelay hop` and `hubrelay path` (see the header).
#include "relay/cli/admin_cli.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <iostream>

#include "conf/load.hpp"
#include "health/json_reader.hpp"
#include "health/report.hpp"
#include "relay/cli/arguments.hpp"
#include "relay/cli/help.hpp"

namespace relay {

std::expected<AdminAnswer, std::string> admin_call(const conf::AdminConfig& admin, std::string_view method,
                                                   std::string_view target, std::string_view body) {
  namespace beast = boost::beast;
  namespace http = beast::http;
  const std::string where = admin.listen.address + ":" + std::to_string(admin.listen.port);
  if (!admin.enabled) return std::unexpected("the admin endpoint is off; set [admin] listen = \"127.0.0.1:8025\"");
  try {
    boost::asio::io_context io;
    beast::tcp_stream stream(io);
    stream.expires_after(std::chrono::seconds(10));
    stream.connect(boost::asio::ip::tcp::endpoint(boost::asio::ip::make_address(admin.listen.address), admin.listen.port));
    http::request<http::string_body> request{http::string_to_verb(method), std::string(target), 11};
    request.set(http::field::host, admin.listen.address);
    if (!admin.token.empty()) request.set(http::field::authorization, "Bearer " + admin.token);
    if (!body.empty()) {
      request.set(http::field::content_type, "application/json");
      request.body() = std::string(body);
      request.prepare_payload();
    }
    http::write(stream, request);
    beast::flat_buffer buffer;
    http::response<http::string_body> response;
    http::read(stream, buffer, response);
    return AdminAnswer{static_cast<int>(response.result_int()), response.body()};
  } catch (const boost::system::system_error& e) {
    // what() of a Boost error carries the source location; an operator needs the reason.
    return std::unexpected("cannot reach the daemon's admin endpoint " + where + ": " + e.code().message() +
                           " (is hubrelay running?)");
  } catch (const std::exception& e) {
    return std::unexpected("cannot reach the daemon's admin endpoint " + where + ": " + std::string(e.what()));
  }
}

namespace {

// The "message" of an API error document, or the body as it is.
std::string error_message(const std::string& body) {
  std::string message = body;
  health::JsonReader reader(body);
  reader.object([&](const std::string& key) {
    if (key != "error") return reader.skip_value();
    return reader.object([&](const std::string& inner) {
      if (inner != "message") return reader.skip_value();
      message = reader.string().value_or(body);
      return true;
    });
  });
  return message;
}

}  // namespace

int admin_cli_main(std::string_view noun, const std::vector<std::string>& words, const std::string& default_config) {
  const std::string name(noun);
  const bool hop = noun == "hop";
  const auto at = cli::first_positional(words);
  if (!at) {
    auto parsed = cli::parse_words(words, {});
    if (!parsed) return cli::usage_error(name, parsed.error());
    (parsed->help ? std::cout : std::cerr) << *cli::help_for(name);
    return parsed->help ? 0 : 2;
  }
  const std::string verb = words[*at];
  const bool starts = verb == (hop ? "suspend" : "force");
  if (!starts && verb != (hop ? "resume" : "release")) return cli::usage_error(name, "unknown " + name + " command '" + verb + "'");
  const std::string command = name + " " + verb;
  std::vector<std::string> rest = words;
  rest.erase(rest.begin() + static_cast<std::ptrdiff_t>(*at));
  auto parsed = cli::parse_words(rest, {.flags = {}, .valued = {"for", "reason"}});
  if (!parsed) return cli::usage_error(command, parsed.error());
  if (parsed->help) {
    std::cout << *cli::help_for(command);
    return 0;
  }
  const std::size_t want = starts && !hop ? 2 : 1;  // path force NAME down|up
  if (parsed->positional.size() != want)
    return cli::usage_error(command, want == 2 ? "name the path and the state: down or up" : "name one " + name);
  const auto& options = parsed->options;
  if (starts != options.contains("for"))
    return cli::usage_error(command, starts ? "--for DURATION is required (90s, 30m, 2h, 1d)" : "--for is for " +
                                                  std::string(hop ? "suspend" : "force"));
  std::string body = "{";
  if (starts && !hop) {
    const std::string& state = parsed->positional[1];
    if (state != "down" && state != "up") return cli::usage_error(command, "the state is down or up, not '" + state + "'");
    body += "\"state\":" + health::json_string(state) + ",";
  }
  if (starts) body += "\"duration\":" + health::json_string(options.at("for")) + ",";
  if (const auto reason = options.find("reason"); reason != options.end())
    body += "\"reason\":" + health::json_string(reason->second) + ",";
  if (body.size() > 1) body.pop_back();
  body += "}";

  auto loaded = conf::load_file(parsed->config.value_or(default_config));
  if (!loaded) {
    for (const auto& d : loaded.error()) std::cerr << d.to_string() << "\n";
    return 2;
  }
  // The path segment is a hop or path name from the configuration: [A-Za-z0-9_.-].
  const std::string target = std::string(hop ? "/api/hops/" : "/api/paths/") + parsed->positional[0] + "/" + verb;
  auto answer = admin_call((*loaded)->admin, "POST", target, body);
  if (!answer) {
    std::cerr << "hubrelay " << name << ": " << answer.error() << "\n";
    return 1;
  }
  if (answer->status != 200) {
    std::cerr << "hubrelay " << command << ": " << answer->status << ": " << error_message(answer->body) << "\n";
    return answer->status == 400 ? 2 : 1;
  }
  std::cout << answer->body;
  return 0;
}

}  // namespace relay
