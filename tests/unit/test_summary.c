/*
 * test_summary.c: the one fold of sweep summaries (sim/sweep/summary.c,
 * Welford's update). The file side (a summary-only sweep's /summary equals
 * a full sweep's, across threads, ranks and kills) is
 * tests/integration/test_sweep_summary.sh.
 */
#include "sweep/sweep_int.h"
#include "unit/unit.h"

#include <math.h>
#include <string.h>

/* 1 .. 10 in two interleaved elements: mean 5.5 and m2 82.5 (sum of
 * squared deviations), and 10 .. 1 reversed: the same statistics. */
static void test_known_values(void)
{
    double mean[2], m2[2], sd[2];
    for (int64_t n = 0; n < 10; n++) {
        double x[2] = {(double)(n + 1), (double)(10 - n)};
        ms_sweep_fold(mean, m2, n, x, 2);
    }
    for (int i = 0; i < 2; i++) {
        MS_ASSERT_NEAR(mean[i], 5.5, 1e-15);
        MS_ASSERT_NEAR(m2[i], 82.5, 1e-12);
    }
    ms_sweep_fold_sd(m2, 10, sd, 2);
    MS_ASSERT_NEAR(sd[0], sqrt(82.5 / 9), 1e-14);
    MS_ASSERT_NEAR(sd[1], sd[0], 1e-14);
}

/* n = 0 starts the fold whatever mean and m2 held (NaN, as stored for an
 * empty point); one value gives itself as the mean, m2 0 and sd NaN. */
static void test_start_and_one(void)
{
    double mean[1] = {NAN}, m2[1] = {NAN}, sd[1], x[1] = {3.25e9};
    ms_sweep_fold(mean, m2, 0, x, 1);
    CU_ASSERT_EQUAL(mean[0], 3.25e9);
    CU_ASSERT_EQUAL(m2[0], 0.0);
    ms_sweep_fold_sd(m2, 1, sd, 1);
    CU_ASSERT(isnan(sd[0]));
    ms_sweep_fold_sd(m2, 0, sd, 1);
    CU_ASSERT(isnan(sd[0]));
}

/* Equal values far from zero fold to an sd of exactly 0. */
static void test_constant(void)
{
    double mean[1], m2[1], sd[1], x[1] = {0.1};
    for (int64_t n = 0; n < 7; n++)
        ms_sweep_fold(mean, m2, n, x, 1);
    CU_ASSERT_EQUAL(mean[0], 0.1);
    CU_ASSERT_EQUAL(m2[0], 0.0);
    ms_sweep_fold_sd(m2, 7, sd, 1);
    CU_ASSERT_EQUAL(sd[0], 0.0);
}

/* Large offset, small spread (1e9 + 0..4): the update keeps the spread
 * (a sum of squares would lose it to cancellation). */
static void test_offset(void)
{
    double mean[1], m2[1], sd[1];
    for (int64_t n = 0; n < 5; n++) {
        double x[1] = {1e9 + (double)n};
        ms_sweep_fold(mean, m2, n, x, 1);
    }
    MS_ASSERT_NEAR(mean[0], 1e9 + 2, 1e-6);
    MS_ASSERT_NEAR(m2[0], 10.0, 1e-6);
    ms_sweep_fold_sd(m2, 5, sd, 1);
    MS_ASSERT_NEAR(sd[0], sqrt(2.5), 1e-7);
}

/* The same values in the same order: the same bits (what makes a
 * summary-only sweep equal a full sweep's summary). */
static void test_same_bits(void)
{
    double a[2], am[2], b[2], bm[2];
    const double xs[5] = {0.1, 1.0 / 3, 2.7e-5, 12345.678, -0.02};
    for (int64_t n = 0; n < 5; n++) {
        double x[2] = {xs[n], xs[4 - n]};
        ms_sweep_fold(a, am, n, x, 2);
    }
    for (int64_t n = 0; n < 5; n++) {
        double x0[1] = {xs[n]}, x1[1] = {xs[4 - n]};
        ms_sweep_fold(b, bm, n, x0, 1);
        ms_sweep_fold(b + 1, bm + 1, n, x1, 1);
    }
    CU_ASSERT_EQUAL(memcmp(a, b, sizeof a), 0);
    CU_ASSERT_EQUAL(memcmp(am, bm, sizeof am), 0);
}

static const ms_unit_test tests[] = {
    {"known mean and m2", test_known_values},
    {"the first value starts the fold", test_start_and_one},
    {"constant values give sd 0", test_constant},
    {"large offset, small spread", test_offset},
    {"same values, same order, same bits", test_same_bits},
    {NULL, NULL}};

MS_UNIT_MAIN("summary", tests)
