// The C API of the timing core (midi/timing_c_api.h), natively: each call gives what the C++
// class it wraps gives for the same inputs, staged batches and snapshots reach the buffer
// intact, bad input is refused or clamped, and out-of-range reads are zero.
#include "midi/timing_c_api.h"

#include <cmath>
#include <limits>
#include <vector>

#include "gtest/gtest.h"
#include "midi/clock_sync.h"
#include "midi/jitter_buffer.h"

namespace tutti::midi {
namespace {

TEST(TimingCApi, ClockSyncMatchesTheClass) {
  TuttiClockSync* cs = tutti_clock_sync_create();
  ClockSync direct;
  int64_t t = 1000000;
  for (int i = 0; i < 40; ++i, t += 250000) {
    const int64_t t2 = t * 1 + 5000000 + 4000 + (i % 7) * 300;
    const int64_t t3 = t2 + 50;
    const int64_t t4 = t + 9000 + (i % 5) * 500;
    EXPECT_EQ(tutti_clock_sync_on_sample(cs, t, t2, t3, t4),
              direct.OnSample(t, t2, t3, t4) ? 1 : 0);
    EXPECT_EQ(tutti_clock_sync_last_rtt_us(cs), static_cast<double>((t4 - t) - (t3 - t2)));
    const ClockSyncStatus st = direct.Status(t4);
    EXPECT_EQ(tutti_clock_sync_synced(cs, t4), st.synced ? 1 : 0);
    EXPECT_EQ(tutti_clock_sync_offset_us(cs, t4), static_cast<double>(st.offset_us));
    EXPECT_EQ(tutti_clock_sync_error_bound_us(cs, t4), static_cast<double>(st.error_bound_us));
    EXPECT_EQ(tutti_clock_sync_skew_ppm(cs), direct.skew_ppm());
    EXPECT_EQ(tutti_clock_sync_server_from_local(cs, t4),
              static_cast<double>(direct.ServerTimeFromLocal(t4)));
    EXPECT_EQ(tutti_clock_sync_next_ping_delay(cs, t4),
              static_cast<double>(direct.NextPingDelay(t4)));
  }
  EXPECT_EQ(tutti_clock_sync_locked(cs), 1);
  EXPECT_NEAR(tutti_clock_sync_offset_us(cs, t), 5000000, 3000);
  // An impossible exchange is refused and leaves the last round trip alone.
  const double rtt = tutti_clock_sync_last_rtt_us(cs);
  EXPECT_EQ(tutti_clock_sync_on_sample(cs, 100, 50, 40, 200), 0);
  EXPECT_EQ(tutti_clock_sync_last_rtt_us(cs), rtt);
  // NaN is 0, fractions round, huge values clamp to 2^53 instead of overflowing.
  EXPECT_EQ(tutti_clock_sync_server_from_local(cs, std::nan("")),
            static_cast<double>(direct.ServerTimeFromLocal(0)));
  EXPECT_EQ(tutti_clock_sync_server_from_local(cs, 10.6),
            static_cast<double>(direct.ServerTimeFromLocal(11)));
  const double inf = std::numeric_limits<double>::infinity();
  EXPECT_TRUE(std::isfinite(tutti_clock_sync_local_from_server(cs, inf)));
  EXPECT_TRUE(std::isfinite(tutti_clock_sync_local_from_server(cs, -inf)));
  tutti_clock_sync_destroy(cs);
}

TEST(TimingCApi, JitterBufferMatchesTheClass) {
  TuttiClockSync* cs = tutti_clock_sync_create();
  TuttiJitterBuffer* jb = tutti_jitter_create(cs);
  ClockSync clock;
  JitterBuffer direct(&clock);
  const uint64_t session = (uint64_t{3} << 32) | 0x80000001u;
  std::vector<PlayedEvent> want;
  int64_t now = 1000000;
  for (uint64_t seq = 1; seq <= 50; ++seq, now += 40000) {
    RelayedBatch b;
    b.session_id = session;
    b.sequence = seq == 20 ? seq + 1 : seq;  // one gap
    b.stamped_us = now - 3000 - static_cast<int64_t>(seq % 4) * 1000;
    b.events.push_back({MakeNoteOn(2, static_cast<uint8_t>(40 + seq % 30), 90), 0});
    b.events.push_back({MakeNoteOff(2, static_cast<uint8_t>(40 + seq % 30)), 20000});
    tutti_jitter_batch_begin(jb, 3, 0x80000001u, static_cast<double>(b.sequence),
                             static_cast<double>(b.stamped_us), 0);
    for (const RelayedEvent& e : b.events) {
      ASSERT_EQ(tutti_jitter_batch_add(jb, e.message.status, e.message.data1, e.message.data2,
                                       static_cast<double>(e.delay_us)),
                1);
    }
    const PushResult r = direct.Push(b, now);
    EXPECT_EQ(tutti_jitter_batch_push(jb, static_cast<double>(now)), static_cast<int>(r.scheduled));
    EXPECT_EQ(tutti_jitter_last_push_gap(jb), r.gap ? 1 : 0);
    want.clear();
    direct.PopDue(now + 20000, &want);
    ASSERT_EQ(tutti_jitter_pop_due(jb, static_cast<double>(now + 20000)),
              static_cast<int>(want.size()));
    for (size_t i = 0; i < want.size(); ++i) {
      const int k = static_cast<int>(i);
      EXPECT_EQ(tutti_jitter_out_session_hi(jb, k), 3u);
      EXPECT_EQ(tutti_jitter_out_session_lo(jb, k), 0x80000001u);
      EXPECT_EQ(tutti_jitter_out_local_us(jb, k), static_cast<double>(want[i].local_us));
      EXPECT_EQ(tutti_jitter_out_status(jb, k), want[i].message.status);
      EXPECT_EQ(tutti_jitter_out_data1(jb, k), want[i].message.data1);
      EXPECT_EQ(tutti_jitter_out_data2(jb, k), want[i].message.data2);
      EXPECT_EQ(tutti_jitter_out_late(jb, k), want[i].late ? 1 : 0);
      EXPECT_EQ(tutti_jitter_out_sequence(jb, k), static_cast<double>(want[i].sequence));
      EXPECT_EQ(tutti_jitter_out_index(jb, k), want[i].index);
    }
  }
  const SenderStats s = direct.Stats(session);
  EXPECT_EQ(tutti_jitter_stat(jb, 3, 0x80000001u, TUTTI_STAT_GAPS), static_cast<double>(s.gaps));
  EXPECT_EQ(tutti_jitter_stat(jb, 3, 0x80000001u, TUTTI_STAT_NOTE_ONS),
            static_cast<double>(s.note_ons));
  EXPECT_EQ(tutti_jitter_stat(jb, 3, 0x80000001u, TUTTI_STAT_DUPLICATES), 1.0);  // 21 twice
  EXPECT_EQ(tutti_jitter_stat(jb, 3, 0x80000001u, TUTTI_STAT_TARGET_US),
            static_cast<double>(s.target_us));
  EXPECT_EQ(tutti_jitter_stat(jb, 3, 0x80000001u, TUTTI_STAT_PLAYOUT_US),
            static_cast<double>(s.playout_us));
  EXPECT_EQ(tutti_jitter_stat(jb, 3, 0x80000001u, TUTTI_STAT_PLAYOUT_MOVES),
            static_cast<double>(s.playout_moves));
  EXPECT_EQ(tutti_jitter_stat(jb, 3, 0x80000001u, 99), 0.0);
  EXPECT_EQ(tutti_jitter_stat(jb, 0, 1, TUTTI_STAT_BATCHES), 0.0);  // unknown sender
  EXPECT_EQ(tutti_jitter_sender_count(jb), 1);
  // Reads past the output list are zero, not garbage.
  EXPECT_EQ(tutti_jitter_out_status(jb, -1), 0u);
  EXPECT_EQ(tutti_jitter_out_local_us(jb, 100000), 0.0);
  tutti_jitter_destroy(jb);
  tutti_clock_sync_destroy(cs);
}

TEST(TimingCApi, BadEventsAreRefusedAndDropReleasesEverything) {
  TuttiClockSync* cs = tutti_clock_sync_create();
  TuttiJitterBuffer* jb = tutti_jitter_create(cs);
  tutti_jitter_batch_begin(jb, 0, 7, 1, 1000, 0);
  EXPECT_EQ(tutti_jitter_batch_add(jb, 0xF0, 1, 2, 0), 0);   // SysEx
  EXPECT_EQ(tutti_jitter_batch_add(jb, 0x40, 1, 2, 0), 0);   // a data byte
  EXPECT_EQ(tutti_jitter_batch_add(jb, 0x190, 1, 2, 0), 0);  // not a byte
  EXPECT_EQ(tutti_jitter_batch_add(jb, 0x90, 128, 2, 0), 0);
  EXPECT_EQ(tutti_jitter_batch_add(jb, 0x90, 60, 128, 0), 0);
  EXPECT_EQ(tutti_jitter_batch_add(jb, 0xC0, 5, 200, 0), 1);  // data2 of a 2-byte kind ignored
  EXPECT_EQ(tutti_jitter_batch_add(jb, 0x90, 60, 100, 0), 1);
  EXPECT_EQ(tutti_jitter_batch_add(jb, 0xB0, 64, 127, 0), 1);
  EXPECT_EQ(tutti_jitter_batch_push(jb, 1000), 3);
  EXPECT_FALSE(std::isnan(tutti_jitter_next_due(jb)));
  const int n = tutti_jitter_pop_due(jb, 10000000);
  EXPECT_EQ(n, 3);
  EXPECT_EQ(tutti_jitter_out_data2(jb, 0), 0u);
  EXPECT_TRUE(std::isnan(tutti_jitter_next_due(jb)));
  EXPECT_EQ(tutti_jitter_idle(jb), 0);  // the note and the pedal sound
  const int released = tutti_jitter_drop_connection(jb, 10000001);
  EXPECT_EQ(released, 2);  // note-off, then sustain off
  EXPECT_EQ(tutti_jitter_out_status(jb, 0), 0x80u);
  EXPECT_EQ(tutti_jitter_out_generated(jb, 0), 1);
  EXPECT_EQ(tutti_jitter_out_status(jb, 1), 0xB0u);
  EXPECT_EQ(tutti_jitter_idle(jb), 1);
  // Sequence numbers past what a double holds exactly, or past int64, are clamped, not UB.
  tutti_jitter_batch_begin(jb, 0, 8, 1e300, 1000, 0);
  EXPECT_EQ(tutti_jitter_batch_add(jb, 0x90, 61, 100, 0), 1);
  EXPECT_EQ(tutti_jitter_batch_push(jb, 10000002), 1);
  EXPECT_EQ(tutti_jitter_pop_due(jb, 20000000), 1);
  EXPECT_EQ(tutti_jitter_out_sequence(jb, 0), 9007199254740992.0);
  tutti_jitter_destroy(jb);
  tutti_clock_sync_destroy(cs);
}

}  // namespace
}  // namespace tutti::midi
