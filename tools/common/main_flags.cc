#include "tools/common/main_flags.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>
#include <vector>

#include "absl/flags/commandlineflag.h"
#include "absl/flags/parse.h"
#include "absl/flags/reflection.h"
#include "absl/flags/usage.h"
#include "absl/flags/usage_config.h"
#include "absl/strings/match.h"
#include "absl/strings/string_view.h"
#include "absl/strings/strip.h"
#include "tools/common/crash_report.h"

// abseil calls this hook just before it std::exit(1)s on a bad command line (declared in
// absl/flags/usage_config.h; the library's own definition is weak and empty). Exiting here
// keeps the status every Tutti main has always given a usage error, 2, which scripts and
// tests tell apart from a failure at run time (1). abseil has already printed each problem.
extern "C" void ABSL_INTERNAL_C_SYMBOL(AbslInternalReportFatalUsageError)(absl::string_view) {
  std::exit(2);
}

namespace tutti::main_support {
namespace {

std::string ProgramName(const char* argv0) {
  std::string name = argv0 != nullptr ? argv0 : "tutti";
  const size_t slash = name.rfind('/');
  return slash == std::string::npos ? name : name.substr(slash + 1);
}

std::string& Program() {
  static std::string* program = new std::string("tutti");
  return *program;
}

// Tutti's flags are those defined outside abseil's own sources; --help lists them all
// (abseil's default lists only flags defined in <program>.cc or <program>_main.cc, which
// would hide the flags that live next to the code they configure).
bool IsTuttiFlagFile(absl::string_view file) { return !absl::StrContains(file, "absl/"); }

// Shows a flag's file relative to the source tree (CMake passes absolute paths).
std::string RelativeToSourceTree(absl::string_view file) {
  for (absl::string_view top : {"/server/", "/tools/", "/crypto/", "/midi/"}) {
    const size_t at = file.rfind(top);
    if (at != absl::string_view::npos) return std::string(file.substr(at + 1));
  }
  return std::string(file);
}

// True when `name` (no dashes, no value) is a registered flag, or "no" + a bool flag.
bool IsFlag(absl::string_view name) {
  if (absl::FindCommandLineFlag(name) != nullptr) return true;
  return absl::ConsumePrefix(&name, "no") && absl::FindCommandLineFlag(name) != nullptr;
}

// "--user-id=x" -> "--user_id=x"; "-h" -> "--help"; "--no-reconnect" -> "--noreconnect"
// (abseil's negation of the bool flag reconnect, spelled with a dash as elsewhere). Only
// arguments whose rewritten name is a flag are touched, so a value that happens to start
// with a dash passes unchanged; an unknown name is left as typed for abseil's error message.
std::string Normalize(const std::string& arg) {
  if (arg == "-h") return "--help";
  if (arg.size() < 2 || arg[0] != '-') return arg;
  const size_t dashes = arg[1] == '-' ? 2 : 1;
  std::string out = arg;
  const size_t end = std::min(out.find('='), out.size());
  for (size_t i = dashes; i < end; ++i) {
    if (out[i] == '-') out[i] = '_';
  }
  const absl::string_view name = absl::string_view(out).substr(dashes, end - dashes);
  if (IsFlag(name)) return out;
  absl::string_view negated = name;
  if (absl::ConsumePrefix(&negated, "no_")) {
    const absl::CommandLineFlag* flag = absl::FindCommandLineFlag(negated);
    if (flag != nullptr && flag->IsOfType<bool>()) return out.erase(dashes + 2, 1);
  }
  return arg;
}

// --help: the usage text, then each file's flags with their names as typed (dashes), their
// default and their help. Read from abseil's registry, so it lists exactly the flags the
// program links; `full` adds abseil's own (--flagfile, --fromenv, ...).
void PrintHelp(std::string_view usage, bool full) {
  std::map<std::string, std::vector<const absl::CommandLineFlag*>> by_file;
  for (const auto& [name, flag] : absl::GetAllFlags()) {
    if (flag->IsRetired()) continue;
    const std::string file = flag->Filename();
    if (!full && !IsTuttiFlagFile(file)) continue;
    by_file[RelativeToSourceTree(file)].push_back(flag);
  }
  std::printf(
      "%s: %.*s\n\nFlags%s.\nDashes and underscores in a name are the same: "
      "--user-id is --user_id.\n",
      Program().c_str(), static_cast<int>(usage.size()), usage.data(),
      full ? ", abseil's own included" : " (--helpfull also lists abseil's own)");
  for (auto& [file, flags] : by_file) {
    std::sort(flags.begin(), flags.end(),
              [](const auto* a, const auto* b) { return a->Name() < b->Name(); });
    std::printf("\n  from %s:\n", file.c_str());
    for (const absl::CommandLineFlag* flag : flags) {
      std::string name(flag->Name());
      std::replace(name.begin(), name.end(), '_', '-');
      std::string def = flag->DefaultValue();
      if (flag->IsOfType<std::string>()) def = "\"" + def + "\"";
      std::printf("    --%s (default %s)\n        %s\n", name.c_str(), def.c_str(),
                  flag->Help().c_str());
    }
  }
}

}  // namespace

void ParseFlags(int argc, char** argv, std::string_view usage) {
  Program() = ProgramName(argc > 0 ? argv[0] : nullptr);
  InstallCrashReport(Program().c_str());  // Program() is never assigned again
  absl::FlagsUsageConfig config;
  config.contains_helpshort_flags = IsTuttiFlagFile;
  config.contains_help_flags = IsTuttiFlagFile;
  config.normalize_filename = RelativeToSourceTree;
  absl::SetFlagsUsageConfig(config);
  absl::SetProgramUsageMessage(absl::string_view(usage.data(), usage.size()));

  // abseil keeps pointers into argv for the program name, so the normalized copies live
  // as long as the process.
  static std::vector<std::string>* normalized = new std::vector<std::string>();
  static std::vector<char*>* args = new std::vector<char*>();
  normalized->reserve(static_cast<size_t>(argc));
  bool flags_ended = false;
  for (int i = 0; i < argc; ++i) {
    const std::string arg = argv[i];
    normalized->push_back(i == 0 || flags_ended ? arg : Normalize(arg));
    if (arg == "--") flags_ended = true;
    if (flags_ended || i == 0) continue;
    // --help and --helpfull are answered here, with the names as they are typed and exit
    // status 0 (abseil 20220623 exits 1 after help); the rarer --help=SUBSTRING,
    // --helpmatch and friends are left to abseil.
    if (normalized->back() == "--help" || normalized->back() == "--helpfull") {
      PrintHelp(usage, normalized->back() == "--helpfull");
      std::exit(0);
    }
  }
  for (std::string& s : *normalized) args->push_back(s.data());
  args->push_back(nullptr);

  std::vector<char*> rest = absl::ParseCommandLine(argc, args->data());
  if (rest.size() > 1) {
    UsageError("unexpected argument '" + std::string(rest[1]) + "' (flags start with --)");
  }
}

void UsageError(std::string_view message) {
  std::fflush(stdout);
  std::fprintf(stderr, "ERROR: %s: %.*s\nTry %s --help.\n", Program().c_str(),
               static_cast<int>(message.size()), message.data(), Program().c_str());
  std::exit(2);
}

}  // namespace tutti::main_support
