#include "server/startup_keys.h"

#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"

namespace tutti::server {
namespace {

bool Exists(const std::string& dir, const char* name) {
  std::error_code ec;
  return std::filesystem::exists(std::filesystem::path(dir) / name, ec);
}

}  // namespace

absl::StatusOr<StartupKeys> PrepareServerKeys(const std::string& dir, bool dev) {
  StartupKeys out;
  if (dev) {
    absl::StatusOr<bool> generated = crypto::EnsureDevKeys(dir);
    if (!generated.ok()) return generated.status();
    out.generated = *generated;
    if (out.generated) {
      out.notices.push_back(absl::StrCat("generated development keys in ", dir,
                                         " (--dev; keep the .key files private)"));
    }
  } else {
    std::string missing;
    for (const char* name :
         {crypto::kSealSecretFile, crypto::kSealPublicFile, crypto::kIssuerPublicFile}) {
      if (!Exists(dir, name)) absl::StrAppend(&missing, missing.empty() ? "" : ", ", name);
    }
    if (!missing.empty()) {
      return absl::FailedPreconditionError(absl::StrCat(
          "no key set in ", dir, " (missing: ", missing, "). Create one with `tutti-keygen --dir ",
          dir,
          "` and keep issuer_sign.key off the server, or run with --dev for a development "
          "key set (docs/OPERATIONS.md)"));
    }
  }
  absl::StatusOr<crypto::ServerKeys> keys = crypto::LoadServerKeys(dir);
  if (!keys.ok()) return keys.status();
  out.keys = std::move(*keys);
  out.issuer_secret_here = Exists(dir, crypto::kIssuerSecretFile);
  if (out.issuer_secret_here && !dev) {
    out.warnings.push_back(absl::StrCat(
        dir, " holds ", crypto::kIssuerSecretFile,
        ", the token issuer's secret: anyone who can read this server's files can mint admin "
        "tokens. The server needs only ",
        crypto::kIssuerPublicFile, "; keep the secret with whoever mints tokens"));
  }
  return out;
}

}  // namespace tutti::server
