/*
 * test_rng.c: counter-based streams (sim/rng).
 */
#include "rng/ms_rng.h"
#include "unit/unit.h"

#include <Random123/philox.h>
#include <Random123/gsl_microrng.h>
#include <gsl/gsl_rng.h>
#include <stdlib.h>

/* Random123's own GSL adapter, the reference for ours. */
GSL_MICRORNG(ref_micro, philox4x32);
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
    uint64_t ent[37]; /* below and above 2^32 */
    for (int l = 0; l < 37; l++)
        ent[l] = (uint64_t)((uint32_t)l * 2654435761u) +
                 (l % 3 ? (uint64_t)(l * 977) << 32 : 0);
    ent[36] = MS_RNG_ENTITY_LIMIT - 1;
    for (int n = 0; n <= 37; n++) {
        memset(out, 0, sizeof out);
        ms_rng_gather(key, ent, MS_RNG_SETUP_STEP, MS_PH_TRAIT, 1, n, out, S);
        for (int l = 0; l < n; l++) {
            uint32_t ctr[4] = {(uint32_t)ent[l], MS_RNG_SETUP_STEP,
                               ((uint32_t)MS_PH_TRAIT << 24) | 1u,
                               (uint32_t)(ent[l] >> 32) << 16}, r[4];
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

/* The adapter gives exactly the numbers of Random123's GSL micro-RNG at
 * the same counter, over several blocks (word 3 carrying the block
 * number), for entities below and above 2^32, and also when the first
 * block is handed over (ms_rng_gsl_reset_first, as setup does). */
static void test_gsl_adapter_is_microrng(void)
{
    gsl_rng *r = ms_rng_gsl_alloc(), *m = gsl_rng_alloc(gsl_rng_ref_micro);
    CU_ASSERT_PTR_NOT_NULL_FATAL(r);
    CU_ASSERT_PTR_NOT_NULL_FATAL(m);
    ms_rng_key key = ms_rng_key_from_seed(0xabcdef12345ull);
    const uint64_t ents[] = {0, 7, (UINT64_C(1) << 32) + 9,
                             (UINT64_C(1) << 47) + 3};
    int diff = 0;
    for (int e = 0; e < 4; e++)
        for (int handed = 0; handed < 2; handed++) {
            const uint64_t ent = ents[e];
            const uint32_t step = 11, phase = MS_PH_TRAIT, draw = 5;
            uint32_t ctr[4] = {(uint32_t)ent, step, phase << 24 | draw,
                               ms_rng_w3(ent)};
            uint32_t first[4];
            ms_rng_block(key, ctr, first);
            ms_rng_gsl_reset_first(r, key, ent, step, phase, draw,
                                   handed ? first : NULL);
            philox4x32_ctr_t c = {{ctr[0], ctr[1], ctr[2], ctr[3]}};
            philox4x32_key_t k = {{key.k[0], key.k[1]}};
            ref_micro_reset(m, c, k);
            for (int i = 0; i < 4 * 40; i++) /* 40 blocks */
                diff += gsl_rng_get(r) != gsl_rng_get(m);
        }
    CU_ASSERT_EQUAL(diff, 0);
    gsl_rng_free(m);
    ms_rng_gsl_free(r);
}

/* 64-bit entities (ms_rng.h): the stream of consumer 2^32 + 5 is not that
 * of consumer 5, ids below 2^32 keep the counters they had with 32-bit ids
 * (high word 0), and each stream is a pure function of its position. */
static void test_entities_64(void)
{
    ms_rng_key key = ms_rng_key_from_seed(0x5eedull);
    const uint64_t lo = 5, hi = (UINT64_C(1) << 32) + 5;
    const uint64_t ids[] = {lo, hi, (UINT64_C(1) << 33) + 5,
                            (UINT64_C(1) << 47) + 5, MS_RNG_ENTITY_LIMIT - 1};
    const int n_ids = (int)(sizeof ids / sizeof ids[0]);
    for (int d = 0; d < 4; d++) {
        double u[5];
        for (int k = 0; k < n_ids; k++) {
            u[k] = ms_rng_uniform(key, ids[k], MS_RNG_SETUP_STEP,
                                  MS_PH_TRAIT, (uint32_t)d);
            CU_ASSERT_EQUAL(u[k], ms_rng_uniform(key, ids[k],
                                                 MS_RNG_SETUP_STEP,
                                                 MS_PH_TRAIT, (uint32_t)d));
        }
        for (int a = 0; a < n_ids; a++)
            for (int b = a + 1; b < n_ids; b++)
                CU_ASSERT(u[a] != u[b]);
    }
    /* The counter words, against the reference block. */
    uint32_t r[4], c5[4] = {5, 9, ((uint32_t)MS_PH_TEST << 24) | 2u, 0};
    ms_rng_block(key, c5, r);
    CU_ASSERT_EQUAL(ms_rng_uniform(key, lo, 9, MS_PH_TEST, 2),
                    ms_u01_52(r[0], r[1]));
    c5[3] = 1u << 16;
    ms_rng_block(key, c5, r);
    CU_ASSERT_EQUAL(ms_rng_uniform(key, hi, 9, MS_PH_TEST, 2),
                    ms_u01_52(r[0], r[1]));
    /* Through the GSL adapter (traits): 1000 numbers, none shared at the
     * same position, and no overlap with the low id's later blocks. */
    gsl_rng *g = ms_rng_gsl_alloc();
    CU_ASSERT_PTR_NOT_NULL_FATAL(g);
    enum { L = 1000 };
    static unsigned long a5[L], b5[L];
    ms_rng_gsl_reset(g, key, lo, MS_RNG_SETUP_STEP, MS_PH_TRAIT, 0);
    for (int i = 0; i < L; i++)
        a5[i] = gsl_rng_get(g);
    ms_rng_gsl_reset(g, key, hi, MS_RNG_SETUP_STEP, MS_PH_TRAIT, 0);
    for (int i = 0; i < L; i++)
        b5[i] = gsl_rng_get(g);
    int same = 0;
    for (int i = 0; i < L; i++)
        for (int j = 0; j < L; j++)
            same += a5[i] == b5[j];
    CU_ASSERT(same <= 1); /* chance of one 32-bit coincidence: 2.3e-4 */
    ms_rng_gsl_reset(g, key, hi, MS_RNG_SETUP_STEP, MS_PH_TRAIT, 0);
    CU_ASSERT_EQUAL(b5[0], gsl_rng_get(g));
    ms_rng_gsl_free(g);
    /* Consumer blocks: the draws of block 2^32 + 5 are not those of 5. */
    uint32_t o5[4 * 16], oh[4 * 16];
    ms_rng_lanes4(key, ms_rng_event_w0(0, lo), 3, MS_PH_EVENT, 1,
                  (uint32_t)lo, 16, o5, 16);
    ms_rng_lanes4(key, ms_rng_event_w0(0, hi), 3, MS_PH_EVENT, 1,
                  (uint32_t)hi, 16, oh, 16);
    CU_ASSERT_EQUAL(ms_rng_event_w0(7, lo), 7u);
    CU_ASSERT_EQUAL(ms_rng_event_w0(7, hi), 7u | 1u << 16);
    int eq = 0;
    for (int l = 0; l < 4 * 16; l++)
        eq += o5[l] == oh[l];
    CU_ASSERT_EQUAL(eq, 0);
}

/* The gap log: within 1 ulp of log() on 2^21 inputs spread over all of
 * 2^32 and on both ends, and exactly log() on most of them. */
static void test_log_u01(void)
{
    enum { B = 64 };
    uint32_t x[B];
    double o[B];
    long n = 0, exact = 0, worst = 0;
    for (uint64_t base = 0; base < (UINT64_C(1) << 32); base += UINT64_C(1) << 17) {
        for (int l = 0; l < B; l++)
            x[l] = l < 16 ? (uint32_t)(base + (uint64_t)l)
                          : (uint32_t)(base + (uint64_t)l * 2053u * 977u);
        if (base == 0)
            for (int l = 32; l < B; l++)
                x[l] = 0xffffffffu - (uint32_t)(l - 32);
        ms_rng_log_u01(x, o, B);
        for (int l = 0; l < B; l++) {
            double r = log(ms_u01(x[l]));
            int64_t a, b;
            memcpy(&a, &o[l], 8);
            memcpy(&b, &r, 8);
            long d = labs((long)(a - b));
            worst = d > worst ? d : worst;
            exact += d == 0;
            n++;
        }
    }
    printf("\n    %ld logs: %ld equal to log(), worst %ld ulp", n, exact, worst);
    CU_ASSERT(worst <= 1);
    CU_ASSERT(exact > n * 8 / 10);
}

static long ulps(double a, double b)
{
    int64_t x, y;
    memcpy(&x, &a, 8);
    memcpy(&y, &b, 8);
    return labs((long)(x - y));
}

/* log of 52-bit uniforms and exp of x <= 0 (phi and its group weight):
 * within 1 ulp of the C library, down to the smallest uniform and past
 * exp's switch to the library below -708. */
static void test_log_exp(void)
{
    enum { B = 64 };
    double x[B], o[B];
    long worst_l = 0, worst_e = 0;
    ms_rng_key key = ms_rng_key_from_seed(3);
    for (int it = 0; it < 4096; it++) {
        for (int l = 0; l < B; l++)
            x[l] = ms_rng_uniform(key, (uint64_t)(it * B + l), 0, MS_PH_TEST, 4);
        if (it == 0) {
            x[0] = ms_u01_52(0, 0);
            x[1] = ms_u01_52(0xffffffffu, 0xffffffffu);
        }
        ms_rng_log01(x, o, B);
        for (int l = 0; l < B; l++) {
            long d = ulps(o[l], log(x[l]));
            worst_l = d > worst_l ? d : worst_l;
        }
        for (int l = 0; l < B; l++) /* 0 down to -745 */
            x[l] = -x[l] * (it < 2048 ? 40.0 : 745.0);
        if (it == 0) {
            x[0] = 0;
            x[1] = -708.0;
            x[2] = -708.5;
            x[3] = -0x1p-30;
        }
        ms_rng_expneg(x, o, B);
        for (int l = 0; l < B; l++) {
            long d = ulps(o[l], exp(x[l]));
            worst_e = d > worst_e ? d : worst_e;
        }
    }
    printf("\n    worst: log %ld ulp, exp %ld ulp", worst_l, worst_e);
    CU_ASSERT(worst_l <= 1);
    CU_ASSERT(worst_e <= 1);
}

static const ms_unit_test tests[] = {
    {"Philox known answers", test_known_answers},
    {"lanes equal reference", test_lanes_equal_reference},
    {"uniforms", test_uniforms},
    {"positions independent", test_positions_independent},
    {"gsl adapter", test_gsl_adapter},
    {"gsl adapter = Random123's micro-RNG", test_gsl_adapter_is_microrng},
    {"64-bit entities", test_entities_64},
    {"gap log", test_log_u01},
    {"log and exp of the choice", test_log_exp},
    {NULL, NULL}};

MS_UNIT_MAIN("rng", tests)
