/*
 * ms_sweep.h: parameter sweeps: many runs of one scenario with some
 * parameters varied, into one HDF5 sweep file (schema: docs/OUTPUT.md).
 *
 * A sweep file (YAML) names the scenario, the parameters to vary (any key
 * `--set` reaches) with grid values or ranges, the design (grid, Latin
 * hypercube, Sobol), replications per point, the sweep seed, and which
 * outputs to keep every how many steps. Run r is point r / replications,
 * replicate r % replications, with seed ms_rng_derive_seed(sweep seed, r):
 * so the data do not depend on ranks, shards, threads or order.
 */
#ifndef MS_SWEEP_H
#define MS_SWEEP_H

#include "marketsim/ms_error.h"
#include "marketsim/ms_run.h"

#include <signal.h>
#include <stdint.h>
#include <stdio.h>

typedef struct ms_sweep ms_sweep;

ms_status ms_sweep_load(const char *path, ms_sweep **out);
/* The same from text; `path` names it in messages and is what the
 * scenario's path is relative to. */
ms_status ms_sweep_load_string(const char *text, const char *path,
                               ms_sweep **out);
void ms_sweep_destroy(ms_sweep **s);
int64_t ms_sweep_run_count(const ms_sweep *s);
/* Points of the design, and how many of them (the first ones) were checked
 * at load to give a scenario that starts, with the base's shapes: all of
 * them up to 10000. */
int64_t ms_sweep_points(const ms_sweep *s);
int64_t ms_sweep_points_checked(const ms_sweep *s);
/* The scenario file the sweep varies (borrowed), or NULL. */
const char *ms_sweep_scenario_file(const ms_sweep *s);

/* Print what a sweep will do: runs, points, estimated size and memory. */
ms_status ms_sweep_describe(ms_sweep *s, int shard_i, int shard_n, FILE *out);

typedef struct ms_sweep_opts {
    const char *out_path;
    int resume;                   /* continue an existing file */
    int shard_i, shard_n;         /* run the shard_i-th (1-based) of shard_n */
    int threads;                  /* 0: OpenMP default */
    const char *command;
    ms_progress_fn progress;      /* (ctx, runs finished, runs to do) */
    void *progress_ctx;
    volatile sig_atomic_t *stop;
} ms_sweep_opts;

typedef struct ms_sweep_result {
    int64_t runs, todo, done, failed;   /* in this file / this invocation */
    int interrupted;
    double wall_seconds;
    int ranks;
} ms_sweep_result;

ms_status ms_sweep_execute(ms_sweep *s, const ms_sweep_opts *o,
                           ms_sweep_result *res);

/* Join shard files of one sweep into `out` (same layout, every finished
 * run taken from the shard that ran it, summary recomputed). */
ms_status ms_sweep_merge(const char *const *inputs, int n, const char *out,
                         ms_sweep_result *res);

/* Parallel runtime (sim/par): MPI when built with it and started by
 * mpirun, else a single process. */
ms_status ms_par_init(int *argc, char ***argv);
void ms_par_finalize(void);
int ms_par_rank(void);
int ms_par_size(void);
int ms_par_available(void);     /* built with MPI */
int ms_par_launched(void);      /* the environment says mpirun started us */

#endif
