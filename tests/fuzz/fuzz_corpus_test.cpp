// tests/fuzz/fuzz_corpus_test.cpp — replays every seed in fuzz/corpus/<target>/ through
// the fuzz entry functions, so builds without libFuzzer still exercise the corpus and
// the invariants the fuzzers check.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "fuzz/fuzz_entries.hpp"

namespace {

std::vector<std::string> failures;

void record_failure(const char* what) { failures.emplace_back(what); }

struct Target {
  const char* directory;
  int (*entry)(const std::uint8_t*, std::size_t);
};

class FuzzCorpus : public testing::TestWithParam<Target> {};

TEST_P(FuzzCorpus, EverySeedKeepsTheInvariants) {
  const auto dir = std::filesystem::path(HUBRELAY_SOURCE_DIR) / "fuzz" / "corpus" / GetParam().directory;
  ASSERT_TRUE(std::filesystem::is_directory(dir)) << dir;
  fuzz::set_failure_handler(record_failure);
  std::size_t seeds = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (!entry.is_regular_file()) continue;
    std::ifstream file(entry.path(), std::ios::binary);
    const std::string bytes((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
    failures.clear();
    GetParam().entry(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size());
    for (const auto& f : failures) ADD_FAILURE() << entry.path().filename() << ": " << f;
    ++seeds;
  }
  fuzz::set_failure_handler(nullptr);
  EXPECT_GE(seeds, 3u) << "the corpus should hold seeds";
}

INSTANTIATE_TEST_SUITE_P(Relay, FuzzCorpus,
                         testing::Values(Target{"command_parser_fuzz", fuzz::command_parser},
                                         Target{"data_decoder_fuzz", fuzz::data_decoder},
                                         Target{"reply_parser_fuzz", fuzz::reply_parser},
                                         Target{"server_fsm_fuzz", fuzz::server_fsm},
                                         Target{"proxy_protocol_fuzz", fuzz::proxy_protocol},
                                         Target{"esmtp_parameters_fuzz", fuzz::esmtp_parameters},
                                         Target{"milter_reply_fuzz", fuzz::milter_reply}),
                         [](const testing::TestParamInfo<Target>& info) { return std::string(info.param.directory); });

}  // namespace
