#!/usr/bin/env bash
# ensure-cgo.sh: make sure `go test -race` can run here. The race detector needs cgo, so it
# needs a C compiler (Go's CC, gcc by default) and must not be run with CGO_ENABLED=0.
#
#   GO=go scripts/ensure-cgo.sh && CGO_ENABLED=1 go test -race ./...
#
# Order: the C compiler `go env CC` names, if it is on PATH; else, when running as root,
# install Debian's `gcc` package (apt-get, non-interactive) and look again; else fail,
# saying what is missing. `make test RACE=` skips the race detector (and this check).
# Messages go to stderr.
set -euo pipefail

say() { printf 'ensure-cgo: %s\n' "$*" >&2; }

GO=${GO:-go}
# CC as the go command will use it (CGO_ENABLED=1 is what `make test` runs with). It may
# carry flags ("gcc -m64"); the compiler is the first word.
cc=$(CGO_ENABLED=1 "$GO" env CC)
cc=${cc%% *}
[ -n "$cc" ] || cc=gcc

if command -v "$cc" >/dev/null 2>&1; then
  exit 0
fi

if [ "$cc" != gcc ] && [ "$cc" != cc ]; then
  say "the C compiler Go is set to use (CC=$cc) is not on PATH; the race detector needs it."
  say "install it, point CC at a C compiler, or run without the race detector: make test RACE="
  exit 1
fi
if [ "$(id -u)" -ne 0 ]; then
  say "no C compiler ('$cc') on PATH: the race detector (go test -race) needs cgo and gcc, and installing it needs root."
  say "install it (Debian/Ubuntu: sudo apt-get install -y gcc), or run without the race detector: make test RACE="
  exit 1
fi
if ! command -v apt-get >/dev/null 2>&1; then
  say "no C compiler ('$cc') on PATH and no apt-get to install one; install gcc with your package manager,"
  say "or run without the race detector: make test RACE="
  exit 1
fi

say "no C compiler ('$cc') on PATH; installing the 'gcc' package with apt-get for the race detector"
export DEBIAN_FRONTEND=noninteractive
apt-get update >&2
apt-get install -y gcc >&2

if command -v "$cc" >/dev/null 2>&1; then
  say "installed $(command -v "$cc")"
  exit 0
fi
say "apt-get installed 'gcc' but '$cc' is still not on PATH"
exit 1
