#!/usr/bin/env bash
# Runs a command inside a private D-Bus session with an unlocked gnome-keyring, so code that
# uses the OS keystore (Secret Service) talks to a real one, with no display and no TTY.
# Usage: scripts/with-keyring.sh COMMAND [ARGS...]
set -euo pipefail
export XDG_DATA_HOME XDG_RUNTIME_DIR
XDG_DATA_HOME=$(mktemp -d)
XDG_RUNTIME_DIR=$(mktemp -d)
chmod 700 "$XDG_RUNTIME_DIR"
trap 'rm -rf "$XDG_DATA_HOME" "$XDG_RUNTIME_DIR"' EXIT
exec_inner='
  eval "$(printf %s tessera-test-keyring | gnome-keyring-daemon --unlock --components=secrets)"
  ready=
  for _ in $(seq 300); do
    if dbus-send --session --print-reply --dest=org.freedesktop.DBus /org/freedesktop/DBus \
      org.freedesktop.DBus.NameHasOwner string:org.freedesktop.secrets 2>/dev/null | grep -q true; then
      ready=1; break
    fi
    sleep 0.1
  done
  if [ -z "$ready" ]; then
    echo "with-keyring: gnome-keyring did not offer the Secret Service within 30 s" >&2
    exit 1
  fi
  "$@"'
dbus-run-session -- bash -c "$exec_inner" with-keyring "$@"
