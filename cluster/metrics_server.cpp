#include "cluster/metrics_server.hpp"

#include <httplib.h>

#include "cluster/metrics.hpp"

#include <spdlog/spdlog.h>

#include "core/config.hpp"

namespace sleet {

MetricsServer::MetricsServer(const WorkerMetrics& metrics) : metrics_(metrics) {}

MetricsServer::~MetricsServer() {
  stop();
}

Status MetricsServer::start(const std::string& address, int port) {
  server_ = std::make_unique<httplib::Server>();
  // A kept-alive connection holds a pool thread until it times out: a browser and a scraper
  // together must not starve a third client for long.
  server_->new_task_queue = [] { return new httplib::ThreadPool(4); };
  server_->set_keep_alive_timeout(2);
  server_->Get("/metrics", [this](const httplib::Request&, httplib::Response& res) {
    res.set_content(metrics_.prometheus(), "text/plain; version=0.0.4; charset=utf-8");
  });
  server_->Get("/api/status", [this](const httplib::Request&, httplib::Response& res) {
    res.set_header("Cache-Control", "no-store");
    res.set_content(metrics_.status_document(), "application/json");
  });
  server_->Get("/api/topology", [this](const httplib::Request&, httplib::Response& res) {
    res.set_content(metrics_.topology_document(), "application/json");
  });
  server_->Get("/", [](const httplib::Request&, httplib::Response& res) {
    res.set_content(metrics_page_html(), "text/html; charset=utf-8");
  });
  if (port == 0) {
    port_ = server_->bind_to_any_port(address);
    if (port_ <= 0)
      return Status::Unavailable("metrics server: cannot bind " + address +
                                 " (metrics.address): check the address is one of this host's");
  } else {
    if (!server_->bind_to_port(address, port))
      return Status::Unavailable("metrics server: cannot listen on " + address + ":" +
                                 std::to_string(port) +
                                 " (in use?): choose another metrics.port, or 0 for a free one");
    port_ = port;
  }
  address_ = address;
  thread_ = std::thread([this] { server_->listen_after_bind(); });
  // stop() is a no-op until the server runs: wait for it, so a stop right after start joins.
  for (int i = 0; i < 2000 && !server_->is_running(); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  return Status::Ok();
}

void MetricsServer::stop() {
  if (server_) server_->stop();
  if (thread_.joinable()) thread_.join();
  server_.reset();
}

Status start_metrics(const TopologySpec& spec, const WorkerConfig& cfg, const std::string& worker,
                     std::unique_ptr<WorkerMetrics>& metrics,
                     std::unique_ptr<MetricsServer>& server) {
  metrics = std::make_unique<WorkerMetrics>(spec, worker);
  metrics->set_restarts(restarts_from_env());
  server = std::make_unique<MetricsServer>(*metrics);
  SLEET_RETURN_IF_ERROR(server->start(cfg.metrics_address, cfg.metrics_port));
  metrics->set_url(server->url());
  spdlog::info("{}: metrics and the live page on {}/ (worker {})", spec.name, server->url(),
               worker);
  return Status::Ok();
}

std::string MetricsServer::host_port() const {
  return (address_ == "0.0.0.0" ? std::string("127.0.0.1") : address_) + ":" +
         std::to_string(port_);
}

std::string MetricsServer::url() const {
  return "http://" + host_port();
}

}  // namespace sleet
