// TestServer: a real Tutti server for integration tests — fresh key files in a private
// temporary directory, listening on 127.0.0.1 with an ephemeral port and several shards
// — plus helpers that mint connect resources and open real WebSocket clients. Owned by
// one test; its methods are called from the test's thread.
#ifndef TUTTI_TESTS_TESTING_TEST_SERVER_H_
#define TUTTI_TESTS_TESTING_TEST_SERVER_H_

#include <chrono>
#include <functional>
#include <initializer_list>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "crypto/keys.h"
#include "protos/tutti.pb.h"
#include "server/clock.h"
#include "server/config.h"
#include "server/server.h"
#include "server/shard.h"
#include "tools/client/client.h"

namespace tutti::testing {

using namespace std::chrono_literals;

struct UserSpec {
  std::string name;
  std::string user_id;  // defaults to "u-" + name
  bool member = true;
  bool guest = false;
  std::vector<std::string> roles;
  int64_t ttl_s = 3600;  // token lifetime
  // Resume a dropped session: the Welcome's resume token and the last room position seen.
  // Defaulted ({}) so the positional UserSpec{...} of other tests stay warning-free.
  std::string resume_token{}, resume_room{}, resume_epoch{};
  uint64_t resume_offset = 0;
  // A linked connection (docs/PROTOCOL.md §16): the LinkStatus.link_token to attach with.
  std::string link_token{};
};

class TestServer {
 public:
  // `clock` defaults to the system clock; a test that must not depend on how fast the machine
  // is passes a FakeClock (see NowFakeClock) and advances it by hand.
  explicit TestServer(int shards = 3,
                      const std::function<void(server::ServerConfig&)>& tweak = nullptr,
                      std::shared_ptr<const server::Clock> clock = nullptr);
  ~TestServer();

  uint16_t port() const { return server_->port(); }
  server::Server& server() { return *server_; }
  const std::string& dir() const { return dir_; }
  const crypto::IssuerKeys& issuer() const { return issuer_; }
  const crypto::PublicKey& seal_public() const { return seal_public_; }

  // A fresh, single-use "/api/websocket/<payload>" for the user.
  std::string Resource(const UserSpec& user);
  // Connects and consumes the Welcome (returned through *welcome when given).
  // Fails the current test (and returns null) when anything goes wrong.
  std::unique_ptr<client::Client> Connect(const UserSpec& user, proto::Welcome* welcome = nullptr);
  std::unique_ptr<client::Client> Connect(const std::string& name) {
    UserSpec spec;
    spec.name = name;
    return Connect(spec);
  }

  // Reads every shard's counters on its own thread and adds them up.
  server::Shard::Counters TotalCounters();

 private:
  std::string dir_;
  std::shared_ptr<const server::Clock> clock_;
  crypto::IssuerKeys issuer_;
  crypto::PublicKey seal_public_{};
  std::unique_ptr<server::Server> server_;
};

// A FakeClock that starts at the real monotonic and wall time (so tokens minted now are valid)
// and then moves only when the test advances it: rate limits, idle timeouts and stamps become
// independent of how busy the machine is.
std::shared_ptr<server::FakeClock> NowFakeClock();

// Convenience builders for client-to-server messages.
proto::ServerMessage JoinMsg(const std::string& room, const std::string& password = "",
                             const std::string& request_id = "");
proto::ServerMessage CreateMsg(const std::string& room, proto::RoomType type = proto::PUBLIC,
                               const std::string& password = "", int max_users = 0,
                               const std::string& request_id = "");
proto::ServerMessage ChatMsg(const std::string& text, const std::string& request_id = "");
proto::ServerMessage MidiMsg(const std::string& bytes, int64_t timestamp = 0,
                             const std::string& request_id = "");
proto::ServerMessage LobbyMsg();
proto::ServerMessage LeaveMsg(const std::string& request_id = "");

// Creates (or joins) `room` and waits for the RoomJoinedResponse; fails the test if not.
bool JoinRoom(client::Client& c, const std::string& room, proto::RoomJoinedResponse* out = nullptr);
// Waits for an ErrorMessage; returns its code (ERROR_CODE_UNSPECIFIED on timeout).
proto::ErrorCode WaitError(client::Client& c, std::chrono::milliseconds timeout = 3s,
                           std::string* request_id = nullptr);

// --- helpers added for the gate, room, robustness and private-message suites ----------

// A member with user id "u-" + name.
UserSpec Named(const std::string& name);
// Server staff: Named(name) holding the server role `role` ("moderator", "admin").
UserSpec Staff(const std::string& name, const std::string& role);
// The server admin `name` (user id "u-" + name): Staff(name, "admin").
UserSpec Admin(const std::string& name = "admin");

proto::ServerMessage HeartbeatMsg(int64_t client_time_us, const std::string& request_id = "");
proto::ServerMessage RoomListMsg(const std::string& request_id = "");
proto::ServerMessage PrivateMsg(const std::string& to, const std::string& text,
                                const std::string& request_id = "");

// Polls `done` every few milliseconds until it is true or `timeout` passes.
bool WaitUntil(const std::function<bool()>& done, std::chrono::milliseconds timeout = 5s);

// The next message of case `which` whose request_id is `request_id`; others are
// discarded. Nullopt on timeout.
std::optional<proto::ClientMessage> WaitForReply(client::Client& c,
                                                 proto::ClientMessage::MessageCase which,
                                                 const std::string& request_id,
                                                 std::chrono::milliseconds timeout = 5s);

// The answer to the room or server command sent with `request_id`: the first
// CommandResult or ErrorMessage with that id, or a message of one of the `also` cases
// (a BanList, an AuditLog); others are discarded. An empty message, with the failure
// recorded, when none comes.
proto::ClientMessage Answer(client::Client& c, const std::string& request_id,
                            std::initializer_list<proto::ClientMessage::MessageCase> also = {});

// Reads `c` until the chat line `text`; returns every room event (a message with a stream
// position) seen, that line's included, and shows every message read to `observe` when one
// is given. Records a failure, and returns what it saw, when no message comes for `quiet`.
std::vector<proto::ClientMessage> ReadUntilChat(
    client::Client& c, const std::string& text,
    const std::function<void(const proto::ClientMessage&)>& observe = {},
    std::chrono::milliseconds quiet = std::chrono::seconds(5));

// Connects a member for each name (user id "u-" + name, into the given pointer), then
// has each join `room` in the order given (the first creates it and owns it). Records
// the failure and returns false when any step fails.
bool ConnectInRoom(
    TestServer& ts, const std::string& room,
    std::initializer_list<std::pair<const char*, std::unique_ptr<client::Client>*>> members);

// A room name (prefix + number) whose home is `shard` among `shard_count` shards.
std::string RoomNameOnShard(const std::string& prefix, int shard, int shard_count);

// Proof of life: two fresh clients connect, meet in a fresh room and exchange a chat
// line. Records a test failure (and returns false) when any step does not happen.
bool ServerStillServes(TestServer& ts, const std::string& tag = "alive");

}  // namespace tutti::testing

#endif  // TUTTI_TESTS_TESTING_TEST_SERVER_H_
