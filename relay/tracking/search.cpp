// relay/tracking/search.cpp — index maintenance and the search walk (see the header).
#include "relay/tracking/search.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>

#include "relay/tracking/block_filter.hpp"
#include "relay/tracking/files.hpp"

namespace relay::tracking {
namespace fs = std::filesystem;

namespace {

// Index file: a header, then fixed-size blocks appended in file order.
constexpr char index_magic[8] = {'H', 'R', 'T', 'R', 'K', 'I', 'X', '1'};

struct BlockHead {
  std::uint64_t start = 0;   // byte offset of its first line
  std::uint64_t end = 0;     // one past its last line's newline
  std::int64_t first = 0;    // earliest and latest record time
  std::int64_t last = 0;
  std::uint32_t records = 0;
  std::uint32_t reserved = 0;
};

struct Block {
  BlockHead head;
  BlockFilter filter;
};

constexpr std::size_t header_size = sizeof index_magic + sizeof(std::uint32_t) * 2;
constexpr std::size_t block_size = sizeof(BlockHead) + filter_bytes;

struct Fd {
  int fd = -1;
  explicit Fd(int f) : fd(f) {}
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
};

bool read_at(int fd, std::uint64_t offset, std::size_t size, std::string& out) {
  out.resize(size);
  std::size_t done = 0;
  while (done < size) {
    const ssize_t n = ::pread(fd, out.data() + done, size - done, static_cast<off_t>(offset + done));
    if (n <= 0) {
      if (n < 0 && errno == EINTR) continue;
      out.resize(done);
      return false;
    }
    done += static_cast<std::size_t>(n);
  }
  return true;
}

std::vector<Block> load_index(const fs::path& index_path, std::uint64_t data_size) {
  std::vector<Block> blocks;
  Fd fd(::open(index_path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.fd < 0) return blocks;
  struct stat st {};
  if (::fstat(fd.fd, &st) != 0 || static_cast<std::size_t>(st.st_size) < header_size) return blocks;
  std::string bytes;
  if (!read_at(fd.fd, 0, static_cast<std::size_t>(st.st_size), bytes)) return blocks;
  if (std::memcmp(bytes.data(), index_magic, sizeof index_magic) != 0) return blocks;
  const std::size_t count = (bytes.size() - header_size) / block_size;  // a torn last block is ignored
  blocks.resize(count);
  std::uint64_t expected_start = 0;
  for (std::size_t i = 0; i < count; ++i) {
    const char* at = bytes.data() + header_size + i * block_size;
    std::memcpy(&blocks[i].head, at, sizeof(BlockHead));
    std::memcpy(blocks[i].filter.bits.data(), at + sizeof(BlockHead), filter_bytes);
    // A file that does not continue where the index says (replaced, truncated): rebuild.
    if (blocks[i].head.start != expected_start || blocks[i].head.end > data_size) {
      blocks.resize(i);
      break;
    }
    expected_start = blocks[i].head.end;
  }
  return blocks;
}

// Indexes the whole blocks of `data` (which starts at file offset `offset`); returns the
// new blocks.
std::vector<Block> build_blocks(std::string_view data, std::uint64_t offset) {
  std::vector<Block> blocks;
  std::size_t at = 0;
  for (;;) {
    Block block;
    block.head.start = offset + at;
    std::size_t pos = at;
    std::uint32_t lines = 0;
    block.head.first = INT64_MAX;
    block.head.last = INT64_MIN;
    while (lines < block_records) {
      const auto nl = data.find('\n', pos);
      if (nl == std::string_view::npos) break;
      if (const auto record = parse_record(data.substr(pos, nl - pos))) {
        for (const auto key : record_keys(*record)) block.filter.add(key);
        block.head.first = std::min(block.head.first, record->time);
        block.head.last = std::max(block.head.last, record->time);
      }
      pos = nl + 1;
      ++lines;
    }
    if (lines < block_records) break;  // the tail stays unindexed until it fills a block
    block.head.end = offset + pos;
    block.head.records = lines;
    blocks.push_back(block);
    at = pos;
  }
  return blocks;
}

void append_index(const fs::path& index_path, const std::vector<Block>& existing, const std::vector<Block>& added) {
  // Rewritten whole when it was invalid or absent; appended to otherwise. Written to a
  // temporary name and renamed, so a concurrent search never reads half a block.
  const fs::path temporary = index_path.string() + ".tmp" + std::to_string(::getpid());  // one per searcher
  Fd fd(::open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640));
  if (fd.fd < 0) return;
  std::string bytes(index_magic, sizeof index_magic);
  const std::uint32_t version = 1, filter_size = filter_bytes;
  bytes.append(reinterpret_cast<const char*>(&version), sizeof version);
  bytes.append(reinterpret_cast<const char*>(&filter_size), sizeof filter_size);
  const auto put = [&bytes](const Block& b) {
    bytes.append(reinterpret_cast<const char*>(&b.head), sizeof b.head);
    bytes.append(reinterpret_cast<const char*>(b.filter.bits.data()), filter_bytes);
  };
  for (const auto& b : existing) put(b);
  for (const auto& b : added) put(b);
  if (!write_all(fd.fd, bytes)) {
    fs::remove(temporary);
    return;
  }
  std::error_code ec;
  fs::rename(temporary, index_path, ec);
}

bool block_wanted(const Block& block, const Query& query, const std::vector<std::vector<std::uint64_t>>& keys) {
  if (query.since && block.head.last < *query.since) return false;
  if (query.until && block.head.first >= *query.until) return false;
  for (const auto& any : keys)
    if (std::ranges::none_of(any, [&](std::uint64_t k) { return block.filter.may_contain(k); })) return false;
  return true;
}

void scan(std::string_view data, const Query& query, std::vector<Record>& out, SearchStats& stats) {
  std::size_t pos = 0;
  for (;;) {
    const auto nl = data.find('\n', pos);
    if (nl == std::string_view::npos) break;  // a line still being written
    ++stats.records_parsed;
    if (auto record = parse_record(data.substr(pos, nl - pos)); record && matches(*record, query))
      out.push_back(std::move(*record));
    pos = nl + 1;
  }
}

void search_file(const TrackingFile& file, const Query& query, const SearchOptions& options,
                 const std::vector<std::vector<std::uint64_t>>& keys, std::vector<Record>& out, SearchStats& stats) {
  Fd fd(::open(file.path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.fd < 0) return;
  struct stat st {};
  if (::fstat(fd.fd, &st) != 0) return;
  const auto size = static_cast<std::uint64_t>(st.st_size);
  ++stats.files;
  const fs::path index_path = file.path.string() + ".idx";
  std::vector<Block> blocks = load_index(index_path, size);
  std::uint64_t covered = blocks.empty() ? 0 : blocks.back().head.end;

  // The part after the index: index whole blocks of it now (once), scan the rest.
  std::string tail;
  read_at(fd.fd, covered, static_cast<std::size_t>(size - covered), tail);
  std::vector<Block> added = build_blocks(tail, covered);
  if (!added.empty()) {
    stats.blocks_indexed += added.size();
    if (options.update_indexes) append_index(index_path, blocks, added);
  }
  std::string chunk;
  for (const auto& block : blocks) {
    ++stats.blocks;
    if (!block_wanted(block, query, keys)) continue;
    ++stats.blocks_read;
    if (!read_at(fd.fd, block.head.start, static_cast<std::size_t>(block.head.end - block.head.start), chunk)) continue;
    scan(chunk, query, out, stats);
  }
  // Blocks indexed just now are in memory already: filter them the same way.
  std::uint64_t scanned_to = covered;
  for (const auto& block : added) {
    ++stats.blocks;
    scanned_to = block.head.end;
    if (!block_wanted(block, query, keys)) continue;
    ++stats.blocks_read;
    scan(std::string_view(tail).substr(block.head.start - covered, block.head.end - block.head.start), query, out,
         stats);
  }
  scan(std::string_view(tail).substr(scanned_to - covered), query, out, stats);
}

std::vector<Record> search_pass(const fs::path& dir, const Query& query, const SearchOptions& options,
                                SearchStats& stats) {
  std::vector<Record> out;
  const auto keys = query_keys(query);
  const auto files = list_files(dir);
  for (std::size_t i = 0; i < files.size(); ++i) {
    // A file holds records from its name's day until the next file's: skip whole files
    // outside the time range without opening their indexes.
    if (query.until && static_cast<std::int64_t>(files[i].day) * 86'400'000 >= *query.until) break;
    if (query.since && i + 1 < files.size() &&
        static_cast<std::int64_t>(files[i + 1].day + 1) * 86'400'000 <= *query.since)
      continue;
    search_file(files[i], query, options, keys, out, stats);
  }
  std::ranges::stable_sort(out, {}, &Record::time);
  return out;
}

}  // namespace

std::vector<Record> search(const fs::path& dir, const Query& query, const SearchOptions& options, SearchStats* stats) {
  SearchStats local;
  SearchStats& s = stats ? *stats : local;
  std::vector<Record> found;
  if (!query.message_id.empty() || options.whole_messages) {
    // The message's queue ids first (from its receive/queue records), then its story.
    Query first = query;
    first.events.clear();  // the queue ids come from receive and queue records
    if (!query.message_id.empty()) first.since = first.until = std::nullopt;  // received before the range, maybe
    std::vector<Record> seeds = search_pass(dir, first, options, s);
    Query story;
    if (!options.whole_messages) {
      story = query;
      story.message_id.clear();
      story.queue_ids.clear();
    }
    for (const auto& r : seeds)
      if (!r.queue_id.empty()) story.queue_ids.insert(r.queue_id);
    if (!story.queue_ids.empty()) found = search_pass(dir, story, options, s);
    // Records of the query without a queue id (a refusal before MAIL) stay in.
    for (auto& r : seeds)
      if (r.queue_id.empty() && matches(r, query)) found.push_back(std::move(r));
    std::ranges::stable_sort(found, {}, &Record::time);
  } else {
    found = search_pass(dir, query, options, s);
  }
  if (options.limit > 0 && found.size() > options.limit)
    found.erase(found.begin(), found.end() - static_cast<std::ptrdiff_t>(options.limit));
  return found;
}

}  // namespace relay::tracking
