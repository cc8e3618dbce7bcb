// Acknowledged writes survive kill -9: a child process writes through StorageThread
// and prints an ack from each completion callback (the moment the server would tell a
// user "done"); the test kills it with SIGKILL right after reading an ack, reopens
// the database and looks for every acked write. Three rounds on one database, so WAL
// recovery after a kill is exercised too. It runs on both drivers: a SQLite file, and
// a private PostgreSQL server (pg_server.h) that the second round also kills with
// SIGKILL right after the writer, so the server's crash recovery must bring back every
// acknowledged commit.
//
// What this proves: acks are sent only after the transaction committed, and a commit
// is in the database once the driver returns it. What it cannot prove: survival of
// power loss, which rests on synchronous=FULL (SQLite, fsync of the WAL at each commit,
// checked by store_test.cc's pragma test) and on fsync and synchronous_commit
// (PostgreSQL, checked by pg_driver_test.cc).
#include <signal.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "server/store/store.h"
#include "tests/store/backend.h"
#include "tests/store/temp_dir.h"
#include "tests/testing/pg_server.h"

namespace tutti::server::store {
namespace {

struct Acked {
  std::string kind;
  long long index;
};

struct Round {
  std::vector<Acked> acks;
  bool killed_by_sigkill = false;
  std::string error;
};

// Starts the writer, reads acks until `kill_after` of them arrived, SIGKILLs it at once,
// then collects the acks already in the pipe (they were written before the kill, so
// each is a write the "server" acknowledged).
Round RunWriterAndKill(const std::string& db_path, long long first_index, int kill_after) {
  Round round;
  int fds[2];
  if (pipe(fds) != 0) {
    round.error = "pipe failed";
    return round;
  }
  const pid_t pid = fork();
  if (pid < 0) {
    round.error = "fork failed";
    return round;
  }
  if (pid == 0) {
    dup2(fds[1], STDOUT_FILENO);
    close(fds[0]);
    close(fds[1]);
    const std::string first = std::to_string(first_index);
    execl(TUTTI_DURABILITY_WRITER, TUTTI_DURABILITY_WRITER, db_path.c_str(), first.c_str(),
          static_cast<char*>(nullptr));
    _exit(127);
  }
  close(fds[1]);
  std::FILE* in = fdopen(fds[0], "r");
  char* line = nullptr;
  size_t capacity = 0;
  bool killed = false;
  while (getline(&line, &capacity, in) > 0) {
    char kind[16] = {};
    long long index = 0;
    if (std::sscanf(line, "ack %15s %lld", kind, &index) != 2) {
      round.error = std::string("unexpected line: ") + line;
      break;
    }
    round.acks.push_back({kind, index});
    if (!killed && static_cast<int>(round.acks.size()) >= kill_after) {
      kill(pid, SIGKILL);
      killed = true;
    }
  }
  std::free(line);
  std::fclose(in);
  if (!killed) kill(pid, SIGKILL);  // the writer died early; make sure it is gone
  int status = 0;
  waitpid(pid, &status, 0);
  round.killed_by_sigkill = killed && WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL;
  if (!round.killed_by_sigkill && round.error.empty()) {
    round.error = "the writer ended before the kill (exit status " + std::to_string(status) + ")";
  }
  return round;
}

void ExpectAllPresent(Store& store, const std::vector<Acked>& acks) {
  absl::StatusOr<std::vector<moderation::ServerBan>> bans = store.ListServerBans(0);
  ASSERT_TRUE(bans.ok()) << bans.status();
  std::set<std::string> banned;
  for (const moderation::ServerBan& ban : *bans) banned.insert(ban.target);
  for (const Acked& ack : acks) {
    const std::string n = std::to_string(ack.index);
    if (ack.kind == "ban") {
      EXPECT_TRUE(banned.count("user-" + n)) << "acked ban " << n << " is missing";
    } else if (ack.kind == "friend") {
      absl::StatusOr<bool> friends = store.AreFriends("a-" + n, "b-" + n);
      ASSERT_TRUE(friends.ok()) << friends.status();
      EXPECT_TRUE(*friends) << "acked friend acceptance " << n << " is missing";
    } else if (ack.kind == "room") {
      absl::StatusOr<RoomRecord> room = store.LoadRoom("room-" + n);
      ASSERT_TRUE(room.ok()) << "acked room " << n << ": " << room.status();
      EXPECT_EQ(room->topic, "topic-" + n);
      EXPECT_EQ(room->settings, "settings-" + n);
      EXPECT_EQ(room->moderators, std::vector<std::string>{"mod-" + n});
    } else {
      ADD_FAILURE() << "unknown ack kind " << ack.kind;
    }
  }
}

class DurabilityTest : public ::testing::TestWithParam<Backend> {};

TEST_P(DurabilityTest, AcknowledgedWritesSurviveSigkill) {
  TempDir dir;
  std::string location = dir.File("durable.db");
  // PostgreSQL: a server of this test's own, since one round kills it.
  testing::PgServer server;
  if (GetParam() == Backend::kPostgres) {
    if (std::string why = testing::PgServer::Unavailable(); !why.empty()) GTEST_SKIP() << why;
    absl::Status started = server.Start();
    ASSERT_TRUE(started.ok()) << started;
    location = server.Url();
  }
  std::vector<Acked> all;
  long long first_index = 0;
  const int kill_after[] = {25, 60, 140};
  for (int round_index = 0; round_index < 3; ++round_index) {
    const int kill_at = kill_after[round_index];
    Round round = RunWriterAndKill(location, first_index, kill_at);
    ASSERT_TRUE(round.error.empty()) << round.error;
    ASSERT_TRUE(round.killed_by_sigkill);
    ASSERT_GE(static_cast<int>(round.acks.size()), kill_at);
    if (GetParam() == Backend::kPostgres && round_index == 1) {
      // The database server dies too, with whatever the killed writer had in flight.
      ASSERT_TRUE(server.Crash().ok());
      absl::Status restarted = server.Restart();
      ASSERT_TRUE(restarted.ok()) << restarted;
    }
    long long max_index = first_index;
    for (const Acked& ack : round.acks) max_index = std::max(max_index, ack.index);
    all.insert(all.end(), round.acks.begin(), round.acks.end());
    // Writes still in flight at the kill may or may not have committed; the next round
    // starts past them so it never collides with one.
    first_index = max_index + 100;

    absl::StatusOr<std::unique_ptr<Store>> store = Store::Open(location);
    ASSERT_TRUE(store.ok()) << store.status();
    ExpectAllPresent(**store, all);
  }
  EXPECT_GE(all.size(), 225u);
}

INSTANTIATE_TEST_SUITE_P(Drivers, DurabilityTest,
                         ::testing::Values(Backend::kSqlite, Backend::kPostgres), BackendName);

}  // namespace
}  // namespace tutti::server::store
