// relay/privileges.hpp — dropping root after the listeners are bound ([relay] user).
//
// Owns: handing the state directory and queue files to the service user, then
// setgid/initgroups/setuid to it, so port 25 can be bound as root while the daemon runs
// unprivileged. Never: called when [relay] user is empty.
// Threading: start-up only, before any other thread but the queue's exists; the queue
// thread's credentials follow because Linux glibc setuid() applies to every thread.
// Errors: text for the start-up log (the daemon then refuses to run as root).
#pragma once

#include <string>

namespace relay {

std::string drop_privileges(const std::string& user, const std::string& state_dir);

}  // namespace relay
