// fuzz/esmtp_parameters_fuzz.cpp — libFuzzer target; the body is fuzz::esmtp_parameters in fuzz_entries.cpp.
#ifdef HUBRELAY_FUZZER
#include "fuzz/fuzz_entries.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  return fuzz::esmtp_parameters(data, size);
}
#endif
