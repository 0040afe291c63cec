// queue/errc.cpp — the "queue" error category: names for queue::errc values.
#include "queue/errc.hpp"

#include <string>

namespace queue {
namespace {

class QueueCategory final : public std::error_category {
 public:
  const char* name() const noexcept override { return "queue"; }

  std::string message(int value) const override {
    switch (static_cast<errc>(value)) {
      case errc::storage_full: return "queue storage is full";
      case errc::io_error: return "queue storage I/O error";
      case errc::busy: return "queue database is busy";
      case errc::corrupt: return "queue database is corrupt";
      case errc::closed: return "queue is shutting down";
      case errc::not_found: return "no such message";
      case errc::internal: return "internal queue error";
      case errc::unavailable: return "queue database server unavailable";
    }
    return "unknown queue error " + std::to_string(value);
  }
};

}  // namespace

const std::error_category& queue_category() noexcept {
  static const QueueCategory category;
  return category;
}

}  // namespace queue
