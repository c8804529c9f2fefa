// A gtest fixture for tests of the checkpoint stores against a real ZooKeeper (ZkTest): per test a
// CheckpointStore of a topology named after the test, initialised, and a SnapshotStore writing
// its file blobs under a temp dir of the fixture's.
//
//   class MyTest : public sleet::test::StoreTest {
//    protected:
//     MyTest() : StoreTest("sleet-my", /*inline_limit=*/1024) {}
//   };
//
// A subclass that overrides SetUp calls StoreTest::SetUp() first and returns on
// HasFatalFailure(); one that overrides TearDown drops what uses the stores, then calls
// StoreTest::TearDown(). Test thread only.
#pragma once

#include <cstddef>
#include <memory>
#include <string>

#include "checkpointing/checkpoint_store.hpp"
#include "checkpointing/snapshot_store.hpp"
#include "tests/support/zk_fixture.hpp"

namespace sleet::test {

class StoreTest : public ZkTest {
 protected:
  // `dir_prefix` names the temp dir; blobs of up to `inline_limit` bytes stay in ZooKeeper.
  StoreTest(const std::string& dir_prefix, size_t inline_limit)
      : dir_(dir_prefix), inline_limit_(inline_limit) {}
  void SetUp() override;     // ZkTest::SetUp, then store_ (init() asserted) and snaps_
  void TearDown() override;  // snaps_, store_, then ZkTest::TearDown
  // Claims the topology's next generation (CheckpointStore::bump_generation, asserted) as gen_,
  // the one this test's checkpoints are written and committed by.
  void claim_generation();

  TempDir dir_;
  std::string topology_;  // the current test's name
  std::unique_ptr<CheckpointStore> store_;
  std::unique_ptr<SnapshotStore> snaps_;
  Generation gen_{0};  // set by claim_generation()

 private:
  size_t inline_limit_;
};

}  // namespace sleet::test
