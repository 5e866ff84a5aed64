/*
 * test_choice.c: MODEL.md section 9, limits 2-4 (logit, tipping,
 * localization).
 *
 * Everyone re-chooses every step (churn so high that 1 - exp(-chi dt) is
 * 1), so each step's shares are a fresh multinomial draw from the choice
 * probabilities at the start of the step. With N consumers a share has
 * sd sqrt(s (1 - s) / N); bounds are 4.5 sd.
 */
#include "validation/vhelp.h"

#include <gsl/gsl_integration.h>

static const int N = 200000;

/* Limit 2: gamma = 0, static qualities: shares are the logit probabilities. */
static void test_logit_quality(void)
{
    ms_scenario *sc;
    ms_world *w = vh_world(
        &sc,
        "run: {seed: 5, people_per_agent: 1}\n"
        "markets: {A: {population: %d}}\n"
        "categories: {x: {gamma: 0, churn: 1e6, initial_adopters: 1}}\n"
        "firms:\n"
        "  f0: {home: A, quality: {x: 0.0}}\n"
        "  f1: {home: A, quality: {x: 0.5}}\n"
        "  f2: {home: A, quality: {x: 1.0}}\n"
        "  f3: {home: A, quality: {x: -1.0}}\n", N);
    const double a[4] = {0.0, 0.5, 1.0, -1.0};
    double den = 0;
    for (int f = 0; f < 4; f++)
        den += exp(a[f]);
    for (int t = 0; t < 3; t++) {
        vh_step(w);
        for (int f = 0; f < 4; f++) {
            double p = exp(a[f]) / den;
            MS_ASSERT_NEAR(vh_share(w, f, 0, 0), p,
                           4.5 * sqrt(p * (1 - p) / N));
        }
    }
    CU_ASSERT_EQUAL(ms_world_check(w), MS_OK);
    vh_free(&w, &sc);
}

/* The foreignness penalty: firm 1 is foreign (CD 2, L 0.5, lambda 1.5), so
 * its utility loses 1.5 phi; the expected share integrates the logit over
 * phi ~ Exponential(1). */
typedef struct { double a0, a1, d1; } two;

static double integrand(double phi, void *vp)
{
    const two *p = vp;
    double u0 = p->a0, u1 = p->a1 - phi * p->d1;
    return exp(-phi) / (1 + exp(u0 - u1));
}

static void test_logit_foreign(void)
{
    ms_scenario *sc;
    ms_world *w = vh_world(
        &sc,
        "run: {seed: 6, people_per_agent: 1}\n"
        "model: {lambda: 1.5}\n"
        "markets:\n"
        "  A: {population: %d, distance: {B: 2}}\n"
        "  B: {population: 1}\n"
        "categories: {x: {gamma: 0, churn: 1e6, initial_adopters: 1}}\n"
        "firms:\n"
        "  local: {home: A, quality: {x: 0.2}}\n"
        "  foreign: {home: B, quality: {x: 1.0}, markets: [A, B],\n"
        "            localization: {A: 0.5}}\n", N);
    two par = {0.2, 1.0, 1.5 * 2 * 0.5};
    gsl_integration_workspace *ws = gsl_integration_workspace_alloc(200);
    gsl_function fn = {integrand, &par};
    double p1, err;
    gsl_integration_qagiu(&fn, 0, 1e-12, 1e-10, 200, ws, &p1, &err);
    gsl_integration_workspace_free(ws);
    for (int t = 0; t < 3; t++) {
        vh_step(w);
        MS_ASSERT_NEAR(vh_share(w, 1, 0, 0), p1, 4.5 * sqrt(p1 * (1 - p1) / N));
    }
    printf("\n    foreign share %.4f, expected %.4f\n", vh_share(w, 1, 0, 0), p1);
    vh_free(&w, &sc);
}

/* Limit 3: two symmetric firms with network weight gamma. The mean-field
 * map s' = 1 / (1 + exp(-gamma (2s - 1))) has s = 1/2 stable for gamma < 2;
 * above, the market tips to the other fixed point (0.9293 for gamma = 3). */
static double tipped(double gamma)
{
    double s = 0.99;
    for (int i = 0; i < 10000; i++)
        s = 1 / (1 + exp(-gamma * (2 * s - 1)));
    return s;
}

static double leader_after(double gamma, int seed, int steps)
{
    ms_scenario *sc;
    ms_world *w = vh_world(
        &sc,
        "run: {seed: %d, people_per_agent: 1}\n"
        "markets: {A: {population: %d}}\n"
        "categories: {x: {gamma: %g, churn: 1e6, initial_adopters: 1}}\n"
        "firms: {f0: {home: A, quality: {x: 0}}, f1: {home: A, quality: {x: 0}}}\n",
        seed, N, gamma);
    for (int t = 0; t < steps; t++)
        vh_step(w);
    double s = vh_share(w, 0, 0, 0);
    vh_free(&w, &sc);
    return s > 0.5 ? s : 1 - s;
}

static void test_tipping(void)
{
    CU_ASSERT(fabs(tipped(3) - 0.9293) < 5e-5);
    /* gamma = 3: the leader ends at 0.9293 (sd of a step's share 0.0006). */
    double s3 = leader_after(3, 1, 300);
    MS_ASSERT_NEAR(s3, 0.9293, 4.5 * sqrt(0.9293 * 0.0707 / N));
    /* gamma = 2.5: at its own fixed point. */
    double s25 = leader_after(2.5, 2, 300), f25 = tipped(2.5);
    MS_ASSERT_NEAR(s25, f25, 4.5 * sqrt(f25 * (1 - f25) / N));
    /* gamma = 1.5: equal shares stay. Near 1/2 the map contracts by
     * gamma / 2, so the stationary sd is 0.5 / sqrt(N (1 - (gamma/2)^2)). */
    double s15 = leader_after(1.5, 3, 300);
    MS_ASSERT_NEAR(s15, 0.5, 4.5 * 0.5 / sqrt(N * (1 - 0.75 * 0.75)));
    printf("\n    leader share: gamma 3 -> %.4f, 2.5 -> %.4f (theory %.4f), "
           "1.5 -> %.4f\n", s3, s25, f25, s15);
}

/* Limit 4: a foreign firm with L = 1 gets the same expected share as an
 * identical local firm; with L = 0 it gets less. */
static double foreign_share(double L)
{
    ms_scenario *sc;
    ms_world *w = vh_world(
        &sc,
        "run: {seed: 9, people_per_agent: 1}\n"
        "markets:\n"
        "  A: {population: %d, distance: {B: 3.23}}\n"
        "  B: {population: 1}\n"
        "categories: {x: {gamma: 0, churn: 1e6, initial_adopters: 1}}\n"
        "firms:\n"
        "  local: {home: A, quality: {x: 0.5}}\n"
        "  twin: {home: B, quality: {x: 0.5}, markets: [A, B],\n"
        "         localization: {A: %g}}\n", N, L);
    double sum = 0;
    for (int t = 0; t < 4; t++) {
        vh_step(w);
        sum += vh_share(w, 1, 0, 0);
    }
    vh_free(&w, &sc);
    return sum / 4;
}

static void test_localized_twin(void)
{
    double s1 = foreign_share(1.0), s0 = foreign_share(0.0);
    MS_ASSERT_NEAR(s1, 0.5, 4.5 * 0.5 / sqrt(4.0 * N));
    CU_ASSERT(s0 < 0.4);
    printf("\n    foreign twin share: L = 1 -> %.4f, L = 0 -> %.4f\n", s1, s0);
}

static const ms_unit_test tests[] = {
    {"logit shares (quality)", test_logit_quality},
    {"logit shares (foreignness)", test_logit_foreign},
    {"tipping threshold and 0.9293", test_tipping},
    {"localized foreign twin", test_localized_twin},
    {NULL, NULL}};

MS_UNIT_MAIN("choice", tests)
