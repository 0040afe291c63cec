// relay/tracking/writer.cpp — the writer thread (see the header).
#include "relay/tracking/writer.hpp"

#include <pthread.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <spdlog/spdlog.h>

#include "relay/tracking/files.hpp"

namespace relay::tracking {
namespace fs = std::filesystem;

namespace {

constexpr std::size_t max_pending = 1'000'000;
constexpr auto retention_interval = std::chrono::hours(1);
constexpr auto linger = std::chrono::milliseconds(2);

}  // namespace

UnixMillis now_ms() noexcept {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::expected<std::unique_ptr<Writer>, std::string> Writer::start(WriterOptions options) {
  std::error_code ec;
  fs::create_directories(options.dir, ec);
  if (ec) return std::unexpected("cannot create tracking directory " + options.dir.string() + ": " + ec.message());
  std::unique_ptr<Writer> writer(new Writer(std::move(options)));
  if (!writer->open_current(now_ms()))
    return std::unexpected("cannot open a tracking file in " + writer->options_.dir.string() + ": " +
                           std::strerror(errno));
  writer->thread_ = std::thread([w = writer.get()] { w->run(); });
  return writer;
}

Writer::Writer(WriterOptions options) : options_(std::move(options)) {}

Writer::~Writer() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_one();
  if (thread_.joinable()) thread_.join();
  if (fd_ >= 0) ::close(fd_);
}

void Writer::emit(Record&& record) {
  bool wake = false;
  {
    std::lock_guard lock(mutex_);
    if (pending_.size() >= max_pending) {
      dropped_.fetch_add(1, std::memory_order_relaxed);
      return;
    }
    pending_.push_back(std::move(record));
    wake = sleeping_;
    sleeping_ = false;
  }
  // Only a sleeping writer needs the futex wake; a busy one takes the record with its
  // next batch, so under load emit() makes no system call.
  if (wake) wake_.notify_one();
}

bool Writer::open_current(UnixMillis now) {
  const TrackingFile file = file_for_append(options_.dir, now, options_.max_file_size);
  const int fd = ::open(file.path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
  if (fd < 0) return false;
  struct stat st {};
  ::fstat(fd, &st);
  if (fd_ >= 0) ::close(fd_);
  fd_ = fd;
  current_ = file.path;
  current_day_ = file.day;
  current_sequence_ = file.sequence;
  current_size_ = static_cast<std::uint64_t>(st.st_size);
  return true;
}

void Writer::run() {
  // Named so that top -H, perf and bench/thread_cpu.py tell the threads apart.
  pthread_setname_np(pthread_self(), "hr-tracking");
  std::vector<Record> batch;
  std::string buffer;
  for (;;) {
    {
      std::unique_lock lock(mutex_);
      while (pending_.empty() && !stopping_) {
        sleeping_ = true;
        wake_.wait_for(lock, retention_interval);
        if (std::chrono::steady_clock::now() >= next_retention_) break;
      }
      sleeping_ = false;
      if (!pending_.empty() && !stopping_) {
        // Linger a moment so the records of several messages share one write(2) and
        // the sessions that emit meanwhile need no wake-up: per record, a system call
        // and a futex wake cost more than formatting it.
        lock.unlock();
        std::this_thread::sleep_for(linger);
        lock.lock();
      }
      batch.swap(pending_);
      if (batch.empty() && stopping_) return;
    }
    if (std::chrono::steady_clock::now() >= next_retention_) {
      next_retention_ = std::chrono::steady_clock::now() + retention_interval;
      if (const auto removed = apply_retention(options_.dir, options_.retention, current_))
        spdlog::info("tracking: {} file(s) older than the retention period deleted", removed);
    }
    if (!batch.empty()) write_batch(batch, buffer);
    batch.clear();
  }
}

void Writer::write_batch(std::vector<Record>& batch, std::string& buffer) {
  buffer.clear();
  for (const auto& record : batch) append_record(buffer, record);
  const UnixMillis now = now_ms();
  const bool new_day = day_of(now) != current_day_;
  const bool full = options_.max_file_size > 0 && current_size_ > 0 && current_size_ + buffer.size() > options_.max_file_size;
  if (new_day || full || fd_ < 0) {
    if (!open_current(now)) {
      spdlog::error("tracking: cannot open a file in {}: {}", options_.dir.string(), std::strerror(errno));
    } else if (full && current_size_ > 0) {
      // Another writer (a queue command) took today's last name: move on to the next.
      const auto next = options_.dir / file_name(current_day_, current_sequence_ + 1);
      const int fd = ::open(next.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
      if (fd >= 0) {
        ::close(fd_);
        fd_ = fd;
        current_ = next;
        ++current_sequence_;
        current_size_ = 0;
      }
    }
    next_retention_ = {};  // a rotation is when old files go
  }
  if (fd_ < 0) {
    dropped_.fetch_add(batch.size(), std::memory_order_relaxed);
    return;
  }
  if (auto written = write_all(fd_, buffer); !written) {
    dropped_.fetch_add(batch.size(), std::memory_order_relaxed);
    spdlog::error("tracking: cannot write {}: {}", current_.string(), written.error());
    return;
  }
  current_size_ += buffer.size();
  written_.fetch_add(batch.size(), std::memory_order_relaxed);
}

}  // namespace relay::tracking
