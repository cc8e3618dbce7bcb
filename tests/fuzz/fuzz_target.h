// What every fuzz target in tests/fuzz shares: the libFuzzer entry point, a check that
// crashes loudly when a property of the code under test does not hold, and a reader that
// splits one input into the several arguments a parser may take.
//
// Owns: nothing (declarations and header-only helpers).
// Thread affinity: the targets are single-threaded; the helpers hold no shared state.
// Owner: each fuzz_<name>.cc defines LLVMFuzzerTestOneInput; it is called either by
// replay_main.cc (ctest) or by libFuzzer (TUTTI_LIBFUZZER=ON), never both in one binary.
//
// A target's contract: any byte string is a valid input; it must never crash, leak, hang,
// or trip ASan/UBSan, and every FUZZ_CHECK must hold. Refusing an input is fine.
#ifndef TUTTI_TESTS_FUZZ_FUZZ_TARGET_H_
#define TUTTI_TESTS_FUZZ_FUZZ_TARGET_H_

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

// Aborts with the failed condition: a broken property is a finding, like a crash, and
// the drivers save the input that caused it.
#define FUZZ_CHECK(cond)                                                                 \
  do {                                                                                   \
    if (!(cond)) {                                                                       \
      std::fprintf(stderr, "%s:%d: FUZZ_CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
      std::abort();                                                                      \
    }                                                                                    \
  } while (false)

namespace tutti::fuzz {

// Reads an input front to back. Fields end at a separator byte so that seed files stay
// readable text ("a\nb\nrest"), and a mutation that adds or drops a separator moves
// bytes between fields instead of wasting the input.
class FuzzInput {
 public:
  FuzzInput(const uint8_t* data, size_t size) : rest_(reinterpret_cast<const char*>(data), size) {}

  // The first byte (0 when empty); used to pick a mode.
  uint8_t TakeByte() {
    if (rest_.empty()) return 0;
    uint8_t b = static_cast<uint8_t>(rest_.front());
    rest_.remove_prefix(1);
    return b;
  }

  // Up to the next `sep` (not included; consumed), or everything left.
  std::string_view TakeField(char sep = '\n') {
    size_t end = rest_.find(sep);
    std::string_view field = rest_.substr(0, end);
    rest_.remove_prefix(end == std::string_view::npos ? rest_.size() : end + 1);
    return field;
  }

  std::string_view Rest() const { return rest_; }

 private:
  std::string_view rest_;
};

inline std::string_view AsText(const uint8_t* data, size_t size) {
  return std::string_view(reinterpret_cast<const char*>(data), size);
}

}  // namespace tutti::fuzz

#endif  // TUTTI_TESTS_FUZZ_FUZZ_TARGET_H_
