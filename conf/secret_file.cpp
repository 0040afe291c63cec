// conf/secret_file.cpp — see conf/secret_file.hpp.
#include "conf/secret_file.hpp"

#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <iterator>
#include <sstream>

#include "conf/limits.hpp"

namespace conf {

std::expected<std::string, std::string> read_secret_file(const std::string& path, std::string_view what,
                                                         std::size_t max_bytes) {
  const std::string name = std::string(what) + " " + path;
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return std::unexpected("cannot read " + name + ": " + std::strerror(errno));
  if (!S_ISREG(st.st_mode)) return std::unexpected(name + " is not a regular file");
  if ((st.st_mode & (S_IROTH | S_IWOTH)) != 0)
    return std::unexpected(name + " is readable by others; chmod 600 (or 640 with the hubrelay group)");
  if (static_cast<std::uint64_t>(st.st_size) > max_bytes)
    return std::unexpected(name + " is larger than " + std::to_string(max_bytes) + " bytes");
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::unexpected("cannot read " + name + ": " + std::strerror(errno));
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) return std::unexpected("cannot read " + name);
  return text;
}

std::expected<std::string, std::string> read_conninfo_file(const std::string& path) {
  auto text = read_secret_file(path, "conninfo file", limits::queue_pg_conninfo_max_bytes);
  if (!text) return text;
  std::istringstream lines(*text);
  std::string line;
  std::string conninfo;
  while (std::getline(lines, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    const auto first = line.find_first_not_of(" \t");
    if (first == std::string::npos || line[first] == '#') continue;
    const auto last = line.find_last_not_of(" \t");
    for (std::size_t i = first; i <= last; ++i) {
      const auto c = static_cast<unsigned char>(line[i]);
      // The position, never the text: the line may hold the password.
      if (c < 0x20 && c != '\t') return std::unexpected("conninfo file " + path + " has a control character");
    }
    if (!conninfo.empty()) conninfo += ' ';
    conninfo.append(line, first, last - first + 1);
  }
  if (conninfo.empty())
    return std::unexpected("conninfo file " + path +
                           " holds no connection string (expected e.g. host=pg1,pg2 dbname=hubrelay user=hubrelay "
                           "target_session_attrs=read-write)");
  return conninfo;
}

}  // namespace conf
