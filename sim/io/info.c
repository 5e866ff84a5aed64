/*
 * info.c: `marketsim info FILE`: what a result file holds and its headline
 * figures, read back with HDF5 alone (no Python needed on a cluster).
 *
 * The file may be damaged or not ours: every read goes through the
 * checked reader (io/ms_h5read.h), which compares rank, shape and type
 * with what is expected before anything is read, so a bad file gives a
 * `FILE: error: DATASET: expected ..., found ...` message (status 2).
 */
#include "marketsim/ms_info.h"

#include "io/ms_h5.h"
#include "io/ms_h5read.h"
#include "marketsim/ms_alloc.h"

#include <hdf5.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Longest name shown (market, category, firm). */
#define NAME_MAX_SHOWN 256

/* The last record (index dims[0] - 1 of the first dimension) of an
 * optional float dataset whose other dimensions are rest[0..rank-2];
 * absent gives *out NULL and MS_OK. *T gets the record count. With
 * firms set, the second dimension is the firms': in a file being written
 * it may already hold a firm whose name is not yet there, and the record
 * is read whole; its first rest[0] firms (firm is the record's leading
 * dimension) are the named ones. */
static ms_status read_last(hid_t file, const char *fname, const char *path,
                           int rank, const int64_t *rest, int firms,
                           double **out, int64_t *T)
{
    *out = NULL;
    *T = 0;
    if (!ms_h5r_is_dataset((int64_t)file, path))
        return MS_OK;
    ms_h5r_want w = {path, MS_H5R_NUMBER, 0, rank, {1}, {MS_H5R_ANY}};
    for (int i = 1; i < rank; i++)
        w.lo[i] = w.hi[i] = rest[i - 1];
    if (firms && rank > 1)
        w.hi[1] = MS_H5R_ANY;
    int64_t dims[MS_H5R_MAX_RANK];
    MS_CALL(ms_h5r_check((int64_t)file, fname, &w, dims));
    void *buf;
    MS_CALL(ms_h5r_read_new((int64_t)file, fname, &w, MS_H5_F64, dims[0] - 1,
                            &buf, dims));
    *out = buf;
    *T = dims[0];
    return MS_OK;
}

/* An optional 1-D names dataset (absent: *n = 0, *out NULL). */
static ms_status read_names(hid_t file, const char *fname, const char *path,
                            char ***out, int64_t *n)
{
    *out = NULL;
    *n = 0;
    if (!ms_h5r_is_dataset((int64_t)file, path))
        return MS_OK;
    return ms_h5r_names((int64_t)file, fname, path, 0, MS_H5R_ANY,
                        NAME_MAX_SHOWN, out, n);
}
static void human(char *buf, size_t size, double v)
{
    double a = fabs(v);
    if (isnan(v))
        snprintf(buf, size, "-");
    else if (a >= 1e12)
        snprintf(buf, size, "%.2fT", v / 1e12);
    else if (a >= 1e9)
        snprintf(buf, size, "%.2fB", v / 1e9);
    else if (a >= 1e6)
        snprintf(buf, size, "%.2fM", v / 1e6);
    else if (a >= 1e3)
        snprintf(buf, size, "%.1fk", v / 1e3);
    else
        snprintf(buf, size, "%.3g", v);
}

typedef struct list_ctx {
    FILE *out;
    const char *fname;
    ms_status st;     /* the first error (a bad attribute, out of memory) */
    char **names;     /* the group's link names, collected first */
    size_t n, cap;
} list_ctx;

/* Collect a link name. Groups are walked in HDF5's native order, then
 * sorted here: for a group stored densely (many links), the ordered walk
 * builds a table of every link sized by the group's link count, and HDF5
 * 1.10 frees entries it never filled when that count is damaged (a crash
 * fuzz_h5 found); the native walk reads the links one by one. */
static herr_t collect_cb(hid_t g, const char *name, const H5L_info_t *info,
                         void *data)
{
    (void)g;
    (void)info;
    list_ctx *lc = data;
    if (lc->n == lc->cap) {
        size_t nc = lc->cap ? 2 * lc->cap : 64;
        char **q = nc > ((size_t)1 << 24) ? NULL
                                          : ms_realloc(lc->names,
                                                       nc * sizeof *q);
        if (!q) {
            lc->st = MS_ERROR(MS_ENOMEM, "%s: out of memory listing a "
                              "group", lc->fname);
            return -1;
        }
        lc->names = q;
        lc->cap = nc;
    }
    if (!(lc->names[lc->n] = ms_strdup(name))) {
        lc->st = MS_ERROR(MS_ENOMEM, "%s: out of memory listing a group",
                          lc->fname);
        return -1;
    }
    lc->n++;
    return 0;
}

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static herr_t list_cb(hid_t g, const char *name, const H5L_info_t *info,
                      void *data)
{
    (void)info;
    list_ctx *lc = data;
    FILE *out = lc->out;
    if (H5Oexists_by_name(g, name, H5P_DEFAULT) <= 0) {
        H5Eclear2(H5E_DEFAULT);
        return 0;
    }
    H5O_info_t oi;
    if (H5Oget_info_by_name(g, name, &oi, H5P_DEFAULT) < 0 ||
        oi.type != H5O_TYPE_DATASET) {
        H5Eclear2(H5E_DEFAULT);
        return 0;
    }
    hid_t d = H5Dopen2(g, name, H5P_DEFAULT);
    if (d < 0) {
        H5Eclear2(H5E_DEFAULT);
        return 0;
    }
    hid_t sp = H5Dget_space(d);
    hsize_t dims[H5S_MAX_RANK];
    int rank = sp < 0 ? -1 : H5Sget_simple_extent_ndims(sp);
    char shape[160] = "?", units[64], ln[256];
    if (rank >= 0 && rank <= H5S_MAX_RANK &&
        H5Sget_simple_extent_dims(sp, dims, NULL) >= 0) {
        size_t len = 0;
        shape[0] = '\0';
        for (int i = 0; i < rank && len < sizeof shape; i++)
            len += (size_t)snprintf(shape + len, sizeof shape - len, "%s%llu",
                                    i ? " x " : "",
                                    (unsigned long long)dims[i]);
        if (rank == 0)
            snprintf(shape, sizeof shape, "scalar");
    }
    int found;
    lc->st = ms_h5r_attr_text((int64_t)d, lc->fname, name, "units", units,
                              sizeof units, &found);
    if (lc->st == MS_OK)
        lc->st = ms_h5r_attr_text((int64_t)d, lc->fname, name, "long_name",
                                  ln, sizeof ln, &found);
    if (lc->st == MS_OK)
        fprintf(out, "    %-15s %-22s %-10s %s\n", name, shape, units, ln);
    if (sp >= 0)
        H5Sclose(sp);
    H5Dclose(d);
    H5Eclear2(H5E_DEFAULT);
    return lc->st != MS_OK ? -1 : 0; /* -1 stops the iteration */
}

/* Runs of a sweep by status, and why the first failed ones failed. */
static ms_status sweep_runs(hid_t file, const char *fname, FILE *out)
{
    if (!ms_h5r_is_dataset((int64_t)file, "/runs/status"))
        return MS_OK;
    /* At most 2^32 runs: what a sweep design may hold. */
    ms_h5r_want w = {"/runs/status", MS_H5R_INT, 0, 1, {0}, {(int64_t)1 << 32}};
    void *buf;
    int64_t n;
    MS_CALL(ms_h5r_read_new((int64_t)file, fname, &w, MS_H5_I8, -1, &buf, &n));
    int8_t *st = buf;
    int64_t cnt[3] = {0, 0, 0};
    for (int64_t i = 0; i < n; i++)
        if (st[i] >= 0 && st[i] <= 2)
            cnt[st[i]]++;
    fprintf(out, "Runs: %lld done, %lld failed, %lld pending (of %lld)\n",
            (long long)cnt[1], (long long)cnt[2], (long long)cnt[0],
            (long long)n);
    ms_status s = MS_OK;
    if (cnt[2] && ms_h5r_is_dataset((int64_t)file, "/runs/message")) {
        char **msg;
        int64_t nm;
        s = ms_h5r_names((int64_t)file, fname, "/runs/message", n, n, 512,
                         &msg, &nm);
        int shown = 0;
        for (int64_t i = 0; s == MS_OK && i < n && shown < 5; i++)
            if (st[i] == 2) {
                fprintf(out, "  run %lld failed: %s\n", (long long)i, msg[i]);
                shown++;
            }
        if (s == MS_OK)
            ms_h5r_names_free(msg, nm);
    }
    ms_free(st);
    return s;
}

/* A summary-only sweep (root attribute outputs = summary): what it keeps,
 * and the points whose /summary does not match /summary/checksum, listed,
 * with an error naming them. */
static ms_status summary_verify(hid_t file, const char *path, FILE *out)
{
    ms_h5r_want wf = {"/summary/folded", MS_H5R_INT, 8, 1, {1},
                      {(int64_t)1 << 32}};
    void *fbuf = NULL, *kbuf = NULL;
    int64_t P, nk;
    MS_CALL(ms_h5r_read_new((int64_t)file, path, &wf, MS_H5_I64, -1, &fbuf,
                            &P));
    ms_h5r_want wk = {"/summary/checksum", MS_H5R_INT, 8, 1, {P}, {P}};
    ms_status res = ms_h5r_read_new((int64_t)file, path, &wk, MS_H5_I64, -1,
                                    &kbuf, &nk);
    const int64_t *folded = fbuf, *kept = kbuf;
    uint64_t *sums = ms_calloc((size_t)P + 1, sizeof *sums);
    int8_t *all = ms_calloc((size_t)P + 1, 1);
    if (res == MS_OK && (!sums || !all))
        res = MS_ERROR(MS_ENOMEM, "out of memory checking the summary");
    long long runs = 0;
    for (int64_t p = 0; res == MS_OK && p < P; p++) {
        all[p] = 1;
        runs += folded[p];
    }
    static const char *const sg[1] = {"/summary"};
    if (res == MS_OK)
        res = ms_h5_slab_checksums((int64_t)file, path, sg, 1,
                                   "summary_accumulator", P, all, sums);
    char list[256] = "";
    size_t at = 0;
    long bad = 0;
    for (int64_t p = 0; res == MS_OK && p < P; p++) {
        if ((uint64_t)kept[p] == sums[p])
            continue;
        if (bad < 12 && at < sizeof list)
            at += (size_t)snprintf(list + at, sizeof list - at, "%s%lld",
                                   bad ? ", " : "", (long long)p);
        bad++;
    }
    if (res == MS_OK) {
        fprintf(out, "Kept: the summaries only (outputs: summary): %lld runs "
                "folded into /summary (mean, sd, m2 and n of each point, in "
                "replicate order); no run's arrays\n", runs);
        if (bad == 0)
            fprintf(out, "Checksums: the summaries of all %lld points match\n",
                    (long long)P);
        else {
            fprintf(out, "Checksums: %ld of %lld points' summaries do NOT "
                    "match: points %s%s\n", bad, (long long)P, list,
                    bad > 12 ? ", ..." : "");
            res = MS_ERROR(MS_EINPUT, "%s: error: points whose summary does "
                           "not match its checksum: %ld (points %s%s); the "
                           "summary was cut short or damaged; marketsim "
                           "sweep SWEEP -o %s --resume folds their runs "
                           "again", path, bad, list, bad > 12 ? ", ..." : "",
                           path);
        }
    }
    ms_free(fbuf);
    ms_free(kbuf);
    ms_free(sums);
    ms_free(all);
    return res;
}

/* Runs marked done whose data do not match /runs/checksum: listed, and an
 * error (exit 1) naming them, so that a script notices. */
static ms_status sweep_verify(hid_t file, const char *path, FILE *out)
{
    if (!ms_h5r_is_dataset((int64_t)file, "/runs/status"))
        return MS_OK;
    char outputs[32];
    int have = 0;
    MS_CALL(ms_h5r_attr_text((int64_t)file, path, "/", "outputs", outputs,
                             sizeof outputs, &have));
    if (have == 1 && !strcmp(outputs, "summary"))
        return summary_verify(file, path, out);
    if (!ms_h5r_is_dataset((int64_t)file, "/runs/checksum")) {
        fprintf(out, "Checksums: none (a file of schema 2 or older)\n");
        return MS_OK;
    }
    ms_h5r_want ws = {"/runs/status", MS_H5R_INT, 0, 1, {0}, {(int64_t)1 << 32}};
    void *sbuf = NULL, *kbuf = NULL;
    int64_t n, nk;
    MS_CALL(ms_h5r_read_new((int64_t)file, path, &ws, MS_H5_I8, -1, &sbuf, &n));
    const int8_t *st = sbuf;
    /* One stored checksum per run, as many as there are statuses. */
    ms_h5r_want wk = {"/runs/checksum", MS_H5R_INT, 8, 1, {n}, {n}};
    ms_status res = ms_h5r_read_new((int64_t)file, path, &wk, MS_H5_I64, -1,
                                    &kbuf, &nk);
    const int64_t *kept = kbuf;
    uint64_t *sums = NULL;
    int8_t *want = NULL;
    if (res == MS_OK) {
        sums = ms_calloc((size_t)n + 1, sizeof *sums);
        want = ms_calloc((size_t)n + 1, 1);
        if (!sums || !want)
            res = MS_ERROR(MS_ENOMEM, "out of memory checking the runs");
    }
    long done = 0, bad = 0;
    for (int64_t i = 0; res == MS_OK && i < n; i++)
        done += want[i] = st[i] == 1;
    if (res == MS_OK)
        res = ms_h5_sweep_checksums((int64_t)file, path, n, want, sums);
    char list[256] = "";
    size_t at = 0;
    for (int64_t i = 0; res == MS_OK && i < n; i++) {
        if (!want[i] || (uint64_t)kept[i] == sums[i])
            continue;
        if (bad < 12 && at < sizeof list)
            at += (size_t)snprintf(list + at, sizeof list - at, "%s%lld",
                                   bad ? ", " : "", (long long)i);
        bad++;
    }
    if (res == MS_OK) {
        if (bad == 0)
            fprintf(out, "Checksums: the data of all %ld done runs match\n",
                    done);
        else {
            fprintf(out, "Checksums: %ld of %ld done runs do NOT match their "
                    "data: runs %s%s\n", bad, done, list,
                    bad > 12 ? ", ..." : "");
            res = MS_ERROR(MS_EINPUT, "%s: error: runs marked done whose "
                           "data do not match their checksums: %ld (runs "
                           "%s%s); their data were cut short or damaged; "
                           "marketsim sweep SWEEP -o %s --resume runs them "
                           "again", path, bad, list,
                           bad > 12 ? ", ..." : "", path);
        }
    }
    ms_free(kbuf);
    ms_free(sums);
    ms_free(want);
    ms_free(sbuf);
    return res;
}

static ms_status events_summary(hid_t file, FILE *out)
{
    ms_h5_event_row *ev;
    size_t n;
    MS_CALL(ms_h5_events_read((int64_t)file, "/events", &ev, &n));
    if (n == 0) {
        fprintf(out, "\nEvents: none\n");
        ms_free(ev);
        return MS_OK;
    }
    /* Counts by kind, in order of first appearance. */
    char kinds[16][16];
    size_t counts[16] = {0};
    int nk = 0;
    for (size_t i = 0; i < n; i++) {
        int k = 0;
        while (k < nk && strcmp(kinds[k], ev[i].kind) != 0)
            k++;
        if (k == nk && nk < 16)
            snprintf(kinds[nk++], sizeof kinds[0], "%s", ev[i].kind);
        if (k < 16)
            counts[k]++;
    }
    fprintf(out, "\nEvents: %zu (", n);
    for (int k = 0; k < nk; k++)
        fprintf(out, "%s%s %zu", k ? ", " : "", kinds[k], counts[k]);
    fprintf(out, ")\n");
    int shown = 0;
    for (size_t i = 0; i < n && shown < 12; i++) {
        if (!strcmp(ev[i].kind, "launch") && n > 12)
            continue; /* launches are many; the table has them all */
        char amt[32];
        human(amt, sizeof amt, ev[i].amount);
        fprintf(out, "  %8.2f  %-13s %-22s %-22s %-6s %s USD\n", ev[i].time,
                ev[i].kind, ev[i].actor, ev[i].target, ev[i].market, amt);
        shown++;
    }
    ms_free(ev);
    return MS_OK;
}

static ms_status headline(hid_t file, const char *fname, FILE *out)
{
    char **mn = NULL, **cn = NULL, **fnm = NULL;
    int64_t M = 0, C = 0, F = 0;
    double *ad = NULL, *pot = NULL, *us = NULL, *rev = NULL, *cash = NULL,
           *time = NULL;
    int64_t Ta, Tt, Tu, Tr, Tc;
    ms_status st = read_names(file, fname, "/market/market", &mn, &M);
    if (st == MS_OK)
        st = read_names(file, fname, "/market/category", &cn, &C);
    if (st == MS_OK)
        st = read_names(file, fname, "/firm/firm", &fnm, &F);
    int64_t mc[2] = {M, C}, fmc[3] = {F, M, C}, f1[1] = {F};
    if (st == MS_OK)
        st = read_last(file, fname, "/market/adopters", 3, mc, 0, &ad, &Ta);
    if (st == MS_OK)
        st = read_last(file, fname, "/market/time", 1, NULL, 0, &time, &Tt);
    if (st == MS_OK && ms_h5r_is_dataset((int64_t)file, "/market/potential")) {
        ms_h5r_want w = {"/market/potential", MS_H5R_NUMBER, 0, 2, {M, C},
                         {M, C}};
        void *buf;
        st = ms_h5r_read_new((int64_t)file, fname, &w, MS_H5_F64, -1, &buf,
                             NULL);
        pot = buf;
    }
    if (st == MS_OK)
        st = read_last(file, fname, "/firm/users", 4, fmc, 1, &us, &Tu);
    if (st == MS_OK)
        st = read_last(file, fname, "/firm/revenue", 2, f1, 1, &rev, &Tr);
    if (st == MS_OK)
        st = read_last(file, fname, "/firm/cash", 2, f1, 1, &cash, &Tc);
    if (st != MS_OK)
        goto done;
    if (M > 0 && C > 0 && ad && time) {
        fprintf(out, "At the last record (t = %.2f):\n", time[0]);
        fprintf(out, "  %-12s %-16s %12s %10s\n", "market", "category",
                "adopters", "of ceiling");
        for (int64_t m = 0; m < M; m++)
            for (int64_t c = 0; c < C; c++) {
                char a[32];
                double v = ad[m * C + c];
                human(a, sizeof a, v);
                double p = pot ? pot[m * C + c] : NAN;
                fprintf(out, "  %-12s %-16s %12s %9.1f%%\n", mn[m], cn[c], a,
                        p > 0 ? 100 * v / p : 0.0);
            }
    }
    if (F > 0 && M > 0 && C > 0 && us) {
        fprintf(out, "\n  %-20s %12s %14s %14s\n", "firm", "users",
                "revenue/yr", "cash");
        /* Firms by total users at the end, largest first (top 10). */
        int64_t shown[10];
        int ns = 0;
        for (int k = 0; k < 10; k++) {
            int64_t best = -1;
            double bv = -1;
            for (int64_t f = 0; f < F; f++) {
                int seen = 0;
                for (int j = 0; j < ns; j++)
                    seen |= shown[j] == f;
                if (seen || !fnm[f][0])
                    continue;
                double tot = 0;
                for (int64_t x = 0; x < M * C; x++)
                    tot += us[f * M * C + x];
                if (isnan(tot))
                    continue;
                if (tot > bv) {
                    bv = tot;
                    best = f;
                }
            }
            if (best < 0)
                break;
            shown[ns++] = best;
            char a[32], b[32], c2[32];
            human(a, sizeof a, bv);
            human(b, sizeof b, rev ? rev[best] : NAN);
            human(c2, sizeof c2, cash ? cash[best] : NAN);
            fprintf(out, "  %-20s %12s %14s %14s\n", fnm[best], a, b, c2);
        }
        int64_t named = 0;
        for (int64_t f = 0; f < F; f++)
            named += fnm[f][0] != '\0';
        if (named > ns)
            fprintf(out, "  (%lld more firms)\n", (long long)(named - ns));
    }
    st = events_summary(file, out);
done:
    ms_free(ad);
    ms_free(pot);
    ms_free(us);
    ms_free(rev);
    ms_free(cash);
    ms_free(time);
    ms_h5r_names_free(mn, M);
    ms_h5r_names_free(cn, C);
    ms_h5r_names_free(fnm, F);
    return st;
}

ms_status ms_info_print(const char *path, FILE *out, int brief)
{
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    int64_t fid;
    MS_CALL(ms_h5_open_result(path, &fid));
    hid_t file = (hid_t)fid;
    hid_t root = H5Gopen2(file, "/", H5P_DEFAULT);
    char title[128];
    int got = 0;
    ms_status st = root < 0 ? MS_OK
                            : ms_h5r_attr_text((int64_t)root, path, "/",
                                               "title", title, sizeof title,
                                               &got);
    if (st == MS_OK && (!got || strncmp(title, "marketsim", 9) != 0))
        st = MS_ERROR(MS_EINPUT, "%s: error: an HDF5 file, but not a "
                      "marketsim result (no title attribute)", path);
    if (st != MS_OK) {
        if (root >= 0)
            H5Gclose(root);
        H5Fclose(file);
        H5Eclear2(H5E_DEFAULT);
        return st;
    }
    static const char *keys[] = {
        "title", "status", "runs", "runs_done", "runs_failed", "design",
        "outputs",
        "points", "replications", "shard", "sweep_seed", "every",
        "steps_done", "steps", "dt", "seed", "generator",
        "people_per_agent", "consumers", "threads", "wall_seconds",
        "scenario_file", "marketsim_version", "git_commit", "schema_version",
        "created", NULL};
    if (brief) {
        st = headline(file, path, out);
        H5Gclose(root);
        H5Fclose(file);
        H5Eclear2(H5E_DEFAULT);
        return st;
    }
    fprintf(out, "%s\n", path);
    char status[64];
    int gs = 0;
    st = ms_h5r_attr_text((int64_t)root, path, "/", "status", status,
                          sizeof status, &gs);
    int running = st == MS_OK && gs == 1 && !strcmp(status, "running") &&
                  !strcmp(title, "marketsim run");
    for (int i = 0; keys[i] && st == MS_OK; i++) {
        char v[512];
        int a = 0;
        st = ms_h5r_attr_text((int64_t)root, path, "/", keys[i], v, sizeof v,
                              &a);
        if (st == MS_OK && a == 1 && v[0] &&
            (!strcmp(keys[i], "dt") || !strcmp(keys[i], "wall_seconds") ||
             !strcmp(keys[i], "people_per_agent"))) {
            /* Numbers read back at full precision; shown short. */
            char *end;
            double x = strtod(v, &end);
            if (!*end)
                snprintf(v, sizeof v, "%g", x);
        }
        if (st == MS_OK && running && !strcmp(keys[i], "steps_done")) {
            /* A run in progress updates no attribute: its last record
             * says how far it got. */
            double *sv = NULL;
            int64_t ns;
            st = read_last(file, path, "/market/step", 1, NULL, 0, &sv, &ns);
            if (st == MS_OK && sv)
                snprintf(v, sizeof v, "%.0f (at the last record written; "
                         "the run is in progress)", sv[0]);
            else if (st == MS_OK)
                snprintf(v, sizeof v, "0 (no record written yet)");
            ms_free(sv);
            a = 1;
        }
        if (st == MS_OK && a)
            fprintf(out, "  %-18s %s\n", keys[i], v);
    }
    static const char *groups[] = {"/market", "/firm", "/events", "/targets",
                                   "/runs", "/summary", "/timers", NULL};
    for (int i = 0; groups[i] && st == MS_OK; i++) {
        if (H5Lexists(file, groups[i], H5P_DEFAULT) <= 0) {
            H5Eclear2(H5E_DEFAULT);
            continue;
        }
        hid_t g = H5Gopen2(file, groups[i], H5P_DEFAULT);
        if (g < 0) {
            H5Eclear2(H5E_DEFAULT);
            continue;
        }
        fprintf(out, "\n  %s\n", groups[i]);
        list_ctx lc = {out, path, MS_OK, NULL, 0, 0};
        herr_t e = H5Literate(g, H5_INDEX_NAME, H5_ITER_NATIVE, NULL,
                              collect_cb, &lc);
        if (e < 0 && lc.st == MS_OK)
            lc.st = MS_ERROR(MS_EINPUT, "%s: error: %s: expected a group "
                             "that can be listed, found one HDF5 cannot "
                             "list (a damaged file?)", path, groups[i]);
        if (lc.st == MS_OK && lc.n)
            qsort(lc.names, lc.n, sizeof *lc.names, by_name);
        for (size_t k = 0; k < lc.n && lc.st == MS_OK; k++)
            list_cb(g, lc.names[k], NULL, &lc);
        for (size_t k = 0; k < lc.n; k++)
            ms_free(lc.names[k]);
        ms_free(lc.names);
        st = lc.st;
        H5Eclear2(H5E_DEFAULT);
        H5Gclose(g);
    }
    if (st == MS_OK) {
        fprintf(out, "\n");
        st = !strcmp(title, "marketsim sweep") ? sweep_runs(file, path, out)
                                               : headline(file, path, out);
    }
    if (st == MS_OK && !strcmp(title, "marketsim sweep"))
        st = sweep_verify(file, path, out);
    H5Gclose(root);
    H5Fclose(file);
    H5Eclear2(H5E_DEFAULT);
    return st;
}
