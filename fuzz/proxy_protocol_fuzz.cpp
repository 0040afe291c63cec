// fuzz/proxy_protocol_fuzz.cpp — libFuzzer target; the body is fuzz::proxy_protocol in fuzz_entries.cpp.
#ifdef HUBRELAY_FUZZER
#include "fuzz/fuzz_entries.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  return fuzz::proxy_protocol(data, size);
}
#endif
