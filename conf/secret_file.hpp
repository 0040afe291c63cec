// conf/secret_file.hpp — reading files that hold secrets the configuration names: the
// admin bearer token ([admin] token_file) and the PostgreSQL connection string
// ([queue.postgresql] conninfo_file).
//
// Owns: the permission rule for secret files (refused when others may read or write them,
// as OpenDKIM refuses such key files: a password readable by every local user is already
// lost) and the text rules of each file.
// Errors: an English sentence that names the file and says what to fix. It never contains
// the file's text: a connection string may carry a password.
// Never: logs; keeps the file open.
#pragma once

#include <cstddef>
#include <expected>
#include <string>
#include <string_view>

namespace conf {

/// The whole text of the secret file at `path`, at most `max_bytes`. `what` names it in
/// errors ("token file", "conninfo file"). Refused: missing or unreadable, not a regular
/// file, readable or writable by others, larger than max_bytes.
std::expected<std::string, std::string> read_secret_file(const std::string& path, std::string_view what,
                                                         std::size_t max_bytes);

/// The PostgreSQL connection string in `path`: libpq key=value pairs
/// ("host=pg1,pg2 dbname=hubrelay user=hubrelay password=... target_session_attrs=read-write")
/// or a postgresql:// URI. Lines starting with '#' and blank lines are skipped; the others
/// are joined with one space, so a long key=value string may be split over lines.
/// Refused on top of read_secret_file's rules: no connection string left, control characters.
std::expected<std::string, std::string> read_conninfo_file(const std::string& path);

}  // namespace conf
