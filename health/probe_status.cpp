// health/probe_status.cpp — names and the one-line rendering of probe statuses.
#include "health/probe_status.hpp"

namespace health {

std::string_view to_string(ProbeClass c) noexcept {
  switch (c) {
    case ProbeClass::ok: return "ok";
    case ProbeClass::transient: return "transient";
    case ProbeClass::bad_answer: return "bad_answer";
    case ProbeClass::local: return "local";
  }
  return "unknown";
}

std::string describe(ProbeStatus status, std::string_view detail) {
  const ProbeStatusInfo& row = info(status);
  std::string out;
  out.reserve(row.tag.size() + row.text.size() + detail.size() + 3);
  out.append(row.text);
  if (!detail.empty()) out.append(": ").append(detail);
  out.append(" [").append(row.tag).append("]");
  return out;
}

}  // namespace health
