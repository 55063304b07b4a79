#!/usr/bin/env bash
# Installs the Debian 12 packages a51 needs, only those missing.
#   deps.sh build|test|bench|fuzz|e2e ...   (groups add up; build is always included)
# As root it runs apt-get; otherwise it prints the one command to run.
source "$(dirname "$0")/lib.sh"

build=(gcc libc6-dev make pkg-config meson ninja-build python3 python3-yaml git
       libmicrohttpd-dev libgnutls28-dev libjansson-dev libpq-dev postgresql-15 postgresql-client-15)
# chromium: the browser the end-to-end tests drive (tests/e2e, playwright-core).
# openssl: test_tls makes its certificates with it.
test=(check curl openssl nodejs npm chromium)
ci=(valgrind)
# regress: R and numpy to compare with, OpenBLAS (which R and numpy then use
# for libblas.so.3) and LAPACKE for the floor.
# fuzz: libFuzzer comes with clang (libclang-rt-*-dev: its runtime, and the
# sanitizers'), not with gcc.
fuzz=(clang libclang-rt-dev)
bench=(wrk jq r-base-core python3-numpy libopenblas-dev liblapacke-dev)

want=("${build[@]}")
for group in "$@"; do
	case $group in
	build) ;;
	test) want+=("${test[@]}") ;;
	ci) want+=("${test[@]}" "${ci[@]}") ;;
	bench) want+=("${bench[@]}") ;;
	fuzz) want+=("${fuzz[@]}") ;;
	*) die "deps.sh: unknown group $group" ;;
	esac
done

missing=()
for p in "${want[@]}"; do
	# node may come from elsewhere (NodeSource): a working node+npm is enough.
	if [[ $p == nodejs || $p == npm ]] && command -v node >/dev/null && command -v npm >/dev/null; then
		continue
	fi
	status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
	[[ $status == "install ok installed" ]] || missing+=("$p")
done
[[ ${#missing[@]} -eq 0 ]] && exit 0

cmd="apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ${missing[*]}"
if [[ $(id -u) -ne 0 ]]; then
	printf 'a51 needs these Debian packages: %s\nRun as root:\n  %s\n' "${missing[*]}" "$cmd" >&2
	exit 1
fi
say "installing ${missing[*]}"
# a51 runs its own private cluster: keep the package from creating and starting one.
if [[ ! -e /etc/postgresql-common/createcluster.conf ]]; then
	mkdir -p /etc/postgresql-common
	echo 'create_main_cluster = false' >/etc/postgresql-common/createcluster.conf
fi
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
