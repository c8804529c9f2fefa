#!/usr/bin/env bash
# Measures how many of Apache Storm's own flux-examples topology files `sleet validate` accepts
# after renaming classes only: each Storm class with a Sleet equivalent is left to Sleet's alias
# table (topology_dsl/storm_compat.cpp), every other className is replaced by a built-in of the
# same kind (spouts -> SequenceSpout, bolts -> StdoutSink) so only the file's structure is
# judged. Offline: reads a local git snapshot of github.com/apache/storm; the suite never runs it.
#   scripts/storm_flux_examples.sh STORM_GIT_DIR [SLEET_BINARY]
set -euo pipefail
git_dir=${1:?usage: $0 STORM_GIT_DIR [SLEET_BINARY]}
sleet=${2:-build/cli/sleet}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
dir=flux/flux-examples/src/main/resources
total=0 ok=0
for f in $(git --git-dir="$git_dir" ls-tree --name-only HEAD "$dir/" | grep '\.yaml$'); do
  total=$((total + 1))
  out="$work/$(basename "$f")"
  git --git-dir="$git_dir" show "HEAD:$f" | python3 -c '
import re, sys
aliases = {"org.apache.storm.kafka.spout.KafkaSpout", "org.apache.storm.kafka.bolt.KafkaBolt",
           "org.apache.storm.flux.wrappers.bolts.LogInfoBolt", "org.apache.storm.testing.PrinterBolt",
           "org.apache.storm.starter.bolt.PrinterBolt"}
section = None
for line in sys.stdin:
    m = re.match(r"^(\w+):", line)
    if m: section = m.group(1)
    m = re.match(r"^(\s*-?\s*className:\s*)\"?([\w.$]+)\"?\s*$", line)
    if m and m.group(2) not in aliases and section in ("spouts", "bolts"):
        line = m.group(1) + ("SequenceSpout" if section == "spouts" else "StdoutSink") + "\n"
    sys.stdout.write(line)
' >"$out"
  if "$sleet" validate "$out" >/dev/null 2>"$work/err"; then
    ok=$((ok + 1))
    echo "ok    $(basename "$f")"
  else
    echo "fails $(basename "$f"): $(grep -c ': error: ' "$work/err") errors, first: $(grep -m1 ': error: ' "$work/err" | sed 's|^[^ ]*/||')"
  fi
done
echo "$ok of $total Storm flux-examples files validate after renaming classes only"
