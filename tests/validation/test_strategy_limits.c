/*
 * test_strategy_limits.c: MODEL.md section 9, limits 5 and 6.
 *
 *  5. Experiment draws x = w (2 Beta(3,3) - 1): the mean kept gain
 *     E[max(0, x)] of one draw is 0.15625 w. Experiments draw the extremes
 *     of k draws from order statistics (models/experiment.c); their means
 *     are checked against numerical integration for several k.
 *  6. Roth-Erev with two allocations paying 1 and 0: the probability of
 *     choosing the better tends to 1 - eps (and over the ten-allocation menu
 *     too, when one allocation pays 1 and the rest 0).
 */
#include "models/strategy.h"
#include "unit/unit.h"

#include <gsl/gsl_cdf.h>
#include <gsl/gsl_integration.h>

static double mean_sd(const double *x, int n, double *sd)
{
    double s = 0, s2 = 0;
    for (int i = 0; i < n; i++) {
        s += x[i];
        s2 += x[i] * x[i];
    }
    double m = s / n;
    *sd = sqrt((s2 / n - m * m) / n);
    return m;
}

static void test_single_draw_gain(void)
{
    enum { N = 1000000 };
    static double gain[N];
    gsl_rng *r = ms_rng_gsl_alloc();
    ms_rng_key key = ms_rng_key_from_seed(2024);
    const double w = 0.3;
    int differ = 0;
    for (int i = 0; i < N; i++) {
        ms_rng_gsl_reset(r, key, (uint32_t)i, 0, MS_PH_TEST, 0);
        double mx, mn;
        ms_beta33_extremes(r, 1, &mx, &mn);
        differ += mx != mn; /* one draw: both extremes are it */
        double x = w * (2 * mx - 1);
        gain[i] = x > 0 ? x : 0;
    }
    CU_ASSERT_EQUAL(differ, 0);
    double sd, m = mean_sd(gain, N, &sd);
    printf("\n    mean kept gain %.6f w (theory 0.15625 w, sd %.6f w)\n",
           m / w, sd / w);
    MS_ASSERT_NEAR(m, 0.15625 * w, 4.5 * sd);
    ms_rng_gsl_free(r);
}

/* E[max(0, w(2M-1))] for M the max of k Beta(3,3): the integral over t in
 * [0, w] of P(w(2M - 1) > t) = 1 - I((1 + t/w)/2)^k. */
static unsigned kk;
static double tail_max(double t, void *p)
{
    (void)p;
    return 1 - pow(gsl_cdf_beta_P((1 + t) / 2, 3, 3), kk);
}
static double tail_min(double t, void *p)
{
    (void)p; /* E[max(0, -x_min)]: P(-x_min > t) = 1 - (1 - I((1 - t)/2))^k */
    return 1 - pow(1 - gsl_cdf_beta_P((1 - t) / 2, 3, 3), kk);
}

static void test_extremes_of_k(void)
{
    enum { N = 200000 };
    static double gmax[N], gmin[N];
    gsl_rng *r = ms_rng_gsl_alloc();
    ms_rng_key key = ms_rng_key_from_seed(77);
    gsl_integration_workspace *ws = gsl_integration_workspace_alloc(100);
    const unsigned ks[] = {2, 5, 40};
    for (int j = 0; j < 3; j++) {
        kk = ks[j];
        int bad = 0;
        for (int i = 0; i < N; i++) {
            ms_rng_gsl_reset(r, key, (uint32_t)i, kk, MS_PH_TEST, 0);
            double mx, mn;
            ms_beta33_extremes(r, kk, &mx, &mn);
            bad += !(mn <= mx && mn > 0 && mx < 1);
            gmax[i] = 2 * mx - 1 > 0 ? 2 * mx - 1 : 0;
            gmin[i] = 1 - 2 * mn > 0 ? 1 - 2 * mn : 0;
        }
        CU_ASSERT_EQUAL(bad, 0);
        double e1, e2, err, sd1, sd2;
        gsl_function f1 = {tail_max, NULL}, f2 = {tail_min, NULL};
        gsl_integration_qags(&f1, 0, 1, 1e-12, 1e-10, 100, ws, &e1, &err);
        gsl_integration_qags(&f2, 0, 1, 1e-12, 1e-10, 100, ws, &e2, &err);
        double m1 = mean_sd(gmax, N, &sd1), m2 = mean_sd(gmin, N, &sd2);
        printf("\n    k = %u: best gain %.5f (theory %.5f), worst loss %.5f "
               "(theory %.5f)", kk, m1, e1, m2, e2);
        MS_ASSERT_NEAR(m1, e1, 4.5 * sd1);
        MS_ASSERT_NEAR(m2, e2, 4.5 * sd2);
    }
    printf("\n");
    gsl_integration_workspace_free(ws);
    ms_rng_gsl_free(r);
}

static void test_roth_erev_two(void)
{
    const double phi = 0.1, eps = 0.2;
    double q[2] = {1, 1};
    ms_rng_key key = ms_rng_key_from_seed(5);
    int used = 0;
    for (int t = 0; t < 5000; t++) {
        double reward = used == 0 ? 1 : 0;
        used = ms_roth_erev_update(q, 2, used, reward, phi, eps,
                                   ms_rng_uniform(key, 0, (uint32_t)t,
                                                  MS_PH_TEST, 0));
    }
    double p = q[0] / (q[0] + q[1]);
    printf("\n    P(better) = %.6f (theory %.6f)\n", p, 1 - eps);
    MS_ASSERT_NEAR(p, 1 - eps, 1e-6);
}

static void test_roth_erev_menu(void)
{
    const double phi = 0.1, eps = 0.2;
    double q[MS_RE_MENU];
    for (int k = 0; k < MS_RE_MENU; k++)
        q[k] = 1;
    ms_rng_key key = ms_rng_key_from_seed(6);
    int used = -1, good = 7;
    for (int t = 0; t < 5000; t++) {
        double reward = used == good ? 1 : 0;
        used = ms_roth_erev_update(q, MS_RE_MENU, used, reward, phi, eps,
                                   ms_rng_uniform(key, 0, (uint32_t)t,
                                                  MS_PH_TEST, 0));
    }
    double tot = 0;
    for (int k = 0; k < MS_RE_MENU; k++)
        tot += q[k];
    MS_ASSERT_NEAR(q[good] / tot, 1 - eps, 1e-6);
    /* The menu: four pure mixes and six half-half pairs, all on the simplex. */
    for (int k = 0; k < MS_RE_MENU; k++) {
        double wts[MS_N_STRATEGIES], s = 0;
        ms_learning_menu(k, wts);
        int nonzero = 0;
        for (int j = 0; j < MS_N_STRATEGIES; j++) {
            s += wts[j];
            nonzero += wts[j] > 0;
        }
        MS_ASSERT_NEAR(s, 1, 1e-15);
        CU_ASSERT_EQUAL(nonzero, k < 4 ? 1 : 2);
    }
}

static const ms_unit_test tests[] = {
    {"limit 5: kept gain of one draw", test_single_draw_gain},
    {"extremes of k draws", test_extremes_of_k},
    {"limit 6: Roth-Erev, payoffs 1 and 0", test_roth_erev_two},
    {"Roth-Erev over the menu", test_roth_erev_menu},
    {NULL, NULL}};

MS_UNIT_MAIN("strategy limits", tests)
