/*
 * world.c: building the world at t = 0 and tearing it down.
 *
 * Everything the run will ever need is allocated here (STYLE: allocate in
 * setup, never in the step loop). Setup is deterministic for a seed: traits
 * are drawn per consumer from its own stream, the potential adopters of each
 * (market, category) are an exact-size uniform random subset chosen by
 * selection sampling (Knuth's Algorithm S), so the ceiling kappa * N is met
 * exactly, and initial adopters choose by the logit without network effects.
 */
#include "core/world_int.h"

#include "marketsim/ms_alloc.h"
#include "par/par.h"

#include <gsl/gsl_cdf.h>
#include <gsl/gsl_randist.h>
#include <errno.h>
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ALLOC(ptr, count)                                                    \
    do {                                                                     \
        size_t n_ = (size_t)(count);                                         \
        (ptr) = ms_calloc(n_ ? n_ : 1, sizeof *(ptr));                       \
        if (!(ptr))                                                          \
            return MS_ERROR(MS_ENOMEM, "out of memory: %s needs %.3g MB",    \
                            #ptr, (double)(count) * sizeof *(ptr) / 1e6);    \
    } while (0)

static ms_status alloc_state(ms_world *w)
{
    const size_t M = (size_t)w->M, C = (size_t)w->C, F = (size_t)w->F;
    ALLOC(w->m_off, M + 1);
    ALLOC(w->cat_order, C);
    w->cw = F <= MS_CHOICE8_MAX ? 1 : 2;
    ALLOC(w->K, M * C);
    ALLOC(w->adopters, M * C);
    ALLOC(w->users, M * C * F);
    ALLOC(w->fname, F);
    ALLOC(w->home, F);
    ALLOC(w->alive, F);
    ALLOC(w->owner, F);
    ALLOC(w->cash, F);
    ALLOC(w->mu, F);
    ALLOC(w->quality, F * C);
    ALLOC(w->present, F * M);
    ALLOC(w->loc, F * M);
    ALLOC(w->prominence, F);
    ALLOC(w->launched, F * C * M);
    ALLOC(w->revenue, F);
    ALLOC(w->rev_m, F * M);
    ALLOC(w->costs, F);
    ALLOC(w->spend, F);
    ALLOC(w->inflow, F);
    ALLOC(w->outflow, F);
    ALLOC(w->cash0, F);
    ALLOC(w->flow_sum, F);
    ALLOC(w->flow_abs, F);
    ALLOC(w->value, F);
    ALLOC(w->profit, F);
    ALLOC(w->vtmp, F);
    ALLOC(w->weights, F * MS_N_STRATEGIES);
    ALLOC(w->beta, F);
    ALLOC(w->bold, F);
    ALLOC(w->learn, F);
    ALLOC(w->re_q, F * MS_RE_MENU);
    ALLOC(w->re_used, F);
    ALLOC(w->v_prev, F);
    ALLOC(w->growth, F);
    ALLOC(w->neg_steps, F);
    ALLOC(w->loss_steps, F);
    ALLOC(w->birth, F);
    ALLOC(w->divpaid, F);
    ALLOC(w->entry_fund, F);
    ALLOC(w->acq_fund, F);
    ALLOC(w->inv_fund, F);
    ALLOC(w->blocked_target, F);
    ALLOC(w->blocked_until, F);
    /* Each (investor, target) pair holds at most one stake. */
    w->cap_stakes = F * F < F * 64 ? (int)(F * F) : (int)(F * 64);
    ALLOC(w->st_inv, w->cap_stakes);
    ALLOC(w->st_tgt, w->cap_stakes);
    ALLOC(w->st_sigma, w->cap_stakes);
    ALLOC(w->order, F);
    ALLOC(w->gusers, F * M * C);
    ALLOC(w->name_buf, F * MS_NAME_MAX);
    /* Events of one step: a launch per firm, category and market, and a
     * handful more per firm and per (market, category). */
    w->cap_ev = (int)(F * (C * M + 4) + M * C * 16 + 64);
    ALLOC(w->ev, w->cap_ev);
    w->frng = ms_rng_gsl_alloc();
    if (!w->frng)
        return MS_ERROR(MS_ENOMEM, "out of memory allocating a generator");
    w->cap_partners = (int)(F * (F < 64 ? F : 64) + 4);
    ALLOC(w->pa, w->cap_partners);
    ALLOC(w->pb, w->cap_partners);
    ALLOC(w->hhi, M * C);
    ALLOC(w->foreign_share, M * C);
    ALLOC(w->group_revenue, F);
    ALLOC(w->abroad_share, F);
    ALLOC(w->dpairs, F);
    ALLOC(w->net, F);
    ALLOC(w->ctab, M * C);
    for (size_t mc = 0; mc < M * C; mc++) {
        ms_ctab *t = &w->ctab[mc];
        ALLOC(t->fid, F);
        ALLOC(t->E, F);
        ALLOC(t->logE, F);
        ALLOC(t->own, F);
        ALLOC(t->grp, F);
        ALLOC(t->D, F);
        ALLOC(t->slot, F + 2);
        ALLOC(t->xfeat, F + 2);
        ALLOC(t->rv, F + 2);
        ALLOC(t->gsum, F);
        ALLOC(t->gcum, F);
        ALLOC(t->gord, F);
        ALLOC(t->gstart, F + 1);
        ALLOC(t->gpad, 4 * F);
        ALLOC(t->gpstart, F + 1);
    }
    ALLOC(w->tl_delta, w->n_threads);
    ALLOC(w->tl_scratch, w->n_threads);
    ALLOC(w->tl_wait, w->n_threads);
    ALLOC(w->tl_rng, w->n_threads);
    for (int t = 0; t < w->n_threads; t++) {
        ALLOC(w->tl_delta[t], M * C * (F + 1));
        ALLOC(w->tl_scratch[t], 2 * F + 2 + (size_t)MS_CAND_BATCH * F);
        ALLOC(w->tl_wait[t], M * C);
        if (!(w->tl_rng[t] = ms_rng_gsl_alloc()))
            return MS_ERROR(MS_ENOMEM, "out of memory allocating a generator");
    }
    return MS_OK;
}

void ms_world_destroy(ms_world **wp)
{
    if (!wp || !*wp)
        return;
    ms_world *w = *wp;
    if (w->ctab)
        for (int mc = 0; mc < w->M * w->C; mc++) {
            ms_ctab *t = &w->ctab[mc];
            ms_free(t->fid);
            ms_free(t->E);
            ms_free(t->logE);
            ms_free(t->own);
            ms_free(t->grp);
            ms_free(t->D);
            ms_free(t->slot);
            ms_free(t->xfeat);
            ms_free(t->rv);
            ms_free(t->gsum);
            ms_free(t->gcum);
            ms_free(t->gord);
            ms_free(t->gstart);
            ms_free(t->gpad);
            ms_free(t->gpstart);
        }
    ms_rng_gsl_free(w->frng);
    for (int t = 0; t < w->n_threads; t++) {
        if (w->tl_delta)
            ms_free(w->tl_delta[t]);
        if (w->tl_scratch)
            ms_free(w->tl_scratch[t]);
        if (w->tl_wait)
            ms_free(w->tl_wait[t]);
        if (w->tl_rng)
            ms_rng_gsl_free(w->tl_rng[t]);
    }
    void *arrays[] = {
        w->m_off, w->cat_order, w->nuq, w->choice, w->blocks, w->nu_max,
        w->nu_min, w->K, w->adopters, w->tl_rng,
        w->users, w->fname, w->home, w->alive, w->owner, w->cash, w->mu,
        w->quality, w->present, w->loc, w->prominence, w->launched,
        w->revenue, w->rev_m, w->costs, w->spend, w->inflow, w->outflow,
        w->cash0, w->flow_sum, w->flow_abs, w->value, w->pa, w->pb, w->hhi,
        w->foreign_share, w->group_revenue, w->abroad_share, w->dpairs,
        w->net, w->ctab, w->tl_delta, w->tl_scratch, w->tl_wait,
        w->profit, w->vtmp,
        w->weights, w->beta, w->bold, w->learn, w->re_q, w->re_used,
        w->v_prev, w->growth, w->neg_steps, w->loss_steps, w->birth,
        w->divpaid, w->entry_fund, w->acq_fund,
        w->inv_fund, w->blocked_target, w->blocked_until, w->st_inv,
        w->tnode_step, w->tnode_val,
        w->st_tgt, w->st_sigma, w->order, w->gusers, w->name_buf, w->ev};
    for (size_t i = 0; i < sizeof arrays / sizeof arrays[0]; i++)
        ms_free(arrays[i]);
    ms_free(w);
    *wp = NULL;
}

/* nu of consumer i from the GSL adapter r, reset at its position; first
 * (or NULL) the position's first Philox block when the caller has it. */
static float nu_from(const ms_world *w, gsl_rng *r, uint64_t i,
                     const uint32_t *first)
{
    const double s = w->sc->model.sigma_nu;
    ms_rng_gsl_reset_first(r, w->key, ms_consumer_id(w, i),
                           MS_RNG_SETUP_STEP, MS_PH_TRAIT, 0, first);
    double z = gsl_ran_gaussian_ziggurat(r, 1.0);
    return (float)exp(s * z - 0.5 * s * s);
}

float ms_nu_draw(const ms_world *w, gsl_rng *r, uint64_t i)
{
    return nu_from(w, r, i, NULL);
}

float ms_world_nu(const ms_world *w, uint64_t i)
{
    gsl_rng *r = ms_rng_gsl_alloc();
    if (!r)
        return NAN;
    float nu = ms_nu_draw(w, r, i);
    ms_rng_gsl_free(r);
    return nu;
}

/* The bucket edges: edge[k] the float nearest the k/256 quantile of the
 * lognormal, exp(s Phi^-1(k/256) - s^2/2), for k = 1..255, made
 * nondecreasing (they are already, up to how Phi^-1 rounds), edge[0] = 0
 * and edge[256] = +inf: every nu > 0 falls in one bucket. With sigma_nu =
 * 0 the inner edges are all 1 and every consumer is in bucket 255. */
static void nu_edges(ms_world *w)
{
    const double s = w->sc->model.sigma_nu;
    w->nu_edge[0] = 0;
    for (int k = 1; k < MS_NU_BUCKETS; k++) {
        double q = gsl_cdf_ugaussian_Pinv((double)k / MS_NU_BUCKETS);
        float e = (float)exp(s * q - 0.5 * s * s);
        w->nu_edge[k] = e > w->nu_edge[k - 1] ? e : w->nu_edge[k - 1];
    }
    w->nu_edge[MS_NU_BUCKETS] = HUGE_VALF;
}

/* The bucket of nu: the largest k < 256 with edge[k] <= nu, so that
 * edge[k] <= nu < edge[k + 1] whatever rounding did to the edges. A
 * binary search without branches (edge[k] <= nu throughout; the steps add
 * up to 255): the branches of a plain one, taken at random, cost more
 * than drawing nu. */
static unsigned nu_bucket(const ms_world *w, float nu)
{
    unsigned k = 0;
    for (unsigned s = MS_NU_BUCKETS / 2; s > 0; s /= 2)
        k += (unsigned)(w->nu_edge[k + s] <= nu) * s;
    return k;
}

/* Traits: nu lognormal with mean 1, drawn per consumer (ms_nu_draw) and
 * kept as its bucket code; the blocks' smallest and largest nu from the
 * exact floats (phi, exponential with mean 1, is derived when needed:
 * ms_phi). By blocks: a block's floats are drawn, then coded, so the
 * searches of different consumers overlap. */
static void draw_traits(ms_world *w)
{
    nu_edges(w);
#pragma omp parallel for num_threads(w->n_threads) schedule(static)
    for (int64_t b = w->b_lo; b < w->b_hi; b++) {
        gsl_rng *r = w->tl_rng[omp_get_thread_num()];
        /* The block's floats first, then their codes, so the searches
         * of different consumers overlap. The first Philox block of
         * every member's position is drawn 64 at a time, vectorized: the
         * adapter then rarely needs another. */
        enum { CH = 64 };
        uint64_t ids[CH];
        uint32_t first[4 * CH];
        const uint64_t i0 = w->blocks[b].start;
        const uint32_t n = w->blocks[b].n;
        float v[MS_BLOCK];
        for (uint32_t k = 0; k < n; k++) {
            const uint32_t l = k % CH;
            if (l == 0) {
                for (int j = 0; j < CH; j++)
                    ids[j] = ms_consumer_id(w, i0 + k + (uint64_t)j);
                ms_rng_gather(w->key, ids, MS_RNG_SETUP_STEP, MS_PH_TRAIT, 0,
                              CH, first, CH);
            }
            const uint32_t f4[4] = {first[l], first[CH + l], first[2 * CH + l],
                                    first[3 * CH + l]};
            v[k] = nu_from(w, r, i0 + k, f4);
        }
        uint8_t *q = w->nuq + (i0 - w->c_lo);
        float mx = 0, mn = HUGE_VALF;
        for (uint32_t k = 0; k < n; k++) {
            q[k] = (uint8_t)nu_bucket(w, v[k]);
            mx = v[k] > mx ? v[k] : mx;
            mn = v[k] < mn ? v[k] : mn;
        }
        w->nu_max[b] = mx;
        w->nu_min[b] = mn;
    }
    w->nu_top = 0;
    for (int64_t b = w->b_lo; b < w->b_hi; b++)
        w->nu_top = w->nu_max[b] > w->nu_top ? w->nu_max[b] : w->nu_top;
}

/* Exactly `k` of the consumers of market m whose choice in category c is
 * `from` are picked (set to `to`), each subset equally likely (Algorithm
 * S): consumer i is picked with probability need / (pool - seen), from
 * its own uniform, a walk in consumer order. `pool` is the number of such
 * consumers in the market and `seen` the number before this process's
 * slice (the caller knows both). Over ranks the walk is the same one, cut
 * where the slices meet: the number still needed is handed from each rank
 * to the next, and nothing else, so the walks of successive selections
 * overlap: rank r walks selection j + 1 while rank r + 1 walks j. */
static void select_exact(ms_world *w, int m, int c, int64_t k, int64_t pool,
                         int64_t seen, uint32_t phase, uint32_t draw,
                         uint16_t from, uint16_t to)
{
    size_t lo, hi;
    ms_world_local(w, m, &lo, &hi);
    int64_t need = w->ranks > 1 ? ms_par_chain_take(k) : k;
    /* Each consumer's uniform is ms_rng_uniform at (its id, setup, phase,
     * draw); drawn 64 at a time, vectorized. */
    enum { CH = 64 };
    uint64_t ids[CH];
    uint32_t r[4 * CH];
    uint64_t have = lo; /* r holds the uniforms from have - CH */
    for (uint64_t i = lo; i < hi && need > 0; i++) {
        if (ms_choice_get(w, c, i) != from)
            continue;
        if (pool - seen <= need) {
            /* Every one left is picked (probability need / (pool - seen)
             * = 1): no uniform needed. */
            ms_choice_set(w, c, i, to);
            need--;
            seen++;
            continue;
        }
        if (i >= have) {
            for (int l = 0; l < CH; l++)
                ids[l] = ms_consumer_id(w, i + (uint64_t)l);
            ms_rng_gather(w->key, ids, MS_RNG_SETUP_STEP, phase, draw, CH, r,
                          CH);
            have = i + CH;
        }
        const int l = (int)(i - (have - CH));
        double u = ms_u01_52(r[l], r[CH + l]);
        if ((double)(pool - seen) * u < (double)need) {
            ms_choice_set(w, c, i, to);
            need--;
        }
        seen++;
    }
    if (w->ranks > 1)
        ms_par_chain_pass(need);
}

static ms_status init_consumers(ms_world *w)
{
    const ms_scenario *sc = w->sc;
    const int M = w->M, C = w->C, F = w->F;
    draw_traits(w);
    memset(w->choice, 0xFF, ms_choice_bytes(w)); /* MS_NOPOT in either width */
    /* Potential adopters: every consumer is still MS_NOPOT, so the pool is
     * the market and `seen` the consumers before this slice. */
    for (int m = 0; m < M; m++)
        for (int c = 0; c < C; c++) {
            int64_t Nm = w->m_off[m + 1] - w->m_off[m];
            int64_t K = (int64_t)floor(sc->categories[c].ceiling[m] * Nm + 0.5);
            w->K[(size_t)m * C + c] = K;
            size_t lo, hi;
            ms_world_local(w, m, &lo, &hi);
            select_exact(w, m, c, K, Nm, (int64_t)lo - w->m_off[m],
                         MS_PH_POTENTIAL, (uint32_t)c, MS_NOPOT, 0);
        }
    /* The pools of the initial adopters (potential adopters, choice 0) per
     * (market, category), and how many come before this slice: counted
     * once, as no selection below changes another category's zeros. */
    int64_t *pool = w->tl_delta[0], *before = pool + (size_t)M * C;
    for (int m = 0; m < M; m++) {
        size_t lo, hi;
        ms_world_local(w, m, &lo, &hi);
        for (int c = 0; c < C; c++) {
            int64_t n = 0;
            for (size_t i = lo; i < hi; i++)
                n += ms_choice_get(w, c, i) == 0;
            pool[(size_t)m * C + c] = before[(size_t)m * C + c] = n;
        }
    }
    ms_world_sum_i64(w, pool, (size_t)M * C);
    if (w->ranks > 1)
        ms_par_exscan_i64(before, (size_t)M * C);
    else
        memset(before, 0, (size_t)M * C * sizeof *before);
    /* Initial adopters: hosts first, so hosted formats see the host apps. */
    for (int pass = 0; pass < 2; pass++)
        for (int c = 0; c < C; c++) {
            const ms_category_spec *cs = &sc->categories[c];
            if ((cs->host >= 0) != pass)
                continue;
            for (int m = 0; m < M; m++) {
                size_t mc = (size_t)m * C + c;
                int64_t k = (int64_t)floor(cs->initial_adopters[m] *
                                           (double)w->K[mc] + 0.5);
                ms_ctab_build(w, m, c, 0);
                const ms_ctab *t = &w->ctab[mc];
                if (k == 0 || t->K == 0)
                    continue;
                /* Mark the picked consumers with MS_NOPOT - 1 (never a
                 * firm: MS_MAX_FIRMS < 0xFFFE), then let each choose. */
                size_t lo, hi;
                ms_world_local(w, m, &lo, &hi);
                select_exact(w, m, c, k, pool[mc], before[mc], MS_PH_INITIAL,
                             (uint32_t)(2 * c), 0, MS_NOPOT - 1);
                for (uint64_t i = lo; i < hi; i++) {
                    if (ms_choice_get(w, c, i) != MS_NOPOT - 1)
                        continue;
                    int hostslot = -1;
                    if (cs->host >= 0) {
                        unsigned hs = ms_choice_get(w, cs->host, i);
                        if (hs != MS_NOPOT && hs != 0)
                            hostslot = t->slot[hs];
                    }
                    double u = ms_rng_uniform(w->key, ms_consumer_id(w, i),
                                              MS_RNG_SETUP_STEP,
                                              MS_PH_INITIAL,
                                              (uint32_t)(2 * c + 1));
                    int slot = ms_choose_slot(t, t->G > 1 ? ms_phi(w, i) : 0,
                                              -1, hostslot, u,
                                              w->tl_scratch[0]);
                    int f = t->fid[slot];
                    ms_choice_set(w, c, i, (unsigned)f + 1);
                    w->users[mc * F + f]++;
                    w->adopters[mc]++;
                }
            }
        }
    /* Each rank counted its own consumers. (A table built above reads
     * only the counts of its own (market, category), still 0 then.) */
    ms_world_sum_i64(w, w->users, (size_t)M * C * F);
    ms_world_sum_i64(w, w->adopters, (size_t)M * C);
    return MS_OK;
}

static ms_status init_firms(ms_world *w)
{
    const ms_scenario *sc = w->sc;
    const int M = w->M, C = w->C;
    for (int f = 0; f < w->F; f++) {
        w->fname[f] = w->name_buf + (size_t)f * MS_NAME_MAX;
        w->blocked_target[f] = -1;
        w->re_used[f] = -1;
        for (int k = 0; k < MS_RE_MENU; k++)
            w->re_q[(size_t)f * MS_RE_MENU + k] = 1;
    }
    for (int f = 0; f < sc->n_firms; f++) {
        const ms_firm_spec *fs = &sc->firms[f];
        snprintf(w->fname[f], MS_NAME_MAX, "%s", fs->name);
        for (int s = 0; s < MS_N_STRATEGIES; s++)
            w->weights[(size_t)f * MS_N_STRATEGIES + s] = fs->weights[s];
        w->beta[f] = fs->beta;
        w->bold[f] = fs->boldness;
        w->learn[f] = fs->learning;
        w->home[f] = fs->home;
        w->alive[f] = 1;
        w->owner[f] = f;
        w->cash[f] = w->cash0[f] = fs->cash;
        w->mu[f] = fs->monetization;
        w->prominence[f] = fs->prominence;
        for (int c = 0; c < C; c++) {
            w->quality[(size_t)f * C + c] = fs->quality[c];
            for (int m = 0; m < M; m++)
                w->launched[((size_t)f * C + c) * M + m] =
                    fs->launched[c] != 0 && fs->present[m] != 0;
        }
        for (int m = 0; m < M; m++) {
            w->present[(size_t)f * M + m] = fs->present[m];
            w->loc[(size_t)f * M + m] = fs->localization[m];
        }
    }
    for (int f = sc->n_firms; f < w->F; f++) {
        w->owner[f] = f;
        for (int c = 0; c < C; c++)
            w->quality[(size_t)f * C + c] = NAN;
    }
    w->n_firms = sc->n_firms;
    return MS_OK;
}

static ms_status make_blocks(ms_world *w)
{
    int64_t nb = 0;
    for (int m = 0; m < w->M; m++)
        nb += (w->m_off[m + 1] - w->m_off[m] + MS_BLOCK - 1) / MS_BLOCK;
    ALLOC(w->blocks, nb);
    ALLOC(w->nu_max, nb);
    ALLOC(w->nu_min, nb);
    int64_t b = 0;
    for (int m = 0; m < w->M; m++)
        for (uint64_t s = w->m_off[m]; s < w->m_off[m + 1]; s += MS_BLOCK) {
            w->blocks[b].start = s;
            w->blocks[b].n = w->m_off[m + 1] - s < MS_BLOCK
                                 ? (uint32_t)(w->m_off[m + 1] - s)
                                 : MS_BLOCK;
            w->blocks[b].m = m;
            b++;
        }
    w->n_blocks = nb;
    return MS_OK;
}

/* Test hook: MARKETSIM_TEST_ID_OFFSET=K starts consumer ids at K (a
 * multiple of MS_BLOCK, below 2^48) instead of 0, so a test can run
 * consumers whose ids exceed 2^32 without holding 2^32 of them. Ids only
 * name random streams: a run with an offset is a run with other streams,
 * statistically the same (tests/validation/test_ids.c). */
static ms_status id_offset_from_env(uint64_t *id0)
{
    *id0 = 0;
    const char *e = getenv("MARKETSIM_TEST_ID_OFFSET");
    if (!e || !*e)
        return MS_OK;
    char *end;
    errno = 0;
    unsigned long long v = strtoull(e, &end, 0);
    if (errno || *end || *e == '-' || v % MS_BLOCK ||
        v >= MS_RNG_ENTITY_LIMIT)
        return MS_ERROR(MS_EINPUT, "environment: MARKETSIM_TEST_ID_OFFSET="
                        "'%s': expected a multiple of %d below 2^48 (a test "
                        "hook: the id of the first consumer); unset it",
                        e, MS_BLOCK);
    *id0 = (uint64_t)v;
    return MS_OK;
}

/* The blocks and consumers of rank r of R: rank r starts at the first
 * block whose first consumer is at or past r * N / R, so the slices are
 * contiguous, balanced by consumers to within a block, and some are empty
 * when there are more ranks than blocks. */
static int64_t slice_start(const ms_world *w, int r, int R)
{
    if (r >= R)
        return w->n_blocks;
    uint64_t at = (uint64_t)w->N * (uint64_t)r / (uint64_t)R;
    int64_t lo = 0, hi = w->n_blocks;
    while (lo < hi) {
        int64_t mid = lo + (hi - lo) / 2;
        if (w->blocks[mid].start < at)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static size_t block_first(const ms_world *w, int64_t b)
{
    return b < w->n_blocks ? w->blocks[b].start : w->N;
}

void ms_world_slice(const ms_world *w, int r, int R, size_t *lo, size_t *hi)
{
    *lo = block_first(w, slice_start(w, r, R));
    *hi = block_first(w, slice_start(w, r + 1, R));
}

static ms_status alloc_consumers(ms_world *w)
{
    w->b_lo = slice_start(w, w->rank, w->ranks);
    w->b_hi = slice_start(w, w->rank + 1, w->ranks);
    w->c_lo = block_first(w, w->b_lo);
    w->c_hi = block_first(w, w->b_hi);
    size_t n = w->c_hi - w->c_lo;
    ALLOC(w->nuq, n);
    ALLOC(w->choice, (size_t)w->C * n * (size_t)w->cw);
    return MS_OK;
}

void ms_world_sum_i64(const ms_world *w, int64_t *v, size_t n)
{
    if (w->ranks > 1)
        ms_par_sum_i64(v, n);
}

static ms_status create(const ms_scenario *sc, int threads, int rank,
                        int ranks, ms_world *w)
{
    w->sc = sc;
    w->rank = rank;
    w->ranks = ranks;
    w->M = sc->n_markets;
    w->C = sc->n_categories;
    w->F = sc->n_firms + (int)sc->model.max_entrants;
    if (w->F > MS_MAX_FIRMS)
        return MS_ERROR(MS_EINPUT, "%d firms plus model.max_entrants = %lld "
                        "exceed the limit of %d firms; lower "
                        "model.max_entrants", sc->n_firms,
                        (long long)sc->model.max_entrants, MS_MAX_FIRMS);
    w->dt = sc->run.dt;
    w->ppa = sc->run.people_per_agent;
    w->seed = sc->run.seed;
    w->key = ms_rng_key_from_seed(sc->run.seed);
    w->n_threads = threads > 0 ? threads : omp_get_max_threads();
    if (w->n_threads < 1)
        w->n_threads = 1;
    double total = 0;
    for (int m = 0; m < w->M; m++)
        total += floor(sc->markets[m].population / w->ppa + 0.5);
    MS_CALL(id_offset_from_env(&w->id0));
    /* Ids must stay below 2^48 (the counter layout of ms_rng.h). */
    if (!(total <= (double)(MS_RNG_ENTITY_LIMIT - w->id0)))
        return MS_ERROR(MS_EINPUT, "%.0f consumer agents exceed the limit of "
                        "2^48 consumer ids; raise run.people_per_agent",
                        total);
    w->N = (uint64_t)total;
    MS_CALL(alloc_state(w));
    uint64_t off = 0;
    for (int m = 0; m < w->M; m++) {
        w->m_off[m] = off;
        off += (uint64_t)floor(sc->markets[m].population / w->ppa + 0.5);
    }
    w->m_off[w->M] = off;
    MS_CALL(make_blocks(w));
    MS_CALL(alloc_consumers(w));
    int o = 0;
    for (int pass = 0; pass < 2; pass++)
        for (int c = 0; c < w->C; c++)
            if ((sc->categories[c].host < 0) == pass)
                w->cat_order[o++] = c;
    MS_CALL(init_firms(w));
    MS_CALL(init_consumers(w));
    ms_firms_accounts_init(w);
    MS_CALL(ms_observe(w));
    MS_CALL(ms_targets_init(w));
    ms_targets_observe(w);
    return MS_OK;
}

ms_status ms_world_create(const ms_scenario *sc, int threads, ms_world **out)
{
    return ms_world_create_slice(sc, threads, 0, 1, out);
}

ms_status ms_world_create_slice(const ms_scenario *sc, int threads, int rank,
                                int ranks, ms_world **out)
{
    *out = NULL;
    if (ranks < 1 || rank < 0 || rank >= ranks)
        return MS_ERROR(MS_EINTERNAL, "rank %d of %d", rank, ranks);
    ms_world *w = ms_calloc(1, sizeof *w);
    if (!w)
        return MS_ERROR(MS_ENOMEM, "out of memory creating the world");
    ms_status st = create(sc, threads, rank, ranks, w);
    if (st != MS_OK) {
        ms_error_frame(__FILE__, __LINE__, __func__);
        ms_world_destroy(&w);
        return st;
    }
    *out = w;
    return MS_OK;
}

uint64_t ms_world_consumers(const ms_world *w) { return w->N; }

const char *const ms_event_names[MS_EV_COUNT] = {
    "launch", "entry", "exit", "enter_market", "acquisition", "blocked_deal",
    "stake"};

void ms_world_event(ms_world *w, ms_event_kind kind, int actor, int target,
                    int market, int category, double amount)
{
    if (w->n_ev >= w->cap_ev) {
        w->ev_dropped++;
        return;
    }
    ms_event *e = &w->ev[w->n_ev++];
    e->step = w->step;
    e->kind = kind;
    e->actor = actor;
    e->target = target;
    e->market = market;
    e->category = category;
    e->amount = amount;
}
int64_t ms_world_step_count(const ms_world *w) { return w->step; }
