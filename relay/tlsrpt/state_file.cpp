// relay/tlsrpt/state_file.cpp — atomic, fsynced state file (see the header).
#include "relay/tlsrpt/state_file.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

namespace relay::tlsrpt {
namespace {

std::string errno_text(std::string_view doing, const std::string& path) {
  return std::string(doing) + " " + path + ": " + std::strerror(errno);
}

bool write_all(int fd, std::string_view data) {
  while (!data.empty()) {
    const ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    data.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

bool sync(int fd) {
  while (::fsync(fd) != 0)
    if (errno != EINTR) return false;
  return true;
}

}  // namespace

std::expected<void, std::string> save_counts(const std::string& path, const DailyCounts& counts) {
  const std::string temp = path + ".tmp";
  const std::string text = counts.serialize();
  const int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
  if (fd < 0) return std::unexpected(errno_text("cannot create", temp));
  const bool written = write_all(fd, text) && sync(fd);
  const std::string failure = written ? std::string() : errno_text("cannot write", temp);
  ::close(fd);
  if (!written) return std::unexpected(failure);
  if (::rename(temp.c_str(), path.c_str()) != 0) return std::unexpected(errno_text("cannot rename to", path));
  // The rename itself is durable only once the directory is.
  const std::string directory = std::filesystem::path(path).parent_path().string();
  const int dir = ::open(directory.empty() ? "." : directory.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir < 0) return std::unexpected(errno_text("cannot open", directory));
  const bool synced = sync(dir);
  ::close(dir);
  if (!synced) return std::unexpected(errno_text("cannot fsync", directory));
  return {};
}

std::expected<DailyCounts, std::string> load_counts(const std::string& path, CountLimits limits) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return DailyCounts(limits);
    return std::unexpected(errno_text("cannot open", path));
  }
  std::string text;
  char buffer[65536];
  while (true) {
    const ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const std::string failure = errno_text("cannot read", path);
      ::close(fd);
      return std::unexpected(failure);
    }
    if (n == 0) break;
    text.append(buffer, static_cast<std::size_t>(n));
    if (text.size() > state_file_limit) {
      ::close(fd);
      return std::unexpected(path + ": larger than " + std::to_string(state_file_limit) + " bytes");
    }
  }
  ::close(fd);
  auto counts = DailyCounts::parse(text, limits);
  if (!counts) return std::unexpected(path + ": " + counts.error());
  return counts;
}

}  // namespace relay::tlsrpt
