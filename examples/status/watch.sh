#!/bin/sh
# Watch a `sleet run` from another terminal: one line per second from `sleet status --json`,
# until the run stops. Usage: examples/status/watch.sh [STATE_DIR] (default
# sleet-state/wordcount). Needs jq. Exit: sleet status's own (3: no run there).
dir=${1:-sleet-state/wordcount}
sleet=${SLEET:-sleet}
while :; do
  json=$("$sleet" status --state-dir "$dir" --json) || exit $?
  echo "$json" | jq -r '[.state, "in \(.totals.in_rate // "-")/s", "out \(.totals.out_rate // "-")/s",
    "checkpoint \(.checkpoints[0].id // "-")"] | join("  ")'
  [ "$(echo "$json" | jq -r .state)" = running ] || exit 0
  sleep 1
done
