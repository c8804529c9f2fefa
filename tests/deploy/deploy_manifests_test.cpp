// The deployment examples in deploy/ (issue 12, "Deployment examples") are checked here without a
// cluster: every Kubernetes manifest parses (all documents of every deploy/kubernetes/*.yaml) and
// is a well-formed object of a kind we ship, the objects refer to each other consistently
// (selectors, volumes, claims, ConfigMaps, Services, `$(VAR)` references), and the cluster-mode
// contract holds: the worker StatefulSet passes its pod name as --id and its pod IP as --advertise,
// mounts the shared ReadWriteMany volume at the checkpoint.dir (and FileSink path) of the topology
// the submit Job stores, its Service is headless, the Job runs `sleet submit`, every ZooKeeper
// address names a server of the ZooKeeper StatefulSet. The topology in the ConfigMap and
// examples/cluster/ load and validate with Sleet's own loader and the real wordcount plugin. The
// systemd units are read as INI files: the worker runs `sleet worker ... --zookeeper` and is not
// restarted on exits 2 and 3.
#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "topology_dsl/loader.hpp"

namespace fs = std::filesystem;

namespace {

const fs::path kRoot = SLEET_SOURCE_DIR;
const fs::path kKube = kRoot / "deploy" / "kubernetes";
const fs::path kSystemd = kRoot / "deploy" / "systemd";

// ---------------------------------------------------------------------------------------------
// Kubernetes manifests

struct Doc {
  std::string where;  // file#index, for messages
  YAML::Node node;
};

// n[k0][k1]... without yaml-cpp's trap: there a missing key yields an *invalid* node on which any
// further [] or Type() throws. Here a missing step yields an undefined but valid node
// (IsDefined() false, not a map, not a sequence, no elements), so checks can chain freely.
YAML::Node at(const YAML::Node& n, std::initializer_list<std::string> keys) {
  YAML::Node cur = n;
  for (const auto& k : keys) {
    if (!cur.IsDefined() || !cur.IsMap()) return YAML::Node(YAML::NodeType::Undefined);
    const YAML::Node& c = cur;
    YAML::Node next = c[k];
    if (!next.IsDefined()) return YAML::Node(YAML::NodeType::Undefined);
    cur.reset(next);  // rebinds (operator= would assign into the document)
  }
  return cur;
}

std::string str(const YAML::Node& n) {
  return n.IsDefined() && n.IsScalar() ? n.as<std::string>() : "";
}

std::string kind_of(const Doc& d) {
  return str(at(d.node, {"kind"}));
}
std::string name_of(const Doc& d) {
  return str(at(d.node, {"metadata", "name"}));
}

// Every non-empty document of every deploy/kubernetes/*.yaml, in file order. A file that does not
// parse is a failure naming the file and the parser's line and column.
std::vector<Doc> load_manifests() {
  std::vector<fs::path> files;
  for (const auto& e : fs::directory_iterator(kKube))
    if (e.path().extension() == ".yaml" || e.path().extension() == ".yml")
      files.push_back(e.path());
  std::sort(files.begin(), files.end());
  std::vector<Doc> docs;
  for (const auto& f : files) {
    std::vector<YAML::Node> nodes;
    try {
      nodes = YAML::LoadAllFromFile(f.string());
    } catch (const YAML::Exception& e) {
      ADD_FAILURE() << f << " does not parse: " << e.what();
      continue;
    }
    int i = 0;
    for (auto& n : nodes) {
      ++i;
      if (n.IsNull()) continue;  // an empty document (e.g. a trailing ---)
      docs.push_back({f.filename().string() + "#" + std::to_string(i), n});
    }
  }
  return docs;
}

class Manifests : public ::testing::Test {
 protected:
  void SetUp() override {
    docs_ = load_manifests();
    ASSERT_FALSE(docs_.empty()) << "no manifests in " << kKube;
  }
  std::vector<const Doc*> all(const std::string& kind) const {
    std::vector<const Doc*> out;
    for (const auto& d : docs_)
      if (kind_of(d) == kind) out.push_back(&d);
    return out;
  }
  const Doc* find(const std::string& kind, const std::string& name) const {
    for (const auto& d : docs_)
      if (kind_of(d) == kind && name_of(d) == name) return &d;
    return nullptr;
  }
  std::vector<Doc> docs_;
};

// The kinds deploy/ ships, with the API group/version Kubernetes serves them under.
const std::map<std::string, std::string> kApiVersionOf = {
    {"Service", "v1"},          {"ConfigMap", "v1"}, {"PersistentVolumeClaim", "v1"},
    {"StatefulSet", "apps/v1"}, {"Job", "batch/v1"},
};

bool dns_label(const std::string& s) {
  static const std::regex re("[a-z0-9]([-a-z0-9]*[a-z0-9])?");
  return s.size() <= 63 && std::regex_match(s, re);
}

// The labels `selector` asks for are all on `labels`.
bool selects(const YAML::Node& selector, const YAML::Node& labels) {
  if (!selector.IsDefined() || !selector.IsMap() || selector.size() == 0) return false;
  for (const auto& kv : selector)
    if (str(at(labels, {kv.first.as<std::string>()})) != str(kv.second)) return false;
  return true;
}

// The pod template's spec of a workload (StatefulSet, Job), or an undefined node.
YAML::Node pod_spec(const Doc& d) {
  return at(d.node, {"spec", "template", "spec"});
}
YAML::Node pod_labels(const Doc& d) {
  return at(d.node, {"spec", "template", "metadata", "labels"});
}

std::vector<std::string> argv_of(const YAML::Node& container) {
  std::vector<std::string> argv;
  for (const char* key : {"command", "args"})
    for (const auto& a : at(container, {key})) argv.push_back(str(a));
  return argv;
}

// The value after `flag` (`--flag value` or `--flag=value`).
std::optional<std::string> flag_value(const std::vector<std::string>& argv,
                                      const std::string& flag) {
  for (size_t i = 0; i < argv.size(); ++i) {
    if (argv[i] == flag && i + 1 < argv.size()) return argv[i + 1];
    if (argv[i].rfind(flag + "=", 0) == 0) return argv[i].substr(flag.size() + 1);
  }
  return std::nullopt;
}

YAML::Node env_var(const YAML::Node& container, const std::string& name) {
  if (at(container, {"env"}).IsSequence())
    for (const auto& e : at(container, {"env"}))
      if (str(at(e, {"name"})) == name) return e;
  return YAML::Node(YAML::NodeType::Undefined);
}

// `path` is `dir` or lies below it (both absolute, compared lexically).
bool under(const std::string& path, const std::string& dir) {
  fs::path p = fs::path(path).lexically_normal(), d = fs::path(dir).lexically_normal();
  if (!p.is_absolute() || !d.is_absolute()) return false;
  auto rel = p.lexically_relative(d);
  return !rel.empty() && *rel.begin() != "..";
}

// A workload (a pod template with containers) running `sleet <verb>`: its document and container.
struct SleetContainer {
  const Doc* doc = nullptr;
  YAML::Node container;
  std::vector<std::string> argv;
};

std::vector<SleetContainer> sleet_containers(const std::vector<Doc>& docs,
                                             const std::string& verb) {
  std::vector<SleetContainer> out;
  for (const auto& d : docs) {
    YAML::Node spec = pod_spec(d);
    if (!at(spec, {"containers"}).IsSequence()) continue;
    for (const auto& c : at(spec, {"containers"})) {
      auto argv = argv_of(c);
      if (argv.size() >= 2 && fs::path(argv[0]).filename() == "sleet" && argv[1] == verb)
        out.push_back({&d, c, argv});
    }
  }
  return out;
}

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> out;
  std::string item;
  std::istringstream is(s);
  while (std::getline(is, item, sep))
    if (!item.empty()) out.push_back(item);
  return out;
}

TEST_F(Manifests, EveryDocumentIsAKubernetesObjectOfAKnownKind) {
  std::set<std::pair<std::string, std::string>> seen;
  for (const auto& d : docs_) {
    SCOPED_TRACE(d.where);
    ASSERT_TRUE(d.node.IsMap()) << "a manifest is a map";
    const std::string kind = kind_of(d), api = str(at(d.node, {"apiVersion"})), name = name_of(d);
    EXPECT_FALSE(api.empty()) << "no apiVersion";
    ASSERT_FALSE(kind.empty()) << "no kind";
    ASSERT_TRUE(kApiVersionOf.count(kind)) << "kind '" << kind << "' is not one deploy/ ships";
    EXPECT_EQ(api, kApiVersionOf.at(kind)) << kind << " is served as " << kApiVersionOf.at(kind);
    EXPECT_TRUE(dns_label(name)) << "metadata.name '" << name << "' is not a DNS label";
    EXPECT_TRUE(seen.insert({kind, name}).second) << kind << " " << name << " defined twice";
    if (kind == "ConfigMap")
      EXPECT_TRUE(at(d.node, {"data"}).IsMap()) << "a ConfigMap needs data";
    else
      EXPECT_TRUE(at(d.node, {"spec"}).IsMap()) << "a " << kind << " needs a spec";
  }
  for (const char* k : {"StatefulSet", "Service", "PersistentVolumeClaim", "ConfigMap", "Job"})
    EXPECT_FALSE(all(k).empty()) << "deploy/kubernetes has no " << k;
}

// What the API server or the kubelet would refuse or silently get wrong in a pod template.
TEST_F(Manifests, WorkloadsAreConsistent) {
  for (const auto& d : docs_) {
    const std::string kind = kind_of(d);
    if (kind != "StatefulSet" && kind != "Job") continue;
    SCOPED_TRACE(d.where + " (" + kind + " " + name_of(d) + ")");
    YAML::Node spec = pod_spec(d);
    ASSERT_TRUE(spec.IsMap()) << "no spec.template.spec";
    ASSERT_TRUE(at(spec, {"containers"}).IsSequence() && at(spec, {"containers"}).size() > 0);
    std::set<std::string> volumes, claim_templates;
    if (at(spec, {"volumes"}).IsSequence())
      for (const auto& v : at(spec, {"volumes"})) {
        volumes.insert(str(at(v, {"name"})));
        if (at(v, {"persistentVolumeClaim"}).IsDefined()) {
          std::string claim = str(at(v, {"persistentVolumeClaim", "claimName"}));
          EXPECT_NE(find("PersistentVolumeClaim", claim), nullptr)
              << "volume " << str(at(v, {"name"})) << " claims '" << claim << "', not defined here";
        }
        if (at(v, {"configMap"}).IsDefined()) {
          std::string cm = str(at(v, {"configMap", "name"}));
          EXPECT_NE(find("ConfigMap", cm), nullptr) << "ConfigMap '" << cm << "' not defined here";
        }
      }
    if (kind == "StatefulSet") {
      EXPECT_TRUE(selects(at(d.node, {"spec", "selector", "matchLabels"}), pod_labels(d)))
          << "spec.selector.matchLabels must match the template's labels";
      EXPECT_GE(at(d.node, {"spec", "replicas"}).as<int>(1), 1);
      if (at(d.node, {"spec", "volumeClaimTemplates"}).IsSequence())
        for (const auto& t : at(d.node, {"spec", "volumeClaimTemplates"}))
          claim_templates.insert(str(at(t, {"metadata", "name"})));
      // The governing Service gives each pod its DNS name; it must be headless.
      std::string svc = str(at(d.node, {"spec", "serviceName"}));
      const Doc* s = find("Service", svc);
      ASSERT_NE(s, nullptr) << "serviceName '" << svc << "' is not a Service defined here";
      EXPECT_EQ(str(at(s->node, {"spec", "clusterIP"})), "None")
          << "Service " << svc << " governs a StatefulSet: it must be headless";
      EXPECT_TRUE(selects(at(s->node, {"spec", "selector"}), pod_labels(d)))
          << "Service " << svc << " does not select the StatefulSet's pods";
      std::string restart = str(at(spec, {"restartPolicy"}));
      EXPECT_TRUE(restart.empty() || restart == "Always");
    } else {
      std::string restart = str(at(spec, {"restartPolicy"}));
      EXPECT_TRUE(restart == "OnFailure" || restart == "Never")
          << "a Job's restartPolicy must be OnFailure or Never, not '" << restart << "'";
    }
    for (const auto& c : at(spec, {"containers"})) {
      SCOPED_TRACE("container " + str(at(c, {"name"})));
      EXPECT_TRUE(dns_label(str(at(c, {"name"}))));
      EXPECT_FALSE(str(at(c, {"image"})).empty()) << "no image";
      if (at(c, {"volumeMounts"}).IsSequence())
        for (const auto& m : at(c, {"volumeMounts"})) {
          std::string v = str(at(m, {"name"}));
          EXPECT_TRUE(volumes.count(v) || claim_templates.count(v))
              << "mounts volume '" << v << "' the pod does not have";
          EXPECT_TRUE(fs::path(str(at(m, {"mountPath"}))).is_absolute());
        }
      // The kubelet expands $(VAR) only for variables the container defines, and passes any
      // other reference on literally: an undefined one is a bug that no API server reports.
      static const std::regex ref(R"(\$\(([A-Za-z_][A-Za-z0-9_]*)\))");
      for (const auto& a : argv_of(c))
        for (std::sregex_iterator it(a.begin(), a.end(), ref), end; it != end; ++it)
          EXPECT_TRUE(env_var(c, (*it)[1]).IsDefined()) << "'" << a << "' refers to $(" << (*it)[1]
                                                        << "), which the container does not define";
    }
  }
  // A Service forwards each port to its targetPort (default: the same number, or a port name) on
  // the pods it selects; one the pods do not declare reaches nothing.
  for (const Doc* s : all("Service")) {
    SCOPED_TRACE("Service " + name_of(*s));
    std::set<std::string> pod_ports;
    bool matched = false;
    for (const auto& d : docs_)
      if (pod_spec(d).IsDefined() && selects(at(s->node, {"spec", "selector"}), pod_labels(d))) {
        matched = true;
        for (const auto& c : at(pod_spec(d), {"containers"}))
          for (const auto& p : at(c, {"ports"})) {
            pod_ports.insert(str(at(p, {"containerPort"})));
            pod_ports.insert(str(at(p, {"name"})));
          }
      }
    EXPECT_TRUE(matched) << "selects no pods defined here";
    EXPECT_GT(at(s->node, {"spec", "ports"}).size(), 0u) << "no ports";
    for (const auto& p : at(s->node, {"spec", "ports"})) {
      std::string target = str(at(p, {"targetPort"}));
      if (target.empty()) target = str(at(p, {"port"}));
      EXPECT_TRUE(pod_ports.count(target)) << "port " << str(at(p, {"port"})) << " goes to "
                                           << target << ", which its pods do not declare";
    }
  }
}

// The topology the submit Job stores: the ConfigMap file it names, loaded by Sleet's own loader
// with the real wordcount plugin (from this build, through the file's ${SLEET_PLUGIN_DIR:-...}).
struct Submitted {
  std::string configmap, key;
  sleet::TopologySpec spec;
};

sleet::Result<sleet::TopologySpec> load_checked(const std::string& text, const std::string& path) {
  setenv("SLEET_PLUGIN_DIR", (fs::path(SLEET_BINARY_DIR) / "plugins").c_str(), 1);
  sleet::LoadOptions opts;
  std::vector<sleet::Diagnostic> diags;
  auto r = sleet::load_topology_text(text, path, opts, diags);
  unsetenv("SLEET_PLUGIN_DIR");
  for (const auto& d : diags) ADD_FAILURE() << d.to_string();  // warnings too: keep them clean
  return r;
}

class SubmittedTopology : public Manifests {
 protected:
  void SetUp() override {
    Manifests::SetUp();
    auto jobs = sleet_containers(docs_, "submit");
    ASSERT_EQ(jobs.size(), 1u) << "exactly one workload runs `sleet submit`";
    job_ = jobs[0];
    ASSERT_EQ(kind_of(*job_.doc), "Job") << "`sleet submit` runs once: a Job";
    ASSERT_GE(job_.argv.size(), 3u) << "sleet submit FILE";
    const std::string file = job_.argv[2];
    ASSERT_TRUE(flag_value(job_.argv, "--zookeeper")) << "sleet submit without --zookeeper";
    // FILE must come from a ConfigMap volume mounted in the Job's container.
    for (const auto& m : at(job_.container, {"volumeMounts"})) {
      if (!under(file, str(at(m, {"mountPath"})))) continue;
      for (const auto& v : at(pod_spec(*job_.doc), {"volumes"}))
        if (str(at(v, {"name"})) == str(at(m, {"name"})) && at(v, {"configMap"}).IsDefined()) {
          submitted_.configmap = str(at(v, {"configMap", "name"}));
          submitted_.key = fs::path(file).lexically_relative(str(at(m, {"mountPath"}))).string();
        }
    }
    ASSERT_FALSE(submitted_.configmap.empty())
        << "the submitted file " << file << " is on no ConfigMap volume of the Job";
    const Doc* cm = find("ConfigMap", submitted_.configmap);
    ASSERT_NE(cm, nullptr);
    std::string text = str(at(cm->node, {"data", submitted_.key}));
    ASSERT_FALSE(text.empty()) << "ConfigMap " << submitted_.configmap << " has no key "
                               << submitted_.key;
    auto spec =
        load_checked(text, (kKube / (submitted_.configmap + "." + submitted_.key)).string());
    ASSERT_TRUE(spec.ok()) << spec.status().to_string();
    submitted_.spec = *spec;

    auto workers = sleet_containers(docs_, "worker");
    ASSERT_EQ(workers.size(), 1u) << "exactly one workload runs `sleet worker`";
    worker_ = workers[0];
    ASSERT_EQ(kind_of(*worker_.doc), "StatefulSet") << "workers are a StatefulSet";
  }
  SleetContainer job_, worker_;
  Submitted submitted_;
};

TEST_F(SubmittedTopology, WorkerIdIsThePodNameAndItAdvertisesThePodIp) {
  auto id = flag_value(worker_.argv, "--id");
  ASSERT_TRUE(id) << "the worker gets no --id";
  ASSERT_EQ(*id, "$(POD_NAME)");
  EXPECT_EQ(str(at(env_var(worker_.container, "POD_NAME"), {"valueFrom", "fieldRef", "fieldPath"})),
            "metadata.name")
      << "POD_NAME must come from the downward API (metadata.name)";

  auto adv = flag_value(worker_.argv, "--advertise");
  ASSERT_TRUE(adv) << "the worker advertises no address";
  std::smatch m;
  ASSERT_TRUE(std::regex_match(*adv, m, std::regex(R"(\$\(POD_IP\):([0-9]+))"))) << *adv;
  EXPECT_EQ(str(at(env_var(worker_.container, "POD_IP"), {"valueFrom", "fieldRef", "fieldPath"})),
            "status.podIP");
  bool port_declared = false;
  for (const auto& p : at(worker_.container, {"ports"}))
    port_declared |= str(at(p, {"containerPort"})) == m[1].str();
  EXPECT_TRUE(port_declared) << "the advertised port " << m[1] << " is not a containerPort";

  auto topo = flag_value(worker_.argv, "--topology");
  ASSERT_TRUE(topo) << "the worker names no --topology (its definition comes from ZooKeeper)";
  EXPECT_EQ(*topo, submitted_.spec.name) << "workers join another topology than the Job submits";
}

TEST_F(SubmittedTopology, WorkersShareOneReadWriteManyVolumeAtCheckpointDir) {
  const std::string dir = submitted_.spec.config_or("checkpoint.dir", "");
  ASSERT_TRUE(fs::path(dir).is_absolute())
      << "checkpoint.dir '" << dir << "' must be an absolute path on the shared volume";
  std::vector<std::string> sink_paths;
  for (const auto& c : submitted_.spec.components)
    if (c.class_name == "FileSink") sink_paths.push_back(c.args.string_or("path", ""));
  std::string mount;
  for (const auto& v : at(pod_spec(*worker_.doc), {"volumes"})) {
    if (!at(v, {"persistentVolumeClaim"}).IsDefined()) continue;
    const Doc* pvc =
        find("PersistentVolumeClaim", str(at(v, {"persistentVolumeClaim", "claimName"})));
    ASSERT_NE(pvc, nullptr);
    bool rwx = false;
    for (const auto& a : at(pvc->node, {"spec", "accessModes"})) rwx |= str(a) == "ReadWriteMany";
    if (!rwx) continue;
    for (const auto& m : at(worker_.container, {"volumeMounts"}))
      if (str(at(m, {"name"})) == str(at(v, {"name"}))) {
        EXPECT_NE(str(at(m, {"readOnly"})), "true");
        if (under(dir, str(at(m, {"mountPath"})))) mount = str(at(m, {"mountPath"}));
      }
  }
  ASSERT_FALSE(mount.empty()) << "checkpoint.dir " << dir
                              << " is on no ReadWriteMany volume the worker mounts";
  for (const auto& p : sink_paths)
    EXPECT_TRUE(under(p, mount)) << "FileSink path " << p << " is not on the shared volume "
                                 << mount << ": a task moved to another pod would lose its files";
}

TEST_F(SubmittedTopology, EveryZooKeeperAddressIsAServerOfTheEnsemble) {
  // The ensemble: each pod `<set>-<i>.<serviceName>` of a StatefulSet whose container serves a
  // port named `client`, at that port, or a Service with a port named `client` in front of them.
  std::set<std::string> servers;
  for (const Doc* s : all("StatefulSet"))
    for (const auto& c : at(pod_spec(*s), {"containers"}))
      for (const auto& p : at(c, {"ports"})) {
        if (str(at(p, {"name"})) != "client") continue;
        int replicas = at(s->node, {"spec", "replicas"}).as<int>(1);
        EXPECT_EQ(replicas, 3) << "the ZooKeeper StatefulSet " << name_of(*s)
                               << ": an ensemble of 3 survives one lost server";
        for (int i = 0; i < replicas; ++i)
          servers.insert(name_of(*s) + "-" + std::to_string(i) + "." +
                         str(at(s->node, {"spec", "serviceName"})) + ":" +
                         str(at(p, {"containerPort"})));
      }
  for (const Doc* s : all("Service"))
    for (const auto& p : at(s->node, {"spec", "ports"}))
      if (str(at(p, {"name"})) == "client")
        servers.insert(name_of(*s) + ":" + str(at(p, {"port"})));
  ASSERT_FALSE(servers.empty()) << "no ZooKeeper StatefulSet (a container port named client)";
  auto check = [&](const std::string& what, const std::string& connect) {
    auto hosts = split(connect, ',');
    EXPECT_FALSE(hosts.empty()) << what << " names no ZooKeeper";
    for (const auto& h : hosts)
      EXPECT_TRUE(servers.count(h)) << what << ": " << h << " is no server";
    return std::set<std::string>(hosts.begin(), hosts.end());
  };
  auto resolve = [](const SleetContainer& c) {
    std::string v = flag_value(c.argv, "--zookeeper").value_or("");
    std::smatch m;
    if (std::regex_match(v, m, std::regex(R"(\$\(([A-Za-z_0-9]+)\))")))
      return str(at(env_var(c.container, m[1]), {"value"}));
    return v;
  };
  auto w = check("worker --zookeeper", resolve(worker_));
  auto j = check("submit --zookeeper", resolve(job_));
  auto t = check("topology zookeeper.connect", submitted_.spec.config_or("zookeeper.connect", ""));
  EXPECT_EQ(w, j);
  EXPECT_EQ(w, t);
}

// The ConfigMap's topology is the cluster example with in-cluster addresses: same graph.
TEST_F(SubmittedTopology, IsTheClusterExamplesGraph) {
  std::ifstream in(kRoot / "examples" / "cluster" / "wordcount.yaml");
  std::stringstream ss;
  ss << in.rdbuf();
  auto example =
      load_checked(ss.str(), (kRoot / "examples" / "cluster" / "wordcount.yaml").string());
  ASSERT_TRUE(example.ok()) << example.status().to_string();
  ASSERT_EQ(example->components.size(), submitted_.spec.components.size());
  for (size_t i = 0; i < example->components.size(); ++i) {
    EXPECT_EQ(example->components[i].id, submitted_.spec.components[i].id);
    EXPECT_EQ(example->components[i].class_name, submitted_.spec.components[i].class_name);
    EXPECT_EQ(example->components[i].parallelism, submitted_.spec.components[i].parallelism);
  }
  ASSERT_EQ(example->streams.size(), submitted_.spec.streams.size());
  bool fields_hop = false;
  for (size_t i = 0; i < example->streams.size(); ++i) {
    const auto &a = example->streams[i], &b = submitted_.spec.streams[i];
    EXPECT_EQ(a.from + ">" + a.to, b.from + ">" + b.to);
    EXPECT_EQ(a.grouping.type, b.grouping.type);
    EXPECT_EQ(a.grouping.fields, b.grouping.fields);
    fields_hop |= a.grouping.type == sleet::GroupingType::fields;
  }
  EXPECT_TRUE(fields_hop) << "the cluster example needs a fields hop crossing workers";
}

// ---------------------------------------------------------------------------------------------
// systemd units, read the way systemd reads them: [Section], Key=Value, # and ; comments,
// backslash continuations; a key may repeat (EnvironmentFile=).

using Unit = std::map<std::string, std::multimap<std::string, std::string>>;

// systemd ignores a misspelt key with a warning nobody reads (KilSignal= leaves SIGTERM's default
// by luck, RestartPreventExitStatu= silently restarts on exit 3). The keys deploy/ may use, by
// section (systemd.unit(5), systemd.service(5), systemd.exec(5), systemd.kill(5)); add one here
// after checking its spelling there (`systemd-analyze verify` reports unknown ones).
const std::map<std::string, std::set<std::string>> kKnownKeys = {
    {"Unit",
     {"Description", "Documentation", "Wants", "Requires", "After", "Before", "RequiresMountsFor",
      "StartLimitIntervalSec", "StartLimitBurst", "ConditionPathExists"}},
    {"Service",
     {"Type", "User", "Group", "WorkingDirectory", "Environment", "EnvironmentFile", "ExecStart",
      "ExecStartPre", "ExecStop", "Restart", "RestartSec", "RestartPreventExitStatus",
      "SuccessExitStatus", "KillSignal", "KillMode", "TimeoutStartSec", "TimeoutStopSec",
      "LimitNOFILE", "RemainAfterExit"}},
    {"Install", {"WantedBy", "RequiredBy", "DefaultInstance"}},
};

Unit parse_unit(const fs::path& file) {
  Unit unit;
  std::ifstream in(file);
  EXPECT_TRUE(in) << "cannot read " << file;
  std::string line, section, pending;
  int lineno = 0;
  while (std::getline(in, line)) {
    ++lineno;
    if (!pending.empty()) line = pending + " " + line, pending.clear();
    auto b = line.find_first_not_of(" \t");
    if (b == std::string::npos || line[b] == '#' || line[b] == ';') continue;
    line = line.substr(b);
    while (!line.empty() && (line.back() == ' ' || line.back() == '\t')) line.pop_back();
    if (line.back() == '\\') {
      pending = line.substr(0, line.size() - 1);
      continue;
    }
    const std::string where = file.filename().string() + ":" + std::to_string(lineno);
    if (line.front() == '[') {
      EXPECT_EQ(line.back(), ']') << where << ": bad section header";
      section = line.substr(1, line.size() - 2);
      EXPECT_TRUE(section == "Unit" || section == "Service" || section == "Install")
          << where << ": unexpected section [" << section << "]";
      continue;
    }
    auto eq = line.find('=');
    EXPECT_NE(eq, std::string::npos) << where << ": not Key=Value: " << line;
    EXPECT_FALSE(section.empty()) << where << ": a setting before any section";
    if (eq == std::string::npos) continue;
    std::string key = line.substr(0, eq), value = line.substr(eq + 1);
    while (!key.empty() && key.back() == ' ') key.pop_back();
    value.erase(0, value.find_first_not_of(' '));
    auto known = kKnownKeys.find(section);
    EXPECT_TRUE(known != kKnownKeys.end() && known->second.count(key))
        << where << ": " << key << "= is not a key deploy/ uses in [" << section
        << "] (misspelt? systemd would ignore it)";
    unit[section].emplace(key, value);
  }
  EXPECT_TRUE(pending.empty()) << file << ": ends in a continuation";
  return unit;
}

std::string one(const Unit& u, const std::string& section, const std::string& key) {
  auto s = u.find(section);
  if (s == u.end()) return "";
  EXPECT_LE(s->second.count(key), 1u) << key << " set twice in [" << section << "]";
  auto it = s->second.find(key);
  return it == s->second.end() ? "" : it->second;
}

std::vector<std::string> words(const std::string& s) {
  std::vector<std::string> out;
  std::istringstream is(s);
  for (std::string w; is >> w;) out.push_back(w);
  return out;
}

// KEY=value lines of an EnvironmentFile.
std::map<std::string, std::string> parse_env(const fs::path& file) {
  std::map<std::string, std::string> env;
  std::ifstream in(file);
  EXPECT_TRUE(in) << "cannot read " << file;
  for (std::string line; std::getline(in, line);) {
    if (line.empty() || line[0] == '#') continue;
    auto eq = line.find('=');
    EXPECT_NE(eq, std::string::npos) << file << ": " << line;
    if (eq != std::string::npos) env[line.substr(0, eq)] = line.substr(eq + 1);
  }
  return env;
}

// Every ${VAR} in `cmd` is set, non-empty, in the example environment file.
void expect_vars_defined(const std::string& cmd, const std::map<std::string, std::string>& env) {
  static const std::regex ref(R"(\$\{([A-Za-z_][A-Za-z0-9_]*)\})");
  for (std::sregex_iterator it(cmd.begin(), cmd.end(), ref), end; it != end; ++it) {
    auto v = env.find((*it)[1]);
    EXPECT_TRUE(v != env.end() && !v->second.empty())
        << "ExecStart uses ${" << (*it)[1] << "}, which worker.env does not set";
  }
}

TEST(SystemdUnits, WorkerRunsSleetWorkerAndIsNotRestartedOnExit2Or3) {
  Unit u = parse_unit(kSystemd / "sleet-worker@.service");
  auto env = parse_env(kSystemd / "worker.env");
  for (const char* k : {"ZOOKEEPER", "ADVERTISE", "SLOTS", "TOPOLOGY"})
    EXPECT_TRUE(env.count(k)) << "worker.env has no " << k;

  const std::string exec = one(u, "Service", "ExecStart");
  auto argv = words(exec);
  ASSERT_GE(argv.size(), 2u) << "ExecStart=" << exec;
  EXPECT_TRUE(fs::path(argv[0]).is_absolute()) << "ExecStart needs an absolute path";
  EXPECT_EQ(fs::path(argv[0]).filename(), "sleet");
  EXPECT_EQ(argv[1], "worker");
  EXPECT_EQ(flag_value(argv, "--zookeeper").value_or(""), "${ZOOKEEPER}");
  EXPECT_EQ(flag_value(argv, "--id").value_or(""), "%i") << "the instance name is the worker id";
  EXPECT_TRUE(flag_value(argv, "--advertise")) << "a worker must advertise its address";
  expect_vars_defined(exec, env);

  EXPECT_EQ(one(u, "Service", "Restart"), "on-failure");
  auto prevent = words(one(u, "Service", "RestartPreventExitStatus"));
  for (const char* code : {"2", "3"})
    EXPECT_NE(std::find(prevent.begin(), prevent.end(), code), prevent.end())
        << "RestartPreventExitStatus must cover exit " << code;
  EXPECT_EQ(one(u, "Service", "KillSignal"), "SIGTERM");
  std::string stop = one(u, "Service", "TimeoutStopSec");
  ASSERT_TRUE(std::regex_match(stop, std::regex("[1-9][0-9]*s?"))) << "TimeoutStopSec=" << stop;

  bool env_file = false;
  auto [b, e] = u["Service"].equal_range("EnvironmentFile");
  for (auto it = b; it != e; ++it) env_file |= it->second == "/etc/sleet/worker.env";
  EXPECT_TRUE(env_file) << "EnvironmentFile=/etc/sleet/worker.env";
  EXPECT_EQ(one(u, "Install", "WantedBy"), "multi-user.target");
}

TEST(SystemdUnits, SubmitIsAOneshotRunningSleetSubmit) {
  Unit u = parse_unit(kSystemd / "sleet-submit.service");
  auto env = parse_env(kSystemd / "worker.env");
  EXPECT_EQ(one(u, "Service", "Type"), "oneshot");
  const std::string exec = one(u, "Service", "ExecStart");
  auto argv = words(exec);
  ASSERT_GE(argv.size(), 3u) << "ExecStart=" << exec;
  EXPECT_TRUE(fs::path(argv[0]).is_absolute());
  EXPECT_EQ(fs::path(argv[0]).filename(), "sleet");
  EXPECT_EQ(argv[1], "submit");
  EXPECT_EQ(flag_value(argv, "--zookeeper").value_or(""), "${ZOOKEEPER}");
  expect_vars_defined(exec, env);
}

// The example worker.env and units describe one deployment of examples/cluster/wordcount.yaml:
// with worker.env's variables, that file names the topology the workers join, the ZooKeeper they
// use, and keeps checkpoint.dir and every FileSink path on the shared mount the unit waits for.
TEST(SystemdUnits, WorkerEnvDeploysTheClusterExampleOnTheSharedMount) {
  Unit u = parse_unit(kSystemd / "sleet-worker@.service");
  auto env = parse_env(kSystemd / "worker.env");
  const std::string mount = one(u, "Unit", "RequiresMountsFor");
  ASSERT_TRUE(fs::path(mount).is_absolute()) << "RequiresMountsFor=" << mount;

  std::map<std::string, std::optional<std::string>> saved;
  for (const auto& [k, v] : env) {
    const char* old = getenv(k.c_str());
    saved[k] = old ? std::optional<std::string>(old) : std::nullopt;
    setenv(k.c_str(), v.c_str(), 1);
  }
  sleet::LoadOptions opts;
  opts.load_plugins = false;  // they are at /opt/sleet/plugins on the hosts, not here
  opts.validate = false;
  std::vector<sleet::Diagnostic> diags;
  auto spec = sleet::load_topology((kRoot / "examples" / "cluster" / "wordcount.yaml").string(),
                                   opts, diags);
  for (const auto& [k, v] : saved)
    if (v)
      setenv(k.c_str(), v->c_str(), 1);
    else
      unsetenv(k.c_str());
  for (const auto& d : diags) ADD_FAILURE() << d.to_string();
  ASSERT_TRUE(spec.ok()) << spec.status().to_string();

  EXPECT_EQ(spec->name, env["TOPOLOGY"]) << "the workers would join another topology";
  auto zk = split(env["ZOOKEEPER"], ',');
  auto connect = split(spec->config_or("zookeeper.connect", ""), ',');
  EXPECT_EQ(std::set<std::string>(zk.begin(), zk.end()),
            std::set<std::string>(connect.begin(), connect.end()))
      << "--zookeeper and the file's zookeeper.connect name different ensembles";
  EXPECT_TRUE(under(spec->config_or("checkpoint.dir", ""), mount))
      << "checkpoint.dir " << spec->config_or("checkpoint.dir", "") << " is not on " << mount;
  int sinks = 0;
  for (const auto& c : spec->components)
    if (c.class_name == "FileSink") {
      ++sinks;
      EXPECT_TRUE(under(c.args.string_or("path", ""), mount))
          << c.id << ": FileSink path " << c.args.string_or("path", "") << " is not on " << mount;
    }
  EXPECT_GT(sinks, 0);
  EXPECT_EQ(fs::path(env["SLEET_PLUGIN_DIR"]), fs::path(spec->plugins.at(0)).parent_path());
}

}  // namespace
