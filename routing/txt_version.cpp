// routing/txt_version.cpp — exactly one TXT record of a version (see the header).
#include "routing/txt_version.hpp"

namespace routing {

VersionedRecord select_versioned_record(const std::vector<std::string>& records, std::string_view version) {
  VersionedRecord found;
  for (const auto& text : records) {
    if (!text.starts_with(version)) continue;
    if (found.status == VersionedRecord::Status::found) return {VersionedRecord::Status::several, {}};
    found = {VersionedRecord::Status::found, text};
  }
  return found;
}

std::string versioned_record_problem(const VersionedRecord& found, std::string_view version) {
  if (version.ends_with(';')) version.remove_suffix(1);  // "v=STSv1", as administrators write it
  switch (found.status) {
    case VersionedRecord::Status::found: return {};
    case VersionedRecord::Status::none: return "no " + std::string(version) + " TXT record";
    case VersionedRecord::Status::several: return "more than one " + std::string(version) + " TXT record";
  }
  return {};
}

}  // namespace routing
