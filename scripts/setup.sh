#!/usr/bin/env bash
# Installs everything the whole project needs on a fresh Debian 12 / Ubuntu 22.04+ machine.
# Idempotent: a second run only checks. Both README commands call it.
set -euo pipefail
cd "$(dirname "$0")/.."

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

# System packages, by who needs them.
PACKAGES=(
  # Rust crates that build C, and TLS
  build-essential pkg-config libssl-dev curl ca-certificates
  # Tauri v2 (webkit2gtk 4.1 stack)
  libwebkit2gtk-4.1-dev libayatana-appindicator3-dev librsvg2-dev libxdo-dev
  # nokhwa's V4L2 bindings are generated with bindgen
  libclang-dev clang
  # the OS keystore in tests: Secret Service through gnome-keyring on a session bus
  dbus dbus-user-session gnome-keyring
  # a real window with no display, driven by WebDriver; screenshots
  xvfb xauth webkit2gtk-driver imagemagick
  # Chinese text in the app and the screenshots
  fonts-wqy-microhei
  # web pages tested in a real browser (chromedriver drives it from the Rust tests)
  chromium chromium-driver
  # the UI toolchain
  nodejs npm
  # the issuer's production database (tests run against a local server)
  postgresql
  # device keys in a TPM 2.0: tss-esapi builds against libtss2; tests run a software TPM
  # (swtpm, with an EK certificate from its local CA) and check it with tpm2-tools
  swtpm swtpm-tools tpm2-tools libtss2-dev libtss2-tcti-swtpm0
)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# Node.js may come from outside Debian (nodesource, nvm); then npm is not a Debian package.
if command -v node >/dev/null && command -v npm >/dev/null; then
  filtered=()
  for p in "${missing[@]}"; do [[ "$p" == nodejs || "$p" == npm ]] || filtered+=("$p"); done
  missing=("${filtered[@]}")
fi
if [ "${#missing[@]}" -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

# Rust: the stable toolchain through rustup, if the machine has none.
if ! command -v cargo >/dev/null; then
  if [ -x "$HOME/.cargo/bin/cargo" ]; then
    export PATH="$HOME/.cargo/bin:$PATH"
  else
    curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs | sh -s -- -y --profile minimal -c clippy,rustfmt
    export PATH="$HOME/.cargo/bin:$PATH"
  fi
fi

# The npm packages of the app's UI and of the front desk's browser tests, exactly as their
# lock files say.
for pkg in ui crates/verify/web-tests; do
  if [ -f "$pkg/package-lock.json" ]; then
    if [ ! -d "$pkg/node_modules" ] || [ "$pkg/package-lock.json" -nt "$pkg/node_modules/.package-lock.json" ]; then
      (cd "$pkg" && npm ci --no-audit --no-fund)
    fi
  fi
done
echo "setup: ok"
