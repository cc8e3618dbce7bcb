// AdminListenerFixture: a gtest fixture for tests of the admin listener's port
// (server/admin_listener.h) against a real TestServer on 127.0.0.1: the test's SetUp makes
// server_ (with its own configuration and clock), StartAdmin puts the listener on a free
// loopback port, Scrape reads /metrics with the plain HTTP client of admin_http.h.
// Owns the server and the listener for one test; everything runs on the test's thread
// (the server's own threads are TestServer's). The listener is declared after the server
// so that it goes first: it reads the server until it stops.
#ifndef TUTTI_TESTS_TESTING_ADMIN_FIXTURE_H_
#define TUTTI_TESTS_TESTING_ADMIN_FIXTURE_H_

#include <map>
#include <memory>
#include <string>

#include "gtest/gtest.h"
#include "server/admin_listener.h"
#include "tests/testing/admin_http.h"
#include "tests/testing/test_server.h"

namespace tutti::testing {

class AdminListenerFixture : public ::testing::Test {
 protected:
  // Starts the admin listener for server_, which the test's SetUp made.
  void StartAdmin() {
    admin_ = std::make_unique<server::AdminListener>(&server_->server());
    ASSERT_TRUE(admin_->Start("127.0.0.1:0").ok());
    ASSERT_NE(admin_->port(), 0);
  }

  // One scrape of /metrics, which must answer 200: "name{labels}" -> value (and the text
  // itself in *text).
  std::map<std::string, double> Scrape(std::string* text = nullptr) {
    AdminAnswer a = AdminGet(admin_->port(), "/metrics");
    EXPECT_EQ(a.status, 200) << a.head;
    if (text != nullptr) *text = a.body;
    return ParseSamples(a.body);
  }

  std::unique_ptr<TestServer> server_;
  std::unique_ptr<server::AdminListener> admin_;
};

}  // namespace tutti::testing

#endif  // TUTTI_TESTS_TESTING_ADMIN_FIXTURE_H_
