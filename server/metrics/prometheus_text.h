// RenderPrometheusText: a MetricsSnapshot in the Prometheus text exposition format
// (version 0.0.4), built as prometheus-cpp MetricFamily values and written by its
// TextSerializer, so names, labels and escaping follow the library. Pure; called by the
// admin listener's thread at scrape. The metric names are listed in docs/OPERATIONS.md.
#ifndef TUTTI_SERVER_METRICS_PROMETHEUS_TEXT_H_
#define TUTTI_SERVER_METRICS_PROMETHEUS_TEXT_H_

#include <string>

#include "server/metrics/snapshot.h"

namespace tutti::server::metrics {

inline constexpr char kPrometheusContentType[] = "text/plain; version=0.0.4; charset=utf-8";

std::string RenderPrometheusText(const MetricsSnapshot& s);

}  // namespace tutti::server::metrics

#endif  // TUTTI_SERVER_METRICS_PROMETHEUS_TEXT_H_
