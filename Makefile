# Thin wrappers: the work is in scripts/ and meson.
.PHONY: all build demo test bench fuzz soak deps db-start db-stop test-sanitize test-valgrind ci clean distclean

all: build

deps:
	@scripts/deps.sh test bench

build:
	@scripts/deps.sh
	@scripts/build.sh

demo:
	@scripts/demo.sh

test:
	@scripts/test.sh

bench:
	@bench/run.sh

# Each libFuzzer driver for FUZZ_SECONDS (default 30), clang + ASan + UBSan.
fuzz:
	@scripts/fuzz.sh

# 60 s of a realistic mix at 256 connections: no 5xx but 503s, memory flat.
soak:
	@bench/soak.sh

db-start:
	@scripts/pg.sh start

db-stop:
	@scripts/pg.sh stop

# What CI adds to `make test`: the whole suite under ASan/UBSan, and valgrind.
test-sanitize:
	@scripts/ci-sanitize.sh

test-valgrind:
	@scripts/ci-valgrind.sh

ci: test test-sanitize test-valgrind

clean:
	rm -rf build build-*

# Also removes the private PostgreSQL cluster and its data.
distclean: clean
	-@scripts/pg.sh stop
	rm -rf var node_modules
