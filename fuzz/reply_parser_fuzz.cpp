// fuzz/reply_parser_fuzz.cpp — libFuzzer target; the body is fuzz::reply_parser in fuzz_entries.cpp.
#ifdef HUBRELAY_FUZZER
#include "fuzz/fuzz_entries.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  return fuzz::reply_parser(data, size);
}
#endif
