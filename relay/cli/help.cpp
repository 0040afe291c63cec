// relay/cli/help.cpp — see help.hpp.
#include "relay/cli/help.hpp"

#include <array>
#include <iostream>
#include <utility>

namespace relay::cli {
namespace {

constexpr const char* config_line =
    "  -c, --config FILE   configuration file (default /etc/hubrelay/hubrelay.toml)\n"
    "  -h, --help          show this help\n";

constexpr std::string_view queue_overview =
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
    "  summary [--json]                    pending mail by recipient domain and age (qshape)\n"
    "\n"
    "The queue commands read and change state_dir/queue.db (or, with [queue] backend =\n"
    "\"postgresql\", the shared database) directly; they work whether the daemon runs or\n"
    "not. `hubrelay queue COMMAND --help` describes one command.\n"
    "Exit status: 0 done, 1 no such message or queue error, 2 usage or configuration error.\n";

constexpr std::string_view alert_test =
    "usage: hubrelay alert test [--config FILE]\n"
    "\n"
    "Queues a test alert mail to [alerts] to; the running daemon delivers it.\n";

// Command path → its help text (without the shared option lines, appended below).
constexpr std::array<std::pair<std::string_view, std::string_view>, 32> texts{{
    {"serve",
     "usage: hubrelay serve [--config FILE]\n"
     "\n"
     "Runs the relay in the foreground until SIGTERM or SIGINT (drain, then stop).\n"
     "SIGHUP re-reads the configuration without dropping sessions.\n"
     "Exit status: 0 stopped cleanly, 1 start-up failure, 2 configuration or usage error.\n"},
    {"check-config",
     "usage: hubrelay check-config [--config FILE]\n"
     "\n"
     "Reads the configuration and prints every problem as FILE:LINE: key: message.\n"
     "Exit status: 0 valid, 2 problems found or usage error.\n"},
    {"version", "usage: hubrelay version | hubrelay --version\n\nPrints the version.\n"},
    {"health",
     "usage: hubrelay health [--json] [--config FILE]\n"
     "\n"
     "Every configured path and hop: state, since when, last runs, ejections.\n"
     "  --json              one JSON document instead of the table\n"},
    {"alert", alert_test},
    {"alert test", alert_test},
    {"hash-password",
     "usage: hubrelay hash-password < PASSWORD-FILE\n"
     "\n"
     "Reads one password line on standard input and prints its PBKDF2-SHA256 hash for\n"
     "[policy.NAME] auth_users. The password is never echoed or logged.\n"},
    {"stats",
     "usage: hubrelay stats [--json] [--config FILE]\n"
     "\n"
     "Per-direction throughput over 1, 5 and 15 minutes and every hop's state (usable,\n"
     "path down, check down, suspended, ejected until ...) with its attempts and failures,\n"
     "asked from the running daemon's admin endpoint ([admin] listen).\n"
     "  --json              print the daemon's /api/status document\n"
     "Exit status: 0 ok, 1 admin endpoint off or unreachable, 2 usage or configuration error.\n"},
    {"route",
     "usage: hubrelay route explain ADDRESS [--direction inbound|outbound] [--from A] [--config FILE]\n"
     "\n"
     "  explain ADDRESS     show the route, hops, tiers, health and try order for ADDRESS\n"},
    {"route explain",
     "usage: hubrelay route explain ADDRESS [--direction inbound|outbound] [--from A] [--config FILE]\n"
     "\n"
     "Shows how mail to ADDRESS would be routed: the matching route and pattern, every hop\n"
     "with its tier, weight and health, the order hops would be tried in, and the outbound\n"
     "TLS policy of each hop (with [dns] dnssec: each host's TLSA state, asked of the resolver).\n"
     "  --direction D       inbound or outbound (default: inferred from accepted_domains)\n"
     "  --from A            also say which DKIM keys would sign mail with From: A\n"
     "Exit status: 0 routed, 1 no route matches, 2 usage or configuration error.\n"},
    {"queue", queue_overview},
    {"queue list",
     "usage: hubrelay queue list [filters] [--json] [--config FILE]\n"
     "\n"
     "Lists queued messages, oldest first.\n"
     "  --state S           queued (default: anything pending), deferred, held, delivered,\n"
     "                      failed, expired, all\n"
     "  --direction D       inbound or outbound\n"
     "  --listener L        received on listener L\n"
     "  --sender TEXT       sender contains TEXT\n"
     "  --recipient TEXT    a recipient contains TEXT\n"
     "  --domain D          a recipient in domain D\n"
     "  --hop H             last tried at hop H\n"
     "  --older AGE         queued longer ago than AGE (90s, 15m, 2h, 3d)\n"
     "  --newer AGE         queued more recently than AGE\n"
     "  --limit N           at most N messages (1..100000)\n"
     "  --offset N          skip the first N\n"
     "  --after ID          only messages after queue id ID (paging)\n"
     "  --json              one JSON object per line\n"},
    {"queue show",
     "usage: hubrelay queue show ID [--json] [--eml | --body] [--config FILE]\n"
     "\n"
     "Envelope, recipients and delivery attempts of one message.\n"
     "  --json              one JSON object\n"
     "  --eml               print the stored message as it would be delivered\n"
     "  --body              print only its body\n"},
    {"queue retry",
     "usage: hubrelay queue retry ID... | --all | --domain D [--config FILE]\n"
     "\n"
     "Makes pending recipients due now.\n"},
    {"queue hold",
     "usage: hubrelay queue hold ID... | --all [--config FILE]\n\nKeeps messages from delivery.\n"},
    {"queue release",
     "usage: hubrelay queue release ID... | --all [--config FILE]\n\nUndoes hold; delivers now.\n"},
    {"queue delete",
     "usage: hubrelay queue delete ID... | --all [--bounce] [--config FILE]\n"
     "\n"
     "Removes messages. --bounce instead fails every pending recipient (5.0.0) so a\n"
     "delivery status notification goes to the sender.\n"},
    {"queue bounce",
     "usage: hubrelay queue bounce ID... [--config FILE]\n"
     "\n"
     "Fails pending recipients now; a delivery status notification goes to the sender.\n"},
    {"queue expire",
     "usage: hubrelay queue expire ID... [--config FILE]\n"
     "\n"
     "Expires pending recipients now; a delivery status notification goes to the sender.\n"},
    {"queue summary",
     "usage: hubrelay queue summary [--json] [--config FILE]\n"
     "\n"
     "Pending mail by recipient domain and age.\n"
     "  --json              one JSON document\n"},
    {"hop",
     "usage: hubrelay hop suspend NAME --for DURATION [--reason TEXT] | hop resume NAME [--config FILE]\n"
     "\n"
     "  suspend NAME --for DURATION   no new connections to the hop until then (90s, 30m,\n"
     "                                2h, 1d; at most 7d); its work goes to other hops or waits\n"
     "  resume NAME                   end the suspension now\n"
     "Asks the running daemon's admin endpoint ([admin] listen, with the token of\n"
     "[admin] token_file): the daemon logs the audit line. A reload or restart ends it.\n"
     "Exit status: 0 done, 1 refused or daemon unreachable, 2 usage or configuration error.\n"},
    {"tls-report",
     "usage: hubrelay tls-report send [--today] [--config FILE]\n"
     "\n"
     "Sends the TLS reports (RFC 8460) of finished days now instead of at [tls_reporting]\n"
     "send_hour; with --today also today's counts so far (counting then starts again).\n"
     "Asks the running daemon's admin endpoint ([admin] listen, with the token of\n"
     "[admin] token_file); prints how many domains are reported on.\n"
     "Exit status: 0 done, 1 refused or daemon unreachable, 2 usage or configuration error.\n"},
    {"hop suspend",
     "usage: hubrelay hop suspend NAME --for DURATION [--reason TEXT] [--config FILE]\n"
     "\n"
     "Suspends a hop of the running daemon for DURATION (Exchange's Suspend-Queue).\n"},
    {"hop resume", "usage: hubrelay hop resume NAME [--reason TEXT] [--config FILE]\n\nEnds a hop's suspension now.\n"},
    {"path",
     "usage: hubrelay path force NAME down|up --for DURATION [--reason TEXT] | path release NAME\n"
     "\n"
     "  force NAME down|up --for DURATION   hold a health path at that state until then\n"
     "                                      (maintenance now: no checks, no alerts)\n"
     "  release NAME                        end it now; the path's checks decide again\n"
     "Asks the running daemon's admin endpoint ([admin] listen, with the token of\n"
     "[admin] token_file). A reload or restart ends it.\n"
     "Exit status: 0 done, 1 refused or daemon unreachable, 2 usage or configuration error.\n"},
    {"path force",
     "usage: hubrelay path force NAME down|up --for DURATION [--reason TEXT] [--config FILE]\n"
     "\n"
     "Forces a health path DOWN or UP for DURATION (a maintenance window, now).\n"},
    {"path release", "usage: hubrelay path release NAME [--reason TEXT] [--config FILE]\n\nEnds a path's force now.\n"},
    {"track",
     "usage: hubrelay track [--message-id ID] [--sender S] [--recipient R] [--queue-id Q]\n"
     "                      [--client IP] [--event E,...] [--since T] [--until T]\n"
     "                      [--by-message] [--json] [--limit N] [--dir DIR] [--config FILE]\n"
     "\n"
     "Searches the message tracking records ([tracking] dir), whether or not the daemon runs.\n"
     "Every criterion given must match; each record is one event of one message.\n"
     "  --message-id ID     the message with this Message-ID (all its events)\n"
     "  --sender S          an address, a domain (example.com) or a pattern (*.example.com);\n"
     "                      <> is the null sender\n"
     "  --recipient R       the same, for any recipient of the record\n"
     "  --queue-id Q        one or more queue ids, comma-separated\n"
     "  --client IP         the sending client's address\n"
     "  --event E           receive, reject, queue, filter, deliver, defer, bounce, expire,\n"
     "                      dsn, hold, release, delete, drop (comma-separated)\n"
     "  --since T, --until T  relative (30m, 2h, 3d, 1w ago) or UTC (2026-12-04T10:00)\n"
     "  --by-message        each message found, with its whole story, grouped\n"
     "  --json              the records as JSON lines (docs/tracking.md)\n"
     "  --limit N           only the N newest records\n"
     "  --dir DIR           search DIR instead of the configured directory\n"},
    {"help", "usage: hubrelay help | hubrelay --help\n"},
    {"dkim",
     "usage: hubrelay dkim keygen|check ...\n"
     "\n"
     "  keygen --domain D --selector S [--type rsa|ed25519] [--bits N] --out FILE\n"
     "                      write a new signing key (mode 0600) and print its DNS record\n"
     "  check               look up each [dkim.NAME] selector's DNS record and compare it\n"
     "                      with the key\n"},
    {"dkim keygen",
     "usage: hubrelay dkim keygen --domain D --selector S [--type rsa|ed25519] [--bits N] --out FILE\n"
     "\n"
     "Writes a new private key to FILE with mode 0600 (never over an existing file) and\n"
     "prints the TXT record to publish at S._domainkey.D.\n"
     "  --type T            rsa (default) or ed25519\n"
     "  --bits N            RSA key size, 2048 (default) to 8192\n"
     "Exit status: 0 written, 1 cannot write, 2 usage error.\n"},
    {"dkim check",
     "usage: hubrelay dkim check [--config FILE]\n"
     "\n"
     "Looks up each configured selector's TXT record through the relay's resolver ([dns])\n"
     "and says whether it matches the key: match, mismatch, revoked or missing.\n"
     "Exit status: 0 every record matches, 1 one does not or a lookup failed, 2 usage or\n"
     "configuration error.\n"},
}};

}  // namespace

std::string main_usage() {
  return "usage: hubrelay COMMAND [options] [--config FILE]\n"
         "\n"
         "commands:\n"
         "  serve          run the relay in the foreground\n"
         "  check-config   validate the configuration, print every problem, exit 2 if any\n"
         "  route explain ADDRESS [--direction inbound|outbound]\n"
         "                 show the route, hops, tiers, health and try order for ADDRESS\n"
         "  health [--json]  every path and hop: state, since when, last runs, ejections\n"
         "  alert test     queue a test alert mail to [alerts] to (the daemon delivers it)\n"
         "  hash-password  read a password on stdin, print its hash for auth_users\n"
         "  dkim ...       keygen (a signing key and its DNS record) | check (the published records)\n"
         "  queue ...      list|show|retry|hold|release|delete|bounce|expire|summary\n"
         "  stats          per-direction throughput over 1, 5 and 15 minutes (needs [admin])\n"
         "  hop suspend|resume NAME   suspend a hop for a duration, or resume it (needs [admin])\n"
         "  path force|release NAME   force a health path DOWN or UP for a duration (needs [admin])\n"
         "  track ...      search the message tracking records (where did the mail from X go?)\n"
         "  tls-report send [--today]  send the TLS reports now (needs [admin])\n"
         "  version        print the version (also --version)\n"
         "\n"
         "`hubrelay COMMAND --help` describes one command.\n"
         "--config FILE defaults to " +
         std::string(default_config) + "\n" +
         "Exit status: 0 ok, 1 operational failure, 2 usage or configuration error.\n";
}

std::optional<std::string> help_for(std::string_view command_path) {
  for (const auto& [path, text] : texts) {
    if (path != command_path) continue;
    std::string out(text);
    out += "\noptions:\n";
    out += config_line;
    return out;
  }
  return std::nullopt;
}

int usage_error(std::string_view command_path, std::string_view why) {
  const std::string path = command_path.empty() ? "" : " " + std::string(command_path);
  std::cerr << "hubrelay" << path << ": " << why << "\n"
            << "Try 'hubrelay" << path << " --help'.\n";
  return 2;
}

}  // namespace relay::cli
