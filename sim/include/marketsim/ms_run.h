/*
 * ms_run.h: one whole run: world, steps, output, checks, interruption.
 */
#ifndef MS_RUN_H
#define MS_RUN_H

#include "marketsim/ms_error.h"
#include "marketsim/ms_scenario.h"

#include <signal.h>
#include <stdint.h>
#include <stdio.h>

typedef void (*ms_progress_fn)(void *ctx, int64_t done, int64_t total);

typedef struct ms_run_opts {
    const char *out_path;          /* result file; NULL writes none */
    int threads;                   /* 0: OpenMP default */
    int check;                     /* verify invariants at the end */
    const char *command;           /* recorded in the file */
    ms_progress_fn progress;       /* called after every step, or NULL */
    void *progress_ctx;
    volatile sig_atomic_t *stop;   /* set asynchronously to stop early */
    double *targets_out;           /* simulated value of each target, or NULL */
    int64_t checkpoint_every;      /* steps between checkpoints (0: none) */
    const char *checkpoint_path;   /* where (NULL: no checkpoints at all) */
    const char *restart_path;      /* continue from this checkpoint */
    int distributed;               /* one run over the ranks of mpirun: each
                                      holds a slice of the consumers, rank 0
                                      writes the file (every rank calls
                                      ms_run with the same options) */
} ms_run_opts;

typedef struct ms_run_result {
    int64_t steps_done;
    int interrupted;
    double wall_seconds;           /* over all restarts of the run */
    uint64_t consumers;
    int n_phases;
    const char *phase_name[16];
    double phase_seconds[16];
    int n_targets, n_missed;       /* targets, and those outside tolerance */
    int kept_partial;              /* interrupted beside an earlier result:
                                    * the run file is OUT.partial */
} ms_run_result;

/* What a run of a scenario will need (`marketsim run --dry-run`): from
 * the layout and a short sample run on this process (core/estimate.c
 * says how). Counts are doubles: a run too large for this build or this
 * machine can still be sized. */
typedef struct ms_run_estimate {
    double consumers;              /* consumer agents */
    int ranks, threads;            /* asked for; threads per rank */
    int markets, categories, firm_slots;
    double consumers_per_rank;     /* the largest slice */
    double blocks;                 /* consumer blocks (at most) */
    int block_size;                /* consumers per block */
    double bytes_per_consumer;     /* held by the rank of its slice */
    double bytes_per_block;        /* held by every rank */
    double bytes_fixed;            /* per rank, whatever the consumers */
    double bytes_per_rank;         /* the largest rank's total */
    double sample_consumers;       /* agents of the sample run */
    int sample_steps;              /* steps it ran (the first ones) */
    double sec_per_agent_step;     /* consumer phase, s per agent and step */
    double sec_other_per_step;     /* the other phases, s per step */
    double comm_ints;              /* integers summed over ranks per step */
    double net_latency, net_bandwidth; /* s; bytes/s (assumed) */
    double sec_comm_per_step;      /* modelled */
    double sec_per_step;           /* the estimate for `ranks` ranks */
    int64_t steps;                 /* run.steps */
} ms_run_estimate;

ms_status ms_run_estimate_cost(const ms_scenario *sc, int ranks, int threads,
                               ms_run_estimate *e);

/* The scenario of a checkpoint (caller destroys), the run file it
 * continues (out, out_size bytes) and its step. */
ms_status ms_run_checkpoint_scenario(const char *ckpt, ms_scenario **sc,
                                     char *out, size_t out_size,
                                     int64_t *step);

/* Print a scenario's targets against simulated values (NaN: not reached). */
void ms_targets_print(const ms_scenario *sc, const double *sim, FILE *out);

/* Run `sc` to the end (or until *stop). An interrupted run closes its file
 * with status "interrupted" and returns MS_EINTERRUPT; with a checkpoint
 * path it first writes a checkpoint, and a completed run removes it. The
 * file is written as OUT.partial and renamed to OUT when the run ends; an
 * interrupted run leaves it as OUT.partial if OUT exists (kept_partial).
 * The caller checks and locks the output first (ms_paths.h).
 * With restart_path, `sc` must be the checkpoint's scenario
 * (ms_run_checkpoint_scenario) and the run continues where it stopped. */
ms_status ms_run(const ms_scenario *sc, const ms_run_opts *opts,
                 ms_run_result *res);

#endif
