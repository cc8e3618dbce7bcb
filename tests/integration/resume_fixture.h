// The session-resume suites' shared fixture (resume_test.cc, resume_edges_test.cc): the
// rate limits they run under, the connect request that resumes a dropped session, the
// two-member set-up most of them start from (alice and bob in one room, bob dropped and
// parked), and the reads that collect what a client saw: a resume's answer and its
// replay, a room snapshot (room events up to a chat line: ReadUntilChat, test_server.h).
// Header-only; called on the test's thread; a helper that fails records the test failure itself and
// returns false/null.
#ifndef TUTTI_TESTS_INTEGRATION_RESUME_FIXTURE_H_
#define TUTTI_TESTS_INTEGRATION_RESUME_FIXTURE_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "tests/testing/test_server.h"

namespace tutti::testing {

// Rate limits a test that chats and asks in bursts never meets (the resume, stream and
// linked-connection tests).
inline void Generous(server::ServerConfig& c) {
  c.chat_per_second = 1000;
  c.chat_burst = 1000;
  c.requests_per_second = 1000;
  c.request_burst = 1000;
}

// The member `name` asking to resume with `token` in `room` from the position `last`.
inline UserSpec Resuming(const std::string& name, const std::string& token, const std::string& room,
                         const proto::StreamPosition& last) {
  UserSpec u = Named(name);
  u.resume_token = token;
  u.resume_room = room;
  u.resume_epoch = last.epoch();
  u.resume_offset = last.offset();
  return u;
}

// Connects with a resume request; returns the client (null on failure) and its answer.
inline std::unique_ptr<client::Client> Resume(TestServer& ts, const UserSpec& u,
                                              proto::ResumeResult* out,
                                              proto::Welcome* welcome = nullptr) {
  auto c = ts.Connect(u, welcome);
  if (!c) return nullptr;
  auto r = c->WaitFor(proto::ClientMessage::kResumeResult, 5s);
  if (!r) {
    ADD_FAILURE() << "no ResumeResult";
    return nullptr;
  }
  *out = r->resume_result();
  return c;
}

// Reads the `count` replayed room events that follow a ResumeResult (into *out when
// given); false if one does not arrive or carries no stream position.
inline bool ReadReplay(client::Client& c, uint32_t count,
                       std::vector<proto::ClientMessage>* out = nullptr) {
  for (uint32_t i = 0; i < count; ++i) {
    auto m = c.Next(5s);
    if (!m) {
      ADD_FAILURE() << "the replay ended after " << i << " of " << count << " events";
      return false;
    }
    if (!m->has_stream()) {
      ADD_FAILURE() << "replayed event " << i
                    << " has no stream position: " << m->ShortDebugString();
      return false;
    }
    if (out) out->push_back(*m);
  }
  return true;
}

// The room snapshot SYNC_STATE answers on `c` (empty, with a failure recorded, if none).
inline proto::RoomSnapshot Snapshot(client::Client& c) {
  proto::ServerMessage m;
  m.mutable_server_command()->set_commandtype(proto::SYNC_STATE);
  m.set_request_id("snap");
  EXPECT_TRUE(c.Send(m));
  auto r = WaitForReply(c, proto::ClientMessage::kRoomSnapshot, "snap");
  EXPECT_TRUE(r);
  return r ? r->room_snapshot() : proto::RoomSnapshot();
}

// Alice and bob (members "u-alice", "u-bob") in one room: bob's Welcome holds his resume
// token, his RoomJoinedResponse the position his stream starts from.
struct AliceAndBob {
  std::unique_ptr<client::Client> alice, bob;
  proto::Welcome welcome;
  proto::RoomJoinedResponse joined;
};

// Connects alice, then bob, and has both join `room` (alice first, so bob joins it).
inline bool ConnectBoth(TestServer& ts, const std::string& room, AliceAndBob* out) {
  out->alice = ts.Connect("alice");
  out->bob = ts.Connect(Named("bob"), &out->welcome);
  if (!out->alice || !out->bob) return false;
  return JoinRoom(*out->alice, room) && JoinRoom(*out->bob, room, &out->joined);
}

// Destroys `dropped`'s connection and waits until `observer`, in the same room, is told
// that `user_id` is reconnecting: the server has parked the session.
inline bool DropAndWaitParked(client::Client& dropped, client::Client& observer,
                              const std::string& user_id = "u-bob") {
  dropped.Drop();
  for (;;) {
    auto m = observer.Next(5s);
    if (!m) {
      ADD_FAILURE() << "no MemberConnection saying " << user_id << " is reconnecting";
      return false;
    }
    if (m->has_member_connection() && m->member_connection().user_id() == user_id &&
        m->member_connection().reconnecting()) {
      return true;
    }
  }
}

}  // namespace tutti::testing

#endif  // TUTTI_TESTS_INTEGRATION_RESUME_FIXTURE_H_
