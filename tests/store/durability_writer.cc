// The child process of durability_test.cc. It writes through a StorageThread exactly
// as a shard would, and prints "ack <kind> <index>" on stdout from each completion
// callback, i.e. at the moment the server would tell a user "done". The test kills it
// with SIGKILL right after reading an ack and then checks every acked write.
//
// usage: tutti_store_durability_writer <database path or postgres:// URL> <first index>
// Runs until killed. Exit 2: cannot open the store; exit 3: a write failed.
#include <unistd.h>

#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>

#include "server/store/storage_thread.h"
#include "server/store/store.h"

namespace {

using tutti::server::store::RoomRecord;
using tutti::server::store::StorageThread;
using tutti::server::store::Store;

// In-flight operations: enough to keep the queue non-empty, so a kill can land while
// later writes wait behind an acked one.
constexpr int kMaxInFlight = 8;

// The main thread plays the shard: completions are queued here and run by main().
class Completions {
 public:
  StorageThread::Executor executor() {
    return [this](std::function<void()> fn) {
      std::lock_guard<std::mutex> lock(mu_);
      queue_.push_back(std::move(fn));
      cv_.notify_one();
    };
  }
  void RunOne() {
    std::function<void()> fn;
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock, [this] { return !queue_.empty(); });
      fn = std::move(queue_.front());
      queue_.pop_front();
    }
    fn();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> queue_;
};

// One write(2) per line: the line reaches the pipe whole, before anything after it.
void Ack(const char* kind, long long index) {
  char line[64];
  const int n = std::snprintf(line, sizeof(line), "ack %s %lld\n", kind, index);
  if (write(STDOUT_FILENO, line, n) != n) std::_Exit(4);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: %s <database path> <first index>\n", argv[0]);
    return 1;
  }
  absl::StatusOr<std::unique_ptr<Store>> store = Store::Open(argv[1]);
  if (!store.ok()) {
    std::fprintf(stderr, "open: %s\n", std::string(store.status().ToString()).c_str());
    return 2;
  }
  StorageThread storage(std::move(*store));
  Completions completions;
  int in_flight = 0;
  long long next = std::atoll(argv[2]);

  auto finish = [&in_flight](const char* kind, long long index, const absl::Status& status) {
    --in_flight;
    if (!status.ok()) {
      std::fprintf(stderr, "%s %lld: %s\n", kind, index, std::string(status.ToString()).c_str());
      std::_Exit(3);
    }
    Ack(kind, index);
  };

  while (true) {
    while (in_flight < kMaxInFlight) {
      const long long i = next++;
      const std::string n = std::to_string(i);
      absl::Status submitted;
      switch (i % 3) {
        case 0:
          submitted = storage.Submit(
              [n, i](Store& s) {
                return s.AddServerBan(
                    tutti::server::moderation::ServerBan{"user-" + n, "durability", "test", i, 0});
              },
              completions.executor(), [&finish, i](absl::Status st) { finish("ban", i, st); });
          break;
        case 1:
          submitted = storage.Submit(
              [n, i](Store& s) -> absl::Status {
                absl::StatusOr<tutti::server::store::FriendRequestResult> sent =
                    s.SendFriendRequest("a-" + n, "b-" + n, i);
                if (!sent.ok()) return sent.status();
                return s.AcceptFriendRequest("b-" + n, "a-" + n, i);
              },
              completions.executor(), [&finish, i](absl::Status st) { finish("friend", i, st); });
          break;
        default:
          submitted = storage.Submit(
              [n, i](Store& s) {
                RoomRecord room;
                room.room_id = "room-" + n;
                room.name = "Room " + n;
                room.settings = "settings-" + n;
                room.owner_id = "owner-" + n;
                room.topic = "topic-" + n;
                room.moderators = {"mod-" + n};
                room.updated_unix_ms = i;
                return s.SaveRoom(room);
              },
              completions.executor(), [&finish, i](absl::Status st) { finish("room", i, st); });
          break;
      }
      if (!submitted.ok()) {
        std::fprintf(stderr, "submit: %s\n", std::string(submitted.ToString()).c_str());
        return 3;
      }
      ++in_flight;
    }
    completions.RunOne();
  }
}
