// relay/server/body_spooler.cpp — moving an oversized body from the FSM to its spool file.
#include "relay/server/body_spooler.hpp"

#include <algorithm>

#include "relay/smtp/header_fields.hpp"

namespace relay {

void BodySpooler::drain(std::string& pending, std::uint64_t open_body) {
  if (body_ != 0 && body_ != open_body) {
    writer_.reset();  // the destructor unlinks the file of a body that was not committed
    body_ = 0;
    error_.clear();
  }
  if (open_body == 0) return;
  if (body_ == 0) {
    if (pending.size() <= inline_max_ || spool_ == nullptr) return;
    body_ = open_body;
    // The header section is in the first octets (it ends at the first empty line): its
    // fields, or the first head_max octets when it has no end there.
    HeaderFieldReader fields(pending, LineEnds::crlf, head_max);
    while (fields.next()) {
    }
    head_.assign(pending, 0, fields.section_end() ? fields.fields_end() : std::min(pending.size(), head_max));
    auto created = queue::BodyWriter::create(*spool_);
    if (created) {
      writer_.emplace(std::move(*created));
    } else {
      error_ = created.error();
    }
  }
  // After a failure the octets are dropped: the message is refused at its end.
  if (writer_ && !error_ && !pending.empty()) error_ = writer_->append(pending);
  pending.clear();
}

std::optional<std::expected<queue::FinishedBody, std::error_code>> BodySpooler::finish(std::string& rest) {
  if (body_ == 0) {
    head_.clear();
    return std::nullopt;
  }
  body_ = 0;
  std::optional<queue::BodyWriter> writer = std::exchange(writer_, std::nullopt);
  std::error_code error = std::exchange(error_, {});
  if (!error && !rest.empty()) error = writer->append(rest);
  rest.clear();
  if (error) return std::unexpected(error);  // `writer` unlinks the file
  auto finished = writer->finish();
  if (!finished) return std::unexpected(finished.error());
  return std::move(*finished);
}

}  // namespace relay
