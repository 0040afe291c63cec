// relay/dkim/signing_plan.hpp — which configured keys sign a message.
//
// Owns: the signing decision for one message. A key signs when the message's single
// RFC 5322 From: domain is the key's d= (or below it, when the key allows subdomains: the
// relaxed DMARC alignment of RFC 7489 §3.1.1) and no DKIM-Signature with the same d= and
// s= is present already (a message relayed twice is not signed twice). Several keys of
// one domain all sign (RSA and Ed25519 side by side, RFC 8463 §1).
// Performs no I/O; pure.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "relay/dkim/header_fields.hpp"

namespace relay::dkim {

struct SignerIdentity {
  std::string domain;    // d=
  std::string selector;  // s=
  bool subdomains = false;
};

enum class PlanNote : unsigned char {
  signing,        // at least one key signs
  no_author,      // no single From: address
  not_aligned,    // no key's domain matches the From: domain
  already_signed  // every matching key's signature is present
};

struct SigningPlan {
  std::vector<std::size_t> keys;  // indices into the identities, in order
  PlanNote note = PlanNote::no_author;
  std::string author_domain;
};

SigningPlan plan_signatures(const std::vector<HeaderField>& fields, const std::vector<SignerIdentity>& identities);

}  // namespace relay::dkim
