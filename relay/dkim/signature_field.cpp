// relay/dkim/signature_field.cpp — see signature_field.hpp.
#include "relay/dkim/signature_field.hpp"

namespace relay::dkim {
namespace {

constexpr std::size_t line_limit = 78;

/// Appends `piece` to the field, starting a continuation line ("\r\n\t") first when the
/// piece would make the current line longer than line_limit. `separator` goes between
/// pieces on one line.
class Folder {
 public:
  explicit Folder(std::string start) : text_(std::move(start)), line_length_(text_.size()) {}

  void add(std::string_view piece, std::string_view separator) {
    if (line_length_ + separator.size() + piece.size() > line_limit && line_length_ > 1) {
      text_.append("\r\n\t");
      line_length_ = 1;
    } else {
      text_.append(separator);
      line_length_ += separator.size();
    }
    text_.append(piece);
    line_length_ += piece.size();
  }
  std::string take() { return std::move(text_); }

 private:
  std::string text_;
  std::size_t line_length_;
};

}  // namespace

std::string unsigned_signature_field(const SignatureTags& tags) {
  Folder f("DKIM-Signature:");
  f.add("v=1;", " ");
  f.add("a=" + std::string(to_string(tags.algorithm)) + ";", " ");
  f.add("c=" + std::string(to_string(tags.canonicalization.header)) + "/" +
            std::string(to_string(tags.canonicalization.body)) + ";",
        " ");
  f.add("d=" + tags.domain + ";", " ");
  f.add("s=" + tags.selector + ";", " ");
  f.add("t=" + std::to_string(tags.timestamp) + ";", " ");
  if (tags.expiration > 0) f.add("x=" + std::to_string(tags.expiration) + ";", " ");
  // h= folds between names (FWS is allowed around its colons).
  for (std::size_t i = 0; i < tags.headers.size(); ++i) {
    const bool last = i + 1 == tags.headers.size();
    std::string piece = (i == 0 ? "h=" : "") + tags.headers[i] + (last ? ";" : ":");
    f.add(piece, i == 0 ? " " : "");
  }
  f.add("bh=" + tags.body_hash + ";", " ");
  f.add("b=", " ");
  return f.take();
}

std::string signed_data(const std::vector<HeaderField>& selected, std::string_view unsigned_field,
                        Canonicalization header_canonicalization) {
  std::string data;
  for (const auto& field : selected) data += canonicalize_header(field.raw, header_canonicalization);
  data += canonicalize_header(unsigned_field, header_canonicalization);
  data.resize(data.size() - 2);  // the signature field's own CR LF is not signed
  return data;
}

std::string finished_signature_field(std::string_view unsigned_field, std::string_view signature) {
  std::string out(unsigned_field);
  const auto last_line = out.rfind('\n');
  std::size_t line_length = out.size() - (last_line == std::string::npos ? 0 : last_line + 1);
  for (std::size_t i = 0; i < signature.size();) {
    if (line_length >= line_limit) {
      out.append("\r\n\t");
      line_length = 1;
    }
    const std::size_t take = std::min(signature.size() - i, line_limit - line_length);
    out.append(signature.substr(i, take));
    line_length += take;
    i += take;
  }
  out.append("\r\n");
  return out;
}

}  // namespace relay::dkim
