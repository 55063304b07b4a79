#!/usr/bin/env bash
# The regression engine's speed (issue 5, "Speed"), side by side in one run:
#  1. In memory, 1 000 000 rows x 40 covariates + intercept, the same data for
#     every method (generated once into var/bench/regress/ as raw float64):
#     a51's stable fit on 1 and 2 threads, R lm() and lm.fit(), numpy
#     linalg.lstsq and X'X + Cholesky, OpenBLAS X'X + Cholesky, and OpenBLAS
#     dsyrk forming X'X alone (the floor). Goals: a51 >= 20x faster than lm(),
#     >= 10x faster than lstsq, within 3x of dsyrk; 2 threads >= 1.7x faster
#     than 1. The coefficients of every method are compared with a51's.
#  2. Streamed, 10 000 000 x 40 + intercept generated block by block through
#     stats_sources (never whole in memory): a51's fit with 1 and 2 sources vs
#     dsyrk accumulating X'X over the same blocks (goal: within 3x), generation
#     timed apart; the process's peak RSS shows memory is O(p^2 threads + block).
# Prints figures, ratios and PASS/MISS per goal; a missed goal is not an error.
# Knobs: BENCH_REGRESS_ROWS, BENCH_REGRESS_STREAM_ROWS, BENCH_REGRESS_BLOCK,
# BENCH_REGRESS_REPS (fast fits), BENCH_REGRESS_SLOW_REPS (lm.fit, lstsq),
# BENCH_REGRESS_LM_REPS (lm()), BENCH_REGRESS_STREAM_REPS, BENCH_PYTHON.
A51_BUILD=${A51_BUILD:-$(cd "$(dirname "$0")/.." && pwd)/build-bench}
source "$(dirname "$0")/lib.sh"

ROWS=${BENCH_REGRESS_ROWS:-1000000}
SROWS=${BENCH_REGRESS_STREAM_ROWS:-10000000}
BLOCK=${BENCH_REGRESS_BLOCK:-4096}
REPS=${BENCH_REGRESS_REPS:-7}
SLOW_REPS=${BENCH_REGRESS_SLOW_REPS:-3}
LM_REPS=${BENCH_REGRESS_LM_REPS:-2}
SREPS=${BENCH_REGRESS_STREAM_REPS:-3}
# Debian's python3 (python3-numpy): a python3 earlier on PATH (pyenv, venv)
# may have no numpy or another BLAS.
PY=${BENCH_PYTHON:-/usr/bin/python3}
BIN=$A51_BUILD/bench/regress_bench
OUT=$BENCH_DIR/regress
DATA=$OUT/data-v1-${ROWS}x42.f64

[[ -x $BIN ]] || die "no $BIN: build with bench/run.sh (meson -Dbench=true)"
command -v Rscript >/dev/null || die "no Rscript: scripts/deps.sh bench installs r-base-core"
"$PY" -c 'import numpy' 2>/dev/null || die "no numpy for $PY: scripts/deps.sh bench installs python3-numpy"
mkdir -p "$OUT"
rm -f "$OUT"/coef-*.txt "$OUT"/results.txt

load() { cut -d' ' -f1 /proc/loadavg; }
load0=$(load)
if [[ ! -f $DATA || $(stat -c %s "$DATA") -ne $((ROWS * 42 * 8)) ]]; then
	say "regress: writing $ROWS x 42 float64 to $DATA"
	"$BIN" gen "$DATA" "$ROWS"
fi

say "regress: a51 and OpenBLAS in memory"
"$BIN" mem "$DATA" "$ROWS" "$REPS" "$OUT" >>"$OUT/results.txt"
# An OpenBLAS older than the CPU (Debian 12's 0.3.21 on Zen 4/5) runs its AVX2
# kernels on an AVX-512 machine: measure the floor with its AVX-512 kernels
# too, and take the faster as the floor (the streamed floor uses them).
core=()
if grep -qw avx512f /proc/cpuinfo && ! awk '$1 == "mem.openblas" { exit !($2 ~ /SkylakeX|Cooperlake|SapphireRapids/) }' \
	"$OUT/results.txt"; then
	core=(env OPENBLAS_CORETYPE=SkylakeX)
	"${core[@]}" "$BIN" floor "$DATA" "$ROWS" "$REPS" >>"$OUT/results.txt"
fi
say "regress: $SROWS rows streamed"
"${core[@]}" "$BIN" stream "$SROWS" "$BLOCK" "$SREPS" "$OUT" >>"$OUT/results.txt"
say "regress: numpy lstsq and X'X + Cholesky"
"$PY" "$A51_ROOT/bench/regress/regress.py" "$DATA" "$ROWS" "$SLOW_REPS" "$REPS" "$OUT" >>"$OUT/results.txt"
say "regress: R lm() and lm.fit()"
Rscript "$A51_ROOT/bench/regress/regress.R" "$DATA" "$ROWS" "$LM_REPS" "$SLOW_REPS" "$OUT" >>"$OUT/results.txt"
load1=$(load)

v() { awk -v k="$1" '$1 == k { print $2; f = 1 } END { if (!f) print "nan" }' "$OUT/results.txt"; }
# calc EXPR [name=value...]: awk arithmetic on the figures
calc() {
	local e=$1 a args=()
	shift
	for a in "$@"; do args+=(-v "$a"); done
	awk "${args[@]}" "BEGIN { print ($e) }" </dev/null
}
# Max over coefficients of |b - a| / |a|, a from coef-$1, b from coef-$2.
maxrel() {
	awk 'NR == FNR { a[FNR] = $1; next }
		{ d = $1 - a[FNR]; if (d < 0) d = -d; s = a[FNR] < 0 ? -a[FNR] : a[FNR]; r = d / s; if (r > m) m = r; n++ }
		END { if (n) printf "%.1e", m; else printf "-" }' "$OUT/coef-$1.txt" "$OUT/coef-$2.txt" 2>/dev/null || printf -- -
}
x() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2fx", a / b; else printf "-" }'; }
pass() { awk -v c="$1" 'BEGIN { print (c + 0 ? "PASS" : "MISS") }'; }

a1=$(v mem.a51.1) a2=$(v mem.a51.2)
lm=$(v r.lm) lmfit=$(v r.lmfit) lstsq=$(v np.lstsq) npchol=$(v np.chol)
ch1=$(v mem.chol.1) ch2=$(v mem.chol.2)
s1=$(v mem.dsyrk.1) s2=$(v mem.dsyrk.2) ssplit=$(v mem.dsyrk.split2)
f1=$(v floor.dsyrk.1) fsplit=$(v floor.dsyrk.split2)
# The floor: the fastest X'X seen, whatever the threading or kernel.
min() { awk 'BEGIN { m = "" } { for (i = 1; i <= NF; i++) if ($i != "nan" && $i != "" && (m == "" || $i + 0 < m + 0)) m = $i }
	END { print m }' <<<"$*"; }
floor1=$(min "$s1" "$f1") floor2=$(min "$s2" "$ssplit" "$fsplit")

row() { printf '  %-46s %-8s %9s %5s %10s %10s %12s\n' "$@"; }
line() { # line LABEL THREADS SECONDS REPS COEF
	row "$1" "$2" "$(printf '%.4f' "$3")" "$4" "$(x "$3" "$a1")" "$(x "$3" "$a2")" "$5"
}
echo
echo "regress, in memory: $ROWS rows x 41 columns (40 covariates + intercept), the same data for every method;"
echo "best of reps; $(nproc) cores; load average $load0 before, $load1 after"
row "" "threads" "best s" "reps" "t/a51(1t)" "t/a51(2t)" "coef vs a51"
line "a51 stable fit (Householder TSQR, rank, SEs)" 1 "$a1" "$REPS" "reference"
line "a51 stable fit (Householder TSQR, rank, SEs)" 2 "$a2" "$REPS" "$(maxrel a51-1 a51-2)"
line "R $(v r.version) lm(y ~ ., data)" "R dflt" "$lm" "$LM_REPS" "$(maxrel a51-1 r-lm)"
line "R lm.fit(X, y)" "R dflt" "$lmfit" "$SLOW_REPS" "$(maxrel a51-1 r-lmfit)"
line "numpy $(v np.version) linalg.lstsq (LAPACK dgelsd)" "np dflt" "$lstsq" "$SLOW_REPS" "$(maxrel a51-1 np-lstsq)"
line "numpy X'X + Cholesky (normal equations)" "np dflt" "$npchol" "$REPS" "$(maxrel a51-1 np-chol)"
line "OpenBLAS X'X + X'y + Cholesky (dposv)" 1 "$ch1" "$REPS" "$(maxrel a51-1 blas-chol)"
line "OpenBLAS X'X + X'y + Cholesky (dposv)" 2 "$ch2" "$REPS" ""
line "OpenBLAS dsyrk X'X alone (the floor)" 1 "$s1" "$REPS" ""
line "OpenBLAS dsyrk X'X alone (the floor)" 2 "$s2" "$REPS" ""
line "  same, 2 threads each dsyrk on half the rows" 2 "$ssplit" "$REPS" ""
if [[ $f1 != nan ]]; then
	line "  same, AVX-512 kernel ($(v floor.openblas))" 1 "$f1" "$REPS" ""
	line "  same, AVX-512 kernel, 2 threads on half each" 2 "$fsplit" "$REPS" ""
fi
echo "  t/a51: the method's time over a51's (how many times a51 is faster; < 1: a51 is slower)."
echo "  dflt: the tool's defaults — R $(v r.blas), numpy $(v np.blas): OpenBLAS with $(nproc) threads"
echo "  (lm() itself runs LINPACK dqrdc2 on one thread). OpenBLAS core type: $(v mem.openblas)."
[[ $f1 == nan ]] || echo "  AVX-512 kernel: OPENBLAS_CORETYPE=$(v floor.openblas), as this OpenBLAS does not pick it here itself."
echo "  The floor for the goals is the fastest dsyrk line of each thread count."
echo "  coef vs a51: max over the 41 coefficients of |b - b_a51| / |b_a51| (a51 1 thread)."
# With a busy second core, every 2-thread figure is meaningless: say so.
if [[ $(calc "a / b < 1.5" a="$s1" b="$ssplit") == 1 ]]; then
	printf '  WARNING: dsyrk split over 2 threads was only %s faster than on 1: the second core was busy\n' \
		"$(x "$s1" "$ssplit")"
	echo "  (load average $load0 before, $load1 after), so the 2-thread figures and ratios are not meaningful."
fi
echo
gl() { printf '  %-30s %-40s %-8s %s\n' "$@"; }
gl "goal" "measured" "target" "result"
gl "a51 vs R lm()" "$(x "$lm" "$a2") faster (1 thread $(x "$lm" "$a1"))" ">= 20x" \
	"$(pass "$(calc "l / a >= 20" l="$lm" a="$a2")")"
gl "a51 vs numpy lstsq" "$(x "$lstsq" "$a2") faster (1 thread $(x "$lstsq" "$a1"))" ">= 10x" \
	"$(pass "$(calc "l / a >= 10" l="$lstsq" a="$a2")")"
gl "a51 / dsyrk floor, 1 thread" "$(x "$a1" "$floor1")" "<= 3x" "$(pass "$(calc "a / s <= 3" a="$a1" s="$floor1")")"
gl "a51 / dsyrk floor, 2 threads" "$(x "$a2" "$floor2")" "<= 3x" "$(pass "$(calc "a / s <= 3" a="$a2" s="$floor2")")"
gl "a51 2 threads vs 1" "$(x "$a1" "$a2") faster" ">= 1.7x" "$(pass "$(calc "a / b >= 1.7" a="$a1" b="$a2")")"

st1=$(v stream.a51.1) st2=$(v stream.a51.2) sf1=$(v stream.dsyrk.1) sf2=$(v stream.dsyrk.2)
rss0=$(v stream.rss0_kb) rssa=$(v stream.rss_a51_kb) rss=$(v stream.rss_kb) bb=$(v stream.block_bytes)
mb() { awk -v k="$1" 'BEGIN { printf "%.1f MB", k / 1024 }'; }
srow() { printf '  %-46s %10s %10s\n' "$@"; }
echo
echo "regress, streamed: $SROWS rows x 41 columns generated $BLOCK rows at a time per source"
echo "(never whole in memory); best of $SREPS; generation timed apart and excluded${core:+; dsyrk with ${core[1]}}"
srow "" "1 source" "2 sources"
srow "a51 stats_ls_fit_sources (stable fit)" "$(printf '%.4f s' "$st1")" "$(printf '%.4f s' "$st2")"
srow "OpenBLAS dsyrk accumulating X'X (the floor)" "$(printf '%.4f s' "$sf1")" "$(printf '%.4f s' "$sf2")"
srow "block generation, slowest thread (excluded)" "$(printf '%.4f s' "$(v stream.gen.1)")" \
	"$(printf '%.4f s' "$(v stream.gen.2)")"
srow "a51 / dsyrk (goal <= 3x)" "$(x "$st1" "$sf1") $(pass "$(calc "a / s <= 3" a="$st1" s="$sf1")")" \
	"$(x "$st2" "$sf2") $(pass "$(calc "a / s <= 3" a="$st2" s="$sf2")")"
srow "a51 2 sources vs 1" "" "$(x "$st1" "$st2") faster"
srow "dsyrk 2 sources vs 1" "" "$(x "$sf1" "$sf2") faster"
srow "coefficients vs a51 1 source: a51 2 sources" "" "$(maxrel stream-a51-1 stream-a51-2)"
srow "  normal equations (dsyrk + dgemv + dposv)" "" "$(maxrel stream-a51-1 stream-blas-chol)"
if [[ $(calc "a / b < 1.5" a="$sf1" b="$sf2") == 1 ]]; then
	echo "  WARNING: dsyrk on 2 sources was only $(x "$sf1" "$sf2") faster than on 1: the second core was busy,"
	echo "  so the 2-source figures are not meaningful."
fi
# Memory: what the a51 fits added to the process at start must be about the
# block buffers (O(block)) plus O(p^2 threads), nowhere near n x p doubles.
whole=$(calc "n * 41 * 8 / 1024" n="$SROWS")
printf '  peak RSS: %s at start, %s after the a51 fits (+%s; block buffers %s), %s at the end;\n' \
	"$(mb "$rss0")" "$(mb "$rssa")" "$(mb "$((rssa - rss0))")" "$(mb "$((bb / 1024))")" "$(mb "$rss")"
printf '  the whole X would be %s. goal: a51 adds <= block buffers + 16 MB (O(p^2 threads + block)): %s\n\n' \
	"$(awk -v k="$whole" 'BEGIN { printf "%.1f GB", k / 1048576 }')" \
	"$(pass "$(calc "a - z <= b / 1024 + 16384" a="$rssa" z="$rss0" b="$bb")")"
