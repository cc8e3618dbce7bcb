#include "tests/testing/keyed_process_test.h"

#include <stdlib.h>

#include <filesystem>
#include <system_error>
#include <utility>

#include "server/clock.h"

namespace tutti::testing {

void KeyedProcessTest::SetUp() {
  std::string tmpl = "/tmp/tutti-" + label_ + "-XXXXXX";
  ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
  dir_ = tmpl;
  ASSERT_TRUE(crypto::GenerateKeyFiles(dir_, false).ok());
  auto issuer = crypto::LoadIssuerKeys(dir_);
  ASSERT_TRUE(issuer.ok());
  issuer_ = std::move(*issuer);
  auto seal = crypto::LoadSealPublicKey(dir_);
  ASSERT_TRUE(seal.ok());
  seal_ = *seal;
}

void KeyedProcessTest::TearDown() {
  std::error_code ec;
  if (!dir_.empty()) std::filesystem::remove_all(dir_, ec);
}

crypto::DevConnectionRequest KeyedProcessTest::MemberRequest(uint16_t port, const std::string& name,
                                                             std::vector<std::string> roles) const {
  crypto::DevConnectionRequest req;
  req.user_id = "u-" + name;
  req.name = name;
  req.member = true;
  req.roles = std::move(roles);
  req.port = port;
  return req;
}

crypto::DevConnection KeyedProcessTest::Mint(const crypto::DevConnectionRequest& req) const {
  auto dev = crypto::MintDevConnection(req, &issuer_, seal_, server::SystemClock().UnixMs());
  EXPECT_TRUE(dev.ok()) << dev.status();
  return dev.ok() ? *std::move(dev) : crypto::DevConnection{};
}

std::unique_ptr<client::Client> KeyedProcessTest::ConnectMember(uint16_t port,
                                                                const std::string& name,
                                                                std::vector<std::string> roles,
                                                                int* http_status) const {
  const crypto::DevConnection dev = Mint(MemberRequest(port, name, std::move(roles)));
  auto c = std::make_unique<client::Client>();
  auto r = c->Connect("127.0.0.1", port, dev.resource);
  if (http_status != nullptr) *http_status = r.http_status;
  if (!r.ok) return nullptr;
  if (!c->WaitFor(proto::ClientMessage::kWelcome, std::chrono::seconds(5))) return nullptr;
  return c;
}

proto::ClientMessage KeyedProcessTest::ReplyTo(client::Client& c, const std::string& rid,
                                               std::chrono::seconds wait) {
  for (int i = 0; i < 100; ++i) {
    auto m = c.Next(wait);
    if (!m) break;
    if (m->request_id() == rid) return *m;
  }
  ADD_FAILURE() << "no reply for " << rid;
  return {};
}

}  // namespace tutti::testing
