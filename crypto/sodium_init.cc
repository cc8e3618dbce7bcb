#include "crypto/sodium_init.h"

#include <sodium.h>

#include <cstdio>
#include <cstdlib>

namespace tutti::crypto {
namespace {

bool InitOnce() {
  // sodium_init() returns 1 when already initialised, which is fine.
  if (sodium_init() < 0) {
    std::fputs("tutti: sodium_init() failed; refusing to run without working crypto\n", stderr);
    std::abort();
  }
  return true;
}

}  // namespace

void EnsureSodiumInitialized() {
  // A function-local static gives us a thread-safe once without std::call_once.
  static const bool initialized = InitOnce();
  (void)initialized;
}

}  // namespace tutti::crypto
