// Process-wide libsodium initialisation.
//
// Owns: nothing but the one-time call to sodium_init().
// Thread affinity: any thread; safe to call concurrently and repeatedly.
// Owner: every crypto entry point calls it, so callers rarely need to.
#ifndef TUTTI_CRYPTO_SODIUM_INIT_H_
#define TUTTI_CRYPTO_SODIUM_INIT_H_

namespace tutti::crypto {

// Runs sodium_init() exactly once per process. A failure there means the
// library cannot give us randomness or safe primitives, so we abort with a
// message instead of limping on with broken crypto.
void EnsureSodiumInitialized();

}  // namespace tutti::crypto

#endif  // TUTTI_CRYPTO_SODIUM_INIT_H_
