// fuzz/fuzz_entries.hpp — the bodies of the relay fuzz targets, callable from tests.
//
// Owns: one entry per libFuzzer target (command parser, DATA decoder, reply parser,
// server FSM, milter filter replies). Each feeds the bytes through the real code and
// checks invariants that must hold for any input — above all that splitting the input differently never
// changes the result. The *_fuzz.cpp files wrap them in LLVMFuzzerTestOneInput when
// HUBRELAY_FUZZER is defined; tests/fuzz/fuzz_corpus_test.cpp replays the seed corpus
// (fuzz/corpus/<target>/) through the same functions in every ordinary build.
// Errors: a broken invariant calls the failure handler (default: print and abort, which
// is what libFuzzer needs to record a crash).
#pragma once

#include <cstddef>
#include <cstdint>

namespace fuzz {

int command_parser(const std::uint8_t* data, std::size_t size);
int data_decoder(const std::uint8_t* data, std::size_t size);
int reply_parser(const std::uint8_t* data, std::size_t size);
int server_fsm(const std::uint8_t* data, std::size_t size);
int proxy_protocol(const std::uint8_t* data, std::size_t size);
int esmtp_parameters(const std::uint8_t* data, std::size_t size);  // DSN / SMTPUTF8
int milter_reply(const std::uint8_t* data, std::size_t size);      // a filter's packets

/// Called with a description when an invariant breaks. nullptr restores the default.
using FailureHandler = void (*)(const char* what);
void set_failure_handler(FailureHandler handler) noexcept;

}  // namespace fuzz
