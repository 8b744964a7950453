#!/usr/bin/env bash
# The main job. Until the wallet app lands (issue 6), this checks the committed lightweight
# test vector — a PNG of a real Tessera QR code — with the verifier CLI, as a front desk would.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
export CARGO_PROFILE_DEV_DEBUG=0
[ -d "$HOME/.cargo/bin" ] && export PATH="$HOME/.cargo/bin:$PATH"
vectors=docs/format/vectors
now=$(sed -n 's/^  "now": \([0-9]*\),$/\1/p' "$vectors/lightweight-valid.json")
echo "Verifying $vectors/lightweight-valid.png as of $(date -u -d "@$now" '+%Y-%m-%d %H:%M:%S UTC') (the vector's fixed time):"
cargo run --quiet --locked -p tessera-verify -- check \
  --trust "$vectors/issuer-public-key.pem" --at "$now" "$vectors/lightweight-valid.png"
