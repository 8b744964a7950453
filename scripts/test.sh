#!/usr/bin/env bash
# Every test of the project, as CI runs it: formatting, lints, the UI's type check and
# browser tests, and the whole workspace's tests against a real Secret Service (the app's
# end-to-end test starts its own Xvfb when there is no display).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
# Debug info is off for dev and test builds in Cargo.toml ([profile.dev] debug = 0).
export CARGO_TERM_COLOR=never
[ -d "$HOME/.cargo/bin" ] && export PATH="$HOME/.cargo/bin:$PATH"

step() { printf '\n== %s (%s)\n' "$*" "$(date +%T)"; }

step "UI: type check, build (the app embeds ui/dist), and the screens in headless Chromium"
npm --prefix ui run check
npm --prefix ui test

step "cargo fmt (the workspace, and the fuzz crate outside it)"
cargo fmt --all --check
cargo fmt --manifest-path fuzz/Cargo.toml --check

step "cargo clippy"
cargo clippy --workspace --all-targets --locked -- -D warnings

step "PostgreSQL on loopback (the issuer's tests run on SQLite and on PostgreSQL)"
# Through a file, not `$(…)`: a command substitution waits for every process holding the
# pipe, and the PostgreSQL daemon started here lives on.
pg_url_file=$(mktemp)
scripts/postgres.sh >"$pg_url_file" </dev/null
TESSERA_TEST_POSTGRES_URL=$(cat "$pg_url_file")
rm -f "$pg_url_file"
case "$TESSERA_TEST_POSTGRES_URL" in
  postgres://*) ;;
  *) echo "scripts/postgres.sh printed no URL: '$TESSERA_TEST_POSTGRES_URL'" >&2; exit 1 ;;
esac
export TESSERA_TEST_POSTGRES_URL

step "cargo test (under a private D-Bus session with gnome-keyring)"
scripts/with-keyring.sh cargo test --workspace --locked --no-fail-fast

step "fuzz: every target for 20 s, seeded from the vectors (fuzz/README.md)"
# At most ~6 minutes from scratch (measured on a busy 2-core machine): installing cargo-fuzz
# ~1 min, building the targets ~4 min, then the eight targets two at a time, ~1.5 min. A crash fails here with the input's path.
scripts/fuzz.sh 20

step "all tests passed"
