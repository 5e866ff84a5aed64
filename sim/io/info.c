/*
 * info.c: `marketsim info FILE`: what a result file holds and its headline
 * figures, read back with HDF5 alone (no Python needed on a cluster).
 */
#include "marketsim/ms_info.h"

#include "io/ms_h5.h"
#include "marketsim/ms_alloc.h"

#include <hdf5.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Out of memory while reading: the figures would be incomplete, so info
 * fails (status 1) instead of printing less than the file holds. */
#define INFO_OOM (-2)

/* Read a whole dataset as doubles; returns count, -1 if absent or
 * unreadable, INFO_OOM. dims filled. */
static long read_f64(hid_t file, const char *path, double **out,
                     hsize_t *dims, int *rank)
{
    *out = NULL;
    if (H5Lexists(file, path, H5P_DEFAULT) <= 0)
        return -1;
    hid_t d = H5Dopen2(file, path, H5P_DEFAULT);
    if (d < 0)
        return -1;
    hid_t sp = H5Dget_space(d);
    *rank = H5Sget_simple_extent_ndims(sp);
    long n = -1;
    if (*rank >= 0 && *rank <= 8) {
        H5Sget_simple_extent_dims(sp, dims, NULL);
        n = 1;
        for (int i = 0; i < *rank; i++)
            n *= (long)dims[i];
        *out = ms_malloc((size_t)(n ? n : 1) * sizeof **out);
        if (!*out) {
            n = INFO_OOM;
        } else if (n && H5Dread(d, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL,
                                H5P_DEFAULT, *out) < 0) {
            ms_free(*out);
            *out = NULL;
            n = -1;
        }
    }
    H5Sclose(sp);
    H5Dclose(d);
    return n;
}

/* Read a 1-D string dataset; returns count, -1 or INFO_OOM. Free with
 * free_names. */
static long read_names(hid_t file, const char *path, char ***out)
{
    *out = NULL;
    if (H5Lexists(file, path, H5P_DEFAULT) <= 0)
        return -1;
    hid_t d = H5Dopen2(file, path, H5P_DEFAULT);
    if (d < 0)
        return -1;
    hid_t sp = H5Dget_space(d);
    hsize_t n = 0;
    long res = -1;
    if (H5Sget_simple_extent_ndims(sp) == 1) {
        H5Sget_simple_extent_dims(sp, &n, NULL);
        char **v = ms_calloc(n ? n : 1, sizeof *v);
        hid_t ft = H5Dget_type(d);
        size_t flen = H5Tis_variable_str(ft) > 0 ? 0 : H5Tget_size(ft);
        H5Tclose(ft);
        hid_t mt = H5Tcopy(H5T_C_S1);
        H5Tset_size(mt, flen ? flen : H5T_VARIABLE);
        H5Tset_cset(mt, H5T_CSET_UTF8);
        /* Fixed-length names (a run file's growing firm coordinate):
         * read into one block, then copy each into its own string. */
        char *fixed = flen ? ms_calloc(n ? n : 1, flen + 1) : NULL;
        if (!v || (flen && !fixed)) {
            ms_free(v);
            res = INFO_OOM;
        } else if (n == 0 || H5Dread(d, mt, H5S_ALL, H5S_ALL, H5P_DEFAULT,
                                     flen ? (void *)fixed : (void *)v) >= 0) {
            for (hsize_t i = 0; flen && i < n && res != INFO_OOM; i++) {
                v[i] = H5allocate_memory(flen + 1, 1);
                if (!v[i])
                    res = INFO_OOM;
                else
                    memcpy(v[i], fixed + i * flen, flen);
            }
            if (res == INFO_OOM) {
                for (hsize_t i = 0; i < n; i++)
                    H5free_memory(v[i]);
                ms_free(v);
            } else {
                *out = v;
                res = (long)n;
            }
        } else {
            ms_free(v);
        }
        ms_free(fixed);
        H5Tclose(mt);
    }
    H5Sclose(sp);
    H5Dclose(d);
    return res;
}

static void free_names(char **v, long n)
{
    if (!v)
        return;
    for (long i = 0; i < n; i++)
        H5free_memory(v[i]);
    ms_free(v);
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
    int oom;          /* set when an attribute could not be read for memory */
} list_ctx;

static herr_t list_cb(hid_t g, const char *name, const H5L_info_t *info,
                      void *data)
{
    list_ctx *lc = data;
    FILE *out = lc->out;
    if (H5Oexists_by_name(g, name, H5P_DEFAULT) <= 0)
        return 0;
    hid_t o = H5Oopen(g, name, H5P_DEFAULT);
    if (o < 0)
        return 0;
    H5I_type_t kind = H5Iget_type(o);
    H5Oclose(o);
    if (kind != H5I_DATASET)
        return 0;
    hid_t d = H5Dopen2(g, name, H5P_DEFAULT);
    if (d < 0)
        return 0;
    hid_t sp = H5Dget_space(d);
    hsize_t dims[8];
    int rank = H5Sget_simple_extent_ndims(sp);
    char shape[128] = "", units[64], ln[256];
    if (rank >= 0 && rank <= 8) {
        H5Sget_simple_extent_dims(sp, dims, NULL);
        size_t len = 0;
        for (int i = 0; i < rank; i++)
            len += (size_t)snprintf(shape + len, sizeof shape - len, "%s%llu",
                                    i ? " x " : "",
                                    (unsigned long long)dims[i]);
        if (rank == 0)
            snprintf(shape, sizeof shape, "scalar");
    }
    lc->oom |= ms_h5_attr_text(d, "units", units, sizeof units) < 0;
    lc->oom |= ms_h5_attr_text(d, "long_name", ln, sizeof ln) < 0;
    if (!lc->oom)
        fprintf(out, "    %-15s %-22s %-10s %s\n", name, shape, units, ln);
    H5Sclose(sp);
    H5Dclose(d);
    return lc->oom ? -1 : 0; /* -1 stops the iteration */
}

/* Runs of a sweep by status, and why the first failed ones failed. */
static ms_status sweep_runs(hid_t file, FILE *out)
{
    double *st = NULL;
    hsize_t d[8];
    int r;
    long n = read_f64(file, "/runs/status", &st, d, &r);
    if (n == INFO_OOM)
        return MS_ERROR(MS_ENOMEM, "out of memory reading /runs/status");
    if (n < 0)
        return MS_OK;
    int oom = 0;
    long cnt[3] = {0, 0, 0};
    for (long i = 0; i < n; i++)
        if (st[i] >= 0 && st[i] <= 2)
            cnt[(int)st[i]]++;
    fprintf(out, "Runs: %ld done, %ld failed, %ld pending (of %ld)\n", cnt[1],
            cnt[2], cnt[0], n);
    hid_t dset = cnt[2] ? H5Dopen2(file, "/runs/message", H5P_DEFAULT) : -1;
    if (dset >= 0) {
        hid_t t = H5Dget_type(dset);
        size_t len = H5Tget_size(t);
        char *msg = ms_calloc((size_t)n, len);
        oom = !msg;
        if (msg && H5Dread(dset, t, H5S_ALL, H5S_ALL, H5P_DEFAULT, msg) >= 0) {
            int shown = 0;
            for (long i = 0; i < n && shown < 5; i++)
                if (st[i] == 2) {
                    fprintf(out, "  run %ld failed: %.*s\n", i, (int)len,
                            msg + (size_t)i * len);
                    shown++;
                }
        }
        ms_free(msg);
        H5Tclose(t);
        H5Dclose(dset);
    }
    ms_free(st);
    return oom ? MS_ERROR(MS_ENOMEM, "out of memory reading /runs/message")
               : MS_OK;
}

/* Runs marked done whose data do not match /runs/checksum: listed, and an
 * error (exit 1) naming them, so that a script notices. */
static ms_status sweep_verify(hid_t file, const char *path, FILE *out)
{
    double *st = NULL;
    hsize_t d[8];
    int r;
    long n = read_f64(file, "/runs/status", &st, d, &r);
    if (n == INFO_OOM)
        return MS_ERROR(MS_ENOMEM, "out of memory reading /runs/status");
    if (n < 0)
        return MS_OK;
    hid_t ds = H5Lexists(file, "/runs/checksum", H5P_DEFAULT) > 0
                   ? H5Dopen2(file, "/runs/checksum", H5P_DEFAULT) : -1;
    hid_t sp = ds < 0 ? -1 : H5Dget_space(ds);
    hsize_t cd[1] = {0};
    int ok = sp >= 0 && H5Sget_simple_extent_ndims(sp) == 1 &&
             H5Sget_simple_extent_dims(sp, cd, NULL) == 1 &&
             cd[0] == (hsize_t)n;
    if (sp >= 0)
        H5Sclose(sp);
    int64_t *kept = ok ? ms_calloc((size_t)n + 1, sizeof *kept) : NULL;
    uint64_t *sums = ok ? ms_calloc((size_t)n + 1, sizeof *sums) : NULL;
    int8_t *want = ok ? ms_calloc((size_t)n + 1, 1) : NULL;
    ms_status res = MS_OK;
    if (ok && (!kept || !sums || !want))
        res = MS_ERROR(MS_ENOMEM, "out of memory checking the runs");
    if (ok && res == MS_OK &&
        H5Dread(ds, H5T_NATIVE_INT64, H5S_ALL, H5S_ALL, H5P_DEFAULT,
                kept) < 0)
        ok = 0;
    if (ds >= 0)
        H5Dclose(ds);
    H5Eclear2(H5E_DEFAULT);
    long done = 0, bad = 0;
    for (long i = 0; ok && res == MS_OK && i < n; i++)
        done += want[i] = st[i] == 1;
    if (ok && res == MS_OK)
        res = ms_h5_sweep_checksums((int64_t)file, path, n, want, sums);
    if (!ok && res == MS_OK)
        fprintf(out, "Checksums: none (a file of schema 2 or older)\n");
    char list[256] = "";
    size_t at = 0;
    for (long i = 0; ok && res == MS_OK && i < n; i++) {
        if (!want[i] || (uint64_t)kept[i] == sums[i])
            continue;
        if (bad < 12 && at < sizeof list)
            at += (size_t)snprintf(list + at, sizeof list - at, "%s%ld",
                                   bad ? ", " : "", i);
        bad++;
    }
    if (ok && res == MS_OK) {
        if (bad == 0)
            fprintf(out, "Checksums: the data of all %ld done runs match\n",
                    done);
        else {
            fprintf(out, "Checksums: %ld of %ld done runs do NOT match their "
                    "data: runs %s%s\n", bad, done, list,
                    bad > 12 ? ", ..." : "");
            res = MS_ERROR(MS_EIO, "%s: runs marked done whose data do not "
                           "match their checksums: %ld (runs %s%s); their data "
                           "were cut short or damaged; marketsim sweep SWEEP "
                           "-o %s --resume runs them again", path, bad, list,
                           bad > 12 ? ", ..." : "", path);
        }
    }
    ms_free(kept);
    ms_free(sums);
    ms_free(want);
    ms_free(st);
    return res;
}

static ms_status events_summary(hid_t file, FILE *out)
{
    ms_h5_event_row *ev;
    size_t n;
    ms_status st = ms_h5_events_read((int64_t)file, "/events", &ev, &n);
    if (st == MS_ENOMEM)
        return st;
    if (st != MS_OK) {
        ms_error_clear();
        return MS_OK;
    }
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

static ms_status headline(hid_t file, FILE *out)
{
    char **mn = NULL, **cn = NULL, **fnm = NULL;
    long M = read_names(file, "/market/market", &mn);
    long C = read_names(file, "/market/category", &cn);
    long F = read_names(file, "/firm/firm", &fnm);
    double *ad = NULL, *pot = NULL, *us = NULL, *rev = NULL, *cash = NULL,
           *time = NULL;
    hsize_t d1[8], d2[8], d3[8], d4[8], d5[8], d6[8];
    int r;
    long na = read_f64(file, "/market/adopters", &ad, d1, &r);
    long nt = read_f64(file, "/market/time", &time, d6, &r);
    long np = read_f64(file, "/market/potential", &pot, d2, &r);
    long nu = read_f64(file, "/firm/users", &us, d3, &r);
    long nr = read_f64(file, "/firm/revenue", &rev, d4, &r);
    long nc = read_f64(file, "/firm/cash", &cash, d5, &r);
    ms_status st = MS_OK;
    if (M == INFO_OOM || C == INFO_OOM || F == INFO_OOM || na == INFO_OOM ||
        nt == INFO_OOM || np == INFO_OOM || nu == INFO_OOM ||
        nr == INFO_OOM || nc == INFO_OOM) {
        st = MS_ERROR(MS_ENOMEM, "out of memory reading the result file");
        goto done;
    }
    if (M > 0 && C > 0 && na > 0 && nt > 0) {
        long T = (long)d1[0];
        fprintf(out, "At the last record (t = %.2f):\n", time[T - 1]);
        fprintf(out, "  %-12s %-16s %12s %10s\n", "market", "category",
                "adopters", "of ceiling");
        for (long m = 0; m < M; m++)
            for (long c = 0; c < C; c++) {
                char a[32];
                double v = ad[((T - 1) * M + m) * C + c];
                human(a, sizeof a, v);
                double p = pot ? pot[m * C + c] : NAN;
                fprintf(out, "  %-12s %-16s %12s %9.1f%%\n", mn[m], cn[c], a,
                        p > 0 ? 100 * v / p : 0.0);
            }
    }
    if (F > 0 && M > 0 && C > 0 && nu > 0) {
        long T = (long)d3[0];
        fprintf(out, "\n  %-20s %12s %14s %14s\n", "firm", "users",
                "revenue/yr", "cash");
        /* Firms by total users at the end, largest first (top 10). */
        long shown[10];
        int ns = 0;
        for (int k = 0; k < 10; k++) {
            long best = -1;
            double bv = -1;
            for (long f = 0; f < F; f++) {
                int seen = 0;
                for (int j = 0; j < ns; j++)
                    seen |= shown[j] == f;
                if (seen || !fnm[f] || !fnm[f][0])
                    continue;
                double tot = 0;
                for (long x = 0; x < M * C; x++)
                    tot += us[((T - 1) * F + f) * M * C + x];
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
            human(b, sizeof b, nr > 0 ? rev[(T - 1) * F + best] : NAN);
            human(c2, sizeof c2, cash ? cash[(T - 1) * F + best] : NAN);
            fprintf(out, "  %-20s %12s %14s %14s\n", fnm[best], a, b, c2);
        }
        long named = 0;
        for (long f = 0; f < F; f++)
            named += fnm[f] && fnm[f][0];
        if (named > ns)
            fprintf(out, "  (%ld more firms)\n", named - ns);
    }
    st = events_summary(file, out);
done:
    ms_free(ad);
    ms_free(pot);
    ms_free(us);
    ms_free(rev);
    ms_free(cash);
    ms_free(time);
    free_names(mn, M);
    free_names(cn, C);
    free_names(fnm, F);
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
    int got = root < 0 ? 0 : ms_h5_attr_text(root, "title", title, sizeof title);
    if (got < 0) {
        H5Gclose(root);
        H5Fclose(file);
        return MS_ERROR(MS_ENOMEM, "%s: out of memory reading the file", path);
    }
    if (!got || strncmp(title, "marketsim", 9) != 0) {
        if (root >= 0)
            H5Gclose(root);
        H5Fclose(file);
        return MS_ERROR(MS_EINPUT, "%s: error: an HDF5 file, but not a "
                        "marketsim result (no title attribute)", path);
    }
    static const char *keys[] = {
        "title", "status", "runs", "runs_done", "runs_failed", "design",
        "points", "replications", "shard", "sweep_seed", "every",
        "steps_done", "steps", "dt", "seed", "generator",
        "people_per_agent", "consumers", "threads", "wall_seconds",
        "scenario_file", "marketsim_version", "git_commit", "schema_version",
        "created", NULL};
    ms_status st = MS_OK;
    if (brief) {
        st = headline(file, out);
        H5Gclose(root);
        H5Fclose(file);
        return st;
    }
    fprintf(out, "%s\n", path);
    char status[64];
    int running = ms_h5_attr_text(root, "status", status, sizeof status) > 0 &&
                  !strcmp(status, "running") &&
                  !strcmp(title, "marketsim run");
    for (int i = 0; keys[i] && st == MS_OK; i++) {
        char v[512];
        int a = ms_h5_attr_text(root, keys[i], v, sizeof v);
        if (running && !strcmp(keys[i], "steps_done")) {
            /* A run in progress updates no attribute: its last record
             * says how far it got. */
            double *sv = NULL;
            hsize_t sd[8];
            int sr;
            long ns = read_f64(file, "/market/step", &sv, sd, &sr);
            if (ns == INFO_OOM)
                st = MS_ERROR(MS_ENOMEM, "%s: out of memory", path);
            else if (ns > 0)
                snprintf(v, sizeof v, "%.0f (at the last record written; "
                         "the run is in progress)", sv[ns - 1]);
            else
                snprintf(v, sizeof v, "0 (no record written yet)");
            ms_free(sv);
            a = 1;
        }
        if (a > 0)
            fprintf(out, "  %-18s %s\n", keys[i], v);
        else if (a < 0)
            st = MS_ERROR(MS_ENOMEM, "%s: out of memory reading the "
                          "attribute %s", path, keys[i]);
    }
    static const char *groups[] = {"/market", "/firm", "/events", "/targets",
                                   "/runs", "/summary", "/timers", NULL};
    for (int i = 0; groups[i]; i++) {
        if (H5Lexists(file, groups[i], H5P_DEFAULT) <= 0)
            continue;
        hid_t g = H5Gopen2(file, groups[i], H5P_DEFAULT);
        if (g < 0)
            continue;
        fprintf(out, "\n  %s\n", groups[i]);
        list_ctx lc = {out, 0};
        H5Literate(g, H5_INDEX_NAME, H5_ITER_INC, NULL, list_cb, &lc);
        if (lc.oom && st == MS_OK)
            st = MS_ERROR(MS_ENOMEM, "%s: out of memory listing %s", path,
                          groups[i]);
        H5Gclose(g);
    }
    fprintf(out, "\n");
    if (st == MS_OK)
        st = !strcmp(title, "marketsim sweep") ? sweep_runs(file, out)
                                               : headline(file, out);
    if (st == MS_OK && !strcmp(title, "marketsim sweep"))
        st = sweep_verify(file, path, out);
    H5Gclose(root);
    H5Fclose(file);
    H5Eclear2(H5E_DEFAULT);
    return st;
}
