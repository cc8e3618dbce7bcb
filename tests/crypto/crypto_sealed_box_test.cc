#include "crypto/sealed_box.h"

#include <string>

#include "gtest/gtest.h"

namespace tutti::crypto {
namespace {

class SealedBoxTest : public ::testing::Test {
 protected:
  ServerKeys keys_ = GenerateServerKeys(PublicKey{});
};

TEST_F(SealedBoxTest, RoundTrips) {
  for (std::string plaintext : {std::string(), std::string("x"), std::string(1000, 'q'),
                                std::string("\0\xff\x80 binary", 10)}) {
    std::string sealed = Seal(plaintext, keys_.seal_public);
    EXPECT_EQ(sealed.size(), plaintext.size() + kSealOverheadBytes);
    absl::StatusOr<std::string> opened = OpenSealed(sealed, keys_);
    ASSERT_TRUE(opened.ok()) << opened.status();
    EXPECT_EQ(*opened, plaintext);
  }
}

TEST_F(SealedBoxTest, EverySealIsFresh) {
  // The ephemeral sender key differs each time, so equal plaintexts do not
  // produce equal payloads (nothing to correlate in URLs).
  EXPECT_NE(Seal("same", keys_.seal_public), Seal("same", keys_.seal_public));
}

TEST_F(SealedBoxTest, AnyFlippedByteIsRefused) {
  // Covers the ephemeral public key (0..31), the MAC (32..47) and the body.
  const std::string sealed = Seal("{\"socket_id\":\"abc\",\"ts\":1}", keys_.seal_public);
  for (size_t i = 0; i < sealed.size(); ++i) {
    for (uint8_t mask : {0x01, 0x80}) {
      std::string tampered = sealed;
      tampered[i] = static_cast<char>(tampered[i] ^ mask);
      EXPECT_FALSE(OpenSealed(tampered, keys_).ok()) << "byte " << i;
    }
  }
}

TEST_F(SealedBoxTest, TruncatedExtendedOrShortIsRefused) {
  const std::string sealed = Seal("hello", keys_.seal_public);
  EXPECT_FALSE(OpenSealed(sealed.substr(0, sealed.size() - 1), keys_).ok());
  EXPECT_FALSE(OpenSealed(sealed + "x", keys_).ok());
  EXPECT_EQ(OpenSealed(std::string(kSealOverheadBytes - 1, 'a'), keys_).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_FALSE(OpenSealed("", keys_).ok());
  EXPECT_FALSE(OpenSealed(std::string(kSealOverheadBytes, '\0'), keys_).ok());
}

TEST_F(SealedBoxTest, OtherRecipientCannotOpen) {
  ServerKeys other = GenerateServerKeys(PublicKey{});
  std::string sealed = Seal("secret", other.seal_public);
  EXPECT_EQ(OpenSealed(sealed, keys_).status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_TRUE(OpenSealed(sealed, other).ok());
}

}  // namespace
}  // namespace tutti::crypto
