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

std::string name(std::uint64_t n) { return format_spool_name(0xabc, n); }

TEST(FindOrphans, BothSidesAgree) {
  const auto scan = find_orphans({name(2), name(1)}, {name(1), name(2)});
  EXPECT_TRUE(scan.files_without_envelope.empty());
  EXPECT_TRUE(scan.envelopes_without_file.empty());
}

TEST(FindOrphans, EmptyInputs) {
  EXPECT_TRUE(find_orphans({}, {}).files_without_envelope.empty());
  EXPECT_EQ(find_orphans({name(1)}, {}).files_without_envelope, Names{name(1)});
  EXPECT_EQ(find_orphans({}, {name(1)}).envelopes_without_file, Names{name(1)});
}

TEST(FindOrphans, SortsOutEachDirection) {
  const auto scan = find_orphans({name(5), name(1), name(3), name(4)}, {name(2), name(3), name(1), name(6)});
  EXPECT_EQ(scan.files_without_envelope, (Names{name(4), name(5)}));
  EXPECT_EQ(scan.envelopes_without_file, (Names{name(2), name(6)}));
}

TEST(FindOrphans, IgnoresForeignNamesAndDuplicates) {
  const auto scan = find_orphans({"README", name(1), name(1), "..", name(7)}, {"queue.db", name(1), name(1)});
  EXPECT_EQ(scan.files_without_envelope, Names{name(7)});
  EXPECT_TRUE(scan.envelopes_without_file.empty());
}

TEST(RemoveOrphans, DeletesFilesWithoutEnvelopeOnly) {
  test_support::TempDir dir("spool-scan");
  auto spool = Spool::open(dir.path().string(), 7);
  ASSERT_TRUE(spool);
  Names committed;
  for (int i = 0; i < 4; ++i) {
    auto writer = BodyWriter::create(**spool);
    ASSERT_TRUE(writer);
    ASSERT_FALSE(writer->append("body"));
    auto body = writer->finish();
    ASSERT_TRUE(body);
    std::string kept = body->release();  // as if the process died before any COMMIT
    if (i % 2 == 0) committed.push_back(kept);
  }
  Names known = committed;
  known.push_back(format_spool_name(7, 999));  // an envelope whose file is gone
  auto result = remove_orphans(**spool, known);
  ASSERT_TRUE(result.has_value());
  EXPECT_EQ(result->scan.files_without_envelope.size(), 2u);
  EXPECT_EQ(result->removed, 2u);
  EXPECT_EQ(result->scan.envelopes_without_file, Names{format_spool_name(7, 999)});
  auto left = (*spool)->list();
  ASSERT_TRUE(left);
  std::ranges::sort(*left);
  std::ranges::sort(committed);
  EXPECT_EQ(*left, committed);
}

}  // namespace
}  // namespace queue
