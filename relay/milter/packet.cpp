// relay/milter/packet.cpp — milter packet framing (see packet.hpp).
#include "relay/milter/packet.hpp"

namespace relay::milter {

void append_u32(std::string& out, std::uint32_t value) {
  out += static_cast<char>((value >> 24) & 0xff);
  out += static_cast<char>((value >> 16) & 0xff);
  out += static_cast<char>((value >> 8) & 0xff);
  out += static_cast<char>(value & 0xff);
}

void append_cstring(std::string& out, std::string_view text) {
  out.append(text);
  out += '\0';
}

void append_packet(std::string& out, char code, std::string_view data) {
  append_u32(out, static_cast<std::uint32_t>(data.size() + 1));
  out += code;
  out.append(data);
}

std::string encode_packet(char code, std::string_view data) {
  std::string out;
  append_packet(out, code, data);
  return out;
}

std::optional<std::uint32_t> DataCursor::u32() {
  if (data_.size() < 4) return std::nullopt;
  std::uint32_t value = 0;
  for (int i = 0; i < 4; ++i) value = (value << 8) | static_cast<unsigned char>(data_[i]);
  data_.remove_prefix(4);
  return value;
}

std::optional<std::uint16_t> DataCursor::u16() {
  if (data_.size() < 2) return std::nullopt;
  const auto value = static_cast<std::uint16_t>((static_cast<unsigned char>(data_[0]) << 8) |
                                                static_cast<unsigned char>(data_[1]));
  data_.remove_prefix(2);
  return value;
}

std::optional<std::string_view> DataCursor::cstring() {
  const auto nul = data_.find('\0');
  if (nul == std::string_view::npos) return std::nullopt;
  const auto text = data_.substr(0, nul);
  data_.remove_prefix(nul + 1);
  return text;
}

std::optional<std::vector<std::string_view>> split_cstrings(std::string_view data) {
  std::vector<std::string_view> out;
  DataCursor cursor(data);
  while (!cursor.empty()) {
    auto text = cursor.cstring();
    if (!text) return std::nullopt;
    out.push_back(*text);
  }
  return out;
}

std::string_view to_string(FramingError error) noexcept {
  switch (error) {
    case FramingError::empty_packet: return "empty packet";
    case FramingError::oversize_packet: return "oversize packet";
  }
  return "framing error";
}

namespace {
std::uint32_t length_at(std::string_view bytes) {
  DataCursor cursor(bytes);
  return cursor.u32().value_or(0);
}
}  // namespace

std::expected<std::optional<Packet>, FramingError> PacketReader::next() {
  const std::string_view pending = std::string_view(buffer_).substr(offset_);
  if (pending.size() < 4) return std::optional<Packet>{};
  const std::uint32_t length = length_at(pending);
  if (length == 0) return std::unexpected(FramingError::empty_packet);
  if (length > max_size_) return std::unexpected(FramingError::oversize_packet);
  if (pending.size() < 4 + static_cast<std::size_t>(length)) return std::optional<Packet>{};
  Packet packet;
  packet.code = pending[4];
  packet.data.assign(pending.substr(5, length - 1));
  offset_ += 4 + length;
  if (offset_ == buffer_.size()) {
    buffer_.clear();
    offset_ = 0;
  } else if (offset_ > 64 * 1024) {
    buffer_.erase(0, offset_);
    offset_ = 0;
  }
  return std::optional<Packet>{std::move(packet)};
}

std::size_t PacketReader::wanted() const noexcept {
  const std::string_view pending = std::string_view(buffer_).substr(offset_);
  if (pending.size() < 4) return 4 - pending.size();
  const std::size_t total = 4 + static_cast<std::size_t>(length_at(pending));
  return total > pending.size() ? total - pending.size() : 1;
}

}  // namespace relay::milter
