#!/usr/bin/env bash
# Runs the fuzz targets (fuzz/README.md) for SECONDS each, seeded from the committed test
# vectors, and fails on the first crash, printing the crashing input's path.
# Usage: scripts/fuzz.sh [SECONDS_PER_TARGET] [TARGET...]   (default 600 s, every target)
# scripts/test.sh runs every target for a short time on each CI run; use this for long runs.
# Targets run side by side, one per core (FUZZ_JOBS to change). The build is unoptimised
# without a sanitizer (fast to build, see fuzz/README.md); FUZZ_RELEASE=1 builds optimised
# with AddressSanitizer instead (slower to build, faster to run: for long runs).
# On a stable toolchain the fuzzing flags are unlocked with RUSTC_BOOTSTRAP=1.
set -euo pipefail
cd "$(dirname "$0")/.."
secs="${1:-600}"
shift || true
all=(qr_text_to_verdict presentation_cbor trust_list status_list issuer_json qr_image oidc_text
  sign_in_request)
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=("${all[@]}")
jobs="${FUZZ_JOBS:-$(nproc)}"
[ -d "$HOME/.cargo/bin" ] && export PATH="$HOME/.cargo/bin:$PATH"
export RUSTC_BOOTSTRAP=1

t0=$SECONDS
if ! command -v cargo-fuzz >/dev/null; then
  cargo install cargo-fuzz --locked
  echo "fuzz: installed cargo-fuzz in $((SECONDS - t0)) s"
fi

# Seeds: written fresh on every run from the committed vectors and fixture keys, next to
# what earlier runs found (fuzz/corpus is git-ignored).
cargo run --quiet --locked -p tessera-vectors --example fuzz_seeds -- fuzz/corpus

t1=$SECONDS
if [ "${FUZZ_RELEASE:-0}" = 1 ]; then
  build=(--fuzz-dir fuzz --release --debug-assertions --sanitizer address)
  profile=release
else
  build=(--fuzz-dir fuzz --dev --sanitizer none)
  profile=debug
fi
cargo fuzz build "${build[@]}"
echo "fuzz: built the targets in $((SECONDS - t1)) s"
bin_dir="fuzz/target/$(rustc -vV | sed -n 's/^host: //p')/$profile"

# One target: libFuzzer writes a crashing input to fuzz/artifacts/TARGET/ and exits non-zero.
run() {
  local target=$1 log="fuzz/artifacts/$1/fuzz.log" max_len=8192 input
  [ "$target" = qr_image ] && max_len=16384
  mkdir -p "fuzz/artifacts/$target" "fuzz/corpus/$target"
  if "$bin_dir/$target" -artifact_prefix="fuzz/artifacts/$target/" -max_total_time="$secs" \
    -max_len="$max_len" -timeout=120 -print_final_stats=1 "fuzz/corpus/$target" >"$log" 2>&1; then
    echo "fuzz: $target: no crash in $secs s ($(sed -n 's/^stat::number_of_executed_units: *//p' "$log") runs)"
  else
    input=$(sed -n 's/.*Test unit written to //p' "$log" | tail -1)
    echo "fuzz: $target FAILED; crashing input: ${input:-(none written, see $log)}"
    tail -n 40 "$log"
    echo "fuzz: reproduce with: $bin_dir/$target ${input:-}"
    return 1
  fi
}

failed=()
pids=()
names=()
for target in "${targets[@]}"; do
  while [ "$(jobs -rp | wc -l)" -ge "$jobs" ]; do sleep 1; done
  run "$target" &
  pids+=($!)
  names+=("$target")
done
for i in "${!pids[@]}"; do
  wait "${pids[$i]}" || failed+=("${names[$i]}")
done
echo "fuzz: $((SECONDS - t0)) s in all"
if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzz: crashed: ${failed[*]}" >&2
  exit 1
fi
