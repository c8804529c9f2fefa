#include "tests/support/store_fixture.hpp"

#include "tests/support/assert_ok.hpp"

namespace sleet::test {

void StoreTest::SetUp() {
  ZkTest::SetUp();
  if (HasFatalFailure()) return;
  topology_ = ::testing::UnitTest::GetInstance()->current_test_info()->name();
  store_ = std::make_unique<CheckpointStore>(client(), root(), topology_);
  ASSERT_OK(store_->init());
  snaps_ = std::make_unique<SnapshotStore>(client(), store_->blob_root(), dir_.path() / topology_,
                                           inline_limit_);
}

void StoreTest::claim_generation() {
  auto g = store_->bump_generation();
  ASSERT_TRUE(g.ok()) << g.status().to_string();
  gen_ = *g;
}

void StoreTest::TearDown() {
  snaps_.reset();
  store_.reset();
  ZkTest::TearDown();
}

}  // namespace sleet::test
