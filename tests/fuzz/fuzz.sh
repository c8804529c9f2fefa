#!/usr/bin/env bash
# Builds and runs the topology loader fuzzer (libFuzzer + ASan + UBSan, built with clang apart
# from the gcc build). Used by ctest (FuzzBuild, FuzzTopologyLoader, FuzzCorpusReplay) and by hand:
#
#   tests/fuzz/fuzz.sh build  BUILD_DIR               configure + build into BUILD_DIR/fuzz/build
#   tests/fuzz/fuzz.sh run    BUILD_DIR [SECONDS]     fuzz for SECONDS (default 20), seeded with
#                                                     examples/**/*.yaml and tests/fuzz/corpus/
#   tests/fuzz/fuzz.sh replay BUILD_DIR [FILE|DIR...] run each input once (default: the
#                                                     regression corpus and the example files)
#
# Exits non-zero on any crash, sanitizer report, timeout (-timeout=5 s per input), out-of-memory
# (-rss_limit_mb=2048) or leak. Failing inputs of the last run are kept in BUILD_DIR/fuzz/artifacts/
# (and printed); add each to tests/fuzz/corpus/ so it stays fixed (FuzzCorpusReplay replays it).
# SLEET_FUZZ_CXX overrides the compiler (default clang++-14, else clang++); SLEET_FUZZ_SEED fixes
# the fuzzer's seed (default: a fixed one, random under SLEET_SOAK=1; a failed run prints the one
# it used: "INFO: Seed: N").
set -euo pipefail

usage() {
  sed -n '2,16p' "$0" >&2
  exit 2
}
[ $# -ge 2 ] || usage
mode="$1"
build="$(cd "$2" && pwd)"
shift 2

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
out="$build/fuzz"
bin="$out/build/topology_loader_fuzzer"
mkdir -p "$out"

# Per-input limits (also used by replay), and sanitizer settings that make every report fatal.
limits=(-timeout=5 -rss_limit_mb=2048)
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0:symbolize=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"

build_fuzzer() {
  local cxx="${SLEET_FUZZ_CXX:-}"
  if [ -z "$cxx" ]; then
    cxx="$(command -v clang++-14 || command -v clang++ || true)"
  fi
  if [ -z "$cxx" ]; then
    echo "fuzz: clang++ not found; install the Debian packages clang and libclang-rt-14-dev" \
      "(scripts/lib/setup.sh does)" >&2
    exit 1
  fi
  local rt
  rt="$("$cxx" -print-runtime-dir 2>/dev/null || true)"
  if [ ! -f "$rt/libclang_rt.fuzzer-x86_64.a" ] && [ ! -f "$rt/libclang_rt.fuzzer.a" ]; then
    echo "fuzz: $cxx has no libFuzzer runtime in '$rt'; install libclang-rt-14-dev" >&2
    exit 1
  fi
  # One build at a time (ctest may start several fuzz tests at once).
  exec 9>"$out/.build.lock"
  flock 9
  if [ ! -f "$out/build/CMakeCache.txt" ]; then
    cmake -S "$here/harness" -B "$out/build" -DCMAKE_CXX_COMPILER="$cxx" \
      -DCMAKE_BUILD_TYPE=RelWithDebInfo >"$out/configure.log" 2>&1 ||
      { cat "$out/configure.log" >&2; exit 1; }
  fi
  cmake --build "$out/build" -j "$(nproc)" >"$out/build.log" 2>&1 ||
    { cat "$out/build.log" >&2; exit 1; }
  flock -u 9
}

# The example topology files, copied flat (libFuzzer takes directories of inputs).
collect_seeds() {
  rm -rf "$out/seeds"
  mkdir -p "$out/seeds"
  local f
  while IFS= read -r f; do
    cp "$f" "$out/seeds/$(basename "$(dirname "$f")")_$(basename "$f")"
  done < <(find "$root/examples" -name '*.yaml' -not -path '*/build*/*' | sort)
}

# Prints a failing input so the log alone is enough to reproduce it.
show_artifacts() {
  local a
  for a in "$@"; do
    [ -f "$a" ] || continue
    echo "fuzz: failing input $a ($(stat -c %s "$a") bytes); first 2 KB, C-escaped:" >&2
    head -c 2048 "$a" | od -An -c | head -40 >&2
  done
}

# The harness writes its private temp dir under TMPDIR; keep that inside the build dir.
scratch="$(mktemp -d "$out/tmp.XXXXXX")"
trap 'rm -rf "$scratch"' EXIT
export TMPDIR="$scratch"

case "$mode" in
  build)
    build_fuzzer
    echo "fuzz: built $bin"
    ;;
  run)
    seconds="${1:-20}"
    # The suite fuzzes from a fixed seed so that CI is reproducible; a soak run (SLEET_SOAK=1)
    # explores with a fresh random seed each time.
    if [ -z "${SLEET_FUZZ_SEED:-}" ] && [ -z "${SLEET_SOAK:-}" ]; then SLEET_FUZZ_SEED=20261201; fi
    build_fuzzer
    collect_seeds
    # A fresh working corpus each run (bounded start-up); the seeds stay read-only.
    # Artifacts are those of the last run only.
    rm -rf "$out/work" "$out/artifacts"
    mkdir -p "$out/work" "$out/artifacts"
    set +e
    "$bin" "$out/work" "$out/seeds" "$here/corpus" "${limits[@]}" \
      -max_total_time="$seconds" -max_len=4096 -dict="$here/topology.dict" \
      -artifact_prefix="$out/artifacts/" -print_final_stats=1 ${SLEET_FUZZ_SEED:+-seed=$SLEET_FUZZ_SEED} \
      >"$out/fuzz.log" 2>&1
    rc=$?
    set -e
    grep -E '^(INFO: Seed|#[0-9]+[[:space:]]+(INITED|DONE))|^stat::' "$out/fuzz.log" || true
    if [ $rc -ne 0 ]; then
      echo "fuzz: the fuzzer failed (exit $rc); its log ($out/fuzz.log) ends with:" >&2
      tail -60 "$out/fuzz.log" >&2
      show_artifacts "$out/artifacts"/*
      exit 1
    fi
    echo "fuzz: no crash, hang or leak in ${seconds}s"
    ;;
  replay)
    build_fuzzer
    inputs=("$@")
    if [ ${#inputs[@]} -eq 0 ]; then
      collect_seeds
      inputs=("$here/corpus" "$out/seeds")
    fi
    files=()
    for i in "${inputs[@]}"; do
      if [ -d "$i" ]; then
        while IFS= read -r f; do files+=("$f"); done < <(find "$i" -type f | sort)
      else
        files+=("$i")
      fi
    done
    failed=()
    for f in "${files[@]}"; do
      # One process per input, so that every failing input is reported, not just the first.
      if "$bin" "${limits[@]}" "$f" >"$out/replay.log" 2>&1; then
        echo "ok    $f"
      else
        echo "FAIL  $f"
        grep -E 'ERROR|SUMMARY|fuzz:' "$out/replay.log" | head -5 | sed 's/^/      /'
        failed+=("$f")
      fi
    done
    echo "fuzz: replayed ${#files[@]} inputs, ${#failed[@]} failed"
    [ ${#failed[@]} -eq 0 ] || exit 1
    ;;
  *) usage ;;
esac
