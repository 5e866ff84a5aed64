/*
 * summary.c: /summary of a sweep file: for each parameter point and each
 * kept floating-point output, the mean and standard deviation over the
 * replications that finished, and their number n.
 *
 * It is computed from the file, point after point and run after run in
 * index order, so it is the same bits whatever order the runs finished in,
 * whichever rank or shard ran them; a sweep writes it when it ends and a
 * merge recomputes it. (The sd is the sample sd, n - 1 in the denominator;
 * NaN where n < 2.)
 */
#include "sweep/sweep_int.h"

#include "core/ms_output.h"
#include "io/ms_h5.h"
#include "io/ms_h5read.h"
#include "marketsim/ms_alloc.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

ms_status ms_sweep_write_summary(ms_h5 *h);

/* A count of the sweep (points, replications, runs): at most 2^32, what
 * a design may hold. */
static ms_status attr_int(ms_h5 *h, const char *name, int64_t *v)
{
    return ms_h5r_attr_i64(ms_h5_file_id(h), ms_h5_path(h), "/", name, 1,
                           (int64_t)1 << 32, v);
}

/* Copy a names coordinate of `src_group` into /summary. */
static ms_status copy_names(ms_h5 *h, const char *src, const char *dim,
                            const char *long_name)
{
    char **names;
    int n;
    MS_CALL(ms_h5_names_read(h, src, &names, &n));
    ms_status st = ms_h5_dim_names(h, "/summary", dim,
                                   (const char *const *)names, n, long_name);
    ms_h5_names_free(names, n);
    return st;
}

static ms_status summarize_var(ms_h5 *h, const char *group, const char *name,
                               int64_t P, int64_t reps, const int8_t *status,
                               int64_t *count)
{
    char path[256];
    snprintf(path, sizeof path, "%s/%s", group, name);
    ms_outvar_meta m;
    char units[64], lname[256], prefixed[128];
    const char *out_name = name;
    if (!strcmp(group, "/startups")) {
        /* Aggregates of start-ups over (home, category): summarized as
         * startups_X. */
        if (!strcmp(name, "run") || !strcmp(name, "time") ||
            !strcmp(name, "home") || !strcmp(name, "category") ||
            !strcmp(name, "market"))
            return MS_OK;
        MS_CALL(ms_h5_attr_read(h, path, "units", units, sizeof units));
        MS_CALL(ms_h5_attr_read(h, path, "long_name", lname, sizeof lname));
        memset(&m, 0, sizeof m);
        m.units = units;
        m.long_name = lname;
        m.type = MS_H5_F64;
        m.ndims = 2;
        m.dims[0] = !strcmp(name, "market_users") ? "market" : "home";
        m.dims[1] = "category";
        snprintf(prefixed, sizeof prefixed, "startups_%s", name);
        out_name = prefixed;
    } else {
        int idx = ms_outvar_find(name);
        if (idx < 0)
            return MS_OK;
        ms_outvar_get(idx, &m);
        if (m.type != MS_H5_F64)
            return MS_OK;
    }
    ms_h5var *v;
    MS_CALL(ms_h5_var_open(h, path, MS_H5_F64, &v));
    int64_t dims[8];
    int rank = ms_h5_var_shape(v, dims);
    if (rank < 1 || dims[0] != P * reps)
        return MS_ERROR(MS_EINPUT, "%s: error: %s: expected %lld runs along "
                        "its first dimension, found %lld", ms_h5_path(h),
                        path, (long long)(P * reps),
                        (long long)(rank < 1 ? 0 : dims[0]));
    size_t slab = 1;
    for (int i = 1; i < rank; i++)
        slab *= (size_t)dims[i];
    const char *sdims[7] = {"point", "time"};
    for (int d = 0; d < m.ndims; d++)
        sdims[2 + d] = m.dims[d];
    char mname[160], sname[160];
    snprintf(mname, sizeof mname, "%s_mean", out_name);
    snprintf(sname, sizeof sname, "%s_sd", out_name);
    ms_h5var *vm, *vs;
    char ln[512];
    snprintf(ln, sizeof ln, "mean %s", m.long_name);
    MS_CALL(ms_h5_var_indexed(h, "/summary", mname, MS_H5_F64, 2 + m.ndims,
                              sdims, m.units, ln, &vm));
    snprintf(ln, sizeof ln, "sd of %s", m.long_name);
    MS_CALL(ms_h5_var_indexed(h, "/summary", sname, MS_H5_F64, 2 + m.ndims,
                              sdims, m.units, ln, &vs));
    if (ms_h5_var_slab_bytes(vm) != slab * sizeof(double) ||
        ms_h5_var_slab_bytes(vs) != slab * sizeof(double))
        return MS_ERROR(MS_EINPUT, "%s: error: %s: expected the shape its "
                        "coordinates give, found another", ms_h5_path(h),
                        path);
    double *x = ms_malloc(slab * sizeof *x), *sum = ms_malloc(slab * sizeof *sum),
           *sq = ms_malloc(slab * sizeof *sq);
    ms_status st = x && sum && sq ? MS_OK : MS_ERROR(MS_ENOMEM, "out of memory");
    for (int64_t p = 0; p < P && st == MS_OK; p++) {
        int64_t n = 0;
        for (size_t i = 0; i < slab; i++)
            sum[i] = sq[i] = 0;
        for (int64_t k = 0; k < reps && st == MS_OK; k++) {
            int64_t r = p * reps + k;
            if (status[r] != 1)
                continue;
            st = ms_h5_read_index(v, r, x);
            for (size_t i = 0; st == MS_OK && i < slab; i++)
                sum[i] += x[i];
            n++;
        }
        for (size_t i = 0; i < slab; i++)
            sum[i] = n ? sum[i] / (double)n : NAN;
        for (int64_t k = 0; k < reps && st == MS_OK && n > 1; k++) {
            int64_t r = p * reps + k;
            if (status[r] != 1)
                continue;
            st = ms_h5_read_index(v, r, x);
            for (size_t i = 0; st == MS_OK && i < slab; i++)
                sq[i] += (x[i] - sum[i]) * (x[i] - sum[i]);
        }
        for (size_t i = 0; i < slab; i++)
            sq[i] = n > 1 ? sqrt(sq[i] / (double)(n - 1)) : NAN;
        if (st == MS_OK)
            st = ms_h5_write_index(vm, p, sum);
        if (st == MS_OK)
            st = ms_h5_write_index(vs, p, sq);
        count[p] = n;
    }
    ms_free(x);
    ms_free(sum);
    ms_free(sq);
    return st;
}

ms_status ms_sweep_write_summary(ms_h5 *h)
{
    int64_t P, reps, R;
    MS_CALL(attr_int(h, "points", &P));
    MS_CALL(attr_int(h, "replications", &reps));
    MS_CALL(attr_int(h, "runs", &R));
    if (R != P * reps)
        return MS_ERROR(MS_EINPUT, "%s: error: attribute runs of /: expected "
                        "points x replications = %lld, found %lld",
                        ms_h5_path(h), (long long)(P * reps), (long long)R);
    MS_CALL(ms_h5_unlink(h, "/summary"));
    MS_CALL(ms_h5_group(h, "/summary"));
    MS_CALL(ms_h5_dim_index(h, "/summary", "point", (int)P,
                            "parameter point"));
    /* Coordinates the outputs need. */
    ms_h5var *tv;
    MS_CALL(ms_h5_var_open(h, "/market/time", MS_H5_F64, &tv));
    int64_t tdims[8];
    if (ms_h5_var_shape(tv, tdims) != 1)
        return MS_ERROR(MS_EINPUT, "%s: error: /market/time: expected rank "
                        "1, found another", ms_h5_path(h));
    double *times = ms_malloc((size_t)tdims[0] * sizeof *times + 8);
    if (!times)
        return MS_ERROR(MS_ENOMEM, "out of memory");
    ms_status st = ms_h5_read_all(tv, times);
    if (st == MS_OK)
        st = ms_h5_dim_values(h, "/summary", "time", times, (int)tdims[0],
                              "year", "time");
    ms_free(times);
    MS_CALL(st);
    MS_CALL(copy_names(h, "/market/market", "market", "market"));
    MS_CALL(copy_names(h, "/market/category", "category", "product category"));
    MS_CALL(copy_names(h, "/firm/firm", "firm", "firm"));
    if (ms_h5_exists(h, "/startups/home"))
        MS_CALL(copy_names(h, "/startups/home", "home", "home market"));
    MS_CALL(copy_names(h, "/firm/strategy", "strategy", "strategy"));

    int8_t *status = ms_calloc((size_t)R + 1, 1);
    int64_t *point = ms_calloc((size_t)R + 1, sizeof *point);
    int64_t *count = ms_calloc((size_t)P + 1, sizeof *count);
    double *pv = ms_calloc((size_t)P + 1, sizeof *pv), *rv = ms_calloc((size_t)R + 1, sizeof *rv);
    if (!status || !point || !count || !pv || !rv)
        st = MS_ERROR(MS_ENOMEM, "out of memory");
    ms_h5var *v;
    if (st == MS_OK)
        st = ms_h5_var_open(h, "/runs/status", MS_H5_I8, &v);
    if (st == MS_OK)
        st = ms_h5_var_expect(v, 1, &R);
    if (st == MS_OK)
        st = ms_h5_read_all(v, status);
    /* The varied parameters, one value per point. */
    char **names = NULL;
    int nn = 0;
    if (st == MS_OK)
        st = ms_h5_list_marked(h, "/runs", "sweep_run_axis", &names, &nn);
    static const char *const fixed[] = {"point", "replicate", "seed",
                                        "status", "wall_seconds", "message",
                                        "checksum"};
    const char *pd[1] = {"point"};
    for (int i = 0; i < nn && st == MS_OK; i++) {
        int skip = 0;
        for (size_t k = 0; k < sizeof fixed / sizeof fixed[0]; k++)
            skip |= !strcmp(names[i], fixed[k]);
        if (skip)
            continue;
        char path[512];
        snprintf(path, sizeof path, "/runs/%s", names[i]);
        st = ms_h5_var_open(h, path, MS_H5_F64, &v);
        if (st == MS_OK)
            st = ms_h5_var_expect(v, 1, &R);
        if (st == MS_OK)
            st = ms_h5_read_all(v, rv);
        for (int64_t p = 0; st == MS_OK && p < P; p++)
            pv[p] = rv[p * reps];
        ms_h5var *out;
        if (st == MS_OK)
            st = ms_h5_var_indexed(h, "/summary", names[i], MS_H5_F64, 1, pd,
                                   "-", "varied parameter", &out);
        if (st == MS_OK)
            st = ms_h5_write(out, pv);
        /* Values that are not numbers: keep their text, as /runs does. */
        char values[8192], spath[600];
        if (st == MS_OK) {
            if (ms_h5_attr_read(h, path, "values", values, sizeof values) ==
                MS_OK) {
                snprintf(spath, sizeof spath, "/summary/%s", names[i]);
                st = ms_h5_attr_str(h, spath, "values", values);
            } else
                ms_error_clear(); /* no such attribute: numbers only */
        }
    }
    ms_h5_names_free(names, nn);
    names = NULL;
    /* Mean and sd of every kept floating-point output. */
    static const char *const groups[3] = {"/market", "/firm", "/startups"};
    for (int g = 0; g < 3 && st == MS_OK; g++) {
        st = ms_h5_list_marked(h, groups[g], "sweep_run_axis", &names, &nn);
        for (int i = 0; i < nn && st == MS_OK; i++)
            st = summarize_var(h, groups[g], names[i], P, reps, status, count);
        ms_h5_names_free(names, nn);
        names = NULL;
    }
    if (st == MS_OK) {
        for (int64_t p = 0; p < P; p++) {
            count[p] = 0;
            for (int64_t k = 0; k < reps; k++)
                count[p] += status[p * reps + k] == 1;
        }
        st = ms_h5_var_indexed(h, "/summary", "n", MS_H5_I64, 1, pd, "1",
                               "finished replications at the point", &v);
        if (st == MS_OK)
            st = ms_h5_write(v, count);
    }
    ms_free(status);
    ms_free(point);
    ms_free(count);
    ms_free(pv);
    ms_free(rv);
    return st;
}
