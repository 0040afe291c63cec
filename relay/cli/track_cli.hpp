// relay/cli/track_cli.hpp — `hubrelay track`: search the message tracking records.
//
// Owns: the command's options (--message-id, --sender, --recipient, --queue-id,
// --client, --event, --since, --until, --json, --by-message, --limit, --dir) turned into
// a tracking Query (relay/tracking/query), the search (relay/tracking/search, the same
// function the admin API calls), and the output: one line per event, the records as
// JSON lines, or each message's story. Works whether or not the daemon runs: it reads
// the files in [tracking] dir.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "conf/config.hpp"
#include "queue/admin_store.hpp"

namespace relay {

int track_main(const std::vector<std::string>& words, const std::string& default_config);

}  // namespace relay
