# R's lm() and lm.fit() on the data set of bench/regress.sh (Debian r-base-core).
#   Rscript regress.R FILE ROWS LM_REPS REPS OUTDIR
# FILE: ROWS x 42 float64 row-major (1, x1..x40, y). Only the fit is timed
# (system.time, best of LM_REPS for lm(), of REPS after one untimed call for
# lm.fit()); prints "key value" lines, writes OUTDIR/coef-r-lm.txt and
# OUTDIR/coef-r-lmfit.txt.
args <- commandArgs(trailingOnly = TRUE)
file <- args[1]
n <- as.integer(args[2])
lm_reps <- as.integer(args[3])
reps <- as.integer(args[4])
out <- args[5]

v <- readBin(file, what = "double", n = n * 42, size = 8, endian = "little")
stopifnot(length(v) == n * 42)
M <- matrix(v, nrow = n, ncol = 42, byrow = TRUE)
rm(v)
X <- M[, 1:41]
y <- M[, 42]
df <- as.data.frame(M[, 2:42])
names(df) <- c(sprintf("x%d", 1:40), "y")
rm(M)
invisible(gc())

put_coef <- function(name, b) writeLines(sprintf("%.17g", unname(b)), file.path(out, paste0("coef-", name, ".txt")))

best <- Inf
for (r in seq_len(lm_reps)) {
	t <- system.time(fit <- lm(y ~ ., data = df))[["elapsed"]]
	best <- min(best, t)
}
cat(sprintf("r.lm %.6f\n", best))
put_coef("r-lm", coef(fit))
rm(fit)

fit <- lm.fit(X, y) # untimed first call
best <- Inf
for (r in seq_len(reps)) {
	t <- system.time(fit <- lm.fit(X, y))[["elapsed"]]
	best <- min(best, t)
}
cat(sprintf("r.lmfit %.6f\n", best))
put_coef("r-lmfit", fit$coefficients)
cat(sprintf("r.version %s\n", paste(R.version$major, R.version$minor, sep = ".")))
cat(sprintf("r.blas %s\n", sub(".*/([^/]+/[^/]+)$", "\\1", extSoftVersion()[["BLAS"]])))
