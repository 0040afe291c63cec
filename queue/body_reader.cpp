// queue/body_reader.cpp — chunked pread of a body file, and the whole-body helpers.
#include "queue/body_reader.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

namespace queue {
std::expected<BodyReader, std::error_code> BodyReader::open(const Spool& spool, std::string_view name) {
  auto fd = spool.open_body(name);
  if (!fd) return std::unexpected(fd.error());
  struct stat st {};
  if (::fstat(fd->get(), &st) != 0) return std::unexpected(last_system_error());
  // Advice only; a failure changes nothing but read-ahead.
  static_cast<void>(::posix_fadvise(fd->get(), 0, 0, POSIX_FADV_SEQUENTIAL));
  return BodyReader(std::move(*fd), static_cast<std::uint64_t>(st.st_size));
}

// pread: the position is ours, so rewind() needs no system call and a reader never
// depends on what another descriptor of the same file did.
std::expected<std::size_t, std::error_code> BodyReader::read(std::span<char> buffer) {
  for (;;) {
    const ssize_t n = ::pread(fd_.get(), buffer.data(), buffer.size(), static_cast<off_t>(offset_));
    if (n >= 0) {
      offset_ += static_cast<std::uint64_t>(n);
      return static_cast<std::size_t>(n);
    }
    if (errno != EINTR) return std::unexpected(last_system_error());
  }
}

std::expected<std::string, std::error_code> read_whole_body(const Spool& spool, std::string_view name) {
  auto reader = BodyReader::open(spool, name);
  if (!reader) return std::unexpected(reader.error());
  std::string body(static_cast<std::size_t>(reader->size()), '\0');
  std::size_t filled = 0;
  while (filled < body.size()) {
    auto n = reader->read(std::span(body).subspan(filled));
    if (!n) return std::unexpected(n.error());
    if (*n == 0) break;
    filled += *n;
  }
  body.resize(filled);
  return body;
}

std::expected<std::string, std::error_code> read_header_section(const Spool& spool, std::string_view name,
                                                                std::size_t max_octets) {
  auto reader = BodyReader::open(spool, name);
  if (!reader) return std::unexpected(reader.error());
  return read_header_section(*reader, max_octets);
}

}  // namespace queue
