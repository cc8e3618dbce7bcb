#include "crypto/keys.h"

#include <fcntl.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "crypto/base64url.h"
#include "crypto/sodium_init.h"

namespace tutti::crypto {
namespace {

constexpr char kSealSecretKind[] = "seal-secret";
constexpr char kSealPublicKind[] = "seal-public";
constexpr char kIssuerSecretKind[] = "issuer-secret";
constexpr char kIssuerPublicKind[] = "issuer-public";

// Larger than any valid key line; a bigger file is refused unread.
constexpr size_t kMaxKeyFileBytes = 256;

std::string JoinPath(const std::string& dir, const char* name) {
  if (dir.empty()) return name;
  if (dir.back() == '/') return dir + name;
  return absl::StrCat(dir, "/", name);
}

bool FileExists(const std::string& path) {
  struct stat st;
  return ::lstat(path.c_str(), &st) == 0;
}

absl::Status ErrnoStatus(int err, const char* what, const std::string& path) {
  std::string msg = absl::StrCat(what, " ", path, ": ", std::strerror(err));
  if (err == ENOENT) return absl::NotFoundError(msg);
  if (err == EEXIST) return absl::AlreadyExistsError(msg);
  if (err == EACCES || err == EPERM) return absl::PermissionDeniedError(msg);
  return absl::InternalError(msg);
}

// Wipes a std::string that held secret text. Best effort: the strings we build
// are reserved up front so no reallocation left an older copy behind.
void Wipe(std::string* s) {
  if (!s->empty()) sodium_memzero(s->data(), s->size());
  s->clear();
}

std::string KeyLine(const char* kind, const uint8_t* bytes, size_t n) {
  std::string b64 = Base64UrlEncode(std::string_view(reinterpret_cast<const char*>(bytes), n));
  std::string line;
  line.reserve(std::strlen(kind) + 12 + b64.size());
  line.append("tutti-").append(kind).append("-v1 ").append(b64).append("\n");
  Wipe(&b64);
  return line;
}

// Writes `content` to `path` with `mode` via a temporary file so readers never
// see a half-written key. Without `overwrite`, link() makes the final step fail
// with EEXIST if someone else created the file meanwhile.
absl::Status WriteKeyFile(const std::string& path, const std::string& content, mode_t mode,
                          bool overwrite) {
  uint8_t rnd[8];
  randombytes_buf(rnd, sizeof rnd);
  std::string tmp = absl::StrCat(
      path, ".tmp-",
      Base64UrlEncode(std::string_view(reinterpret_cast<const char*>(rnd), sizeof rnd)));
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode);
  if (fd < 0) return ErrnoStatus(errno, "cannot create", tmp);
  // The umask may have narrowed the mode; it must never widen it, but make the
  // result exact either way.
  absl::Status status;
  if (::fchmod(fd, mode) != 0) status = ErrnoStatus(errno, "cannot chmod", tmp);
  size_t done = 0;
  while (status.ok() && done < content.size()) {
    ssize_t n = ::write(fd, content.data() + done, content.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      status = ErrnoStatus(errno, "cannot write", tmp);
      break;
    }
    done += static_cast<size_t>(n);
  }
  if (status.ok() && ::fsync(fd) != 0) status = ErrnoStatus(errno, "cannot sync", tmp);
  if (::close(fd) != 0 && status.ok()) status = ErrnoStatus(errno, "cannot close", tmp);
  if (status.ok()) {
    if (overwrite) {
      if (::rename(tmp.c_str(), path.c_str()) != 0) {
        status = ErrnoStatus(errno, "cannot rename to", path);
      }
    } else if (::link(tmp.c_str(), path.c_str()) != 0) {
      status = ErrnoStatus(errno, "cannot create", path);
    }
  }
  ::unlink(tmp.c_str());  // after rename this fails harmlessly
  return status;
}

// Reads a key file into `out` (exactly out_len bytes). Secret files must not be
// readable by group or others, like ssh insists for its private keys.
absl::Status ReadKeyFile(const std::string& path, const char* kind, bool secret, uint8_t* out,
                         size_t out_len) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) return ErrnoStatus(errno, "cannot open", path);
  struct stat st;
  if (::fstat(fd, &st) != 0) {
    int err = errno;
    ::close(fd);
    return ErrnoStatus(err, "cannot stat", path);
  }
  if (!S_ISREG(st.st_mode)) {
    ::close(fd);
    return absl::FailedPreconditionError(absl::StrCat(path, " is not a regular file"));
  }
  if (secret && (st.st_mode & 077) != 0) {
    ::close(fd);
    return absl::FailedPreconditionError(
        absl::StrCat(path, " is readable by group or others; run chmod 600 on it"));
  }
  char buf[kMaxKeyFileBytes + 1];
  size_t len = 0;
  absl::Status status;
  while (len < sizeof buf) {
    ssize_t n = ::read(fd, buf + len, sizeof buf - len);
    if (n < 0) {
      if (errno == EINTR) continue;
      status = ErrnoStatus(errno, "cannot read", path);
      break;
    }
    if (n == 0) break;
    len += static_cast<size_t>(n);
  }
  ::close(fd);
  if (status.ok() && len > kMaxKeyFileBytes) {
    status = absl::InvalidArgumentError(absl::StrCat(path, " is too large to be a key file"));
  }
  if (status.ok()) {
    std::string_view text(buf, len);
    if (!text.empty() && text.back() == '\n') text.remove_suffix(1);
    if (!text.empty() && text.back() == '\r') text.remove_suffix(1);
    std::string prefix = absl::StrCat("tutti-", kind, "-v1 ");
    if (text.substr(0, prefix.size()) != prefix) {
      status =
          absl::InvalidArgumentError(absl::StrCat(path, " does not start with \"", prefix, "\""));
    } else if (!Base64UrlDecodeInto(text.substr(prefix.size()), out, out_len)) {
      status = absl::InvalidArgumentError(
          absl::StrCat(path, " does not hold a ", out_len, "-byte base64url key"));
    }
  }
  sodium_memzero(buf, sizeof buf);
  return status;
}

absl::Status EnsureDirectory(const std::string& dir) {
  std::error_code ec;
  if (std::filesystem::is_directory(dir, ec)) return absl::OkStatus();
  if (!std::filesystem::create_directories(dir, ec) || ec) {
    return absl::InternalError(absl::StrCat("cannot create directory ", dir, ": ", ec.message()));
  }
  // The key directory is private; the files inside carry their own modes too.
  if (::chmod(dir.c_str(), 0700) != 0) return ErrnoStatus(errno, "cannot chmod", dir);
  return absl::OkStatus();
}

}  // namespace

SecretBytes::SecretBytes(size_t size) {
  EnsureSodiumInitialized();
  if (size == 0) return;
  void* p = sodium_malloc(size);
  if (p == nullptr) {
    std::fputs("tutti: sodium_malloc failed for key material\n", stderr);
    std::abort();
  }
  data_ = static_cast<uint8_t*>(p);
  size_ = size;
  sodium_memzero(data_, size_);
}

SecretBytes::~SecretBytes() { Reset(); }

SecretBytes::SecretBytes(SecretBytes&& other) noexcept
    : data_(std::exchange(other.data_, nullptr)), size_(std::exchange(other.size_, 0)) {}

SecretBytes& SecretBytes::operator=(SecretBytes&& other) noexcept {
  if (this != &other) {
    Reset();
    data_ = std::exchange(other.data_, nullptr);
    size_ = std::exchange(other.size_, 0);
  }
  return *this;
}

void SecretBytes::Reset() {
  if (data_ != nullptr) {
    // sodium_free also wipes, but say it here so the invariant is visible.
    sodium_memzero(data_, size_);
    sodium_free(data_);
  }
  data_ = nullptr;
  size_ = 0;
}

ServerKeys GenerateServerKeys(const PublicKey& issuer_public) {
  EnsureSodiumInitialized();
  ServerKeys keys;
  keys.seal_secret = SecretBytes(crypto_box_SECRETKEYBYTES);
  crypto_box_keypair(keys.seal_public.data(), keys.seal_secret.data());
  keys.issuer_public = issuer_public;
  return keys;
}

IssuerKeys GenerateIssuerKeys() {
  EnsureSodiumInitialized();
  IssuerKeys keys;
  keys.secret_key = SecretBytes(crypto_sign_SECRETKEYBYTES);
  crypto_sign_keypair(keys.public_key.data(), keys.secret_key.data());
  return keys;
}

IssuerKeys IssuerKeysFromSeed(const uint8_t seed[32]) {
  EnsureSodiumInitialized();
  IssuerKeys keys;
  keys.secret_key = SecretBytes(crypto_sign_SECRETKEYBYTES);
  crypto_sign_seed_keypair(keys.public_key.data(), keys.secret_key.data(), seed);
  return keys;
}

std::string FormatPublicKeyLine(const char* kind, const PublicKey& key) {
  std::string line = KeyLine(kind, key.data(), key.size());
  line.pop_back();  // the newline belongs to the file, not the text
  return line;
}

absl::Status GenerateKeyFiles(const std::string& dir, bool overwrite) {
  static_assert(crypto_box_PUBLICKEYBYTES == 32 && crypto_box_SECRETKEYBYTES == 32);
  static_assert(crypto_sign_PUBLICKEYBYTES == 32 && crypto_sign_SEEDBYTES == 32);
  EnsureSodiumInitialized();
  if (absl::Status s = EnsureDirectory(dir); !s.ok()) return s;
  const char* names[] = {kSealSecretFile, kSealPublicFile, kIssuerSecretFile, kIssuerPublicFile};
  if (!overwrite) {
    for (const char* name : names) {
      std::string path = JoinPath(dir, name);
      if (FileExists(path)) {
        return absl::AlreadyExistsError(
            absl::StrCat(path, " already exists; pass --force (overwrite) to replace the keys"));
      }
    }
  }

  SecretBytes seal_secret(crypto_box_SECRETKEYBYTES);
  PublicKey seal_public{};
  crypto_box_keypair(seal_public.data(), seal_secret.data());

  SecretBytes seed(crypto_sign_SEEDBYTES);
  randombytes_buf(seed.data(), seed.size());
  IssuerKeys issuer = IssuerKeysFromSeed(seed.data());

  std::string seal_secret_line = KeyLine(kSealSecretKind, seal_secret.data(), seal_secret.size());
  std::string issuer_secret_line = KeyLine(kIssuerSecretKind, seed.data(), seed.size());
  std::string seal_public_line = KeyLine(kSealPublicKind, seal_public.data(), seal_public.size());
  std::string issuer_public_line =
      KeyLine(kIssuerPublicKind, issuer.public_key.data(), issuer.public_key.size());

  absl::Status status =
      WriteKeyFile(JoinPath(dir, kSealSecretFile), seal_secret_line, 0600, overwrite);
  if (status.ok()) {
    status = WriteKeyFile(JoinPath(dir, kSealPublicFile), seal_public_line, 0644, overwrite);
  }
  if (status.ok()) {
    status = WriteKeyFile(JoinPath(dir, kIssuerSecretFile), issuer_secret_line, 0600, overwrite);
  }
  if (status.ok()) {
    status = WriteKeyFile(JoinPath(dir, kIssuerPublicFile), issuer_public_line, 0644, overwrite);
  }
  Wipe(&seal_secret_line);
  Wipe(&issuer_secret_line);
  return status;
}

absl::StatusOr<bool> EnsureDevKeys(const std::string& dir) {
  // The server needs these three; the issuer secret may legitimately live
  // elsewhere (with whoever mints tokens), so its absence alone is fine.
  const char* required[] = {kSealSecretFile, kSealPublicFile, kIssuerPublicFile};
  std::vector<std::string> missing;
  for (const char* name : required) {
    if (!FileExists(JoinPath(dir, name))) missing.push_back(name);
  }
  if (missing.empty()) return false;
  bool any_present = missing.size() < 3 || FileExists(JoinPath(dir, kIssuerSecretFile));
  if (any_present) {
    std::string list;
    for (const std::string& m : missing) absl::StrAppend(&list, list.empty() ? "" : ", ", m);
    return absl::FailedPreconditionError(
        absl::StrCat("key directory ", dir, " has only some key files (missing: ", list,
                     "); refusing to regenerate over a partial set"));
  }
  if (absl::Status s = GenerateKeyFiles(dir, /*overwrite=*/false); !s.ok()) return s;
  return true;
}

absl::StatusOr<PublicKey> LoadSealPublicKey(const std::string& dir) {
  PublicKey key{};
  absl::Status s =
      ReadKeyFile(JoinPath(dir, kSealPublicFile), kSealPublicKind, false, key.data(), key.size());
  if (!s.ok()) return s;
  return key;
}

absl::StatusOr<ServerKeys> LoadServerKeys(const std::string& dir) {
  EnsureSodiumInitialized();
  ServerKeys keys;
  keys.seal_secret = SecretBytes(crypto_box_SECRETKEYBYTES);
  absl::Status s = ReadKeyFile(JoinPath(dir, kSealSecretFile), kSealSecretKind, true,
                               keys.seal_secret.data(), keys.seal_secret.size());
  if (!s.ok()) return s;
  absl::StatusOr<PublicKey> seal_public = LoadSealPublicKey(dir);
  if (!seal_public.ok()) return seal_public.status();
  PublicKey derived{};
  if (crypto_scalarmult_base(derived.data(), keys.seal_secret.data()) != 0 ||
      sodium_memcmp(derived.data(), seal_public->data(), derived.size()) != 0) {
    return absl::FailedPreconditionError(absl::StrCat(
        JoinPath(dir, kSealPublicFile), " does not match ", JoinPath(dir, kSealSecretFile)));
  }
  keys.seal_public = *seal_public;
  s = ReadKeyFile(JoinPath(dir, kIssuerPublicFile), kIssuerPublicKind, false,
                  keys.issuer_public.data(), keys.issuer_public.size());
  if (!s.ok()) return s;
  return keys;
}

absl::StatusOr<IssuerKeys> LoadIssuerKeys(const std::string& dir) {
  SecretBytes seed(crypto_sign_SEEDBYTES);
  absl::Status s = ReadKeyFile(JoinPath(dir, kIssuerSecretFile), kIssuerSecretKind, true,
                               seed.data(), seed.size());
  if (!s.ok()) return s;
  IssuerKeys keys = IssuerKeysFromSeed(seed.data());
  std::string pub_path = JoinPath(dir, kIssuerPublicFile);
  if (FileExists(pub_path)) {
    PublicKey on_disk{};
    s = ReadKeyFile(pub_path, kIssuerPublicKind, false, on_disk.data(), on_disk.size());
    if (!s.ok()) return s;
    if (sodium_memcmp(on_disk.data(), keys.public_key.data(), on_disk.size()) != 0) {
      return absl::FailedPreconditionError(
          absl::StrCat(pub_path, " does not match ", JoinPath(dir, kIssuerSecretFile)));
    }
  }
  return keys;
}

}  // namespace tutti::crypto
