/*
 * par.h: the parallel runtime. The only interface to MPI: par_mpi.c
 * includes mpi.h, par_serial.c stands in when marketsim is built without
 * MPI (one process: every collective below is then the identity).
 *
 * Two users. The master-worker farm behind `mpirun marketsim sweep`, and
 * the collectives of one run split over ranks (`mpirun marketsim run`:
 * each rank holds a slice of the consumers; docs/CLUSTER.md). Every
 * collective is called by all ranks in the same order; all reduce
 * integers, so their results do not depend on the order ranks combine in.
 *
 * Rank 0 hands out tasks one at a time as workers ask (runs differ in
 * length, so a static split would leave ranks idle), receives each result
 * as one message of `bytes` and delivers it; workers compute. A stop flag
 * set on rank 0 stops handing out tasks; the results of tasks under way
 * are still delivered.
 */
#ifndef MS_PAR_H
#define MS_PAR_H

#include "marketsim/ms_error.h"

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

/* Worker side: compute task into result (bytes long). */
typedef ms_status (*ms_par_work_fn)(void *ctx, int64_t task, void *result);
/* Master side: a finished task's result. */
typedef ms_status (*ms_par_deliver_fn)(void *ctx, int64_t task,
                                       const void *result);

/* Collective over all ranks. On rank 0 `tasks` lists the tasks (n of them);
 * `*abort` set on rank 0 before the call tells the workers there is
 * nothing to do. Returns on every rank when all results are delivered or
 * the stop flag ended the farm. */
ms_status ms_par_farm(const int64_t *tasks, int64_t n, size_t bytes,
                      ms_par_work_fn work, ms_par_deliver_fn deliver,
                      void *ctx, volatile sig_atomic_t *stop, int abort);

/* Broadcast an int from rank 0 (e.g. whether setup succeeded). */
int ms_par_bcast_int(int v);

/* ---- collectives of one run over all ranks ---- */

int ms_par_rank(void);          /* also in ms_sweep.h */
int ms_par_size(void);
int ms_par_launched(void);     /* mpirun started this process */

/* Sum n integers over all ranks, in place (MPI_Allreduce: exact). */
ms_status ms_par_sum_i64(int64_t *v, size_t n);
/* Each of n integers replaced by its sum over the ranks before this one
 * (0 on rank 0). */
void ms_par_exscan_i64(int64_t *v, size_t n);
/* 1 on every rank if v is nonzero on some rank (a stop, a failure). */
int ms_par_any(int v);
/* A value handed down the ranks in order: rank 0 gets `first`, rank r > 0
 * waits for what rank r - 1 passes on with ms_par_chain_pass. */
int64_t ms_par_chain_take(int64_t first);
void ms_par_chain_pass(int64_t v);
void ms_par_barrier(void);
/* End the whole job now with exit status `code` (a rank that cannot go
 * on while the others wait in a collective). */
void ms_par_abort(int code);
/* Seconds a rank waits in a collective of a run before it gives up (a
 * rank that died): from $MARKETSIM_MPI_TIMEOUT, default 600. */
double ms_par_timeout(void);

#endif
