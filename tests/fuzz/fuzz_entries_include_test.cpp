// tests/fuzz/fuzz_entries_include_test.cpp — compiles the fuzz entry bodies into relay_tests.
#include "fuzz/fuzz_entries.cpp"
