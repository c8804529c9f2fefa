#include "tests/support/zk_fixture.hpp"

#include <stdexcept>

namespace sleet::test {

ZkServer::ZkServer(std::chrono::milliseconds deadline) {
  auto r = EmbeddedZooKeeper::start(dir_.path(), 0, deadline);
  if (!r.ok()) throw std::runtime_error("cannot start ZooKeeper: " + r.status().to_string());
  zk_ = std::move(r).value();
}

zk::Options ZkServer::options(std::chrono::milliseconds request_timeout,
                              std::chrono::milliseconds session_timeout) const {
  zk::Options o;
  o.connect = connect_string();
  o.request_timeout = request_timeout;
  o.session_timeout = session_timeout;
  return o;
}

std::unique_ptr<zk::Client> ZkServer::client(const zk::Options& o) const {
  auto c = zk::Client::connect(o, std::chrono::seconds(10));
  if (!c.ok()) throw std::runtime_error("cannot connect to ZooKeeper: " + c.status().to_string());
  return std::move(c).value();
}

void ZkTest::SetUpTestSuite() {
  if (!server_) server_ = std::make_unique<ZkServer>();
}

void ZkTest::TearDownTestSuite() {
  server_.reset();
}

void ZkTest::SetUp() {
  ASSERT_TRUE(server_) << "ZooKeeper server did not start";
  if (!server_->server().running()) {
    Status st = server_->server().restart();
    ASSERT_TRUE(st.ok()) << st.to_string();
  }
  client_ = server_->client();
  auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  root_ = std::string("/test/") + info->test_suite_name() + "." + info->name();
  // Parameterized names contain '/'.
  for (size_t i = 6; i < root_.size(); ++i)
    if (root_[i] == '/') root_[i] = '_';
  Status st = client_->remove_recursive(root_);
  ASSERT_TRUE(st.ok()) << st.to_string();
  st = client_->ensure_path(root_);
  ASSERT_TRUE(st.ok()) << st.to_string();
}

void ZkTest::TearDown() {
  client_.reset();
}

}  // namespace sleet::test
