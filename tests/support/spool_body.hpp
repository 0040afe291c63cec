// tests/support/spool_body.hpp — a body file as a session leaves it after its flush.
//
// Owns: writing `text` into a new spool file, flushing it (file and directory entry) and
// handing it over as an envelope would own it. Header-only; test code only.
#pragma once

#include <gtest/gtest.h>

#include <string>

#include "queue/body_writer.hpp"
#include "queue/spool.hpp"

namespace test_support {

inline queue::SpoolEntry write_durable_body(queue::Spool& spool, const std::string& text) {
  auto writer = queue::BodyWriter::create(spool);
  EXPECT_TRUE(writer);
  if (!writer) return {};
  EXPECT_FALSE(writer->append(text));
  auto finished = writer->finish();
  EXPECT_TRUE(finished);
  if (!finished) return {};
  EXPECT_FALSE(finished->sync());
  const std::uint64_t size = finished->size();
  return {finished->release(), size};
}

}  // namespace test_support
