// The load generator's report: Results (loadgen.h) as a table for people or as one JSON
// object for scripts (tools/loadgen/loadgen_smoke_test.sh and the bench scripts read it).
// Owns: nothing (stateless functions writing to stdout). Thread affinity: main thread, after
// Run() returns. Owner: loadgen_main.cc.
#ifndef TUTTI_TOOLS_LOADGEN_REPORT_H_
#define TUTTI_TOOLS_LOADGEN_REPORT_H_

#include "tools/loadgen/loadgen.h"

namespace tutti::loadgen {

void PrintTable(const Results& r);
void PrintJson(const Results& r);

}  // namespace tutti::loadgen

#endif  // TUTTI_TOOLS_LOADGEN_REPORT_H_
