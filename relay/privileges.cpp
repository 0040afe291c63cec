// relay/privileges.cpp — dropping root after the listeners are bound ([relay] user).
#include "relay/privileges.hpp"

#include <grp.h>
#include <pwd.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

namespace relay {

std::string drop_privileges(const std::string& user, const std::string& state_dir) {
  const passwd* pw = getpwnam(user.c_str());
  if (pw == nullptr) return "[relay] user: no such user '" + user + "'";
  const uid_t uid = pw->pw_uid;
  const gid_t gid = pw->pw_gid;
  if (getuid() == uid && geteuid() == uid) return {};  // already that user
  if (geteuid() != 0) return "[relay] user = '" + user + "' needs hubrelay to start as root";
  // The queue was opened as root; its files must stay writable after the switch.
  std::error_code ec;
  for (const auto& path : {std::filesystem::path(state_dir)}) {
    if (chown(path.c_str(), uid, gid) != 0) return "cannot chown " + path.string() + ": " + std::strerror(errno);
  }
  for (const auto& entry : std::filesystem::directory_iterator(state_dir, ec)) {
    const std::string name = entry.path().filename().string();
    if ((name.starts_with("queue.db") || name == "spool") && chown(entry.path().c_str(), uid, gid) != 0)
      return "cannot chown " + entry.path().string() + ": " + std::strerror(errno);
  }
  // The spool's body files (queue/spool.hpp): read for delivery, created and unlinked in it.
  for (const auto& entry : std::filesystem::directory_iterator(std::filesystem::path(state_dir) / "spool", ec)) {
    if (chown(entry.path().c_str(), uid, gid) != 0)
      return "cannot chown " + entry.path().string() + ": " + std::strerror(errno);
  }
  if (setgroups(0, nullptr) != 0 && errno != EPERM) return std::string("setgroups: ") + std::strerror(errno);
  if (initgroups(pw->pw_name, gid) != 0) return std::string("initgroups: ") + std::strerror(errno);
  if (setgid(gid) != 0) return std::string("setgid: ") + std::strerror(errno);
  if (setuid(uid) != 0) return std::string("setuid: ") + std::strerror(errno);
  if (setuid(0) == 0) return "privileges could not be dropped (setuid(0) still works)";
  return {};
}

}  // namespace relay
