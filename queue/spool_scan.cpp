// queue/spool_scan.cpp — the merge of the spool listing with the database's bodies.
#include "queue/spool_scan.hpp"

#include <algorithm>

#include "queue/spool_name.hpp"

namespace queue {
namespace {

void normalise(std::vector<SpoolEntry>& entries) {
  std::erase_if(entries, [](const SpoolEntry& entry) { return !is_spool_name(entry.name); });
  std::ranges::stable_sort(entries, {}, &SpoolEntry::name);
  const auto [first, last] = std::ranges::unique(entries, {}, &SpoolEntry::name);
  entries.erase(first, last);
}

}  // namespace

// One merge walk over both sorted lists.
OrphanScan find_orphans(std::vector<SpoolEntry> files, std::vector<SpoolEntry> known) {
  normalise(files);
  normalise(known);
  OrphanScan scan;
  auto file = files.begin();
  auto body = known.begin();
  while (file != files.end() || body != known.end()) {
    if (body == known.end() || (file != files.end() && file->name < body->name)) {
      scan.files_without_envelope.push_back(std::move(file++->name));
    } else if (file == files.end() || body->name < file->name) {
      scan.envelopes_without_file.push_back(std::move(body++->name));
    } else {
      if (file->size != body->size) scan.incomplete.push_back(file->name);
      ++file;
      ++body;
    }
  }
  return scan;
}

std::expected<OrphanRemoval, std::error_code> remove_orphans(const Spool& spool, std::vector<SpoolEntry> known) {
  auto files = spool.list();
  if (!files) return std::unexpected(files.error());
  OrphanRemoval result{.scan = find_orphans(std::move(*files), std::move(known))};
  for (const auto* names : {&result.scan.files_without_envelope, &result.scan.incomplete}) {
    for (const std::string& name : *names) {
      if (!spool.remove(name)) ++result.removed;
    }
  }
  return result;
}

}  // namespace queue
