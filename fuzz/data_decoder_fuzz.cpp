// fuzz/data_decoder_fuzz.cpp — libFuzzer target; the body is fuzz::data_decoder in fuzz_entries.cpp.
#ifdef HUBRELAY_FUZZER
#include "fuzz/fuzz_entries.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  return fuzz::data_decoder(data, size);
}
#endif
