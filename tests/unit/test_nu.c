/*
 * test_nu.c: innovativeness kept as one-byte bucket codes
 * (sim/core/world.c, world_int.h).
 *
 * Every consumer's code must name the bucket its exact nu falls in
 * (nu_edge[k] <= nu < nu_edge[k + 1]), the blocks' bounds must be the
 * true extremes, and the step's adoption test from the bucket
 * (ms_nonadopter_event) must give exactly what the hazard test on the
 * exact nu gives, both when the edges settle it and when nu is
 * recomputed. With sigma_nu = 0 every nu is 1 and the buckets degenerate.
 */
#include "core/world_int.h"
#include "unit/unit.h"

#include "marketsim/ms_alloc.h"

#include <float.h>
#include <stdlib.h>
#include <string.h>

/* 100003 consumers in two markets (blocks end at a market's end too). */
static const char *text =
    "run: {seed: 5, people_per_agent: 1}\n"
    "model: {sigma_nu: 0.5}\n"
    "markets:\n"
    "  A: {population: 60001, distance: {B: 1}}\n"
    "  B: {population: 40002}\n"
    "categories:\n"
    "  x: {p: 0.03, q: 0.4, ceiling: 0.8, initial_adopters: 0.1}\n"
    "firms:\n"
    "  f: {home: A, quality: {x: 0}, markets: [A, B]}\n";

static ms_world *world(const char *set, ms_scenario **sc)
{
    const char *sets[1] = {set};
    ms_status st = ms_scenario_load_string(text, "nu.yaml", sets, set ? 1 : 0,
                                           sc);
    if (st != MS_OK)
        printf("\n    %s\n", ms_error_message());
    CU_ASSERT_EQUAL_FATAL(st, MS_OK);
    ms_world *w = NULL;
    st = ms_world_create(*sc, 2, &w);
    if (st != MS_OK)
        printf("\n    %s\n", ms_error_message());
    CU_ASSERT_EQUAL_FATAL(st, MS_OK);
    CU_ASSERT_EQUAL_FATAL(w->n_threads, 2);
    return w;
}

/* The exact nu of every consumer (all held: one process). */
static float *exact_nu(const ms_world *w)
{
    float *nu = malloc(sizeof *nu * w->N);
    gsl_rng *r = ms_rng_gsl_alloc();
    CU_ASSERT_FATAL(nu && r);
    for (uint64_t i = 0; i < w->N; i++)
        nu[i] = ms_nu_draw(w, r, i);
    ms_rng_gsl_free(r);
    return nu;
}

/* Codes name the bucket of the exact nu; block bounds are the extremes. */
static void check_codes(const ms_world *w, const float *nu)
{
    CU_ASSERT_EQUAL(w->nu_edge[0], 0);
    CU_ASSERT(isinf(w->nu_edge[MS_NU_BUCKETS]) &&
              w->nu_edge[MS_NU_BUCKETS] > 0);
    long unsorted = 0;
    for (int k = 0; k < MS_NU_BUCKETS; k++)
        unsorted += !(w->nu_edge[k] <= w->nu_edge[k + 1]);
    CU_ASSERT_EQUAL(unsorted, 0);
    long outside = 0, slow = 0;
    for (uint64_t i = 0; i < w->N; i++) {
        unsigned k = ms_nu_code(w, i);
        outside += !(w->nu_edge[k] <= nu[i] && nu[i] < w->nu_edge[k + 1]);
    }
    CU_ASSERT_EQUAL(outside, 0);
    /* The slow reader gives the same floats. */
    for (uint64_t i = 0; i < w->N; i += 997)
        slow += ms_world_nu(w, i) != nu[i];
    CU_ASSERT_EQUAL(slow, 0);
    long bad_bounds = 0;
    uint64_t covered = 0;
    for (int64_t b = 0; b < w->n_blocks; b++) {
        float mx = 0, mn = HUGE_VALF;
        for (uint32_t k = 0; k < w->blocks[b].n; k++) {
            float v = nu[w->blocks[b].start + k];
            mx = v > mx ? v : mx;
            mn = v < mn ? v : mn;
        }
        bad_bounds += w->nu_max[b] != mx || w->nu_min[b] != mn;
        covered += w->blocks[b].n;
    }
    CU_ASSERT_EQUAL(covered, w->N);
    CU_ASSERT_EQUAL(bad_bounds, 0);
}

static void test_codes_lognormal(void)
{
    size_t live = ms_alloc_live_bytes();
    ms_scenario *sc;
    ms_world *w = world(NULL, &sc);
    CU_ASSERT_EQUAL_FATAL(w->N, 100003);
    float *nu = exact_nu(w);
    check_codes(w, nu);
    /* The middle edge is the median exp(-s^2/2) (Phi^-1(1/2) = 0); the
     * edges are quantiles, so every bucket holds about N / 256 (390,
     * sd 20): all are used and none holds twice its share. */
    CU_ASSERT_EQUAL(w->nu_edge[MS_NU_BUCKETS / 2], (float)exp(-0.125));
    long count[MS_NU_BUCKETS] = {0};
    for (uint64_t i = 0; i < w->N; i++)
        count[ms_nu_code(w, i)]++;
    long empty = 0, full = 0;
    for (int k = 0; k < MS_NU_BUCKETS; k++) {
        empty += count[k] == 0;
        full += count[k] > 2 * (long)w->N / MS_NU_BUCKETS;
    }
    CU_ASSERT_EQUAL(empty, 0);
    CU_ASSERT_EQUAL(full, 0);
    free(nu);
    ms_world_destroy(&w);
    ms_scenario_destroy(&sc);
    CU_ASSERT_EQUAL(ms_alloc_live_bytes(), live);
}

static void test_codes_degenerate(void)
{
    ms_scenario *sc;
    ms_world *w = world("model.sigma_nu=0", &sc);
    float *nu = exact_nu(w);
    long not_one = 0, not_top = 0;
    for (uint64_t i = 0; i < w->N; i++) {
        not_one += nu[i] != 1.0f;
        not_top += ms_nu_code(w, i) != MS_NU_BUCKETS - 1;
    }
    CU_ASSERT_EQUAL(not_one, 0);
    CU_ASSERT_EQUAL(not_top, 0); /* inner edges all 1: the top bucket */
    for (int k = 1; k < MS_NU_BUCKETS; k++)
        CU_ASSERT_EQUAL(w->nu_edge[k], 1.0f);
    check_codes(w, nu);
    free(nu);
    ms_world_destroy(&w);
    ms_scenario_destroy(&sc);
}

/* A uniform of the test's own stream. */
static double u01(const ms_world *w, uint64_t n)
{
    return ms_rng_uniform(w->key, n, 7, 3, 1);
}

/* ms_nonadopter_event against the hazard test on the exact nu, for
 * (v, pdt, qterm, x) around every boundary either test has: h_i itself,
 * h_i - h_i^2/2, 1 - exp(-h_i), and the bucket's h_lo, h_lo - h_lo^2/2
 * and h_hi, each one ulp either side, plus uniforms up to 1.2 h_hi. Counts
 * how often the edges leave the case open (nu recomputed). */
static void compare_events(const ms_world *w, const float *nu, long *cases,
                           long *recomputed, long *events)
{
    uint64_t n = 0;
    long bad = 0;
    for (uint64_t i = 0; i < w->N; i += 37) {
        const unsigned k = ms_nu_code(w, i);
        const double scale[4] = {1e-4, 1e-2, 0.3, 2};
        double pdt = scale[n % 4] * u01(w, n);
        n++;
        if (i % 11 == 0)
            pdt = 0;
        double qterm = i % 3 == 0 ? 0 : 0.05 * u01(w, n++);
        double x = i % 5 == 0 ? 0.01 * u01(w, n++) : 0;
        double h = (double)nu[i] * pdt + qterm + x;
        double lo = (double)w->nu_edge[k] * pdt + qterm + x;
        double hi = (double)w->nu_edge[k + 1] * pdt + qterm + x;
        double at[8] = {h, h - 0.5 * h * h, -expm1(-h), lo,
                        lo - 0.5 * lo * lo, hi, -expm1(-lo),
                        u01(w, n++) * 1.2 * (isfinite(hi) ? hi : h)};
        for (int a = 0; a < 8; a++)
            for (int d = -1; d <= 1; d++) {
                double v = at[a];
                if (!isfinite(v))
                    continue;
                if (d)
                    v = nextafter(v, d < 0 ? -INFINITY : INFINITY);
                if (!(v >= 0 && v < 1))
                    continue;
                for (int tid = 0; tid < 2; tid++) {
                    int got = ms_nonadopter_event(w, tid, i, v, pdt, qterm, x);
                    int want = ms_hazard_event(v, h);
                    bad += got != want;
                    *events += want;
                    *recomputed += !(v >= hi) && !(v < lo - 0.5 * lo * lo);
                    (*cases)++;
                }
            }
    }
    CU_ASSERT_EQUAL(bad, 0);
}

static void test_event_exact(void)
{
    const char *sets[2] = {NULL, "model.sigma_nu=0"};
    for (int j = 0; j < 2; j++) {
        ms_scenario *sc;
        ms_world *w = world(sets[j], &sc);
        float *nu = exact_nu(w);
        long cases = 0, recomputed = 0, events = 0;
        compare_events(w, nu, &cases, &recomputed, &events);
        /* Both outcomes, both paths, many times each. */
        CU_ASSERT(cases > 50000);
        CU_ASSERT(events > cases / 10 && events < cases - cases / 10);
        CU_ASSERT(recomputed > cases / 20);
        CU_ASSERT(recomputed < cases - cases / 10);
        free(nu);
        ms_world_destroy(&w);
        ms_scenario_destroy(&sc);
    }
}

static const ms_unit_test tests[] = {
    {"codes hold the bucket of the exact nu, bounds exact (sigma 0.5)",
     test_codes_lognormal},
    {"sigma_nu 0: every nu 1, one bucket, bounds exact", test_codes_degenerate},
    {"adoption from the bucket equals the hazard test on the exact nu",
     test_event_exact},
    {NULL, NULL}};

MS_UNIT_MAIN("nu", tests)
