// Command-line parsing for every Tutti main, on abseil flags (absl/flags/flag.h).
//
// Owns: the conventions all mains share, so that each main only defines its flags (with
// ABSL_FLAG, next to the code they configure) and reads them:
//   - flag names are written with dashes, as the docs and scripts always have
//     (--user-id); abseil names are C identifiers (user_id), so dashes in a flag's name
//     are read as underscores: --user-id, --user_id, -user-id are the same flag;
//   - -h is --help; --help lists Tutti's own flags with their names as typed (dashes),
//     --helpfull adds abseil's (--flagfile, --fromenv, ...); both exit with status 0;
//   - a usage error (unknown flag, a value that does not parse, a missing value, a stray
//     argument, or a check of the main's own) prints one clear line on stderr naming the
//     program and exits with status 2, as every Tutti main did before abseil; status 1
//     stays for failures at run time;
//   - a fatal signal prints the program's name, the signal and the stack on stderr
//     (tools/common/crash_report.h), installed by ParseFlags.
// Thread affinity: call once, from main, before any other thread starts (abseil's flag
// registry is read-only afterwards). Owner: each main.
#ifndef TUTTI_TOOLS_COMMON_MAIN_FLAGS_H_
#define TUTTI_TOOLS_COMMON_MAIN_FLAGS_H_

#include <string_view>

namespace tutti::main_support {

// Parses argv into the ABSL_FLAGs linked into the program. `usage` is the text --help
// prints above the flag list (what the program does, one example). Exits the process on
// --help and friends (status 0) and on a usage error (status 2). Positional arguments are
// a usage error: no Tutti main takes any.
void ParseFlags(int argc, char** argv, std::string_view usage);

// Reports a usage error found after parsing (a missing required flag, flags that do not
// go together, a value out of range) the same way abseil's own are reported, and exits
// with status 2.
[[noreturn]] void UsageError(std::string_view message);

}  // namespace tutti::main_support

#endif  // TUTTI_TOOLS_COMMON_MAIN_FLAGS_H_
