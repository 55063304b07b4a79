# Shared by the scripts: paths and the private PostgreSQL cluster's coordinates.
# shellcheck shell=bash
set -euo pipefail

A51_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
A51_BUILD=${A51_BUILD:-$A51_ROOT/build}
A51_PG_DIR=${A51_PG_DIR:-$A51_ROOT/var/pg}
A51_PG_PORT=${A51_PG_PORT:-54329}
A51_PG_USER=a51
PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}

say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# The URL of the private cluster's database $1 (default a51), over its Unix socket.
pg_url() {
	printf 'postgresql:///%s?host=%s&port=%s&user=%s' "${1:-a51}" "$A51_PG_DIR/run" "$A51_PG_PORT" "$A51_PG_USER"
}
