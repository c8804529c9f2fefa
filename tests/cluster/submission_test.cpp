// Submitted topologies against a real ZooKeeper server (cluster/submission.hpp): submit stores
// the definition (created, unchanged, replaced), refuses a different one while workers are live
// unless replace, clears an earlier kill; list shows generation, workers, latest checkpoint and the
// kill request; request_kill fires a watch armed by kill_requested.
#include <gtest/gtest.h>

#include "checkpointing/checkpoint_store.hpp"
#include "cluster/submission.hpp"
#include "tests/support/zk_fixture.hpp"

using namespace sleet;
using namespace sleet::cluster;
using namespace std::chrono_literals;

namespace {

class SubmissionTest : public test::ZkTest {};

Definition def(const std::string& name, const std::string& body) {
  Definition d;
  d.name = name;
  d.yaml = "name: \"" + name + "\"\n" + body;
  d.submitted_by = "test";
  return d;
}

}  // namespace

TEST_F(SubmissionTest, SubmitStoresReplacesAndRefusesADifferentOneWhileWorkersLive) {
  zk::Client& zk = client();
  Definition a = def("wc", "# a\n");
  auto r = submit(zk, root(), a, false);
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  EXPECT_EQ(*r, SubmitResult::created);
  auto back = load_definition(zk, root(), "wc");
  ASSERT_TRUE(back.ok()) << back.status().to_string();
  EXPECT_TRUE(back->same_as(a));
  EXPECT_EQ(back->submitted_by, "test");

  a.submitted_by = "someone else, later";
  r = submit(zk, root(), a, false);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, SubmitResult::unchanged);

  Definition b = def("wc", "# b\n");
  r = submit(zk, root(), b, false);  // no live worker: replaced
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  EXPECT_EQ(*r, SubmitResult::replaced);

  ASSERT_TRUE(zk.ensure_path(workers_znode(root(), "wc")).ok());
  ASSERT_TRUE(zk.create(workers_znode(root(), "wc") + "/w0", "", /*ephemeral=*/true).ok());
  r = submit(zk, root(), a, false);
  EXPECT_EQ(r.status().code(), Code::already_exists);
  for (const char* part : {"wc", "w0", "sleet kill wc", "--replace"})
    EXPECT_NE(r.status().message().find(part), std::string::npos) << r.status().message();
  back = load_definition(zk, root(), "wc");
  ASSERT_TRUE(back.ok());
  EXPECT_TRUE(back->same_as(b)) << "the refused submission changed nothing";
  r = submit(zk, root(), b, false);
  ASSERT_TRUE(r.ok()) << "the same definition again is fine while it runs";
  EXPECT_EQ(*r, SubmitResult::unchanged);

  r = submit(zk, root(), a, /*replace=*/true);
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  EXPECT_EQ(*r, SubmitResult::replaced);
  back = load_definition(zk, root(), "wc");
  ASSERT_TRUE(back.ok());
  EXPECT_TRUE(back->same_as(a));
}

TEST_F(SubmissionTest, AMissingDefinitionAndABadNameAreClearErrors) {
  auto d = load_definition(client(), root(), "nope");
  EXPECT_EQ(d.status().code(), Code::not_found);
  for (const char* part : {"nope", "sleet list", "sleet submit"})
    EXPECT_NE(d.status().message().find(part), std::string::npos) << d.status().message();
  EXPECT_EQ(load_definition(client(), root(), "a/b").status().code(), Code::invalid_argument);
  EXPECT_EQ(request_kill(client(), root(), "nope").code(), Code::not_found);
  EXPECT_EQ(submit(client(), root(), def("t", std::string(1'100'000, '#')), false).status().code(),
            Code::invalid_argument);
}

TEST_F(SubmissionTest, ListShowsWhatRunsAndKillIsWatchableAndClearedByASubmit) {
  zk::Client& zk = client();
  auto empty = list_topologies(zk, root());
  ASSERT_TRUE(empty.ok()) << empty.status().to_string();
  EXPECT_TRUE(empty->empty());

  ASSERT_TRUE(submit(zk, root(), def("wc", ""), false).ok());
  // A topology `sleet run` ran without a submit: checkpoints, a generation, no definition.
  CheckpointStore other(zk, root(), "local");
  ASSERT_TRUE(other.init().ok());
  ASSERT_TRUE(other.bump_generation().ok());
  ASSERT_TRUE(other.bump_generation().ok());
  ASSERT_TRUE(zk.set(other.latest_path(), "12").ok());
  ASSERT_TRUE(zk.ensure_path(workers_znode(root(), "wc")).ok());
  for (const char* w : {"w1", "w0"})
    ASSERT_TRUE(zk.create(workers_znode(root(), "wc") + "/" + w, "", true).ok());

  zk::Watch watch;
  auto k = kill_requested(zk, root(), "wc", &watch);
  ASSERT_TRUE(k.ok());
  EXPECT_FALSE(*k);
  EXPECT_FALSE(watch.fired());

  ASSERT_TRUE(request_kill(zk, root(), "wc").ok());
  ASSERT_TRUE(request_kill(zk, root(), "wc").ok()) << "idempotent";
  auto ev = watch.wait_for(10s);
  ASSERT_TRUE(ev.ok()) << ev.status().to_string();
  EXPECT_EQ(ev->type, zk::WatchEvent::Type::created);
  k = kill_requested(zk, root(), "wc");
  ASSERT_TRUE(k.ok());
  EXPECT_TRUE(*k);

  auto l = list_topologies(zk, root());
  ASSERT_TRUE(l.ok()) << l.status().to_string();
  ASSERT_EQ(l->size(), 2u);
  EXPECT_EQ((*l)[0].name, "local");
  EXPECT_FALSE((*l)[0].submitted);
  EXPECT_EQ((*l)[0].generation, 2);
  EXPECT_EQ((*l)[0].latest_checkpoint, 12);
  EXPECT_TRUE((*l)[0].workers.empty());
  EXPECT_FALSE((*l)[0].kill_requested);
  EXPECT_EQ((*l)[1].name, "wc");
  EXPECT_TRUE((*l)[1].submitted);
  EXPECT_EQ((*l)[1].generation, 0);
  EXPECT_EQ((*l)[1].workers, (std::vector<std::string>{"w0", "w1"}));
  EXPECT_EQ((*l)[1].latest_checkpoint, 0);
  EXPECT_TRUE((*l)[1].kill_requested);
  EXPECT_EQ(listings_json(*l),
            "[{\"name\":\"local\",\"submitted\":false,\"generation\":2,\"workers\":[],"
            "\"latest_checkpoint\":12,\"kill_requested\":false},"
            "{\"name\":\"wc\",\"submitted\":true,\"generation\":0,\"workers\":[\"w0\",\"w1\"],"
            "\"latest_checkpoint\":0,\"kill_requested\":true}]");

  auto r = submit(zk, root(), def("wc", ""), false);
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  EXPECT_EQ(*r, SubmitResult::unchanged);
  k = kill_requested(zk, root(), "wc");
  ASSERT_TRUE(k.ok());
  EXPECT_FALSE(*k) << "a new submission runs again";
}
