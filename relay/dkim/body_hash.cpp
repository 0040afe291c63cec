// relay/dkim/body_hash.cpp — see body_hash.hpp.
#include "relay/dkim/body_hash.hpp"

#include <openssl/evp.h>

#include "relay/dkim/signing_key.hpp"

namespace relay::dkim {

struct BodyHasher::Stream {
  explicit Stream(Canonicalization c) : canonicalizer(c), context(EVP_MD_CTX_new()) {
    EVP_DigestInit_ex(context, EVP_sha256(), nullptr);
  }
  ~Stream() { EVP_MD_CTX_free(context); }
  Stream(const Stream&) = delete;
  Stream& operator=(const Stream&) = delete;

  BodyCanonicalizer canonicalizer;
  EVP_MD_CTX* context;
};

BodyHasher::BodyHasher(bool simple, bool relaxed) {
  if (simple) streams_[0] = std::make_unique<Stream>(Canonicalization::simple);
  if (relaxed) streams_[1] = std::make_unique<Stream>(Canonicalization::relaxed);
}

BodyHasher::~BodyHasher() = default;
BodyHasher::BodyHasher(BodyHasher&&) noexcept = default;
BodyHasher& BodyHasher::operator=(BodyHasher&&) noexcept = default;

void BodyHasher::feed(std::string_view chunk) {
  for (auto& stream : streams_) {
    if (!stream) continue;
    scratch_.clear();
    stream->canonicalizer.feed(chunk, scratch_);
    EVP_DigestUpdate(stream->context, scratch_.data(), scratch_.size());
  }
}

BodyHashes BodyHasher::finish() {
  BodyHashes hashes;
  for (std::size_t i = 0; i < streams_.size(); ++i) {
    auto& stream = streams_[i];
    if (!stream) continue;
    scratch_.clear();
    stream->canonicalizer.finish(scratch_);
    EVP_DigestUpdate(stream->context, scratch_.data(), scratch_.size());
    std::string digest(32, '\0');
    unsigned int size = 0;
    EVP_DigestFinal_ex(stream->context, reinterpret_cast<unsigned char*>(digest.data()), &size);
    hashes.by_canonicalization[i] = base64(digest);
    stream.reset();
  }
  return hashes;
}

}  // namespace relay::dkim
