/*
 * rng.c: Philox streams (see ms_rng.h for the counter layout and why).
 *
 * ms_rng_block calls Random123's philox4x32 and is the reference;
 * ms_rng_lanes is the same function written lane-parallel for the consumer
 * loop, and a unit test checks the two agree bit for bit.
 */
#include "rng/ms_rng.h"

#include "marketsim/ms_alloc.h"

#include <math.h>
#include <string.h>

#include <Random123/philox.h>

ms_rng_key ms_rng_key_from_seed(uint64_t seed)
{
    ms_rng_key k;
    k.k[0] = (uint32_t)seed;
    k.k[1] = (uint32_t)(seed >> 32);
    return k;
}

static uint64_t splitmix64(uint64_t x)
{
    x += 0x9E3779B97F4A7C15ull;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
    return x ^ (x >> 31);
}

uint64_t ms_rng_derive_seed(uint64_t sweep_seed, uint64_t run)
{
    return splitmix64(splitmix64(sweep_seed) ^ (run * 0xD1B54A32D192ED03ull));
}

void ms_rng_block(ms_rng_key key, const uint32_t ctr[4], uint32_t out[4])
{
    philox4x32_ctr_t c = {{ctr[0], ctr[1], ctr[2], ctr[3]}};
    philox4x32_key_t k = {{key.k[0], key.k[1]}};
    philox4x32_ctr_t r = philox4x32(c, k);
    for (int i = 0; i < 4; i++)
        out[i] = r.v[i];
}

#define PHILOX_M0 0xD2511F53u
#define PHILOX_M1 0xCD9E8D57u
#define PHILOX_W0 0x9E3779B9u
#define PHILOX_W1 0xBB67AE85u

#if defined(__AVX2__)
#include <immintrin.h>

/* hi and lo 32 bits of the 64-bit products m * x, lane by lane. */
static inline void mulhilo8(__m256i m, __m256i x, __m256i *hi, __m256i *lo)
{
    *lo = _mm256_mullo_epi32(x, m);
    __m256i even = _mm256_srli_epi64(_mm256_mul_epu32(x, m), 32);
    __m256i odd = _mm256_mul_epu32(_mm256_srli_epi64(x, 32), m);
    *hi = _mm256_blend_epi32(even, odd, 0xAA);
}

/* Eight Philox4x32-10 blocks at once; returns the lanes done. The first
 * counter word of lane l is ent[l] when ent is given, else e0 + l; the
 * last is ent3[l] when ent3 is given, else c3. */
static int lanes_avx2(ms_rng_key key, const uint32_t *ent,
                      const uint32_t *ent3, uint32_t e0,
                      uint32_t step, uint32_t c2, uint32_t c3, int n,
                      uint32_t *restrict out, int stride)
{
    const __m256i m0 = _mm256_set1_epi32((int)PHILOX_M0);
    const __m256i m1 = _mm256_set1_epi32((int)PHILOX_M1);
    const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    int l = 0;
    for (; l + 8 <= n; l += 8) {
        __m256i x0 =
            ent ? _mm256_loadu_si256((const __m256i *)(ent + l))
                : _mm256_add_epi32(_mm256_set1_epi32((int)(e0 + (uint32_t)l)),
                                   lane);
        __m256i x1 = _mm256_set1_epi32((int)step);
        __m256i x2 = _mm256_set1_epi32((int)c2);
        __m256i x3 = ent3 ? _mm256_loadu_si256((const __m256i *)(ent3 + l))
                          : _mm256_set1_epi32((int)c3);
        uint32_t k0 = key.k[0], k1 = key.k[1];
        for (int r = 0; r < 10; r++) {
            __m256i hi0, lo0, hi1, lo1;
            mulhilo8(m0, x0, &hi0, &lo0);
            mulhilo8(m1, x2, &hi1, &lo1);
            x0 = _mm256_xor_si256(_mm256_xor_si256(hi1, x1),
                                  _mm256_set1_epi32((int)k0));
            x1 = lo1;
            x2 = _mm256_xor_si256(_mm256_xor_si256(hi0, x3),
                                  _mm256_set1_epi32((int)k1));
            x3 = lo0;
            k0 += PHILOX_W0;
            k1 += PHILOX_W1;
        }
        _mm256_storeu_si256((__m256i *)(out + l), x0);
        _mm256_storeu_si256((__m256i *)(out + stride + l), x1);
        _mm256_storeu_si256((__m256i *)(out + 2 * stride + l), x2);
        _mm256_storeu_si256((__m256i *)(out + 3 * stride + l), x3);
    }
    return l;
}
#endif

void ms_rng_lanes(ms_rng_key key, uint32_t e0, uint32_t step, uint32_t phase,
                  uint32_t draw, int n, uint32_t *restrict out, int stride)
{
    ms_rng_lanes4(key, e0, step, phase, draw, 0, n, out, stride);
}

static void lanes(ms_rng_key key, const uint32_t *ent, const uint32_t *ent3,
                  uint32_t e0, uint32_t step, uint32_t phase, uint32_t draw,
                  uint32_t w3, int n, uint32_t *restrict out, int stride)
{
    const uint32_t c2 = (phase << 24) | (draw & 0xFFFFFFu);
    int l0 = 0;
#if defined(__AVX2__)
    l0 = lanes_avx2(key, ent, ent3, e0, step, c2, w3, n, out, stride);
#endif
    uint32_t *restrict o0 = out, *restrict o1 = out + stride;
    uint32_t *restrict o2 = out + 2 * stride, *restrict o3 = out + 3 * stride;
    for (int l = l0; l < n; l++) {
        uint32_t x0 = ent ? ent[l] : e0 + (uint32_t)l, x1 = step, x2 = c2,
                 x3 = ent3 ? ent3[l] : w3;
        uint32_t k0 = key.k[0], k1 = key.k[1];
        for (int r = 0; r < 10; r++) {
            uint64_t p0 = (uint64_t)PHILOX_M0 * x0;
            uint64_t p1 = (uint64_t)PHILOX_M1 * x2;
            uint32_t y0 = (uint32_t)(p1 >> 32) ^ x1 ^ k0;
            uint32_t y1 = (uint32_t)p1;
            uint32_t y2 = (uint32_t)(p0 >> 32) ^ x3 ^ k1;
            uint32_t y3 = (uint32_t)p0;
            x0 = y0; x1 = y1; x2 = y2; x3 = y3;
            k0 += PHILOX_W0;
            k1 += PHILOX_W1;
        }
        o0[l] = x0; o1[l] = x1; o2[l] = x2; o3[l] = x3;
    }
}

void ms_rng_lanes4(ms_rng_key key, uint32_t e0, uint32_t step, uint32_t phase,
                   uint32_t draw, uint32_t w3, int n, uint32_t *restrict out,
                   int stride)
{
    lanes(key, NULL, NULL, e0, step, phase, draw, w3, n, out, stride);
}

void ms_rng_gather(ms_rng_key key, const uint64_t *ent, uint32_t step,
                   uint32_t phase, uint32_t draw, int n,
                   uint32_t *restrict out, int stride)
{
    enum { CHUNK = 64 };
    uint32_t lo[CHUNK], hi[CHUNK];
    for (int l0 = 0; l0 < n; l0 += CHUNK) {
        int k = n - l0 < CHUNK ? n - l0 : CHUNK;
        for (int l = 0; l < k; l++) {
            lo[l] = (uint32_t)ent[l0 + l];
            hi[l] = ms_rng_w3(ent[l0 + l]);
        }
        lanes(key, lo, hi, 0, step, phase, draw, 0, k, out + l0, stride);
    }
}

static inline double bits_to_double(uint64_t b)
{
    double d;
    memcpy(&d, &b, sizeof d);
    return d;
}

/* log u for a normal double u > 0: fdlibm's e_log.c without its branches.
 * u = 2^k (1 + f), 1 + f in [sqrt(2)/2, sqrt(2)); with s = f / (2 + f),
 * log(1 + f) = f - f^2/2 + s (f^2/2 + R(s^2)). */
static inline double log_core(double u)
{
    const double Lg1 = 6.666666666666735130e-01, Lg2 = 3.999999999940941908e-01,
                 Lg3 = 2.857142874366239149e-01, Lg4 = 2.222219843214978396e-01,
                 Lg5 = 1.818357216161805012e-01, Lg6 = 1.531383769920937332e-01,
                 Lg7 = 1.479819860511658591e-01;
    const double ln2_hi = 6.93147180369123816490e-01,
                 ln2_lo = 1.90821492927058770002e-10;
    uint64_t iu;
    memcpy(&iu, &u, sizeof iu);
    uint64_t m = iu & 0x000fffffffffffffull;
    /* i: 2^52 when the mantissa is at least sqrt(2): halve it. */
    uint64_t i = (m + 0x95f6400000000ull) & 0x10000000000000ull;
    uint64_t e = (iu >> 52) + (i >> 52); /* biased exponent */
    double dk = bits_to_double(0x4330000000000000ull | e) - (0x1p52 + 1023.0);
    double f = bits_to_double(m | (i ^ 0x3ff0000000000000ull)) - 1.0;
    double s = f / (2.0 + f), z = s * s, w = z * z;
    double t1 = w * (Lg2 + w * (Lg4 + w * Lg6));
    double t2 = z * (Lg1 + w * (Lg3 + w * (Lg5 + w * Lg7)));
    double R = t2 + t1, hfsq = 0.5 * f * f;
    return dk * ln2_hi - ((hfsq - (s * (hfsq + R) + dk * ln2_lo)) - f);
}

void ms_rng_log_u01(const uint32_t *restrict x, double *restrict out, int n)
{
    for (int l = 0; l < n; l++)
        out[l] = log_core(ms_u01(x[l])); /* normal, in [2^-33, 1) */
}

void ms_rng_log01(const double *restrict x, double *restrict out, int n)
{
    for (int l = 0; l < n; l++)
        out[l] = log_core(x[l]);
}

void ms_rng_expneg(const double *restrict x, double *restrict out, int n)
{
    /* fdlibm's e_exp.c: x = k ln2 + r, |r| <= ln2 / 2, exp(r) from a
     * rational approximation, times 2^k. k by rounding x / ln2 with the
     * 1.5 * 2^52 trick (plain additions: the same on every build). Below
     * -708 (results near or below the smallest normal) the C library's exp
     * is used. */
    const double P1 = 1.66666666666666019037e-01, P2 = -2.77777777770155933842e-03,
                 P3 = 6.61375632143793436117e-05, P4 = -1.65339022054652515390e-06,
                 P5 = 4.13813679705723846039e-08;
    const double ln2_hi = 6.93147180369123816490e-01,
                 ln2_lo = 1.90821492927058770002e-10,
                 inv_ln2 = 1.44269504088896338700e+00, big = 0x1.8p52;
    int low = 0;
    for (int l = 0; l < n; l++) {
        double xl = x[l] < -708.0 ? 0.0 : x[l];
        low |= x[l] < -708.0;
        double kb = xl * inv_ln2 + big; /* big + round(x / ln2) */
        uint64_t ikb;
        memcpy(&ikb, &kb, sizeof ikb);
        double kd = kb - big;
        double hi = xl - kd * ln2_hi, lo = kd * ln2_lo, r = hi - lo;
        double t = r * r;
        double c = r - t * (P1 + t * (P2 + t * (P3 + t * (P4 + t * P5))));
        double y = 1.0 - ((lo - (r * c) / (2.0 - c)) - hi);
        /* 2^k: k = ikb - bits(big), in [-1022, 0] here. */
        uint64_t k = ikb - 0x4338000000000000ull;
        out[l] = y * bits_to_double((k + 1023u) << 52);
    }
    if (low)
        for (int l = 0; l < n; l++)
            if (x[l] < -708.0)
                out[l] = exp(x[l]);
}

double ms_rng_uniform(ms_rng_key key, uint64_t entity, uint32_t step,
                      uint32_t phase, uint32_t draw)
{
    uint32_t ctr[4] = {(uint32_t)entity, step,
                       (phase << 24) | (draw & 0xFFFFFFu), ms_rng_w3(entity)};
    uint32_t out[4];
    ms_rng_block(key, ctr, out);
    return ms_u01_52(out[0], out[1]);
}

/* The gsl_rng adapter: the words of the Philox blocks at a position, in
 * the order of Random123's GSL micro-RNG (word 3 of each block first; the
 * block number ORed into counter word 3), so that a reset followed by n
 * draws gives the n numbers that adapter gives. A reset may hand over the
 * first block, computed by the caller with others (ms_rng_gather). */
typedef struct {
    uint32_t ctr[4];
    ms_rng_key key;
    uint32_t r[4];
    uint32_t n;   /* blocks made */
    int elem;     /* words of r not yet returned */
} adapter_state;

static unsigned long int adapter_get(void *vstate)
{
    adapter_state *st = vstate;
    if (st->elem == 0) {
        uint32_t c[4] = {st->ctr[0], st->ctr[1], st->ctr[2],
                         st->ctr[3] | st->n};
        st->n++;
        ms_rng_block(st->key, c, st->r);
        st->elem = 4;
    }
    return st->r[--st->elem];
}

static double adapter_get_double(void *vstate)
{
    return (double)adapter_get(vstate) / 4294967296.;
}

static void adapter_set(void *vstate, unsigned long int s)
{
    adapter_state *st = vstate;
    (void)s; /* positions come from ms_rng_gsl_reset */
    memset(st, 0, sizeof *st);
}

static const gsl_rng_type adapter_type = {
    "ms_philox4x32", 0xffffffffUL, 0, sizeof(adapter_state), &adapter_set,
    &adapter_get, &adapter_get_double};

gsl_rng *ms_rng_gsl_alloc(void)
{
    /* gsl_rng_alloc uses malloc directly; count it as one engine block by
     * checking the injection hook first. */
    void *probe = ms_malloc(1);
    if (!probe)
        return NULL;
    ms_free(probe);
    gsl_rng *r = gsl_rng_alloc(&adapter_type);
    return r;
}

void ms_rng_gsl_free(gsl_rng *r)
{
    if (r)
        gsl_rng_free(r);
}

void ms_rng_gsl_reset_first(gsl_rng *r, ms_rng_key key, uint64_t entity,
                            uint32_t step, uint32_t phase, uint32_t draw,
                            const uint32_t *first)
{
    /* The adapter ORs its block number into word 3: the low 16 bits are
     * free (ms_rng_w3), so up to 2^16 blocks per position. */
    adapter_state *st = r->state;
    st->ctr[0] = (uint32_t)entity;
    st->ctr[1] = step;
    st->ctr[2] = (phase << 24) | (draw & 0xFFFFFFu);
    st->ctr[3] = ms_rng_w3(entity);
    st->key = key;
    st->n = 0;
    st->elem = 0;
    if (first) {
        memcpy(st->r, first, sizeof st->r);
        st->n = 1;
        st->elem = 4;
    }
}

void ms_rng_gsl_reset(gsl_rng *r, ms_rng_key key, uint64_t entity,
                      uint32_t step, uint32_t phase, uint32_t draw)
{
    ms_rng_gsl_reset_first(r, key, entity, step, phase, draw, NULL);
}
