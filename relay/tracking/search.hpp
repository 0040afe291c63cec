// relay/tracking/search.hpp — searching the tracking files, with their indexes.
//
// Owns: finding the records of a Query in a tracking directory, for `hubrelay track` and
// the admin API alike (one function, the same answers), whether or not the daemon runs.
// Each tracking file has an index beside it ("….jsonl.idx"): for every block of
// block_records whole lines, its byte range, its first and last time and a Bloom filter
// of its records' keys (relay/tracking/block_filter). A search reads the indexes, skips
// the blocks whose time range or filter rules them out, and parses only the rest plus
// the tail not yet indexed. Indexes are built by the search itself, incrementally (the
// blocks completed since the last search are appended), so the daemon's hot path never
// pays for them; a directory the searcher cannot write gets its index in memory for that
// search only. A Message-ID search finds the message's queue ids first, then every
// record of those ids: delivery records carry the queue id, not the Message-ID.
#pragma once

#include <cstdint>
#include <filesystem>
#include <vector>

#include "relay/tracking/query.hpp"
#include "relay/tracking/record.hpp"

namespace relay::tracking {

struct SearchStats {
  std::uint64_t files = 0;
  std::uint64_t blocks = 0;          // indexed blocks considered
  std::uint64_t blocks_read = 0;     // of which read and parsed
  std::uint64_t records_parsed = 0;
  std::uint64_t blocks_indexed = 0;  // added to the indexes by this search
};

/// The records matching `query`, oldest first.
std::vector<Record> search(const std::filesystem::path& dir, const Query& query, const SearchOptions& options = {},
                           SearchStats* stats = nullptr);

}  // namespace relay::tracking
