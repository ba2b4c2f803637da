#!/usr/bin/env bash
# Builds the libFuzzer targets (rule_fuzz, collect_fuzz, http_fuzz) in build-fuzz/ with
# AddressSanitizer and UndefinedBehaviorSanitizer, then for each one:
#   1. replays every file of tests/fuzz/regressions/<name>/ (inputs that failed before);
#   2. fuzzes for SECONDS on a copy of its seed corpus (the repository's corpus does not grow),
#      writing any failing input to tests/fuzz/regressions/<name>/ (crash-<sha1>, leak-<sha1>,
#      timeout-<sha1>, oom-<sha1>) so that the next run replays it.
# Exits non-zero if any input fails. Usage: tests/fuzz/run.sh [SECONDS] (default 20).
#
# Environment: FUZZ_JOBS (build parallelism, default 2), FUZZ_CLANG_VERSION (default 16: clang 14,
# bookworm's default, rejects lambdas capturing structured bindings, which src/ingest uses).
set -euo pipefail

cd "$(dirname "$0")/../.."
FUZZ_TIME=${1:-20}
JOBS=${FUZZ_JOBS:-2}
CLANG_VERSION=${FUZZ_CLANG_VERSION:-16}
BUILD=build-fuzz

# --- Toolchain: clang with libFuzzer and the sanitizer runtimes -----------------------------------
work=$(mktemp -d "${TMPDIR:-/tmp}/tailor-fuzz-XXXXXX")
trap 'rm -rf "$work"' EXIT

fuzzer_links() {
  printf 'extern "C" int LLVMFuzzerTestOneInput(const char*, unsigned long) { return 0; }\n' \
    > "$work/probe.cc"
  command -v "clang++-$CLANG_VERSION" > /dev/null 2>&1 &&
    "clang++-$CLANG_VERSION" -fsanitize=fuzzer,address,undefined "$work/probe.cc" \
      -o "$work/probe" > /dev/null 2>&1
}
if ! fuzzer_links; then
  packages="clang-$CLANG_VERSION libclang-rt-$CLANG_VERSION-dev cmake ninja-build"
  echo "installing: $packages"
  SUDO=$([ "$(id -u)" = 0 ] || echo sudo)
  $SUDO apt-get update -q
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-remove $packages
  # Some releases ship libFuzzer in a package of its own.
  fuzzer_links || DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-remove \
    "libfuzzer-$CLANG_VERSION-dev"
  fuzzer_links || { echo "clang++-$CLANG_VERSION cannot link a libFuzzer target" >&2; exit 1; }
fi
CC=$(command -v "clang-$CLANG_VERSION")
CXX=$(command -v "clang++-$CLANG_VERSION")

# --- Build ----------------------------------------------------------------------------------------
# A build directory configured with another compiler cannot be switched: start it again.
if [ -f "$BUILD/CMakeCache.txt" ] &&
   ! grep -qx "CMAKE_CXX_COMPILER:[A-Z]*=$CXX" "$BUILD/CMakeCache.txt"; then
  rm -rf "$BUILD"
fi
if [ ! -f "$BUILD/build.ninja" ]; then
  CC=$CC CXX=$CXX cmake -S . -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DTAILOR_BUILD_FUZZERS=ON -DTAILOR_SANITIZE=address,undefined \
    -DTAILOR_BUILD_TESTS=OFF -DTAILOR_BUILD_BENCHMARKS=OFF
fi
build_start=$(date +%s)
nice -n 10 cmake --build "$BUILD" -j "$JOBS" --target rule_fuzz collect_fuzz http_fuzz
echo "build-fuzz: built in $(( $(date +%s) - build_start )) s"

# --- Run ------------------------------------------------------------------------------------------
# Undefined behaviour is a failure like a crash (libFuzzer keeps the input).
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
# http_fuzz opens its store under $TMPDIR: removed with $work even when a fuzzer dies.
export TMPDIR=$work

failed=()
run_fuzzer() {
  local name=$1 max_len=$2
  shift 2
  local binary=$BUILD/${name}_fuzz regressions=tests/fuzz/regressions/$name
  mkdir -p "$regressions"
  local cases=()
  for file in "$regressions"/*; do
    [ -f "$file" ] && cases+=("$file")
  done
  if [ ${#cases[@]} -gt 0 ]; then
    echo "== $name: replaying ${#cases[@]} regression input(s)"
    if ! nice -n 10 "$binary" "${cases[@]}" > "$work/$name-replay.log" 2>&1; then
      tail -n 60 "$work/$name-replay.log"
      echo "== $name: a regression input fails" >&2
      failed+=("$name (regressions)")
      return
    fi
  fi
  local corpus=$work/corpus-$name
  mkdir -p "$corpus"
  for seeds in "$@"; do
    cp -r "$seeds"/. "$corpus"/
  done
  echo "== $name: fuzzing for $FUZZ_TIME s ($(ls "$corpus" | wc -l) seeds)"
  if nice -n 10 "$binary" -max_total_time="$FUZZ_TIME" -max_len="$max_len" -timeout=10 \
      -print_final_stats=1 -artifact_prefix="$regressions/" "$corpus" \
      > "$work/$name.log" 2>&1; then
    grep -E '^(#[0-9]+ +DONE|stat::number_of_executed_units|stat::average_exec_per_sec|stat::peak_rss_mb)' \
      "$work/$name.log" | sed "s/^/   /"
  else
    tail -n 80 "$work/$name.log"
    echo "== $name: FAILED; the input is in $regressions/ (replayed by the next run)" >&2
    failed+=("$name")
  fi
}

run_fuzzer rule 400 bench/segments
run_fuzzer collect 4096 tests/fuzz/corpus/collect
run_fuzzer http 2048 tests/fuzz/corpus/http

if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzzing failed: ${failed[*]}" >&2
  exit 1
fi
echo "fuzzing: no failures"
