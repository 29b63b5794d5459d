#!/usr/bin/env bash
# Runs every benchmark of BENCHMARKS.md and prints the figures as ratios:
#   bash benches/run.sh
# Steps: build everything first (release), wait until no other cargo/rustc runs (up to
# BENCH_IDLE_WAIT seconds, default 600), then: the three criterion benches (layer,
# refresh_storm, emulator), the official JS client comparison (benches/js), and the
# build-script cost. The `RESULT` lines are collected in target/bench-results.txt.
#
# Knobs: CRITERION_ARGS (default "--warm-up-time 1 --measurement-time 3"),
# BENCHES (default "layer refresh_storm emulator"), SKIP_JS=1, SKIP_BUILD_COST=1, and the per-bench ones documented in each file
# (LAYER_SUMMARY_ROUNDS, STORM_SUMMARY_ROUNDS, EMULATOR_SUMMARY_SECS, CALLS/CYCLES/ROUNDS).
set -euo pipefail
cd "$(dirname "$0")/.."
RESULTS=target/bench-results.txt
CRITERION_ARGS=${CRITERION_ARGS:---warm-up-time 1 --measurement-time 3}
export CARGO_TERM_COLOR=never
mkdir -p target
: >"$RESULTS"

step() { printf '\n=== %s\n' "$1"; }
record() { tee -a /dev/stderr | grep '^RESULT' >>"$RESULTS" || true; }

# Timings are only meaningful on a quiet machine: wait for other builds to finish.
wait_idle() {
  local waited=0 limit=${BENCH_IDLE_WAIT:-600}
  while pgrep -x cargo >/dev/null || pgrep -x rustc >/dev/null; do
    if ((waited >= limit)); then
      echo "warning: cargo/rustc still running after ${limit}s; measuring anyway" >&2
      break
    fi
    ((waited == 0)) && echo "waiting for other cargo/rustc processes to finish..." >&2
    sleep 10
    waited=$((waited + 10))
  done
  echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
}

step "machine"
{
  echo "date: $(date -u '+%Y-%m-%d %H:%M UTC')"
  echo "cores: $(nproc)"
  echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
  echo "rustc: $(rustc --version)"
  echo "node: $(node --version 2>/dev/null || echo none)"
} | tee -a "$RESULTS"

step "build (release)"
cargo bench -p cloudbase-auth --bench layer --bench refresh_storm --bench emulator --no-run
cargo build --release -p cloudbase-auth-emulator
cargo build --release -p cloudbase-auth --example bench_client

for bench in ${BENCHES-layer refresh_storm emulator}; do
  step "criterion: $bench"
  wait_idle
  # shellcheck disable=SC2086
  cargo bench -p cloudbase-auth --bench "$bench" -- $CRITERION_ARGS 2>&1 | record
done

if [[ ${SKIP_JS:-0} != 1 ]]; then
  step "official JS client (@cloudbase/oauth) vs this crate"
  (cd benches/js && npm ci --no-audit --no-fund --loglevel=error)
  wait_idle
  (cd benches/js && node compare.mjs) 2>&1 | record
fi

if [[ ${SKIP_BUILD_COST:-0} != 1 ]]; then
  step "build cost: code generation in build.rs (dev profile)"
  # `touch` changes no content, so these builds show what cargo re-runs, and the
  # build script's own cost; CARGO_INCREMENTAL=0 adds the full recompile of the crate
  # that a real spec change (or any real src/ change) costs.
  spec=spec/cloudbase-auth-v1.yaml
  src_file=src/events.rs
  # Prints "<ms> <ran|skipped>" for a build after touching $1 (extra env in $2).
  timed_build() {
    touch "$1"
    local t0 ms log ran=skipped
    t0=$(date +%s%N)
    log=$(env ${2:-} cargo build -p cloudbase-auth -v 2>&1)
    ms=$((($(date +%s%N) - t0) / 1000000))
    grep -q 'Running `[^`]*/build-script-build`' <<<"$log" && ran=ran
    grep -o 'Running `[^`]*cloudbase-auth-[0-9a-f]*/build-script-build`' <<<"$log" | tr -d '`' | cut -d' ' -f2 >target/bench-build-script || true
    echo "$ms $ran"
  }
  newest_client_rs() { ls -t target/debug/build/cloudbase-auth-*/out/client.rs | head -1; }
  wait_idle
  cargo build -p cloudbase-auth
  read -r spec_ms spec_ran < <(timed_build "$spec")
  script=$(cat target/bench-build-script)
  client_rs=$(newest_client_rs)
  mtime_spec=$(stat -c %y "$client_rs")
  read -r src_ms src_ran < <(timed_build "$src_file")
  mtime_src=$(stat -c %y "$client_rs")
  same=$([[ $mtime_spec == "$mtime_src" ]] && echo unchanged || echo CHANGED)
  echo "RESULT build_cost incremental touch_spec cargo_build_ms=$spec_ms build_script=$spec_ran" | record
  echo "RESULT build_cost incremental touch_src cargo_build_ms=$src_ms build_script=$src_ran client_rs_mtime=$same ($mtime_src)" | record

  CARGO_INCREMENTAL=0 cargo build -p cloudbase-auth -q
  read -r spec_ms spec_ran < <(timed_build "$spec" CARGO_INCREMENTAL=0)
  read -r src_ms src_ran < <(timed_build "$src_file" CARGO_INCREMENTAL=0)
  echo "RESULT build_cost non_incremental touch_spec cargo_build_ms=$spec_ms build_script=$spec_ran" | record
  echo "RESULT build_cost non_incremental touch_src cargo_build_ms=$src_ms build_script=$src_ran" | record
  cargo build -p cloudbase-auth -q

  # The build script alone, run the way cargo runs it, into a scratch OUT_DIR.
  if [[ -x $script ]]; then
    scratch=$(mktemp -d)
    best=""
    for _ in 1 2 3 4 5; do
      t0=$(date +%s%N)
      OUT_DIR=$scratch "$script" >/dev/null
      ms=$((($(date +%s%N) - t0) / 1000000))
      [[ -z $best || $ms -lt $best ]] && best=$ms
    done
    lines=$(wc -l <"$scratch/client.rs")
    rm -rf "$scratch"
    echo "RESULT build_cost build_script_alone_ms=$best (best of 5; writes client.rs of $lines lines)" | record
  fi
fi

step "results ($RESULTS)"
cat "$RESULTS"
