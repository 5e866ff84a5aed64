/*
 * checkpoint.c: the full state of a run in one file, to continue it later.
 *
 * A checkpoint holds every array of the world that changes during a run
 * (consumers' choices, counts, firms, funds, stakes, learning, targets
 * measured so far), the step counter, the resolved scenario, and a copy of
 * the run file as written up to that step. Random numbers need nothing:
 * they are functions of the step. Traits and other setup are rebuilt from
 * the scenario, then the saved arrays overwrite the world. So a run
 * continued from a checkpoint writes the same bits as one never stopped.
 *
 * The file is written as PATH.partial and renamed (ms_h5_create), so a
 * checkpoint is either the previous one or the new one, never half of
 * each. Arrays are stored as raw bytes: a checkpoint is for the same
 * build on the same kind of machine (its attributes say which).
 */
#include "core/ms_checkpoint.h"

#include "core/world_int.h"
#include "io/ms_h5.h"
#include "marketsim/ms_alloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CKPT_VERSION 2

typedef struct arr {
    const char *name;
    void *p;
    size_t bytes;
} arr;

/* Every array that changes during a run. */
static int arrays(const ms_world *wc, arr *a)
{
    ms_world *w = (ms_world *)wc;
    const size_t M = (size_t)w->M, C = (size_t)w->C, F = (size_t)w->F;
    int n = 0;
#define A(x, count) a[n++] = (arr){#x, (void *)w->x, sizeof *w->x * (count)}
    a[n++] = (arr){"choice", w->choice, ms_choice_bytes(w)}; /* cw bytes each */
    A(adopters, M * C);
    A(users, M * C * F);
    A(name_buf, F * MS_NAME_MAX);
    A(home, F);
    A(alive, F);
    A(owner, F);
    A(cash, F);
    A(mu, F);
    A(quality, F * C);
    A(present, F * M);
    A(loc, F * M);
    A(prominence, F);
    A(launched, F * C * M);
    A(revenue, F);
    A(rev_m, F * M);
    A(costs, F);
    A(spend, F);
    A(inflow, F);
    A(outflow, F);
    A(cash0, F);
    A(flow_sum, F);
    A(flow_abs, F);
    A(value, F);
    A(profit, F);
    A(pa, (size_t)w->cap_partners);
    A(pb, (size_t)w->cap_partners);
    A(hhi, M * C);
    A(foreign_share, M * C);
    A(group_revenue, F);
    A(abroad_share, F);
    A(weights, F * MS_N_STRATEGIES);
    A(beta, F);
    A(bold, F);
    A(learn, F);
    A(re_q, F * MS_RE_MENU);
    A(re_used, F);
    A(v_prev, F);
    A(growth, F);
    A(neg_steps, F);
    A(loss_steps, F);
    A(birth, F);
    A(entry_fund, F);
    A(acq_fund, F);
    A(inv_fund, F);
    A(blocked_target, F);
    A(blocked_until, F);
    A(st_inv, (size_t)w->cap_stakes);
    A(st_tgt, (size_t)w->cap_stakes);
    A(st_sigma, (size_t)w->cap_stakes);
    A(tnode_val, (size_t)w->n_tnodes);
#undef A
    return n;
}

ms_status ms_checkpoint_write(const char *path, const ms_world *w,
                              const void *runfile, size_t runfile_bytes,
                              const char *out_path, double wall_seconds)
{
    ms_h5 *h;
    MS_CALL(ms_h5_create(path, &h));
    arr a[64];
    int n = arrays(w, a);
    char *yaml = NULL;
    ms_status st = ms_h5_attr_str(h, "/", "title", "marketsim checkpoint");
    if (st == MS_OK) st = ms_h5_attr_i64(h, "/", "checkpoint_version", CKPT_VERSION);
    if (st == MS_OK) st = ms_h5_attr_str(h, "/", "git_commit", MS_GIT_COMMIT);
    if (st == MS_OK) st = ms_h5_attr_i64(h, "/", "step", w->step);
    if (st == MS_OK) st = ms_h5_attr_i64(h, "/", "consumers", (int64_t)w->N);
    if (st == MS_OK) st = ms_h5_attr_i64(h, "/", "firm_slots", w->F);
    if (st == MS_OK) st = ms_h5_attr_i64(h, "/", "sizeof_long", (int64_t)sizeof(long));
    if (st == MS_OK) st = ms_h5_attr_str(h, "/", "output", out_path ? out_path : "");
    if (st == MS_OK) st = ms_h5_attr_f64(h, "/", "wall_seconds", wall_seconds);
    int64_t ints[7] = {w->n_firms, w->entrants, w->entrants_dropped,
                       w->ev_dropped, w->n_partners, w->n_stakes, w->step};
    if (st == MS_OK) st = ms_h5_bytes(h, "/counters", ints, sizeof ints);
    if (st == MS_OK) st = ms_scenario_to_yaml(w->sc, &yaml);
    if (st == MS_OK) st = ms_h5_text(h, "/scenario", yaml, "the resolved scenario");
    ms_free(yaml);
    if (st == MS_OK) st = ms_h5_group(h, "/state");
    for (int i = 0; i < n && st == MS_OK; i++) {
        char p[128];
        snprintf(p, sizeof p, "/state/%s", a[i].name);
        st = ms_h5_bytes(h, p, a[i].p, a[i].bytes);
    }
    if (st == MS_OK && runfile)
        st = ms_h5_bytes(h, "/runfile", runfile, runfile_bytes);
    if (st != MS_OK) {
        ms_h5_close(&h, 0);
        return st;
    }
    return ms_h5_close(&h, 1);
}

static ms_status open_ckpt(const char *path, ms_h5 **h)
{
    MS_CALL(ms_h5_open_ro(path, h));
    char title[64], commit[64];
    if (ms_h5_attr_read(*h, "/", "title", title, sizeof title) != MS_OK ||
        strcmp(title, "marketsim checkpoint") != 0) {
        ms_h5_close(h, 1);
        return MS_ERROR(MS_EINPUT, "%s: error: not a marketsim checkpoint "
                        "(the checkpoint of OUT.h5 is OUT.h5.ckpt)", path);
    }
    if (ms_h5_attr_read(*h, "/", "git_commit", commit, sizeof commit) != MS_OK ||
        strcmp(commit, MS_GIT_COMMIT) != 0) {
        ms_h5_close(h, 1);
        return MS_ERROR(MS_EINPUT, "%s: error: written by marketsim commit %s, "
                        "this is %s; continue it with that build (state is "
                        "stored as the build lays it out)", path, commit,
                        MS_GIT_COMMIT);
    }
    return MS_OK;
}

ms_status ms_checkpoint_info(const char *path, char **scenario_yaml,
                             char *out_path, size_t out_size, int64_t *step)
{
    ms_h5 *h;
    MS_CALL(open_ckpt(path, &h));
    char buf[64];
    ms_status st = ms_h5_text_read(h, "/scenario", scenario_yaml);
    if (st == MS_OK)
        st = ms_h5_attr_read(h, "/", "output", out_path, out_size);
    if (st == MS_OK)
        st = ms_h5_attr_read(h, "/", "step", buf, sizeof buf);
    if (st == MS_OK)
        *step = strtoll(buf, NULL, 10);
    ms_h5_close(&h, 1);
    return st;
}

ms_status ms_checkpoint_load(const char *path, ms_world *w, void **runfile,
                             size_t *runfile_bytes)
{
    ms_h5 *h;
    MS_CALL(open_ckpt(path, &h));
    char buf[64];
    ms_status st = ms_h5_attr_read(h, "/", "consumers", buf, sizeof buf);
    if (st == MS_OK && strtoull(buf, NULL, 10) != w->N)
        st = MS_ERROR(MS_EINPUT, "%s: error: the checkpoint has %s consumer "
                      "agents, the scenario %u", path, buf, (unsigned)w->N);
    arr a[64];
    int n = arrays(w, a);
    for (int i = 0; i < n && st == MS_OK; i++) {
        char p[128];
        void *data;
        size_t len;
        snprintf(p, sizeof p, "/state/%s", a[i].name);
        st = ms_h5_bytes_read(h, p, &data, &len);
        if (st == MS_OK && len != a[i].bytes)
            st = MS_ERROR(MS_EINPUT, "%s: error: %s has %zu bytes, the world "
                          "%zu", path, a[i].name, len, a[i].bytes);
        if (st == MS_OK)
            memcpy(a[i].p, data, len);
        ms_free(data);
    }
    void *cdata = NULL;
    size_t clen = 0;
    if (st == MS_OK)
        st = ms_h5_bytes_read(h, "/counters", &cdata, &clen);
    if (st == MS_OK && clen == 7 * sizeof(int64_t)) {
        int64_t c[7];
        memcpy(c, cdata, sizeof c);
        w->n_firms = (int)c[0];
        w->entrants = c[1];
        w->entrants_dropped = c[2];
        w->ev_dropped = c[3];
        w->n_partners = (int)c[4];
        w->n_stakes = (int)c[5];
        w->step = c[6];
    } else if (st == MS_OK) {
        st = MS_ERROR(MS_EINPUT, "%s: error: bad counters", path);
    }
    ms_free(cdata);
    /* Names point into name_buf, which was overwritten in place. */
    *runfile = NULL;
    *runfile_bytes = 0;
    if (st == MS_OK && runfile)
        st = ms_h5_bytes_read(h, "/runfile", runfile, runfile_bytes);
    ms_h5_close(&h, 1);
    return st;
}

double ms_checkpoint_wall(const char *path)
{
    ms_h5 *h;
    if (ms_h5_open_ro(path, &h) != MS_OK) {
        ms_error_clear();
        return 0;
    }
    char buf[64];
    double wall = 0;
    if (ms_h5_attr_read(h, "/", "wall_seconds", buf, sizeof buf) == MS_OK)
        wall = strtod(buf, NULL);
    ms_error_clear();
    ms_h5_close(&h, 1);
    return wall > 0 ? wall : 0;
}
