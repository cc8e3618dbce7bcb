// The timing harness's correctness line (CheckCorrectness): which findings fail a run. Note-ons
// the stall policy drops are a measured figure under stalls, the relay's or real loss's
// (--external-loss), and a failure on a path with neither.
#include <string>

#include "gtest/gtest.h"
#include "tools/timing_harness/timing_harness.h"

namespace tutti::harness {
namespace {

HarnessReport CleanReport() {
  HarnessReport r;
  r.source_note_ons = 93;
  r.sender.note_ons = 93;
  return r;
}

TEST(HarnessCheckTest, DroppedNoteOnsFailOnlyAPathWithoutStalls) {
  HarnessReport r = CleanReport();
  EXPECT_EQ(CheckCorrectness(r), "");
  r.sender.stats.dropped_note_ons = 2;
  EXPECT_NE(CheckCorrectness(r).find("dropped note-ons: 2"), std::string::npos);
  r.stalls_configured = true;  // --stall-prob > 0 or --external-loss
  EXPECT_EQ(CheckCorrectness(r), "");
}

TEST(HarnessCheckTest, StallsNeverExcuseStuckOrLostNotes) {
  HarnessReport r = CleanReport();
  r.stalls_configured = true;
  r.stuck_notes = 1;
  r.sender.note_ons = 92;
  r.gaps = 1;
  const std::string why = CheckCorrectness(r);
  EXPECT_NE(why.find("stuck notes: 1"), std::string::npos) << why;
  EXPECT_NE(why.find("note-ons received 92 of 93"), std::string::npos) << why;
  EXPECT_NE(why.find("sequence gaps: 1"), std::string::npos) << why;
}

}  // namespace
}  // namespace tutti::harness
