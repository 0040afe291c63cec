// relay/server/content_changes.hpp — what the content filters changed in a message's
// content, so DKIM signing (relay/server/signing_stage) reads again only what is no
// longer what streamed in.
// Pure data; no behaviour.
#pragma once

namespace relay {

struct ContentChanges {
  bool header_section = false;  // a field added, changed or deleted
  bool body = false;            // the body replaced
};

}  // namespace relay
