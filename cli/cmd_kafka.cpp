// `sleet kafka`: hosts the embedded Kafka (librdkafka's mock cluster) as a standalone process so
// any Kafka client (kcat, a worker, a test) can use it. Prints the bootstrap address as the first
// line of stdout, then waits for SIGINT/SIGTERM and exits 0.
//
// Signals: SIGINT and SIGTERM are blocked in the main thread before the mock cluster starts its
// threads (which therefore inherit the mask), and the main thread collects them with sigwait(), so
// no handler ever runs inside librdkafka.
#include <signal.h>

#include <cctype>
#include <charconv>
#include <iostream>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "cli/commands.hpp"
#include "kafka/kafka.hpp"

namespace sleet::cli {

namespace {

struct KafkaOptions {
  int brokers = 1;
  std::vector<std::string> topics;  // NAME:PARTITIONS
};

// "words:3" -> ("words", 3); nullopt-like empty name for a malformed spec.
bool parse_topic(const std::string& spec, std::string& name, int& partitions) {
  auto colon = spec.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == spec.size()) return false;
  name = spec.substr(0, colon);
  const char* b = spec.data() + colon + 1;
  const char* e = spec.data() + spec.size();
  auto [p, ec] = std::from_chars(b, e, partitions);
  if (ec != std::errc() || p != e || partitions < 1 || partitions > 100000) return false;
  for (char c : name)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-'))
      return false;
  return name.size() <= 249;
}

int run_kafka(const KafkaOptions& o) {
  std::vector<std::pair<std::string, int>> topics;
  for (const auto& spec : o.topics) {
    std::string name;
    int n = 0;
    if (!parse_topic(spec, name, n)) {
      std::cerr << "sleet kafka: bad --topic '" << spec
                << "': expected NAME:PARTITIONS (NAME of letters, digits, '.', '_', '-'; "
                   "PARTITIONS from 1 to 100000), e.g. --topic words:3\n";
      return kExitUsage;
    }
    topics.emplace_back(std::move(name), n);
  }

  sigset_t sigs;
  sigemptyset(&sigs);
  sigaddset(&sigs, SIGINT);
  sigaddset(&sigs, SIGTERM);
  if (pthread_sigmask(SIG_BLOCK, &sigs, nullptr) != 0) {
    std::cerr << "sleet kafka: cannot block signals\n";
    return kExitFailure;
  }

  auto cluster = kafka::MockCluster::start(o.brokers);
  if (!cluster.ok()) {
    std::cerr << "sleet kafka: " << cluster.status().to_string() << "\n";
    return kExitFailure;
  }
  for (const auto& [name, n] : topics) {
    if (Status s = (*cluster)->create_topic(name, n); !s.ok()) {
      std::cerr << "sleet kafka: " << s.to_string() << "\n";
      return kExitFailure;
    }
  }
  std::cout << (*cluster)->bootstrap() << std::endl;  // first line of stdout, flushed
  std::cerr << "sleet kafka: mock Kafka cluster with " << o.brokers << " broker(s) at "
            << (*cluster)->bootstrap();
  for (const auto& [name, n] : topics) std::cerr << ", topic " << name << " (" << n << ")";
  std::cerr << "; SIGINT/SIGTERM stops it\n";

  int sig = 0;
  while (sigwait(&sigs, &sig) != 0) {
  }
  std::cerr << "sleet kafka: " << (sig == SIGINT ? "SIGINT" : "SIGTERM") << ", stopping\n";
  cluster->reset();
  return kExitOk;
}

}  // namespace

void register_kafka(CLI::App& app) {
  auto opts = std::make_shared<KafkaOptions>();
  auto* cmd = app.add_subcommand(
      "kafka",
      "Host an embedded Kafka (librdkafka mock cluster) on 127.0.0.1; prints the bootstrap "
      "address as the first stdout line and runs until SIGINT/SIGTERM");
  cmd->add_option("--brokers", opts->brokers, "number of brokers")
      ->check(CLI::Range(1, 32))
      ->capture_default_str();
  cmd->add_option("--topic", opts->topics, "create topic NAME with PARTITIONS partitions")
      ->type_name("NAME:PARTITIONS");
  cmd->callback([opts] {
    int rc = run_kafka(*opts);
    if (rc != kExitOk) throw CLI::RuntimeError(rc);
  });
}

}  // namespace sleet::cli
