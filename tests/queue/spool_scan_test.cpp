// Tests of queue/spool_scan: the pure comparison of spool files with envelope names,
// and the disk wrapper that deletes files without envelope.
#include "queue/spool_scan.hpp"

#include <gtest/gtest.h>

#include <algorithm>

#include <string>
#include <vector>

#include "queue/body_writer.hpp"
#include "queue/spool_name.hpp"
#include "tests/support/temp_dir.hpp"

namespace queue {
namespace {

using Names = std::vector<std::string>;
using Entries = std::vector<SpoolEntry>;

std::string name(std::uint64_t n) { return format_spool_name(0xabc, n); }
SpoolEntry entry(std::uint64_t n, std::uint64_t size = 100) { return SpoolEntry{name(n), size}; }

TEST(FindOrphans, BothSidesAgree) {
  const auto scan = find_orphans({entry(2), entry(1)}, {entry(1), entry(2)});
  EXPECT_TRUE(scan.files_without_envelope.empty());
  EXPECT_TRUE(scan.envelopes_without_file.empty());
  EXPECT_TRUE(scan.incomplete.empty());
}

TEST(FindOrphans, EmptyInputs) {
  EXPECT_TRUE(find_orphans({}, {}).files_without_envelope.empty());
  EXPECT_EQ(find_orphans({entry(1)}, {}).files_without_envelope, Names{name(1)});
  EXPECT_EQ(find_orphans({}, {entry(1)}).envelopes_without_file, Names{name(1)});
}

TEST(FindOrphans, SortsOutEachDirection) {
  const auto scan = find_orphans({entry(5), entry(1), entry(3), entry(4)}, {entry(2), entry(3), entry(1), entry(6)});
  EXPECT_EQ(scan.files_without_envelope, (Names{name(4), name(5)}));
  EXPECT_EQ(scan.envelopes_without_file, (Names{name(2), name(6)}));
  EXPECT_TRUE(scan.incomplete.empty());
}

// The envelope committed, the body's fdatasync did not finish before the crash: no 250.
TEST(FindOrphans, ASizeMismatchIsIncomplete) {
  const auto scan = find_orphans({entry(1, 0), entry(2, 4096), entry(3, 100)}, {entry(1, 100), entry(2, 100), entry(3)});
  EXPECT_EQ(scan.incomplete, (Names{name(1), name(2)}));
  EXPECT_TRUE(scan.files_without_envelope.empty());
  EXPECT_TRUE(scan.envelopes_without_file.empty());
}

TEST(FindOrphans, IgnoresForeignNamesAndDuplicates) {
  const auto scan = find_orphans({{"README", 1}, entry(1), entry(1), {"..", 0}, entry(7)},
                                 {{"queue.db", 5}, entry(1), entry(1)});
  EXPECT_EQ(scan.files_without_envelope, Names{name(7)});
  EXPECT_TRUE(scan.envelopes_without_file.empty());
  EXPECT_TRUE(scan.incomplete.empty());
}

TEST(RemoveOrphans, DeletesFilesWithoutEnvelopeOnly) {
  test_support::TempDir dir("spool-scan");
  auto spool = Spool::open(dir.path().string(), 7);
  ASSERT_TRUE(spool);
  Entries committed;
  Entries known;
  for (int i = 0; i < 5; ++i) {
    auto writer = BodyWriter::create(**spool);
    ASSERT_TRUE(writer);
    ASSERT_FALSE(writer->append("body"));
    auto body = writer->finish();
    ASSERT_TRUE(body);
    const SpoolEntry stored{body->release(), 4};  // as if the process died here
    if (i % 2 == 0) committed.push_back(stored);  // 0, 2, 4: their COMMIT happened
  }
  known = committed;
  known.back().size = 10;  // 4: committed, but the body is shorter than the envelope says
  committed.pop_back();
  known.push_back(SpoolEntry{format_spool_name(7, 999), 4});  // an envelope whose file is gone
  auto result = remove_orphans(**spool, known);
  ASSERT_TRUE(result.has_value());
  EXPECT_EQ(result->scan.files_without_envelope.size(), 2u);
  EXPECT_EQ(result->scan.incomplete.size(), 1u);
  EXPECT_EQ(result->removed, 3u);
  EXPECT_EQ(result->scan.envelopes_without_file, Names{format_spool_name(7, 999)});
  auto left = (*spool)->list();
  ASSERT_TRUE(left);
  std::ranges::sort(*left, {}, &SpoolEntry::name);
  EXPECT_EQ(*left, committed);
}

}  // namespace
}  // namespace queue
