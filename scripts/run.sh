#!/usr/bin/env bash
# The main job: builds and starts the Tessera app. With no issuer configured (settings, or
# TESSERA_ISSUER_URL) the app runs its embedded demo issuer on 127.0.0.1 with a one-person
# demo registry: enrol with ID number 110101199003071524 and the built-in demo recording
# (offered when no camera is found), set a PIN, show your ID.
#
# With no display (a server, CI), the window opens on a private Xvfb screen instead, which
# is only useful as a smoke test.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
export CARGO_PROFILE_DEV_DEBUG=0
[ -d "$HOME/.cargo/bin" ] && export PATH="$HOME/.cargo/bin:$PATH"

echo "== building the UI and the app (the first build takes several minutes)"
npm --prefix ui run build
cargo build --locked -p tessera-app

launch=(target/debug/tessera-app "$@")
if [ -z "${DISPLAY:-}" ] && [ -z "${WAYLAND_DISPLAY:-}" ]; then
  echo "run.sh: no display found; starting the app on a virtual screen (xvfb-run)." >&2
  launch=(xvfb-run -a -s "-screen 0 1280x900x24" "${launch[@]}")
fi
if [ -z "${DBUS_SESSION_BUS_ADDRESS:-}" ]; then
  # A desktop session has a keyring; a bare server has none. A temporary one keeps the demo
  # working, and everything in it is gone when the app exits.
  echo "run.sh: no D-Bus session; using a temporary keyring (forgotten on exit)." >&2
  launch=(scripts/with-keyring.sh "${launch[@]}")
fi
echo "== starting Tessera (demo ID number: 110101199003071524)"
exec "${launch[@]}"
