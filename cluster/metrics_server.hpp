// The worker's HTTP endpoint (cpp-httplib, one listening thread plus its small pool):
//   GET /metrics      the Prometheus text exposition (WorkerMetrics::prometheus)
//   GET /api/status   the status document as JSON (WorkerMetrics::status_document)
//   GET /             the live page (cluster/metrics_page.cpp), which polls /api/status
// It only serves strings the worker's controlling thread rendered at its last refresh, so a
// scrape never touches the engine.
//
// Threading: start()/stop() on the controlling thread; requests on the server's own threads.
#pragma once

#include <memory>
#include <string>
#include <thread>

#include <sleet/status.hpp>

namespace httplib {
class Server;
}

namespace sleet {

class WorkerMetrics;

// The page served at `/` (self-contained HTML and script).
const std::string& metrics_page_html();

class MetricsServer {
 public:
  explicit MetricsServer(const WorkerMetrics& metrics);
  ~MetricsServer();
  MetricsServer(const MetricsServer&) = delete;
  MetricsServer& operator=(const MetricsServer&) = delete;

  // Binds address:port (port 0: a free one) and starts serving. A port in use is refused naming
  // it and the config key to change.
  Status start(const std::string& address, int port);
  void stop();
  int port() const { return port_; }
  // "http://ADDRESS:PORT" (0.0.0.0 shown as 127.0.0.1, which reaches it from this host).
  std::string url() const;
  // "ADDRESS:PORT", for the worker's ZooKeeper entry.
  std::string host_port() const;

 private:
  const WorkerMetrics& metrics_;
  std::unique_ptr<httplib::Server> server_;
  std::thread thread_;
  std::string address_;
  int port_ = 0;
};

struct TopologySpec;
struct WorkerConfig;
// Makes the worker's metrics and starts their server on metrics.address:metrics.port, with the
// restarts the supervisor passed in (SLEET_RESTARTS); logs the page's URL once. Controlling thread.
Status start_metrics(const TopologySpec& spec, const WorkerConfig& cfg, const std::string& worker,
                     std::unique_ptr<WorkerMetrics>& metrics,
                     std::unique_ptr<MetricsServer>& server);

}  // namespace sleet
