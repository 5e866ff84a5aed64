/*
 * test_rng.c: counter-based streams (sim/rng).
 */
#include "rng/ms_rng.h"
#include "unit/unit.h"

#include <gsl/gsl_rng.h>
#include <string.h>

/* Random123's known-answer vectors for Philox4x32-10. */
static void test_known_answers(void)
{
    uint32_t out[4];
    uint32_t c0[4] = {0, 0, 0, 0};
    ms_rng_block(ms_rng_key_from_seed(0), c0, out);
    CU_ASSERT_EQUAL(out[0], 0x6627e8d5u);
    CU_ASSERT_EQUAL(out[1], 0xe169c58du);
    CU_ASSERT_EQUAL(out[2], 0xbc57ac4cu);
    CU_ASSERT_EQUAL(out[3], 0x9b00dbd8u);
    uint32_t c1[4] = {0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu};
    ms_rng_key k1 = {{0xffffffffu, 0xffffffffu}};
    ms_rng_block(k1, c1, out);
    CU_ASSERT_EQUAL(out[0], 0x408f276du);
    CU_ASSERT_EQUAL(out[1], 0x41c83b0eu);
    CU_ASSERT_EQUAL(out[2], 0xa20bc7c6u);
    CU_ASSERT_EQUAL(out[3], 0x6d5451fdu);
    uint32_t c2[4] = {0x243f6a88u, 0x85a308d3u, 0x13198a2eu, 0x03707344u};
    ms_rng_key k2 = {{0xa4093822u, 0x299f31d0u}};
    ms_rng_block(k2, c2, out);
    CU_ASSERT_EQUAL(out[0], 0xd16cfe09u);
    CU_ASSERT_EQUAL(out[1], 0x94fdccebu);
    CU_ASSERT_EQUAL(out[2], 0x5001e420u);
    CU_ASSERT_EQUAL(out[3], 0x24126ea1u);
}

/* The lane-parallel (vectorized) version equals the reference for every
 * length and offset, including the scalar tail. */
static void test_lanes_equal_reference(void)
{
    enum { S = 64 };
    uint32_t out[4 * S];
    ms_rng_key key = ms_rng_key_from_seed(0x123456789abcdefull);
    int bad = 0;
    for (int n = 0; n <= 37; n++)
        for (uint32_t e0 = 0xfffffff0u, k = 0; k < 6; k++, e0 += 7) {
            memset(out, 0, sizeof out);
            /* The last counter word 0 (ms_rng_lanes) and not (lanes4). */
            for (uint32_t w3 = 0; w3 < 2; w3++) {
                memset(out, 0, sizeof out);
                if (w3)
                    ms_rng_lanes4(key, e0, 77, MS_PH_EVENT, 3, 0xabcd0000u + k,
                                  n, out, S);
                else
                    ms_rng_lanes(key, e0, 77, MS_PH_EVENT, 3, n, out, S);
                for (int l = 0; l < n; l++) {
                    uint32_t ctr[4] = {e0 + (uint32_t)l, 77,
                                       ((uint32_t)MS_PH_EVENT << 24) | 3u,
                                       w3 ? 0xabcd0000u + k : 0}, r[4];
                    ms_rng_block(key, ctr, r);
                    for (int wd = 0; wd < 4; wd++)
                        bad += r[wd] != out[wd * S + l];
                }
            }
        }
    CU_ASSERT_EQUAL(bad, 0);
    /* Gathered entities (scattered, unordered) equal the reference too. */
    uint32_t ent[37];
    for (int l = 0; l < 37; l++)
        ent[l] = (uint32_t)l * 2654435761u;
    for (int n = 0; n <= 37; n++) {
        memset(out, 0, sizeof out);
        ms_rng_gather(key, ent, MS_RNG_SETUP_STEP, MS_PH_TRAIT, 1, n, out, S);
        for (int l = 0; l < n; l++) {
            uint32_t ctr[4] = {ent[l], MS_RNG_SETUP_STEP,
                               ((uint32_t)MS_PH_TRAIT << 24) | 1u, 0}, r[4];
            ms_rng_block(key, ctr, r);
            for (int wd = 0; wd < 4; wd++)
                bad += r[wd] != out[wd * S + l];
        }
    }
    CU_ASSERT_EQUAL(bad, 0);
}

static void test_uniforms(void)
{
    CU_ASSERT(ms_u01(0) > 0);
    CU_ASSERT(ms_u01(0xffffffffu) < 1);
    CU_ASSERT(ms_u01_52(0, 0) > 0);
    CU_ASSERT(ms_u01_52(0xffffffffu, 0xffffffffu) < 1);
    /* Mean and variance of many uniforms (sd of the mean 0.29/sqrt(n)). */
    ms_rng_key key = ms_rng_key_from_seed(42);
    double s = 0, s2 = 0;
    const int n = 400000;
    for (int i = 0; i < n; i++) {
        double u = ms_rng_uniform(key, (uint32_t)i, 1, MS_PH_TEST, 0);
        s += u;
        s2 += u * u;
    }
    MS_ASSERT_NEAR(s / n, 0.5, 4.5 * sqrt(1.0 / 12 / n));
    MS_ASSERT_NEAR(s2 / n - (s / n) * (s / n), 1.0 / 12, 0.002);
}

static void test_positions_independent(void)
{
    ms_rng_key key = ms_rng_key_from_seed(1);
    double a = ms_rng_uniform(key, 5, 6, MS_PH_CHOICE, 1);
    CU_ASSERT(a != ms_rng_uniform(key, 6, 6, MS_PH_CHOICE, 1));
    CU_ASSERT(a != ms_rng_uniform(key, 5, 7, MS_PH_CHOICE, 1));
    CU_ASSERT(a != ms_rng_uniform(key, 5, 6, MS_PH_EVENT, 1));
    CU_ASSERT(a != ms_rng_uniform(key, 5, 6, MS_PH_CHOICE, 2));
    CU_ASSERT(a != ms_rng_uniform(ms_rng_key_from_seed(2), 5, 6, MS_PH_CHOICE, 1));
    CU_ASSERT(a == ms_rng_uniform(key, 5, 6, MS_PH_CHOICE, 1));
    /* Sweep seeds: a pure function of (sweep seed, run), all distinct. */
    CU_ASSERT_EQUAL(ms_rng_derive_seed(9, 3), ms_rng_derive_seed(9, 3));
    int same = 0;
    for (uint64_t r = 0; r < 1000; r++)
        for (uint64_t q = r + 1; q < 1000; q++)
            same += ms_rng_derive_seed(9, r) == ms_rng_derive_seed(9, q);
    CU_ASSERT_EQUAL(same, 0);
}

static void test_gsl_adapter(void)
{
    gsl_rng *r = ms_rng_gsl_alloc();
    CU_ASSERT_PTR_NOT_NULL_FATAL(r);
    ms_rng_key key = ms_rng_key_from_seed(77);
    ms_rng_gsl_reset(r, key, 1, 2, MS_PH_TEST, 3);
    double a[10];
    for (int i = 0; i < 10; i++)
        a[i] = gsl_rng_uniform(r);
    ms_rng_gsl_reset(r, key, 1, 2, MS_PH_TEST, 3);
    for (int i = 0; i < 10; i++)
        CU_ASSERT_EQUAL(a[i], gsl_rng_uniform(r));
    ms_rng_gsl_reset(r, key, 2, 2, MS_PH_TEST, 3);
    CU_ASSERT(a[0] != gsl_rng_uniform(r));
    ms_rng_gsl_free(r);
}

static const ms_unit_test tests[] = {
    {"Philox known answers", test_known_answers},
    {"lanes equal reference", test_lanes_equal_reference},
    {"uniforms", test_uniforms},
    {"positions independent", test_positions_independent},
    {"gsl adapter", test_gsl_adapter},
    {NULL, NULL}};

MS_UNIT_MAIN("rng", tests)
