#!/usr/bin/env bash
# Configures (once) and builds a51 with meson into $A51_BUILD (default build/).
#   build.sh [extra meson setup options...]
source "$(dirname "$0")/lib.sh"

if [[ ! -f $A51_BUILD/build.ninja ]]; then
	meson setup "$A51_BUILD" "$A51_ROOT" "$@" >/dev/null
fi
ninja -C "$A51_BUILD" >/dev/null || ninja -C "$A51_BUILD"
