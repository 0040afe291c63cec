// relay/milter/macros.hpp — the macros a filter is told at each stage, in Postfix's manner.
//
// Owns: the default macro names per stage (connect: j, _, {daemon_name}, {client_addr},
// {client_name}, {client_port}, {if_addr}; HELO: {tls_version}, {cipher}; MAIL: i,
// {auth_type}, {auth_authen}, {mail_addr}; RCPT: {rcpt_addr}; DATA, end of headers and
// end of message: i), parsing a per-milter override ("connect" = "j {client_addr}"),
// and encoding a stage's macro packet from the values the session knows. A filter's own
// symbol list (SMFIR_SETSYMLIST at negotiation) replaces the configured one per stage.
// Pure.
#pragma once

#include <array>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "relay/milter/protocol.hpp"

namespace relay::milter {

/// Macro name (as the filter asks for it: "j", "{client_addr}") → value.
using MacroValues = std::vector<std::pair<std::string, std::string>>;

using MacroLists = std::array<std::vector<std::string>, macro_stage_count>;

MacroLists default_macro_lists();

/// "connect", "helo", "mail", "rcpt", "data", "eoh", "eom" → the stage.
std::optional<MacroStage> macro_stage_from_name(std::string_view name) noexcept;
std::string_view to_string(MacroStage stage) noexcept;

/// Splits a space-separated list of names; nullopt when a name has controls or is unbalanced.
std::optional<std::vector<std::string>> parse_macro_names(std::string_view text);

/// The macro packet ('D', the command it precedes, name/value pairs) for `names`, with the
/// values the session knows (a name without a value is left out); "" when none is known.
std::string macro_packet(char before_command, const std::vector<std::string>& names, const MacroValues& values);

}  // namespace relay::milter
