/*
 * summary.c: /summary of a sweep file: for each parameter point and each
 * kept floating-point output, the mean and standard deviation over the
 * replications that finished, their number n, and what a fold needs to go
 * on (the sum of squared deviations m2, the replications folded).
 *
 * Every summary is one fold, ms_sweep_fold (Welford's update), of the
 * finished runs of a point in replicate order: a sweep with full outputs
 * folds them from the file when it ends (and a merge when it is made); a
 * summary-only sweep (outputs: summary) folds each run as it finishes,
 * in the same order (farm.c), so both give the same bits, whatever order
 * the runs finished in, whichever thread or rank ran them. (The sd is the
 * sample sd, n - 1 in the denominator; NaN where n < 2; mean and m2 NaN
 * where n = 0.)
 */
#include "sweep/sweep_int.h"

#include "core/ms_output.h"
#include "io/ms_h5.h"
#include "io/ms_h5read.h"
#include "marketsim/ms_alloc.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

void ms_sweep_fold(double *mean, double *m2, int64_t n, const double *x,
                   size_t len)
{
    if (n == 0)
        for (size_t i = 0; i < len; i++)
            mean[i] = m2[i] = 0;
    const double k = (double)(n + 1);
    for (size_t i = 0; i < len; i++) {
        double d = x[i] - mean[i];
        mean[i] += d / k;
        m2[i] += d * (x[i] - mean[i]);
    }
}

void ms_sweep_fold_sd(const double *m2, int64_t n, double *sd, size_t len)
{
    for (size_t i = 0; i < len; i++)
        sd[i] = n > 1 ? sqrt(m2[i] / (double)(n - 1)) : NAN;
}

int ms_sweep_sumvar_of(const char *group, const char *name,
                       const char *units, const char *long_name,
                       ms_sweep_sumvar *v)
{
    memset(v, 0, sizeof *v);
    if (!strcmp(group, "/startups")) {
        /* Aggregates of start-ups over (home, category): summarized as
         * startups_X. */
        if (!strcmp(name, "run") || !strcmp(name, "time") ||
            !strcmp(name, "home") || !strcmp(name, "category") ||
            !strcmp(name, "market") || !strcmp(name, "date"))
            return 0;
        snprintf(v->name, sizeof v->name, "startups_%s", name);
        snprintf(v->units, sizeof v->units, "%s", units ? units : "");
        snprintf(v->long_name, sizeof v->long_name, "%s",
                 long_name ? long_name : "");
        v->ndims = 2;
        snprintf(v->dims[0], sizeof v->dims[0], "%s",
                 !strcmp(name, "market_users") ? "market" : "home");
        snprintf(v->dims[1], sizeof v->dims[1], "category");
        return 1;
    }
    int idx = ms_outvar_find(name);
    if (idx < 0)
        return 0;
    ms_outvar_meta m;
    ms_outvar_get(idx, &m);
    if (m.type != MS_H5_F64)
        return 0;
    snprintf(v->name, sizeof v->name, "%s", name);
    snprintf(v->units, sizeof v->units, "%s", m.units);
    snprintf(v->long_name, sizeof v->long_name, "%s", m.long_name);
    v->ndims = m.ndims;
    for (int d = 0; d < m.ndims; d++)
        snprintf(v->dims[d], sizeof v->dims[d], "%s", m.dims[d]);
    return 1;
}

static const char *const acc_desc[3] = {
    "mean over the finished replications of the point",
    "sample standard deviation over them (n - 1 in the denominator; NaN "
    "where n < 2)",
    "sum of squared deviations from the mean over them (Welford's m2: "
    "sd = sqrt(m2 / (n - 1)); what a summary-only sweep folds on)"};

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

/* X_mean, X_sd, X_m2 of one summarized output, marked as accumulators. */
static ms_status acc_vars(ms_h5 *h, const ms_sweep_sumvar *sv, int inplace,
                          ms_h5var *out[3])
{
    static const char *const suffix[3] = {"mean", "sd", "m2"};
    static const char *const what[3] = {"mean %s", "sd of %s",
                                        "sum of squared deviations of %s"};
    const char *sdims[8] = {"point", "time"};
    for (int d = 0; d < sv->ndims; d++)
        sdims[2 + d] = sv->dims[d];
    for (int k = 0; k < 3; k++) {
        char name[160], ln[512], units[160], path[200];
        snprintf(name, sizeof name, "%s_%s", sv->name, suffix[k]);
        snprintf(ln, sizeof ln, what[k], sv->long_name);
        if (k == 2 && strcmp(sv->units, "1") != 0)
            snprintf(units, sizeof units, "(%s)^2", sv->units);
        else
            snprintf(units, sizeof units, "%s", sv->units);
        MS_CALL((inplace ? ms_h5_var_inplace : ms_h5_var_indexed)(
            h, "/summary", name, MS_H5_F64, 2 + sv->ndims, sdims, units, ln,
            &out[k]));
        snprintf(path, sizeof path, "/summary/%s", name);
        MS_CALL(ms_h5_attr_str(h, path, "description", acc_desc[k]));
        MS_CALL(ms_h5_attr_i64(h, path, "summary_accumulator", 0));
    }
    return MS_OK;
}

ms_status ms_sweep_summary_layout(ms_h5 *h, int64_t P, int64_t reps,
                                  int n_vars, const ms_sweep_sumvar *vars,
                                  int inplace, ms_h5var **acc,
                                  ms_h5var **v_n, ms_h5var **v_folded,
                                  ms_h5var **v_check)
{
    ms_status (*var)(ms_h5 *, const char *, const char *, ms_h5type, int,
                     const char *const *, const char *, const char *,
                     ms_h5var **) = inplace ? ms_h5_var_inplace
                                            : ms_h5_var_indexed;
    const int64_t R = P * reps;
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

    double *pv = ms_calloc((size_t)P + 1, sizeof *pv),
           *rv = ms_calloc((size_t)R + 1, sizeof *rv);
    if (!pv || !rv)
        st = MS_ERROR(MS_ENOMEM, "out of memory");
    /* The varied parameters, one value per point. */
    char **names = NULL;
    int nn = 0;
    ms_h5var *v;
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
    ms_free(pv);
    ms_free(rv);
    MS_CALL(st);
    for (int j = 0; j < n_vars; j++)
        MS_CALL(acc_vars(h, &vars[j], inplace, &acc[3 * j]));
    MS_CALL(var(h, "/summary", "n", MS_H5_I64, 1, pd, "1",
                "finished replications at the point", v_n));
    MS_CALL(ms_h5_attr_i64(h, "/summary/n", "summary_accumulator", 0));
    MS_CALL(var(h, "/summary", "folded", MS_H5_I64, 1, pd, "1",
                "replications folded into the summary: finished or failed",
                v_folded));
    MS_CALL(ms_h5_attr_str(h, "/summary/folded", "description",
                           "a summary-only sweep folds the runs of a point "
                           "in replicate order: replicates 0 .. folded-1 "
                           "are in it (failed ones count here, not in n)"));
    MS_CALL(ms_h5_attr_i64(h, "/summary/folded", "summary_accumulator", 0));
    MS_CALL(var(h, "/summary", "checksum", MS_H5_I64, 1, pd, "1",
                "checksum of the point's summary (64-bit FNV-1a, as int64)",
                v_check));
    MS_CALL(ms_h5_attr_str(h, "/summary/checksum", "description",
                           "FNV-1a hash of the point's slab of every "
                           "/summary dataset with summary_accumulator, in "
                           "the order of their paths, as stored "
                           "(docs/OUTPUT.md)"));
    return MS_OK;
}

/* Fold the finished runs of each point of one per-run dataset, in
 * replicate order, into its X_mean, X_sd, X_m2. */
static ms_status summarize_var(ms_h5 *h, const char *group,
                               const ms_sweep_sumvar *sv, int64_t P,
                               int64_t reps, const int8_t *status,
                               ms_h5var *const acc[3])
{
    char path[256];
    const char *name = strncmp(sv->name, "startups_", 9) ||
                               strcmp(group, "/startups")
                           ? sv->name
                           : sv->name + 9;
    snprintf(path, sizeof path, "%s/%s", group, name);
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
    for (int k = 0; k < 3; k++)
        if (ms_h5_var_slab_bytes(acc[k]) != slab * sizeof(double))
            return MS_ERROR(MS_EINPUT, "%s: error: %s: expected the shape "
                            "its coordinates give, found another",
                            ms_h5_path(h), path);
    double *x = ms_malloc(slab * sizeof *x),
           *mean = ms_malloc(slab * sizeof *mean),
           *m2 = ms_malloc(slab * sizeof *m2),
           *sd = ms_malloc(slab * sizeof *sd);
    ms_status st = x && mean && m2 && sd ? MS_OK
                                         : MS_ERROR(MS_ENOMEM, "out of memory");
    for (int64_t p = 0; p < P && st == MS_OK; p++) {
        int64_t n = 0;
        for (size_t i = 0; i < slab; i++)
            mean[i] = m2[i] = NAN;
        for (int64_t k = 0; k < reps && st == MS_OK; k++) {
            int64_t r = p * reps + k;
            if (status[r] != 1)
                continue;
            st = ms_h5_read_index(v, r, x);
            if (st == MS_OK)
                ms_sweep_fold(mean, m2, n++, x, slab);
        }
        ms_sweep_fold_sd(m2, n, sd, slab);
        if (st == MS_OK)
            st = ms_h5_write_index(acc[0], p, mean);
        if (st == MS_OK)
            st = ms_h5_write_index(acc[1], p, sd);
        if (st == MS_OK)
            st = ms_h5_write_index(acc[2], p, m2);
    }
    ms_free(x);
    ms_free(mean);
    ms_free(m2);
    ms_free(sd);
    return st;
}

/* The summarized outputs of a file with the runs' arrays. */
static ms_status file_sumvars(ms_h5 *h, ms_sweep_sumvar **out, char ***grp,
                              int *n_out)
{
    static const char *const groups[3] = {"/market", "/firm", "/startups"};
    ms_sweep_sumvar *vars = NULL;
    char **vg = NULL;
    int n = 0;
    ms_status st = MS_OK;
    for (int g = 0; g < 3 && st == MS_OK; g++) {
        char **names = NULL;
        int nn = 0;
        st = ms_h5_list_marked(h, groups[g], "sweep_run_axis", &names, &nn);
        if (st == MS_OK && nn) {
            ms_sweep_sumvar *q = ms_realloc(vars, (size_t)(n + nn) * sizeof *q);
            char **qg = ms_realloc(vg, (size_t)(n + nn) * sizeof *qg);
            if (q)
                vars = q;
            if (qg)
                vg = qg;
            if (!q || !qg)
                st = MS_ERROR(MS_ENOMEM, "out of memory");
        }
        for (int i = 0; i < nn && st == MS_OK; i++) {
            char path[256], units[64] = "", lname[256] = "";
            snprintf(path, sizeof path, "%s/%s", groups[g], names[i]);
            if (g == 2) {
                st = ms_h5_attr_read(h, path, "units", units, sizeof units);
                if (st == MS_OK)
                    st = ms_h5_attr_read(h, path, "long_name", lname,
                                         sizeof lname);
            }
            if (st == MS_OK &&
                ms_sweep_sumvar_of(groups[g], names[i], units, lname,
                                   &vars[n]))
                vg[n++] = (char *)groups[g];
        }
        ms_h5_names_free(names, nn);
    }
    if (st != MS_OK) {
        ms_free(vars);
        ms_free(vg);
        return st;
    }
    *out = vars;
    *grp = vg;
    *n_out = n;
    return MS_OK;
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
    int8_t *status = ms_calloc((size_t)R + 1, 1);
    int64_t *count = ms_calloc((size_t)P + 1, sizeof *count),
            *folded = ms_calloc((size_t)P + 1, sizeof *folded);
    uint64_t *sums = ms_calloc((size_t)P + 1, sizeof *sums);
    int8_t *all = ms_calloc((size_t)P + 1, 1);
    ms_sweep_sumvar *vars = NULL;
    char **vg = NULL;
    int nv = 0;
    ms_h5var **acc = NULL, *v_n, *v_folded, *v_check, *v;
    ms_status st = status && count && folded && sums && all
                       ? MS_OK
                       : MS_ERROR(MS_ENOMEM, "out of memory");
    if (st == MS_OK)
        st = ms_h5_var_open(h, "/runs/status", MS_H5_I8, &v);
    if (st == MS_OK)
        st = ms_h5_var_expect(v, 1, &R);
    if (st == MS_OK)
        st = ms_h5_read_all(v, status);
    if (st == MS_OK)
        st = file_sumvars(h, &vars, &vg, &nv);
    if (st == MS_OK && !(acc = ms_calloc(3 * (size_t)nv + 1, sizeof *acc)))
        st = MS_ERROR(MS_ENOMEM, "out of memory");
    if (st == MS_OK)
        st = ms_sweep_summary_layout(h, P, reps, nv, vars, 0, acc, &v_n,
                                     &v_folded, &v_check);
    /* Mean and sd of every kept floating-point output. */
    for (int j = 0; j < nv && st == MS_OK; j++)
        st = summarize_var(h, vg[j], &vars[j], P, reps, status, &acc[3 * j]);
    for (int64_t p = 0; p < P; p++) {
        for (int64_t k = 0; k < reps; k++) {
            count[p] += status[p * reps + k] == 1;
            folded[p] += status[p * reps + k] != 0;
        }
        all[p] = 1;
    }
    if (st == MS_OK)
        st = ms_h5_write(v_n, count);
    if (st == MS_OK)
        st = ms_h5_write(v_folded, folded);
    static const char *const sg[1] = {"/summary"};
    if (st == MS_OK)
        st = ms_h5_slab_checksums(ms_h5_file_id(h), ms_h5_path(h), sg, 1,
                                  "summary_accumulator", P, all, sums);
    if (st == MS_OK)
        st = ms_h5_write(v_check, sums);
    ms_free(status);
    ms_free(count);
    ms_free(folded);
    ms_free(sums);
    ms_free(all);
    ms_free(vars);
    ms_free(vg);
    ms_free(acc);
    return st;
}
