/*
 * ms_rng.h: counter-based random streams.
 *
 * Every random number in marketsim is a pure function of
 * (seed, step, phase, entity, draw): one Philox4x32-10 block (Random123) with
 * the run's 64-bit seed as key and the counter
 *
 *     ctr = { entity mod 2^32, step, phase << 24 | draw, (entity >> 32) << 16 }
 *
 * Entities (consumer ids, firms, ...) are 64-bit, below MS_RNG_ENTITY_LIMIT =
 * 2^48: the low 32 bits are word 0 and bits 32..47 the high half of word 3.
 * The low 16 bits of word 3 stay 0 for direct draws; the gsl_rng adapter ORs
 * its block number into them, so a GSL distribution gets up to 2^16 blocks
 * (2^18 32-bit numbers) from one (entity, step, phase, draw) position. An
 * entity below 2^32 has word 3 = 0 exactly as before 64-bit ids, so its
 * streams are unchanged.
 *
 * The per-step draws of a consumer block b (models/consumer.c) are counted
 * the same way with the block as entity and the draw index j (< 2^16) in
 * word 0: ctr = { j | (b >> 32) << 16, step, MS_PH_EVENT << 24 | category,
 * b mod 2^32 } (ms_rng_event_w0), b < 2^48.
 *
 * No generator state is shared, so a run's draws do not depend on thread
 * count, rank or order of evaluation.
 *
 * Runs of a sweep get their seed from the sweep seed and the run index alone
 * (ms_rng_derive_seed), and a run's seed is recorded in its output, so any run
 * can be repeated on its own with `marketsim run --seed`.
 */
#ifndef MS_RNG_H
#define MS_RNG_H

#include <gsl/gsl_rng.h>
#include <stdint.h>

/* Phases: each call site that draws has its own, so streams never overlap. */
enum ms_rng_phase {
    MS_PH_TRAIT = 1,     /* consumer traits nu, phi (setup) */
    MS_PH_POTENTIAL,     /* which consumers may adopt a category (setup) */
    MS_PH_INITIAL,       /* initial adopters and their firms (setup) */
    MS_PH_EVENT,         /* per-step candidates of a consumer block: gap,
                            acceptance and choice uniforms */
    MS_PH_CHOICE,        /* reserved (the step draws its choices with its
                            candidates, MS_PH_EVENT); kept so the phases
                            after it keep their numbers */
    MS_PH_FIRM_ORDER,    /* order in which firms act in a step */
    MS_PH_EXPERIMENT,    /* experiment counts and draws */
    MS_PH_IMITATE,       /* imitation of the best quality */
    MS_PH_LAUNCH,        /* launching a hosted format */
    MS_PH_DEAL_CHURN,    /* users of an acquired firm re-evaluating */
    MS_PH_ENTRY,         /* start-up entry */
    MS_PH_LEARN,         /* strategy learning */
    MS_PH_DESIGN,        /* sweep designs (Latin hypercube) */
    MS_PH_TEST = 200     /* reserved for tests */
};

#define MS_RNG_SETUP_STEP 0xFFFFFFFFu
#define MS_RNG_ENTITY_LIMIT (UINT64_C(1) << 48) /* entities are below this */
#define MS_RNG_GENERATOR_NAME "philox4x32-10 (Random123)"

typedef struct ms_rng_key {
    uint32_t k[2];
} ms_rng_key;

ms_rng_key ms_rng_key_from_seed(uint64_t seed);

/* Seed of run `run` of a sweep with seed `sweep_seed` (SplitMix64 of both). */
uint64_t ms_rng_derive_seed(uint64_t sweep_seed, uint64_t run);

/* One Philox4x32-10 block for counter `ctr` (reference implementation). */
void ms_rng_block(ms_rng_key key, const uint32_t ctr[4], uint32_t out[4]);

/* Word 3 of the counter of an entity: (entity >> 32) << 16. */
static inline uint32_t ms_rng_w3(uint64_t entity)
{
    return (uint32_t)(entity >> 32) << 16;
}

/* Word 0 of draw j (< 2^16) of consumer block b: j | (b >> 32) << 16. */
static inline uint32_t ms_rng_event_w0(uint32_t j, uint64_t b)
{
    return j | (uint32_t)(b >> 32) << 16;
}

/* Blocks for first counter words e0, e0+1, ..., e0+n-1 (entities below
 * 2^32, or draw indices) at the same (step, phase, draw), last word 0,
 * written structure-of-arrays: out[w * stride + l] is word w of lane l.
 * Written so the compiler vectorizes it; equal to ms_rng_block lane by lane. */
void ms_rng_lanes(ms_rng_key key, uint32_t e0, uint32_t step, uint32_t phase,
                  uint32_t draw, int n, uint32_t *out, int stride);

/* The same with the last counter word set to w3: lanes e0+l of
 * {e0 + l, step, phase << 24 | draw, w3}. */
void ms_rng_lanes4(ms_rng_key key, uint32_t e0, uint32_t step, uint32_t phase,
                   uint32_t draw, uint32_t w3, int n, uint32_t *out,
                   int stride);

/* Blocks for the entities ent[0..n-1] (any values below 2^48) at the same
 * (step, phase, draw): lane l is {ent[l] mod 2^32, step, phase << 24 | draw,
 * ms_rng_w3(ent[l])}, laid out as in ms_rng_lanes. */
void ms_rng_gather(ms_rng_key key, const uint64_t *ent, uint32_t step,
                   uint32_t phase, uint32_t draw, int n, uint32_t *out,
                   int stride);

/* Uniform in (0,1) from 32 random bits: (x + 0.5) / 2^32. */
static inline double ms_u01(uint32_t x) { return ((double)x + 0.5) * 0x1p-32; }

/* Uniform in (0,1) with 52 bits from two words: (k + 0.5) / 2^52 for a
 * 52-bit k, so both ends are excluded and every value is exact. */
static inline double ms_u01_52(uint32_t a, uint32_t b)
{
    return ((double)(a >> 6) * 67108864.0 + (double)(b >> 6) + 0.5) * 0x1p-52;
}

/* out[l] = log(ms_u01(x[l])) for l < n, within 1 ulp of the C library's
 * log (the algorithm of fdlibm's e_log.c, without its branches), written
 * with plain double operations so that it vectorizes and gives the same
 * bits on every build. */
void ms_rng_log_u01(const uint32_t *x, double *out, int n);

/* out[l] = log(x[l]) for normal x[l] > 0, the same way. */
void ms_rng_log01(const double *x, double *out, int n);

/* out[l] = exp(x[l]) for x[l] <= 0, within 1 ulp of the C library's exp
 * (fdlibm's e_exp.c without its branches; the same bits on every build). */
void ms_rng_expneg(const double *x, double *out, int n);

/* A single uniform at a position (convenience for rare events). */
double ms_rng_uniform(ms_rng_key key, uint64_t entity, uint32_t step,
                      uint32_t phase, uint32_t draw);

/* gsl_rng adapter: a gsl_rng whose numbers come from the Philox stream at a
 * position. Allocate once (setup), reset before each use. */
gsl_rng *ms_rng_gsl_alloc(void);
void ms_rng_gsl_free(gsl_rng *r);
void ms_rng_gsl_reset(gsl_rng *r, ms_rng_key key, uint64_t entity,
                      uint32_t step, uint32_t phase, uint32_t draw);
/* The same, handing over the position's first block (its four words, as
 * ms_rng_block gives them for the counter {entity mod 2^32, step, phase
 * << 24 | draw, ms_rng_w3(entity)}), computed with others beforehand:
 * the adapter then gives exactly the numbers of ms_rng_gsl_reset. */
void ms_rng_gsl_reset_first(gsl_rng *r, ms_rng_key key, uint64_t entity,
                            uint32_t step, uint32_t phase, uint32_t draw,
                            const uint32_t *first);

#endif
