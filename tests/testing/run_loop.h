// RunLoopUntil: drives an io_context in 5 ms slices on the calling thread until a
// condition holds or a deadline passes, for tests that own their loop (the Redis client,
// broker and node bus tests). Header-only; the caller's thread; no owner.
#ifndef TUTTI_TESTS_TESTING_RUN_LOOP_H_
#define TUTTI_TESTS_TESTING_RUN_LOOP_H_

#include <chrono>
#include <functional>

#include <boost/asio/io_context.hpp>

namespace tutti::testing {

// True when `done` held before `timeout`.
inline bool RunLoopUntil(boost::asio::io_context& io, const std::function<bool()>& done,
                         std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!done()) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    io.restart();
    io.run_for(std::chrono::milliseconds(5));
  }
  return true;
}

}  // namespace tutti::testing

#endif  // TUTTI_TESTS_TESTING_RUN_LOOP_H_
