/*
 * test_world.c: world setup, the step loop and ms_world_check
 * (sim/core/world.c, step.c).
 *
 * Setup must meet the ceiling and the initial shares exactly (not in
 * expectation), the check must catch each kind of corruption it promises
 * to, results must not depend on the number of threads, and a firm that
 * leaves a market must lose its users there at once.
 */
#include "core/world_int.h"
#include "unit/unit.h"

#include "marketsim/ms_alloc.h"

#include <stdlib.h>
#include <string.h>

/* Two markets (one with a fractional population), a host category and a
 * hosted format with a featuring firm; sizes chosen so that kappa * N and
 * share * K hit both roundings, including an exact .5. */
static const char *small_text =
    "run: {seed: 11, people_per_agent: 1}\n"
    "model: {lambda: 0.8, eta: 0.4}\n"
    "markets:\n"
    "  A: {population: 12001, distance: {B: 1.2}}\n"
    "  B: {population: 7003.4}\n"
    "categories:\n"
    "  x: {p: 0.3, q: 0.6, churn: 0.8, gamma: 1.2, switching_cost: 0.3,\n"
    "      ceiling: {A: 0.37, B: 0.5}, initial_adopters: {A: 0.3, B: 0.25},\n"
    "      arpu: 10, unit_cost: 1}\n"
    "  y: {host: x, p: 0.05, q: 0.4, p_feature: 2, churn: 0.5,\n"
    "      ceiling: {A: 0.61, B: 0.2}, initial_adopters: {A: 0.1, B: 0},\n"
    "      arpu: {A: 3, B: 1}}\n"
    "firms:\n"
    "  fa: {home: A, quality: {x: 0.5, y: 0.2}, launched: [y],"
    " prominence: 0.7, markets: [A, B], localization: {B: 0.3}}\n"
    "  fb: {home: B, quality: {x: 0.8}, markets: [A, B]}\n"
    "  fa2: {home: A, quality: {x: 0.1, y: 0.4}}\n";

static ms_scenario *scenario(const char *text, const char *set)
{
    ms_scenario *sc = NULL;
    const char *sets[1] = {set};
    ms_status st = ms_scenario_load_string(text, "w.yaml", sets, set ? 1 : 0,
                                           &sc);
    if (st != MS_OK)
        printf("\n    %s\n", ms_error_message());
    CU_ASSERT_EQUAL_FATAL(st, MS_OK);
    return sc;
}

static ms_world *world(const ms_scenario *sc, int threads)
{
    ms_world *w = NULL;
    ms_status st = ms_world_create(sc, threads, &w);
    if (st != MS_OK)
        printf("\n    %s\n", ms_error_message());
    CU_ASSERT_EQUAL_FATAL(st, MS_OK);
    CU_ASSERT_PTR_NOT_NULL_FATAL(w);
    return w;
}

static void steps(ms_world *w, int n)
{
    for (int i = 0; i < n; i++) {
        ms_status st = ms_world_step(w);
        if (st != MS_OK)
            printf("\n    step %d: %s\n", i, ms_error_message());
        CU_ASSERT_EQUAL_FATAL(st, MS_OK);
    }
}

static void expect_check(const ms_world *w, ms_status code, const char *want)
{
    ms_status st = ms_world_check(w);
    CU_ASSERT_EQUAL(st, code);
    if (code != MS_OK) {
        const char *msg = ms_error_message();
        if (!strstr(msg, want))
            printf("\n    check message \"%s\" lacks \"%s\"\n", msg, want);
        CU_ASSERT_PTR_NOT_NULL(strstr(msg, want));
    } else if (st != MS_OK) {
        printf("\n    check failed: %s\n", ms_error_message());
    }
}

/* Consumers of (m, c) whose choice value satisfies a predicate. */
static int64_t count(const ms_world *w, int m, int c, int what)
{
    int64_t n = 0;
    for (uint64_t i = w->m_off[m]; i < w->m_off[m + 1]; i++) {
        unsigned s = ms_choice_get(w, c, i);
        n += what == 0 ? s != MS_NOPOT : (s != MS_NOPOT && s != 0);
    }
    return n;
}

static void test_setup_exact(void)
{
    size_t live = ms_alloc_live_bytes();
    ms_scenario *sc = scenario(small_text, NULL);
    ms_world *w = world(sc, 2);
    const int M = w->M, C = w->C, F = w->F;
    CU_ASSERT_EQUAL_FATAL(M, 2);
    CU_ASSERT_EQUAL_FATAL(C, 2);
    /* N_m = round(P_m / people_per_agent). */
    CU_ASSERT_EQUAL(w->m_off[1] - w->m_off[0], 12001);
    CU_ASSERT_EQUAL(w->m_off[2] - w->m_off[1], 7003);
    CU_ASSERT_EQUAL(ms_world_consumers(w), 19004);
    CU_ASSERT_EQUAL(ms_world_step_count(w), 0);
    const double kappa[2][2] = {{0.37, 0.61}, {0.5, 0.2}};   /* [m][c] */
    const double share[2][2] = {{0.3, 0.1}, {0.25, 0}};
    /* By hand: 4440.37, 7320.61, 3501.5, 1400.6 -> */
    const int64_t K_hand[2][2] = {{4440, 7321}, {3502, 1401}};
    /* 0.3 * 4440 = 1332, 0.1 * 7321 = 732.1, 0.25 * 3502 = 875.5 -> */
    const int64_t A_hand[2][2] = {{1332, 732}, {876, 0}};
    for (int m = 0; m < M; m++)
        for (int c = 0; c < C; c++) {
            size_t mc = (size_t)m * C + c;
            int64_t Nm = w->m_off[m + 1] - w->m_off[m];
            int64_t K = llround(kappa[m][c] * (double)Nm);
            CU_ASSERT_EQUAL(K, K_hand[m][c]);
            CU_ASSERT_EQUAL(w->K[mc], K);
            CU_ASSERT_EQUAL(count(w, m, c, 0), K);
            int64_t A0 = llround(share[m][c] * (double)K);
            CU_ASSERT_EQUAL(A0, A_hand[m][c]);
            CU_ASSERT_EQUAL(w->adopters[mc], A0);
            CU_ASSERT_EQUAL(count(w, m, c, 1), A0);
            int64_t sum = 0;
            for (int f = 0; f < F; f++)
                sum += w->users[mc * F + f];
            CU_ASSERT_EQUAL(sum, A0);
        }
    /* Hosted y: only firms offering it in the market get users. fb does
     * not offer y; fa2 is not in B. */
    CU_ASSERT_EQUAL(w->users[(0 * C + 1) * F + 1], 0);
    CU_ASSERT(w->users[(0 * C + 1) * F + 0] > 0);
    CU_ASSERT(w->users[(0 * C + 1) * F + 2] > 0);
    CU_ASSERT_EQUAL(w->users[(1 * C + 0) * F + 2], 0);
    expect_check(w, MS_OK, NULL);

    steps(w, 24);
    CU_ASSERT_EQUAL(ms_world_step_count(w), 24);
    expect_check(w, MS_OK, NULL);
    for (int m = 0; m < M; m++)
        for (int c = 0; c < C; c++) {
            size_t mc = (size_t)m * C + c;
            /* The ceiling holds and the market grew. */
            CU_ASSERT_EQUAL(count(w, m, c, 0), w->K[mc]);
            CU_ASSERT(w->adopters[mc] <= w->K[mc]);
            CU_ASSERT(w->adopters[mc] > A_hand[m][c]);
        }
    /* Traits as MODEL.md says: nu lognormal with mean 1, phi
     * exponential with mean 1 (sd of the means ~0.5/sqrt(N), 1/sqrt(N)). */
    double snu = 0, sphi = 0;
    long bad_traits = 0;
    gsl_rng *r = ms_rng_gsl_alloc();
    CU_ASSERT_PTR_NOT_NULL_FATAL(r);
    for (uint64_t i = 0; i < w->N; i++) {
        double phi = ms_phi(w, i);
        float nu = ms_nu_draw(w, r, i);
        snu += nu;
        sphi += phi;
        bad_traits += !(nu > 0 && phi >= 0);
    }
    ms_rng_gsl_free(r);
    CU_ASSERT_EQUAL(bad_traits, 0);
    double sd_nu = sqrt(exp(0.25) - 1); /* sigma_nu = 0.5 */
    MS_ASSERT_NEAR(snu / w->N, 1, 5 * sd_nu / sqrt(w->N));
    MS_ASSERT_NEAR(sphi / w->N, 1, 5 / sqrt(w->N));
    ms_world_destroy(&w);
    CU_ASSERT_PTR_NULL(w);
    ms_world_destroy(&w);
    ms_world_destroy(NULL);
    ms_scenario_destroy(&sc);
    CU_ASSERT_EQUAL(ms_alloc_live_bytes(), live);
}

static void test_check_catches_corruption(void)
{
    ms_scenario *sc = scenario(small_text, NULL);
    ms_world *w = world(sc, 2);
    steps(w, 24);
    expect_check(w, MS_OK, NULL);
    const int C = w->C, F = w->F;

    /* A user count off by one. */
    size_t mc = 1 * C + 0;
    w->users[mc * F + 1]++;
    expect_check(w, MS_ECHECK, "sum to");
    expect_check(w, MS_ECHECK, "x in B");
    w->users[mc * F + 1]--;
    expect_check(w, MS_OK, NULL);
    /* A negative count. */
    w->users[mc * F + 1] -= w->users[mc * F + 1] + 1;
    expect_check(w, MS_ECHECK, "has -1 users of x in B");
    ms_world_destroy(&w);
    w = world(sc, 2);
    steps(w, 24);

    /* Counts that disagree with the consumers' own states. */
    uint64_t i0 = w->m_off[0];
    uint64_t k = i0;
    while (ms_choice_get(w, 0, k) != 0) /* a potential non-adopter of x in A */
        k++;
    ms_choice_set(w, 0, k, 1);
    expect_check(w, MS_ECHECK, "consumers use x in A");
    ms_choice_set(w, 0, k, 0);
    expect_check(w, MS_OK, NULL);

    /* Cash that moved without a recorded flow. */
    double c0 = w->cash[2];
    w->cash[2] += 1000;
    expect_check(w, MS_ECHECK, "cash of fa2");
    w->cash[2] = c0;
    expect_check(w, MS_OK, NULL);
    c0 = w->cash[0];
    w->cash[0] = NAN;
    expect_check(w, MS_ECHECK, "cash of fa changed");
    w->cash[0] = c0;
    expect_check(w, MS_OK, NULL);

    /* An ownership cycle. */
    w->owner[0] = 1;
    w->owner[1] = 0;
    expect_check(w, MS_ECHECK, "cycle");
    w->owner[1] = 1;
    expect_check(w, MS_OK, NULL); /* a plain acquisition is fine */
    w->owner[0] = 2;
    w->owner[2] = 1;
    w->owner[1] = 0;
    expect_check(w, MS_ECHECK, "cycle");
    w->owner[0] = 0;
    w->owner[1] = 1;
    w->owner[2] = 2;
    expect_check(w, MS_OK, NULL);

    /* Localization outside [0, 1], or below 1 at home. */
    w->loc[1 * w->M + 0] = 1.5;
    expect_check(w, MS_ECHECK, "localization of fb in A");
    w->loc[1 * w->M + 0] = 0;
    w->loc[0 * w->M + 0] = 0.9;
    expect_check(w, MS_ECHECK, "localization of fa in A");
    w->loc[0 * w->M + 0] = 1;
    expect_check(w, MS_OK, NULL);

    /* Adopters above the ceiling (users and states still agree). */
    uint64_t j = w->m_off[1];
    while (ms_choice_get(w, 1, j) != MS_NOPOT)
        j++;
    ms_choice_set(w, 1, j, 1); /* y in B: uses fa */
    w->users[(1 * C + 1) * F + 0]++;
    w->adopters[1 * C + 1]++;
    int64_t Kold = w->K[1 * C + 1];
    w->K[1 * C + 1] = w->adopters[1 * C + 1] - 1;
    expect_check(w, MS_ECHECK, "ceiling");
    w->K[1 * C + 1] = Kold;
    ms_world_destroy(&w);
    ms_scenario_destroy(&sc);
}

static int same_world(const ms_world *a, const ms_world *b)
{
    if (a->N != b->N || a->M != b->M || a->C != b->C || a->F != b->F)
        return 0;
    size_t mc = (size_t)a->M * a->C;
    return a->cw == b->cw &&
           !memcmp(a->choice, b->choice, ms_choice_bytes(a)) &&
           !memcmp(a->nuq, b->nuq, a->N) &&
           !memcmp(a->nu_edge, b->nu_edge, sizeof a->nu_edge) &&
           !memcmp(a->nu_min, b->nu_min, sizeof(float) * a->n_blocks) &&
           !memcmp(a->nu_max, b->nu_max, sizeof(float) * a->n_blocks) &&
           !memcmp(a->users, b->users, sizeof(int64_t) * mc * a->F) &&
           !memcmp(a->adopters, b->adopters, sizeof(int64_t) * mc) &&
           !memcmp(a->cash, b->cash, sizeof(double) * a->F) &&
           !memcmp(a->revenue, b->revenue, sizeof(double) * a->F);
}

/* Choice values take one byte while the firm capacity fits, two beyond;
 * the width changes the memory, never the moves (no entry here, so the
 * capacity alone differs). */
static void test_choice_width(void)
{
    ms_scenario *s8 = scenario(small_text, "model.max_entrants=200");
    ms_scenario *s16 = scenario(small_text, "model.max_entrants=400");
    ms_world *a = world(s8, 2), *b = world(s16, 2);
    CU_ASSERT_EQUAL(a->cw, 1);
    CU_ASSERT_EQUAL(b->cw, 2);
    CU_ASSERT_EQUAL(ms_choice_bytes(b), 2 * ms_choice_bytes(a));
    long diff = 0, nopot = 0, users = 0;
    for (int t = 0; t <= 12; t++) {
        if (t)
            steps(a, 1), steps(b, 1);
        for (int c = 0; c < a->C; c++)
            for (uint64_t i = 0; i < a->N; i++) {
                unsigned x = ms_choice_get(a, c, i);
                diff += x != ms_choice_get(b, c, i);
                nopot += x == MS_NOPOT;
                users += x != MS_NOPOT && x != 0;
            }
    }
    CU_ASSERT_EQUAL(diff, 0);
    CU_ASSERT(nopot > 0 && users > 0);
    expect_check(a, MS_OK, NULL);
    expect_check(b, MS_OK, NULL);
    ms_world_destroy(&a);
    ms_world_destroy(&b);
    ms_scenario_destroy(&s8);
    ms_scenario_destroy(&s16);
}

static void test_threads_and_seeds(void)
{
    ms_scenario *sc = scenario(small_text, NULL);
    ms_scenario *sc2 = scenario(small_text, "run.seed=12");
    ms_world *w1 = world(sc, 1), *w2 = world(sc, 2), *w3 = world(sc, 2);
    ms_world *w4 = world(sc2, 2);
    CU_ASSERT_EQUAL(w1->n_threads, 1);
    CU_ASSERT_EQUAL(w2->n_threads, 2);
    CU_ASSERT_FATAL(w1->n_blocks >= 4); /* enough work units to split */
    CU_ASSERT(same_world(w1, w2));
    CU_ASSERT(!same_world(w1, w4));
    for (int t = 0; t < 24; t++) {
        steps(w1, 1);
        steps(w2, 1);
        steps(w3, 1);
        steps(w4, 1);
        CU_ASSERT(same_world(w1, w2));
        CU_ASSERT(same_world(w2, w3));
    }
    CU_ASSERT(!same_world(w1, w4));
    /* Not only the traits: the moves differ too. */
    size_t diff = 0;
    for (int c = 0; c < w1->C; c++)
        for (uint64_t i = 0; i < w1->N; i++)
            diff += ms_choice_get(w1, c, i) != ms_choice_get(w4, c, i);
    CU_ASSERT(diff > 1000);
    expect_check(w4, MS_OK, NULL);
    ms_world_destroy(&w1);
    ms_world_destroy(&w2);
    ms_world_destroy(&w3);
    ms_world_destroy(&w4);
    ms_scenario_destroy(&sc);
    ms_scenario_destroy(&sc2);
}

/* No adoption, no churn: only forced re-choices move anyone. */
static const char *leave_text =
    "run: {seed: 5, people_per_agent: 1}\n"
    "markets:\n"
    "  A: {population: 6000, distance: {B: 0.8}}\n"
    "  B: {population: 3000}\n"
    "categories:\n"
    "  x: {p: 0, q: 0, churn: 0, initial_adopters: 0.8}\n"
    "  y: {host: x, p: 0, q: 0, churn: 0, initial_adopters: 0.5}\n"
    "firms:\n"
    "  f0: {home: A, quality: {x: 0, y: 0}, markets: [A, B]}\n"
    "  f1: {home: A, quality: {x: 0.3, y: 0.1}}\n"
    "  f2: {home: B, quality: {x: 0.2}, markets: [A, B]}\n";

static void test_firm_leaves_market(void)
{
    ms_scenario *sc = scenario(leave_text, NULL);
    ms_world *w = world(sc, 2);
    const int M = w->M, C = w->C, F = w->F;
    const uint64_t N = w->N;
    steps(w, 2);
    expect_check(w, MS_OK, NULL);
    const size_t cb = ms_choice_bytes(w);
    uint8_t *before = malloc(cb);
    int64_t *ub = malloc(sizeof(int64_t) * M * C * F);
    int64_t ab[4];
    CU_ASSERT_FATAL(before && ub && M * C == 4);
    memcpy(before, w->choice, cb);
    memcpy(ub, w->users, sizeof(int64_t) * M * C * F);
    memcpy(ab, w->adopters, sizeof ab);
    /* Nothing moves on its own. */
    steps(w, 1);
    CU_ASSERT_EQUAL(memcmp(before, w->choice, cb), 0);

    /* f0 leaves A. */
    CU_ASSERT_FATAL(ub[(0 * C + 0) * F + 0] > 100);
    CU_ASSERT_FATAL(ub[(0 * C + 1) * F + 0] > 100);
    w->present[0 * M + 0] = 0;
    steps(w, 1);
    expect_check(w, MS_OK, NULL);
    for (int c = 0; c < C; c++) {
        size_t mc = 0 * C + c;
        CU_ASSERT_EQUAL(w->users[mc * F + 0], 0);
        /* Adopters are conserved; the others gained exactly f0's users. */
        CU_ASSERT_EQUAL(w->adopters[mc], ab[mc]);
        int64_t gain = 0;
        for (int f = 1; f < 3; f++) {
            CU_ASSERT(w->users[mc * F + f] >= ub[mc * F + f]);
            gain += w->users[mc * F + f] - ub[mc * F + f];
        }
        CU_ASSERT_EQUAL(gain, ub[mc * F + 0]);
    }
    /* Only f0's users in A moved, each to a firm still offering there
     * (y: only f1). Market B is untouched. */
    long moved = 0, wrong = 0;
    for (int c = 0; c < C; c++)
        for (uint64_t i = 0; i < N; i++) {
            CU_ASSERT_FATAL(w->cw == 1); /* three firms: one byte each */
            unsigned s0 = before[(size_t)c * N + i], s1 = ms_choice_get(w, c, i);
            s0 = s0 == 0xFFu ? MS_NOPOT : s0;
            int inA = i < w->m_off[1];
            if (inA && s0 == 1) {
                moved++;
                wrong += c == 0 ? (s1 != 2 && s1 != 3) : s1 != 2;
            } else {
                wrong += s0 != s1;
            }
        }
    CU_ASSERT_EQUAL(wrong, 0);
    CU_ASSERT_EQUAL(moved, ub[(0 * C + 0) * F + 0] + ub[(0 * C + 1) * F + 0]);
    for (int c = 0; c < C; c++)
        for (int f = 0; f < F; f++)
            CU_ASSERT_EQUAL(w->users[(1 * C + c) * F + f],
                            ub[(1 * C + c) * F + f]);

    /* f0 leaves B too: x users go to f2; y has no firm left in B, so its
     * users become non-adopters again (still potential ones). */
    int64_t yB = w->adopters[1 * C + 1], xB = w->adopters[1 * C + 0];
    CU_ASSERT_FATAL(yB > 0);
    w->present[0 * M + 1] = 0;
    steps(w, 1);
    expect_check(w, MS_OK, NULL);
    CU_ASSERT_EQUAL(w->users[(1 * C + 0) * F + 0], 0);
    CU_ASSERT_EQUAL(w->users[(1 * C + 1) * F + 0], 0);
    CU_ASSERT_EQUAL(w->adopters[1 * C + 0], xB);
    CU_ASSERT_EQUAL(w->users[(1 * C + 0) * F + 2], xB);
    CU_ASSERT_EQUAL(w->adopters[1 * C + 1], 0);
    CU_ASSERT_EQUAL(count(w, 1, 1, 0), w->K[1 * C + 1]);
    /* A later step changes nothing more. */
    memcpy(before, w->choice, cb);
    steps(w, 1);
    CU_ASSERT_EQUAL(memcmp(before, w->choice, cb), 0);
    free(before);
    free(ub);
    ms_world_destroy(&w);
    ms_scenario_destroy(&sc);
}

static void test_phases(void)
{
    int n = ms_world_phase_count();
    CU_ASSERT(n >= 4 && n <= MS_MAX_PHASES);
    int has_consumers = 0;
    for (int i = 0; i < n; i++) {
        CU_ASSERT_PTR_NOT_NULL_FATAL(ms_world_phase_name(i));
        has_consumers |= !strcmp(ms_world_phase_name(i), "consumers");
    }
    CU_ASSERT(has_consumers);
    ms_scenario *sc = scenario(small_text, NULL);
    ms_world *w = world(sc, 1);
    steps(w, 3);
    double tot = 0;
    for (int i = 0; i < n; i++) {
        CU_ASSERT(ms_world_phase_seconds(w, i) >= 0);
        tot += ms_world_phase_seconds(w, i);
    }
    CU_ASSERT(tot > 0);
    ms_world_destroy(&w);
    ms_scenario_destroy(&sc);
}

/* The slices of a run over K ranks (ms_world_slice): contiguous, covering
 * every consumer once, each starting at a block boundary (a block never
 * straddles two ranks), balanced by consumers to within a block, none
 * empty while a share is a block or more, and empty ones where there are
 * more ranks than blocks. */
static void test_slices(void)
{
    ms_scenario *sc = scenario(small_text, NULL);
    ms_world *w = world(sc, 1);
    const size_t N = w->N;
    CU_ASSERT_EQUAL(w->c_lo, 0);
    CU_ASSERT_EQUAL(w->c_hi, N);
    CU_ASSERT_EQUAL(w->b_lo, 0);
    CU_ASSERT_EQUAL(w->b_hi, w->n_blocks);
    const int Ks[] = {1, 2, 3, 7, 16, (int)w->n_blocks, (int)w->n_blocks + 5,
                      200};
    for (size_t j = 0; j < sizeof Ks / sizeof Ks[0]; j++) {
        const int K = Ks[j];
        size_t at = 0;
        int empty = 0;
        for (int r = 0; r < K; r++) {
            size_t lo, hi;
            ms_world_slice(w, r, K, &lo, &hi);
            CU_ASSERT_EQUAL(lo, at);
            CU_ASSERT(hi >= lo);
            int starts = lo == N;
            for (int64_t b = 0; b < w->n_blocks; b++)
                starts |= w->blocks[b].start == lo;
            CU_ASSERT(starts);
            /* Within a block of the share N / K. */
            double share = (double)N / K;
            CU_ASSERT((double)(hi - lo) <= share + MS_BLOCK);
            empty += hi == lo;
            at = hi;
        }
        CU_ASSERT_EQUAL(at, N);
        if (K > w->n_blocks)
            CU_ASSERT(empty >= K - w->n_blocks);
        if ((double)N / K >= MS_BLOCK) /* a block starts in every share */
            CU_ASSERT_EQUAL(empty, 0);
    }
    ms_world_destroy(&w);
    ms_scenario_destroy(&sc);
}

static const ms_unit_test tests[] = {
    {"setup meets ceiling and initial shares exactly", test_setup_exact},
    {"check catches corruption", test_check_catches_corruption},
    {"choice width 1 or 2 bytes, same moves", test_choice_width},
    {"same results for any threads, other seed differs",
     test_threads_and_seeds},
    {"a firm leaving a market loses its users there", test_firm_leaves_market},
    {"phase table and timers", test_phases},
    {"slices over ranks: contiguous, whole blocks, balanced", test_slices},
    {NULL, NULL}};

MS_UNIT_MAIN("world", tests)
