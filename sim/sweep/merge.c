/*
 * merge.c: `marketsim merge SHARD.h5... -o OUT.h5`.
 *
 * Shards of one sweep (--shard I/N) have the same layout; each holds the
 * runs of its slice. The merge copies the first shard, then every run
 * another shard finished, checks that all shards come from the same sweep
 * file, and recomputes the summary: the data equal those of the unsharded
 * sweep. Shards left by a killed job are accepted (their finished runs are
 * merged, the rest stay pending for a --resume of the merged file).
 * Summary-only sweeps (outputs: summary) are refused: they keep no runs,
 * and cannot be sharded.
 *
 * Shards are read as files that may be damaged or crafted: the run count
 * is bounded, and every dataset copied must have the same type and shape
 * in the shard as in the merged file, with one entry per run, before any
 * run is read (io/ms_h5read.h).
 */
#include "sweep/sweep_int.h"

#include "io/ms_h5.h"
#include "io/ms_h5read.h"
#include "marketsim/ms_alloc.h"
#include "marketsim/ms_paths.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

ms_status ms_sweep_write_summary(ms_h5 *h);

/* Every per-run dataset of a group (marked sweep_run_axis), except the
 * ones that are the same in every shard. */
/* The two variables have one shape, one entry per run, and the same
 * bytes per run (so a slab read from one fits the other). */
static ms_status same_layout(ms_h5 *dst, ms_h5 *src, const char *path,
                             ms_h5var *a, ms_h5var *b, int64_t R)
{
    int64_t da[8], db[8];
    int ra = ms_h5_var_shape(a, da), rb = ms_h5_var_shape(b, db);
    int same = ra == rb && ms_h5_var_slab_bytes(a) == ms_h5_var_slab_bytes(b);
    for (int i = 0; same && i < ra; i++)
        same = da[i] == db[i];
    if (!same)
        return MS_ERROR(MS_EINPUT, "%s: error: %s: expected the type and "
                        "shape it has in %s, found another (not a shard of "
                        "the same sweep, or a damaged file)",
                        ms_h5_path(src), path, ms_h5_path(dst));
    if (ra < 1 || da[0] != R)
        return MS_ERROR(MS_EINPUT, "%s: error: %s: expected %lld runs along "
                        "its first dimension, found %lld", ms_h5_path(src),
                        path, (long long)R, (long long)(ra < 1 ? 0 : da[0]));
    return MS_OK;
}

static ms_status copy_run(ms_h5 *dst, ms_h5 *src, const char *group,
                          int64_t r, int64_t R)
{
    char **names;
    int n;
    MS_CALL(ms_h5_list_marked(src, group, "sweep_run_axis", &names, &n));
    ms_status st = MS_OK;
    for (int i = 0; i < n && st == MS_OK; i++) {
        if (!strcmp(group, "/runs") &&
            (!strcmp(names[i], "point") || !strcmp(names[i], "replicate") ||
             !strcmp(names[i], "seed")))
            continue;
        char path[512];
        snprintf(path, sizeof path, "%s/%s", group, names[i]);
        ms_h5type kind;
        st = ms_h5_dataset_kind(src, path, &kind);
        ms_h5var *a, *b;
        if (st == MS_OK)
            st = ms_h5_var_open(src, path, kind, &a);
        if (st == MS_OK)
            st = ms_h5_var_open(dst, path, kind, &b);
        if (st == MS_OK)
            st = same_layout(dst, src, path, a, b, R);
        if (st != MS_OK)
            break;
        int64_t da[8], db[8];
        int na = ms_h5_var_shape(a, da), nb = ms_h5_var_shape(b, db);
        int same = na == nb;
        for (int k = 0; same && k < na; k++)
            same = da[k] == db[k];
        if (!same) {
            st = MS_ERROR(MS_EINPUT, "%s: error: %s has another shape than "
                          "in the first shard; merge only shards of one "
                          "sweep", ms_h5_path(src), path);
            break;
        }
        void *buf = ms_malloc(ms_h5_var_slab_bytes(a) + 8);
        if (!buf) {
            st = MS_ERROR(MS_ENOMEM, "out of memory");
            break;
        }
        st = ms_h5_read_index(a, r, buf);
        if (st == MS_OK)
            st = ms_h5_write_index(b, r, buf);
        ms_free(buf);
    }
    ms_h5_names_free(names, n);
    return st;
}

/* Run statuses are 0 pending, 1 done, 2 failed. */
static ms_status check_status(const char *file, const int8_t *st, int64_t R)
{
    for (int64_t r = 0; r < R; r++)
        if (st[r] < 0 || st[r] > 2)
            return MS_ERROR(MS_EINPUT, "%s: error: /runs/status: expected 0, "
                            "1 or 2, found %d for run %lld", file, st[r],
                            (long long)r);
    return MS_OK;
}

static ms_status merge_into(ms_h5 *out, const char *const *inputs, int n,
                            ms_sweep_result *res)
{
    char *text0 = NULL;
    MS_CALL(ms_h5_text_read(out, "/sweep", &text0));
    /* At most 2^32 runs: what a sweep design may hold. */
    int64_t R = 0;
    ms_status st = ms_h5r_attr_i64(ms_h5_file_id(out), inputs[0], "/", "runs",
                                   1, (int64_t)1 << 32, &R);
    int8_t *mine = ms_calloc((size_t)R + 1, 1), *theirs = ms_calloc((size_t)R + 1, 1);
    ms_h5var *vs = NULL;
    if (st == MS_OK && (!mine || !theirs))
        st = MS_ERROR(MS_ENOMEM, "out of memory");
    if (st == MS_OK)
        st = ms_h5_var_open(out, "/runs/status", MS_H5_I8, &vs);
    if (st == MS_OK && (st = ms_h5_var_expect(vs, 1, &R)) != MS_OK) {
        /* Name the shard, not the copy being merged into. */
        char why[512];
        snprintf(why, sizeof why, "%s", ms_error_message());
        const char *rest = strstr(why, ": error: ");
        st = MS_ERROR(MS_EINPUT, "%s%s", inputs[0], rest ? rest : why);
    }
    if (st == MS_OK)
        st = ms_h5_read_all(vs, mine);
    if (st == MS_OK)
        st = check_status(inputs[0], mine, R);
    for (int i = 1; i < n && st == MS_OK; i++) {
        ms_h5 *in;
        st = ms_h5_open_ro(inputs[i], &in);
        if (st != MS_OK)
            break;
        char *text = NULL;
        st = ms_h5_text_read(in, "/sweep", &text);
        if (st == MS_OK && strcmp(text, text0) != 0)
            st = MS_ERROR(MS_EINPUT, "%s: error: not a shard of the same "
                          "sweep as %s (their sweep files differ)", inputs[i],
                          inputs[0]);
        ms_free(text);
        ms_h5var *v;
        if (st == MS_OK)
            st = ms_h5_var_open(in, "/runs/status", MS_H5_I8, &v);
        if (st == MS_OK)
            st = ms_h5_var_expect(v, 1, &R);
        if (st == MS_OK)
            st = ms_h5_read_all(v, theirs);
        if (st == MS_OK)
            st = check_status(inputs[i], theirs, R);
        for (int64_t r = 0; r < R && st == MS_OK; r++) {
            if (theirs[r] == 0 || mine[r] == 1)
                continue;
            static const char *const groups[] = {"/market", "/firm", "/startups", "/runs"};
            for (int g = 0; g < 4 && st == MS_OK; g++)
                st = copy_run(out, in, groups[g], r, R);
            mine[r] = theirs[r];
        }
        ms_h5_close(&in, 1);
    }
    int64_t done = 0, failed = 0;
    for (int64_t r = 0; r < R; r++) {
        done += mine[r] == 1;
        failed += mine[r] == 2;
    }
    if (st == MS_OK)
        st = ms_h5_attr_i64(out, "/", "runs_done", done);
    if (st == MS_OK)
        st = ms_h5_attr_i64(out, "/", "runs_failed", failed);
    if (st == MS_OK)
        st = ms_h5_attr_str(out, "/", "shard", "");
    if (st == MS_OK)
        st = ms_h5_attr_str(out, "/", "status",
                            done + failed == R ? "complete" : "interrupted");
    if (st == MS_OK)
        st = ms_sweep_write_summary(out);
    res->runs = R;
    res->done = done;
    res->failed = failed;
    ms_free(mine);
    ms_free(theirs);
    ms_free(text0);
    return st;
}

ms_status ms_sweep_merge(const char *const *inputs, int n, const char *out,
                         ms_sweep_result *res)
{
    memset(res, 0, sizeof *res);
    if (n < 1)
        return MS_ERROR(MS_EUSAGE, "merge: give the shard files");
    struct stat sb;
    if (stat(out, &sb) == 0)
        return MS_ERROR(MS_EINPUT, "%s: error: the file exists; merge into "
                        "a new file", out);
    size_t len = strlen(out) + 9;
    char *tmp = ms_malloc(len);
    if (!tmp)
        return MS_ERROR(MS_ENOMEM, "out of memory");
    snprintf(tmp, len, "%s.partial", out);
    /* The first shard is checked where it is, so a message names it (not
     * the copy that becomes the output). */
    ms_h5 *h = NULL;
    char title[64];
    ms_status st = ms_h5_open_ro(inputs[0], &h);
    if (st == MS_OK &&
        (ms_h5_attr_read(h, "/", "title", title, sizeof title) != MS_OK ||
         strcmp(title, "marketsim sweep") != 0))
        st = MS_ERROR(MS_EINPUT, "%s: error: not a marketsim sweep file",
                      inputs[0]);
    if (h) {
        ms_status cs = ms_h5_close(&h, 1); /* read-only: nothing moves */
        if (st == MS_OK)
            st = cs;
    }
    /* Summary-only sweeps keep no runs to merge (and are not sharded). */
    for (int i = 0; i < n && st == MS_OK; i++) {
        char kept[32];
        if ((st = ms_h5_open_ro(inputs[i], &h)) != MS_OK)
            break;
        if (ms_h5_attr_read(h, "/", "outputs", kept, sizeof kept) != MS_OK)
            ms_error_clear(); /* older files keep their runs */
        else if (!strcmp(kept, "summary"))
            st = MS_ERROR(MS_EINPUT, "%s: error: a summary-only sweep "
                          "(outputs: summary) keeps no runs to merge, and "
                          "summaries of shards cannot be joined bit for bit; "
                          "run such a sweep as one (threads or mpirun "
                          "ranks), or keep the runs (outputs: [...]) to "
                          "shard and merge", inputs[i]);
        ms_h5_close(&h, 1);
    }
    /* Every shard must come from the same sweep file, resolved scenario and
     * layout as the first: checked read-only, before anything is written. */
    ms_sweep_ident first;
    memset(&first, 0, sizeof first);
    if (st == MS_OK && (st = ms_h5_open_ro(inputs[0], &h)) == MS_OK) {
        st = ms_sweep_ident_read(h, inputs[0], &first);
        ms_h5_close(&h, 1);
    }
    for (int i = 1; i < n && st == MS_OK; i++) {
        ms_sweep_ident other;
        st = ms_h5_open_ro(inputs[i], &h);
        if (st == MS_OK)
            st = ms_sweep_ident_read(h, inputs[i], &other);
        ms_h5_close(&h, 1);
        if (st != MS_OK)
            break;
        char fix[512];
        snprintf(fix, sizeof fix, "it is not a shard of the same sweep as %s; "
                 "make every shard with the same sweep and scenario files "
                 "(run this one again with them, e.g. marketsim sweep SWEEP "
                 "--shard I/N), then merge", inputs[0]);
        st = ms_sweep_ident_compare(&other, inputs[i], &first, "this shard has",
                                    "the first", fix);
        ms_sweep_ident_free(&other);
    }
    ms_sweep_ident_free(&first);
    if (st == MS_OK)
        st = ms_path_copy(inputs[0], tmp, NULL);
    if (st == MS_OK)
        st = ms_h5_open_rw(tmp, 1, &h);
    if (st == MS_OK)
        st = merge_into(h, inputs, n, res);
    if (h) {
        ms_status cs = ms_h5_close(&h, 1);
        if (st == MS_OK)
            st = cs;
    }
    if (st == MS_OK && rename(tmp, out) != 0)
        st = MS_ERROR(MS_EIO, "%s: cannot rename to %s: %s", tmp, out,
                      strerror(errno));
    if (st != MS_OK)
        remove(tmp);
    ms_free(tmp);
    return st;
}
