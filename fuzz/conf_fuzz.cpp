// fuzz/conf_fuzz.cpp — libFuzzer target for the configuration loader.
//
// The whole input is a hubrelay.toml text given to conf::load_string. It must never throw,
// crash, hang or recurse without bound (toml11 3.7 alone overflows the stack on deep
// nesting; conf/limits.hpp guards against that), and its answer must be coherent:
// a loaded Config satisfies every cross-reference rule, and a refusal carries at least one
// diagnostic, in line order, within the text.
// fuzz::conf_load is always compiled so tests/conf/conf_fuzz_corpus_test.cpp can replay
// fuzz/corpus/conf_fuzz/ in ordinary builds; LLVMFuzzerTestOneInput only with
// HUBRELAY_FUZZER (fuzz/CMakeLists.txt).
// Errors: a broken invariant calls the failure handler (default: print and abort, which is
// what libFuzzer records as a crash).
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>
#include <string_view>

#include "conf/load.hpp"

namespace fuzz {

using ConfFailureHandler = void (*)(const char* what);

namespace {

ConfFailureHandler conf_failure_handler = nullptr;

void check(bool ok, const char* what) {
  if (ok) return;
  if (conf_failure_handler != nullptr) {
    conf_failure_handler(what);
    return;
  }
  std::fprintf(stderr, "conf fuzz invariant broken: %s\n", what);
  std::abort();
}

void check_config(const conf::Config& c) {
  check(!c.relay.hostname.empty(), "loaded config has a relay.hostname");
  check(!c.relay.state_dir.empty() && c.relay.state_dir.front() == '/',
        "state_dir is resolved to an absolute path");
  check(!c.listeners.empty(), "loaded config has a listener");
  for (const auto& l : c.listeners) {
    check(!l.bind.empty(), "every listener binds somewhere");
    for (const auto& b : l.bind) check(b.port != 0, "bind ports are 1..65535");
    check(c.find_policy(l.policy) != nullptr, "every listener's policy exists");
    check(l.line > 0, "every listener has a source line");
    check(l.max_recipients >= 1 && l.max_connections >= 1 && l.max_errors >= 1,
          "listener counts are at least 1");
  }
  for (const auto& r : c.routes) {
    check(!r.domains.empty() && !r.hops.empty(), "routes have domains and hops");
    for (const auto& h : r.hops) {
      check(c.find_hop(h.hop) != nullptr, "every route hop exists");
      check(h.weight >= 1, "route hop weights are at least 1");
    }
  }
  for (const auto& h : c.hops) check(!h.host.empty() && h.port != 0, "hops have host and port");
  check(!c.queue.retry_schedule.empty(), "the retry schedule is not empty");
  check(c.queue.lifetime.count() >= 1, "the queue lifetime is at least an hour");
}

}  // namespace

void set_conf_failure_handler(ConfFailureHandler handler) noexcept {
  conf_failure_handler = handler;
}

int conf_load(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const std::string file = "fuzz.toml";
  try {
    const auto loaded = conf::load_string(text, file);
    if (loaded) {
      check(*loaded != nullptr, "a loaded config is not null");
      if (*loaded) check_config(**loaded);
      return 0;
    }
    const auto& diagnostics = loaded.error();
    check(!diagnostics.empty(), "a refusal carries a diagnostic");
    const auto lines = static_cast<int>(std::count(text.begin(), text.end(), '\n')) + 1;
    for (std::size_t i = 0; i < diagnostics.size(); ++i) {
      const conf::Diagnostic& d = diagnostics[i];
      check(d.file == file, "diagnostics name the file");
      check(d.line >= 0 && d.line <= lines, "diagnostic lines lie within the text");
      check(!d.message.empty(), "diagnostics have a message");
      check(i == 0 || diagnostics[i - 1].line <= d.line, "diagnostics are sorted by line");
      check(!d.to_string().empty(), "diagnostics format");
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "exception: %s\n", e.what());
    check(false, "load_string threw an exception");
  } catch (...) {
    check(false, "load_string threw something");
  }
  return 0;
}

}  // namespace fuzz

#ifdef HUBRELAY_FUZZER
extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  return fuzz::conf_load(data, size);
}
#endif
