#!/usr/bin/env bash
# Installs the pinned Node tools (package-lock.json) into node_modules/, once per lock change.
source "$(dirname "$0")/lib.sh"
cd "$A51_ROOT"
stamp=node_modules/.a51-lock-sha256
want=$(sha256sum package-lock.json | cut -d' ' -f1)
if [[ ! -f $stamp || $(cat "$stamp") != "$want" ]]; then
	say "installing the pinned Node tools (npm ci)"
	npm ci --no-audit --no-fund --loglevel=error >/dev/null
	echo "$want" >"$stamp"
fi
