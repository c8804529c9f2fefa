# Sourced by scripts/sleet and scripts/test: installs missing Debian packages, configures and
# builds (incrementally). Prints progress on stderr so stdout stays the program's.
set -euo pipefail
SLEET_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
SLEET_BUILD="${SLEET_BUILD_DIR:-$SLEET_ROOT/build}"

sleet_packages=(
  build-essential cmake pkg-config
  librdkafka-dev libzookeeper-mt-dev zookeeper default-jre-headless
  libboost-fiber-dev libboost-context-dev libcereal-dev libyaml-cpp-dev
  libcli11-dev libspdlog-dev libfmt-dev libgtest-dev libgmock-dev libbenchmark-dev
  kcat clang libclang-rt-14-dev
  libcpp-httplib-dev  # the workers' metrics server (cluster/metrics_server.cpp)
  prometheus chromium  # real observers in tests: promtool, a Prometheus server, headless Chromium
  iptables iproute2  # the e2e tests' network namespaces and cut links (tests/support/netns)
)

sleet_install_packages() {
  local missing=()
  for p in "${sleet_packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  echo "sleet: installing missing Debian packages: ${missing[*]}" >&2
  local sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  $sudo apt-get update -q >&2
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q "${missing[@]}" >&2
}

sleet_build() {
  local jobs
  jobs="$(nproc)"
  if [ ! -f "$SLEET_BUILD/CMakeCache.txt" ]; then
    cmake -S "$SLEET_ROOT" -B "$SLEET_BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo >&2
  fi
  cmake --build "$SLEET_BUILD" -j "$jobs" "$@" >&2
}
