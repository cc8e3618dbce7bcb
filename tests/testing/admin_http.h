// AdminHttp: a plain HTTP/1.1 client for the admin listener's port (one request per
// connection, read until the server closes), and a reader of the Prometheus text format
// it serves. Used by the integration tests on 127.0.0.x; stateless functions, called on
// the test's thread.
#ifndef TUTTI_TESTS_TESTING_ADMIN_HTTP_H_
#define TUTTI_TESTS_TESTING_ADMIN_HTTP_H_

#include <chrono>
#include <cstdint>
#include <map>
#include <string>

namespace tutti::testing {

struct AdminAnswer {
  int status = 0;  // 0: no complete answer
  std::string head;
  std::string body;
};

// Connects to 127.0.0.1:`port` (from `source`, a 127.0.0.x address, when not empty),
// sends `request` and reads until the peer closes, for at most `timeout`.
AdminAnswer AdminRequest(uint16_t port, const std::string& request, const std::string& source = "",
                         std::chrono::milliseconds timeout = std::chrono::seconds(10));
AdminAnswer AdminGet(uint16_t port, const std::string& path);

// "name{labels}" -> value, from the text exposition format (comments skipped).
std::map<std::string, double> ParseSamples(const std::string& text);
// The sum of every series of family `name` ("tutti_frames_in_total": all its labels).
double SumSeries(const std::map<std::string, double>& samples, const std::string& name);

}  // namespace tutti::testing

#endif  // TUTTI_TESTS_TESTING_ADMIN_HTTP_H_
