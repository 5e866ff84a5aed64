/*
 * test_sensitivity.c: the Sobol and Morris estimators (sim/sweep/
 * sensitivity.c) on functions whose indices are known.
 *
 * Ishigami (a = 7, b = 0.1): S1 = 0.3139, 0.4424, 0; ST = 0.5576, 0.4424,
 * 0.2437 (Ishigami and Homma 1990). Sobol's g-function: V_j = 1 / (3 (1 +
 * a_j)^2), S1_j = V_j / V, ST_j = V_j prod_{i != j} (1 + V_i) / V, V =
 * prod (1 + V_j) - 1. The designs here are the ones a sweep runs (Sobol
 * points, N = 4096 base rows, 1000 resamples, 95% intervals, bootstrap
 * seed 1). Beside them, the intervals' coverage is checked on 40
 * independent pseudo-random Saltelli samples (N = 512, seeds 1 to 40):
 * a 95% interval must hold the true value about 95% of the time.
 */
#include "marketsim/ms_alloc.h"

#ifndef M_PI
#define M_PI 3.14159265358979323846
#endif
#include "marketsim/ms_sensitivity.h"
#include "rng/ms_rng.h"
#include "unit/unit.h"

#include <gsl/gsl_rng.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static const double ish_s1[3] = {0.3139, 0.4424, 0.0};
static const double ish_st[3] = {0.5576, 0.4424, 0.2437};

/* Ishigami on unit coordinates (each x in [-pi, pi]). */
static double ishigami(const double *u)
{
    double x1 = -M_PI + 2 * M_PI * u[0], x2 = -M_PI + 2 * M_PI * u[1],
           x3 = -M_PI + 2 * M_PI * u[2];
    double s2 = sin(x2);
    return sin(x1) + 7.0 * s2 * s2 + 0.1 * pow(x3, 4) * sin(x1);
}

#define G_K 6
static const double g_a[G_K] = {0, 1, 4.5, 9, 99, 99};

static double gfun(const double *u)
{
    double p = 1;
    for (int j = 0; j < G_K; j++)
        p *= (fabs(4 * u[j] - 2) + g_a[j]) / (1 + g_a[j]);
    return p;
}

static void g_known(double *s1, double *st)
{
    double v[G_K], prod = 1;
    for (int j = 0; j < G_K; j++) {
        v[j] = 1.0 / (3.0 * (1 + g_a[j]) * (1 + g_a[j]));
        prod *= 1 + v[j];
    }
    double V = prod - 1;
    for (int j = 0; j < G_K; j++) {
        s1[j] = v[j] / V;
        st[j] = v[j] * prod / (1 + v[j]) / V;
    }
}

/* Evaluate f on a Saltelli design laid out as ms_sens_saltelli_design
 * lays it out and split the values into fa, fb, fab. */
static void split(int64_t n, int k, const double *x, double (*f)(const double *),
                  double *fa, double *fb, double *fab)
{
    for (int64_t i = 0; i < n; i++)
        for (int b = 0; b < k + 2; b++) {
            double y = f(x + (i * (k + 2) + b) * k);
            if (b == 0)
                fa[i] = y;
            else if (b == k + 1)
                fb[i] = y;
            else
                fab[(int64_t)(b - 1) * n + i] = y;
        }
}

static int inside(const ms_sens_ci *c, double v)
{
    return c->lo <= v && v <= c->hi;
}

static void sobol_known(double (*f)(const double *), int k, const double *s1,
                        const double *st)
{
    const int64_t n = 4096;
    double *x = ms_malloc((size_t)(n * (k + 2) * k) * sizeof *x);
    double *fa = ms_malloc((size_t)n * sizeof *fa), *fb = ms_malloc((size_t)n * sizeof *fb);
    double *fab = ms_malloc((size_t)(n * k) * sizeof *fab);
    ms_sens_sobol out[G_K];
    CU_ASSERT_EQUAL_FATAL(ms_sens_saltelli_design(n, k, x), MS_OK);
    split(n, k, x, f, fa, fb, fab);
    CU_ASSERT_EQUAL(ms_sens_sobol_indices(n, k, fa, fb, fab, 1000, 0.95, 1,
                                          out), MS_OK);
    for (int j = 0; j < k; j++) {
        if (!inside(&out[j].s1, s1[j]) || !inside(&out[j].st, st[j]))
            printf("\n    parameter %d: S1 %.4f [%.4f, %.4f] (known %.4f), "
                   "ST %.4f [%.4f, %.4f] (known %.4f)\n", j, out[j].s1.value,
                   out[j].s1.lo, out[j].s1.hi, s1[j], out[j].st.value,
                   out[j].st.lo, out[j].st.hi, st[j]);
        CU_ASSERT(inside(&out[j].s1, s1[j]));
        CU_ASSERT(inside(&out[j].st, st[j]));
        /* The interval says something: a small part of [0, 1]. */
        CU_ASSERT(out[j].s1.hi - out[j].s1.lo < 0.25);
        CU_ASSERT(out[j].st.hi - out[j].st.lo < 0.25);
    }
    ms_free(x);
    ms_free(fa);
    ms_free(fb);
    ms_free(fab);
}

static void test_ishigami(void)
{
    sobol_known(ishigami, 3, ish_s1, ish_st);
}

static void test_gfunction(void)
{
    double s1[G_K], st[G_K];
    g_known(s1, st);
    sobol_known(gfun, G_K, s1, st);
}

/* Coverage: 40 independent Ishigami experiments with pseudo-random base
 * rows; of their 240 95% intervals (S1 and ST of 3 parameters), about 228
 * should hold the true value (binomial sd 3.4): at least 216 must. And
 * the interval's width must match the spread of the estimates across the
 * experiments (its half-width near 1.96 sd). */
static void test_coverage(void)
{
    enum { N = 512, K = 3, E = 40 };
    double a[N * K], b[N * K], row[K];
    static double fa[N], fb[N], fab[K * N];
    ms_sens_sobol out[K];
    gsl_rng *g = ms_rng_gsl_alloc();
    int hit = 0;
    double est[E], width = 0;
    for (int e = 0; e < E; e++) {
        ms_rng_gsl_reset(g, ms_rng_key_from_seed((uint64_t)e + 1), 0, 0,
                         MS_PH_TEST, 0);
        for (int i = 0; i < N * K; i++) {
            a[i] = gsl_rng_uniform(g);
            b[i] = gsl_rng_uniform(g);
        }
        for (int i = 0; i < N; i++) {
            fa[i] = ishigami(a + i * K);
            fb[i] = ishigami(b + i * K);
            for (int j = 0; j < K; j++) {
                memcpy(row, a + i * K, sizeof row);
                row[j] = b[i * K + j];
                fab[j * N + i] = ishigami(row);
            }
        }
        CU_ASSERT_EQUAL(ms_sens_sobol_indices(N, K, fa, fb, fab, 500, 0.95,
                                              (uint64_t)e + 1, out), MS_OK);
        for (int j = 0; j < K; j++)
            hit += inside(&out[j].s1, ish_s1[j]) + inside(&out[j].st, ish_st[j]);
        est[e] = out[0].st.value;
        width += (out[0].st.hi - out[0].st.lo) / E;
    }
    ms_rng_gsl_free(g);
    printf("\n    coverage of 95%% intervals: %d of %d\n", hit, E * K * 2);
    CU_ASSERT(hit >= 216);
    double m = 0, sd = 0;
    for (int e = 0; e < E; e++)
        m += est[e] / E;
    for (int e = 0; e < E; e++)
        sd += (est[e] - m) * (est[e] - m) / (E - 1);
    sd = sqrt(sd);
    double ratio = width / (2 * 1.96 * sd);
    printf("    ST1 interval width / (2 x 1.96 sd across experiments) = "
           "%.2f\n", ratio);
    CU_ASSERT(ratio > 0.6 && ratio < 1.6);
}

/* The same inputs give the same bits; another bootstrap seed moves the
 * intervals but not the indices. */
static void test_deterministic(void)
{
    enum { N = 256, K = 3 };
    static double x[N * (K + 2) * K], fa[N], fb[N], fab[K * N];
    ms_sens_sobol o1[K], o2[K], o3[K];
    CU_ASSERT_EQUAL_FATAL(ms_sens_saltelli_design(N, K, x), MS_OK);
    split(N, K, x, ishigami, fa, fb, fab);
    CU_ASSERT_EQUAL(ms_sens_sobol_indices(N, K, fa, fb, fab, 200, 0.9, 7, o1), MS_OK);
    CU_ASSERT_EQUAL(ms_sens_sobol_indices(N, K, fa, fb, fab, 200, 0.9, 7, o2), MS_OK);
    CU_ASSERT_EQUAL(ms_sens_sobol_indices(N, K, fa, fb, fab, 200, 0.9, 8, o3), MS_OK);
    CU_ASSERT_EQUAL(memcmp(o1, o2, sizeof o1), 0);
    CU_ASSERT_EQUAL(memcmp(&o1[0].s1.value, &o3[0].s1.value, sizeof(double)), 0);
    CU_ASSERT(o1[0].s1.lo != o3[0].s1.lo || o1[0].s1.hi != o3[0].s1.hi);
}

/* The layout: row AB_j is row A with column j from row B. */
static void test_saltelli_layout(void)
{
    enum { N = 8, K = 4 };
    double x[N * (K + 2) * K];
    CU_ASSERT_EQUAL_FATAL(ms_sens_saltelli_design(N, K, x), MS_OK);
    for (int i = 0; i < N; i++) {
        const double *A = x + (i * (K + 2)) * K, *B = x + (i * (K + 2) + K + 1) * K;
        for (int j = 0; j < K; j++) {
            const double *AB = x + (i * (K + 2) + 1 + j) * K;
            for (int c = 0; c < K; c++)
                CU_ASSERT_EQUAL(AB[c], c == j ? B[c] : A[c]);
            CU_ASSERT(A[j] >= 0 && A[j] < 1 && B[j] >= 0 && B[j] < 1);
        }
    }
    CU_ASSERT_EQUAL(ms_sens_saltelli_design(12, K, x), MS_EINPUT);
    CU_ASSERT_EQUAL(ms_sens_saltelli_design(8, 21, x), MS_EINPUT);
    ms_error_clear();
}

/* Morris on f = sum c_j (low_j + x_j (high_j - low_j)): every elementary
 * effect is c_j (high_j - low_j), so mu = that, mu* = its size, sigma = 0,
 * and mu* ranks the parameters by |c_j| (high_j - low_j). */
static void test_morris_linear(void)
{
    enum { R = 20, K = 5, L = 4 };
    const double c[K] = {0.2, -3, 5, 0, 1};
    const double lo[K] = {0, 1, -1, 0, 10}, hi[K] = {1, 2, 1, 5, 12};
    static double x[R * (K + 1) * K], f[R * (K + 1)];
    CU_ASSERT_EQUAL_FATAL(ms_sens_morris_design(42, R, K, L, x), MS_OK);
    const double delta = ms_sens_morris_delta(L);
    for (int p = 0; p < R * (K + 1); p++) {
        f[p] = 0;
        for (int j = 0; j < K; j++) {
            double u = x[p * K + j];
            /* On the grid of L levels. */
            CU_ASSERT(fabs(u * (L - 1) - round(u * (L - 1))) < 1e-9);
            f[p] += c[j] * (lo[j] + u * (hi[j] - lo[j]));
        }
        if (p % (K + 1)) {
            int moved = 0;
            for (int j = 0; j < K; j++)
                if (x[p * K + j] != x[(p - 1) * K + j]) {
                    moved++;
                    MS_ASSERT_NEAR(fabs(x[p * K + j] - x[(p - 1) * K + j]),
                                   delta, 1e-12);
                }
            CU_ASSERT_EQUAL(moved, 1);
        }
    }
    ms_sens_morris m[K];
    CU_ASSERT_EQUAL(ms_sens_morris_measures(R, K, x, f, NULL, 200, 0.95, 1, m),
                    MS_OK);
    for (int j = 0; j < K; j++) {
        double e = c[j] * (hi[j] - lo[j]);
        MS_ASSERT_NEAR(m[j].mu, e, 1e-9 * (1 + fabs(e)));
        MS_ASSERT_NEAR(m[j].mu_star.value, fabs(e), 1e-9 * (1 + fabs(e)));
        MS_ASSERT_NEAR(m[j].sigma, 0, 1e-9 * (1 + fabs(e)));
        CU_ASSERT_EQUAL(m[j].n, R);
    }
    /* Ranking by mu*: 2 (10), 1 (3), 4 (2), 0 (0.2), 3 (0). */
    const int rank[K] = {2, 1, 4, 0, 3};
    for (int i = 0; i + 1 < K; i++)
        CU_ASSERT(m[rank[i]].mu_star.value > m[rank[i + 1]].mu_star.value);
    /* Another seed, another design, the same measures. */
    double x2[R * (K + 1) * K];
    CU_ASSERT_EQUAL(ms_sens_morris_design(43, R, K, L, x2), MS_OK);
    CU_ASSERT(memcmp(x, x2, sizeof x2) != 0);
    CU_ASSERT_EQUAL(ms_sens_morris_design(42, R, K, 3, x2), MS_EINPUT);
    ms_error_clear();
}

/* Morris on a nonlinear function: mu* ranks an active parameter above an
 * inert one and sigma sees the interaction. */
static void test_morris_ishigami(void)
{
    enum { R = 50, K = 3, L = 6 };
    static double x[R * (K + 1) * K], f[R * (K + 1)];
    CU_ASSERT_EQUAL_FATAL(ms_sens_morris_design(5, R, K, L, x), MS_OK);
    for (int p = 0; p < R * (K + 1); p++)
        f[p] = ishigami(x + p * K);
    ms_sens_morris m[K];
    CU_ASSERT_EQUAL(ms_sens_morris_measures(R, K, x, f, NULL, 200, 0.95, 1, m),
                    MS_OK);
    /* x3 acts only with x1: mu near 0 is possible, sigma is not 0. */
    CU_ASSERT(m[2].sigma > 0);
    CU_ASSERT(m[0].mu_star.value > 0 && m[1].mu_star.value > 0);
    CU_ASSERT(m[0].mu_star.lo <= m[0].mu_star.value &&
              m[0].mu_star.value <= m[0].mu_star.hi);
    /* A design that is not one: two parameters move at once. */
    x[(K + 1) * K] = 0.123;
    x[(K + 1) * K + 1] = 0.456;
    x[(K + 1) * K + K] = 0.5;
    CU_ASSERT_EQUAL(ms_sens_morris_measures(R, K, x, f, NULL, 0, 0.95, 1, m),
                    MS_EINPUT);
    ms_error_clear();
}

static const ms_unit_test tests[] = {
    {"Ishigami: known S1 and ST inside 95% intervals", test_ishigami},
    {"g-function: known S1 and ST inside 95% intervals", test_gfunction},
    {"intervals cover at their stated rate", test_coverage},
    {"same inputs, same bits", test_deterministic},
    {"Saltelli layout: AB_j is A with column j from B", test_saltelli_layout},
    {"Morris recovers a linear function's effects", test_morris_linear},
    {"Morris on Ishigami", test_morris_ishigami},
    {NULL, NULL}};

MS_UNIT_MAIN("sensitivity", tests)
