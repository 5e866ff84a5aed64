/*
 * par_mpi.c: the master-worker farm over MPI (see par.h).
 *
 * Messages: rank 0 sends a task index (TAG_TASK) or a stop (TAG_STOP);
 * a worker answers each task with TAG_RESULT carrying the task index in the
 * first 8 bytes and the result after it. Workers use their OpenMP threads
 * inside each run. A rank that dies makes Open MPI end the job; the sweep
 * file keeps every run delivered before, and --resume does the rest.
 */
#include "par/par.h"

#include "marketsim/ms_alloc.h"
#include "marketsim/ms_error.h"

#include <mpi.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum { TAG_TASK = 1, TAG_STOP = 2, TAG_RESULT = 3, TAG_CHAIN = 4 };

static int inited, rank, size = 1;

int ms_par_launched(void)
{
    const char *n = getenv("OMPI_COMM_WORLD_SIZE");
    if (!n)
        n = getenv("PMI_SIZE");
    return n != NULL;
}

ms_status ms_par_init(int *argc, char ***argv)
{
    if (inited || !ms_par_launched())
        return MS_OK;
    int provided;
    if (MPI_Init_thread(argc, argv, MPI_THREAD_FUNNELED, &provided) !=
        MPI_SUCCESS)
        return MS_ERROR(MS_EIO, "MPI_Init_thread failed");
    inited = 1;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    return MS_OK;
}

void ms_par_finalize(void)
{
    if (inited)
        MPI_Finalize();
    inited = 0;
}

int ms_par_rank(void) { return rank; }
int ms_par_size(void) { return size; }
int ms_par_available(void) { return 1; }

int ms_par_bcast_int(int v)
{
    if (inited)
        MPI_Bcast(&v, 1, MPI_INT, 0, MPI_COMM_WORLD);
    return v;
}

static ms_status master(const int64_t *tasks, int64_t n, size_t bytes,
                        ms_par_deliver_fn deliver, void *ctx,
                        volatile sig_atomic_t *stop, int abort)
{
    char *buf = ms_malloc(bytes + 8);
    if (!buf)
        abort = 1; /* still release the workers below */
    int64_t next = 0, busy = 0;
    ms_status st = MS_OK;
    int64_t dummy = 0;
    /* Prime every worker with one task, or stop it. */
    for (int w = 1; w < size; w++) {
        if (!abort && next < n && !(stop && *stop)) {
            MPI_Send(&tasks[next++], 1, MPI_INT64_T, w, TAG_TASK,
                     MPI_COMM_WORLD);
            busy++;
        } else {
            MPI_Send(&dummy, 1, MPI_INT64_T, w, TAG_STOP, MPI_COMM_WORLD);
        }
    }
    while (busy > 0) {
        MPI_Status ms;
        MPI_Recv(buf, (int)(bytes + 8), MPI_BYTE, MPI_ANY_SOURCE, TAG_RESULT,
                 MPI_COMM_WORLD, &ms);
        busy--;
        int64_t task;
        memcpy(&task, buf, 8);
        if (st == MS_OK)
            st = deliver(ctx, task, buf + 8);
        if (st == MS_OK && next < n && !(stop && *stop)) {
            MPI_Send(&tasks[next++], 1, MPI_INT64_T, ms.MPI_SOURCE, TAG_TASK,
                     MPI_COMM_WORLD);
            busy++;
        } else {
            MPI_Send(&dummy, 1, MPI_INT64_T, ms.MPI_SOURCE, TAG_STOP,
                     MPI_COMM_WORLD);
        }
    }
    ms_free(buf);
    if (!buf && st == MS_OK)
        st = MS_ERROR(MS_ENOMEM, "out of memory for results");
    return st;
}

static ms_status worker(size_t bytes, ms_par_work_fn work, void *ctx)
{
    char *buf = ms_malloc(bytes + 8);
    if (!buf) {
        fprintf(stderr, "marketsim: rank %d: out of memory for a run's "
                "results (%zu bytes)\n", rank, bytes);
        MPI_Abort(MPI_COMM_WORLD, 1);
    }
    ms_status st = MS_OK;
    for (;;) {
        int64_t task;
        MPI_Status ms;
        MPI_Recv(&task, 1, MPI_INT64_T, 0, MPI_ANY_TAG, MPI_COMM_WORLD, &ms);
        if (ms.MPI_TAG == TAG_STOP)
            break;
        memcpy(buf, &task, 8);
        ms_status ws = work(ctx, task, buf + 8);
        if (ws != MS_OK && st == MS_OK)
            st = ws;
        MPI_Send(buf, (int)(bytes + 8), MPI_BYTE, 0, TAG_RESULT,
                 MPI_COMM_WORLD);
    }
    ms_free(buf);
    return st;
}

ms_status ms_par_farm(const int64_t *tasks, int64_t n, size_t bytes,
                      ms_par_work_fn work, ms_par_deliver_fn deliver,
                      void *ctx, volatile sig_atomic_t *stop, int abort)
{
    if (!inited || size < 2)
        return MS_ERROR(MS_EINTERNAL, "ms_par_farm needs several ranks");
    if (bytes > (size_t)1 << 30)
        return MS_ERROR(MS_EINPUT, "a run's kept outputs take %zu bytes; "
                        "keep fewer outputs or records (outputs, every)",
                        bytes);
    return rank == 0 ? master(tasks, n, bytes, deliver, ctx, stop, abort)
                     : worker(bytes, work, ctx);
}

/* ---- collectives of one run ----
 *
 * A rank that dies mid-run: Open MPI's runtime notices and ends the job;
 * should it not (a hung node, a lost link), every collective below runs
 * under an alarm of ms_par_timeout() seconds whose handler says so and
 * ends this rank with exit status 1, so no rank waits forever. Errors of
 * MPI itself return (MPI_ERRORS_RETURN) and end the job with a message. */

static void on_alarm(int sig)
{
    (void)sig;
    static const char msg[] = "marketsim: error: a rank waited too long for "
                              "the others (one died or hangs; "
                              "MARKETSIM_MPI_TIMEOUT sets the limit); "
                              "stopping; the last checkpoint is kept\n";
    ssize_t r = write(2, msg, sizeof msg - 1);
    (void)r;
    _exit(1);
}

double ms_par_timeout(void)
{
    const char *t = getenv("MARKETSIM_MPI_TIMEOUT");
    double s = t ? atof(t) : 600;
    return s >= 1 ? s : 600;
}

static void guard_on(void)
{
    static int installed;
    if (!installed) {
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = on_alarm;
        sigemptyset(&sa.sa_mask);
        sigaction(SIGALRM, &sa, NULL);
        MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
        installed = 1;
    }
    alarm((unsigned)ms_par_timeout());
}

static void guard_off(int rc)
{
    alarm(0);
    if (rc != MPI_SUCCESS) {
        char s[MPI_MAX_ERROR_STRING];
        int len = 0;
        MPI_Error_string(rc, s, &len);
        fprintf(stderr, "marketsim: error: rank %d: MPI failed: %.*s; "
                "stopping; the last checkpoint is kept\n", rank, len, s);
        MPI_Abort(MPI_COMM_WORLD, 1);
        _exit(1);
    }
}

ms_status ms_par_sum_i64(int64_t *v, size_t n)
{
    if (!inited || size < 2)
        return MS_OK;
    /* In chunks that fit an int count. */
    for (size_t at = 0; at < n;) {
        int k = n - at > (size_t)1 << 30 ? 1 << 30 : (int)(n - at);
        guard_on();
        guard_off(MPI_Allreduce(MPI_IN_PLACE, v + at, k, MPI_INT64_T, MPI_SUM,
                                MPI_COMM_WORLD));
        at += (size_t)k;
    }
    return MS_OK;
}

void ms_par_exscan_i64(int64_t *v, size_t n)
{
    if (!inited || size < 2)
        return;
    int64_t *in = ms_malloc(n ? n * sizeof *in : 1);
    if (!in) {
        fprintf(stderr, "marketsim: error: rank %d: out of memory for %zu "
                "counts\n", rank, n);
        MPI_Abort(MPI_COMM_WORLD, 1);
        _exit(1);
    }
    memcpy(in, v, n * sizeof *in);
    guard_on();
    guard_off(MPI_Exscan(in, v, (int)n, MPI_INT64_T, MPI_SUM,
                         MPI_COMM_WORLD));
    ms_free(in);
    if (rank == 0) /* undefined there */
        memset(v, 0, n * sizeof *v);
}

int ms_par_any(int v)
{
    if (!inited || size < 2)
        return v != 0;
    int in = v != 0, out = 0;
    guard_on();
    guard_off(MPI_Allreduce(&in, &out, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD));
    return out;
}

int64_t ms_par_chain_take(int64_t first)
{
    if (!inited || size < 2 || rank == 0)
        return first;
    int64_t v;
    guard_on();
    guard_off(MPI_Recv(&v, 1, MPI_INT64_T, rank - 1, TAG_CHAIN,
                       MPI_COMM_WORLD, MPI_STATUS_IGNORE));
    return v;
}

void ms_par_chain_pass(int64_t v)
{
    if (!inited || size < 2 || rank == size - 1)
        return;
    guard_on();
    guard_off(MPI_Send(&v, 1, MPI_INT64_T, rank + 1, TAG_CHAIN,
                       MPI_COMM_WORLD));
}

void ms_par_barrier(void)
{
    if (!inited || size < 2)
        return;
    guard_on();
    guard_off(MPI_Barrier(MPI_COMM_WORLD));
}

void ms_par_abort(int code)
{
    if (inited && size > 1)
        MPI_Abort(MPI_COMM_WORLD, code);
    _exit(code);
}
