// queue/spool.cpp — the spool directory: creating it, new body files, directory fsync,
// listing and unlinking.
#include "queue/spool.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "queue/errc.hpp"
#include "queue/spool_name.hpp"

namespace queue {
namespace {

constexpr const char* spool_subdirectory = "spool";
// A clash of names needs two processes with the same 64-bit instance; a few retries
// cover even that, and a bounded loop cannot spin on a persistent EEXIST.
constexpr int create_attempts = 4;

std::string errno_text(const std::string& what, const std::string& path) {
  return what + " " + path + ": " + std::strerror(errno);
}

std::error_code fsync_fd(int fd) noexcept {
  while (::fsync(fd) != 0) {
    if (errno != EINTR) return last_system_error();
  }
  return {};
}

// Names from the database end up in *at() calls: only our own format may, so a damaged
// row can never reach outside the spool ("../queue.db").
std::error_code check_name(std::string_view name) noexcept {
  return is_spool_name(name) ? std::error_code() : std::make_error_code(std::errc::invalid_argument);
}

}  // namespace

std::error_code last_system_error() noexcept { return {errno, std::system_category()}; }

std::error_code to_queue_error(std::error_code ec) noexcept {
  if (!ec || ec.category() == queue_category()) return ec;
  if (ec == std::errc::no_space_on_device || ec.value() == EDQUOT) return errc::storage_full;
  return errc::io_error;
}

std::expected<std::unique_ptr<Spool>, std::string> Spool::open(const std::string& state_dir) {
  std::uint64_t instance = 0;
  if (::getrandom(&instance, sizeof instance, 0) != static_cast<ssize_t>(sizeof instance)) {
    return std::unexpected(std::string("spool: getrandom: ") + std::strerror(errno));
  }
  return open(state_dir, instance);
}

std::expected<std::unique_ptr<Spool>, std::string> Spool::open(const std::string& state_dir,
                                                                 std::uint64_t instance) {
  const std::string path = state_dir + "/" + spool_subdirectory;
  if (::mkdir(path.c_str(), 0700) == 0) {
    // The new directory's own name lives in state_dir: make it durable before any body
    // is acknowledged inside it.
    UniqueFd parent(::open(state_dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!parent || fsync_fd(parent.get())) return std::unexpected(errno_text("spool: fsync", state_dir));
  } else if (errno != EEXIST) {
    return std::unexpected(errno_text("spool: mkdir", path));
  }
  UniqueFd directory(::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!directory) return std::unexpected(errno_text("spool: open", path));
  // Bodies are other people's mail: an existing directory with wider modes is narrowed.
  struct stat st {};
  if (::fstat(directory.get(), &st) != 0) return std::unexpected(errno_text("spool: stat", path));
  if ((st.st_mode & 0077) != 0 && ::fchmod(directory.get(), 0700) != 0) {
    return std::unexpected(errno_text("spool: chmod", path));
  }
  return std::unique_ptr<Spool>(new Spool(path, std::move(directory), instance));
}

std::expected<SpoolFile, std::error_code> Spool::create() {
  for (int attempt = 0; attempt < create_attempts; ++attempt) {
    std::string name = format_spool_name(instance_, sequence_.fetch_add(1, std::memory_order_relaxed));
    const int fd = ::openat(directory_.get(), name.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd >= 0) {
      // Any directory fsync begun from now on covers the new entry.
      std::lock_guard lock(directory_mutex_);
      return SpoolFile{std::move(name), UniqueFd(fd), directory_started_ + 1};
    }
    if (errno != EEXIST) return std::unexpected(last_system_error());
  }
  return std::unexpected(std::make_error_code(std::errc::file_exists));
}

std::error_code Spool::sync_directory() const { return fsync_fd(directory_.get()); }

std::error_code Spool::sync_directory_for(std::uint64_t ticket) const {
  std::unique_lock lock(directory_mutex_);
  while (directory_synced_ < ticket) {
    if (directory_syncing_) {
      directory_synced_cv_.wait(lock);
      continue;
    }
    directory_syncing_ = true;
    const std::uint64_t number = ++directory_started_;
    lock.unlock();
    const std::error_code ec = fsync_fd(directory_.get());
    lock.lock();
    directory_syncing_ = false;
    if (!ec) directory_synced_ = number;  // one at a time: numbers complete in order
    directory_synced_cv_.notify_all();
    if (ec) return ec;
  }
  return {};
}

std::error_code Spool::remove(std::string_view name) const {
  if (auto ec = check_name(name)) return ec;
  const std::string file(name);
  if (::unlinkat(directory_.get(), file.c_str(), 0) != 0 && errno != ENOENT) return last_system_error();
  return {};
}

std::expected<UniqueFd, std::error_code> Spool::open_body(std::string_view name) const {
  if (auto ec = check_name(name)) return std::unexpected(ec);
  const std::string file(name);
  UniqueFd fd(::openat(directory_.get(), file.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return std::unexpected(last_system_error());
  return fd;
}

std::expected<std::vector<SpoolEntry>, std::error_code> Spool::list() const {
  // A fresh descriptor: fdopendir takes ownership of it and the stream has its own offset.
  const int fd = ::openat(directory_.get(), ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return std::unexpected(last_system_error());
  DIR* dir = ::fdopendir(fd);
  if (dir == nullptr) {
    const auto ec = last_system_error();
    ::close(fd);
    return std::unexpected(ec);
  }
  std::vector<SpoolEntry> entries;
  std::error_code ec;
  for (;;) {
    errno = 0;
    const dirent* entry = ::readdir(dir);
    if (entry == nullptr) {
      if (errno != 0) ec = last_system_error();
      break;
    }
    if (!is_spool_name(entry->d_name)) continue;
    struct stat st {};
    if (::fstatat(fd, entry->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
      if (errno == ENOENT) continue;
      ec = last_system_error();
      break;
    }
    if (S_ISREG(st.st_mode)) entries.push_back(SpoolEntry{entry->d_name, static_cast<std::uint64_t>(st.st_size)});
  }
  ::closedir(dir);
  if (ec) return std::unexpected(ec);
  return entries;
}

}  // namespace queue
