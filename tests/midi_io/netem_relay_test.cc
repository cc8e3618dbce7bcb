// tools/netem_relay on real loopback sockets: bytes are delayed but never reordered, stalls hold
// everything behind them, Sever behaves like a killed client, and the relay stops by itself.
// Nothing here depends on how fast the machine is: a writer waits until the relay has read its
// last write before the next one (so each write is one chunk however the threads are scheduled),
// and times are only checked as lower bounds the relay itself guarantees.
#include "tools/netem_relay/netem_relay.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "gtest/gtest.h"

namespace tutti::netem {
namespace {

using namespace std::chrono_literals;

int64_t NowUs() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// A listening socket on 127.0.0.1:0 that accepts one connection.
class Target {
 public:
  Target() {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof(a));
    listen(fd_, 4);
    socklen_t len = sizeof(a);
    getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
  }
  ~Target() {
    if (conn_ >= 0) close(conn_);
    close(fd_);
  }
  uint16_t port() const { return port_; }
  int Accept() {
    conn_ = accept(fd_, nullptr, nullptr);
    return conn_;
  }

 private:
  int fd_ = -1;
  int conn_ = -1;
  uint16_t port_ = 0;
};

int Dial(uint16_t port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0) {
    close(fd);
    return -1;
  }
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  return fd;
}

// Waits (bounded) until the relay has read `bytes` bytes in one direction.
bool WaitRead(const NetemRelay& relay, bool up, uint64_t bytes) {
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (std::chrono::steady_clock::now() < deadline) {
    const RelayStats st = relay.stats();
    if ((up ? st.up.bytes : st.down.bytes) >= bytes) return true;
    std::this_thread::sleep_for(200us);
  }
  return false;
}

// Reads until `n` bytes or end of stream; records when each byte arrived.
std::string ReadAll(int fd, size_t n, std::vector<int64_t>* at = nullptr) {
  std::string out;
  char buf[4096];
  while (out.size() < n) {
    const ssize_t r = read(fd, buf, sizeof(buf));
    if (r <= 0) break;
    out.append(buf, static_cast<size_t>(r));
    if (at != nullptr) at->resize(out.size(), NowUs());
  }
  return out;
}

TEST(NetemRelayTest, DelaysWithJitterButNeverReorders) {
  Target target;
  RelayOptions o;
  o.target_port = target.port();
  o.up = {20000, 10000, 0, 0};  // 10..~50 ms per chunk: later chunks often sample less
  o.seed = 7;
  NetemRelay relay(o);
  ASSERT_TRUE(relay.Start().ok());
  const int c = Dial(relay.port());
  ASSERT_GE(c, 0);
  const int t = target.Accept();
  ASSERT_GE(t, 0);

  // 200 numbered records, each its own chunk: the next is written once the relay has read
  // the last (a busy machine would otherwise let writes coalesce into fewer, larger chunks).
  std::string sent;
  std::vector<int64_t> sent_at;
  bool writer_ok = true;
  std::thread writer([&] {
    for (int i = 0; i < 200 && writer_ok; ++i) {
      char rec[8];
      std::snprintf(rec, sizeof(rec), "%07d", i);
      sent_at.push_back(NowUs());
      writer_ok = write(c, rec, 7) == 7 && WaitRead(relay, true, 7u * (i + 1));
    }
  });
  std::vector<int64_t> got_at;
  const std::string got = ReadAll(t, 1400, &got_at);
  writer.join();
  ASSERT_TRUE(writer_ok) << "the relay did not read a record";
  std::string expected;
  for (int i = 0; i < 200; ++i) {
    char rec[8];
    std::snprintf(rec, sizeof(rec), "%07d", i);
    expected += rec;
  }
  ASSERT_EQ(got, expected) << "bytes reordered or lost";
  // No record arrives before the floor (delay - jitter = 10 ms) has passed.
  for (int i = 0; i < 200; ++i) {
    EXPECT_GE(got_at[static_cast<size_t>(i) * 7 + 6] - sent_at[static_cast<size_t>(i)], 9500)
        << "record " << i;
  }
  const RelayStats st = relay.stats();
  EXPECT_EQ(st.connections, 1u);
  EXPECT_EQ(st.up.bytes, 1400u);
  // One read per record, so the holds are the seeded generator's first 200 samples (plus any
  // head-of-line wait): the same numbers on every run.
  EXPECT_EQ(st.up.chunks, 200u);
  ASSERT_EQ(st.up.hold_us.size(), 200u);
  int64_t lo = INT64_MAX, hi = 0;
  for (int64_t h : st.up.hold_us) {
    lo = std::min(lo, h);
    hi = std::max(hi, h);
  }
  EXPECT_GE(lo, 10000);
  EXPECT_GT(hi, 25000) << "jitter spreads the holds";
  close(c);
}

TEST(NetemRelayTest, AStallHoldsEverythingBehindIt) {
  Target target;
  RelayOptions o;
  o.target_port = target.port();
  o.down = {1000, 0, 1.0, 100000};  // every chunk stalls 100 ms
  NetemRelay relay(o);
  ASSERT_TRUE(relay.Start().ok());
  const int c = Dial(relay.port());
  const int t = target.Accept();
  ASSERT_GE(t, 0);
  const int64_t start = NowUs();
  // Five one-byte writes, each read by the relay before the next is written: five chunks,
  // however busy the machine (a fixed pause between writes let two coalesce under load).
  for (int i = 0; i < 5; ++i) {
    ASSERT_EQ(write(t, "x", 1), 1);
    ASSERT_TRUE(WaitRead(relay, false, static_cast<uint64_t>(i + 1)));
  }
  std::vector<int64_t> at;
  EXPECT_EQ(ReadAll(c, 5, &at), "xxxxx");
  EXPECT_GE(at[0] - start, 100000);
  const RelayStats st = relay.stats();
  EXPECT_EQ(st.down.chunks, 5u);
  EXPECT_EQ(st.down.stalls, 5u);
  // Every chunk is held at least its own stall and transit; none overtakes the one before.
  ASSERT_EQ(st.down.hold_us.size(), 5u);
  for (int64_t h : st.down.hold_us) EXPECT_GE(h, 101000);
  for (size_t i = 1; i < at.size(); ++i) EXPECT_GE(at[i], at[i - 1]);
  close(c);
}

TEST(NetemRelayTest, SeverDeliversWhatWasSentThenEndsTheStream) {
  Target target;
  RelayOptions o;
  o.target_port = target.port();
  o.up = {30000, 0, 0, 0};
  NetemRelay relay(o);
  ASSERT_TRUE(relay.Start().ok());
  const int c = Dial(relay.port());
  const int t = target.Accept();
  ASSERT_GE(t, 0);
  ASSERT_EQ(write(c, "last words", 10), 10);
  ASSERT_TRUE(WaitRead(relay, true, 10));  // read by the relay, still held (30 ms)
  relay.Sever(0);
  // The client side is closed at once...
  char b;
  EXPECT_EQ(read(c, &b, 1), 0);
  // ...and the target still gets the bytes, then end of stream.
  EXPECT_EQ(ReadAll(t, 100), "last words");
  close(c);
}

TEST(NetemRelayTest, StopsByItselfAfterItsDuration) {
  Target target;
  RelayOptions o;
  o.target_port = target.port();
  o.duration_us = 200000;
  NetemRelay relay(o);
  ASSERT_TRUE(relay.Start().ok());
  EXPECT_TRUE(relay.running());
  const auto deadline = std::chrono::steady_clock::now() + 5s;
  while (relay.running() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(10ms);
  }
  EXPECT_FALSE(relay.running());
}

}  // namespace
}  // namespace tutti::netem
