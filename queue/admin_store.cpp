// queue/admin_store.cpp — the depth figures both AdminStore backends add up the same way.
#include "queue/admin_store.hpp"

#include <algorithm>

namespace queue {
namespace {

std::size_t direction_index(std::int64_t direction) noexcept {
  return static_cast<std::size_t>(direction == static_cast<std::int64_t>(conf::Direction::outbound)
                                      ? conf::Direction::outbound
                                      : conf::Direction::inbound);
}

void add_counts(DepthCounts& into, const DepthRow& row) {
  const auto oldest = [](UnixMillis& into, UnixMillis value) { into = into == 0 ? value : std::min(into, value); };
  if (row.held) {
    into.held_messages += row.messages;
    into.held_recipients += row.recipients;
    oldest(into.oldest_held, row.oldest);
  } else if (row.attempted) {
    into.deferred_messages += row.messages;
    into.deferred_recipients += row.recipients;
    oldest(into.oldest_deferred, row.oldest);
  } else {
    into.queued_messages += row.messages;
    into.queued_recipients += row.recipients;
    oldest(into.oldest_queued, row.oldest);
  }
}

}  // namespace

void add_depth(QueueDepth& depth, const DepthRow& row) {
  add_counts(depth, row);
  add_counts(depth.directions[direction_index(row.direction)], row);
}

void add_depth_bytes(QueueDepth& depth, std::int64_t direction, std::uint64_t bytes) {
  depth.bytes += bytes;
  depth.directions[direction_index(direction)].bytes += bytes;
}

}  // namespace queue
