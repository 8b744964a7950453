#!/usr/bin/env bash
# Builds the citizen's Debian package: a release build of the app without the demo issuer
# and demo recording, bundled by Tauri, then recompressed with xz (what Debian's own
# packages use; Tauri writes gzip). Offline. Prints the package's path and size.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
[ -d "$HOME/.cargo/bin" ] && export PATH="$HOME/.cargo/bin:$PATH"
npm --prefix ui run tauri -- build --bundles deb -- --locked --no-default-features --features custom-protocol,camera
deb=$(ls -t target/release/bundle/deb/*.deb | head -1)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
dpkg-deb -R "$deb" "$work/pkg"
dpkg-deb -Zxz -z9 --root-owner-group --build "$work/pkg" "$work/out.deb" >/dev/null
mv "$work/out.deb" "$deb"
echo "$deb: $(du -h "$deb" | cut -f1) ($(stat -c %s "$deb") bytes)"
