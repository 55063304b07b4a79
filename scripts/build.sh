#!/usr/bin/env bash
# Configures (once) and builds a51 with meson into $A51_BUILD (default build/).
#   build.sh [extra meson setup options...]
source "$(dirname "$0")/lib.sh"

if [[ ! -f $A51_BUILD/build.ninja ]]; then
	meson setup "$A51_BUILD" "$A51_ROOT" "$@" >/dev/null
fi
# meson.build lists migrations, parameter seeds and the web front end's files
# with a glob at configure time: when the set of files changes, configure again.
files=$(cd "$A51_ROOT" && ls migrations/*.sql src/domain/params/*.json src/web/* 2>/dev/null | sha256sum)
if [[ $(cat "$A51_BUILD/.a51-embedded" 2>/dev/null) != "$files" ]]; then
	meson setup --reconfigure "$A51_BUILD" "$A51_ROOT" >/dev/null
	echo "$files" >"$A51_BUILD/.a51-embedded"
fi
ninja -C "$A51_BUILD" >/dev/null || ninja -C "$A51_BUILD"
