/*
 * par.h: the master-worker farm behind `mpirun marketsim sweep`. The only
 * interface to MPI: par_mpi.c includes mpi.h, par_serial.c stands in when
 * marketsim is built without MPI.
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

#endif
