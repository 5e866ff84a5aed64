/*
 * consumer.c: consumers adopt categories and choose firms (MODEL.md
 * section 2, step 2). This is the hot path of the simulator.
 *
 * Per step and (market, category) a choice table is built once from the
 * state at the start of the step: which firms offer the category, their
 * weight exp(quality + gamma * network share), their foreignness
 * coefficient lambda * CD * (1 - L) and the featuring hazard of each host
 * app. A consumer then needs only its own traits and its current firms:
 *
 *  - a non-adopter adopts with probability 1 - exp(-h), h = (nu p + x +
 *    q A/K) dt, tested against one uniform with the bounds in
 *    ms_hazard_event, so exp is almost never evaluated;
 *  - an adopter re-evaluates with probability 1 - exp(-chi dt), or at once
 *    if its firm no longer offers the category here;
 *  - a chooser draws a firm from the multinomial logit. Firms that share a
 *    foreignness coefficient share one exp(-phi D) per chooser, so a
 *    choice costs one exp per distinct coefficient, not one per firm.
 *
 * Uniforms come from Philox at (consumer, step, phase, draw), so a
 * consumer's moves do not depend on which thread runs it. Threads count
 * changes of user numbers in private integer arrays, summed afterwards.
 */
#include "core/world_int.h"

#include <float.h>
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

int ms_firm_offers(const ms_world *w, int f, int c, int m)
{
    return w->alive[f] && w->present[(size_t)f * w->M + m] != 0 &&
           !isnan(w->quality[(size_t)f * w->C + c]);
}

static int cmp_dpair(const void *a, const void *b)
{
    const struct ms_dpair *x = a, *y = b;
    if (x->d < y->d) return -1;
    if (x->d > y->d) return 1;
    return (x->k > y->k) - (x->k < y->k);
}

void ms_ctab_build(ms_world *w, int m, int c, int with_network)
{
    const ms_scenario *sc = w->sc;
    const ms_category_spec *cs = &sc->categories[c];
    const int M = w->M, C = w->C, F = w->F;
    const size_t mc = (size_t)m * C + c;
    ms_ctab *t = &w->ctab[mc];
    const int64_t A = w->adopters[mc], K = w->K[mc];
    const int64_t *n = &w->users[mc * F];

    t->host = cs->host;
    t->pdt = cs->p * w->dt;
    t->qterm = K > 0 ? cs->q * (double)A / (double)K * w->dt : 0;
    t->reeval = -expm1(-cs->churn * w->dt);
    t->stay = exp(cs->switching_cost);
    t->host_bonus = exp(sc->model.eta);

    /* Network users: own plus iota times each partner's. */
    for (int f = 0; f < w->n_firms; f++)
        w->net[f] = (double)n[f];
    for (int e = 0; e < w->n_partners; e++) {
        w->net[w->pa[e]] += sc->model.iota * (double)n[w->pb[e]];
        w->net[w->pb[e]] += sc->model.iota * (double)n[w->pa[e]];
    }

    for (int s = 0; s < F + 2; s++)
        t->slot[s] = -1;
    int Kf = 0;
    double bmax = -HUGE_VAL;
    for (int f = 0; f < w->n_firms; f++) {
        if (!ms_firm_offers(w, f, c, m))
            continue;
        int k = Kf++;
        t->fid[k] = (uint16_t)f;
        t->slot[f + 1] = k;
        double S = with_network && A > 0 ? w->net[f] / (double)A : 0;
        /* Clutter: each format the firm features in its app here costs
         * the app rho * prominence of quality. */
        int featured = 0;
        for (int c2 = 0; c2 < C; c2++)
            featured += sc->categories[c2].host == c &&
                        w->launched[((size_t)f * C + c2) * M + m];
        double b = w->quality[(size_t)f * C + c] + cs->gamma * S -
                   sc->model.rho * w->prominence[f] * featured;
        t->logE[k] = b;
        t->own[k] = 1;
        if (b > bmax)
            bmax = b;
        w->dpairs[k].d = sc->model.lambda * sc->cd[w->home[f] * M + m] *
                         (1 - w->loc[(size_t)f * M + m]);
        w->dpairs[k].k = k;
    }
    t->K = Kf;
    /* Re-evaluation by choice value; users whose firm no longer offers c
     * here must re-choose (2: always). Entries 0 and F+1 (no firm, and
     * MS_NOPOT clamped) are never used for adopters. */
    t->rv_uniform = 1;
    t->rv[0] = t->rv[F + 1] = -1;
    for (int f = 0; f < F; f++) {
        t->rv[f + 1] = t->slot[f + 1] >= 0 ? t->reeval : 2.0;
        if (f < w->n_firms && n[f] > 0 && t->slot[f + 1] < 0)
            t->rv_uniform = 0;
    }
    for (int k = 0; k < Kf; k++) {
        t->logE[k] -= bmax;
        t->E[k] = exp(t->logE[k]);
    }
    /* Group equal foreignness coefficients (sorted, so D[0] is the least). */
    qsort(w->dpairs, (size_t)Kf, sizeof *w->dpairs, cmp_dpair);
    int G = 0;
    for (int i = 0; i < Kf; i++) {
        if (G == 0 || w->dpairs[i].d != t->D[G - 1])
            t->D[G++] = w->dpairs[i].d;
        t->grp[w->dpairs[i].k] = G - 1;
    }
    t->G = G;

    /* Featuring: users of host app j get x = pi_j * p_feature if j has
     * launched c here. Indexed by the choice value held in the host. */
    for (int s = 0; s < F + 2; s++)
        t->xfeat[s] = 0;
    t->feat_any = 0;
    if (cs->host >= 0 && cs->p_feature > 0)
        for (int f = 0; f < w->n_firms; f++)
            if (w->launched[((size_t)f * C + c) * M + m] &&
                ms_firm_offers(w, f, c, m)) {
                t->xfeat[f + 1] = w->prominence[f] * cs->p_feature * w->dt;
                t->feat_any |= t->xfeat[f + 1] > 0;
            }
}

/* Rare path: all weights underflowed; redo the choice in log space. */
static int choose_logspace(const ms_ctab *t, double phi, int cur,
                           int hostslot, double u, double *v)
{
    double vmax = -HUGE_VAL;
    for (int k = 0; k < t->K; k++) {
        v[k] = t->logE[k] - phi * t->D[t->grp[k]] +
               (k == cur ? log(t->stay * t->own[k]) : 0) +
               (k == hostslot ? log(t->host_bonus) : 0);
        if (v[k] > vmax)
            vmax = v[k];
    }
    double tot = 0;
    for (int k = 0; k < t->K; k++) {
        tot += exp(v[k] - vmax);
        v[k] = tot;
    }
    double x = u * tot;
    for (int k = 0; k < t->K; k++)
        if (x < v[k])
            return k;
    return t->K - 1;
}

int ms_choose_slot(const ms_ctab *t, double phi, int cur, int hostslot,
                   double u, double *scratch)
{
    double *eg = scratch, *cw = scratch + t->K;
    /* Relative to the smallest coefficient D[0]: the common factor
     * exp(-phi D[0]) cancels, and the nearest group keeps weight 1. */
    for (int g = 0; g < t->G; g++)
        eg[g] = g == 0 ? 1.0 : exp(-phi * (t->D[g] - t->D[0]));
    double tot = 0;
    for (int k = 0; k < t->K; k++) {
        double wk = t->E[k] * eg[t->grp[k]];
        if (k == cur)
            wk *= t->stay * t->own[k];
        if (k == hostslot)
            wk *= t->host_bonus;
        tot += wk;
        cw[k] = tot;
    }
    if (!(tot >= DBL_MIN) || !isfinite(tot)) /* underflow, even subnormal */
        return choose_logspace(t, phi, cur, hostslot, u, cw);
    double x = u * tot;
    for (int k = 0; k < t->K; k++)
        if (x < cw[k])
            return k;
    return t->K - 1;
}

/* Pass 1 over a block for category c: flag the consumers for whom
 * something may happen this step. Branch-free, so it vectorizes and does
 * not suffer the mispredictions of a random 50/50 adopter mix. A flag is a
 * necessary condition only; pass 2 decides exactly:
 *   non-adopter: u < h (since 1 - exp(-h) <= h)
 *   adopter:     u < rv: 1 - exp(-chi dt), more for users of a firm just
 *                acquired, always when the firm no longer offers c here
 *   cannot adopt (MS_NOPOT): never */
static void flag_block(const ms_world *w, const ms_ctab *t, const uint16_t *ch,
                       const uint16_t *hostch, const float *nu,
                       const uint32_t *rw, uint32_t n, uint8_t *restrict cand)
{
    const double pdt = t->pdt, base = t->qterm, re = t->reeval;
    const unsigned F1 = (unsigned)w->F + 1;
    if (!t->feat_any && t->rv_uniform) {
        for (uint32_t k = 0; k < n; k++) {
            unsigned s = ch[k];
            double u = ((double)rw[k] + 0.5) * 0x1p-32;
            double h = (double)nu[k] * pdt + base;
            double thr = s == 0 ? h : (s == MS_NOPOT ? -1.0 : re);
            cand[k] = u < thr;
        }
        return;
    }
    for (uint32_t k = 0; k < n; k++) {
        unsigned s = ch[k];
        unsigned hs = hostch ? hostch[k] : 0;
        hs = hs < F1 ? hs : F1;   /* MS_NOPOT -> F+1, whose entries are 0/-1 */
        unsigned sc = s < F1 ? s : F1; /* MS_NOPOT -> F+1: rv is -1 */
        double u = ((double)rw[k] + 0.5) * 0x1p-32;
        double h = (double)nu[k] * pdt + base + t->xfeat[hs];
        double thr = s == 0 ? h : t->rv[sc];
        cand[k] = u < thr;
    }
}

/* Pass 2: the exact decision and the choice for one flagged consumer. */
static void move_one(const ms_world *w, const ms_ctab *t, int m, int c,
                     uint32_t i, double u, int64_t *restrict dl,
                     double *scratch)
{
    const uint32_t N = w->N;
    uint16_t *slotp = &w->choice[(size_t)c * N + i];
    const unsigned s = *slotp;
    unsigned hs = 0; /* choice value in the host category (still old) */
    if (t->host >= 0) {
        hs = w->choice[(size_t)t->host * N + i];
        if (hs == MS_NOPOT)
            hs = 0;
    }
    int cur = -1;
    if (s == 0) {
        if (t->K == 0)
            return;
        double h = (double)w->nu[i] * t->pdt + t->qterm + t->xfeat[hs];
        if (!ms_hazard_event(u, h))
            return;
    } else {
        cur = t->slot[s]; /* -1 when the firm no longer offers c here */
        if (!(u < t->rv[s]))
            return;
    }
    unsigned nv = 0;
    if (t->K > 0) {
        uint32_t ctr[4] = {i, (uint32_t)w->step,
                           ((uint32_t)MS_PH_CHOICE << 24) | (uint32_t)c, 0};
        uint32_t r[4];
        ms_rng_block(w->key, ctr, r);
        int hostslot = hs ? t->slot[hs] : -1;
        int k2 = ms_choose_slot(t, (double)w->phi[i], cur, hostslot,
                                ms_u01_52(r[0], r[1]), scratch);
        nv = (unsigned)t->fid[k2] + 1;
    }
    if (nv != s) {
        int64_t *row = dl + ((size_t)m * w->C + c) * (w->F + 1);
        *slotp = (uint16_t)nv;
        row[s]--;
        row[nv]++;
    }
}

/* One block of consumers of market m. Categories are visited hosted ones
 * first, so a hosted format still sees the host choices of the start of
 * the step (hosts are never hosted themselves). */
static void move_block(const ms_world *w, const ms_block *bk,
                       int64_t *restrict dl, double *scratch)
{
    enum { D = (MS_MAX_CATEGORIES + 3) / 4 };
    uint32_t rnd[D][4][MS_BLOCK];
    uint8_t cand[MS_BLOCK + 8];
    const int C = w->C, m = bk->m;
    const uint32_t N = w->N, i0 = bk->start, n = bk->n;
    const int ndraw = (C + 3) / 4;
    for (int d = 0; d < ndraw; d++)
        ms_rng_lanes(w->key, i0, (uint32_t)w->step, MS_PH_EVENT, (uint32_t)d,
                     (int)n, &rnd[d][0][0], MS_BLOCK);
    const ms_ctab *tabs = &w->ctab[(size_t)m * C];
    for (int oi = 0; oi < C; oi++) {
        const int c = w->cat_order[oi];
        const ms_ctab *t = &tabs[c];
        const uint32_t *rw = rnd[c >> 2][c & 3];
        const uint16_t *hostch =
            t->host >= 0 ? w->choice + (size_t)t->host * N + i0 : NULL;
        flag_block(w, t, w->choice + (size_t)c * N + i0, hostch, w->nu + i0,
                   rw, n, cand);
        memset(cand + n, 0, 8);
        /* Flags are rare: skip eight zero bytes at a time. */
        for (uint32_t k = 0; k < n; k += 8) {
            uint64_t word;
            memcpy(&word, cand + k, 8);
            if (!word)
                continue;
            for (uint32_t j = k; j < k + 8 && j < n; j++)
                if (cand[j])
                    move_one(w, t, m, c, i0 + j,
                             ((double)rw[j] + 0.5) * 0x1p-32, dl, scratch);
        }
    }
}

ms_status ms_consumers_move(ms_world *w)
{
    const int M = w->M, C = w->C, F = w->F;
    const size_t rows = (size_t)M * C * (F + 1);
#pragma omp parallel num_threads(w->n_threads)
    {
        int tid = omp_get_thread_num();
        int64_t *dl = w->tl_delta[tid];
        memset(dl, 0, rows * sizeof *dl);
#pragma omp for schedule(dynamic, 16)
        for (int64_t b = 0; b < w->n_blocks; b++)
            move_block(w, &w->blocks[b], dl, w->tl_scratch[tid]);
    }
    /* Integer sums: the same in any order. */
    for (int t = 0; t < w->n_threads; t++) {
        const int64_t *dl = w->tl_delta[t];
        for (size_t mc = 0; mc < (size_t)M * C; mc++) {
            const int64_t *row = dl + mc * (F + 1);
            w->adopters[mc] -= row[0];
            for (int f = 0; f < F; f++)
                w->users[mc * F + f] += row[f + 1];
        }
    }
    return MS_OK;
}

ms_status ms_view_prepare(ms_world *w)
{
    for (int m = 0; m < w->M; m++)
        for (int c = 0; c < w->C; c++)
            ms_ctab_build(w, m, c, 1);
    return MS_OK;
}
