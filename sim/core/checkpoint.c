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
 *
 * A checkpoint read back is not trusted: every dataset must have exactly
 * the bytes the world has for it, each carries an FNV-1a checksum of its
 * bytes (attribute `fnv1a64`) that must match, and every value that
 * indexes something (firms, owners, homes, partners, stakes, choices) or
 * counts something (firms, steps, users, adopters) is range-checked, then
 * the invariants of --check must hold, before the run continues. So a
 * damaged or crafted checkpoint is refused with a message, never run.
 *
 * A distributed run (one run over the ranks of mpirun) keeps its
 * consumers in slices: each rank writes the choices of its own consumers
 * to PATH.stepS.sliceRofK (atomically, as above), then, once every rank
 * has, rank 0 writes PATH, the manifest: everything replicated (firms,
 * counts, targets, the run file) and the table /slices of each slice's
 * consumers [lo, hi). The slice files carry the step in their name, so
 * until the new manifest replaces the old one the old slices are still
 * there, and a checkpoint stays whole whenever a rank dies; rank 0 removes
 * the old slices after. A run continues from either kind with any number
 * of ranks: each rank reads, from whichever slices hold them, the
 * consumers it now holds.
 *
 * Version 3 added the checksums and the HDF5 1.10 format (checksummed
 * object headers, so HDF5 itself refuses a damaged attribute or string
 * reference); a checkpoint of an earlier version was written by an
 * earlier build, which alone can continue it.
 */
#include "core/ms_checkpoint.h"

#include "core/world_int.h"
#include "io/ms_h5.h"
#include "io/ms_h5read.h"
#include "marketsim/ms_alloc.h"
#include "par/par.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* 3: every dataset carries its FNV-1a checksum. */
#define CKPT_VERSION 3
#define N_COUNTERS 7

/* FNV-1a, 64 bits, of n bytes (tests/integration/ckpt_craft.py has the
 * same function, to craft checkpoints whose checksums match). */
static uint64_t fnv1a64(const void *data, size_t n)
{
    const unsigned char *p = data;
    uint64_t h = 14695981039346656037u;
    for (size_t i = 0; i < n; i++) {
        h ^= p[i];
        h *= 1099511628211u;
    }
    return h;
}

/* A state array and its checksum attribute. */
static ms_status put_bytes(ms_h5 *h, const char *path, const void *data,
                           size_t n)
{
    MS_CALL(ms_h5_bytes(h, path, data, n));
    char hex[32];
    snprintf(hex, sizeof hex, "%016" PRIx64, fnv1a64(data, n));
    return ms_h5_attr_str(h, path, "fnv1a64", hex);
}

/* Read exactly n bytes of path into data and verify their checksum. */
static ms_status get_bytes(ms_h5 *h, const char *file, const char *path,
                           void *data, size_t n)
{
    MS_CALL(ms_h5_bytes_read_into(h, path, data, n));
    char hex[32], want[32];
    MS_CALL(ms_h5_attr_read(h, path, "fnv1a64", hex, sizeof hex));
    snprintf(want, sizeof want, "%016" PRIx64, fnv1a64(data, n));
    if (strcmp(hex, want) != 0)
        return MS_ERROR(MS_EINPUT, "%s: error: %s: expected bytes with "
                        "checksum %s, found %s (the checkpoint is damaged: "
                        "continue from an earlier one or rerun the "
                        "scenario)", file, path, hex, want);
    return MS_OK;
}

typedef struct arr {
    const char *name;
    void *p;
    size_t bytes;
} arr;

/* Every array that changes during a run. */
static int arrays(const ms_world *wc, arr *a, int with_choice)
{
    ms_world *w = (ms_world *)wc;
    const size_t M = (size_t)w->M, C = (size_t)w->C, F = (size_t)w->F;
    int n = 0;
#define A(x, count) a[n++] = (arr){#x, (void *)w->x, sizeof *w->x * (count)}
    if (with_choice) /* else in slices (slice_write) */
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

/* PATH.stepS.sliceRofK: the choices of slice r (0-based) of k. */
static void slice_name(char *buf, size_t size, const char *path, int64_t step,
                       int r, int k)
{
    snprintf(buf, size, "%s.step%" PRId64 ".slice%dof%d", path, step, r + 1,
             k);
}

static ms_status slice_write(const char *path, const ms_world *w)
{
    char name[4300];
    slice_name(name, sizeof name, path, w->step, w->rank, w->ranks);
    ms_h5 *h;
    MS_CALL(ms_h5_create_swmr(name, &h));
    ms_status st = ms_h5_attr_str(h, "/", "title",
                                  "marketsim checkpoint slice");
    if (st == MS_OK) st = ms_h5_attr_str(h, "/", "git_commit", MS_GIT_COMMIT);
    if (st == MS_OK) st = ms_h5_attr_i64(h, "/", "step", w->step);
    if (st == MS_OK) st = ms_h5_attr_i64(h, "/", "consumers", (int64_t)w->N);
    if (st == MS_OK) st = ms_h5_attr_i64(h, "/", "lo", (int64_t)w->c_lo);
    if (st == MS_OK) st = ms_h5_attr_i64(h, "/", "hi", (int64_t)w->c_hi);
    if (st == MS_OK) st = put_bytes(h, "/choice", w->choice, ms_choice_bytes(w));
    if (st != MS_OK) {
        ms_h5_close(&h, 0);
        return st;
    }
    return ms_h5_close(&h, 1);
}

/* The slice table of a manifest: k and each slice's [lo, hi) (caller
 * frees *tab); k = 0 for a checkpoint of one process (choices inside). */
static ms_status read_slices(ms_h5 *h, const char *file, const ms_world *w,
                             int *k, int64_t **tab)
{
    *k = 0;
    *tab = NULL;
    if (!ms_h5_exists(h, "/slices"))
        return MS_OK;
    int64_t v;
    MS_CALL(ms_h5r_attr_i64(ms_h5_file_id(h), file, "/", "slices", 1,
                            1 << 24, &v));
    int64_t *t = ms_malloc((size_t)v * 2 * sizeof *t);
    if (!t)
        return MS_ERROR(MS_ENOMEM, "out of memory reading %s", file);
    ms_status st = get_bytes(h, file, "/slices", t, (size_t)v * 2 * sizeof *t);
    /* Contiguous, in order, covering every consumer. */
    for (int64_t r = 0; r < v && st == MS_OK; r++)
        if (t[2 * r] != (r ? t[2 * r - 1] : 0) || t[2 * r + 1] < t[2 * r] ||
            (r == v - 1 && t[2 * r + 1] != (int64_t)w->N))
            st = MS_ERROR(MS_EINPUT, "%s: error: /slices: expected slices "
                          "that follow each other over consumers 0..%" PRIu64 ", "
                          "found slice %" PRId64 " at [%" PRId64 ", %" PRId64
                          ")", file, w->N, r + 1, t[2 * r],
                          t[2 * r + 1]);
    if (st != MS_OK) {
        ms_free(t);
        return st;
    }
    *k = (int)v;
    *tab = t;
    return MS_OK;
}

void ms_checkpoint_remove_slices(const char *path)
{
    struct stat sb;
    if (stat(path, &sb) != 0) /* no checkpoint: nothing to open */
        return;
    ms_h5 *h;
    if (ms_h5_open_ro(path, &h) != MS_OK) {
        ms_error_clear();
        return;
    }
    int64_t step = -1, k = 0;
    int64_t fid = ms_h5_file_id(h);
    if (ms_h5_exists(h, "/slices") &&
        ms_h5r_attr_i64(fid, path, "/", "slices", 1, 1 << 24, &k) == MS_OK &&
        ms_h5r_attr_i64(fid, path, "/", "step", 0, INT64_MAX, &step) ==
            MS_OK) {
        for (int r = 0; r < (int)k; r++) {
            char name[4300];
            slice_name(name, sizeof name, path, step, r, (int)k);
            remove(name);
        }
    }
    ms_error_clear();
    ms_h5_close(&h, 1);
}

ms_status ms_checkpoint_write(const char *path, const ms_world *w,
                              const void *runfile, size_t runfile_bytes,
                              const char *out_path, double wall_seconds)
{
    if (w->ranks > 1) {
        /* Every slice first; the manifest only once all are safe. */
        ms_status sst = slice_write(path, w);
        if (ms_par_any(sst != MS_OK))
            return sst != MS_OK ? sst
                                : MS_ERROR(MS_EIO, "another rank could not "
                                           "write its checkpoint slice");
        if (w->rank != 0)
            return MS_OK;
    }
    /* The slices of the manifest this one replaces, removed after it. */
    char old[4300] = "";
    int old_k = 0;
    int64_t old_step = -1;
    if (w->ranks > 1) {
        ms_h5 *oh;
        if (ms_h5_open_ro(path, &oh) == MS_OK) {
            int64_t fid = ms_h5_file_id(oh), k = 0;
            if (ms_h5_exists(oh, "/slices") &&
                ms_h5r_attr_i64(fid, path, "/", "slices", 1, 1 << 24, &k) ==
                    MS_OK &&
                ms_h5r_attr_i64(fid, path, "/", "step", 0, INT64_MAX,
                                &old_step) == MS_OK)
                old_k = (int)k;
            ms_h5_close(&oh, 1);
        }
        ms_error_clear();
        snprintf(old, sizeof old, "%s", path);
    }
    ms_h5 *h;
    /* The HDF5 1.10 format: its object headers, which hold every
     * attribute and the references to the strings, carry checksums that
     * HDF5 verifies when it reads them. */
    MS_CALL(ms_h5_create_swmr(path, &h));
    arr a[64];
    int n = arrays(w, a, w->ranks < 2);
    char *yaml = NULL;
    ms_status st = ms_h5_attr_str(h, "/", "title", "marketsim checkpoint");
    if (st == MS_OK) st = ms_h5_attr_i64(h, "/", "checkpoint_version", CKPT_VERSION);
    if (st == MS_OK) st = ms_h5_attr_str(h, "/", "git_commit", MS_GIT_COMMIT);
    if (st == MS_OK) st = ms_h5_attr_i64(h, "/", "step", w->step);
    if (st == MS_OK) st = ms_h5_attr_i64(h, "/", "consumers", (int64_t)w->N);
    if (st == MS_OK) st = ms_h5_attr_i64(h, "/", "first_consumer_id", (int64_t)w->id0);
    if (st == MS_OK) st = ms_h5_attr_i64(h, "/", "firm_slots", w->F);
    if (st == MS_OK) st = ms_h5_attr_i64(h, "/", "sizeof_long", (int64_t)sizeof(long));
    if (st == MS_OK) st = ms_h5_attr_str(h, "/", "output", out_path ? out_path : "");
    if (st == MS_OK) st = ms_h5_attr_f64(h, "/", "wall_seconds", wall_seconds);
    int64_t ints[N_COUNTERS] = {w->n_firms, w->entrants, w->entrants_dropped,
                       w->ev_dropped, w->n_partners, w->n_stakes, w->step};
    if (st == MS_OK) st = put_bytes(h, "/counters", ints, sizeof ints);
    if (st == MS_OK) st = ms_scenario_to_yaml(w->sc, &yaml);
    if (st == MS_OK) st = ms_h5_text(h, "/scenario", yaml, "the resolved scenario");
    char hex[32];
    snprintf(hex, sizeof hex, "%016" PRIx64, yaml ? fnv1a64(yaml, strlen(yaml)) : 0);
    if (st == MS_OK) st = ms_h5_attr_str(h, "/scenario", "fnv1a64", hex);
    ms_free(yaml);
    if (st == MS_OK) st = ms_h5_group(h, "/state");
    for (int i = 0; i < n && st == MS_OK; i++) {
        char p[128];
        snprintf(p, sizeof p, "/state/%s", a[i].name);
        st = put_bytes(h, p, a[i].p, a[i].bytes);
    }
    if (st == MS_OK && runfile)
        st = put_bytes(h, "/runfile", runfile, runfile_bytes);
    if (st == MS_OK && w->ranks > 1) {
        int64_t *tab = ms_malloc((size_t)w->ranks * 2 * sizeof *tab);
        if (!tab)
            st = MS_ERROR(MS_ENOMEM, "out of memory writing %s", path);
        for (int r = 0; st == MS_OK && r < w->ranks; r++) {
            size_t lo, hi;
            ms_world_slice(w, r, w->ranks, &lo, &hi);
            tab[2 * r] = (int64_t)lo;
            tab[2 * r + 1] = (int64_t)hi;
        }
        if (st == MS_OK)
            st = ms_h5_attr_i64(h, "/", "slices", w->ranks);
        if (st == MS_OK)
            st = put_bytes(h, "/slices", tab,
                           (size_t)w->ranks * 2 * sizeof *tab);
        ms_free(tab);
    }
    if (st != MS_OK) {
        ms_h5_close(&h, 0);
        return st;
    }
    MS_CALL(ms_h5_close(&h, 1));
    /* The manifest now names the new slices: the old ones go. */
    for (int r = 0; r < old_k; r++)
        if (old_step != w->step || old_k != w->ranks) {
            char name[4300];
            slice_name(name, sizeof name, old, old_step, r, old_k);
            remove(name);
        }
    return MS_OK;
}

/* Fill this process's choices from the slices of a manifest that holds
 * them: each rank reads the slices that overlap its consumers, verifies
 * each, and copies the overlap category by category. */
static ms_status slices_read(const char *path, ms_world *w, int64_t step,
                             int k, const int64_t *tab)
{
    const size_t cw = (size_t)w->cw, C = (size_t)w->C;
    const size_t n = w->c_hi - w->c_lo;
    ms_status st = MS_OK;
    for (int r = 0; r < k && st == MS_OK; r++) {
        size_t lo = (size_t)tab[2 * r], hi = (size_t)tab[2 * r + 1];
        size_t a = lo > w->c_lo ? lo : w->c_lo, b = hi < w->c_hi ? hi : w->c_hi;
        if (a >= b)
            continue;
        char name[4300];
        slice_name(name, sizeof name, path, step, r, k);
        ms_h5 *h;
        st = ms_h5_open_ro(name, &h);
        if (st != MS_OK) {
            ms_error_clear();
            st = MS_ERROR(MS_EINPUT, "%s: error: slice %d of %d of the "
                          "checkpoint (%s) cannot be read: the checkpoint "
                          "of a distributed run is the manifest and one "
                          "file per slice, all in one folder", path, r + 1,
                          k, name);
            break;
        }
        int64_t fid = ms_h5_file_id(h), v;
        char title[64] = "", commit[64] = "";
        if (ms_h5_attr_read(h, "/", "title", title, sizeof title) != MS_OK ||
            strcmp(title, "marketsim checkpoint slice") != 0 ||
            ms_h5_attr_read(h, "/", "git_commit", commit, sizeof commit) !=
                MS_OK || strcmp(commit, MS_GIT_COMMIT) != 0) {
            ms_error_clear();
            st = MS_ERROR(MS_EINPUT, "%s: error: not a slice of this "
                          "checkpoint written by this build (%s)", name,
                          MS_GIT_COMMIT);
        }
        if (st == MS_OK)
            st = ms_h5r_attr_i64(fid, name, "/", "step", step, step, &v);
        if (st == MS_OK)
            st = ms_h5r_attr_i64(fid, name, "/", "consumers", w->N, w->N, &v);
        if (st == MS_OK)
            st = ms_h5r_attr_i64(fid, name, "/", "lo", (int64_t)lo,
                                 (int64_t)lo, &v);
        if (st == MS_OK)
            st = ms_h5r_attr_i64(fid, name, "/", "hi", (int64_t)hi,
                                 (int64_t)hi, &v);
        size_t bytes = C * (hi - lo) * cw;
        uint8_t *buf = st == MS_OK ? ms_malloc(bytes ? bytes : 1) : NULL;
        if (st == MS_OK && !buf)
            st = MS_ERROR(MS_ENOMEM, "out of memory reading %s", name);
        if (st == MS_OK)
            st = get_bytes(h, name, "/choice", buf, bytes);
        for (size_t c = 0; st == MS_OK && c < C; c++)
            memcpy(w->choice + (c * n + (a - w->c_lo)) * cw,
                   buf + (c * (hi - lo) + (a - lo)) * cw, (b - a) * cw);
        ms_free(buf);
        ms_h5_close(&h, 1);
    }
    return st;
}

/* A checkpoint of one process read into a slice of a distributed run:
 * the part of /state/choice this rank holds. */
static ms_status whole_read(ms_h5 *h, const char *path, ms_world *w)
{
    const size_t cw = (size_t)w->cw, C = (size_t)w->C, N = w->N;
    const size_t n = w->c_hi - w->c_lo;
    size_t bytes = C * N * cw;
    uint8_t *buf = ms_malloc(bytes ? bytes : 1);
    if (!buf)
        return MS_ERROR(MS_ENOMEM, "out of memory reading %s", path);
    ms_status st = get_bytes(h, path, "/state/choice", buf, bytes);
    for (size_t c = 0; st == MS_OK && c < C; c++)
        memcpy(w->choice + c * n * cw, buf + (c * N + w->c_lo) * cw, n * cw);
    ms_free(buf);
    return st;
}

static ms_status open_ckpt(const char *path, ms_h5 **h)
{
    MS_CALL(ms_h5_open_ro(path, h));
    int sb = ms_h5r_superblock_version(ms_h5_file_id(*h));
    if (sb < 2) {
        ms_h5_close(h, 1);
        return MS_ERROR(MS_EINPUT, "%s: error: expected a checkpoint in the "
                        "HDF5 1.10 format (superblock version 2 or more), "
                        "found superblock version %d (not a marketsim "
                        "checkpoint, or a damaged one)", path, sb);
    }
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
    int64_t version;
    ms_status st = ms_h5r_attr_i64(ms_h5_file_id(*h), path, "/",
                                   "checkpoint_version", 0, INT32_MAX,
                                   &version);
    if (st == MS_OK && version != CKPT_VERSION)
        st = MS_ERROR(MS_EINPUT, "%s: error: attribute checkpoint_version "
                      "of /: expected %d, found %" PRId64 " (continue it "
                      "with the build that wrote it, or rerun the scenario)",
                      path, CKPT_VERSION, version);
    if (st != MS_OK)
        ms_h5_close(h, 1);
    return st;
}

ms_status ms_checkpoint_info(const char *path, char **scenario_yaml,
                             char *out_path, size_t out_size, int64_t *step)
{
    ms_h5 *h;
    MS_CALL(open_ckpt(path, &h));
    ms_status st = ms_h5_text_read(h, "/scenario", scenario_yaml);
    char hex[32], want[32];
    if (st == MS_OK)
        st = ms_h5_attr_read(h, "/scenario", "fnv1a64", hex, sizeof hex);
    if (st == MS_OK) {
        snprintf(want, sizeof want, "%016" PRIx64,
                 fnv1a64(*scenario_yaml, strlen(*scenario_yaml)));
        if (strcmp(hex, want) != 0)
            st = MS_ERROR(MS_EINPUT, "%s: error: /scenario: expected text "
                          "with checksum %s, found %s (the checkpoint is "
                          "damaged: continue from an earlier one or rerun "
                          "the scenario)", path, hex, want);
    }
    if (st == MS_OK)
        st = ms_h5_attr_read(h, "/", "output", out_path, out_size);
    if (st == MS_OK)
        st = ms_h5r_attr_i64(ms_h5_file_id(h), path, "/", "step", 0,
                             INT64_MAX, step);
    if (st != MS_OK) {
        ms_free(*scenario_yaml);
        *scenario_yaml = NULL;
    }
    ms_h5_close(&h, 1);
    return st;
}

/* ---- checks of a state read back ---- */

#define BAD(...) MS_ERROR(MS_EINPUT, __VA_ARGS__)

/* Counters against the world's capacities and the scenario. */
static ms_status check_counters(const ms_world *w, const char *file,
                                const int64_t *c)
{
    const char *what[N_COUNTERS] = {"firms", "entrants", "entrants dropped",
                                    "events dropped", "partnerships",
                                    "stakes", "step"};
    int64_t lo[N_COUNTERS] = {w->sc->n_firms, 0, 0, 0, 0, 0, 0};
    int64_t hi[N_COUNTERS] = {w->F, INT64_MAX, INT64_MAX, INT64_MAX,
                              w->cap_partners, w->cap_stakes,
                              w->sc->run.steps};
    for (int i = 0; i < N_COUNTERS; i++)
        if (c[i] < lo[i] || c[i] > hi[i])
            return BAD("%s: error: /counters: expected %s in %" PRId64
                       "..%" PRId64 ", found %" PRId64, file, what[i], lo[i],
                       hi[i], c[i]);
    return MS_OK;
}

/* Firm arrays: indices into markets and firms, flags, names. */
static ms_status check_firms(const ms_world *w, const char *file)
{
    const int M = w->M, C = w->C, F = w->F, nf = w->n_firms;
    for (int f = 0; f < F; f++) {
        const char *nm = w->name_buf + (size_t)f * MS_NAME_MAX;
        if (memchr(nm, '\0', MS_NAME_MAX) == NULL)
            return BAD("%s: error: /state/name_buf: expected names of at "
                       "most %d bytes, found firm %d's unterminated", file,
                       MS_NAME_MAX - 1, f);
        if (w->home[f] < 0 || w->home[f] >= M)
            return BAD("%s: error: /state/home: expected markets 0..%d, "
                       "found %d for firm %d", file, M - 1, w->home[f], f);
        if (f < nf ? w->owner[f] < 0 || w->owner[f] >= nf : w->owner[f] != f)
            return BAD("%s: error: /state/owner: expected %s, found %d for "
                       "firm %d", file, f < nf ? "a firm that exists"
                                               : "an unused slot to own itself",
                       w->owner[f], f);
        if (w->alive[f] != 0 && w->alive[f] != 1)
            return BAD("%s: error: /state/alive: expected 0 or 1, found %d "
                       "for firm %d", file, w->alive[f], f);
        if (w->learn[f] < MS_LEARN_FIXED || w->learn[f] > MS_LEARN_IMITATE)
            return BAD("%s: error: /state/learn: expected %d..%d, found %d "
                       "for firm %d", file, MS_LEARN_FIXED, MS_LEARN_IMITATE,
                       w->learn[f], f);
        if (w->re_used[f] < -1 || w->re_used[f] >= MS_RE_MENU)
            return BAD("%s: error: /state/re_used: expected -1..%d, found %d "
                       "for firm %d", file, MS_RE_MENU - 1, w->re_used[f], f);
        if (w->blocked_target[f] < -1 || w->blocked_target[f] >= F)
            return BAD("%s: error: /state/blocked_target: expected -1..%d, "
                       "found %d for firm %d", file, F - 1,
                       w->blocked_target[f], f);
        if (w->birth[f] < 0 || w->birth[f] > w->step)
            return BAD("%s: error: /state/birth: expected steps 0..%" PRId64
                       ", found %" PRId64 " for firm %d", file, w->step,
                       w->birth[f], f);
        if (w->neg_steps[f] < 0 || w->loss_steps[f] < 0)
            return BAD("%s: error: /state/neg_steps, loss_steps: expected "
                       "counts of steps, found %d and %d for firm %d", file,
                       w->neg_steps[f], w->loss_steps[f], f);
        for (int m = 0; m < M; m++) {
            double p = w->present[(size_t)f * M + m];
            if (p != 0 && p != 1)
                return BAD("%s: error: /state/present: expected 0 or 1, "
                           "found %g for firm %d", file, p, f);
            for (int c = 0; c < C; c++)
                if (w->launched[((size_t)f * C + c) * M + m] > 1)
                    return BAD("%s: error: /state/launched: expected 0 or "
                               "1, found %d for firm %d", file,
                               w->launched[((size_t)f * C + c) * M + m], f);
        }
    }
    for (int i = 0; i < w->n_partners; i++)
        if (w->pa[i] < 0 || w->pa[i] >= nf || w->pb[i] < 0 || w->pb[i] >= nf)
            return BAD("%s: error: /state/pa, pb: expected firms 0..%d, "
                       "found partnership %d of %d and %d", file, nf - 1, i,
                       w->pa[i], w->pb[i]);
    for (int i = 0; i < w->n_stakes; i++)
        if (w->st_inv[i] < 0 || w->st_inv[i] >= nf || w->st_tgt[i] < 0 ||
            w->st_tgt[i] >= nf || !(w->st_sigma[i] >= 0 &&
                                    w->st_sigma[i] <= 1))
            return BAD("%s: error: /state/st_inv, st_tgt, st_sigma: expected "
                       "firms 0..%d and a share in 0..1, found stake %d of "
                       "%d in %d, %g", file, nf - 1, i, w->st_inv[i],
                       w->st_tgt[i], w->st_sigma[i]);
    return MS_OK;
}

/* Consumers: every choice value names a firm that exists (or none, or
 * "cannot adopt"), no more potential adopters than the ceiling allows,
 * and the user counts equal a fresh count of the choices (which also
 * bounds them by the consumers). */
static ms_status check_consumers(const ms_world *w, const char *file)
{
    const int M = w->M, C = w->C, F = w->F, nf = w->n_firms;
    /* Per (market, category): F + 1 tallies of choice values and the
     * potential adopters; one more for values naming no firm. Counted
     * over this process's consumers, then summed over the ranks. */
    const size_t per = (size_t)F + 2, rows = (size_t)M * C * per + 1;
    int64_t *tally = ms_calloc(rows, sizeof *tally);
    if (!tally)
        return MS_ERROR(MS_ENOMEM, "out of memory checking %s", file);
    ms_status st = MS_OK;
    unsigned bad_v = 0;
    size_t bad_i = 0;
    for (int m = 0; m < M; m++) {
        size_t lo, hi;
        ms_world_local(w, m, &lo, &hi);
        for (int c = 0; c < C; c++) {
            int64_t *t = tally + ((size_t)m * C + c) * per;
            for (size_t i = lo; i < hi; i++) {
                unsigned v = ms_choice_get(w, c, i);
                if (v == MS_NOPOT)
                    continue;
                t[F + 1]++;
                if (v > (unsigned)nf) {
                    if (!tally[rows - 1]) {
                        bad_v = v;
                        bad_i = i;
                    }
                    tally[rows - 1]++;
                    continue;
                }
                t[v]++;
            }
        }
    }
    int bad_here = tally[rows - 1] > 0;
    ms_world_sum_i64(w, tally, rows);
    if (tally[rows - 1] > 0)
        st = bad_here ? BAD("%s: error: /state/choice: expected firms "
                            "1..%d (or 0, none), found %u for consumer %zu",
                            file, nf, bad_v, bad_i)
                      : BAD("%s: error: /state/choice: expected firms 1..%d "
                            "(or 0, none), found %" PRId64 " other values "
                            "(in the slice of another rank)", file, nf,
                            tally[rows - 1]);
    for (int m = 0; m < M && st == MS_OK; m++)
        for (int c = 0; c < C && st == MS_OK; c++) {
            size_t mc = (size_t)m * C + c;
            const int64_t *t = tally + mc * per;
            int64_t potential = t[F + 1];
            if (potential > w->K[mc])
                st = BAD("%s: error: /state/choice: expected at most %" PRId64
                         " potential adopters of %s in %s, found %" PRId64,
                         file, w->K[mc], w->sc->categories[c].name,
                         w->sc->markets[m].name, potential);
            for (int f = 0; f < F && st == MS_OK; f++)
                if (w->users[mc * F + f] != t[f + 1])
                    st = BAD("%s: error: /state/users: expected %" PRId64
                             " users of firm %d in %s, %s (a count of the "
                             "choices), found %" PRId64, file, t[f + 1],
                             f, w->sc->markets[m].name,
                             w->sc->categories[c].name,
                             w->users[mc * F + f]);
        }
    ms_free(tally);
    return st;
}

#undef BAD

ms_status ms_checkpoint_load(const char *path, ms_world *w, void **runfile,
                             size_t *runfile_bytes)
{
    if (runfile)
        *runfile = NULL; /* NULL: not wanted (the ranks that do not write) */
    *runfile_bytes = 0;
    ms_h5 *h;
    MS_CALL(open_ckpt(path, &h));
    int64_t fid = ms_h5_file_id(h), v;
    ms_status st = ms_h5r_attr_i64(fid, path, "/", "consumers", w->N, w->N,
                                   &v);
    /* The consumers' random streams are named by their ids. */
    if (st == MS_OK)
        st = ms_h5r_attr_i64(fid, path, "/", "first_consumer_id",
                             (int64_t)w->id0, (int64_t)w->id0, &v);
    if (st == MS_OK)
        st = ms_h5r_attr_i64(fid, path, "/", "firm_slots", w->F, w->F, &v);
    if (st == MS_OK)
        st = ms_h5r_attr_i64(fid, path, "/", "sizeof_long",
                             (int64_t)sizeof(long), (int64_t)sizeof(long),
                             &v);
    arr a[64];
    /* Choices inside: from one process, read by one process. */
    int n = arrays(w, a, w->ranks < 2 && !ms_h5_exists(h, "/slices"));
    for (int i = 0; i < n && st == MS_OK; i++) {
        char p[128];
        snprintf(p, sizeof p, "/state/%s", a[i].name);
        st = get_bytes(h, path, p, a[i].p, a[i].bytes);
    }
    int64_t c[N_COUNTERS];
    if (st == MS_OK)
        st = get_bytes(h, path, "/counters", c, sizeof c);
    if (st == MS_OK)
        st = check_counters(w, path, c);
    /* The consumers: in the file itself (one process wrote it) or in its
     * slices (a distributed run did), and read by one process or by the
     * ranks of a distributed run, each its own part. */
    int k = 0;
    int64_t *tab = NULL;
    if (st == MS_OK)
        st = read_slices(h, path, w, &k, &tab);
    if (st == MS_OK && k > 0)
        st = slices_read(path, w, c[6], k, tab);
    else if (st == MS_OK && w->ranks > 1)
        st = whole_read(h, path, w);
    ms_free(tab);
    /* What follows checks the state together over the ranks. */
    if (w->ranks > 1 && ms_par_any(st != MS_OK) && st == MS_OK)
        st = MS_ERROR(MS_EINPUT, "%s: error: another rank could not read "
                      "its part of the checkpoint (rank 0 or that rank says "
                      "why)", path);
    if (st == MS_OK) {
        w->n_firms = (int)c[0];
        w->entrants = c[1];
        w->entrants_dropped = c[2];
        w->ev_dropped = c[3];
        w->n_partners = (int)c[4];
        w->n_stakes = (int)c[5];
        w->step = c[6];
    }
    /* Names point into name_buf, which was overwritten in place. */
    if (st == MS_OK)
        st = check_firms(w, path);
    if (st == MS_OK)
        st = check_consumers(w, path);
    if (st == MS_OK && ms_world_check(w) != MS_OK) {
        char why[512];
        snprintf(why, sizeof why, "%s", ms_error_message());
        st = MS_ERROR(MS_EINPUT, "%s: error: the saved state is "
                      "inconsistent: %s", path, why);
    }
    if (st == MS_OK && runfile && ms_h5_exists(h, "/runfile")) {
        int64_t len;
        ms_h5r_want rw = {"/runfile", MS_H5R_INT, 1, 1, {1}, {MS_H5R_ANY}};
        st = ms_h5r_check(fid, path, &rw, &len);
        void *buf = st == MS_OK ? ms_malloc((size_t)len) : NULL;
        if (st == MS_OK && !buf)
            st = MS_ERROR(MS_ENOMEM, "%s: out of memory reading /runfile",
                          path);
        if (st == MS_OK)
            st = get_bytes(h, path, "/runfile", buf, (size_t)len);
        if (st == MS_OK) {
            *runfile = buf;
            *runfile_bytes = (size_t)len;
        } else {
            ms_free(buf);
        }
    }
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
