/*
 * ms_sensitivity.h: which parameters matter: Sobol indices from a Saltelli
 * design, Morris elementary effects from trajectories, with bootstrap
 * confidence intervals; and `marketsim analyze`, which computes them from
 * a sweep file's /summary and writes them back as /sensitivity.
 *
 * The estimators work on plain arrays, so they can be used (and tested)
 * without a sweep. Unit coordinates are in [0, 1]; a sweep scales them to
 * each parameter's {low, high} range (on a log scale with log: true).
 */
#ifndef MS_SENSITIVITY_H
#define MS_SENSITIVITY_H

#include "marketsim/ms_error.h"

#include <stdint.h>
#include <stdio.h>

/* Most parameters a Saltelli design takes: its base samples come from one
 * Sobol sequence of dimension 2k, and gsl_qrng_sobol stops at 40. */
#define MS_SENS_MAX_SALTELLI 20
/* Most parameters a Morris design takes. */
#define MS_SENS_MAX_MORRIS 64

/* The points of a Saltelli design in unit coordinates, x[p * k + j] for
 * p < n * (k + 2): base row i (0 <= i < n) gives points i * (k + 2) + b,
 * b = 0 the row of A, b = 1 .. k the row of AB_b (A with column b - 1 taken
 * from B), b = k + 1 the row of B. A is the first k columns and B the last
 * k of the 2k-dimensional Sobol sequence (gsl_qrng_sobol, origin skipped).
 * n must be a power of 2 and k in 1 .. MS_SENS_MAX_SALTELLI. */
ms_status ms_sens_saltelli_design(int64_t n, int k, double *x);

/* The points of a Morris design in unit coordinates, x[p * k + j] for
 * p < r * (k + 1): trajectory t is points t * (k + 1) + s; s = 0 is its
 * start, a point of the grid {0, 1/(levels-1), ..., 1}, and step s moves
 * one parameter (each once, in a random order) by delta = levels /
 * (2 (levels - 1)), up from the lower half of the grid and down from the
 * upper half. Drawn from `seed` alone (Philox, trajectory t its own
 * stream). levels: even, 2 .. 1000. */
ms_status ms_sens_morris_design(uint64_t seed, int r, int k, int levels,
                                double *x);
/* The step of a Morris design for `levels`. */
double ms_sens_morris_delta(int levels);

/* One index with its bootstrap interval [lo, hi]. */
typedef struct ms_sens_ci {
    double value, lo, hi;
} ms_sens_ci;

typedef struct ms_sens_sobol {
    ms_sens_ci s1;   /* first order: Saltelli et al. (2010) */
    ms_sens_ci st;   /* total: Jansen (1999) */
} ms_sens_sobol;

/* Sobol indices of k parameters from n base rows: fa[i], fb[i] the output
 * at rows i of A and B, fab[j * n + i] at row i of AB_j. With V the
 * variance of fa and fb together (2n values, divided by 2n):
 *   S1_j = mean_i((fb - m) (fab_j - fa)) / V,  ST_j = mean_i((fa - fab_j)^2) / 2V,
 * m the mean of fa and fb (Saltelli 2010 on the output less m: the same
 * index in expectation, with less variance).
 * Intervals: `resamples` bootstrap resamples of the base rows (the same
 * rows for every j), drawn from `seed` with Philox (resample b its own
 * stream), percentile intervals at `conf` (e.g. 0.95). resamples 0: no
 * intervals (lo = hi = NaN). V == 0 gives NaN indices. */
ms_status ms_sens_sobol_indices(int64_t n, int k, const double *fa,
                                const double *fb, const double *fab,
                                int resamples, double conf, uint64_t seed,
                                ms_sens_sobol *out);

typedef struct ms_sens_morris {
    double mu;         /* mean elementary effect */
    ms_sens_ci mu_star;/* mean of |elementary effect|, bootstrap interval */
    double sigma;      /* sd of the elementary effects (n - 1) */
    int n;             /* elementary effects of this parameter */
} ms_sens_morris;

/* Morris measures from r trajectories of k + 1 points each: x the unit
 * coordinates (as ms_sens_morris_design lays them out), f[p] the output.
 * The elementary effect of the step from point p - 1 to p is (f[p] -
 * f[p-1]) / (x[p][j] - x[p-1][j]) for the one parameter j that changed:
 * the change of the output over the whole range of j. use[t] == 0 leaves
 * trajectory t out (NULL: all). A step that changes no parameter, or more
 * than one, is MS_EINPUT. Intervals of mu*: resamples of the trajectories,
 * as ms_sens_sobol_indices. */
ms_status ms_sens_morris_measures(int r, int k, const double *x,
                                  const double *f, const int *use,
                                  int resamples, double conf, uint64_t seed,
                                  ms_sens_morris *out);

/* `marketsim analyze`. */
#define MS_ANALYZE_MAX_SEL 64
#define MS_ANALYZE_MAX_AT 64
typedef struct ms_analyze_opts {
    const char *out_path;     /* write here (a copy); NULL: into the file */
    const char *select[MS_ANALYZE_MAX_SEL]; /* outputs (NAME, NAME[a,b]
                                               with * for any); none: all */
    int n_select;
    double at[MS_ANALYZE_MAX_AT]; /* times (years); none: the last record */
    int n_at;
    int resamples;            /* bootstrap resamples (default 1000) */
    double conf;              /* confidence level (default 0.95) */
    uint64_t seed;            /* bootstrap seed (default 1) */
    int quiet;                /* no table */
    int write;                /* write /sensitivity (default 1) */
} ms_analyze_opts;

void ms_analyze_defaults(ms_analyze_opts *o);
/* Compute the indices of every selected output of the sweep file at
 * `path` at the chosen times from its /summary, print a table to `table`
 * (unless quiet) and write /sensitivity: into a copy that replaces the
 * file (or becomes out_path) only once complete. */
ms_status ms_analyze(const char *path, const ms_analyze_opts *o, FILE *table);

#endif
