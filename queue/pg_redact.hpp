// queue/pg_redact.hpp — libpq's messages made safe for the log: no secret of the conninfo.
//
// Owns: the one rule for any text about the PostgreSQL connection that reaches a log or a
// start-up error. libpq's messages may quote parts of the connection string (a database,
// user or host name, a malformed URI); the administrator's conninfo holds the password.
// Never: touches a connection (pure: text in, text out).
// See also: queue/pg_store.cpp (start-up errors, connection loss and reconnection).
#pragma once

#include <string>

namespace queue {

/// `message` (a libpq error) as one line without the conninfo's secrets: every occurrence
/// of its password (as parsed and as written), any `password=...` value and the password
/// of any URI's userinfo become "********"; line breaks become "; ". A conninfo libpq
/// cannot parse gives a fixed sentence instead (its parse error may quote it).
std::string redact_connection_error(const std::string& conninfo, std::string message);

}  // namespace queue
