// relay/client/ehlo_capabilities.cpp — the EHLO reply parser.
#include "relay/client/ehlo_capabilities.hpp"
#include "conf/ascii.hpp"

#include <cctype>
#include <cstdlib>

namespace relay {

HopCapabilities parse_ehlo(const Reply& ehlo) {
  HopCapabilities capabilities;
  capabilities.esmtp = true;
  for (std::size_t i = 1; i < ehlo.lines.size(); ++i) {
    const std::string line = conf::ascii_uppercase(ehlo.lines[i]);
    const std::string keyword = line.substr(0, line.find(' '));
    if (keyword == "PIPELINING") capabilities.pipelining = true;
    else if (keyword == "8BITMIME") capabilities.eight_bit_mime = true;
    else if (keyword == "SIZE" && line.size() > 5) capabilities.max_size = std::strtoull(line.c_str() + 5, nullptr, 10);
    else if (keyword == "DSN") capabilities.dsn = true;
    else if (keyword == "SMTPUTF8") capabilities.smtputf8 = true;
    else if (keyword == "CHUNKING") capabilities.chunking = true;
    else if (line == "REQUIRETLS") capabilities.requiretls = true;
    else if (line == "STARTTLS") capabilities.starttls = true;
    if (line.starts_with("AUTH ") || line.starts_with("AUTH=")) {
      std::size_t pos = 5;
      while (pos < line.size()) {
        const std::size_t end = std::min(line.find(' ', pos), line.size());
        if (end > pos) capabilities.auth_mechanisms.push_back(line.substr(pos, end - pos));
        pos = end + 1;
      }
    }
  }
  return capabilities;
}

}  // namespace relay
