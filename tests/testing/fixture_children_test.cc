// The servers the test fixtures start (RedisProcess, ServerProcess) and the clients tests run
// as child processes (ChildProcess: tutti-play, tutti-midi-bridge, JACK programs) go when the
// test process that started them is killed (ctest's timeout, SIGKILL): no destructor runs then,
// so only DieWithParent (die_with_parent.h) stops them. Each fixture runs in a process of its
// own, this binary re-run as `fixture_children_test --hold redis|server|client`, which starts
// one, prints "ok <pid>" (or "fail") and holds it until its stdin closes; the test SIGKILLs
// that process and waits, bounded, for its child to go.
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "tests/testing/child_process.h"
#include "tests/testing/child_watch.h"
#include "tests/testing/redis_process.h"
#include "tests/testing/server_process.h"

namespace tutti::testing {

using namespace std::chrono_literals;

int Hold(const std::string& what) {
  pid_t pid = -1;
  std::unique_ptr<RedisProcess> redis;
  std::unique_ptr<ServerProcess> server;
  std::unique_ptr<ChildProcess> client;
  std::string dir;
  if (what == "redis") {
    redis = std::make_unique<RedisProcess>();
    if (redis->Start()) {
      pid = redis->pid();
      // redis-server runs in its temp dir (--dir): a killed holder leaves it behind.
      std::error_code ec;
      dir = std::filesystem::read_symlink("/proc/" + std::to_string(pid) + "/cwd", ec).string();
    }
  } else if (what == "client") {
    // Any program stands for the client here: what is tested is how ChildProcess forks it.
    client = std::make_unique<ChildProcess>(std::vector<std::string>{"sleep", "600"}, "/dev/null");
    if (client->started()) pid = client->pid();
  } else if (what == "server") {
    char tmpl[] = "/tmp/tutti-children-XXXXXX";
    if (mkdtemp(tmpl) != nullptr) {
      dir = tmpl;
      server = std::make_unique<ServerProcess>(TUTTI_SERVER_BIN, dir);
      if (server->Start()) pid = server->pid();
    }
  }
  // The dir too: a killed holder leaves it for the test to remove.
  std::printf("%s %d %s\n", pid > 0 ? "ok" : "fail", static_cast<int>(pid), dir.c_str());
  std::fflush(stdout);
  if (pid > 0) HoldUntilStdinCloses();
  client.reset();
  server.reset();
  redis.reset();  // removes its own dir
  std::error_code ec;
  if (what == "server" && !dir.empty()) std::filesystem::remove_all(dir, ec);
  return pid > 0 ? 0 : 1;
}

namespace {

// Starts a holder of `what`, SIGKILLs it once its server runs, and expects the server to go.
void ExpectDiesWithHolder(const std::string& what) {
  SelfChild child = SpawnSelf({"--hold", what});
  ASSERT_GT(child.pid, 0);
  const auto line = ReadLine(child.out, std::chrono::steady_clock::now() + 60s);
  std::string status, dir;
  int pid = 0;
  if (line) std::istringstream(*line) >> status >> pid >> dir;
  EXPECT_EQ(status, "ok") << "the holder did not start " << what << ": " << line.value_or("");
  const std::string started = pid > 0 ? StartTimeAndState(pid).first : "";
  EXPECT_FALSE(started.empty());
  kill(child.pid, SIGKILL);
  int wstatus = 0;
  waitpid(child.pid, &wstatus, 0);
  close(child.in);
  close(child.out);
  std::error_code ec;
  if (status != "ok" || started.empty()) {
    if (!dir.empty()) std::filesystem::remove_all(dir, ec);
    return;
  }
  const bool gone = WaitGone(pid, started, std::chrono::steady_clock::now() + 20s);
  EXPECT_TRUE(gone) << what << " " << pid << " outlived the test process that started it";
  if (!gone) kill(pid, SIGKILL);
  if (!dir.empty()) std::filesystem::remove_all(dir, ec);
}

TEST(FixtureChildrenTest, RedisServerDiesWithTheProcessThatStartedIt) {
  ASSERT_TRUE(RedisServerAvailable()) << "redis-server missing: run tools/setup.sh";
  ExpectDiesWithHolder("redis");
}

TEST(FixtureChildrenTest, TuttiServerDiesWithTheProcessThatStartedIt) {
  ExpectDiesWithHolder("server");
}

TEST(FixtureChildrenTest, ClientProcessDiesWithTheProcessThatStartedIt) {
  ExpectDiesWithHolder("client");
}

}  // namespace
}  // namespace tutti::testing

int main(int argc, char** argv) {
  if (argc == 3 && std::strcmp(argv[1], "--hold") == 0) return tutti::testing::Hold(argv[2]);
  ::testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
