/*
 * test_strategies.c: each strategy on a tiny hand-built world with a known
 * outcome (models/acquire.c, invest.c, localize.c, experiment.c), and the
 * accounting identities of MODEL.md section 9, limit 7.
 *
 * Revenue and costs are zero where a test checks cash to the last bit, so
 * the only flows are the ones the strategy makes.
 */
#include "models/strategy.h"
#include "validation/vhelp.h"

#include <string.h>

/* Market X is home of the acquirer A; market Y is home of the target T,
 * which holds all users there. arpu 0: no revenue, no costs. */
static const char *two_markets =
    "run: {seed: 4, people_per_agent: 1}\n"
    "model: {premium: 0.25, max_entrants: 0}\n"
    "markets:\n"
    "  X: {population: 2000, distance: {Y: 1}}\n"
    "  Y: {population: 3000, hhi_max: %g, dhhi_max: %g}\n"
    "categories: {shop: {initial_adopters: 0.5, arpu: %g}}\n"
    "firms:\n"
    "  A: {home: X, cash: 1.0e9, quality: {shop: 1}}\n"
    "  T: {home: Y, cash: 2.0e8, quality: {shop: 0}}\n"
    "  U: {home: Y, cash: 1.0e6, quality: {shop: 0}, markets: [Y, X]}\n";

static int64_t users_of(const ms_world *w, int f, int m)
{
    int64_t n = 0;
    for (int c = 0; c < w->C; c++)
        n += w->users[((size_t)m * w->C + c) * w->F + f];
    return n;
}

static void test_deal_accounting(void)
{
    ms_scenario *sc;
    ms_world *w = vh_world(&sc, two_markets, 1.0, 0.0, 0.0);
    /* A in market X is present; it is weak (no users) in Y. */
    ms_view_prepare(w);
    ms_group_users(w);
    double cash_a = w->cash[0], value_t = w->value[1];
    double price = 1.25 * value_t;
    CU_ASSERT(value_t > 0);
    w->acq_fund[0] = price; /* enough for T, and T is the most valuable */
    CU_ASSERT_EQUAL(ms_acquire_act(w, 0, 0), MS_OK);
    CU_ASSERT_EQUAL(w->owner[1], 0);
    CU_ASSERT_EQUAL(w->spend[0], price);
    CU_ASSERT_EQUAL(w->n_ev, 1);
    CU_ASSERT_EQUAL(w->ev[0].kind, MS_EV_ACQUISITION);
    CU_ASSERT_EQUAL(w->ev[0].amount, price);
    int64_t target_users = users_of(w, 1, 1);
    CU_ASSERT(target_users > 0);
    /* The group's users include the target's. */
    ms_group_users(w);
    double group_y = 0;
    for (int c = 0; c < w->C; c++)
        group_y += w->gusers[((size_t)0 * w->M + 1) * w->C + c];
    CU_ASSERT_EQUAL(group_y, (double)(users_of(w, 0, 1) + target_users));
    /* After the accounts, exactly the price left the acquirer's cash. */
    ms_firms_accounts(w);
    CU_ASSERT_EQUAL(w->cash[0], cash_a - price);
    CU_ASSERT_EQUAL(ms_world_check(w), MS_OK);
    vh_free(&w, &sc);
}

static void test_blocked_deal(void)
{
    ms_scenario *sc;
    /* hhi_max 0, dhhi_max 0: any rise in Y is blocked. */
    ms_world *w = vh_world(&sc, two_markets, 0.0, 0.0, 0.0);
    /* Give A a few users in Y so the deal raises the HHI there. */
    for (uint64_t i = w->m_off[1]; i < w->m_off[2]; i++) {
        if (ms_choice_get(w, 0, i) == 2) { /* a user of T (firm 1) */
            ms_choice_set(w, 0, i, 1);     /* moves to A */
            w->users[(size_t)1 * w->C * w->F + 1]--;
            w->users[(size_t)1 * w->C * w->F + 0]++;
            break;
        }
    }
    ms_observe(w);
    ms_view_prepare(w);
    ms_group_users(w);
    double cash_a = w->cash[0];
    w->acq_fund[0] = 1e12;
    CU_ASSERT_EQUAL(ms_acquire_act(w, 0, 0), MS_OK);
    CU_ASSERT_EQUAL(w->owner[1], 1);
    CU_ASSERT_EQUAL(w->spend[0], 0);
    CU_ASSERT_EQUAL(w->n_ev, 1);
    CU_ASSERT_EQUAL(w->ev[0].kind, MS_EV_BLOCKED_DEAL);
    CU_ASSERT_EQUAL(w->ev[0].target, 1);
    CU_ASSERT_EQUAL(w->ev[0].market, 1);
    ms_firms_accounts(w);
    CU_ASSERT_EQUAL(w->cash[0], cash_a);
    /* Not retried at once. */
    w->n_ev = 0;
    ms_group_users(w);
    CU_ASSERT_EQUAL(ms_acquire_act(w, 0, 0), MS_OK);
    CU_ASSERT(w->n_ev == 0 || w->ev[0].target != 1);
    vh_free(&w, &sc);
}

/* A stake pays sigma * payout * max(profit, 0) to the investor. */
static void test_stake_dividend(void)
{
    ms_scenario *sc;
    ms_world *w = vh_world(
        &sc,
        "run: {seed: 5, people_per_agent: 1}\n"
        "model: {stake: 0.2, payout: 0.5, weak_share: 0.1, max_entrants: 0}\n"
        "markets:\n"
        "  X: {population: 1000, distance: {Y: 1}}\n"
        "  Y: {population: 4000}\n"
        "categories: {shop: {initial_adopters: {X: 0, Y: 0.8}, arpu: {X: 0, Y: 12}, "
        "unit_cost: 2}}\n"
        "firms:\n"
        "  I: {home: X, cash: 1.0e9, quality: {shop: 0}}\n"
        "  P: {home: Y, cash: 1.0e6, quality: {shop: 0}}\n");
    ms_view_prepare(w);
    ms_firms_accounts(w); /* P's revenue and so its value */
    ms_group_users(w);
    double cash_i = w->cash[0], cash_p = w->cash[1];
    double price = 0.2 * w->value[1];
    w->inv_fund[0] = 1e9;
    CU_ASSERT_EQUAL(ms_invest_act(w, 0, 0), MS_OK);
    CU_ASSERT_EQUAL_FATAL(w->n_stakes, 1);
    CU_ASSERT_EQUAL(w->st_tgt[0], 1);
    CU_ASSERT_EQUAL(w->st_sigma[0], 0.2);
    CU_ASSERT_EQUAL(w->spend[0], price);
    CU_ASSERT_EQUAL(w->inflow[1], price);
    CU_ASSERT_EQUAL(w->n_partners, 1);
    /* One step of accounts: I gets exactly the dividend, P pays it. */
    ms_firms_accounts(w);
    double profit = w->profit[1];
    CU_ASSERT(profit > 0);
    double div = 0.2 * 0.5 * profit;
    MS_ASSERT_NEAR(w->cash[0], cash_i - price + div, 1e-9 * cash_i);
    MS_ASSERT_NEAR(w->cash[1], cash_p + price + profit - div, 1e-9 * cash_i);
    /* The investor's value includes sigma times the partner's value. */
    MS_ASSERT_NEAR(w->value[0],
                   w->cash[0] + 0.2 * w->value[1], 1e-9 * w->value[0]);
    CU_ASSERT_EQUAL(ms_world_check(w), MS_OK);
    vh_free(&w, &sc);
}

static void test_localization_formula(void)
{
    ms_scenario *sc;
    ms_world *w = vh_world(
        &sc,
        "run: {seed: 6, people_per_agent: 1}\n"
        "model: {k_L: 1.7, c_L: 0.8, max_entrants: 0}\n"
        "markets:\n"
        "  X: {population: 1000, distance: {Y: 2}}\n"
        "  Y: {population: 5000}\n"
        "categories: {shop: {arpu: 10}}\n"
        "firms:\n"
        "  F: {home: X, quality: {shop: 0}, markets: [X, Y],\n"
        "      localization: {Y: 0.3}}\n");
    const double B = 1234.5;
    double L = 0.3;
    for (int k = 0; k < 5; k++) {
        CU_ASSERT_EQUAL(ms_localize_act(w, 0, B), MS_OK);
        L += (1 - L) * (1 - exp(-1.7 * B / (5000.0 * 0.8)));
        MS_ASSERT_NEAR(w->loc[1], L, 1e-12);
    }
    MS_ASSERT_NEAR(w->spend[0], 5 * B, 1e-9);
    CU_ASSERT_EQUAL(w->loc[0], 1); /* home stays 1 */
    vh_free(&w, &sc);
}

static void test_closed_market(void)
{
    ms_scenario *sc;
    ms_world *w = vh_world(
        &sc,
        "run: {seed: 7, steps: 60, people_per_agent: 1}\n"
        "model: {max_entrants: 0}\n"
        "markets:\n"
        "  X: {population: 1000, distance: {Y: 1, Z: 1}}\n"
        "  Y: {population: 5000, openness: 0, entry_cost: 1}\n"
        "  Z: {population: 5000, openness: 0.5, entry_cost: 1.0e6}\n"
        "categories: {shop: {arpu: 10, initial_adopters: 0.5}}\n"
        "firms:\n"
        "  F: {home: X, cash: 1.0e9, quality: {shop: 0}, beta: 5,\n"
        "      strategy: {localize: 1}}\n");
    int entered_z = 0;
    for (int t = 0; t < 60; t++) {
        vh_step(w);
        CU_ASSERT_EQUAL(w->present[1], 0); /* Y closed: never entered */
        for (int e = 0; e < w->n_ev; e++)
            if (w->ev[e].kind == MS_EV_ENTER_MARKET) {
                CU_ASSERT_EQUAL(w->ev[e].market, 2);
                MS_ASSERT_NEAR(w->ev[e].amount, 2.0e6, 1e-6); /* cost/openness */
                entered_z++;
            }
    }
    CU_ASSERT_EQUAL(entered_z, 1); /* the open market was entered, once */
    CU_ASSERT_EQUAL(w->present[2], 1);
    CU_ASSERT_EQUAL(ms_world_check(w), MS_OK);
    vh_free(&w, &sc);
}

/* Experiments: spending, and failures felt by the firm's users. */
static void test_experiment(void)
{
    ms_scenario *sc;
    ms_world *w = vh_world(
        &sc,
        "run: {seed: 8, people_per_agent: 1}\n"
        "model: {cost_experiment: 1, w0: 0.2, live_share: 0.5, zeta: 0,\n"
        "        max_entrants: 0}\n"
        "markets: {X: {population: 1000}}\n"
        "categories: {shop: {initial_adopters: 0.5}}\n"
        "firms: {F: {home: X, quality: {shop: 0}, boldness: 1}}\n");
    ms_view_prepare(w);
    CU_ASSERT_EQUAL(ms_experiment_act(w, 0, 30), MS_OK); /* ~30 experiments */
    CU_ASSERT_EQUAL(w->spend[0], 30);
    double a = w->quality[0];
    CU_ASSERT(a > 0 && a <= 0.2); /* best of ~30 draws, at most w */
    double own = w->ctab[0].own[w->ctab[0].slot[1]];
    CU_ASSERT(own < 1 && own >= exp(-0.5 * 0.2));
    vh_free(&w, &sc);
}

/* Exit: negative cash for exit_patience steps; users move to others. */
static void test_exit(void)
{
    ms_scenario *sc;
    ms_world *w = vh_world(
        &sc,
        "run: {seed: 9, people_per_agent: 1}\n"
        "model: {exit_patience: 3, max_entrants: 0}\n"
        "markets: {X: {population: 4000, presence_cost: 1.0e6}}\n"
        "categories: {shop: {initial_adopters: 1, churn: 0.1}}\n"
        "firms:\n"
        "  Poor: {home: X, cash: -1, quality: {shop: 0}}\n"
        "  Rich: {home: X, cash: 1.0e9, quality: {shop: 0}}\n");
    CU_ASSERT(users_of(w, 0, 0) > 0);
    for (int t = 0; t < 3; t++) {
        CU_ASSERT_EQUAL(w->alive[0], 1);
        vh_step(w);
    }
    CU_ASSERT_EQUAL(w->alive[0], 0);
    vh_step(w); /* its users re-choose at once */
    CU_ASSERT_EQUAL(users_of(w, 0, 0), 0);
    CU_ASSERT_EQUAL(users_of(w, 1, 0), w->adopters[0]);
    CU_ASSERT_EQUAL(ms_world_check(w), MS_OK);
    vh_free(&w, &sc);
}

static const ms_unit_test tests[] = {
    {"deal: price out, users into the group", test_deal_accounting},
    {"blocked deal changes nothing", test_blocked_deal},
    {"stake pays its dividend", test_stake_dividend},
    {"localization formula to 1e-12", test_localization_formula},
    {"closed market never entered", test_closed_market},
    {"experiment spends and is felt", test_experiment},
    {"exit after negative cash", test_exit},
    {NULL, NULL}};

MS_UNIT_MAIN("strategies", tests)
