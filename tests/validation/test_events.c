/*
 * test_events.c: the event-driven consumer step gives every consumer
 * exactly the probabilities of MODEL.md section 2 (docs/PERFORMANCE.md).
 *
 * The step draws candidates per block with a bound and thins them; these
 * tests look only at outcomes and compare them with each consumer's own
 * probability, computed here from its traits and the counts at the start
 * of the step:
 *
 *  - adoption: consumers grouped by innovativeness (deciles, and the top
 *    0.1% separately: the heavy tail that sets the blocks' bounds) adopt
 *    with 1 - exp(-(nu p + q A/K) dt);
 *  - churn: a user of firm f re-evaluates with 1 - exp(-chi dt) and then
 *    leaves f with 1 - s_f (s_f its logit probability), for churn rates
 *    from 0.1 to 5 per year;
 *  - choice: new adopters pick firm f with their own softmax probability,
 *    foreignness aversion phi_i included.
 *
 * Each bin count O is a sum of independent Bernoulli trials with known
 * probabilities, so with E = sum p and V = sum p (1 - p) the statistic
 * sum (O - E)^2 / V is chi-square with one degree of freedom per bin (to
 * the normal approximation; every bin expects hundreds of events). The
 * tests fail at p < 1e-4 and print every p-value.
 */
#include "validation/vhelp.h"

#include <gsl/gsl_cdf.h>
#include <gsl/gsl_sort.h>

#define P_FAIL 1e-4

typedef struct { double o, e, v; } bin;

static double chisq_p(const bin *b, int n, const char *what)
{
    double x = 0;
    int df = 0;
    for (int k = 0; k < n; k++)
        if (b[k].v > 0) {
            x += (b[k].o - b[k].e) * (b[k].o - b[k].e) / b[k].v;
            df++;
        }
    double p = gsl_cdf_chisq_Q(x, df);
    printf("\n    %s: chi-square %.2f, %d df, p = %.3f", what, x, df, p);
    return p;
}

/* Adoptions by innovativeness decile over several steps, with imitation. */
static void test_adoption_by_decile(void)
{
    const int N = 400000, steps = 12;
    const double p = 0.4, q = 0.6, dt = 1.0 / 12;
    ms_scenario *sc;
    ms_world *w = vh_world(
        &sc,
        "run: {seed: 11, people_per_agent: 1, dt: 1/12}\n"
        "model: {sigma_nu: 1.0}\n"
        "markets: {A: {population: %d}}\n"
        "categories: {x: {p: %g, q: %g, gamma: 0, churn: 0, ceiling: 0.9}}\n"
        "firms: {f: {home: A, quality: {x: 0}}}\n", N, p, q);
    /* Decile edges of nu (and the top 0.1%). */
    double *sorted = malloc(sizeof *sorted * N);
    unsigned *before = malloc(sizeof *before * N);
    float *nu = malloc(sizeof *nu * N);
    gsl_rng *r = ms_rng_gsl_alloc();
    CU_ASSERT_PTR_NOT_NULL_FATAL(r);
    for (int i = 0; i < N; i++)
        sorted[i] = nu[i] = ms_nu_draw(w, r, (uint64_t)i);
    ms_rng_gsl_free(r);
    gsl_sort(sorted, 1, N);
    double edge[10];
    for (int d = 1; d < 10; d++)
        edge[d] = sorted[(size_t)d * N / 10];
    double top = sorted[N - N / 1000];
    bin b[11] = {{0}};
    for (int t = 0; t < steps; t++) {
        double qterm = q * (double)w->adopters[0] / (double)w->K[0] * dt;
        for (int i = 0; i < N; i++)
            before[i] = ms_choice_get(w, 0, (uint32_t)i);
        vh_step(w);
        for (int i = 0; i < N; i++) {
            if (before[i] != 0)
                continue;
            double pi = -expm1(-((double)nu[i] * p * dt + qterm));
            int d = 0;
            while (d < 9 && nu[i] >= edge[d + 1])
                d++;
            int got = ms_choice_get(w, 0, (uint32_t)i) != 0;
            b[d].o += got; b[d].e += pi; b[d].v += pi * (1 - pi);
            if (nu[i] >= top) {
                b[10].o += got; b[10].e += pi; b[10].v += pi * (1 - pi);
            }
        }
    }
    for (int d = 0; d < 11; d++)
        CU_ASSERT(b[d].e > 200);
    CU_ASSERT(chisq_p(b, 10, "adoption by nu decile") > P_FAIL);
    CU_ASSERT(chisq_p(b + 10, 1, "adoption, top 0.1% of nu") > P_FAIL);
    CU_ASSERT_EQUAL(ms_world_check(w), MS_OK);
    free(sorted);
    free(before);
    free(nu);
    vh_free(&w, &sc);
}

/* Churn: leaving firm f happens with (1 - exp(-chi dt)) (1 - s_f). */
static void churn_at(double chi)
{
    const int N = 200000, steps = 6, F = 4;
    const double a[4] = {0.0, 0.4, 0.8, 1.2}, dt = 1.0 / 12;
    ms_scenario *sc;
    ms_world *w = vh_world(
        &sc,
        "run: {seed: 3, people_per_agent: 1, dt: 1/12}\n"
        "markets: {A: {population: %d}}\n"
        "categories: {x: {p: 0, q: 0, gamma: 0, churn: %g, initial_adopters: 1}}\n"
        "firms:\n"
        "  f0: {home: A, quality: {x: %g}}\n"
        "  f1: {home: A, quality: {x: %g}}\n"
        "  f2: {home: A, quality: {x: %g}}\n"
        "  f3: {home: A, quality: {x: %g}}\n", N, chi, a[0], a[1], a[2],
        a[3]);
    double den = 0;
    for (int f = 0; f < F; f++)
        den += exp(a[f]);
    const double r = -expm1(-chi * dt);
    unsigned *before = malloc(sizeof *before * N);
    bin b[4] = {{0}};
    for (int t = 0; t < steps; t++) {
        for (int i = 0; i < N; i++)
            before[i] = ms_choice_get(w, 0, (uint32_t)i);
        vh_step(w);
        for (int i = 0; i < N; i++) {
            int f = (int)before[i] - 1;
            double pl = r * (1 - exp(a[f]) / den);
            int left = ms_choice_get(w, 0, (uint32_t)i) != before[i];
            b[f].o += left; b[f].e += pl; b[f].v += pl * (1 - pl);
        }
    }
    char what[64];
    snprintf(what, sizeof what, "leaving each firm, churn %g/yr", chi);
    CU_ASSERT(chisq_p(b, F, what) > P_FAIL);
    double o = 0, e = 0;
    for (int f = 0; f < F; f++) {
        o += b[f].o;
        e += b[f].e;
    }
    printf(" (left %.0f, expected %.1f)", o, e);
    free(before);
    vh_free(&w, &sc);
}

static void test_churn_rates(void)
{
    churn_at(0.1);
    churn_at(0.5);
    churn_at(5.0);
}

/* Choices of new adopters: firm f with each adopter's own softmax, with
 * two foreign firms whose utility loses lambda phi CD (1 - L). */
static void test_choice_softmax(void)
{
    const int N = 300000, steps = 4, F = 4;
    ms_scenario *sc;
    ms_world *w = vh_world(
        &sc,
        "run: {seed: 9, people_per_agent: 1, dt: 1/12}\n"
        "model: {lambda: 1.5}\n"
        "markets:\n"
        "  A: {population: %d, distance: {B: 1.0}}\n"
        "  B: {population: 1000}\n"
        "categories: {x: {p: 3, q: 0, gamma: 0, churn: 0}}\n"
        "firms:\n"
        "  l0: {home: A, quality: {x: 0.0}}\n"
        "  l1: {home: A, quality: {x: 0.5}}\n"
        "  g0: {home: B, quality: {x: 1.0}, markets: [A, B], localization: {A: 0.2}}\n"
        "  g1: {home: B, quality: {x: 1.5}, markets: [A, B], localization: {A: 0.6}}\n",
        N);
    const double a[4] = {0.0, 0.5, 1.0, 1.5};
    const double D[4] = {0, 0, 1.5 * 1.0 * 0.8, 1.5 * 1.0 * 0.4};
    unsigned *before = malloc(sizeof *before * N);
    bin b[4] = {{0}};
    for (int t = 0; t < steps; t++) {
        for (int i = 0; i < N; i++)
            before[i] = ms_choice_get(w, 0, (uint32_t)i);
        vh_step(w);
        for (int i = 0; i < N; i++) {
            unsigned s = ms_choice_get(w, 0, (uint32_t)i);
            if (before[i] != 0 || s == 0)
                continue;
            double phi = ms_phi(w, (uint32_t)i), wt[4], tot = 0;
            for (int f = 0; f < F; f++)
                tot += wt[f] = exp(a[f] - phi * D[f]);
            for (int f = 0; f < F; f++) {
                double pf = wt[f] / tot;
                b[f].o += s == (unsigned)f + 1;
                b[f].e += pf;
                b[f].v += pf * (1 - pf);
            }
        }
    }
    for (int f = 0; f < F; f++)
        CU_ASSERT(b[f].e > 1000);
    /* The firm counts of one multinomial are dependent (they sum to the
     * adopters), which only makes the per-bin statistic conservative. */
    CU_ASSERT(chisq_p(b, F, "choices against each adopter's softmax") > P_FAIL);
    free(before);
    vh_free(&w, &sc);
}

static const ms_unit_test tests[] = {
    {"adoption by innovativeness decile", test_adoption_by_decile},
    {"churn counts 1 - exp(-chi dt)", test_churn_rates},
    {"logit choices match the softmax", test_choice_softmax},
    {NULL, NULL}};

MS_UNIT_MAIN("events", tests)
