/*
 * test_behaviour.c: each strategy does what the seed documents claim,
 * against its own ablation on the same seeds.
 *
 * Every case runs R replications with and without the strategy (same
 * seeds, so the comparison is paired by seed) and compares the means with
 * Welch's t statistic; the effect must be in the claimed direction with
 * t > 3 (one-sided p below 0.01 at these sample sizes).
 */
#include "models/strategy.h"
#include "validation/vhelp.h"

enum { R = 6 };

typedef double (*measure_fn)(int with, int seed);

static void compare(const char *what, measure_fn fn, double *out_with,
                    double *out_without)
{
    double a[R], b[R], ma = 0, mb = 0, va = 0, vb = 0;
    for (int r = 0; r < R; r++) {
        a[r] = fn(1, 100 + r);
        b[r] = fn(0, 100 + r);
        ma += a[r] / R;
        mb += b[r] / R;
    }
    for (int r = 0; r < R; r++) {
        va += (a[r] - ma) * (a[r] - ma) / (R - 1);
        vb += (b[r] - mb) * (b[r] - mb) / (R - 1);
    }
    double se = sqrt(va / R + vb / R);
    double t = se > 0 ? (ma - mb) / se : (ma > mb ? HUGE_VAL : 0);
    printf("\n    %s: with %.4g, without %.4g (t = %.1f)\n", what, ma, mb, t);
    CU_ASSERT(t > 3);
    *out_with = ma;
    *out_without = mb;
}

static double share_of(const ms_world *w, int f, int m, int c)
{
    return vh_share(w, f, m, c);
}

/* A foreign entrant that localizes gains share over one that does not. */
static double localizer(int with, int seed)
{
    ms_scenario *sc;
    ms_world *w = vh_world(
        &sc,
        "run: {seed: %d, people_per_agent: 1}\n"
        "model: {max_entrants: 0, c_L: 5000, k_L: 1}\n"
        "markets:\n"
        "  A: {population: 20000, distance: {B: 2}}\n"
        "  B: {population: 100}\n"
        "categories: {shop: {initial_adopters: 0.5, churn: 0.5, gamma: 0.5,"
        " arpu: 20}}\n"
        "firms:\n"
        "  Local: {home: A, quality: {shop: 0.5}}\n"
        "  Foreign: {home: B, cash: 1.0e9, quality: {shop: 0.5},\n"
        "            markets: [A, B], localization: {A: 0.05},\n"
        "            strategy: {localize: 1}, beta: %g}\n",
        seed, with ? 1.0 : 0.0);
    for (int t = 0; t < 60; t++)
        vh_step(w);
    double s = share_of(w, 1, 0, 0);
    vh_free(&w, &sc);
    return s;
}

static void test_localize(void)
{
    double a, b;
    compare("foreign share after 5 years, localizing vs not", localizer, &a,
            &b);
}

/* An aggressive experimenter that features a new format grows its adoption
 * faster than a cautious one. */
static double experimenter(int with, int seed)
{
    ms_scenario *sc;
    ms_world *w = vh_world(
        &sc,
        "run: {seed: %d, people_per_agent: 1}\n"
        "model: {max_entrants: 0, cost_experiment: 1.0e6, p_launch: 0.2}\n"
        "markets: {X: {population: 20000}}\n"
        "categories:\n"
        "  shop: {initial_adopters: 0.8, arpu: 10}\n"
        "  live: {host: shop, p: 0.01, q: 0.3, p_feature: 1.0}\n"
        "firms:\n"
        "  Bold: {home: X, cash: 1.0e9, quality: {shop: 0.5},\n"
        "         strategy: {experiment: 1}, beta: %g, boldness: %g,\n"
        "         prominence: %g}\n"
        "  Other: {home: X, cash: 1.0e9, quality: {shop: 0.5, live: 0}}\n",
        seed, with ? 0.5 : 0.02, with ? 2.0 : 0.5, with ? 1.0 : 0.05);
    for (int t = 0; t < 36; t++)
        vh_step(w);
    double adopted = (double)w->adopters[1] / (double)w->K[1];
    vh_free(&w, &sc);
    return adopted;
}

static void test_experiment(void)
{
    double a, b;
    compare("live-format adoption after 3 years, bold vs cautious",
            experimenter, &a, &b);
}

/* An acquirer's group reaches foreign users sooner than organic entry at
 * the same budget. Measured: steps until the group holds 5% of market Y's
 * users (negated, so that sooner is larger). The buyer's quality lead of
 * 0.5 is above ln(1 + premium) = 0.262, so buying creates value (NPV > 0,
 * MODEL.md section 5). */
static double acquirer(int with, int seed)
{
    ms_scenario *sc;
    ms_world *w = vh_world(
        &sc,
        "run: {seed: %d, people_per_agent: 1}\n"
        "model: {max_entrants: 0, premium: 0.3, L0: 0.1}\n"
        "markets:\n"
        "  X: {population: 20000, distance: {Y: 1.5}}\n"
        "  Y: {population: 20000, entry_cost: 3.0e8}\n"
        "categories: {shop: {initial_adopters: 0.6, arpu: 5, churn: 0.3}}\n"
        "firms:\n"
        "  Buyer: {home: X, cash: 2.0e9, quality: {shop: 0.8},\n"
        "          strategy: {%s: 1}, beta: 1}\n"
        "  Target: {home: Y, cash: 2.0e8, quality: {shop: 0.3}}\n"
        "  Rival: {home: Y, cash: 2.0e8, quality: {shop: 0.3}}\n",
        seed, with ? "acquire" : "localize");
    int reached = 120;
    for (int t = 0; t < 120; t++) {
        vh_step(w);
        ms_group_users(w);
        if (ms_group_share(w, 0, 1, 0) >= 0.05) {
            reached = t + 1;
            break;
        }
    }
    vh_free(&w, &sc);
    return -(double)reached;
}

static void test_acquire(void)
{
    double a, b;
    compare("-(steps to 5% of foreign users), acquire vs organic entry",
            acquirer, &a, &b);
}

/* An investor's partner grows faster than the same firm without the
 * stake. Measured: the partner's users after 5 years. */
static double investor(int with, int seed)
{
    ms_scenario *sc;
    ms_world *w = vh_world(
        &sc,
        "run: {seed: %d, people_per_agent: 1}\n"
        "model: {max_entrants: 0, stake: 0.2, psi: 2}\n"
        "markets:\n"
        "  X: {population: 20000, distance: {Y: 1}}\n"
        "  Y: {population: 20000}\n"
        "categories: {ride: {initial_adopters: 0.3, arpu: 5, churn: 0.5}}\n"
        "firms:\n"
        "  Investor: {home: X, cash: 2.0e9, quality: {ride: 1.5},\n"
        "             strategy: {invest: 1}, beta: %g}\n"
        "  Partner: {home: Y, cash: 1.0e7, quality: {ride: 0.4}}\n"
        "  Rival: {home: Y, cash: 1.0e7, quality: {ride: 0.3}}\n",
        seed, with ? 1.0 : 0.0);
    for (int t = 0; t < 60; t++)
        vh_step(w);
    double n = (double)w->users[((size_t)1 * w->C + 0) * w->F + 1];
    vh_free(&w, &sc);
    return n;
}

static void test_invest(void)
{
    double a, b;
    compare("partner's users after 5 years, with vs without the stake",
            investor, &a, &b);
}

static const ms_unit_test tests[] = {
    {"localizing entrant gains share", test_localize},
    {"bold experimenter grows the new format", test_experiment},
    {"acquirer reaches foreign users sooner", test_acquire},
    {"investor's partner grows faster", test_invest},
    {NULL, NULL}};

MS_UNIT_MAIN("behaviour", tests)
