#!/usr/bin/env bash
# Builds the citizen's Debian package: a release build of the app without the demo issuer
# and demo recording, bundled by Tauri, then recompressed with xz (what Debian's own
# packages use; Tauri writes gzip). Offline. Prints the package's path and size.
# Usage: TESSERA_AUTHORITY_TRUST_LIST_KEY=authority.pem scripts/package-deb.sh
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
[ -d "$HOME/.cargo/bin" ] && export PATH="$HOME/.cargo/bin:$PATH"
# The authority's trust-list key (SPKI PEM) the installed app trusts: without it the package
# cannot check any issuer (the demo issuer is left out of this build).
if [ -z "${TESSERA_AUTHORITY_TRUST_LIST_KEY:-}" ]; then
  echo "package-deb: set TESSERA_AUTHORITY_TRUST_LIST_KEY=FILE (the ID authority's trust-list key, SPKI PEM; an issuer serves its own at /v1/trust-list-key)" >&2
  exit 2
fi
export TESSERA_AUTHORITY_TRUST_LIST_KEY
npm --prefix ui run tauri -- build --bundles deb -- --locked --no-default-features --features custom-protocol,camera
deb=$(ls -t target/release/bundle/deb/*.deb | head -1)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
dpkg-deb -R "$deb" "$work/pkg"
# tessera:// sign-in links open the app: the desktop entry must claim the scheme. Tauri's
# bundler writes it from the deep-link plugin's config; make sure, whatever its version does.
desktop=$(ls "$work"/pkg/usr/share/applications/*.desktop 2>/dev/null | head -1)
if [ -z "$desktop" ]; then
  echo "package-deb: the package has no desktop entry" >&2
  exit 1
fi
if ! grep -q '^MimeType=.*x-scheme-handler/tessera;' "$desktop"; then
  if grep -q '^MimeType=' "$desktop"; then
    sed -i 's|^MimeType=\(.*\)$|MimeType=\1x-scheme-handler/tessera;|' "$desktop"
  else
    echo 'MimeType=x-scheme-handler/tessera;' >>"$desktop"
  fi
fi
grep -q '^Exec=.*%u' "$desktop" || sed -i 's|^Exec=\(.*\)$|Exec=\1 %u|' "$desktop"
dpkg-deb -Zxz -z9 --root-owner-group --build "$work/pkg" "$work/out.deb" >/dev/null
mv "$work/out.deb" "$deb"
echo "$deb: $(du -h "$deb" | cut -f1) ($(stat -c %s "$deb") bytes)"
