// ZooKeeper for tests: a real server (EmbeddedZooKeeper, the Debian package) in a temp dir, and a
// gtest base fixture that starts ONE server per test suite (the JVM takes ~1-2 s to start) and
// gives every test its own znode namespace and client.
//
//   class MyTest : public sleet::test::ZkTest {};
//   TEST_F(MyTest, Works) { ASSERT_TRUE(client().create(root() + "/x", "v").ok()); }
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <string>

#include "cluster/zk_server.hpp"
#include "coordination/zk_client.hpp"
#include "tests/support/support.hpp"

namespace sleet::test {

// A ZooKeeper server in its own temp dir; throws std::runtime_error if it cannot start.
class ZkServer {
 public:
  explicit ZkServer(std::chrono::milliseconds deadline = std::chrono::seconds(30));
  EmbeddedZooKeeper& server() { return *zk_; }
  std::string connect_string() const { return zk_->connect_string(); }
  // Client options for this server.
  zk::Options options(std::chrono::milliseconds request_timeout = std::chrono::seconds(5),
                      std::chrono::milliseconds session_timeout = std::chrono::seconds(10)) const;
  // A connected client; throws if it cannot connect within 10 s.
  std::unique_ptr<zk::Client> client(const zk::Options& o) const;
  std::unique_ptr<zk::Client> client() const { return client(options()); }

 private:
  TempDir dir_{"sleet-zk"};
  std::unique_ptr<EmbeddedZooKeeper> zk_;
};

// One server per test suite; per test a client and a fresh root "/test/<Suite>.<Test>".
class ZkTest : public ::testing::Test {
 public:
  static void SetUpTestSuite();
  static void TearDownTestSuite();

 protected:
  void SetUp() override;     // restarts the server if a previous test left it stopped
  void TearDown() override;  // drops the client

  static ZkServer& zk_server() { return *server_; }
  zk::Client& client() { return *client_; }
  const std::string& root() const { return root_; }

 private:
  static inline std::unique_ptr<ZkServer> server_;
  std::unique_ptr<zk::Client> client_;
  std::string root_;
};

}  // namespace sleet::test
