// queue/stored_body_reader.cpp — chunked reads of an inline or spooled body.
#include "queue/stored_body_reader.hpp"

#include <algorithm>
#include <cstring>

#include "queue/errc.hpp"

namespace queue {

std::expected<StoredBodyReader, std::error_code> StoredBodyReader::open(const Spool* spool, const StoredBody& body) {
  if (body.data) return StoredBodyReader(body.data, std::nullopt, body.data->size());
  if (!body.spooled() || spool == nullptr) return std::unexpected(make_error_code(errc::not_found));
  auto file = BodyReader::open(*spool, body.file);
  if (!file) return std::unexpected(file.error());
  // The envelope's size is the truth: a file of another size lost data (or gained some).
  if (file->size() != body.file_size || body.skip > body.file_size)
    return std::unexpected(make_error_code(errc::io_error));
  file->seek(body.skip);
  return StoredBodyReader(nullptr, std::move(*file), body.size(), body.prefix, body.skip);
}

std::expected<std::size_t, std::error_code> StoredBodyReader::read(std::span<char> buffer) {
  if (data_) {
    const std::size_t n = std::min<std::uint64_t>(buffer.size(), size_ - offset_);
    std::memcpy(buffer.data(), data_->data() + offset_, n);
    offset_ += n;
    return n;
  }
  if (offset_ < prefix_.size()) {  // the fields before the file first
    const std::size_t n = std::min<std::uint64_t>(buffer.size(), prefix_.size() - offset_);
    std::memcpy(buffer.data(), prefix_.data() + offset_, n);
    offset_ += n;
    return n;
  }
  const std::size_t want = std::min<std::uint64_t>(buffer.size(), size_ - offset_);
  if (want == 0) return std::size_t{0};
  auto n = file_->read(buffer.first(want));
  if (!n) return std::unexpected(n.error());
  if (*n == 0) return std::unexpected(make_error_code(errc::io_error));  // shrank under us
  offset_ += *n;
  return *n;
}

void StoredBodyReader::rewind() noexcept {
  offset_ = 0;
  if (file_) file_->seek(skip_);
}

std::expected<std::string, std::error_code> load_stored_body(const Spool* spool, const StoredBody& body) {
  if (body.data) return *body.data;
  auto reader = StoredBodyReader::open(spool, body);
  if (!reader) return std::unexpected(reader.error());
  std::string whole(static_cast<std::size_t>(reader->size()), '\0');
  std::size_t filled = 0;
  while (filled < whole.size()) {
    auto n = reader->read(std::span(whole).subspan(filled));
    if (!n) return std::unexpected(n.error());
    filled += *n;
  }
  return whole;
}

std::expected<std::string, std::error_code> load_stored_header_section(const Spool* spool, const StoredBody& body,
                                                                       std::size_t max_octets) {
  auto reader = StoredBodyReader::open(spool, body);
  if (!reader) return std::unexpected(reader.error());
  return read_header_section(*reader, max_octets);
}

}  // namespace queue
