// relay/tracking/files.cpp — naming, listing, appending and retention (see the header).
#include "relay/tracking/files.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>

namespace relay::tracking {
namespace fs = std::filesystem;

namespace {

constexpr std::string_view prefix = "tracking-";
constexpr std::string_view suffix = ".jsonl";

bool parse_name(std::string_view name, TrackingFile& out) {
  // tracking-YYYYMMDD-NNN.jsonl
  if (!name.starts_with(prefix) || !name.ends_with(suffix)) return false;
  name.remove_prefix(prefix.size());
  name.remove_suffix(suffix.size());
  if (name.size() < 10 || name[8] != '-') return false;
  const auto stamp = name.substr(0, 8);
  int ymd = 0;
  if (std::from_chars(stamp.data(), stamp.data() + 8, ymd).ptr != stamp.data() + 8) return false;
  const auto seq = name.substr(9);
  if (std::from_chars(seq.data(), seq.data() + seq.size(), out.sequence).ptr != seq.data() + seq.size()) return false;
  using namespace std::chrono;
  const year_month_day date{year(ymd / 10000), month(static_cast<unsigned>(ymd / 100 % 100)),
                            day(static_cast<unsigned>(ymd % 100))};
  if (!date.ok()) return false;
  out.day = static_cast<std::int32_t>(sys_days(date).time_since_epoch().count());
  return true;
}

}  // namespace

std::int32_t day_of(UnixMillis time) noexcept {
  return static_cast<std::int32_t>(time >= 0 ? time / 86'400'000 : (time - 86'399'999) / 86'400'000);
}

std::string file_name(std::int32_t day_number, std::uint32_t sequence) {
  using namespace std::chrono;
  const year_month_day date{sys_days(days(day_number))};
  char name[64];
  std::snprintf(name, sizeof name, "tracking-%04d%02u%02u-%03u.jsonl", static_cast<int>(date.year()),
                static_cast<unsigned>(date.month()), static_cast<unsigned>(date.day()), sequence);
  return name;
}

std::vector<TrackingFile> list_files(const fs::path& dir) {
  std::vector<TrackingFile> files;
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    TrackingFile file;
    if (parse_name(it->path().filename().string(), file)) {
      file.path = it->path();
      files.push_back(std::move(file));
    }
  }
  std::ranges::sort(files, [](const TrackingFile& a, const TrackingFile& b) {
    return a.day != b.day ? a.day < b.day : a.sequence < b.sequence;
  });
  return files;
}

TrackingFile file_for_append(const fs::path& dir, UnixMillis now, std::uint64_t max_size) {
  const std::int32_t today = day_of(now);
  std::uint32_t next = 0;
  const auto files = list_files(dir);
  for (auto it = files.rbegin(); it != files.rend(); ++it) {
    if (it->day != today) continue;
    std::error_code ec;
    const auto size = fs::file_size(it->path, ec);
    if (!ec && (max_size == 0 || size < max_size)) return *it;
    next = it->sequence + 1;
    break;
  }
  return {dir / file_name(today, next), today, next};
}

std::expected<void, std::string> write_all(int fd, std::string_view bytes) {
  while (!bytes.empty()) {
    const ssize_t n = ::write(fd, bytes.data(), bytes.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return std::unexpected(std::string(std::strerror(errno)));
    }
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
  return {};
}

std::expected<void, std::string> append_records(const fs::path& dir, const std::vector<Record>& records,
                                                UnixMillis now, std::uint64_t max_size) {
  if (records.empty()) return {};
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return std::unexpected("cannot create " + dir.string() + ": " + ec.message());
  std::string bytes;
  for (const auto& r : records) append_record(bytes, r);
  const auto file = file_for_append(dir, now, max_size);
  const int fd = ::open(file.path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
  if (fd < 0) return std::unexpected("cannot open " + file.path.string() + ": " + std::strerror(errno));
  auto written = write_all(fd, bytes);
  ::close(fd);
  if (!written) return std::unexpected("cannot write " + file.path.string() + ": " + written.error());
  return {};
}

std::size_t apply_retention(const fs::path& dir, std::chrono::hours retention, const fs::path& keep) {
  const auto cutoff = fs::file_time_type::clock::now() - retention;
  std::size_t removed = 0;
  for (const auto& file : list_files(dir)) {
    if (file.path == keep) continue;
    std::error_code ec;
    const auto written = fs::last_write_time(file.path, ec);
    if (ec || written >= cutoff) continue;
    if (fs::remove(file.path, ec)) ++removed;
    fs::path index = file.path;
    index += ".idx";
    fs::remove(index, ec);
  }
  return removed;
}

}  // namespace relay::tracking
