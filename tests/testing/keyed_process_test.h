// KeyedProcessTest: the fixture base of tests that run the real tutti-server as a child
// process (ServerProcess): a fresh temporary directory holding a development key set
// (issuer and seal keys, generated in SetUp, removed with the directory in TearDown),
// and the member connections such a test mints from those keys. One per test, on the
// test's thread; not thread-safe.
#ifndef TUTTI_TESTS_TESTING_KEYED_PROCESS_TEST_H_
#define TUTTI_TESTS_TESTING_KEYED_PROCESS_TEST_H_

#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "crypto/dev_connection.h"
#include "crypto/keys.h"
#include "protos/tutti.pb.h"
#include "tools/client/client.h"

namespace tutti::testing {

class KeyedProcessTest : public ::testing::Test {
 protected:
  // `label` names the directory (/tmp/tutti-<label>-XXXXXX), to tell a kept one apart.
  explicit KeyedProcessTest(std::string label) : label_(std::move(label)) {}

  void SetUp() override;
  void TearDown() override;

  // A member's connection request ("u-<name>", `roles`) for the server on `port`, sealed
  // with this directory's keys.
  crypto::DevConnectionRequest MemberRequest(uint16_t port, const std::string& name,
                                             std::vector<std::string> roles = {}) const;
  crypto::DevConnection Mint(const crypto::DevConnectionRequest& req) const;

  // A member's connection, welcomed; nullptr when the upgrade or the Welcome fails.
  // `http_status` (optional) gets the upgrade's status.
  std::unique_ptr<client::Client> ConnectMember(uint16_t port, const std::string& name,
                                                std::vector<std::string> roles = {},
                                                int* http_status = nullptr) const;

  // The next message carrying `rid` (a CommandResult, an error, ...); a failure and an
  // empty message when none comes within 100 messages of `wait` each.
  static proto::ClientMessage ReplyTo(client::Client& c, const std::string& rid,
                                      std::chrono::seconds wait = std::chrono::seconds(5));

  std::string dir_;
  crypto::IssuerKeys issuer_;
  crypto::PublicKey seal_{};

 private:
  std::string label_;
};

}  // namespace tutti::testing

#endif  // TUTTI_TESTS_TESTING_KEYED_PROCESS_TEST_H_
