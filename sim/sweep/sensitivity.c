/*
 * sensitivity.c: the estimators behind "which parameters matter".
 *
 * Variance-based (Sobol) indices come from a Saltelli design: two base
 * matrices A and B of n rows and k columns, and for each parameter j the
 * matrix AB_j, A with column j from B. First-order indices use the
 * estimator of Saltelli et al. (2010, Comput. Phys. Commun. 181, table 2,
 * (b)), total indices Jansen's (1999); both are divided by the variance
 * of the outputs of A and B together. The first-order estimator is applied
 * to the output less the mean of f_A and f_B: a shift that leaves every
 * index as it is (E[f_ABj - f_A] = 0) but keeps an output with a large
 * mean from swamping the estimate with noise. Morris's elementary effects come
 * from one-at-a-time trajectories on a grid of `levels` values (Morris
 * 1991), summarized by mu, mu* (Campolongo et al. 2007) and sigma.
 *
 * Intervals are percentile bootstrap intervals: the base rows (or the
 * trajectories) are resampled with replacement, `resamples` times, each
 * resample from its own Philox stream of a fixed seed, so the same inputs
 * give the same bits on every machine, thread count or call order.
 */
#include "marketsim/ms_sensitivity.h"

#include "marketsim/ms_alloc.h"
#include "rng/ms_rng.h"

#include <gsl/gsl_qrng.h>
#include <gsl/gsl_rng.h>
#include <gsl/gsl_sort.h>
#include <gsl/gsl_statistics_double.h>
#include <math.h>
#include <string.h>

/* Streams of this file, apart from the Latin hypercube's (step 0 of
 * MS_PH_DESIGN): Morris trajectories and bootstrap resamples. */
#define STEP_MORRIS 1u
#define STEP_BOOTSTRAP 2u

ms_status ms_sens_saltelli_design(int64_t n, int k, double *x)
{
    if (k < 1 || k > MS_SENS_MAX_SALTELLI)
        return MS_ERROR(MS_EINPUT, "a saltelli design takes 1 to %d "
                        "parameters (its Sobol sequence has 2k dimensions, "
                        "at most 40); got %d", MS_SENS_MAX_SALTELLI, k);
    if (n < 1 || (n & (n - 1)))
        return MS_ERROR(MS_EINPUT, "a saltelli design needs a power of 2 "
                        "base samples; got %lld", (long long)n);
    gsl_qrng *q = gsl_qrng_alloc(gsl_qrng_sobol, (unsigned)(2 * k));
    if (!q)
        return MS_ERROR(MS_ENOMEM, "out of memory");
    double u[2 * MS_SENS_MAX_SALTELLI];
    gsl_qrng_get(q, u); /* the origin */
    const int64_t P = k + 2;
    for (int64_t i = 0; i < n; i++) {
        gsl_qrng_get(q, u);
        for (int64_t b = 0; b < P; b++) {
            double *row = x + (i * P + b) * k;
            for (int j = 0; j < k; j++) {
                int from_b = b == P - 1 || (b >= 1 && b - 1 == j);
                row[j] = from_b ? u[k + j] : u[j];
            }
        }
    }
    gsl_qrng_free(q);
    return MS_OK;
}

double ms_sens_morris_delta(int levels)
{
    return levels / (2.0 * (levels - 1));
}

ms_status ms_sens_morris_design(uint64_t seed, int r, int k, int levels,
                                double *x)
{
    if (k < 1 || k > MS_SENS_MAX_MORRIS)
        return MS_ERROR(MS_EINPUT, "a morris design takes 1 to %d "
                        "parameters; got %d", MS_SENS_MAX_MORRIS, k);
    if (levels < 2 || levels > 1000 || levels % 2)
        return MS_ERROR(MS_EINPUT, "morris levels: expected an even number "
                        "in [2, 1000], got %d", levels);
    gsl_rng *g = ms_rng_gsl_alloc();
    if (!g)
        return MS_ERROR(MS_ENOMEM, "out of memory");
    ms_rng_key key = ms_rng_key_from_seed(seed);
    const double delta = ms_sens_morris_delta(levels);
    int order[MS_SENS_MAX_MORRIS];
    double cur[MS_SENS_MAX_MORRIS];
    for (int t = 0; t < r; t++) {
        ms_rng_gsl_reset(g, key, (uint32_t)t, STEP_MORRIS, MS_PH_DESIGN, 0);
        for (int j = 0; j < k; j++) {
            cur[j] = (double)gsl_rng_uniform_int(g, (unsigned long)levels) /
                     (levels - 1);
            order[j] = j;
        }
        /* Fisher-Yates from the same stream. */
        for (int j = k - 1; j > 0; j--) {
            int m = (int)gsl_rng_uniform_int(g, (unsigned long)j + 1);
            int tmp = order[j];
            order[j] = order[m];
            order[m] = tmp;
        }
        double *p = x + (int64_t)t * (k + 1) * k;
        memcpy(p, cur, (size_t)k * sizeof *cur);
        for (int s = 1; s <= k; s++) {
            int j = order[s - 1];
            /* Up from the lower half of the grid, down from the upper:
             * the step stays inside [0, 1]. */
            cur[j] = cur[j] + delta <= 1 + 1e-12 ? cur[j] + delta
                                                 : cur[j] - delta;
            if (cur[j] < 0)
                cur[j] = 0;
            if (cur[j] > 1)
                cur[j] = 1;
            memcpy(p + (int64_t)s * k, cur, (size_t)k * sizeof *cur);
        }
    }
    ms_rng_gsl_free(g);
    return MS_OK;
}

/* The percentile interval of the (sorted in place) values v[0..n-1]. */
static void percentile(double *v, size_t n, double conf, ms_sens_ci *ci)
{
    size_t m = 0;
    for (size_t i = 0; i < n; i++)
        if (isfinite(v[i]))
            v[m++] = v[i];
    if (m < 2) {
        ci->lo = ci->hi = NAN;
        return;
    }
    gsl_sort(v, 1, m);
    ci->lo = gsl_stats_quantile_from_sorted_data(v, 1, m, (1 - conf) / 2);
    ci->hi = gsl_stats_quantile_from_sorted_data(v, 1, m, (1 + conf) / 2);
}

/* S1 and ST of every parameter over the rows idx[0..n-1] (NULL: all). */
static void sobol_once(int64_t n, int k, const double *fa, const double *fb,
                       const double *fab, const int64_t *idx, double *s1,
                       double *st)
{
    double mean = 0;
    for (int64_t i = 0; i < n; i++) {
        int64_t r = idx ? idx[i] : i;
        mean += fa[r] + fb[r];
    }
    mean /= 2.0 * (double)n;
    double var = 0;
    for (int64_t i = 0; i < n; i++) {
        int64_t r = idx ? idx[i] : i;
        var += (fa[r] - mean) * (fa[r] - mean) + (fb[r] - mean) * (fb[r] - mean);
    }
    var /= 2.0 * (double)n;
    for (int j = 0; j < k; j++) {
        const double *fj = fab + (int64_t)j * n;
        double a = 0, b = 0;
        for (int64_t i = 0; i < n; i++) {
            int64_t r = idx ? idx[i] : i;
            a += (fb[r] - mean) * (fj[r] - fa[r]);
            b += (fa[r] - fj[r]) * (fa[r] - fj[r]);
        }
        s1[j] = var > 0 ? a / (double)n / var : NAN;
        st[j] = var > 0 ? b / (2.0 * (double)n) / var : NAN;
    }
}

ms_status ms_sens_sobol_indices(int64_t n, int k, const double *fa,
                                const double *fb, const double *fab,
                                int resamples, double conf, uint64_t seed,
                                ms_sens_sobol *out)
{
    if (n < 2 || k < 1)
        return MS_ERROR(MS_EINPUT, "Sobol indices need at least 2 base rows "
                        "and 1 parameter (got %lld rows, %d parameters)",
                        (long long)n, k);
    if (!(conf > 0 && conf < 1))
        return MS_ERROR(MS_EINPUT, "confidence level: expected a number in "
                        "(0, 1), got %g", conf);
    double s1[MS_SENS_MAX_MORRIS], st[MS_SENS_MAX_MORRIS];
    if (k > MS_SENS_MAX_MORRIS)
        return MS_ERROR(MS_EINPUT, "at most %d parameters", MS_SENS_MAX_MORRIS);
    sobol_once(n, k, fa, fb, fab, NULL, s1, st);
    for (int j = 0; j < k; j++) {
        out[j].s1.value = s1[j];
        out[j].st.value = st[j];
        out[j].s1.lo = out[j].s1.hi = out[j].st.lo = out[j].st.hi = NAN;
    }
    if (resamples < 1)
        return MS_OK;
    int64_t *idx = ms_malloc((size_t)n * sizeof *idx);
    double *bs1 = ms_malloc((size_t)resamples * (size_t)k * sizeof *bs1);
    double *bst = ms_malloc((size_t)resamples * (size_t)k * sizeof *bst);
    gsl_rng *g = ms_rng_gsl_alloc();
    ms_status ret = MS_OK;
    if (!idx || !bs1 || !bst || !g) {
        ret = MS_ERROR(MS_ENOMEM, "out of memory for %d bootstrap resamples",
                       resamples);
        goto done;
    }
    ms_rng_key key = ms_rng_key_from_seed(seed);
    for (int b = 0; b < resamples; b++) {
        ms_rng_gsl_reset(g, key, (uint32_t)b, STEP_BOOTSTRAP, MS_PH_DESIGN, 0);
        for (int64_t i = 0; i < n; i++)
            idx[i] = (int64_t)gsl_rng_uniform_int(g, (unsigned long)n);
        sobol_once(n, k, fa, fb, fab, idx, s1, st);
        for (int j = 0; j < k; j++) {
            bs1[(size_t)j * resamples + b] = s1[j];
            bst[(size_t)j * resamples + b] = st[j];
        }
    }
    for (int j = 0; j < k; j++) {
        percentile(bs1 + (size_t)j * resamples, (size_t)resamples, conf,
                   &out[j].s1);
        percentile(bst + (size_t)j * resamples, (size_t)resamples, conf,
                   &out[j].st);
    }
done:
    ms_rng_gsl_free(g);
    ms_free(idx);
    ms_free(bs1);
    ms_free(bst);
    return ret;
}

/* mu* of every parameter over the trajectories tr[0..m-1], from their
 * elementary effects ee[t * k + j] (one per parameter and trajectory). */
static void mu_star_once(int m, int k, const double *ee, const int *tr,
                         double *ms)
{
    for (int j = 0; j < k; j++) {
        double s = 0;
        for (int i = 0; i < m; i++)
            s += fabs(ee[(int64_t)tr[i] * k + j]);
        ms[j] = s / m;
    }
}

ms_status ms_sens_morris_measures(int r, int k, const double *x,
                                  const double *f, const int *use,
                                  int resamples, double conf, uint64_t seed,
                                  ms_sens_morris *out)
{
    if (r < 1 || k < 1 || k > MS_SENS_MAX_MORRIS)
        return MS_ERROR(MS_EINPUT, "Morris measures need at least 1 "
                        "trajectory and 1 to %d parameters (got %d, %d)",
                        MS_SENS_MAX_MORRIS, r, k);
    if (!(conf > 0 && conf < 1))
        return MS_ERROR(MS_EINPUT, "confidence level: expected a number in "
                        "(0, 1), got %g", conf);
    /* ee[t * k + j]: the effect of j in trajectory t (each parameter moves
     * once per trajectory). */
    double *ee = ms_malloc((size_t)r * (size_t)k * sizeof *ee);
    int *tr = ms_malloc((size_t)r * sizeof *tr);
    double *bs = resamples > 0
                     ? ms_malloc((size_t)resamples * (size_t)k * sizeof *bs)
                     : NULL;
    gsl_rng *g = ms_rng_gsl_alloc();
    ms_status ret = MS_OK;
    if (!ee || !tr || (resamples > 0 && !bs) || !g) {
        ret = MS_ERROR(MS_ENOMEM, "out of memory");
        goto done;
    }
    int m = 0;
    for (int t = 0; t < r; t++) {
        if (use && !use[t])
            continue;
        for (int j = 0; j < k; j++)
            ee[(int64_t)t * k + j] = NAN;
        for (int s = 1; s <= k; s++) {
            int64_t p = (int64_t)t * (k + 1) + s;
            const double *a = x + (p - 1) * k, *b = x + p * k;
            int moved = -1, n_moved = 0;
            for (int j = 0; j < k; j++)
                if (a[j] != b[j]) {
                    moved = j;
                    n_moved++;
                }
            if (n_moved != 1) {
                ret = MS_ERROR(MS_EINPUT, "point %lld: a step of a Morris "
                               "trajectory must change exactly one "
                               "parameter; this one changes %d (not a "
                               "morris design?)", (long long)p, n_moved);
                goto done;
            }
            if (!isnan(ee[(int64_t)t * k + moved])) {
                ret = MS_ERROR(MS_EINPUT, "point %lld: trajectory %d moves "
                               "parameter %d twice (not a morris design?)",
                               (long long)p, t, moved);
                goto done;
            }
            ee[(int64_t)t * k + moved] = (f[p] - f[p - 1]) / (b[moved] - a[moved]);
        }
        tr[m++] = t;
    }
    if (m < 1) {
        ret = MS_ERROR(MS_EINPUT, "no complete Morris trajectory");
        goto done;
    }
    for (int j = 0; j < k; j++) {
        double s = 0, sa = 0;
        for (int i = 0; i < m; i++) {
            double e = ee[(int64_t)tr[i] * k + j];
            s += e;
            sa += fabs(e);
        }
        double mu = s / m, sq = 0;
        for (int i = 0; i < m; i++) {
            double e = ee[(int64_t)tr[i] * k + j];
            sq += (e - mu) * (e - mu);
        }
        out[j].mu = mu;
        out[j].mu_star.value = sa / m;
        out[j].mu_star.lo = out[j].mu_star.hi = NAN;
        out[j].sigma = m > 1 ? sqrt(sq / (m - 1)) : NAN;
        out[j].n = m;
    }
    if (resamples > 0 && m > 1) {
        int *pick = ms_malloc((size_t)m * sizeof *pick);
        double ms[MS_SENS_MAX_MORRIS];
        if (!pick) {
            ret = MS_ERROR(MS_ENOMEM, "out of memory");
            goto done;
        }
        ms_rng_key key = ms_rng_key_from_seed(seed);
        for (int b = 0; b < resamples; b++) {
            ms_rng_gsl_reset(g, key, (uint32_t)b, STEP_BOOTSTRAP, MS_PH_DESIGN,
                             0);
            for (int i = 0; i < m; i++)
                pick[i] = tr[gsl_rng_uniform_int(g, (unsigned long)m)];
            mu_star_once(m, k, ee, pick, ms);
            for (int j = 0; j < k; j++)
                bs[(size_t)j * resamples + b] = ms[j];
        }
        for (int j = 0; j < k; j++)
            percentile(bs + (size_t)j * resamples, (size_t)resamples, conf,
                       &out[j].mu_star);
        ms_free(pick);
    }
done:
    ms_rng_gsl_free(g);
    ms_free(ee);
    ms_free(tr);
    ms_free(bs);
    return ret;
}
