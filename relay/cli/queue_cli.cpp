// relay/cli/queue_cli.cpp — the `hubrelay queue ...` and `hubrelay stats` subcommands.
#include "relay/cli/queue_cli.hpp"

#include <pwd.h>
#include <unistd.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <spdlog/spdlog.h>

#include "conf/load.hpp"
#include "queue/admin_store.hpp"
#include "relay/logging.hpp"
#include "relay/delivery/queue_bridge.hpp"
#include "relay/admin/queue_format.hpp"

namespace relay {
namespace {

constexpr const char* queue_usage =
    "usage: hubrelay queue COMMAND [options] [--config FILE]\n"
    "\n"
    "  list [--state S] [--direction inbound|outbound] [--listener L] [--sender TEXT]\n"
    "       [--recipient TEXT] [--domain D] [--hop H] [--older AGE] [--newer AGE]\n"
    "       [--limit N] [--offset N] [--after ID] [--json]\n"
    "         S: queued (default: anything pending), deferred, held, delivered, failed,\n"
    "         expired, all. AGE: 90s, 15m, 2h, 3d. --json: one JSON object per line.\n"
    "  show ID [--json] [--eml | --body]   envelope, recipients, attempts; --eml exports\n"
    "                                      the stored message, --body only its body\n"
    "  retry ID... | --all | --domain D    make pending recipients due now\n"
    "  hold ID... | --all                  keep messages from delivery\n"
    "  release ID... | --all               undo hold, deliver now\n"
    "  delete ID... | --all [--bounce]     remove messages; --bounce instead fails every\n"
    "                                      pending recipient (5.0.0) so a DSN is sent\n"
    "  bounce ID...                        fail pending recipients now (DSN to the sender)\n"
    "  expire ID...                        expire pending recipients now (DSN to the sender)\n"
    "  summary [--json]                    pending mail by recipient domain and age (qshape)\n";

constexpr const char* deleted_reply = "550 5.0.0 deleted by administrator";
constexpr const char* bounced_reply = "550 5.0.0 bounced by administrator";
constexpr const char* expired_reply = "451 4.4.7 expired by administrator";

queue::UnixMillis now_ms() { return unix_now_ms(); }

std::string who() {
  const uid_t uid = getuid();
  std::string name = "?";
  if (const passwd* pw = getpwuid(uid)) name = pw->pw_name;
  return "user=" + name + " uid=" + std::to_string(uid);
}

struct Parsed {
  std::vector<std::string> positional;
  queue_format::Options options;
  bool json = false, all = false, bounce = false, eml = false, body = false;
};

// Flags that take no value; every other --key takes one.
std::expected<Parsed, std::string> parse_words(const std::vector<std::string>& words) {
  Parsed p;
  for (std::size_t i = 0; i < words.size(); ++i) {
    const std::string& w = words[i];
    if (!w.starts_with("--")) {
      p.positional.push_back(w);
      continue;
    }
    std::string key = w.substr(2), value;
    if (const auto eq = key.find('='); eq != std::string::npos) {
      value = key.substr(eq + 1);
      key.erase(eq);
    } else if (key == "json" || key == "all" || key == "bounce" || key == "eml" || key == "body") {
      (key == "json" ? p.json : key == "all" ? p.all : key == "bounce" ? p.bounce : key == "eml" ? p.eml : p.body) = true;
      continue;
    } else if (i + 1 < words.size()) {
      value = words[++i];
    } else {
      return std::unexpected("option --" + key + " needs a value");
    }
    p.options[key] = value;
  }
  return p;
}

std::expected<std::vector<queue::MessageId>, std::string> parse_ids(const std::vector<std::string>& words) {
  std::vector<queue::MessageId> ids;
  for (const auto& w : words) {
    auto id = queue::parse_queue_id(w);
    if (!id) return std::unexpected("'" + w + "' is not a queue id (hexadecimal, as shown by `hubrelay queue list`)");
    ids.push_back(*id);
  }
  return ids;
}

int fail(const std::string& why, int status = 1) {
  std::cerr << "hubrelay queue: " << why << "\n";
  return status;
}

std::string join_ids(const queue::Selection& s) {
  if (s.all) return "all";
  if (!s.domain.empty()) return "domain=" + s.domain;
  std::string out;
  for (auto id : s.ids) out += (out.empty() ? "" : ",") + queue::format_queue_id(id);
  return out;
}

}  // namespace

int queue_cli_main(const std::string& config_path, const std::vector<std::string>& args) {
  if (args.empty() || args[0] == "help" || args[0] == "--help" || args[0] == "-h") {
    (args.empty() ? std::cerr : std::cout) << queue_usage;
    return args.empty() ? 2 : 0;
  }
  const std::string command = args[0];
  auto parsed = parse_words({args.begin() + 1, args.end()});
  if (!parsed) return fail(parsed.error(), 2);
  Parsed& p = *parsed;

  auto loaded = conf::load_file(config_path);
  if (!loaded) {
    for (const auto& d : loaded.error()) std::cerr << d.to_string() << "\n";
    return 2;
  }
  const conf::Config& config = **loaded;
  const std::string db_path = (std::filesystem::path(config.relay.state_dir) / "queue.db").string();

  const bool mutation = command == "retry" || command == "hold" || command == "release" || command == "delete" ||
                        command == "bounce" || command == "expire";
  const bool known = mutation || command == "list" || command == "show" || command == "summary";
  if (!known) return fail("unknown queue command '" + command + "'\n" + queue_usage, 2);

  auto store = queue::AdminStore::open(db_path);
  if (!store) return fail(store.error());
  const auto now = now_ms();

  if (command == "list") {
    if (!p.positional.empty()) return fail("list takes no ids; use `queue show ID`", 1);
    auto filter = queue_format::filter_from(p.options);
    if (!filter) return fail(filter.error());
    auto rows = store->list(*filter, now);
    if (!rows) return fail(rows.error());
    if (!p.json) std::cout << queue_format::list_header();
    for (const auto& m : *rows) std::cout << (p.json ? queue_format::message_json(m, now) + "\n" : queue_format::message_line(m, now));
    if (!p.json) std::cout << rows->size() << " message(s)\n";
    return 0;
  }
  if (command == "show") {
    if (p.positional.size() != 1 || !p.options.empty()) return fail("usage: hubrelay queue show ID [--json] [--eml|--body]", 1);
    auto ids = parse_ids(p.positional);
    if (!ids) return fail(ids.error());
    if (p.eml || p.body) {
      auto body = store->body(ids->front());
      if (!body) return fail(body.error());
      std::string_view out = *body;
      if (p.body) {
        const auto split = out.find("\r\n\r\n");
        out = split == std::string_view::npos ? std::string_view{} : out.substr(split + 4);
      }
      std::cout.write(out.data(), static_cast<std::streamsize>(out.size()));
      return 0;
    }
    auto m = store->show(ids->front());
    if (!m) return fail(m.error());
    std::cout << (p.json ? queue_format::message_json(*m, now) + "\n" : queue_format::show_text(*m, now));
    return 0;
  }
  if (command == "summary") {
    auto inputs = store->summary_inputs();
    if (!inputs) return fail(inputs.error());
    const auto rows = queue::summarize(*inputs, now);
    std::cout << (p.json ? queue_format::summary_json(rows) : queue_format::summary_text(rows));
    return 0;
  }

  // Mutations: one selection, one transaction, one audit line.
  queue::Selection selection;
  auto ids = parse_ids(p.positional);
  if (!ids) return fail(ids.error());
  selection.ids = std::move(*ids);
  selection.all = p.all;
  if (auto it = p.options.find("domain"); it != p.options.end()) {
    if (command != "retry") return fail("--domain is only for retry");
    selection.domain = it->second;
    p.options.erase(it);
  }
  if (!p.options.empty()) return fail("unknown option --" + p.options.begin()->first + " for " + command);
  if (p.bounce && command != "delete") return fail("--bounce is only for delete");
  const int chosen = (selection.ids.empty() ? 0 : 1) + (selection.all ? 1 : 0) + (selection.domain.empty() ? 0 : 1);
  if (chosen != 1) return fail(command + " needs queue ids, --all" + (command == "retry" ? " or --domain D" : "") +
                               " (exactly one of them)");
  if ((command == "bounce" || command == "expire") && selection.all)
    return fail(command + " --all is refused: name the messages (see `queue list`)");

  std::expected<queue::MutationResult, std::string> result;
  std::string action = command;
  if (command == "retry") result = store->retry(selection, now);
  else if (command == "hold") result = store->hold(selection);
  else if (command == "release") result = store->release(selection, now);
  else if (command == "delete" && p.bounce) {
    action = "delete --bounce";
    result = store->finish(selection, queue::RecipientState::failed, deleted_reply, now);
  } else if (command == "delete") result = store->remove(selection);
  else if (command == "bounce") result = store->finish(selection, queue::RecipientState::failed, bounced_reply, now);
  else result = store->finish(selection, queue::RecipientState::expired, expired_reply, now);

  // The audit line goes where the daemon logs, so one file tells the whole story.
  if (auto error = configure_logging(config.log); !error.empty()) std::cerr << "hubrelay queue: " << error << "\n";
  if (spdlog::default_logger()->level() > spdlog::level::info) spdlog::default_logger()->set_level(spdlog::level::info);
  if (!result) {
    spdlog::warn("queue admin {} action=\"{}\" target={} result=refused reason=\"{}\"", who(), action,
                 join_ids(selection), result.error());
    spdlog::default_logger()->flush();
    return fail(result.error());
  }
  spdlog::info("queue admin {} action=\"{}\" target={} messages={} recipients={}", who(), action, join_ids(selection),
               result->messages, result->recipients);
  spdlog::default_logger()->flush();
  std::cout << action << ": " << result->messages << " message(s), " << result->recipients << " recipient(s)\n";
  return 0;
}

namespace {

// The three numbers of "key":[a,b,c] inside the object that follows "direction":{.
std::optional<std::array<double, 3>> rates_of(std::string_view json, std::string_view direction, std::string_view key) {
  const auto object = json.find("\"" + std::string(direction) + "\":{");
  if (object == std::string_view::npos) return std::nullopt;
  const auto at = json.find("\"" + std::string(key) + "\":[", object);
  if (at == std::string_view::npos) return std::nullopt;
  std::array<double, 3> out{};
  const std::string rest(json.substr(at + key.size() + 4, 100));
  if (std::sscanf(rest.c_str(), "%lf,%lf,%lf", &out[0], &out[1], &out[2]) != 3) return std::nullopt;
  return out;
}

}  // namespace

int stats_main(const std::string& config_path, const std::vector<std::string>& args) {
  bool json = false;
  for (const auto& a : args) {
    if (a == "--json") {
      json = true;
    } else {
      std::cerr << "usage: hubrelay stats [--json] [--config FILE]\n";
      return 2;
    }
  }
  auto loaded = conf::load_file(config_path);
  if (!loaded) {
    for (const auto& d : loaded.error()) std::cerr << d.to_string() << "\n";
    return 2;
  }
  const conf::AdminConfig& admin = (*loaded)->admin;
  if (!admin.enabled) {
    std::cerr << "hubrelay stats: the admin endpoint is off; set [admin] listen = \"127.0.0.1:8025\"\n";
    return 1;
  }
  namespace beast = boost::beast;
  namespace http = beast::http;
  try {
    boost::asio::io_context io;
    beast::tcp_stream stream(io);
    stream.expires_after(std::chrono::seconds(10));
    stream.connect(boost::asio::ip::tcp::endpoint(boost::asio::ip::make_address(admin.listen.address), admin.listen.port));
    http::request<http::empty_body> request{http::verb::get, "/api/status", 11};
    request.set(http::field::host, admin.listen.address);
    if (!admin.token.empty()) request.set(http::field::authorization, "Bearer " + admin.token);
    http::write(stream, request);
    beast::flat_buffer buffer;
    http::response<http::string_body> response;
    http::read(stream, buffer, response);
    if (response.result_int() != 200) {
      std::cerr << "hubrelay stats: admin endpoint answered " << response.result_int() << ": " << response.body();
      return 1;
    }
    const std::string& body = response.body();
    if (json) {
      std::cout << body << "\n";
      return 0;
    }
    std::printf("%-10s %-5s %10s %10s %10s   (messages/s)\n", "DIRECTION", "FLOW", "1 min", "5 min", "15 min");
    for (const char* direction : {"inbound", "outbound"}) {
      for (const char* flow : {"in", "out"}) {
        auto r = rates_of(body, direction, std::string("rate_") + flow);
        if (!r) {
          std::cerr << "hubrelay stats: unexpected /api/status document\n";
          return 1;
        }
        std::printf("%-10s %-5s %10.3f %10.3f %10.3f\n", direction, flow, (*r)[0], (*r)[1], (*r)[2]);
      }
    }
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "hubrelay stats: cannot reach the daemon's admin endpoint " << admin.listen.address << ":"
              << admin.listen.port << ": " << e.what() << "\n";
    return 1;
  }
}

}  // namespace relay
