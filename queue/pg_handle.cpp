// queue/pg_handle.cpp — libpq handles and parameter arrays.
#include "queue/pg_handle.hpp"

#include <charconv>

namespace queue {

bool PgResult::ok() const noexcept {
  const ExecStatusType s = status();
  return result_ != nullptr && (s == PGRES_COMMAND_OK || s == PGRES_TUPLES_OK);
}

std::string_view PgResult::sqlstate() const noexcept {
  const char* state = result_ ? PQresultErrorField(result_.get(), PG_DIAG_SQLSTATE) : nullptr;
  return state != nullptr ? std::string_view(state) : std::string_view();
}

std::string PgResult::message() const {
  if (!result_) return "no result (out of memory or no connection)";
  const char* text = PQresultErrorMessage(result_.get());
  std::string out = text != nullptr ? text : "";
  while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) out.pop_back();
  return out;
}

std::int64_t PgResult::int64(int row, int column) const noexcept {
  const std::string_view t = text(row, column);
  std::int64_t value = 0;
  std::from_chars(t.data(), t.data() + t.size(), value);
  return value;
}

std::string_view PgResult::text(int row, int column) const noexcept {
  return {PQgetvalue(result_.get(), row, column),
          static_cast<std::size_t>(PQgetlength(result_.get(), row, column))};
}

std::int64_t PgResult::affected() const noexcept {
  const char* t = PQcmdTuples(result_.get());
  std::int64_t value = 0;
  if (t != nullptr) std::from_chars(t, t + std::char_traits<char>::length(t), value);
  return value;
}

PgParams& PgParams::int64(std::int64_t value) { return text(std::to_string(value)); }

PgParams& PgParams::text(std::string_view value) {
  const std::string& kept = storage_.emplace_back(value);  // libpq wants it NUL-terminated
  values_.push_back(kept.c_str());
  lengths_.push_back(static_cast<int>(kept.size()));
  formats_.push_back(0);
  return *this;
}

namespace {

// Length of the valid UTF-8 sequence at `in[i]`, or 0 (RFC 3629: no overlong forms, no
// surrogates, nothing above U+10FFFF; NUL counts as invalid here).
std::size_t utf8_sequence(std::string_view in, std::size_t i) noexcept {
  const auto byte = [&](std::size_t k) { return static_cast<unsigned char>(in[i + k]); };
  const unsigned char lead = byte(0);
  if (lead == 0) return 0;
  if (lead < 0x80) return 1;
  const std::size_t length = lead >= 0xC2 && lead <= 0xDF ? 2 : lead >= 0xE0 && lead <= 0xEF ? 3
                             : lead >= 0xF0 && lead <= 0xF4 ? 4 : 0;
  if (length == 0 || i + length > in.size()) return 0;
  for (std::size_t k = 1; k < length; ++k) {
    if ((byte(k) >> 6) != 0x2) return 0;
  }
  const unsigned char second = byte(1);
  if ((lead == 0xE0 && second < 0xA0) || (lead == 0xED && second >= 0xA0) || (lead == 0xF0 && second < 0x90) ||
      (lead == 0xF4 && second >= 0x90)) {
    return 0;
  }
  return length;
}

}  // namespace

PgParams& PgParams::display_text(std::string_view value) {
  std::string out(value);
  for (std::size_t i = 0; i < out.size();) {
    const std::size_t length = utf8_sequence(out, i);
    if (length == 0) {
      out[i++] = '?';
    } else {
      i += length;
    }
  }
  return text(out);
}

PgParams& PgParams::null() {
  values_.push_back(nullptr);
  lengths_.push_back(0);
  formats_.push_back(0);
  return *this;
}

PgParams& PgParams::bytes(std::string_view value) {
  values_.push_back(value.data());
  lengths_.push_back(static_cast<int>(value.size()));
  formats_.push_back(1);
  return *this;
}

PgResult exec_prepared(PGconn* connection, const char* name, const PgParams& params, bool binary_result) {
  return PgResult(PQexecPrepared(connection, name, params.count(), params.values(), params.lengths(),
                                 params.formats(), binary_result ? 1 : 0));
}

PgResult exec(PGconn* connection, const char* sql) { return PgResult(PQexec(connection, sql)); }

}  // namespace queue
