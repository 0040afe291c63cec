// relay/dkim/body_hash.hpp — the bh= values, computed while the body streams in.
//
// Owns: a SHA-256 context per body canonicalization the signing keys use (one or both),
// each fed through its BodyCanonicalizer. The session feeds every chunk of the body as it
// passes to the spool; nothing is kept but the hash state and a chunk's canonical output.
// Not thread-safe: one per message, on the session's thread; finish() once, then the
// result may travel to a signing thread.
// Standards: RFC 6376 §3.7 (body hash, without l=).
#pragma once

#include <array>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "relay/dkim/canonicalization.hpp"

using EVP_MD_CTX = struct evp_md_ctx_st;

namespace relay::dkim {

/// bh= by body canonicalization (base64); empty for one that was not computed.
struct BodyHashes {
  std::array<std::string, 2> by_canonicalization;
  const std::string& of(Canonicalization c) const { return by_canonicalization[static_cast<std::size_t>(c)]; }
};

class BodyHasher {
 public:
  /// Computes the hashes `simple` and `relaxed` ask for.
  BodyHasher(bool simple, bool relaxed);
  ~BodyHasher();
  BodyHasher(BodyHasher&&) noexcept;
  BodyHasher& operator=(BodyHasher&&) noexcept;

  void feed(std::string_view chunk);
  BodyHashes finish();

 private:
  struct Stream;
  std::array<std::unique_ptr<Stream>, 2> streams_;
  std::string scratch_;  // one chunk's canonical output, reused
};

}  // namespace relay::dkim
