// BusListener: a subscriber of the node bus's channel (`tutti:nodebus`) that a test runs
// beside its nodes, on a thread of its own with its own RedisClient, keeping every
// message it hears so that the test can wait for one (a node's farewell). Messages that
// do not parse are kept out. Test code only: the listener's thread owns the client;
// Listening and WaitFor run on the test's thread. Stopped and joined by its destructor.
#ifndef TUTTI_TESTS_REDIS_BUS_LISTENER_H_
#define TUTTI_TESTS_REDIS_BUS_LISTENER_H_

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string_view>
#include <thread>
#include <vector>

#include <boost/asio/io_context.hpp>

#include "protos/node_bus.pb.h"
#include "server/redis/redis_client.h"

namespace tutti::testing {

class BusListener {
 public:
  explicit BusListener(uint16_t redis_port) {
    thread_ = std::thread([this, redis_port] {
      boost::asio::io_context io;
      server::redis::RedisClient sub(io, {"127.0.0.1", redis_port});
      sub.set_on_up([this] { up_.store(true); });
      sub.Subscribe("tutti:nodebus", [this](std::string_view, std::string_view payload) {
        proto::NodeBusMessage m;
        if (!m.ParseFromArray(payload.data(), static_cast<int>(payload.size()))) return;
        std::lock_guard<std::mutex> lock(mu_);
        heard_.push_back(std::move(m));
        cv_.notify_all();
      });
      sub.Start();
      while (!stop_.load()) {
        io.restart();
        io.run_for(std::chrono::milliseconds(5));
      }
      sub.Stop();
    });
  }
  ~BusListener() {
    stop_.store(true);
    thread_.join();
  }
  BusListener(const BusListener&) = delete;
  BusListener& operator=(const BusListener&) = delete;

  // Waits (bounded) until the link is up and its SUBSCRIBE went out.
  bool Listening(std::chrono::milliseconds timeout = std::chrono::seconds(10)) const {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!up_.load()) {
      if (std::chrono::steady_clock::now() >= deadline) return false;
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return true;
  }

  // The first message heard so far or within `timeout` that `want` accepts.
  std::optional<proto::NodeBusMessage> WaitFor(
      const std::function<bool(const proto::NodeBusMessage&)>& want,
      std::chrono::milliseconds timeout) {
    std::unique_lock<std::mutex> lock(mu_);
    std::optional<proto::NodeBusMessage> found;
    cv_.wait_for(lock, timeout, [&] {
      for (const proto::NodeBusMessage& m : heard_) {
        if (want(m)) {
          found = m;
          return true;
        }
      }
      return false;
    });
    return found;
  }

 private:
  std::thread thread_;
  std::atomic<bool> stop_{false};
  std::atomic<bool> up_{false};
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<proto::NodeBusMessage> heard_;
};

}  // namespace tutti::testing

#endif  // TUTTI_TESTS_REDIS_BUS_LISTENER_H_
