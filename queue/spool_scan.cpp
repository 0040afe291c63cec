// queue/spool_scan.cpp — set differences between the spool listing and the database.
#include "queue/spool_scan.hpp"

#include <algorithm>
#include <iterator>

#include "queue/spool_name.hpp"

namespace queue {
namespace {

void normalise(std::vector<std::string>& names) {
  std::erase_if(names, [](const std::string& name) { return !is_spool_name(name); });
  std::ranges::sort(names);
  const auto [first, last] = std::ranges::unique(names);
  names.erase(first, last);
}

}  // namespace

OrphanScan find_orphans(std::vector<std::string> files, std::vector<std::string> known) {
  normalise(files);
  normalise(known);
  OrphanScan scan;
  std::ranges::set_difference(files, known, std::back_inserter(scan.files_without_envelope));
  std::ranges::set_difference(known, files, std::back_inserter(scan.envelopes_without_file));
  return scan;
}

std::expected<OrphanRemoval, std::error_code> remove_orphans(const Spool& spool, std::vector<std::string> known) {
  auto files = spool.list();
  if (!files) return std::unexpected(files.error());
  OrphanRemoval result{.scan = find_orphans(std::move(*files), std::move(known))};
  for (const std::string& name : result.scan.files_without_envelope) {
    if (!spool.remove(name)) ++result.removed;
  }
  return result;
}

}  // namespace queue
