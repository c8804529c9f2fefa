#!/usr/bin/env bash
# Writes N sentences of 8 words (Zipf-like skew over a small vocabulary) to stdout. Deterministic
# for a given N and seed. Used for the shipped sample and by the benchmarks.
#   examples/wordcount/make_input.sh 10000 > sample.txt
set -euo pipefail
n="${1:-10000}"
seed="${2:-42}"
awk -v n="$n" -v seed="$seed" 'BEGIN {
  split("the of and to in a is that for it as was with be by on not he i this are or his from at which but have an they you were her she there one all we their its been has who so what about more will would when if out up them my some time no into can only like other then these two may any first also new now people way could years many after most made", v, " ");
  nv = 0; for (k in v) nv++;
  for (j = 1; j <= 400; j++) v[nv + j] = sprintf("w%03d", j);
  nv += 400;
  x = seed;
  for (i = 0; i < n; i++) {
    line = "";
    for (k = 0; k < 8; k++) {
      x = (x * 1103515245 + 12345) % 2147483648;
      r = x / 2147483648;
      idx = int(nv * r * r * r) + 1;   # cube: frequent words are much more frequent
      line = line (k ? " " : "") v[idx];
    }
    print line;
  }
}'
