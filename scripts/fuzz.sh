#!/usr/bin/env bash
# Runs the fuzz targets, seeded with the committed test vectors.
# Usage: scripts/fuzz.sh [SECONDS_PER_TARGET]   (default 600)
# Needs cargo-fuzz (`cargo install cargo-fuzz --locked`). On a stable toolchain the
# sanitizer flags are unlocked with RUSTC_BOOTSTRAP=1; this stays out of the default tests.
set -euo pipefail
cd "$(dirname "$0")/.."
secs="${1:-600}"
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked
mkdir -p fuzz/corpus/qr_text_to_verdict fuzz/corpus/presentation_cbor
python3 - <<'PY'
import glob, json, os
ALPHA = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"
def b45decode(s):
    out = bytearray()
    for i in range(0, len(s), 3):
        c = s[i:i + 3]
        n = sum(ALPHA.index(ch) * 45 ** k for k, ch in enumerate(c))
        out += n.to_bytes(3 if len(c) == 3 else 1, "big")[-2:] if len(c) == 3 else bytes([n])
    return bytes(out)
for f in glob.glob("docs/format/vectors/*.json"):
    v = json.load(open(f))
    name = os.path.basename(f)[:-5]
    open(f"fuzz/corpus/qr_text_to_verdict/{name}", "w").write(v["qr_text"])
    if v["qr_text"].startswith("TS1:"):
        open(f"fuzz/corpus/presentation_cbor/{name}", "wb").write(b45decode(v["qr_text"][4:]))
PY
for target in qr_text_to_verdict presentation_cbor; do
  echo "fuzz: $target for $secs s"
  RUSTC_BOOTSTRAP=1 cargo fuzz run --fuzz-dir fuzz "$target" "fuzz/corpus/$target" -- \
    -max_total_time="$secs" -max_len=8192 -print_final_stats=1
done
