#!/usr/bin/env bash
# ensure-chromium.sh: make sure a Chromium browser is installed for the browser tests, and
# print its full path on stdout (all other messages go to stderr).
#
#   CHROMIUM_PATH=$(scripts/ensure-chromium.sh)
#
# Order: $CHROMIUM_PATH if it is already set to an executable; else `chromium` or
# `chromium-browser` on PATH; else, when running as root, install Debian's `chromium`
# package (apt-get, non-interactive; together with `fonts-noto-cjk` and `fonts-noto-color-emoji`, since the pages are in
# Chinese, nicknames carry emoji, and screenshots would otherwise show empty boxes) and look again; else fail,
# saying what is missing.
set -euo pipefail

say() { printf 'ensure-chromium: %s\n' "$*" >&2; }

find_chromium() {
  if [ -n "${CHROMIUM_PATH:-}" ] && [ -x "${CHROMIUM_PATH}" ]; then
    printf '%s\n' "$CHROMIUM_PATH"
    return 0
  fi
  local name
  for name in chromium chromium-browser; do
    if command -v "$name" >/dev/null 2>&1; then
      command -v "$name"
      return 0
    fi
  done
  return 1
}

if [ -n "${CHROMIUM_PATH:-}" ] && [ ! -x "${CHROMIUM_PATH}" ]; then
  say "CHROMIUM_PATH=$CHROMIUM_PATH is not an executable; looking for chromium on PATH"
fi

if path=$(find_chromium); then
  printf '%s\n' "$path"
  exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
  say "neither 'chromium' nor 'chromium-browser' is on PATH, and installing it needs root."
  say "install it (Debian/Ubuntu: sudo apt-get install -y chromium) or set CHROMIUM_PATH."
  exit 1
fi
if ! command -v apt-get >/dev/null 2>&1; then
  say "neither 'chromium' nor 'chromium-browser' is on PATH and there is no apt-get to install it;"
  say "install Chromium with your package manager or set CHROMIUM_PATH."
  exit 1
fi

say "Chromium not found; installing the 'chromium', 'fonts-noto-cjk' and 'fonts-noto-color-emoji' packages with apt-get (this can take a few minutes)"
export DEBIAN_FRONTEND=noninteractive
# apt's own output goes to stderr so that stdout carries only the path.
apt-get update >&2
apt-get install -y chromium fonts-noto-cjk fonts-noto-color-emoji >&2

if path=$(find_chromium); then
  say "installed $path"
  printf '%s\n' "$path"
  exit 0
fi
say "apt-get installed 'chromium' but neither 'chromium' nor 'chromium-browser' is on PATH"
exit 1
