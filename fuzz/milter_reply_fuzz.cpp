// fuzz/milter_reply_fuzz.cpp — libFuzzer target; the body is fuzz::milter_reply in fuzz_entries.cpp.
#ifdef HUBRELAY_FUZZER
#include "fuzz/fuzz_entries.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  return fuzz::milter_reply(data, size);
}
#endif
