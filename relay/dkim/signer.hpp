// relay/dkim/signer.hpp — DKIM-Signature fields for a finished message.
//
// Owns: the compiled signing keys of one configuration (settings and loaded key per
// [dkim.NAME]), which body hashes a listener's direction needs, and the signing of one
// message: the plan (signing_plan.hpp), then per key the h= list, the unsigned field, the
// signature and the finished field. The result is the text to prepend to the message
// (one field per signature, CR LF ended) and what was signed, for the counters and the log.
// Thread safety: immutable after construction; sign() runs on the signing pool's threads,
// several at once. Performs no I/O (the keys are loaded by dkim/key_ring).
// Errors: a key that fails to sign is named in Result::failures; the other keys still sign.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "conf/config.hpp"
#include "relay/dkim/body_hash.hpp"
#include "relay/dkim/signing_key.hpp"
#include "relay/dkim/signing_plan.hpp"

namespace relay::dkim {

struct SignerSettings {
  std::string name;  // [dkim.NAME]
  SignerIdentity identity;
  std::vector<std::string> headers;   // empty: default_signed_headers()
  std::vector<std::string> oversign;
  CanonicalizationPair canonicalization;
  std::chrono::seconds expiration{0};  // 0: no x=
  std::vector<conf::Direction> directions{conf::Direction::outbound};
};

struct KeyedSettings {
  SignerSettings settings;
  SigningKey key;
};

class Signer {
 public:
  struct Signature {
    std::string domain;
    std::string selector;
    Algorithm algorithm;
  };
  struct Result {
    std::string fields;  // to prepend to the message
    std::vector<Signature> signatures;
    std::vector<std::string> failures;  // "[dkim.NAME]: why"
    PlanNote note = PlanNote::no_author;
  };

  explicit Signer(std::vector<KeyedSettings> keys);

  /// True when some key signs mail of listeners of `direction`.
  bool signs(conf::Direction direction) const noexcept;
  /// A hasher for the body canonicalizations the keys of `direction` use.
  BodyHasher body_hasher(conf::Direction direction) const;
  /// Signs the message whose header section is `header_section` and whose body hashes are
  /// `body`, at `now` (seconds since the epoch).
  Result sign(std::string_view header_section, const BodyHashes& body, conf::Direction direction,
              std::int64_t now) const;

  /// The keys (indices into keys()) that would sign a message of `direction` with this
  /// header section: the plan alone, no signing; without one, every key of `direction`.
  /// For naming the keys a failure cost.
  std::vector<std::size_t> signing_keys(std::optional<std::string_view> header_section,
                                        conf::Direction direction) const;

  const std::vector<KeyedSettings>& keys() const noexcept { return keys_; }

 private:
  /// The plan for `fields`, its keys as indices into keys_.
  SigningPlan plan(const std::vector<HeaderField>& fields, conf::Direction direction) const;

  std::vector<KeyedSettings> keys_;
};

}  // namespace relay::dkim
