// The real tutti-server binary's start-up with and without development mode: without --dev a
// missing key set (a mistyped --keys) stops the start with EX_CONFIG and a message naming the
// files and the way out, and nothing is generated; an issuer secret beside the server's keys
// is warned about, and no connect URL (it would hold a member token) is printed; with --dev an
// empty directory gets a key set and the connect URL.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <string>

#include <gtest/gtest.h>

#include "crypto/keys.h"
#include "crypto/sodium_init.h"
#include "tests/testing/server_process.h"

namespace tutti::testing {
namespace {

namespace fs = std::filesystem;

class StartupKeys : public ::testing::Test {
 protected:
  void SetUp() override {
    crypto::EnsureSodiumInitialized();
    dir_ = fs::temp_directory_path() /
           ("tutti-startkeys-" + std::to_string(getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path dir_;
};

TEST_F(StartupKeys, MissingKeysWithoutDevModeAreAConfigurationError) {
  ServerProcess server(TUTTI_SERVER_BIN, dir_.string());
  server.set_dev(false);
  EXPECT_FALSE(server.Start()) << server.output();
  const int status = server.Stop(SIGTERM, 10000);
  ASSERT_TRUE(WIFEXITED(status)) << server.output();
  EXPECT_EQ(WEXITSTATUS(status), 78) << server.output();
  EXPECT_NE(server.output().find("no key set in " + dir_.string()), std::string::npos)
      << server.output();
  EXPECT_NE(server.output().find("tutti-keygen --dir"), std::string::npos) << server.output();
  EXPECT_NE(server.output().find("--dev"), std::string::npos) << server.output();
  // Nothing was generated behind the operator's back.
  EXPECT_FALSE(fs::exists(dir_ / crypto::kIssuerSecretFile));
  EXPECT_FALSE(fs::exists(dir_ / crypto::kSealSecretFile));
}

TEST_F(StartupKeys, AMistypedKeyDirectoryIsNotCreated) {
  const fs::path typo = dir_ / "kyes";
  ServerProcess server(TUTTI_SERVER_BIN, dir_.string(), {"--keys", typo.string()});
  server.set_dev(false);
  EXPECT_FALSE(server.Start()) << server.output();
  const int status = server.Stop(SIGTERM, 10000);
  ASSERT_TRUE(WIFEXITED(status)) << server.output();
  EXPECT_EQ(WEXITSTATUS(status), 78) << server.output();
  EXPECT_FALSE(fs::exists(typo));
}

TEST_F(StartupKeys, AnIssuerSecretBesideTheServerKeysIsWarnedAboutAndNoUrlIsPrinted) {
  ASSERT_TRUE(crypto::GenerateKeyFiles(dir_.string(), false).ok());
  ServerProcess server(TUTTI_SERVER_BIN, dir_.string());
  server.set_dev(false);
  ASSERT_TRUE(server.Start()) << server.output();
  EXPECT_TRUE(server.WaitForOutput("holds issuer_sign.key", 5000)) << server.output();
  // The start-up lines end with the connection ceiling; a URL would come after it.
  ASSERT_TRUE(server.WaitForOutput("at most ", 5000)) << server.output();
  EXPECT_EQ(server.Stop(SIGTERM, 10000), 0);
  // CountInOutput reads what the process wrote up to its exit.
  EXPECT_EQ(server.CountInOutput("connect URL"), 0u) << server.output();
  EXPECT_EQ(server.CountInOutput("/api/websocket/"), 0u) << server.output();
}

TEST_F(StartupKeys, AServerWithOnlyThePublicIssuerKeyStartsWithoutWarning) {
  ASSERT_TRUE(crypto::GenerateKeyFiles(dir_.string(), false).ok());
  fs::remove(dir_ / crypto::kIssuerSecretFile);
  ServerProcess server(TUTTI_SERVER_BIN, dir_.string());
  server.set_dev(false);
  ASSERT_TRUE(server.Start()) << server.output();
  ASSERT_TRUE(server.WaitForOutput("at most ", 5000)) << server.output();
  EXPECT_EQ(server.Stop(SIGTERM, 10000), 0);
  // (Not "no WARNING": another process may hold the default admin port.)
  EXPECT_EQ(server.CountInOutput("issuer_sign.key"), 0u) << server.output();
}

TEST_F(StartupKeys, DevModeGeneratesAKeySetAndPrintsAConnectUrl) {
  ServerProcess server(TUTTI_SERVER_BIN, dir_.string());
  ASSERT_TRUE(server.Start()) << server.output();
  EXPECT_TRUE(server.WaitForOutput("connect URL (single use, 60 s): ws://", 5000))
      << server.output();
  EXPECT_NE(server.output().find("generated development keys"), std::string::npos);
  EXPECT_EQ(server.Stop(SIGTERM, 10000), 0);
  EXPECT_TRUE(fs::exists(dir_ / crypto::kSealSecretFile));
  EXPECT_TRUE(fs::exists(dir_ / crypto::kIssuerSecretFile));
}

}  // namespace
}  // namespace tutti::testing
