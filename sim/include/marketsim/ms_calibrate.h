/*
 * ms_calibrate.h: fitting free parameters of a scenario to its targets, with
 * intervals and identification diagnostics.
 *
 * The objective is that of the method of simulated moments: with m_i the
 * mean of target i over R replications (seeds derived from run.seed, the
 * same at every evaluation, so the objective is a deterministic function of
 * the parameters and differences between nearby points use common random
 * numbers), d_i = m_i - expected_i (for a bound target the distance outside
 * the bound, 0 inside), s_i^2 the variance of target i across the
 * replications and t_i its tolerance (half the bound's size for a bound),
 *
 *     Q = sum_i d_i^2 / v_i,   v_i = s_i^2 (1 + 1/R) + t_i^2,
 *
 * the variance of d_i when the figure is one draw of the model (s_i^2), the
 * simulated mean carries the noise of R draws (s_i^2 / R) and the figure
 * itself is uncertain by one tolerance (t_i^2). The weights 1 / v_i are
 * estimated at the starting values and held fixed during the search (so
 * the search cannot gain by moving where the model is noisier), then
 * estimated again at the optimum for the reported objective, the intervals
 * and the diagnostics.
 *
 * The search: Sobol starting points (gsl_qrng_sobol, shifted by a rotation
 * derived from run.seed) over the box of the free parameters, then GSL's
 * Nelder-Mead simplex (nmsimplex2) from the best few, through the
 * transformation x = lo + (hi - lo) / (1 + exp(-z)).
 *
 * At the optimum: the Jacobian of the weighted residuals d_i / sqrt(v_i) by
 * the parameters (central differences, common random numbers), its
 * singular values (gsl_linalg_SV_decomp), rank and condition number; the
 * standard error of each parameter from (J' J)^-1; and a confidence
 * interval for each parameter, either from the profile of Q (the values of
 * the parameter at which Q, minimized over the other parameters, rises by
 * the chi-square(1) quantile of the level above its minimum) or the Wald
 * interval fitted -+ z sd from the Jacobian.
 */
#ifndef MS_CALIBRATE_H
#define MS_CALIBRATE_H

#include "marketsim/ms_error.h"

#include <stdio.h>

#define MS_CAL_MAX_FREE 16

typedef enum {
    MS_CAL_PROFILE = 0,  /* profile of the objective (the default) */
    MS_CAL_WALD = 1,     /* fitted -+ z sd from the Jacobian */
    MS_CAL_NONE = 2      /* no intervals */
} ms_cal_interval;

typedef struct ms_cal_free {
    char key[256];
    double lo, hi;       /* the box of the search, in the parameter's unit */
    double start, fitted;
    char unit[24];       /* of the parameter ("1/year"), from the table */
    double sd;           /* standard error from the Jacobian (inf: none) */
    double ci_lo, ci_hi; /* the interval at the level (NaN: not computed) */
    int ci_lo_bound, ci_hi_bound; /* 1: that end is the box's bound */
    double sensitivity;  /* |column of the weighted Jacobian| x (hi - lo):
                            how far across its whole range the parameter
                            moves the targets, in standard deviations */
    int weak;            /* 1: the targets do not pin it down */
} ms_cal_free;

typedef struct ms_cal_opts {
    int reps;            /* replications per evaluation (2 at least) */
    int max_iter;        /* simplex iterations of each Nelder-Mead run */
    double size_tol;     /* stop when the simplex is this small (in z) */
    int threads;
    int quiet;
    FILE *log;           /* progress lines (stderr) */
    int starts;          /* Sobol starting points (0: 4 per free parameter,
                            8 at least) */
    int refine;          /* Nelder-Mead runs from the best starts (1 or more) */
    ms_cal_interval interval;
    double level;        /* of the intervals, in (0, 1) */
    int no_fit;          /* 1: no search; diagnose the file's values */
} ms_cal_opts;

/* A target at the fitted values. */
typedef struct ms_cal_target {
    char figure[128];
    char unit[24];
    double expected;     /* NaN for a bound */
    double lo, hi;       /* accepted range */
    double tolerance;    /* or half the bound's size */
    double mean, sd;     /* over the replications */
    double weight_sd;    /* sqrt(v_i) */
    double residual;     /* d_i / sqrt(v_i) */
} ms_cal_target;

typedef struct ms_cal_result {
    double start_obj, fitted_obj; /* Q at the start and at the fit (the
                                     latter with the weights of the fit) */
    int iterations, evaluations;
    int n_targets, n_free;
    int starts, refined;          /* Sobol points tried, Nelder-Mead runs */
    double level;
    ms_cal_interval interval;
    double chi2_p;                /* P(chi2(K - n) > Q) when K > n, else NaN */
    int rank;                     /* of the Jacobian */
    double cond;                  /* its condition number (inf: singular) */
    double sv[MS_CAL_MAX_FREE];   /* its singular values, descending, with
                                     columns per whole range */
    int n_weak;                   /* parameters flagged as not pinned down */
    ms_cal_target *targets;       /* [n_targets] (owned) */
    double *jac;                  /* [n_targets x n_free], row-major: d target
                                     (its unit) / d parameter (its unit) */
} ms_cal_result;

/* Parse "KEY=LO:HI". */
ms_status ms_cal_parse_free(const char *arg, ms_cal_free *out);

/* Fit (or, with o->no_fit, take the file's values) and diagnose;
 * `frees[i].fitted` and the interval fields receive the values. The
 * result owns arrays: release them with ms_cal_result_free. */
ms_status ms_calibrate(const char *scenario_path, ms_cal_free *frees, int n,
                       const ms_cal_opts *o, ms_cal_result *res);

void ms_cal_result_free(ms_cal_result *res);

/* Print the table of parameters, targets and diagnostics to f. */
void ms_cal_print(FILE *f, const ms_cal_free *frees, int n,
                  const ms_cal_result *res, const ms_cal_opts *o);

/* Write the result as JSON to out_path. */
ms_status ms_cal_write_json(const char *scenario_path,
                            const ms_cal_free *frees, int n,
                            const ms_cal_result *res, const ms_cal_opts *o,
                            const char *out_path);

/* Write the scenario file with the fitted values in place of the old ones
 * (comments and layout kept) and a header saying what was fitted, with
 * the intervals. */
ms_status ms_cal_write(const char *scenario_path, const ms_cal_free *frees,
                       int n, const ms_cal_result *res, const ms_cal_opts *o,
                       const char *out_path);

#endif
