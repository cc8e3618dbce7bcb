#include "crypto/keys.h"

#include <sys/stat.h>

#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "crypto/jwt.h"
#include "crypto/sealed_box.h"
#include "gtest/gtest.h"

namespace tutti::crypto {
namespace {

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void WriteAll(const std::string& path, const std::string& text) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << text;
}

// "tutti-<kind>-v1 <43 base64url chars>\n". (No std::regex: g++ 12 warns
// inside <regex> under the sanitizer build, and warnings are errors.)
bool IsKeyLine(const std::string& text) {
  static const char* const kKinds[] = {"seal-secret", "seal-public", "issuer-secret",
                                       "issuer-public"};
  for (const char* kind : kKinds) {
    std::string prefix = std::string("tutti-") + kind + "-v1 ";
    if (text.rfind(prefix, 0) != 0) continue;
    std::string rest = text.substr(prefix.size());
    if (rest.size() != 44 || rest.back() != '\n') return false;
    for (size_t i = 0; i < 43; ++i) {
      char c = rest[i];
      if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_') return false;
    }
    return true;
  }
  return false;
}

mode_t ModeOf(const std::string& path) {
  struct stat st;
  EXPECT_EQ(::stat(path.c_str(), &st), 0) << path;
  return st.st_mode & 0777;
}

class KeysTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = ::testing::TempDir() + "tutti-keys-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    root_ = tmpl;
    dir_ = root_ + "/keys";
  }
  void TearDown() override { std::filesystem::remove_all(root_); }

  std::string Path(const char* name) const { return dir_ + "/" + name; }

  std::string root_;
  std::string dir_;
};

TEST(SecretBytesTest, IsZeroedSizedAndMovable) {
  SecretBytes a(32);
  ASSERT_EQ(a.size(), 32u);
  for (size_t i = 0; i < a.size(); ++i) EXPECT_EQ(a.data()[i], 0);
  a.data()[0] = 7;
  SecretBytes b(std::move(a));
  EXPECT_TRUE(a.empty());  // NOLINT(bugprone-use-after-move): documented state
  EXPECT_EQ(a.data(), nullptr);
  EXPECT_EQ(b.data()[0], 7);
  SecretBytes c;
  c = std::move(b);
  EXPECT_EQ(c.size(), 32u);
  EXPECT_TRUE(b.empty());  // NOLINT(bugprone-use-after-move)
  static_assert(!std::is_copy_constructible_v<SecretBytes>);
  static_assert(!std::is_copy_assignable_v<SecretBytes>);
}

TEST_F(KeysTest, GeneratesFilesWithModesAndTheDocumentedFormat) {
  ASSERT_TRUE(GenerateKeyFiles(dir_, false).ok());
  EXPECT_EQ(ModeOf(dir_), 0700u);
  EXPECT_EQ(ModeOf(Path(kSealSecretFile)), 0600u);
  EXPECT_EQ(ModeOf(Path(kIssuerSecretFile)), 0600u);
  EXPECT_EQ(ModeOf(Path(kSealPublicFile)), 0644u);
  EXPECT_EQ(ModeOf(Path(kIssuerPublicFile)), 0644u);
  for (const char* name :
       {kSealSecretFile, kSealPublicFile, kIssuerSecretFile, kIssuerPublicFile}) {
    EXPECT_TRUE(IsKeyLine(ReadAll(Path(name)))) << name;
  }
  EXPECT_EQ(ReadAll(Path(kSealSecretFile)).rfind("tutti-seal-secret-v1 ", 0), 0u);
  EXPECT_EQ(ReadAll(Path(kIssuerPublicFile)).rfind("tutti-issuer-public-v1 ", 0), 0u);
  // No temporary files are left behind.
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(dir_),
                          std::filesystem::directory_iterator()),
            4);
}

TEST_F(KeysTest, LoadedKeysWorkTogether) {
  ASSERT_TRUE(GenerateKeyFiles(dir_, false).ok());
  absl::StatusOr<ServerKeys> server = LoadServerKeys(dir_);
  ASSERT_TRUE(server.ok()) << server.status();
  absl::StatusOr<IssuerKeys> issuer = LoadIssuerKeys(dir_);
  ASSERT_TRUE(issuer.ok()) << issuer.status();
  absl::StatusOr<PublicKey> seal_public = LoadSealPublicKey(dir_);
  ASSERT_TRUE(seal_public.ok());
  EXPECT_EQ(*seal_public, server->seal_public);
  EXPECT_EQ(issuer->public_key, server->issuer_public);
  EXPECT_EQ(server->seal_secret.size(), 32u);
  EXPECT_EQ(issuer->secret_key.size(), 64u);

  absl::StatusOr<std::string> opened = OpenSealed(Seal("hi", *seal_public), *server);
  ASSERT_TRUE(opened.ok());
  EXPECT_EQ(*opened, "hi");
  TokenClaims claims;
  claims.sub = "u";
  claims.exp = 2000000000;
  EXPECT_TRUE(VerifyToken(MintToken(claims, *issuer), server->issuer_public, 1900000000, 0).ok());
}

TEST_F(KeysTest, RefusesToOverwriteUnlessAsked) {
  ASSERT_TRUE(GenerateKeyFiles(dir_, false).ok());
  std::string before = ReadAll(Path(kSealSecretFile));
  EXPECT_EQ(GenerateKeyFiles(dir_, false).code(), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(ReadAll(Path(kSealSecretFile)), before);
  ASSERT_TRUE(GenerateKeyFiles(dir_, true).ok());
  EXPECT_NE(ReadAll(Path(kSealSecretFile)), before);
  EXPECT_EQ(ModeOf(Path(kSealSecretFile)), 0600u);
  EXPECT_TRUE(LoadServerKeys(dir_).ok());
}

TEST_F(KeysTest, EnsureDevKeysIsIdempotent) {
  absl::StatusOr<bool> first = EnsureDevKeys(dir_);
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_TRUE(*first);
  std::string seal = ReadAll(Path(kSealSecretFile));
  std::string issuer = ReadAll(Path(kIssuerSecretFile));
  absl::StatusOr<bool> second = EnsureDevKeys(dir_);
  ASSERT_TRUE(second.ok());
  EXPECT_FALSE(*second);
  EXPECT_EQ(ReadAll(Path(kSealSecretFile)), seal);
  EXPECT_EQ(ReadAll(Path(kIssuerSecretFile)), issuer);
}

TEST_F(KeysTest, EnsureDevKeysAcceptsAServerWithoutTheIssuerSecret) {
  ASSERT_TRUE(GenerateKeyFiles(dir_, false).ok());
  std::filesystem::remove(Path(kIssuerSecretFile));
  absl::StatusOr<bool> r = EnsureDevKeys(dir_);
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(*r);
  EXPECT_TRUE(LoadServerKeys(dir_).ok());
  EXPECT_EQ(LoadIssuerKeys(dir_).status().code(), absl::StatusCode::kNotFound);
}

TEST_F(KeysTest, EnsureDevKeysRefusesAPartialSet) {
  ASSERT_TRUE(GenerateKeyFiles(dir_, false).ok());
  std::filesystem::remove(Path(kSealPublicFile));
  EXPECT_EQ(EnsureDevKeys(dir_).status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_FALSE(std::filesystem::exists(Path(kSealPublicFile)));
}

TEST_F(KeysTest, SecretReadableByOthersIsRefused) {
  ASSERT_TRUE(GenerateKeyFiles(dir_, false).ok());
  ASSERT_EQ(::chmod(Path(kSealSecretFile).c_str(), 0644), 0);
  EXPECT_EQ(LoadServerKeys(dir_).status().code(), absl::StatusCode::kFailedPrecondition);
  ASSERT_EQ(::chmod(Path(kIssuerSecretFile).c_str(), 0640), 0);
  EXPECT_EQ(LoadIssuerKeys(dir_).status().code(), absl::StatusCode::kFailedPrecondition);
}

TEST_F(KeysTest, MissingOrCorruptFilesAreRefused) {
  EXPECT_EQ(LoadServerKeys(dir_).status().code(), absl::StatusCode::kNotFound);
  ASSERT_TRUE(GenerateKeyFiles(dir_, false).ok());
  const std::string good = ReadAll(Path(kSealPublicFile));
  for (std::string bad :
       {std::string(), std::string("\n"), good.substr(0, good.size() - 2) + "\n",
        "tutti-seal-secret-v1 " + good.substr(good.find(' ') + 1),  // wrong kind
        "tutti-seal-public-v2 " + good.substr(good.find(' ') + 1),  // unknown version
        good.substr(0, good.find(' ')) + "  " + good.substr(good.find(' ') + 1),
        good.substr(0, good.size() - 1) + "==\n", good + good, std::string(1000, 'x')}) {
    WriteAll(Path(kSealPublicFile), bad);
    EXPECT_EQ(LoadSealPublicKey(dir_).status().code(), absl::StatusCode::kInvalidArgument) << bad;
    EXPECT_FALSE(LoadServerKeys(dir_).ok());
  }
  // Windows line endings and a missing final newline are both fine.
  WriteAll(Path(kSealPublicFile), good.substr(0, good.size() - 1) + "\r\n");
  EXPECT_TRUE(LoadServerKeys(dir_).ok());
  WriteAll(Path(kSealPublicFile), good.substr(0, good.size() - 1));
  EXPECT_TRUE(LoadServerKeys(dir_).ok());
}

TEST_F(KeysTest, MismatchedPairsAreRefused) {
  ASSERT_TRUE(GenerateKeyFiles(dir_, false).ok());
  std::string other = root_ + "/other";
  ASSERT_TRUE(GenerateKeyFiles(other, false).ok());
  std::filesystem::copy_file(other + "/" + kSealPublicFile, Path(kSealPublicFile),
                             std::filesystem::copy_options::overwrite_existing);
  EXPECT_EQ(LoadServerKeys(dir_).status().code(), absl::StatusCode::kFailedPrecondition);
  std::filesystem::copy_file(other + "/" + kIssuerPublicFile, Path(kIssuerPublicFile),
                             std::filesystem::copy_options::overwrite_existing);
  EXPECT_EQ(LoadIssuerKeys(dir_).status().code(), absl::StatusCode::kFailedPrecondition);
}

TEST(KeyLineTest, FormatsPublicKeys) {
  PublicKey zero{};
  EXPECT_EQ(FormatPublicKeyLine("seal-public", zero),
            "tutti-seal-public-v1 AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
}

}  // namespace
}  // namespace tutti::crypto
