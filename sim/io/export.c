/*
 * export.c: `marketsim export FILE --csv DIR`: a result file as tidy CSV
 * tables, for R, Stata and spreadsheets (docs/OUTPUT.md, "CSV export").
 *
 * Each group of the file becomes tables in long ("tidy") form: one column
 * per dimension (the coordinate's value: names, years, indices), then one
 * column per variable, one row per combination of the dimensions.
 * Variables with the same dimensions share a table; facts that do not
 * change over time (a market's population, a firm's home, a sweep
 * point's parameter values) and the 1-D time coordinates (step, date) are
 * repeated as columns of the tables whose dimensions include theirs, so
 * each table reads alone. The group's table with the most variables is
 * named after the group (markets.csv, firms.csv, events.csv, targets.csv,
 * runs.csv, summary.csv, startups.csv); the others add the dimensions
 * that not all the group's tables have (firms_by_market_category.csv).
 *
 * The first line of every table gives the units of its columns, as
 * `# units: year,,1,USD/year,...` (empty for names); the second line
 * names the columns. Missing values (NaN, the fill values of the file)
 * are written NA; text is quoted where it must be.
 *
 * Everything is read through HDF5 alone, like `marketsim info`.
 */
#define _GNU_SOURCE /* timegm */
#include "marketsim/ms_export.h"

#include "io/ms_h5.h"
#include "io/ms_h5read.h"

#include "marketsim/ms_alloc.h"

#include <errno.h>
#include <hdf5.h>
#include <hdf5_hl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#define MAXD 8
#define MAXV 64

enum { K_F64, K_I64, K_U64, K_STR };

typedef struct var {
    char name[128], units[96];
    int rank;
    char dims[MAXD][64];
    hsize_t shape[MAXD];
    int kind;
    size_t n;           /* elements */
    void *data;         /* double / int64 / uint64 / char*[n] */
    int has_fill;
    double fill;        /* integer fill value (the file's _FillValue) */
    int is_scale;
    int is_date;        /* CF time ("seconds since Y-M-D ..."): ISO dates */
    time_t epoch;       /* its reference instant */
    int role;           /* 0 table variable, 1 repeated into tables */
    char *labels;       /* a varied parameter's `values`: the text of
                         * value k is line k (its index is stored) */
} var;

typedef struct group {
    var v[MAXV];
    int n;
} group;

static void free_group(group *g)
{
    for (int i = 0; i < g->n; i++) {
        if (g->v[i].kind == K_STR && g->v[i].data)
            for (size_t k = 0; k < g->v[i].n; k++)
                ms_free(((char **)g->v[i].data)[k]);
        ms_free(g->v[i].data);
        ms_free(g->v[i].labels);
    }
    g->n = 0;
}

static herr_t scale_name_cb(hid_t did, unsigned dim, hid_t sid, void *data)
{
    (void)did;
    (void)dim;
    char full[256];
    if (H5Iget_name(sid, full, sizeof full) > 0) {
        const char *b = strrchr(full, '/');
        snprintf(data, 64, "%.63s", b ? b + 1 : full);
    }
    return 1;
}

/* Read one dataset of a group into v (MS_ENOMEM or MS_OK; a dataset it
 * cannot use is skipped with v->rank = -1). */
static ms_status read_var(hid_t g, const char *name, var *v)
{
    memset(v, 0, sizeof *v);
    v->rank = -1;
    snprintf(v->name, sizeof v->name, "%s", name);
    hid_t d = H5Dopen2(g, name, H5P_DEFAULT);
    if (d < 0)
        return MS_OK;
    hid_t sp = H5Dget_space(d), t = H5Dget_type(d);
    int rank = H5Sget_simple_extent_ndims(sp);
    H5T_class_t cl = H5Tget_class(t);
    ms_status st = MS_OK;
    if (rank >= 1 && rank <= MAXD &&
        (cl == H5T_FLOAT || cl == H5T_INTEGER || cl == H5T_STRING)) {
        v->rank = rank;
        H5Sget_simple_extent_dims(sp, v->shape, NULL);
        v->n = 1;
        for (int i = 0; i < rank; i++)
            v->n = v->shape[i] && v->n > ((size_t)1 << 40) / v->shape[i]
                       ? ((size_t)1 << 41) /* too large: refused below */
                       : v->n * (size_t)v->shape[i];
        v->is_scale = H5DSis_scale(d) > 0;
        for (int i = 0; i < rank; i++) {
            snprintf(v->dims[i], 64, "%s%d", "dim", i);
            if (v->is_scale && rank == 1)
                snprintf(v->dims[i], 64, "%s", name);
            else if (H5DSget_num_scales(d, (unsigned)i) > 0)
                H5DSiterate_scales(d, (unsigned)i, NULL, scale_name_cb,
                                   v->dims[i]);
        }
        if (ms_h5_attr_text(d, "units", v->units, sizeof v->units) < 0)
            st = MS_ERROR(MS_ENOMEM, "out of memory");
        if (cl == H5T_FLOAT && H5Aexists(d, "values") > 0) {
            v->labels = ms_malloc(65536);
            if (!v->labels)
                st = MS_ERROR(MS_ENOMEM, "out of memory");
            else if (ms_h5_attr_text(d, "values", v->labels, 65536) < 0)
                st = MS_ERROR(MS_ENOMEM, "out of memory");
            v->units[0] = '\0';
        }
        struct tm tmv;
        memset(&tmv, 0, sizeof tmv);
        if (cl == H5T_FLOAT &&
            sscanf(v->units, "seconds since %d-%d-%d", &tmv.tm_year,
                   &tmv.tm_mon, &tmv.tm_mday) == 3) {
            tmv.tm_year -= 1900;
            tmv.tm_mon -= 1;
            v->is_date = 1;
            v->epoch = timegm(&tmv);
            snprintf(v->units, sizeof v->units, "ISO 8601 (UTC)");
        }
        if (cl == H5T_INTEGER && H5Aexists(d, "_FillValue") > 0) {
            /* Checked read: one value, a number (ms_h5read.h). */
            char fvt[64], fname[1024] = "?";
            int found = 0;
            H5Fget_name(d, fname, sizeof fname);
            if (ms_h5r_attr_text((int64_t)d, fname, name, "_FillValue", fvt,
                                 sizeof fvt, &found) != MS_OK)
                ms_error_clear();
            else if (found == 1) {
                v->has_fill = 1;
                v->fill = strtod(fvt, NULL);
            }
        }
        size_t esz = cl == H5T_STRING && H5Tis_variable_str(t) <= 0
                         ? H5Tget_size(t) + 1 : 8;
        if (esz > 65537 || (v->n && v->n > ((size_t)1 << 40) / esz)) {
            /* Strings longer than any name, or more data than a run
             * writes: a damaged file; leave the variable out. */
            v->rank = -1;
            H5Tclose(t);
            H5Sclose(sp);
            H5Dclose(d);
            return MS_OK;
        }
        size_t n = v->n ? v->n : 1;
        herr_t e = 0;
        if (cl == H5T_FLOAT) {
            v->kind = K_F64;
            v->data = ms_malloc(n * sizeof(double));
            if (v->data && v->n)
                e = H5Dread(d, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL,
                            H5P_DEFAULT, v->data);
        } else if (cl == H5T_INTEGER) {
            int uns = H5Tget_sign(t) == H5T_SGN_NONE && H5Tget_size(t) == 8;
            v->kind = uns ? K_U64 : K_I64;
            v->data = ms_malloc(n * 8);
            if (v->data && v->n)
                e = H5Dread(d, uns ? H5T_NATIVE_UINT64 : H5T_NATIVE_INT64,
                            H5S_ALL, H5S_ALL, H5P_DEFAULT, v->data);
        } else {
            v->kind = K_STR;
            char **out = ms_calloc(n, sizeof *out);
            v->data = out;
            int vl = H5Tis_variable_str(t) > 0;
            size_t len = vl ? 0 : H5Tget_size(t);
            hid_t mt = H5Tcopy(H5T_C_S1);
            H5Tset_size(mt, vl ? H5T_VARIABLE : len);
            H5Tset_cset(mt, H5Tget_cset(t));
            void *raw = out ? ms_calloc(n, vl ? sizeof(char *) : len + 1)
                            : NULL;
            if (raw && v->n)
                e = H5Dread(d, mt, H5S_ALL, H5S_ALL, H5P_DEFAULT, raw);
            for (size_t k = 0; raw && e >= 0 && k < v->n; k++) {
                const char *s = vl ? ((char **)raw)[k] : (char *)raw + k * len;
                size_t m = vl ? (s ? strlen(s) : 0) : strnlen(s, len);
                out[k] = ms_malloc(m + 1);
                if (!out[k]) {
                    st = MS_ERROR(MS_ENOMEM, "out of memory");
                    break;
                }
                memcpy(out[k], s ? s : "", m);
                out[k][m] = '\0';
            }
            if (raw && vl && v->n && e >= 0)
                H5Dvlen_reclaim(mt, sp, H5P_DEFAULT, raw);
            ms_free(raw);
            H5Tclose(mt);
            if (!raw && st == MS_OK)
                st = MS_ERROR(MS_ENOMEM, "out of memory");
        }
        if (!v->data && st == MS_OK)
            st = MS_ERROR(MS_ENOMEM, "out of memory");
        if (e < 0) {
            H5Eclear2(H5E_DEFAULT);
            v->rank = -1; /* unreadable: leave it out */
        }
    }
    H5Tclose(t);
    H5Sclose(sp);
    H5Dclose(d);
    return st;
}

typedef struct list_ctx {
    char names[MAXV][128];
    int n;
} list_ctx;

static herr_t list_cb(hid_t g, const char *name, const H5L_info_t *info,
                      void *data)
{
    (void)info;
    list_ctx *c = data;
    H5O_info_t oi;
    if (c->n < MAXV && H5Oget_info_by_name(g, name, &oi, H5P_DEFAULT) >= 0 &&
        oi.type == H5O_TYPE_DATASET)
        snprintf(c->names[c->n++], 128, "%s", name);
    return 0;
}

static int has_dim(const var *v, const char *d)
{
    for (int i = 0; i < v->rank; i++)
        if (!strcmp(v->dims[i], d))
            return 1;
    return 0;
}

/* Every dimension of a is one of b's, and b has more. */
static int strict_subset(const var *a, const var *b)
{
    if (a->rank >= b->rank)
        return 0;
    for (int i = 0; i < a->rank; i++)
        if (!has_dim(b, a->dims[i]))
            return 0;
    return 1;
}

static int same_dims(const var *a, const var *b)
{
    if (a->rank != b->rank)
        return 0;
    for (int i = 0; i < a->rank; i++)
        if (strcmp(a->dims[i], b->dims[i]))
            return 0;
    return 1;
}

static void put_text(FILE *f, const char *s)
{
    if (!strpbrk(s, ",\"\n\r")) {
        fputs(s, f);
        return;
    }
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"')
            fputc('"', f);
        fputc(*s, f);
    }
    fputc('"', f);
}

static void put_value(FILE *f, const var *v, size_t k)
{
    if (k >= v->n) {
        fputs("NA", f);
        return;
    }
    switch (v->kind) {
    case K_F64: {
        double x = ((double *)v->data)[k];
        if (isnan(x)) {
            fputs("NA", f);
        } else if (v->labels) {
            /* The value's text (line x of `values`). */
            const char *p = v->labels;
            for (long i = 0; i < (long)x && p; i++) {
                p = strchr(p, '\n');
                p = p ? p + 1 : NULL;
            }
            if (!p || !*p) {
                fputs("NA", f);
            } else {
                char buf[1024];
                size_t m = strcspn(p, "\n");
                snprintf(buf, sizeof buf, "%.*s", (int)m, p);
                put_text(f, buf);
            }
        } else if (v->is_date) {
            time_t tt = v->epoch + (time_t)llround(x);
            struct tm tmv;
            char buf[32];
            gmtime_r(&tt, &tmv);
            strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tmv);
            fputs(buf, f);
        } else {
            fprintf(f, "%.17g", x);
        }
        break;
    }
    case K_I64: {
        long long x = (long long)((int64_t *)v->data)[k];
        if (v->has_fill && (double)x == v->fill)
            fputs("NA", f);
        else
            fprintf(f, "%lld", x);
        break;
    }
    case K_U64:
        fprintf(f, "%llu", (unsigned long long)((uint64_t *)v->data)[k]);
        break;
    default:
        put_text(f, ((char **)v->data)[k]);
    }
}

static const var *coord_of(const group *g, const char *dim)
{
    for (int i = 0; i < g->n; i++)
        if (g->v[i].is_scale && g->v[i].rank == 1 &&
            !strcmp(g->v[i].name, dim))
            return &g->v[i];
    return NULL;
}

/* Flat index into v of the table row whose index along dims[] is idx[]. */
static size_t flat(const var *v, const var *sig, const hsize_t *idx)
{
    size_t k = 0;
    for (int i = 0; i < v->rank; i++) {
        hsize_t at = 0;
        for (int j = 0; j < sig->rank; j++)
            if (!strcmp(sig->dims[j], v->dims[i]))
                at = idx[j];
        if (at >= v->shape[i])
            return (size_t)-1;
        k = k * (size_t)v->shape[i] + (size_t)at;
    }
    return k;
}

static ms_status write_table(const char *dir, const char *fname,
                             const group *g, const var *sig)
{
    char path[4400];
    snprintf(path, sizeof path, "%s/%s.csv", dir, fname);
    FILE *f = fopen(path, "w");
    if (!f)
        return MS_ERROR(MS_EIO, "%s: cannot write: %s", path, strerror(errno));
    const var *cols[MAXD + MAXV];
    int nc = 0;
    const var *coords[MAXD];
    for (int j = 0; j < sig->rank; j++)
        coords[j] = coord_of(g, sig->dims[j]);
    for (int i = 0; i < g->n; i++) {
        const var *v = &g->v[i];
        if (v->rank < 0 || v->is_scale)
            continue;
        if ((v->role == 1 && strict_subset(v, sig)) ||
            (v->role == 0 && same_dims(v, sig)))
            cols[nc++] = v;
    }
    fputs("# units: ", f);
    for (int j = 0; j < sig->rank; j++)
        fprintf(f, "%s%s", j ? "," : "", coords[j] ? coords[j]->units : "");
    for (int c = 0; c < nc; c++)
        fprintf(f, ",%s", cols[c]->units);
    fputc('\n', f);
    for (int j = 0; j < sig->rank; j++)
        fprintf(f, "%s%s", j ? "," : "", sig->dims[j]);
    for (int c = 0; c < nc; c++)
        fprintf(f, ",%s", cols[c]->name);
    fputc('\n', f);
    size_t rows = 1;
    for (int j = 0; j < sig->rank; j++)
        rows *= (size_t)sig->shape[j];
    hsize_t idx[MAXD] = {0};
    for (size_t r = 0; r < rows; r++) {
        size_t rem = r;
        for (int j = sig->rank - 1; j >= 0; j--) {
            idx[j] = rem % sig->shape[j];
            rem /= sig->shape[j];
        }
        for (int j = 0; j < sig->rank; j++) {
            if (j)
                fputc(',', f);
            if (coords[j])
                put_value(f, coords[j], (size_t)idx[j]);
            else
                fprintf(f, "%llu", (unsigned long long)idx[j]);
        }
        for (int c = 0; c < nc; c++) {
            fputc(',', f);
            put_value(f, cols[c], flat(cols[c], sig, idx));
        }
        fputc('\n', f);
    }
    int bad = ferror(f);
    bad |= fclose(f) != 0;
    if (bad)
        return MS_ERROR(MS_EIO, "%s: cannot write: %s", path, strerror(errno));
    return MS_OK;
}

/* Variables named startups_X (a sweep summary's start-up aggregates) make
 * tables of their own: `startups` is 0 for the others, 1 for them. */
static int left_out(const var *v, int startups)
{
    return (strncmp(v->name, "startups_", 9) == 0) != startups;
}

static int by_name(const void *a, const void *b) { return strcmp(a, b); }

static ms_status export_group(hid_t file, const char *gname, const char *base,
                              const char *dir, FILE *log, int startups)
{
    if (H5Lexists(file, gname, H5P_DEFAULT) <= 0)
        return MS_OK;
    hid_t g = H5Gopen2(file, gname, H5P_DEFAULT);
    if (g < 0)
        return MS_OK;
    list_ctx lc;
    lc.n = 0;
    /* HDF5's native order, sorted here (see info.c for why). */
    H5Literate(g, H5_INDEX_NAME, H5_ITER_NATIVE, NULL, list_cb, &lc);
    H5Eclear2(H5E_DEFAULT);
    qsort(lc.names, (size_t)lc.n, sizeof lc.names[0], by_name);
    group *gr = ms_calloc(1, sizeof *gr);
    if (!gr) {
        H5Gclose(g);
        return MS_ERROR(MS_ENOMEM, "out of memory");
    }
    ms_status st = MS_OK;
    for (int i = 0; i < lc.n && st == MS_OK; i++) {
        st = read_var(g, lc.names[i], &gr->v[gr->n]);
        var *v = &gr->v[gr->n++];
        if (!v->is_scale && left_out(v, startups))
            v->rank = -1; /* in the other family's tables */
    }
    H5Gclose(g);
    /* Facts without time (and the 1-D time coordinates) go into the
     * tables whose dimensions include theirs. */
    for (int i = 0; i < gr->n; i++) {
        var *v = &gr->v[i];
        if (v->rank < 0 || v->is_scale)
            continue;
        int only_time = v->rank == 1 && !strcmp(v->dims[0], "time");
        if (!has_dim(v, "time") || only_time)
            for (int k = 0; k < gr->n; k++) {
                const var *w = &gr->v[k];
                if (w->rank >= 0 && !w->is_scale && strict_subset(v, w) &&
                    (has_dim(w, "time") || !has_dim(v, "time")))
                    v->role = 1;
            }
    }
    /* Tables: the distinct dimensions of the other variables; the one
     * with the most variables is named after the group. */
    int sig[MAXV], count[MAXV], ns = 0, best = -1;
    for (int i = 0; i < gr->n; i++) {
        const var *v = &gr->v[i];
        if (v->rank < 0 || v->is_scale || v->role)
            continue;
        int k = 0;
        while (k < ns && !same_dims(&gr->v[sig[k]], v))
            k++;
        if (k == ns) {
            sig[ns] = i;
            count[ns++] = 0;
        }
        count[k]++;
        if (best < 0 || count[k] > count[best])
            best = k;
    }
    for (int k = 0; k < ns && st == MS_OK; k++) {
        const var *s = &gr->v[sig[k]];
        char fname[512];
        size_t len = (size_t)snprintf(fname, sizeof fname, "%s", base);
        if (k != best) {
            /* Named by its dimensions that not every table has. */
            len += (size_t)snprintf(fname + len, sizeof fname - len, "_by");
            for (int j = 0; j < s->rank; j++) {
                int common = 1;
                for (int q = 0; q < ns; q++)
                    common &= has_dim(&gr->v[sig[q]], s->dims[j]);
                if (!common)
                    len += (size_t)snprintf(fname + len, sizeof fname - len,
                                            "_%s", s->dims[j]);
            }
        }
        st = write_table(dir, fname, gr, s);
        if (st == MS_OK && log)
            fprintf(log, "%s/%s.csv\n", dir, fname);
    }
    free_group(gr);
    ms_free(gr);
    return st;
}

ms_status ms_export_csv(const char *path, const char *dir, FILE *log)
{
    int64_t fid;
    MS_CALL(ms_h5_open_result(path, &fid));
    hid_t file = (hid_t)fid;
    char title[64];
    hid_t root = H5Gopen2(file, "/", H5P_DEFAULT);
    int got = ms_h5_attr_text(root, "title", title, sizeof title);
    H5Gclose(root);
    if (got < 0) {
        H5Fclose(file);
        return MS_ERROR(MS_ENOMEM, "out of memory");
    }
    if (strncmp(title, "marketsim", 9) != 0) {
        H5Fclose(file);
        return MS_ERROR(MS_EINPUT, "%s: error: an HDF5 file, but not a "
                        "marketsim result (no title attribute)", path);
    }
    if (mkdir(dir, 0777) != 0 && errno != EEXIST) {
        int e = errno;
        H5Fclose(file);
        return MS_ERROR(MS_EIO, "%s: cannot create the folder: %s", dir,
                        strerror(e));
    }
    static const char *const groups[][2] = {
        {"/market", "markets"}, {"/firm", "firms"}, {"/events", "events"},
        {"/targets", "targets"}, {"/runs", "runs"}, {"/summary", "summary"},
        {"/startups", "startups"}};
    ms_status st = MS_OK;
    for (size_t i = 0; i < sizeof groups / sizeof groups[0] && st == MS_OK;
         i++)
        st = export_group(file, groups[i][0], groups[i][1], dir, log, 0);
    if (st == MS_OK)
        st = export_group(file, "/summary", "summary_startups", dir, log, 1);
    H5Fclose(file);
    H5Eclear2(H5E_DEFAULT);
    return st;
}
