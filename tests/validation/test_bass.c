/*
 * test_bass.c: MODEL.md section 9, limit 1 (Bass diffusion).
 *
 * One market, one category, one firm, nu = 1, no features. For large N the
 * adopter share F follows F' = F + (1 - F)(1 - exp(-(p + qF) dt)), and as
 * dt -> 0 the closed form F(t) = (1 - e^{-(p+q)t}) / (1 + (q/p) e^{-(p+q)t})
 * with the adoption rate peaking at t* = ln(q/p) / (p + q).
 *
 * Tolerances come from the sampling error. One step adds binomial noise of
 * variance (1 - F) h (1 - h) / N; imitation amplifies early noise, and the
 * linear noise approximation (lna_sd below) gives the sd of a whole path:
 * up to 0.0035 at N = 10^5. So a single path is compared step by step (the
 * next share against the recursion from the current one), and whole paths
 * as the mean of replications; every bound is 4.5 or more sd and also the
 * 0.005 the model promises.
 */
#include "validation/vhelp.h"

static const double P = 0.03, Q = 0.38;

static const char *bass_yaml =
    "run: {steps: %d, dt: %.17g, seed: %d, people_per_agent: 1}\n"
    "model: {sigma_nu: 0}\n"
    "markets: {A: {population: %d}}\n"
    "categories: {x: {p: %g, q: %g, gamma: 0, churn: 0}}\n"
    "firms: {f: {home: A, quality: {x: 0}}}\n";

static double share(const ms_world *w)
{
    return (double)w->adopters[0] / (double)w->K[0];
}

static double recursion(double F, double dt)
{
    return F + (1 - F) * -expm1(-(P + Q * F) * dt);
}

/* Largest sd of F over the path (linear noise approximation). */
static double lna_sd(double dt, int steps, double N, double *sd)
{
    double F = 0, V = 0, mx = 0;
    for (int t = 0; t < steps; t++) {
        double h = -expm1(-(P + Q * F) * dt);
        double a = 1 - h + (1 - F) * Q * dt * exp(-(P + Q * F) * dt);
        V = a * a * V + (1 - F) * h * (1 - h) / N;
        F += (1 - F) * h;
        sd[t] = sqrt(V);
        if (sd[t] > mx)
            mx = sd[t];
    }
    return mx;
}

/* Step by step: the next share against the recursion from the current. */
static void test_one_step_law(void)
{
    const int N = 100000, steps = 240;
    const double dt = 1.0 / 12;
    ms_scenario *sc;
    ms_world *w = vh_world(&sc, bass_yaml, steps, dt, 7, N, P, Q);
    double worst = 0, worst_z = 0;
    for (int t = 0; t < steps; t++) {
        double F = share(w);
        double expect = recursion(F, dt);
        double h = -expm1(-(P + Q * F) * dt);
        double sd = sqrt((1 - F) * h * (1 - h) / N);
        vh_step(w);
        double dev = fabs(share(w) - expect);
        if (dev > worst)
            worst = dev;
        if (sd > 0 && dev / sd > worst_z)
            worst_z = dev / sd;
    }
    printf("\n    one-step law: max |dev| %.5f, max z %.2f\n", worst, worst_z);
    CU_ASSERT(worst <= 0.005);
    CU_ASSERT(worst_z <= 5.0);
    vh_free(&w, &sc);
}

/* Whole paths: the mean of R replications against the recursion. */
static void test_path_mean(void)
{
    enum { R = 16, STEPS = 240 };
    const int N = 100000;
    const double dt = 1.0 / 12;
    static double sum[STEPS], sum2[STEPS], sd[STEPS];
    double sdmax = lna_sd(dt, STEPS, N, sd);
    for (int r = 0; r < R; r++) {
        ms_scenario *sc;
        ms_world *w = vh_world(&sc, bass_yaml, STEPS, dt, 100 + r, N, P, Q);
        for (int t = 0; t < STEPS; t++) {
            vh_step(w);
            sum[t] += share(w);
            sum2[t] += share(w) * share(w);
        }
        vh_free(&w, &sc);
    }
    double F = 0, worst = 0, worst_z = 0, ratio_at_peak = 0;
    int tpeak = 0;
    for (int t = 0; t < STEPS; t++) {
        F = recursion(F, dt);
        double mean = sum[t] / R;
        double dev = fabs(mean - F);
        double z = dev / (sd[t] / sqrt(R));
        if (dev > worst)
            worst = dev;
        if (z > worst_z)
            worst_z = z;
        if (sd[t] >= sd[tpeak])
            tpeak = t;
    }
    double var = (sum2[tpeak] - sum[tpeak] * sum[tpeak] / R) / (R - 1);
    ratio_at_peak = sqrt(var) / sd[tpeak];
    printf("\n    path mean of %d: max |dev| %.5f (max z %.2f); path sd "
           "%.4f by LNA, sample/LNA at its peak %.2f\n", R, worst, worst_z,
           sdmax, ratio_at_peak);
    CU_ASSERT(worst <= 0.005);
    CU_ASSERT(worst_z <= 4.5);
    /* The spread itself matches the LNA (chi-square, 15 dof, 99.9%%). */
    CU_ASSERT(ratio_at_peak > 0.44 && ratio_at_peak < 1.72);
}

static double closed_form(double t, double F0)
{
    /* Bass ODE solution through F(0) = F0. */
    double c = (1 - F0) / (1 + Q / P * F0);
    double e = c * exp(-(P + Q) * t);
    return (1 - e) / (1 + Q / P * e);
}

/* dt = 0.001: the flow of the closed form over each year, from the
 * simulated state at its start, and the peak time of the adoption rate. */
static void test_closed_form(void)
{
    const int N = 100000, steps = 10000;
    const double dt = 0.001;
    ms_scenario *sc;
    ms_world *w = vh_world(&sc, bass_yaml, steps, dt, 11, N, P, Q);
    double worst = 0, F_year = 0, t_cross = -1;
    const double F_star = (Q - P) / (2 * Q); /* share at the peak rate */
    const double t_star = log(Q / P) / (P + Q);
    for (int t = 1; t <= steps; t++) {
        double before = share(w);
        vh_step(w);
        double F = share(w);
        if (t_cross < 0 && before < F_star && F >= F_star)
            t_cross = (t - 1 + (F_star - before) / (F - before)) * dt;
        if (t % 1000 == 0) {
            double dev = fabs(F - closed_form(1.0, F_year));
            if (dev > worst)
                worst = dev;
            F_year = F;
        }
    }
    /* sd of the crossing time: path sd of F over the slope there. */
    static double sd[10000];
    lna_sd(dt, steps, N, sd);
    double slope = (P + Q) * (P + Q) / (4 * Q);
    double t_tol = 4.5 * sd[(int)(t_star / dt)] / slope;
    printf("\n    closed form: yearly flow max |dev| %.5f; peak rate at "
           "t = %.3f (theory %.3f, tolerance %.3f)\n", worst, t_cross, t_star,
           t_tol);
    CU_ASSERT(worst <= 0.005);
    MS_ASSERT_NEAR(t_cross, t_star, t_tol);
    vh_free(&w, &sc);
}

/* The ceiling: never more adopters than kappa * N, and exactly reached. */
static void test_ceiling(void)
{
    ms_scenario *sc;
    ms_world *w = vh_world(
        &sc,
        "run: {steps: 1, dt: 1/12, seed: 3, people_per_agent: 1}\n"
        "markets: {A: {population: 10001}}\n"
        "categories: {x: {p: 5, q: 5, ceiling: 0.3}}\n"
        "firms: {f: {home: A, quality: {x: 0}}}\n");
    CU_ASSERT_EQUAL(w->K[0], 3000); /* round(0.3 * 10001) */
    for (int t = 0; t < 200; t++)
        vh_step(w);
    CU_ASSERT(w->adopters[0] <= 3000);
    CU_ASSERT(w->adopters[0] >= 2990);
    CU_ASSERT_EQUAL(ms_world_check(w), MS_OK);
    vh_free(&w, &sc);
}

static const ms_unit_test tests[] = {
    {"one-step law at N=1e5", test_one_step_law},
    {"path mean of replications", test_path_mean},
    {"closed form and peak at dt=0.001", test_closed_form},
    {"ceiling", test_ceiling},
    {NULL, NULL}};

MS_UNIT_MAIN("bass", tests)
