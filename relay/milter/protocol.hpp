// relay/milter/protocol.hpp — the vocabulary of the Sendmail milter protocol, version 6.
//
// Owns: the command and response codes, the action (SMFIF_*) and protocol-step (SMFIP_*)
// bits, the macro stages (SMFIM_*) and the size limits, with the values libmilter's
// mfdef.h/mfapi.h give them, so what travels on the wire is what every filter expects.
// Pure constants; no behaviour.
#pragma once

#include <cstddef>
#include <cstdint>

namespace relay::milter {

inline constexpr std::uint32_t protocol_version = 6;

/// MTA → filter commands (SMFIC_*).
namespace command {
inline constexpr char abort = 'A';
inline constexpr char body = 'B';
inline constexpr char connect = 'C';
inline constexpr char macro = 'D';
inline constexpr char end_of_body = 'E';
inline constexpr char helo = 'H';
inline constexpr char header = 'L';
inline constexpr char mail = 'M';
inline constexpr char end_of_headers = 'N';
inline constexpr char negotiate = 'O';
inline constexpr char quit = 'Q';
inline constexpr char rcpt = 'R';
inline constexpr char data = 'T';
}  // namespace command

/// Filter → MTA responses (SMFIR_*).
namespace response {
inline constexpr char add_rcpt = '+';
inline constexpr char del_rcpt = '-';
inline constexpr char add_rcpt_par = '2';
inline constexpr char shutdown = '4';
inline constexpr char accept = 'a';
inline constexpr char replace_body = 'b';
inline constexpr char continue_ = 'c';
inline constexpr char discard = 'd';
inline constexpr char change_from = 'e';
inline constexpr char connection_fail = 'f';
inline constexpr char add_header = 'h';
inline constexpr char insert_header = 'i';
inline constexpr char set_symbol_list = 'l';
inline constexpr char change_header = 'm';
inline constexpr char progress = 'p';
inline constexpr char quarantine = 'q';
inline constexpr char reject = 'r';
inline constexpr char skip = 's';
inline constexpr char tempfail = 't';
inline constexpr char reply_code = 'y';
}  // namespace response

/// Actions a filter may take (SMFIF_*), requested at negotiation.
namespace action_bit {
inline constexpr std::uint32_t add_headers = 0x001;
inline constexpr std::uint32_t change_body = 0x002;
inline constexpr std::uint32_t add_rcpt = 0x004;
inline constexpr std::uint32_t del_rcpt = 0x008;
inline constexpr std::uint32_t change_headers = 0x010;
inline constexpr std::uint32_t quarantine = 0x020;
inline constexpr std::uint32_t change_from = 0x040;
inline constexpr std::uint32_t add_rcpt_par = 0x080;
inline constexpr std::uint32_t set_symbol_list = 0x100;
inline constexpr std::uint32_t all = 0x1ff;
}  // namespace action_bit

/// Protocol steps a filter may skip or not answer (SMFIP_*).
namespace step_bit {
inline constexpr std::uint32_t no_connect = 0x00000001;
inline constexpr std::uint32_t no_helo = 0x00000002;
inline constexpr std::uint32_t no_mail = 0x00000004;
inline constexpr std::uint32_t no_rcpt = 0x00000008;
inline constexpr std::uint32_t no_body = 0x00000010;
inline constexpr std::uint32_t no_headers = 0x00000020;
inline constexpr std::uint32_t no_eoh = 0x00000040;
inline constexpr std::uint32_t nr_header = 0x00000080;
inline constexpr std::uint32_t no_unknown = 0x00000100;
inline constexpr std::uint32_t no_data = 0x00000200;
inline constexpr std::uint32_t skip = 0x00000400;
inline constexpr std::uint32_t rcpt_rejected = 0x00000800;
inline constexpr std::uint32_t nr_connect = 0x00001000;
inline constexpr std::uint32_t nr_helo = 0x00002000;
inline constexpr std::uint32_t nr_mail = 0x00004000;
inline constexpr std::uint32_t nr_rcpt = 0x00008000;
inline constexpr std::uint32_t nr_data = 0x00010000;
inline constexpr std::uint32_t nr_unknown = 0x00020000;
inline constexpr std::uint32_t nr_eoh = 0x00040000;
inline constexpr std::uint32_t nr_body = 0x00080000;
inline constexpr std::uint32_t header_leading_space = 0x00100000;
/// What this MTA offers: every skip and no-reply step it honours. Not offered: the
/// rejected-recipient and unknown-command steps (never sent), leading-space headers
/// (values travel without the space after the colon) and bigger body chunks.
inline constexpr std::uint32_t offered = no_connect | no_helo | no_mail | no_rcpt | no_body | no_headers | no_eoh |
                                         nr_header | no_unknown | no_data | skip | nr_connect | nr_helo | nr_mail |
                                         nr_rcpt | nr_data | nr_unknown | nr_eoh | nr_body;
}  // namespace step_bit

/// Macro stages (SMFIM_*), the index a filter's symbol list names.
enum class MacroStage : std::uint8_t { connect = 0, helo = 1, mail = 2, rcpt = 3, data = 4, eom = 5, eoh = 6 };
inline constexpr std::size_t macro_stage_count = 7;

/// Largest body chunk sent (MILTER_CHUNK_SIZE).
inline constexpr std::size_t body_chunk_max = 65535;
/// Largest packet accepted from a filter: libmilter's biggest negotiable data size
/// (MDS_1M) plus the command octet. Anything larger is a filter failure.
inline constexpr std::size_t packet_max = 1024 * 1024;

}  // namespace relay::milter
