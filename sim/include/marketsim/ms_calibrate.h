/*
 * ms_calibrate.h: fitting free parameters of a scenario to its targets.
 *
 * The objective is the mean over targets of ((m_i - expected_i) /
 * tolerance_i)^2, with m_i the mean of the simulated value over a fixed set
 * of replications (seeds derived from run.seed, the same at every
 * evaluation, so the objective is a deterministic function of the
 * parameters). It is minimized with GSL's Nelder-Mead simplex
 * (nmsimplex2) over the box of the free parameters, through the
 * transformation x = lo + (hi - lo) / (1 + exp(-z)).
 */
#ifndef MS_CALIBRATE_H
#define MS_CALIBRATE_H

#include "marketsim/ms_error.h"

#include <stdio.h>

#define MS_CAL_MAX_FREE 16

typedef struct ms_cal_free {
    char key[256];
    double lo, hi;
    double start, fitted;
} ms_cal_free;

typedef struct ms_cal_opts {
    int reps;            /* replications per evaluation */
    int max_iter;        /* simplex iterations */
    double size_tol;     /* stop when the simplex is this small (in z) */
    int threads;
    int quiet;
    FILE *log;           /* progress lines (stderr) */
} ms_cal_opts;

typedef struct ms_cal_result {
    double start_obj, fitted_obj;
    int iterations, evaluations;
    int n_targets;
} ms_cal_result;

/* Parse "KEY=LO:HI". */
ms_status ms_cal_parse_free(const char *arg, ms_cal_free *out);

/* Fit; `frees[i].fitted` receives the values. */
ms_status ms_calibrate(const char *scenario_path, ms_cal_free *frees, int n,
                       const ms_cal_opts *o, ms_cal_result *res);

/* Write the scenario file with the fitted values in place of the old ones
 * (comments and layout kept) and a header saying what was fitted. */
ms_status ms_cal_write(const char *scenario_path, const ms_cal_free *frees,
                       int n, const ms_cal_result *res, const ms_cal_opts *o,
                       const char *out_path);

#endif
