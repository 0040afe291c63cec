// queue/body_writer.cpp — buffered writes of one body file, abandon and finish.
#include "queue/body_writer.hpp"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <utility>

namespace queue {

// --- FinishedBody -----------------------------------------------------------------------

FinishedBody::~FinishedBody() { remove_file(); }

FinishedBody::FinishedBody(FinishedBody&& other) noexcept
    : spool_(std::exchange(other.spool_, nullptr)),
      name_(std::move(other.name_)),
      size_(other.size_),
      fd_(std::move(other.fd_)),
      directory_ticket_(other.directory_ticket_) {}

FinishedBody& FinishedBody::operator=(FinishedBody&& other) noexcept {
  if (this != &other) {
    remove_file();
    spool_ = std::exchange(other.spool_, nullptr);
    name_ = std::move(other.name_);
    size_ = other.size_;
    fd_ = std::move(other.fd_);
    directory_ticket_ = other.directory_ticket_;
  }
  return *this;
}

std::error_code FinishedBody::sync() noexcept {
  if (!fd_) return {};
  if (auto ec = sync_data()) return ec;
  return sync_name();
}

std::error_code FinishedBody::sync_data() noexcept {
  if (!fd_) return {};
  // fdatasync suffices: the size is data the file's reads depend on, so it is flushed;
  // timestamps are not needed.
  while (::fdatasync(fd_.get()) != 0) {
    if (errno != EINTR) return last_system_error();
  }
  fd_.reset();
  return {};
}

// The name needs the directory's fsync, shared with the other sessions' files created
// meanwhile. Its order against the data's flush does not matter: the envelope is
// acknowledged only when both are done, and a name that reached the disk without its
// data leaves a short file, which recovery treats as never acknowledged.
std::error_code FinishedBody::sync_name() const noexcept {
  if (!needs_name_sync()) return {};
  return spool_->sync_directory_for(directory_ticket_);
}

std::string FinishedBody::release() noexcept {
  spool_ = nullptr;
  fd_.reset();
  return name_;
}

void FinishedBody::remove_file() noexcept {
  fd_.reset();
  if (spool_ != nullptr) static_cast<void>(spool_->remove(name_));
  spool_ = nullptr;
}

// --- BodyWriter -------------------------------------------------------------------------

std::expected<BodyWriter, std::error_code> BodyWriter::create(Spool& spool, std::size_t buffer_size) {
  auto file = spool.create();
  if (!file) return std::unexpected(file.error());
  return BodyWriter(spool, std::move(*file), buffer_size);
}

BodyWriter::BodyWriter(Spool& spool, SpoolFile file, std::size_t buffer_size)
    : spool_(&spool),
      name_(std::move(file.name)),
      fd_(std::move(file.fd)),
      directory_ticket_(file.directory_ticket),
      buffer_size_(buffer_size) {
  buffer_.reserve(buffer_size_);
}

BodyWriter::BodyWriter(BodyWriter&& other) noexcept
    : spool_(std::exchange(other.spool_, nullptr)),
      name_(std::move(other.name_)),
      fd_(std::move(other.fd_)),
      directory_ticket_(other.directory_ticket_),
      buffer_size_(other.buffer_size_),
      buffer_(std::move(other.buffer_)),
      written_(other.written_),
      error_(other.error_) {}

BodyWriter& BodyWriter::operator=(BodyWriter&& other) noexcept {
  if (this != &other) {
    abandon();
    spool_ = std::exchange(other.spool_, nullptr);
    name_ = std::move(other.name_);
    fd_ = std::move(other.fd_);
    directory_ticket_ = other.directory_ticket_;
    buffer_size_ = other.buffer_size_;
    buffer_ = std::move(other.buffer_);
    written_ = other.written_;
    error_ = other.error_;
  }
  return *this;
}

std::error_code BodyWriter::write_out(std::string_view data) {
  if (error_) return error_;
  if (spool_ == nullptr) return error_ = std::make_error_code(std::errc::bad_file_descriptor);
  while (!data.empty()) {
    const ssize_t n = ::write(fd_.get(), data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return error_ = last_system_error();
    }
    written_ += static_cast<std::uint64_t>(n);
    data.remove_prefix(static_cast<std::size_t>(n));
  }
  return {};
}

std::error_code BodyWriter::flush() {
  if (buffer_.empty()) return error_;
  const auto ec = write_out(buffer_);
  buffer_.clear();
  return ec;
}

std::error_code BodyWriter::flush_if_full() { return buffer_.size() >= buffer_size_ ? flush() : error_; }

std::error_code BodyWriter::append(std::string_view data) {
  if (error_) return error_;
  if (spool_ == nullptr) return std::make_error_code(std::errc::bad_file_descriptor);
  if (buffer_.size() + data.size() < buffer_size_) {
    buffer_.append(data);
    return {};
  }
  // Fill the buffer up, write it, then either write the rest straight through (a
  // buffer or more) or keep it.
  const std::size_t fill = buffer_size_ - std::min(buffer_size_, buffer_.size());
  buffer_.append(data.substr(0, fill));
  data.remove_prefix(std::min(fill, data.size()));
  if (auto ec = flush()) return ec;
  if (data.size() >= buffer_size_) return write_out(data);
  buffer_.append(data);
  return {};
}

std::expected<FinishedBody, std::error_code> BodyWriter::finish() {
  if (auto ec = flush()) {
    abandon();
    return std::unexpected(ec);
  }
  if (spool_ == nullptr) return std::unexpected(std::make_error_code(std::errc::bad_file_descriptor));
  FinishedBody body(*spool_, std::move(name_), written_, std::move(fd_), directory_ticket_);
  spool_ = nullptr;
  std::string().swap(buffer_);
  return body;
}

void BodyWriter::abandon() noexcept {
  fd_.reset();
  if (spool_ != nullptr) static_cast<void>(spool_->remove(name_));
  spool_ = nullptr;
  std::string().swap(buffer_);
}

}  // namespace queue
