// The replay driver: main() for a fuzz target when libFuzzer is not linked (every GCC
// build and the ASan/UBSan build). ctest runs each target through it over its checked-in
// corpus and then over a bounded number of deterministic mutations of that corpus.
//
// Owns: argument handling, reading corpus files, the mutator and its fixed-seed RNG, the
// time cap, and saving the input that crashed.
// Thread affinity: single-threaded; the crash handlers only read state that is written
// before each input runs.
// Owner: linked into every fuzz_<name> executable by tests/fuzz/CMakeLists.txt.
//
// Usage: fuzz_<name> [--mutations=N] [--seconds=S] [--seed=N] [--max-len=N] PATH...
// Each PATH is a file or a directory (its regular files in name order, not recursive).
// Every file runs once as it is, then N mutated inputs run (none by default, so
// `fuzz_<name> crash-file` replays exactly that file). Mutations stop early, without
// failing, once S seconds have passed, so a slow machine never hangs CI; the same seed
// and corpus always give the same inputs in the same order. An input that crashes or
// fails a FUZZ_CHECK is written to crash-<name>-<hash> in the working directory.
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <random>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "tests/fuzz/fuzz_target.h"

#if defined(__SANITIZE_ADDRESS__)
#define TUTTI_FUZZ_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define TUTTI_FUZZ_ASAN 1
#endif
#endif

#ifdef TUTTI_FUZZ_ASAN
// From the sanitizer runtime: called when ASan or UBSan reports an error and dies.
extern "C" void __sanitizer_set_death_callback(void (*callback)(void));
#endif

namespace {

namespace fs = std::filesystem;

// --- what is running now, for the crash handlers --------------------------------------------

// Written before each input runs; read only by the handlers below.
const uint8_t* g_input = nullptr;
size_t g_input_size = 0;
const char* g_input_origin = "";  // a corpus path, or "" for a mutated input
uint64_t g_mutation_index = 0;
char g_target_name[128] = "fuzz";
volatile sig_atomic_t g_saved = 0;

void WriteStderr(const char* text) {
  ssize_t ignored = ::write(STDERR_FILENO, text, std::strlen(text));
  (void)ignored;
}

// Decimal text of `v` into `out` (at least 21 bytes); async-signal-safe.
void FormatDecimal(uint64_t v, char* out) {
  char digits[21];
  int n = 0;
  do {
    digits[n++] = static_cast<char>('0' + v % 10);
    v /= 10;
  } while (v != 0);
  for (int i = 0; i < n; ++i) out[i] = digits[n - 1 - i];
  out[n] = '\0';
}

// Names the input that crashed and, for a mutated one, saves it as crash-<name>-<hash>.
// Async-signal-safe: fixed buffers, raw write(2), no allocation.
void SaveCurrentInput() {
  if (g_saved || g_input == nullptr) return;
  g_saved = 1;
  WriteStderr("\n== fuzz: crashed on ");
  if (g_input_origin[0] != '\0') {  // a corpus file is already on disk
    WriteStderr(g_input_origin);
    WriteStderr("\n");
    return;
  }
  char index[24];
  FormatDecimal(g_mutation_index, index);
  WriteStderr("mutated input #");
  WriteStderr(index);

  uint64_t hash = 1469598103934665603ull;  // FNV-1a, so equal inputs get equal names
  for (size_t i = 0; i < g_input_size; ++i) hash = (hash ^ g_input[i]) * 1099511628211ull;
  char name[200] = "crash-";
  size_t len = std::strlen(name);
  for (const char* p = g_target_name; *p != '\0' && len < 170; ++p) name[len++] = *p;
  name[len++] = '-';
  for (int shift = 60; shift >= 0; shift -= 4) name[len++] = "0123456789abcdef"[hash >> shift & 15];
  name[len] = '\0';

  int fd = ::open(name, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) {
    WriteStderr("; could not save it in the working directory\n");
    return;
  }
  size_t done = 0;
  while (done < g_input_size) {
    ssize_t w = ::write(fd, g_input + done, g_input_size - done);
    if (w <= 0) break;
    done += static_cast<size_t>(w);
  }
  ::close(fd);
  WriteStderr("; saved as ");
  WriteStderr(name);
  WriteStderr(" (replay: ");
  WriteStderr(g_target_name);
  WriteStderr(" ");
  WriteStderr(name);
  WriteStderr(")\n");
}

void OnFatalSignal(int sig) {
  SaveCurrentInput();
  // SA_RESETHAND restored the default action; re-raise so the exit status shows the signal.
  ::raise(sig);
}

void InstallCrashHandlers() {
  // A stack overflow lands in the SIGSEGV handler with no stack left to run it on.
  static char alt_stack[64 * 1024];
  stack_t ss{};
  ss.ss_sp = alt_stack;
  ss.ss_size = sizeof(alt_stack);
  ::sigaltstack(&ss, nullptr);
  struct sigaction sa {};
  sa.sa_handler = OnFatalSignal;
  sa.sa_flags = SA_RESETHAND | SA_ONSTACK;
  sigemptyset(&sa.sa_mask);
#ifdef TUTTI_FUZZ_ASAN
  // ASan reports SEGV and friends itself and then calls the death callback; abort()
  // (a failed FUZZ_CHECK, or abort_on_error=1) still comes here.
  __sanitizer_set_death_callback(SaveCurrentInput);
  const int kSignals[] = {SIGABRT};
#else
  const int kSignals[] = {SIGABRT, SIGSEGV, SIGBUS, SIGFPE, SIGILL};
#endif
  for (int sig : kSignals) ::sigaction(sig, &sa, nullptr);
}

// Runs one input from an exactly-sized heap copy, so that ASan sees a read one byte past
// the end (a std::string would hide it behind its terminating NUL).
void RunOne(const std::string& bytes) {
  std::unique_ptr<uint8_t[]> copy(new uint8_t[bytes.size()]);
  if (!bytes.empty()) std::memcpy(copy.get(), bytes.data(), bytes.size());
  g_input = copy.get();
  g_input_size = bytes.size();
  LLVMFuzzerTestOneInput(copy.get(), bytes.size());
  g_input = nullptr;
}

// --- the mutator ---------------------------------------------------------------------------

// Bytes that tend to matter to text parsers: delimiters, quotes, escapes, digits, and
// UTF-8 and MIDI status boundaries.
constexpr uint8_t kInterestingBytes[] = {
    0x00, 0x01, 0x0A, 0x0D, 0x09, 0x20, '"',  '\\', '/',  '.',  ':',  ',',  '{',  '}',  '[',
    ']',  '-',  '_',  '=',  '?',  '+',  '0',  '1',  '9',  'e',  'E',  'u',  0x7F, 0x80, 0x8F,
    0x90, 0xBF, 0xC0, 0xC2, 0xDF, 0xE0, 0xED, 0xEF, 0xF0, 0xF4, 0xF8, 0xFE, 0xFF};

// Deterministic everywhere: mt19937_64's output is fixed by the standard, and only its raw
// output is used (the std distributions differ between library implementations).
class Mutator {
 public:
  Mutator(uint64_t seed, size_t max_len) : rng_(seed), max_len_(max_len) {}

  uint64_t Below(uint64_t n) { return n == 0 ? 0 : rng_() % n; }

  // A few stacked edits of `s`, using `other` (another corpus input) for crossover.
  std::string Mutate(std::string s, const std::string& other) {
    int rounds = 1 + static_cast<int>(Below(4));
    if (Below(8) == 0) rounds += static_cast<int>(Below(12));
    for (int r = 0; r < rounds; ++r) EditOnce(&s, other);
    if (s.size() > max_len_) s.resize(max_len_);
    return s;
  }

 private:
  uint8_t AnyByte() {
    return Below(2) == 0 ? static_cast<uint8_t>(Below(256))
                         : kInterestingBytes[Below(std::size(kInterestingBytes))];
  }

  void EditOnce(std::string* s, const std::string& other) {
    const size_t size = s->size();
    const size_t pos = Below(size + 1);  // an insertion point; < size for in-place edits
    switch (Below(11)) {
      case 0:  // flip one bit
        if (size > 0) (*s)[pos % size] ^= static_cast<char>(1u << Below(8));
        break;
      case 1:  // overwrite one byte
      case 2:
        if (size > 0) (*s)[pos % size] = static_cast<char>(AnyByte());
        break;
      case 3:  // insert one byte
        s->insert(s->begin() + static_cast<std::ptrdiff_t>(pos), static_cast<char>(AnyByte()));
        break;
      case 4: {  // erase a short range
        if (size == 0) break;
        size_t len = 1 + Below(std::min<size_t>(16, size));
        s->erase(Below(size - len + 1), len);
        break;
      }
      case 5: {  // duplicate a range somewhere else (repeated structure, growth)
        if (size == 0) break;
        size_t len = 1 + Below(std::min<size_t>(64, size));
        std::string chunk = s->substr(Below(size - len + 1), len);
        s->insert(pos, chunk);
        break;
      }
      case 6: {  // crossover: keep a prefix, take the rest from another input
        size_t from = Below(other.size() + 1);
        s->resize(pos);
        s->append(other, from, std::string::npos);
        break;
      }
      case 7: {  // insert a piece of another input
        if (other.empty()) break;
        size_t from = Below(other.size());
        size_t len = 1 + Below(std::min<size_t>(64, other.size() - from));
        s->insert(pos, other, from, len);
        break;
      }
      case 8: {  // nudge a byte up or down (digits, lengths, boundaries)
        if (size == 0) break;
        int delta = static_cast<int>(Below(4)) + 1;
        char& c = (*s)[pos % size];
        c = static_cast<char>(static_cast<uint8_t>(c) + (Below(2) == 0 ? delta : -delta));
        break;
      }
      case 9:  // truncate
        s->resize(pos);
        break;
      case 10:  // a run of one byte (long tokens, deep repetition)
        s->insert(pos, 1 + Below(128), static_cast<char>(AnyByte()));
        break;
    }
  }

  std::mt19937_64 rng_;
  size_t max_len_;
};

// --- arguments and corpus ------------------------------------------------------------------

struct Options {
  uint64_t mutations = 0;
  double seconds = 0;  // 0 = no cap
  uint64_t seed = 1;
  size_t max_len = 8192;
  std::vector<std::string> paths;
};

bool ParseUnsigned(std::string_view text, uint64_t* out) {
  if (text.empty() || text.size() > 19) return false;
  uint64_t v = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + static_cast<uint64_t>(c - '0');
  }
  *out = v;
  return true;
}

int Usage(const char* argv0, const char* problem) {
  if (problem != nullptr) std::fprintf(stderr, "%s: %s\n", argv0, problem);
  std::fprintf(stderr,
               "usage: %s [--mutations=N] [--seconds=S] [--seed=N] [--max-len=N] PATH...\n"
               "Runs every file in PATH (files or directories) once, then N mutated inputs\n"
               "made from them (deterministic for a given seed), stopping mutations after S\n"
               "seconds. A crashing input is saved as crash-<name>-<hash>.\n",
               argv0);
  return 2;
}

bool ReadFile(const fs::path& path, std::string* out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return false;
  std::ostringstream buffer;
  buffer << in.rdbuf();
  *out = buffer.str();
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  std::string name = fs::path(argv[0]).filename().string();
  std::snprintf(g_target_name, sizeof(g_target_name), "%s", name.c_str());

  Options options;
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    uint64_t value = 0;
    auto flag = [&](std::string_view prefix) {
      if (arg.substr(0, prefix.size()) != prefix) return false;
      if (!ParseUnsigned(arg.substr(prefix.size()), &value)) {
        std::exit(Usage(argv[0], "flag values are whole numbers"));
      }
      return true;
    };
    if (arg == "-h" || arg == "--help") return Usage(argv[0], nullptr);
    if (flag("--mutations=")) {
      options.mutations = value;
    } else if (flag("--seconds=")) {
      options.seconds = static_cast<double>(value);
    } else if (flag("--seed=")) {
      options.seed = value;
    } else if (flag("--max-len=")) {
      options.max_len = value;
    } else if (arg.substr(0, 1) == "-") {
      return Usage(argv[0], "unknown flag");
    } else {
      options.paths.emplace_back(arg);
    }
  }

  // Gather the corpus first, so a missing path fails before anything runs.
  std::vector<std::string> files;
  for (const std::string& path : options.paths) {
    std::error_code ec;
    if (fs::is_directory(path, ec)) {
      std::vector<std::string> entries;
      for (const auto& entry : fs::directory_iterator(path, ec)) {
        if (entry.is_regular_file()) entries.push_back(entry.path().string());
      }
      std::sort(entries.begin(), entries.end());
      files.insert(files.end(), entries.begin(), entries.end());
    } else if (fs::is_regular_file(path, ec)) {
      files.push_back(path);
    } else {
      std::fprintf(stderr, "%s: no such file or directory: %s\n", argv[0], path.c_str());
      return 2;
    }
  }
  std::vector<std::string> corpus(files.size());
  for (size_t i = 0; i < files.size(); ++i) {
    if (!ReadFile(files[i], &corpus[i])) {
      std::fprintf(stderr, "%s: cannot read %s\n", argv[0], files[i].c_str());
      return 2;
    }
  }

  InstallCrashHandlers();
  const auto start = std::chrono::steady_clock::now();
  auto elapsed_s = [&start] {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  };

  for (size_t i = 0; i < corpus.size(); ++i) {
    g_input_origin = files[i].c_str();
    RunOne(corpus[i]);
  }
  g_input_origin = "";

  Mutator mutator(options.seed, options.max_len);
  const std::string empty;
  std::string previous;
  uint64_t done = 0;
  bool capped = false;
  for (; done < options.mutations; ++done) {
    // Checking the clock costs little next to a parse, but there is no need to do it often.
    if (options.seconds > 0 && done % 64 == 0 && elapsed_s() >= options.seconds) {
      capped = true;
      break;
    }
    const std::string& other = corpus.empty() ? empty : corpus[mutator.Below(corpus.size())];
    // Mostly start again from the corpus; sometimes keep walking from the last input.
    std::string base = (done > 0 && mutator.Below(4) == 0) || corpus.empty()
                           ? previous
                           : corpus[mutator.Below(corpus.size())];
    previous = mutator.Mutate(std::move(base), other);
    g_mutation_index = done;
    RunOne(previous);
  }

  std::printf("%s: %zu corpus files, %llu mutated inputs (seed %llu, <= %zu bytes) in %.2f s%s\n",
              name.c_str(), corpus.size(), static_cast<unsigned long long>(done),
              static_cast<unsigned long long>(options.seed), options.max_len, elapsed_s(),
              capped ? " (stopped at the time cap)" : "");
  return 0;
}
