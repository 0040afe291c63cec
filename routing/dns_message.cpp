// routing/dns_message.cpp — bounds-checked reading of DNS answers (see the header).
#include "routing/dns_message.hpp"

namespace routing {
namespace {

constexpr std::size_t header_size = 12;
constexpr std::uint8_t ad_bit = 0x20;  // in the fourth header octet: RA Z AD CD RCODE

class Reader {
 public:
  explicit Reader(std::span<const std::uint8_t> bytes) : bytes_(bytes) {}
  bool u16(std::size_t at, unsigned& out) const {
    if (at + 2 > bytes_.size()) return false;
    out = static_cast<unsigned>(bytes_[at] << 8 | bytes_[at + 1]);
    return true;
  }
  /// Past a (possibly compressed) name starting at `pos`: a pointer ends the name in two
  /// octets wherever it points, so no loop can come from following it.
  bool skip_name(std::size_t& pos) const {
    for (std::size_t labels = 0; labels < 128; ++labels) {
      if (pos >= bytes_.size()) return false;
      const std::uint8_t length = bytes_[pos];
      if ((length & 0xC0) == 0xC0) {
        pos += 2;
        return pos <= bytes_.size();
      }
      if ((length & 0xC0) != 0) return false;  // the reserved label types
      pos += 1 + length;
      if (length == 0) return pos <= bytes_.size();
    }
    return false;
  }
  std::span<const std::uint8_t> bytes() const { return bytes_; }

 private:
  std::span<const std::uint8_t> bytes_;
};

}  // namespace

bool authentic_data(std::span<const std::uint8_t> message) noexcept {
  return message.size() >= header_size && (message[3] & ad_bit) != 0;
}

void request_authentic_data(std::span<std::uint8_t> query) noexcept {
  if (query.size() >= header_size) query[3] = static_cast<std::uint8_t>(query[3] | ad_bit);
}

std::expected<DnsAnswerFacts, std::string> read_dns_answer(std::span<const std::uint8_t> message) {
  const Reader in(message);
  if (message.size() < header_size) return std::unexpected("DNS answer shorter than its header");
  if ((message[2] & 0x80) == 0) return std::unexpected("not a DNS response (QR clear)");
  DnsAnswerFacts facts;
  facts.rcode = message[3] & 0x0F;
  facts.authentic = (message[3] & ad_bit) != 0;
  unsigned questions = 0, answers = 0;
  (void)in.u16(4, questions);
  (void)in.u16(6, answers);
  std::size_t pos = header_size;
  for (unsigned i = 0; i < questions; ++i) {
    if (!in.skip_name(pos) || pos + 4 > message.size()) return std::unexpected("DNS question runs past the end");
    pos += 4;
  }
  for (unsigned i = 0; i < answers; ++i) {
    unsigned type = 0, klass = 0, length = 0;
    if (!in.skip_name(pos) || !in.u16(pos, type) || !in.u16(pos + 2, klass) || !in.u16(pos + 8, length))
      return std::unexpected("DNS record runs past the end");
    pos += 10;
    if (pos + length > message.size()) return std::unexpected("DNS record data runs past the end");
    // CNAMEs (and their signatures) may precede the records of the question's type.
    if (type == dns_type_tlsa && klass == 1) {
      if (length < 3) return std::unexpected("TLSA record shorter than 3 octets");
      TlsaRecord record{message[pos], message[pos + 1], message[pos + 2], {}};
      record.data.assign(message.begin() + static_cast<std::ptrdiff_t>(pos + 3),
                         message.begin() + static_cast<std::ptrdiff_t>(pos + length));
      facts.tlsa.push_back(std::move(record));
    }
    pos += length;
  }
  return facts;
}

bool usable_for_smtp(const TlsaRecord& record) noexcept {
  if (record.usage != 2 && record.usage != 3) return false;
  if (record.selector > 1) return false;
  switch (record.matching) {
    case 0: return !record.data.empty();
    case 1: return record.data.size() == 32;
    case 2: return record.data.size() == 64;
    default: return false;
  }
}

}  // namespace routing
