// fuzz/server_fsm_fuzz.cpp — libFuzzer target; the body is fuzz::server_fsm in fuzz_entries.cpp.
#ifdef HUBRELAY_FUZZER
#include "fuzz/fuzz_entries.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  return fuzz::server_fsm(data, size);
}
#endif
