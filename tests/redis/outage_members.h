// What the tests of Redis outages and failovers share (redis_outage_test.cc,
// redis_failover_test.cc, room_list_across_nodes_test.cc): members of room Jam on two real
// tutti-server nodes (TwoNodesTest::MembersOnBothNodes), the waits for what they are told when
// Redis goes and comes back, a chat line read by every member with its position, and a connection
// to a Redis server kept for a whole test (RedisProbe: it works while that server takes no new
// connections), and a node's own connections to Redis as Redis names them (LinksOf, to cut them
// with CLIENT KILL). Every wait is bounded by a deadline. Test code only; one test's thread. Header
// only.
#ifndef TUTTI_TESTS_REDIS_OUTAGE_MEMBERS_H_
#define TUTTI_TESTS_REDIS_OUTAGE_MEMBERS_H_

#include <sys/types.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include <gtest/gtest.h>

#include "tests/redis/nodes_harness.h"

namespace tutti::testing {

inline constexpr auto kLong = 30s;  // a bound for what needs a reconnect (never reached when green)

inline bool IsNotice(const proto::ClientMessage& m, proto::ServerNotice::Kind kind) {
  return m.has_server_notice() && m.server_notice().kind() == kind;
}

inline bool IsChat(const proto::ClientMessage& m, const std::string& text) {
  return m.has_room_chat_message() && m.room_chat_message().message() == text;
}

struct Member {
  std::unique_ptr<client::Client> client;
  std::string name;
};

// Sends `text` from `from` and reads it on every member: the position each got it at.
inline void ChatSeenByAll(std::vector<Member>& ms, size_t from, const std::string& text,
                          std::vector<proto::StreamPosition>* at) {
  ASSERT_TRUE(ms[from].client->Send(ChatMsg(text)));
  at->clear();
  for (Member& m : ms) {
    auto got = NodesTest::WaitMatching(
        *m.client, [&](const proto::ClientMessage& c) { return IsChat(c, text); }, kLong);
    ASSERT_TRUE(got) << m.name << " never got " << text;
    ASSERT_TRUE(got->has_stream()) << m.name;
    at->push_back(got->stream());
  }
}

// Waits until every member has heard that Redis is unreachable (a stopped or paused
// Redis: the nodes find out by their links closing or their PINGs going unanswered).
inline void WaitToldDown(std::vector<Member>& ms) {
  for (Member& m : ms) {
    ASSERT_TRUE(NodesTest::WaitMatching(
        *m.client,
        [](const proto::ClientMessage& c) {
          return IsNotice(c, proto::ServerNotice::STREAMS_UNAVAILABLE);
        },
        kLong))
        << m.name << " was not told that Redis is unreachable";
  }
}

// Waits until every member has heard that Redis is back.
inline void WaitToldBack(std::vector<Member>& ms) {
  for (Member& m : ms) {
    EXPECT_TRUE(NodesTest::WaitMatching(
        *m.client,
        [](const proto::ClientMessage& c) {
          return IsNotice(c, proto::ServerNotice::STREAMS_RESTORED);
        },
        kLong))
        << m.name << " was not told that Redis is back";
  }
}

// Reads `m`'s messages until it has been told that Redis is back and has got the unasked
// snapshot that follows an outage (copied to `resync`), in either order: the notice
// comes from the member's shard, the snapshot from the room's.
inline void WaitBackWithSnapshot(Member& m, std::optional<proto::ClientMessage>* resync) {
  bool restored = false;
  const auto deadline = std::chrono::steady_clock::now() + kLong;
  while ((!restored || !*resync) && std::chrono::steady_clock::now() < deadline) {
    auto c = m.client->Next(200ms);
    if (!c) continue;
    restored = restored || IsNotice(*c, proto::ServerNotice::STREAMS_RESTORED);
    if (c->has_resume_result()) *resync = c;
  }
  ASSERT_TRUE(restored) << m.name << " was not told that Redis is back";
  ASSERT_TRUE(*resync) << m.name << " got no snapshot after the outage";
}

class TwoNodesTest : public NodesTest {
 protected:
  // Both nodes up (with `flags`), `first` on node A and `second` on node B in room Jam, a
  // first chat line seen by both (`before`: where each got it); `admin` is node A's admin
  // port.
  void MembersOnBothNodes(const char* first, const char* second, uint16_t* admin,
                          std::vector<Member>* ms, std::vector<proto::StreamPosition>* before,
                          const std::vector<std::string>& flags = {}) {
    ASSERT_NO_FATAL_FAILURE(StartNodes(flags));
    *admin = AdminPort(*node_a_);
    ASSERT_NE(*admin, 0) << node_a_->output();
    for (const char* name : {first, second}) {
      Member m{Connect(ms->empty() ? node_a_->port() : node_b_->port(), name), name};
      ASSERT_TRUE(m.client) << name;
      ASSERT_TRUE(JoinRoom(*m.client, "Jam")) << name;
      ms->push_back(std::move(m));
    }
    ASSERT_TRUE(WaitNodesSubscribed("jam", 2));
    ChatSeenByAll(*ms, 0, "before", before);
  }
};

// One connection to Redis kept for a whole test (a probe that must work while Redis takes
// no new connections), asked one command at a time.
class RedisProbe {
 public:
  explicit RedisProbe(uint16_t port) : client_(io_, {"127.0.0.1", port}) { client_.Start(); }
  // The reply as text (a status, a bulk string, an integer in decimal; "ERR ..." for an
  // error), or "" when none came within 10 s.
  std::string Ask(const std::vector<std::string>& command) {
    const auto deadline = std::chrono::steady_clock::now() + 10s;
    std::vector<std::string_view> argv(command.begin(), command.end());
    bool asked = false, done = false;
    std::string out;
    while (!done && std::chrono::steady_clock::now() < deadline) {
      if (client_.connected() && !asked) {
        asked = true;
        client_.Command(argv, [&](const redisReply* r) {
          done = true;
          int64_t n = 0;
          if (r == nullptr) return;
          if (r->type == REDIS_REPLY_INTEGER && server::redis::ReplyInteger(r, &n)) {
            out = std::to_string(n);
          } else {
            out = std::string(server::redis::ReplyIsError(r) ? "ERR " : "") +
                  std::string(server::redis::ReplyString(r));
          }
        });
      }
      io_.restart();
      io_.run_for(5ms);
    }
    return out;
  }

 private:
  boost::asio::io_context io_;
  server::redis::RedisClient client_;
};

// The local ports of process `pid`'s TCP connections to `remote_port` on loopback (from
// /proc: its descriptors' socket inodes, found in its network namespace's TCP table).
inline std::set<uint16_t> PortsTowards(pid_t pid, uint16_t remote_port) {
  std::set<std::string> inodes;
  const std::string proc = "/proc/" + std::to_string(pid);
  std::error_code ec;
  for (const auto& fd : std::filesystem::directory_iterator(proc + "/fd", ec)) {
    const std::string target = std::filesystem::read_symlink(fd.path(), ec).string();
    if (!ec && target.rfind("socket:[", 0) == 0) inodes.insert(target.substr(8, target.size() - 9));
  }
  std::set<uint16_t> ports;
  std::ifstream table(proc + "/net/tcp");
  std::string line;
  std::getline(table, line);  // the header
  while (std::getline(table, line)) {
    std::istringstream fields(line);
    std::string slot, local, remote, state, queues, timer, retransmits, uid, timeout, inode;
    fields >> slot >> local >> remote >> state >> queues >> timer >> retransmits >> uid >>
        timeout >> inode;
    const size_t lc = local.find(':'), rc = remote.find(':');
    if (lc == std::string::npos || rc == std::string::npos || !inodes.count(inode)) continue;
    if (std::strtoul(remote.c_str() + rc + 1, nullptr, 16) != remote_port) continue;
    ports.insert(static_cast<uint16_t>(std::strtoul(local.c_str() + lc + 1, nullptr, 16)));
  }
  return ports;
}

// The ids Redis gives node `pid`'s connections of `type` (CLIENT LIST's: "pubsub" for
// its channel links, "normal" for its command links; "" for all of them).
inline std::vector<std::string> LinksOf(RedisProbe& probe, pid_t pid, uint16_t redis_port,
                                        const std::string& type) {
  const std::set<uint16_t> ports = PortsTowards(pid, redis_port);
  std::vector<std::string> ids;
  std::vector<std::string> ask = {"CLIENT", "LIST"};
  if (!type.empty()) ask.insert(ask.end(), {"TYPE", type});
  std::istringstream list(probe.Ask(ask));
  std::string line;
  while (std::getline(list, line)) {
    const size_t id = line.find("id="), addr = line.find(" addr=127.0.0.1:");
    if (id != 0 || addr == std::string::npos) continue;
    const auto port = static_cast<uint16_t>(std::atoi(line.c_str() + addr + 16));
    if (ports.count(port)) ids.push_back(line.substr(3, line.find(' ') - 3));
  }
  return ids;
}

}  // namespace tutti::testing

#endif  // TUTTI_TESTS_REDIS_OUTAGE_MEMBERS_H_
