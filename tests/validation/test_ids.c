/*
 * test_ids.c: consumer ids above 2^32 (64-bit ids, sim/rng/ms_rng.h).
 *
 * The test hook MARKETSIM_TEST_ID_OFFSET starts consumer ids at an offset,
 * here 2^32 + 3 * 512, so every consumer's random streams (traits, setup,
 * the per-block event draws) sit at counters whose high words are not 0,
 * without holding 2^32 consumers. Such a run has other random numbers than
 * the same scenario with ids from 0, but must have the same distribution:
 *
 *  - innovativeness: two-sample Kolmogorov-Smirnov test of nu, 60000
 *    consumers each;
 *  - outcomes: for 12 seeds each way, the adopters of both categories and
 *    the users of the foreign firm after 24 steps (adoption, churn, the
 *    logit with foreignness aversion phi); Welch's two-sample t-test on
 *    each (two-sided).
 *
 * Each test fails at p < 1e-3 and prints its p-value. The runs are also
 * checked to differ (the offset really moves the streams) and a bad offset
 * to be refused with an error that names the variable.
 */
#include "validation/vhelp.h"

#include <gsl/gsl_cdf.h>
#include <gsl/gsl_sort.h>

#define P_FAIL 1e-3
#define OFFSET "4294968832" /* 2^32 + 3 * 512 */

static const char *scen =
    "run: {seed: %d, people_per_agent: 1, dt: 1/12, steps: 24}\n"
    "model: {sigma_nu: 0.8}\n"
    "markets: {A: {population: 36000, distance: {B: 1.5}},\n"
    "          B: {population: 24000}}\n"
    "categories:\n"
    "  x: {p: 0.3, q: 0.8, gamma: 0.5, churn: 0.6, ceiling: 0.8,\n"
    "      initial_adopters: 0.02}\n"
    "  y: {p: 0.1, q: 0.5, gamma: 0, churn: 0.3, ceiling: 0.5}\n"
    "firms:\n"
    "  fa: {home: A, quality: {x: 0, y: 0}, markets: [A, B]}\n"
    "  fb: {home: B, quality: {x: 0.3, y: -0.2}, markets: [A, B]}\n";

static ms_world *world_at(ms_scenario **sc, int seed, const char *offset)
{
    if (offset)
        setenv("MARKETSIM_TEST_ID_OFFSET", offset, 1);
    else
        unsetenv("MARKETSIM_TEST_ID_OFFSET");
    ms_world *w = vh_world(sc, scen, seed);
    unsetenv("MARKETSIM_TEST_ID_OFFSET");
    return w;
}

/* Kolmogorov distribution: P(sqrt(n_e) D > x), asymptotic series. */
static double ks_q(double x)
{
    if (x < 0.2)
        return 1;
    double s = 0;
    for (int k = 1; k <= 100; k++)
        s += (k % 2 ? 2 : -2) * exp(-2.0 * k * k * x * x);
    return s < 0 ? 0 : s > 1 ? 1 : s;
}

static void test_traits(void)
{
    ms_scenario *s0, *s1;
    ms_world *w0 = world_at(&s0, 5, NULL), *w1 = world_at(&s1, 5, OFFSET);
    CU_ASSERT_EQUAL(w0->id0, 0);
    CU_ASSERT_EQUAL(w1->id0, (UINT64_C(1) << 32) + 3 * MS_BLOCK);
    CU_ASSERT_EQUAL_FATAL(w0->N, w1->N);
    const size_t n = (size_t)w0->N;
    double *a = malloc(n * sizeof *a), *b = malloc(n * sizeof *b);
    size_t same = 0;
    gsl_rng *r = ms_rng_gsl_alloc();
    CU_ASSERT_PTR_NOT_NULL_FATAL(r);
    for (size_t i = 0; i < n; i++) {
        a[i] = ms_nu_draw(w0, r, i);
        b[i] = ms_nu_draw(w1, r, i);
        same += a[i] == b[i];
    }
    ms_rng_gsl_free(r);
    CU_ASSERT(same < n / 100); /* other streams, not the same numbers */
    /* phi comes from the id's own stream. */
    CU_ASSERT_EQUAL(ms_phi(w1, 7),
                    -log(ms_rng_uniform(w1->key, w1->id0 + 7,
                                        MS_RNG_SETUP_STEP, MS_PH_TRAIT, 1)));
    CU_ASSERT(ms_phi(w1, 7) != ms_phi(w0, 7));
    gsl_sort(a, 1, n);
    gsl_sort(b, 1, n);
    double d = 0;
    for (size_t i = 0, j = 0; i < n && j < n;) {
        double x = a[i] < b[j] ? a[i] : b[j];
        while (i < n && a[i] <= x)
            i++;
        while (j < n && b[j] <= x)
            j++;
        double g = fabs((double)i - (double)j) / (double)n;
        if (g > d)
            d = g;
    }
    double p = ks_q(sqrt(n / 2.0) * d);
    printf("\n    nu, ids from 0 vs from 2^32 + 1536: KS D = %.5f, p = %.3f",
           d, p);
    CU_ASSERT(p > P_FAIL);
    free(a);
    free(b);
    vh_free(&w0, &s0);
    vh_free(&w1, &s1);
}

enum { R = 12, NSTAT = 3 };

static void outcomes(int seed, const char *offset, double *x)
{
    ms_scenario *sc;
    ms_world *w = world_at(&sc, seed, offset);
    for (int t = 0; t < 24; t++)
        vh_step(w);
    const int C = w->C, F = w->F;
    x[0] = (double)(w->adopters[0 * C + 0] + w->adopters[1 * C + 0]);
    x[1] = (double)(w->adopters[0 * C + 1] + w->adopters[1 * C + 1]);
    /* Users of the foreign firm: fb in A, fa in B (category x). */
    x[2] = (double)(w->users[(0 * C + 0) * F + 1] +
                    w->users[(1 * C + 0) * F + 0]);
    vh_free(&w, &sc);
}

static void test_outcomes(void)
{
    static const char *names[NSTAT] = {"adopters of x", "adopters of y",
                                       "users of the foreign firm (x)"};
    double a[NSTAT][R], b[NSTAT][R];
    int differ = 0;
    for (int r = 0; r < R; r++) {
        double xa[NSTAT], xb[NSTAT];
        outcomes(100 + r, NULL, xa);
        outcomes(100 + r, OFFSET, xb);
        for (int k = 0; k < NSTAT; k++) {
            a[k][r] = xa[k];
            b[k][r] = xb[k];
            differ += xa[k] != xb[k];
        }
    }
    CU_ASSERT(differ > 0);
    for (int k = 0; k < NSTAT; k++) {
        double ma = 0, mb = 0, va = 0, vb = 0;
        for (int r = 0; r < R; r++) {
            ma += a[k][r] / R;
            mb += b[k][r] / R;
        }
        for (int r = 0; r < R; r++) {
            va += (a[k][r] - ma) * (a[k][r] - ma) / (R - 1);
            vb += (b[k][r] - mb) * (b[k][r] - mb) / (R - 1);
        }
        CU_ASSERT_FATAL(va > 0 && vb > 0);
        double se2 = va / R + vb / R, t = (mb - ma) / sqrt(se2);
        double df = se2 * se2 / ((va / R) * (va / R) / (R - 1) +
                                 (vb / R) * (vb / R) / (R - 1));
        double p = 2 * gsl_cdf_tdist_Q(fabs(t), df);
        printf("\n    %s: mean %.1f (ids from 0) vs %.1f (from 2^32 + "
               "1536), Welch t = %.2f, %.1f df, p = %.3f",
               names[k], ma, mb, t, df, p);
        CU_ASSERT(p > P_FAIL);
    }
}

static void test_bad_offset(void)
{
    static const char *bad[] = {"12", "-512", "1e9", "x",
                                "281474976710656" /* 2^48 */};
    ms_scenario *sc;
    char text[1024];
    snprintf(text, sizeof text, scen, 1);
    CU_ASSERT_FATAL(ms_scenario_load_string(text, "<test>", NULL, 0, &sc) ==
                    MS_OK);
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        setenv("MARKETSIM_TEST_ID_OFFSET", bad[k], 1);
        ms_world *w = NULL;
        CU_ASSERT_EQUAL(ms_world_create(sc, 1, &w), MS_EINPUT);
        CU_ASSERT_PTR_NULL(w);
        CU_ASSERT_PTR_NOT_NULL(strstr(ms_error_message(),
                                      "MARKETSIM_TEST_ID_OFFSET"));
    }
    /* Ids past 2^48 for the consumers of the scenario. */
    setenv("MARKETSIM_TEST_ID_OFFSET", "281474976710144", 1); /* 2^48-512 */
    ms_world *w = NULL;
    CU_ASSERT_EQUAL(ms_world_create(sc, 1, &w), MS_EINPUT);
    CU_ASSERT_PTR_NOT_NULL(strstr(ms_error_message(), "2^48"));
    unsetenv("MARKETSIM_TEST_ID_OFFSET");
    ms_scenario_destroy(&sc);
}

static const ms_unit_test tests[] = {
    {"traits with ids above 2^32", test_traits},
    {"outcomes with ids above 2^32", test_outcomes},
    {"bad id offsets", test_bad_offset},
    {NULL, NULL}};

MS_UNIT_MAIN("ids", tests)
