/*
 * par_serial.c: the parallel runtime of a build without MPI: one process.
 */
#include "par/par.h"

#include "marketsim/ms_error.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

ms_status ms_par_init(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    if (ms_par_launched())
        return MS_ERROR(MS_EUSAGE, "this marketsim was built without MPI, "
                        "but mpirun started it with several ranks; rebuild "
                        "with Open MPI installed (libopenmpi-dev), run it "
                        "as one process, or split a sweep with --shard I/N "
                        "(docs/CLUSTER.md)");
    return MS_OK;
}

void ms_par_finalize(void) {}
int ms_par_rank(void) { return 0; }
int ms_par_size(void) { return 1; }
int ms_par_available(void) { return 0; }

int ms_par_launched(void)
{
    const char *n = getenv("OMPI_COMM_WORLD_SIZE");
    if (!n)
        n = getenv("PMI_SIZE");
    return n && atoi(n) > 1;
}

ms_status ms_par_farm(const int64_t *tasks, int64_t n, size_t bytes,
                      ms_par_work_fn work, ms_par_deliver_fn deliver,
                      void *ctx, volatile sig_atomic_t *stop, int abort)
{
    (void)tasks; (void)n; (void)bytes; (void)work; (void)deliver; (void)ctx;
    (void)stop; (void)abort;
    return MS_ERROR(MS_EINTERNAL, "ms_par_farm called without MPI");
}

int ms_par_bcast_int(int v) { return v; }

ms_status ms_par_sum_i64(int64_t *v, size_t n)
{
    (void)v;
    (void)n;
    return MS_OK;
}

void ms_par_exscan_i64(int64_t *v, size_t n)
{
    memset(v, 0, n * sizeof *v);
}

int ms_par_any(int v) { return v != 0; }
int64_t ms_par_chain_take(int64_t first) { return first; }
void ms_par_chain_pass(int64_t v) { (void)v; }
void ms_par_barrier(void) {}
void ms_par_abort(int code) { _exit(code); }

double ms_par_timeout(void)
{
    const char *t = getenv("MARKETSIM_MPI_TIMEOUT");
    double s = t ? atof(t) : 600;
    return s >= 1 ? s : 600;
}
