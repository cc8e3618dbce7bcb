// FirstCopyFilter (tools/midi_bridge/first_copy.h): of the two copies of a room event that a
// session's primary and its link deliver, exactly the first is kept, whatever the
// interleaving, across epochs, and with bounded memory.
#include "tools/midi_bridge/first_copy.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <random>
#include <string>
#include <utility>
#include <vector>

namespace tutti::bridge {
namespace {

proto::StreamPosition At(const std::string& epoch, uint64_t offset) {
  proto::StreamPosition p;
  p.set_epoch(epoch);
  p.set_offset(offset);
  return p;
}

TEST(FirstCopyFilterTest, KeepsTheFirstCopyOnly) {
  FirstCopyFilter f;
  EXPECT_TRUE(f.Take(At("e1", 1)));
  EXPECT_FALSE(f.Take(At("e1", 1)));
  EXPECT_TRUE(f.Take(At("e1", 2)));
  EXPECT_FALSE(f.Take(At("e1", 2)));
  EXPECT_EQ(f.kept(), 2u);
  EXPECT_EQ(f.duplicates(), 2u);
}

// The link skipped offset 2 (past its soft limit the server sends it on the primary only) and
// ran ahead; the primary's late 2 is new and kept, not taken for a copy.
TEST(FirstCopyFilterTest, AnOlderEventTheLinkSkippedIsStillKept) {
  FirstCopyFilter f;
  EXPECT_TRUE(f.Take(At("e", 1)));   // primary
  EXPECT_FALSE(f.Take(At("e", 1)));  // link
  EXPECT_TRUE(f.Take(At("e", 3)));   // link, ahead
  EXPECT_TRUE(f.Take(At("e", 2)));   // primary, late
  EXPECT_FALSE(f.Take(At("e", 3)));  // primary
}

// After a room change, the slower connection still delivers the old epoch's last events
// while the other is in the new one: no copy of either gets through a second time.
TEST(FirstCopyFilterTest, InterleavedEpochsKeepTheirOwnCopies) {
  FirstCopyFilter f;
  EXPECT_TRUE(f.Take(At("a", 5)));   // primary
  EXPECT_TRUE(f.Take(At("b", 1)));   // primary, new room
  EXPECT_FALSE(f.Take(At("a", 5)));  // link, still in the old room
  EXPECT_TRUE(f.Take(At("b", 2)));   // primary
  EXPECT_FALSE(f.Take(At("b", 1)));  // link
  EXPECT_FALSE(f.Take(At("b", 2)));  // link
  EXPECT_EQ(f.kept(), 3u);
  EXPECT_EQ(f.duplicates(), 3u);
}

// Two in-order streams of the same events (the link missing some), merged in random
// interleavings: every event is kept exactly once.
TEST(FirstCopyFilterTest, RandomInterleavingsKeepEachEventOnce) {
  for (unsigned seed = 1; seed <= 50; ++seed) {
    std::mt19937 rng(seed);
    std::vector<uint64_t> primary, link;
    for (uint64_t off = 1; off <= 500; ++off) {
      primary.push_back(off);
      if (rng() % 10 != 0) link.push_back(off);  // the link skips a tenth
    }
    FirstCopyFilter f;
    std::vector<int> seen(501, 0);
    size_t i = 0, j = 0;
    while (i < primary.size() || j < link.size()) {
      const bool from_primary = j == link.size() || (i < primary.size() && rng() % 2 == 0);
      const uint64_t off = from_primary ? primary[i++] : link[j++];
      if (f.Take(At("e", off))) ++seen[off];
    }
    for (uint64_t off = 1; off <= 500; ++off) {
      ASSERT_EQ(seen[off], 1) << "seed " << seed << " offset " << off;
    }
    EXPECT_EQ(f.kept(), 500u);
    EXPECT_EQ(f.duplicates(), link.size());
  }
}

// Memory is bounded: past the window the oldest offsets are forgotten, and a copy that late
// counts as one (it is never delivered twice).
TEST(FirstCopyFilterTest, ForgottenOffsetsStillCountAsTaken) {
  FirstCopyFilter f;
  const uint64_t n = FirstCopyFilter::kWindow + 100;
  for (uint64_t off = 1; off <= n; ++off) ASSERT_TRUE(f.Take(At("e", off)));
  EXPECT_FALSE(f.Take(At("e", 1)));
  EXPECT_FALSE(f.Take(At("e", 100)));
  EXPECT_FALSE(f.Take(At("e", n)));
  EXPECT_TRUE(f.Take(At("e", n + 1)));
}

// Only the few most recent epochs are remembered; an older one starts afresh.
TEST(FirstCopyFilterTest, OldEpochsAreForgotten) {
  FirstCopyFilter f;
  for (size_t e = 0; e <= FirstCopyFilter::kEpochs; ++e) {
    ASSERT_TRUE(f.Take(At("e" + std::to_string(e), 1)));
  }
  EXPECT_FALSE(f.Take(At("e" + std::to_string(FirstCopyFilter::kEpochs), 1)));
  EXPECT_FALSE(f.Take(At("e1", 1)));
}

}  // namespace
}  // namespace tutti::bridge
