// Runs every Tutti main with --help, -h, --helpfull and with bad command lines, and checks
// the conventions of tools/common/main_flags.h: help on stdout with exit status 0, listing
// the flags as they are typed (dashes); a usage error on stderr, naming the problem, with
// exit status 2. Nothing here starts a server or opens a socket: every case ends in the
// flag parser.
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <ostream>
#include <sstream>
#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace {

struct Main {
  const char* name;
  const char* path;
  const char* known_flag;   // a flag of the program's own, dashed, as --help must show it
  const char* bad_value;    // a flag given a value of the wrong type ("--port=notanumber")
  const char* valued_flag;  // a flag that takes a value, given none
};

// ctest names the cases after the row, not its bytes.
void PrintTo(const Main& m, std::ostream* os) { *os << m.name; }

// One row per main. A binary added later gets its row here.
const Main kMains[] = {
    {"server", TUTTI_SERVER_BIN, "--max-connections-per-address", "--port=notanumber", "--keys"},
    {"keygen", TUTTI_KEYGEN_BIN, "--force", "--force=notanumber", "--dir"},
    {"token", TUTTI_TOKEN_BIN, "--user-id", "--ttl=notanumber", "--name"},
    {"netem_relay", TUTTI_NETEM_RELAY_BIN, "--down-jitter-ms", "--seed=notanumber",
     "--target-port"},
    {"cli", TUTTI_CLI_BIN, "--token-ttl", "--port=notanumber", "--room"},
    {"midi_bridge", TUTTI_MIDI_BRIDGE_BIN, "--min-delay-ms", "--stats-s=notanumber", "--input"},
    {"loadgen", TUTTI_LOADGEN_BIN, "--churn-active", "--rooms=notanumber", "--scenario"},
    {"play", TUTTI_PLAY_BIN, "--list-devices", "--audio-period=notanumber", "--server"},
    {"timing_harness", TUTTI_TIMING_HARNESS_BIN, "--stall-prob", "--seed=notanumber", "--server"},
};

struct Outcome {
  int status = -1;
  std::string out, err;
};

std::string Slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Runs `path args...` with stdout and stderr captured in files; arguments are test constants
// without shell metacharacters.
Outcome Execute(const std::string& path, const std::string& args) {
  std::string dir = ::testing::TempDir() + "tutti-mains-XXXXXX";
  if (::mkdtemp(dir.data()) == nullptr) return {};
  const std::string out = dir + "/out", err = dir + "/err";
  const int raw = std::system((path + " " + args + " >" + out + " 2>" + err).c_str());
  Outcome r;
  r.status = WIFEXITED(raw) ? WEXITSTATUS(raw) : -1;
  r.out = Slurp(out);
  r.err = Slurp(err);
  std::remove(out.c_str());
  std::remove(err.c_str());
  ::rmdir(dir.c_str());
  return r;
}

class MainFlagsTest : public ::testing::TestWithParam<Main> {};

TEST_P(MainFlagsTest, HelpListsDashedFlagsAndExitsZero) {
  const Main& m = GetParam();
  for (const char* help : {"--help", "-h"}) {
    Outcome r = Execute(m.path, help);
    EXPECT_EQ(r.status, 0) << help << "\n" << r.err;
    EXPECT_NE(r.out.find(m.known_flag), std::string::npos) << help << "\n" << r.out;
    EXPECT_EQ(r.out.find("--flagfile"), std::string::npos) << "abseil's flags are for --helpfull";
  }
  Outcome full = Execute(m.path, "--helpfull");
  EXPECT_EQ(full.status, 0) << full.err;
  EXPECT_NE(full.out.find(m.known_flag), std::string::npos);
  EXPECT_NE(full.out.find("--flagfile"), std::string::npos);
}

TEST_P(MainFlagsTest, UnknownFlagIsAUsageError) {
  const Main& m = GetParam();
  Outcome r = Execute(m.path, "--no-such-flag-anywhere 1");
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.err.find("Unknown command line flag 'no-such-flag-anywhere'"), std::string::npos)
      << r.err;
}

TEST_P(MainFlagsTest, ValueThatDoesNotParseIsAUsageError) {
  const Main& m = GetParam();
  Outcome r = Execute(m.path, m.bad_value);
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.err.find("Illegal value 'notanumber'"), std::string::npos) << r.err;
}

TEST_P(MainFlagsTest, MissingValueIsAUsageError) {
  const Main& m = GetParam();
  Outcome r = Execute(m.path, m.valued_flag);
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.err.find("Missing the value"), std::string::npos) << r.err;
}

TEST_P(MainFlagsTest, StrayArgumentIsAUsageError) {
  const Main& m = GetParam();
  Outcome r = Execute(m.path, "stray");
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.err.find("unexpected argument 'stray'"), std::string::npos) << r.err;
}

// abseil negates a bool flag with "no" glued on (--noreconnect); the dashed spelling
// (--no-reconnect) is the same flag. A stray argument after it shows the flag was taken.
TEST(MainFlags, DashedNegationOfABoolFlagIsTheFlag) {
  Outcome r = Execute(TUTTI_PLAY_BIN, "--no-reconnect stray");
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.err.find("unexpected argument 'stray'"), std::string::npos) << r.err;
  Outcome typo = Execute(TUTTI_PLAY_BIN, "--no-reconect");
  EXPECT_EQ(typo.status, 2);
  EXPECT_NE(typo.err.find("Unknown command line flag 'no-reconect'"), std::string::npos)
      << typo.err;
}

// Dashed and underscored names are one flag, and --flag=value equals --flag value.
TEST(MainFlags, DashesUnderscoresAndEqualsAreOneSpelling) {
  for (const char* args : {"--max-rooms 0", "--max_rooms=0", "--max-rooms=0"}) {
    Outcome r = Execute(TUTTI_SERVER_BIN, args);
    EXPECT_EQ(r.status, 2) << args;
    EXPECT_NE(r.err.find("--max-rooms wants a number from 1"), std::string::npos) << args << "\n"
                                                                                  << r.err;
  }
}

INSTANTIATE_TEST_SUITE_P(AllMains, MainFlagsTest, ::testing::ValuesIn(kMains),
                         [](const ::testing::TestParamInfo<Main>& row) {
                           return std::string(row.param.name);
                         });

}  // namespace
