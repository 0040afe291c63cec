// relay/dkim/signer.cpp — see signer.hpp.
#include "relay/dkim/signer.hpp"

#include <algorithm>

#include "relay/dkim/signature_field.hpp"

namespace relay::dkim {
namespace {

bool serves(const SignerSettings& s, conf::Direction direction) {
  return std::ranges::find(s.directions, direction) != s.directions.end();
}

}  // namespace

Signer::Signer(std::vector<KeyedSettings> keys) : keys_(std::move(keys)) {}

bool Signer::signs(conf::Direction direction) const noexcept {
  return std::ranges::any_of(keys_, [&](const KeyedSettings& k) { return serves(k.settings, direction); });
}

BodyHasher Signer::body_hasher(conf::Direction direction) const {
  bool simple = false;
  bool relaxed = false;
  for (const auto& k : keys_) {
    if (!serves(k.settings, direction)) continue;
    (k.settings.canonicalization.body == Canonicalization::simple ? simple : relaxed) = true;
  }
  return BodyHasher(simple, relaxed);
}

SigningPlan Signer::plan(const std::vector<HeaderField>& fields, conf::Direction direction) const {
  std::vector<SignerIdentity> identities;
  std::vector<std::size_t> index;  // identity → key
  for (std::size_t i = 0; i < keys_.size(); ++i) {
    if (!serves(keys_[i].settings, direction)) continue;
    identities.push_back(keys_[i].settings.identity);
    index.push_back(i);
  }
  SigningPlan planned = plan_signatures(fields, identities);
  for (std::size_t& chosen : planned.keys) chosen = index[chosen];
  return planned;
}

std::vector<std::size_t> Signer::signing_keys(std::optional<std::string_view> header_section,
                                              conf::Direction direction) const {
  if (header_section) return plan(split_header_fields(*header_section), direction).keys;
  std::vector<std::size_t> serving;
  for (std::size_t i = 0; i < keys_.size(); ++i)
    if (serves(keys_[i].settings, direction)) serving.push_back(i);
  return serving;
}

Signer::Result Signer::sign(std::string_view header_section, const BodyHashes& body, conf::Direction direction,
                            std::int64_t now) const {
  Result result;
  const auto fields = split_header_fields(header_section);
  const SigningPlan planned = plan(fields, direction);
  result.note = planned.note;
  for (const std::size_t chosen : planned.keys) {
    const KeyedSettings& k = keys_[chosen];
    const SignerSettings& s = k.settings;
    const std::string& body_hash = body.of(s.canonicalization.body);
    if (body_hash.empty()) {
      result.failures.push_back("[dkim." + s.name + "]: no body hash computed");
      continue;
    }
    SignatureTags tags;
    tags.algorithm = k.key.algorithm();
    tags.canonicalization = s.canonicalization;
    tags.domain = s.identity.domain;
    tags.selector = s.identity.selector;
    tags.timestamp = now;
    if (s.expiration.count() > 0) tags.expiration = now + s.expiration.count();
    tags.headers = signed_header_names(fields, s.headers.empty() ? default_signed_headers() : s.headers, s.oversign);
    tags.body_hash = body_hash;
    const std::string unsigned_field = unsigned_signature_field(tags);
    const auto selected = select_fields(fields, tags.headers);
    auto signature = k.key.sign(signed_data(selected, unsigned_field, s.canonicalization.header));
    if (!signature) {
      result.failures.push_back("[dkim." + s.name + "]: " + signature.error());
      continue;
    }
    result.fields += finished_signature_field(unsigned_field, *signature);
    result.signatures.push_back(Signature{s.identity.domain, s.identity.selector, tags.algorithm});
  }
  return result;
}

}  // namespace relay::dkim
