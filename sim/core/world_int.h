/*
 * world_int.h: the body of ms_world, shared by the engine and models/.
 *
 * State is structure of arrays. Consumers are grouped by market (market m
 * owns consumers m_off[m] .. m_off[m+1]-1) and hold only what cannot be
 * recomputed cheaply: one byte for innovativeness and one firm per
 * category (one byte while the firms fit, else two): 1 + C bytes each.
 * Both traits are pure functions of (seed, consumer). Foreignness aversion
 * phi is derived when a consumer chooses (ms_phi). Innovativeness nu is
 * stored as its bucket code: 256 buckets between float edges, the code k
 * of consumer i such that nu_edge[k] <= nu_i < nu_edge[k+1]; the step
 * decides almost every non-adopter from the bucket's edges and recomputes
 * the exact float nu_i (ms_nu_draw) only in the rare case they leave open
 * (ms_nonadopter_event).
 *
 * Index conventions (all row-major):
 *   mc = m * C + c                     market x category
 *   user counts  users[mc * F + f]     f < F (firm capacity)
 *   firm x cat   [f * C + c],  firm x market [f * M + m]
 * A consumer's state per category is one "choice value" (ms_choice_get):
 *   MS_NOPOT (can never adopt: outside the ceiling), 0 (has not adopted),
 *   or f + 1 (uses firm f). Stored in w->cw bytes: 1 when the firm capacity
 *   F is at most MS_CHOICE8_MAX (stored 0xFF is MS_NOPOT, 0xFE the setup
 *   marker MS_NOPOT - 1), else 2.
 */
#ifndef MS_WORLD_INT_H
#define MS_WORLD_INT_H

#include "marketsim/ms_world.h"
#include "rng/ms_rng.h"
#include "scenario/scenario_int.h"

#include <gsl/gsl_rng.h>

#include <math.h>
#include <stdint.h>
#include <string.h>

#define MS_NOPOT 0xFFFFu
#define MS_BLOCK 512          /* consumers per work unit (fixed: results do
                                 not depend on how units map to threads) */
#define MS_MAX_PHASES 16
#define MS_CAND_BATCH 16      /* candidates per batch of the consumer step */
#define MS_NU_BUCKETS 256     /* innovativeness buckets (one-byte codes) */

/* What a consumer in market m needs to choose in category c this step,
 * built from the state at the start of the step (MODEL.md section 2). */
typedef struct ms_ctab {
    int K;                /* firms offering c in m */
    int G;                /* distinct foreignness coefficients */
    int host;             /* host category of c, or -1 */
    int feat_any;         /* some host app features c here */
    double pdt;           /* p_c * dt */
    double qterm;         /* q_c * A/K * dt (imitation hazard this step) */
    double reeval;        /* 1 - exp(-chi_c dt) */
    double *rv;           /* [F+2] re-evaluation chance of a user by choice
                             value: reeval, more after a deal, 2 (always)
                             when the firm no longer offers c here */
    int rv_uniform;       /* every offering firm's rv equals reeval */
    double rv_max;        /* max of rv over the firms (set each step) */
    double rv_inv;        /* 1 / log(1 - rv_max), 0 when rv_max = 1 (set
                             after rv_max: the gaps at that bound) */
    /* The choice by groups (set each step, ms_consumers_move): */
    double *gsum;         /* [F] sum of E over the slots of group g */
    double *gcum;         /* [F] cumulative E inside each group, gord order */
    int *gord;            /* [F] slots ordered by group */
    int *gstart;          /* [F+1] group g is gord[gstart[g] .. gstart[g+1]) */
    double *gpad;         /* [4F] gcum of each group but its last entry,
                             padded with +inf to a multiple of 4 */
    int *gpstart;         /* [F+1] group g is gpad[gpstart[g] ..
                             gpstart[g+1]) */
    double p0min;         /* gsum[0] / sum of gsum: least chance of group 0 */
    double xfeat_max;     /* max of xfeat (set each step) */
    int plain;            /* no chooser's weights differ from E: stay = 1,
                             own = 1, host bonus 1 (set each step) */
    double stay;          /* exp(k_sw): weight factor of the current firm */
    double host_bonus;    /* exp(eta) */
    uint16_t *fid;        /* [F] firm of slot k */
    double *E;            /* [F] exp(a_eff + gamma S - max) of slot k */
    double *logE;         /* [F] a_eff + gamma S - max */
    double *own;          /* [F] weight factor for current users of slot k
                             (live experiments failing this step) */
    int *grp;             /* [F] group of slot k in D */
    double *D;            /* [F] distinct lambda * CD * (1 - L), D[0] smallest */
    int32_t *slot;        /* [F+2] slot by choice value (0 and NOPOT -> -1) */
    double *xfeat;        /* [F+2] featuring hazard (per step) by the choice
                             value held in the host category */
} ms_ctab;

/* Choosers of one (market, category) whose choice waits for their phi
 * (the firms differ in foreignness and the choice uniform does not settle
 * it without phi, or their weights are not plain), kept per thread across
 * blocks and chosen MS_PHI_WAITS at a time (models/consumer.c): their
 * random-stream ids, offsets in this process's state, choice values, host
 * choice values and choice uniforms. */
#define MS_PHI_WAITS 64
typedef struct ms_waiting {
    int n;
    uint64_t ent[MS_PHI_WAITS];
    size_t off[MS_PHI_WAITS];
    unsigned s[MS_PHI_WAITS], hs[MS_PHI_WAITS];
    double uc[MS_PHI_WAITS];
} ms_waiting;

typedef struct ms_block {
    uint64_t start;       /* consumers start .. start+n-1 (state index) */
    uint32_t n;
    int m;                /* their market */
} ms_block;

#define MS_RE_MENU 10        /* Roth-Erev menu: 4 pure mixes, 6 half-half pairs */

typedef enum {
    MS_EV_LAUNCH, MS_EV_ENTRY, MS_EV_EXIT, MS_EV_ENTER_MARKET,
    MS_EV_ACQUISITION, MS_EV_BLOCKED_DEAL, MS_EV_STAKE, MS_EV_COUNT
} ms_event_kind;

extern const char *const ms_event_names[MS_EV_COUNT];

typedef struct ms_event {
    int64_t step;           /* step in which it happened (0-based) */
    int kind;               /* ms_event_kind */
    int actor, target;      /* firm ids (-1: none) */
    int market, category;   /* indices (-1: none) */
    double amount;          /* USD (price, cost, cash) or 0 */
} ms_event;

struct ms_world {
    const ms_scenario *sc;  /* borrowed */
    int M, C;               /* markets, categories */
    int F;                  /* firm capacity */
    int n_firms;            /* firms created so far (ids 0..n_firms-1) */
    double dt, ppa;         /* years per step; people per agent */
    ms_rng_key key;
    uint64_t seed;
    int64_t step;           /* steps done */

    /* consumers: index i in 0..N-1, random-stream id id0 + i. This
     * process holds consumers c_lo .. c_hi-1, which are blocks
     * b_lo .. b_hi-1 (all of them in one process; a slice of them, balanced
     * by consumers, on each rank of a distributed run) */
    uint64_t N;
    uint64_t id0;           /* id of consumer 0 (a multiple of MS_BLOCK;
                               0 unless the test hook MARKETSIM_TEST_ID_OFFSET
                               sets it) */
    uint64_t *m_off;        /* [M+1] */
    uint8_t *nuq;           /* [c_hi-c_lo] innovativeness bucket code k of
                               the slice: nu_edge[k] <= nu < nu_edge[k+1] */
    float nu_top;           /* the largest nu of the slice */
    float nu_edge[MS_NU_BUCKETS + 1]; /* bucket edges, nondecreasing:
                               edge[0] = 0, edge[256] = +inf, edge[k] the
                               float nearest the k/256 quantile of nu */
    uint8_t *choice;        /* [C*(c_hi-c_lo)] category-major, cw bytes each */
    int cw;                 /* bytes per choice value: 1 or 2 */
    ms_block *blocks;       /* [n_blocks] every block (a rank runs its own) */
    float *nu_max;          /* [n_blocks] largest nu in the block (own ones) */
    float *nu_min;          /* [n_blocks] smallest nu in the block (own ones) */
    int *cat_order;         /* [C] hosted categories first */
    int64_t n_blocks;
    size_t c_lo, c_hi;      /* this process's consumers */
    int64_t b_lo, b_hi;     /* this process's blocks */
    int ranks, rank;        /* of a distributed run (1, 0 otherwise) */

    /* aggregates (integers, so reductions are exact in any order) */
    int64_t *K;             /* [M*C] potential adopters (= round(kappa N)) */
    int64_t *adopters;      /* [M*C] */
    int64_t *users;         /* [M*C*F] */

    /* firms */
    char **fname;           /* [F] names (into name_buf) */
    int *home;              /* [F] market */
    int *alive;             /* [F] 1 while in business */
    int *owner;             /* [F] itself or its acquirer */
    double *cash;           /* [F] USD */
    double *mu;             /* [F] monetization */
    double *quality;        /* [F*C] log-quality; NaN: does not offer */
    double *present;        /* [F*M] 1 present, 0 not */
    double *loc;            /* [F*M] localization L */
    double *prominence;     /* [F] */
    uint8_t *launched;      /* [F*C*M] hosted format launched in market */
    double *revenue;        /* [F] last step, USD */
    double *rev_m;          /* [F*M] last step revenue by market, USD */
    double *costs;          /* [F] last step, USD */
    double *spend;          /* [F] last step strategy spending, USD */
    double *inflow;         /* [F] last step: dividends, profits received, capital */
    double *outflow;        /* [F] last step: profits paid to owner */
    double *cash0;          /* [F] cash when the firm was created */
    double *flow_sum;       /* [F] sum of recorded flows since creation */
    double *flow_abs;       /* [F] sum of |flows| (scale for --check) */
    double *value;          /* [F] USD */
    double *profit;         /* [F] last step operating profit R - K, USD */
    double *vtmp;           /* [F] scratch for solving values */
    int *pa, *pb;           /* [cap_partners] partnership edges (a, b) */
    int n_partners, cap_partners;

    /* strategies (models/) */
    double *weights;        /* [F*MS_N_STRATEGIES] mix, on the simplex */
    double *beta;           /* [F] budget rate per year */
    double *bold;           /* [F] boldness */
    int *learn;             /* [F] MS_LEARN_* */
    double *re_q;           /* [F*MS_RE_MENU] Roth-Erev propensities */
    int *re_used;           /* [F] menu allocation in use, -1: the initial mix */
    double *v_prev;         /* [F] value at the last learning update */
    double *growth;         /* [F] value growth over the last period */
    int *neg_steps;         /* [F] consecutive steps with negative cash (group heads) */
    int *loss_steps;        /* [F] consecutive steps with negative operating profit */
    int64_t *birth;         /* [F] step the firm was created (0: scenario firms) */
    double *divpaid;        /* [F] scratch: dividends paid this step, USD */
    double *entry_fund;     /* [F] localization budget set aside for entry, USD */
    double *acq_fund;       /* [F] acquisition fund, USD (earmarked cash) */
    double *inv_fund;       /* [F] investment fund, USD (earmarked cash) */
    int *blocked_target;    /* [F] last target antitrust blocked, or -1 */
    int64_t *blocked_until; /* [F] step until which it is not retried */
    int *st_inv, *st_tgt;   /* [cap_stakes] stakes: investor, target */
    double *st_sigma;       /* [cap_stakes] share held */
    int n_stakes, cap_stakes;
    int *order;             /* [F] scratch: firms in acting order */
    double *gusers;         /* [F*M*C] scratch: users by group, market, category */
    gsl_rng *frng;          /* firm-phase generator (reset per use) */
    int64_t entrants, entrants_dropped;
    char *name_buf;         /* [F*MS_NAME_MAX] storage of entrant names */

    /* targets (core/targets.c): every basic measure of every target, in
     * the order ms_targets_* walk them, with the step it is taken at */
    int n_tnodes;
    int64_t *tnode_step;
    double *tnode_val;

    /* events of the current step (written out each step) */
    struct ms_event *ev;
    int n_ev, cap_ev;
    int64_t ev_dropped;

    /* observables of the last step */
    double *hhi;            /* [M*C] group HHI */
    double *foreign_share;  /* [M*C] */
    double *group_revenue;  /* [F] for group heads, else 0 */
    double *abroad_share;   /* [F] for group heads, else NaN */

    /* per-step view for consumers */
    ms_ctab *ctab;          /* [M*C] */
    struct ms_dpair { double d; int k; } *dpairs; /* [F] scratch for grouping */
    double *net;            /* [F] scratch: network users incl. partners */

    /* threads */
    int n_threads;
    int64_t **tl_delta;     /* [threads][M*C*(F+1)] user count changes */
    double **tl_scratch;    /* [threads][2F + 2 + MS_CAND_BATCH * F] choice
                               weights, then a batch's group weights */
    ms_waiting **tl_wait;   /* [threads][M*C] choosers waiting for phi */
    gsl_rng **tl_rng;       /* [threads] generator for recomputing traits */

    /* phase timers */
    double phase_sec[MS_MAX_PHASES];
};

/* Phase functions (models/ and core/). */
ms_status ms_view_prepare(ms_world *w);
ms_status ms_firms_act(ms_world *w);
ms_status ms_consumers_move(ms_world *w);
ms_status ms_firms_accounts(ms_world *w);
/* Accounts of record 0: revenue, costs and values from the initial users,
 * with no cash booked (models/firm.c). */
void ms_firms_accounts_init(ms_world *w);
ms_status ms_firms_exit(ms_world *w);
ms_status ms_firms_entry(ms_world *w);
ms_status ms_learning_update(ms_world *w);
ms_status ms_observe(ms_world *w);

/* Targets: set up at creation, observed after setup and every step. */
ms_status ms_targets_init(ms_world *w);
void ms_targets_observe(ms_world *w);
/* Simulated value of each target (NaN where its time was not reached). */
void ms_targets_results(const ms_world *w, double *sim);

/* Record an event of this step (never fails: a full buffer counts drops). */
void ms_world_event(ms_world *w, ms_event_kind kind, int actor, int target,
                    int market, int category, double amount);

/* Choice helpers shared by setup and the step (models/consumer.c). */
int ms_choose_slot(const ms_ctab *t, double phi, int cur, int hostslot,
                   double u, double *scratch);
void ms_ctab_build(ms_world *w, int m, int c, int with_network);
int ms_firm_offers(const ms_world *w, int f, int c, int m);
/* Bound on every event probability of block b in the table's category. */
double ms_block_bound(const ms_world *w, const ms_ctab *t, int64_t b);
int ms_group_of(const ms_world *w, int f);

/* Sum n integers over the ranks of a distributed run, in place (a no-op
 * in one process): how the consumer phase and the setup, which each see
 * only this process's consumers, make the counts of all of them. */
void ms_world_sum_i64(const ms_world *w, int64_t *v, size_t n);

/* Consumers of market m this process holds: [*lo, *hi) (maybe empty). */
static inline void ms_world_local(const ms_world *w, int m, size_t *lo,
                                  size_t *hi)
{
    size_t a = w->m_off[m], b = w->m_off[m + 1];
    *lo = a > w->c_lo ? a : w->c_lo;
    *hi = b < w->c_hi ? b : w->c_hi;
    if (*hi < *lo)
        *hi = *lo;
}

/* Innovativeness of consumer i (state index), exactly as setup draws it:
 * lognormal with mean 1, from the Gaussian (ziggurat) of the GSL adapter
 * reset at (its id, setup, MS_PH_TRAIT, draw 0). r is the caller's
 * generator (reset here). The one definition of nu: setup assigns codes
 * and block bounds from it and the step recomputes with it. */
float ms_nu_draw(const ms_world *w, gsl_rng *r, uint64_t i);

/* Innovativeness of consumer i (any consumer, held or not): exact and
 * slow (allocates a generator; NaN when that fails). For tests and readers
 * outside the step. */
float ms_world_nu(const ms_world *w, uint64_t i);

/* The bucket code of consumer i (one this process holds). */
static inline unsigned ms_nu_code(const ms_world *w, uint64_t i)
{
    return w->nuq[i - w->c_lo];
}

/* Start loading the bucket code of consumer i (one this process holds). */
static inline void ms_nu_prefetch(const ms_world *w, uint64_t i)
{
    __builtin_prefetch(&w->nuq[i - w->c_lo]);
}

/* The stored choice value of consumer i (one this process holds) in
 * category c: cw bytes. */
static inline uint8_t *ms_choice_at(const ms_world *w, int c, uint64_t i)
{
    return w->choice +
           ((size_t)c * (w->c_hi - w->c_lo) + (i - w->c_lo)) * (size_t)w->cw;
}

/* A consumer's choice value in category c (0, f + 1 or MS_NOPOT); i is a
 * consumer this process holds. */
static inline unsigned ms_choice_get(const ms_world *w, int c, uint64_t i)
{
    size_t j = (size_t)c * (w->c_hi - w->c_lo) + (i - w->c_lo);
    if (w->cw == 1) {
        unsigned v = w->choice[j];
        return v >= 0xFEu ? v | 0xFF00u : v;
    }
    uint16_t v;
    memcpy(&v, w->choice + 2 * j, 2);
    return v;
}

static inline void ms_choice_set(const ms_world *w, int c, uint64_t i,
                                 unsigned v)
{
    size_t j = (size_t)c * (w->c_hi - w->c_lo) + (i - w->c_lo);
    if (w->cw == 1) {
        w->choice[j] = (uint8_t)v;
        return;
    }
    uint16_t v16 = (uint16_t)v;
    memcpy(w->choice + 2 * j, &v16, 2);
}

/* Bytes of the choice values this process holds (the consumer state a
 * checkpoint keeps). */
static inline size_t ms_choice_bytes(const ms_world *w)
{
    return (size_t)w->C * (w->c_hi - w->c_lo) * (size_t)w->cw;
}

/* Random-stream id of the consumer at state index i. */
static inline uint64_t ms_consumer_id(const ms_world *w, uint64_t i)
{
    return w->id0 + i;
}

/* Random-stream id of block b: id0 / MS_BLOCK + b (block ids shift with
 * the consumer ids). */
static inline uint64_t ms_block_id(const ms_world *w, int64_t b)
{
    return w->id0 / MS_BLOCK + (uint64_t)b;
}

/* Foreignness aversion of consumer i, Exponential(1): -log u with u the
 * 52-bit uniform at (its id, setup, MS_PH_TRAIT, draw 1). A pure function
 * of the seed and the consumer, so it is derived, not stored. */
static inline double ms_phi(const ms_world *w, uint64_t i)
{
    return -log(ms_rng_uniform(w->key, ms_consumer_id(w, i),
                               MS_RNG_SETUP_STEP, MS_PH_TRAIT, 1));
}

/* The hazard test: true with probability 1 - exp(-h), for h >= 0, from one
 * uniform u. The two bounds h - h^2/2 <= 1 - exp(-h) <= h settle almost
 * every case without calling exp; the answer is the same as comparing u
 * with 1 - exp(-h) directly. */
static inline int ms_hazard_event(double u, double h)
{
    if (u >= h)
        return 0;
    if (u < h - 0.5 * h * h)
        return 1;
    return u < -expm1(-h);
}

/* The adoption test of non-adopter i (one this process holds) from its
 * uniform v: exactly ms_hazard_event(v, (double)nu_i * pdt + qterm + x),
 * nu_i the float setup draws (pdt, qterm, x >= 0). With lo <= nu_i < hi
 * the edges of its bucket, h_lo = lo pdt + qterm + x <= h_i <= h_hi (the
 * same sums; rounding is monotone), so v >= h_hi is no event (the first
 * test of ms_hazard_event) and v < h_lo - h_lo^2 / 2 <= 1 - exp(-h_i) an
 * event, without nu_i; only otherwise is nu_i recomputed, with thread
 * tid's generator. */
static inline int ms_nonadopter_event(const ms_world *w, int tid, uint64_t i,
                                      double v, double pdt, double qterm,
                                      double x)
{
    const unsigned k = ms_nu_code(w, i);
    const double h_hi = (double)w->nu_edge[k + 1] * pdt + qterm + x;
    if (v >= h_hi)
        return 0;
    const double h_lo = (double)w->nu_edge[k] * pdt + qterm + x;
    if (v < h_lo - 0.5 * h_lo * h_lo)
        return 1;
    /* A bucket that starts at the largest nu of the slice holds only that
     * value (every consumer's, when sigma_nu = 0): no need to draw it. */
    const float nu = w->nu_edge[k] == w->nu_top
                         ? w->nu_top
                         : ms_nu_draw(w, w->tl_rng[tid], i);
    return ms_hazard_event(v, (double)nu * pdt + qterm + x);
}

#endif
