// contrib/grafana/tutti-server.json against a real server: the file parses as JSON
// (protobuf's JSON parser into a google.protobuf.Value), every PromQL expression in it
// (panel targets' "expr", template variables' "query"/"definition") names at least one
// metric, and every metric it names is a family a real scrape of the admin listener
// announces (histograms by their _bucket/_sum/_count series). A renamed or dropped
// metric breaks this test instead of a dashboard panel in production.
#include <fstream>
#include <iterator>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>

#include "gtest/gtest.h"
#include "server/admin_listener.h"
#include "tests/testing/admin_http.h"
#include "tests/testing/test_server.h"

namespace tutti::testing {
namespace {

void CollectQueries(const google::protobuf::Value& v, const std::string& key,
                    std::vector<std::string>* out) {
  switch (v.kind_case()) {
    case google::protobuf::Value::kStringValue:
      if (key == "expr" || key == "query" || key == "definition") out->push_back(v.string_value());
      break;
    case google::protobuf::Value::kStructValue:
      for (const auto& [k, child] : v.struct_value().fields()) CollectQueries(child, k, out);
      break;
    case google::protobuf::Value::kListValue:
      for (const auto& child : v.list_value().values()) CollectQueries(child, key, out);
      break;
    default:
      break;
  }
}

// Families announced by "# TYPE name type" lines; histograms also by their series.
std::set<std::string> ExportedNames(const std::string& scrape) {
  std::set<std::string> names;
  std::istringstream in(scrape);
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream words(line);
    std::string hash, type_word, name, type;
    if (!(words >> hash >> type_word >> name >> type) || hash != "#" || type_word != "TYPE") {
      continue;
    }
    names.insert(name);
    if (type == "histogram") {
      for (const char* suffix : {"_bucket", "_sum", "_count"}) names.insert(name + suffix);
    }
  }
  return names;
}

TEST(GrafanaDashboard, EveryExpressionNamesMetricsTheServerExports) {
  std::ifstream file(TUTTI_GRAFANA_DASHBOARD);
  ASSERT_TRUE(file) << TUTTI_GRAFANA_DASHBOARD;
  const std::string json((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
  google::protobuf::Value root;
  const auto st = google::protobuf::util::JsonStringToMessage(json, &root);
  ASSERT_TRUE(st.ok()) << st.ToString();
  std::vector<std::string> queries;
  CollectQueries(root, "", &queries);
  // Panels' expressions and two template variables, each with a query and a definition.
  ASSERT_GE(queries.size(), 30u);

  TestServer ts(2);
  server::AdminListener admin(&ts.server());
  ASSERT_TRUE(admin.Start("127.0.0.1:0").ok());
  AdminAnswer scrape = AdminGet(admin.port(), "/metrics");
  ASSERT_EQ(scrape.status, 200);
  const std::set<std::string> exported = ExportedNames(scrape.body);
  ASSERT_GT(exported.size(), 30u);

  const std::regex metric(R"((?:tutti|process)_[A-Za-z0-9_]+)");
  std::set<std::string> used;
  for (const std::string& q : queries) {
    if (q == "prometheus") continue;  // the datasource variable's plugin id
    int named = 0;
    for (auto it = std::sregex_iterator(q.begin(), q.end(), metric); it != std::sregex_iterator();
         ++it) {
      const std::string name = it->str();
      ++named;
      used.insert(name);
      EXPECT_EQ(exported.count(name), 1u) << name << " (in " << q << ") is not exported";
    }
    EXPECT_GT(named, 0) << "names no metric: " << q;
  }
  // The dashboard reads the health signal and each group the issue asks for.
  for (const char* must : {"tutti_event_loop_lag_seconds", "tutti_upgrade_refusals_total",
                           "tutti_rate_limited_total", "tutti_join_latency_seconds_bucket",
                           "tutti_midi_fanout_receivers_bucket", "process_resident_memory_bytes"}) {
    EXPECT_EQ(used.count(must), 1u) << must;
  }
}

}  // namespace
}  // namespace tutti::testing
