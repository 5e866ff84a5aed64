/*
 * run.c: drive one run: create the world, write the initial state, step,
 * write every output.every steps and at the end, check, close.
 */
#include "marketsim/ms_run.h"

#include "core/ms_checkpoint.h"
#include "core/ms_output.h"
#include "core/world_int.h"
#include "io/ms_h5.h"
#include "marketsim/ms_alloc.h"
#include "par/par.h"

#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

/* Wall time of the run, s: before this process (a restarted run) plus
 * since t0. */
static double wall_now(double before, double t0)
{
    return before + omp_get_wtime() - t0;
}

static ms_status checkpoint(ms_world *w, ms_output *o,
                            const ms_run_opts *op, double wall)
{
    void *bytes = NULL;
    size_t n = 0;
    if (o)
        MS_CALL(ms_output_snapshot(o, &bytes, &n));
    ms_status st = ms_checkpoint_write(op->checkpoint_path, w, bytes, n,
                                       op->out_path, wall);
    ms_free(bytes);
    return st;
}

/* Whether an interrupted run may take `path`: nothing is there, or an
 * interrupted run file. */
static int replaceable(const char *path)
{
    struct stat sb;
    if (lstat(path, &sb) != 0)
        return 1;
    ms_h5 *h = NULL;
    char status[32] = "";
    int yes = ms_h5_open_ro(path, &h) == MS_OK &&
              ms_h5_attr_read(h, "/", "status", status, sizeof status) ==
                  MS_OK &&
              strcmp(status, "interrupted") == 0;
    ms_h5_close(&h, 1);
    ms_error_clear();
    return yes;
}

/* In a distributed run, whether every rank got st == MS_OK: a failure on
 * one rank (rank 0 writing the file, a rank its checkpoint slice) stops
 * all of them at the same step instead of leaving the others waiting. */
static ms_status all_ok(const ms_world *w, ms_status st)
{
    if (w->ranks < 2)
        return st;
    if (ms_par_any(st != MS_OK) && st == MS_OK)
        st = MS_ERROR(MS_EIO, "another rank of the run failed (rank 0 "
                      "says why); stopping");
    return st;
}

static ms_status run_loop(ms_world *w, ms_output *o, const ms_run_opts *op,
                          int fresh, int *interrupted, double before,
                          double t0)
{
    const ms_scenario *sc = w->sc;
    const int64_t steps = sc->run.steps, every = sc->output.every;
    ms_status st = MS_OK;
    if (o && fresh)
        st = ms_output_record(o, w);
    MS_CALL(all_ok(w, st));
    while (w->step < steps) {
        int stop = op->stop && *op->stop;
        if (w->ranks > 1)
            stop = ms_par_any(stop); /* a signal to any rank stops all */
        if (stop) {
            *interrupted = 1;
            break;
        }
        MS_CALL(ms_world_step(w));
        if (o)
            st = ms_output_events(o, w);
        if (st == MS_OK && o && (w->step % every == 0 || w->step == steps))
            st = ms_output_record(o, w);
        if (st == MS_OK && op->checkpoint_path && op->checkpoint_every > 0 &&
            w->step % op->checkpoint_every == 0 && w->step < steps)
            st = checkpoint(w, o, op, wall_now(before, t0));
        MS_CALL(all_ok(w, st));
        if (op->progress)
            op->progress(op->progress_ctx, w->step, steps);
    }
    if (*interrupted && op->checkpoint_path)
        MS_CALL(all_ok(w, checkpoint(w, o, op, wall_now(before, t0))));
    /* The last state is always written, also when interrupted (after the
     * checkpoint, which must not hold this extra record). */
    if (o && *interrupted && w->step % every != 0)
        MS_CALL(ms_output_record(o, w));
    return MS_OK;
}

ms_status ms_run_checkpoint_scenario(const char *ckpt, ms_scenario **sc,
                                     char *out, size_t out_size,
                                     int64_t *step)
{
    char *yaml;
    MS_CALL(ms_checkpoint_info(ckpt, &yaml, out, out_size, step));
    ms_status st = ms_scenario_load_string(yaml, ckpt, NULL, 0, sc);
    ms_free(yaml);
    return st;
}

ms_status ms_run(const ms_scenario *sc, const ms_run_opts *op,
                 ms_run_result *res)
{
    memset(res, 0, sizeof *res);
    double t0 = omp_get_wtime();
    ms_world *w;
    const int ranks = op->distributed ? ms_par_size() : 1;
    const int rank = op->distributed ? ms_par_rank() : 0;
    /* Setup is collective too; it fails alike on every rank (the same
     * scenario), but for memory, which one rank may lack alone. */
    ms_status cst = ms_world_create_slice(sc, op->threads, rank, ranks, &w);
    if (ranks > 1 && ms_par_any(cst != MS_OK)) {
        if (cst == MS_OK) {
            ms_world_destroy(&w);
            cst = MS_ERROR(MS_ENOMEM, "another rank of the run could not "
                           "set up (rank 0 says why, or that rank)");
        }
    }
    MS_CALL(cst);
    /* Rank 0 alone writes the run file. */
    const char *out_path = rank == 0 ? op->out_path : NULL;
    ms_output *o = NULL;
    ms_run_info info = {op->command, w->n_threads};
    ms_status st = MS_OK;
    double before = 0; /* wall time of the run before this process, s */
    if (op->restart_path) {
        before = ms_checkpoint_wall(op->restart_path);
        void *bytes = NULL;
        size_t n = 0;
        st = ms_checkpoint_load(op->restart_path, w, out_path ? &bytes : NULL,
                                &n);
        if (st == MS_OK && out_path) {
            if (!bytes || n == 0)
                st = MS_ERROR(MS_EINPUT, "%s: error: the checkpoint holds no "
                              "run file to continue", op->restart_path);
            else
                st = ms_output_resume(out_path, w, bytes, n, &o);
        }
        ms_free(bytes);
    } else if (out_path) {
        st = ms_output_open(out_path, w, &info, &o);
    }
    st = all_ok(w, st);
    int interrupted = 0;
    if (st == MS_OK)
        st = run_loop(w, o, op, !op->restart_path, &interrupted, before, t0);
    ms_status chk = MS_OK;
    if (st == MS_OK && op->check && !interrupted)
        chk = ms_world_check(w);
    res->n_targets = sc->n_targets;
    if (sc->n_targets) {
        double sim[256];
        double *v = op->targets_out ? op->targets_out : sim;
        if (op->targets_out || sc->n_targets <= 256) {
            ms_targets_results(w, v);
            for (int i = 0; i < sc->n_targets; i++)
                res->n_missed += !ms_target_pass(&sc->targets[i], v[i]);
        }
    }
    res->steps_done = w->step;
    res->interrupted = interrupted;
    res->consumers = w->N;
    res->wall_seconds = wall_now(before, t0);
    res->n_phases = ms_world_phase_count();
    for (int i = 0; i < res->n_phases && i < 16; i++) {
        res->phase_name[i] = ms_world_phase_name(i);
        res->phase_seconds[i] = ms_world_phase_seconds(w, i);
    }
    if (st == MS_OK && o) {
        const char *status = interrupted ? "interrupted"
                             : chk != MS_OK ? "check_failed"
                                            : "complete";
        /* Only a run that ended replaces an earlier result: an interrupted
         * one stays beside it as PATH.partial (with its checkpoint), so
         * stopping a re-run never costs the result of the run before. An
         * earlier interrupted file (what a --restart continues) is no
         * result and is replaced. */
        res->kept_partial = interrupted && !replaceable(out_path);
        st = ms_output_finish(&o, w, status, res->wall_seconds,
                              res->kept_partial);
    } else {
        ms_output_discard(&o);
    }
    if (ranks > 1) {
        /* Every rank learns whether rank 0 finished the file. */
        st = all_ok(w, st);
        res->kept_partial = ms_par_any(res->kept_partial);
    }
    ms_world_destroy(&w);
    if (st == MS_OK && !interrupted && op->checkpoint_path && rank == 0) {
        /* Finished: nothing to continue (also drop a checkpoint a crash
         * left half-written, and the slices of a distributed one). */
        char partial[4200];
        snprintf(partial, sizeof partial, "%s.partial", op->checkpoint_path);
        ms_checkpoint_remove_slices(op->checkpoint_path);
        remove(op->checkpoint_path);
        remove(partial);
    }
    if (st != MS_OK)
        return st;
    if (chk != MS_OK)
        return chk;
    if (interrupted)
        return MS_ERROR(MS_EINTERRUPT, "interrupted after %lld of %lld steps",
                        (long long)res->steps_done, (long long)sc->run.steps);
    return MS_OK;
}

void ms_targets_print(const ms_scenario *sc, const double *sim, FILE *out)
{
    if (!sc->n_targets)
        return;
    fprintf(out, "%-44s %12s %12s %10s  %s\n", "target (figure)", "expected",
            "simulated", "tolerance", "");
    for (int i = 0; i < sc->n_targets; i++) {
        const ms_target *t = &sc->targets[i];
        int pass = ms_target_pass(t, sim[i]);
        const char *verdict = isnan(sim[i]) ? "not reached" : pass ? "ok" : "MISS";
        if (isnan(t->expected)) { /* a bound: show it in place of expected */
            char lo[16] = "", hi[16] = "", b[40];
            if (t->lo > -HUGE_VAL)
                snprintf(lo, sizeof lo, ">= %.4g", t->lo);
            if (t->hi < HUGE_VAL)
                snprintf(hi, sizeof hi, "<= %.4g", t->hi);
            snprintf(b, sizeof b, "%s%s%s", lo, lo[0] && hi[0] ? ", " : "", hi);
            fprintf(out, "%-44.44s %12s %12.4g %10s  %s\n", t->figure, b,
                    sim[i], "bound", verdict);
        } else {
            fprintf(out, "%-44.44s %12.4g %12.4g %10.3g  %s\n", t->figure,
                    t->expected, sim[i], t->tolerance, verdict);
        }
    }
}
