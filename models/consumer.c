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
 *    q A/K) dt;
 *  - an adopter re-evaluates with probability 1 - exp(-chi dt), or at once
 *    if its firm no longer offers the category here;
 *  - a chooser draws a firm from the multinomial logit. Firms that share a
 *    foreignness coefficient share one exp(-phi D) per chooser, so a
 *    choice costs one exp per distinct coefficient, not one per firm.
 *
 * The work is in proportion to events, not to consumers: per block of
 * consumers and category, candidates are drawn with geometric gaps at a
 * bound P on every member's event probability, and a candidate's event is
 * accepted with its own probability over P (thinning; docs/PERFORMANCE.md
 * says why this is exact). Consumers who are not candidates are not read.
 *
 * Uniforms come from Philox at (block, step, phase, category, draw), so
 * the moves of a block do not depend on which thread runs it. Threads
 * count changes of user numbers in private integer arrays, summed
 * afterwards.
 */
#include "core/world_int.h"

#include <float.h>
#include <math.h>
#if defined(__AVX2__)
#include <immintrin.h>
#endif
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

/* Slot of group g holding the point y of [0, gsum[g]): the first entry j
 * with y < gcum[j], else the group's last. gcum never decreases inside a
 * group, so that entry is the group's start plus the number of entries
 * before the last with !(y < gcum): counted without branches, four at a
 * time from gpad (those entries, padded with +inf to a multiple of 4; the
 * count is capped at the entries, so padding never counts). */
static inline int pick_in_group(const ms_ctab *t, int g, double y)
{
    const int j0 = t->gstart[g], end = t->gstart[g + 1] - 1;
    if (end - j0 > 8) {
        /* A large group: the same count by a binary search without
         * branches (gcum never decreases; y is never NaN here, but that
         * case counts every entry, as !(y < gcum) does). */
        const double *a = t->gcum + j0, *p = a;
        size_t len = (size_t)(end - j0);
        while (len > 1) {
            const size_t half = len / 2;
            p = p[half] <= y ? p + half : p;
            len -= half;
        }
        const int cnt = y != y ? end - j0 : (int)(p - a) + (p[0] <= y);
        return t->gord[j0 + cnt];
    }
#if defined(__AVX2__)
    const __m256d yy = _mm256_set1_pd(y);
    int cnt = 0;
    for (int o = t->gpstart[g]; o < t->gpstart[g + 1]; o += 4)
        cnt += __builtin_popcount((unsigned)_mm256_movemask_pd(
            _mm256_cmp_pd(yy, _mm256_loadu_pd(t->gpad + o), _CMP_NLT_UQ)));
    return t->gord[j0 + (cnt < end - j0 ? cnt : end - j0)];
#else
    int j = j0;
    for (int k = j0; k < end; k++)
        j += !(y < t->gcum[k]);
    return t->gord[j];
#endif
}

/* The logit choice by groups, for a chooser whose current firm and host
 * app carry no extra weight (stay * own = 1, host bonus 1). Firms in a
 * group share exp(-phi D_g); relative to the nearest group D_0 a group's
 * weight is gsum[g] exp(-phi (D_g - D_0)) <= gsum[g], so group 0 has
 * probability P0(phi) >= p0min. One uniform uc decides: uc < p0min is
 * group 0 whatever phi (phi is not used); otherwise phi gives P0 and the
 * rest (ex, when given, holds exp(-phi (D_g - D_0)) for g = 1 .. G-1,
 * computed by the caller). The part of uc inside the chosen interval,
 * rescaled, is uniform and picks the firm inside the group, so each firm
 * has exactly its softmax probability. Returns -1 if the weights
 * underflow (the caller falls back to ms_choose_slot). */
static int choose_fast(const ms_ctab *t, double uc, double phi,
                       const double *ex, double *eg)
{
    if (t->G == 1)
        return pick_in_group(t, 0, uc * t->gsum[0]);
    if (uc < t->p0min)
        return pick_in_group(t, 0, uc / t->p0min * t->gsum[0]);
    double tot = t->gsum[0];
    for (int g = 1; g < t->G; g++) {
        eg[g] = t->gsum[g] * (ex ? ex[g - 1] : exp(-phi * (t->D[g] - t->D[0])));
        tot += eg[g];
    }
    if (!(tot >= DBL_MIN) || !isfinite(tot))
        return -1;
    double P0 = t->gsum[0] / tot;
    if (uc < P0)
        return pick_in_group(t, 0, (uc - t->p0min) / (P0 - t->p0min) *
                                       t->gsum[0]);
    double x = (uc - P0) / (1 - P0) * (tot - t->gsum[0]), acc = 0;
    int g = 1;
    for (; g < t->G - 1; g++) {
        if (x < acc + eg[g])
            break;
        acc += eg[g];
    }
    double y = (x - acc) / eg[g] * t->gsum[g];
    if (!(y >= 0))
        y = 0;
    return pick_in_group(t, g, y);
}

/* The bound P on the event probability of every consumer of block b in
 * category c this step (MODEL.md section 2, step 2):
 *   non-adopter: 1 - exp(-h_i) <= 1 - exp(-(nu_max pdt + qterm + xfeat_max))
 *   adopter:     rv[s] <= rv_max (2, always, once its firm left: P = 1)
 * Floating-point rounding is monotone, so h_i computed as in move_block
 * never exceeds the bound's h computed the same way from the block's
 * largest nu. */
double ms_block_bound(const ms_world *w, const ms_ctab *t, int64_t b)
{
    double P = t->rv_max;
    if (t->K > 0) {
        double h = (double)w->nu_max[b] * t->pdt + t->qterm + t->xfeat_max;
        /* 1 - exp(-h) <= h, also as rounded: when h <= P, P stays. */
        if (h > P) {
            double pa = -expm1(-h);
            if (pa > P)
                P = pa;
        }
    }
    return P < 1 ? P : 1;
}

enum { LANES = MS_CAND_BATCH };

/* A candidate's stored choice value, as an index of the table's per-value
 * arrays: 0, f + 1, or F + 1 for MS_NOPOT (rv[F + 1] = -1: never an
 * event). */
static inline __attribute__((always_inline)) unsigned
state_at(const uint8_t *ch, size_t k, int one_byte, unsigned nopot)
{
    if (one_byte) {
        unsigned v = ch[k];
        return v == 0xFFu ? nopot : v;
    }
    uint16_t v;
    memcpy(&v, ch + 2 * (size_t)k, 2);
    return v == MS_NOPOT ? nopot : v;
}

static inline __attribute__((always_inline)) void
state_put(uint8_t *ch, size_t k, unsigned v, int one_byte)
{
    if (one_byte) {
        ch[k] = (uint8_t)v;
        return;
    }
    uint16_t v16 = (uint16_t)v;
    memcpy(ch + 2 * (size_t)k, &v16, 2);
}

/* c ? a : b, without a branch (compilers tend to branch on a double
 * ternary; this one depends on random data). */
static inline double select_double(int c, double a, double b)
{
    uint64_t x, y, mask = (uint64_t)0 - (uint64_t)(c != 0);
    memcpy(&x, &a, sizeof x);
    memcpy(&y, &b, sizeof y);
    x = (x & mask) | (y & ~mask);
    double r;
    memcpy(&r, &x, sizeof r);
    return r;
}

/* The general choice of one chooser (any weights), as ms_choose_slot:
 * its current firm and host app may carry extra weight. */
static inline unsigned choose_general(const ms_ctab *t, double phi,
                                      unsigned s, unsigned hs, double uc,
                                      double *scratch)
{
    if (t->K == 0)
        return 0;
    int cur = s ? t->slot[s] : -1; /* -1: firm gone from c here */
    int hostslot = hs ? t->slot[hs] : -1;
    int k = ms_choose_slot(t, t->G > 1 ? phi : 0, cur, hostslot, uc, scratch);
    return (unsigned)t->fid[k] + 1;
}

/* Whether chooser (s, hs) has no extra weight, so the choice by groups
 * applies: stay * own = 1 for its current firm, host bonus 1 for its host
 * app. */
static inline int plain_chooser(const ms_ctab *t, unsigned s, unsigned hs)
{
    int cur = s ? t->slot[s] : -1, hostslot = hs ? t->slot[hs] : -1;
    return (cur < 0 || t->stay * t->own[cur] == 1.0) &&
           (hostslot < 0 || t->host_bonus == 1.0);
}

enum { WAITS = MS_PHI_WAITS };

/* The choices of the waiting choosers of table t (ch: the choice values
 * of its category, from this process's first consumer; row: its count
 * changes), then the list is empty: their phi uniforms (ms_phi) drawn
 * together, vectorized, then -log, the group weights and the choice. */
static inline __attribute__((always_inline)) void
choose_waiting(const ms_world *w, const ms_ctab *t, ms_waiting *wl,
               uint8_t *ch, int64_t *restrict row, double *scratch,
               const int one_byte)
{
    const int nw = wl->n;
    wl->n = 0;
    uint32_t pr[4][WAITS];
    double ph[WAITS];
    double *ex = scratch + 2 * w->F + 2; /* [LANES * F] group weights */
    /* A multiple of 8 lanes (the vector width), the last
     * repeated. */
    const int n8 = (nw + 7) & ~7;
    for (int l = nw; l < n8; l++)
        wl->ent[l] = wl->ent[nw - 1];
    ms_rng_gather(w->key, wl->ent, MS_RNG_SETUP_STEP, MS_PH_TRAIT, 1, n8,
                  &pr[0][0], WAITS);
    /* phi = -log(uphi) (ms_phi) and the group weights
     * exp(-phi (D_g - D_0)), g >= 1, of every chooser,
     * vectorized: ex[q * (G - 1) + g - 1]. */
    for (int q = 0; q < n8; q++)
        ph[q] = ms_u01_52(pr[0][q], pr[1][q]);
    ms_rng_log01(ph, ph, n8);
    const int G1 = t->G - 1;
    if (G1 == 1) {
        const double d1 = t->D[1] - t->D[0];
        for (int q = 0; q < n8; q++) {
            ph[q] = -ph[q];
            ex[q] = -ph[q] * d1;
        }
    } else
        for (int q = 0; q < n8; q++) {
            ph[q] = -ph[q];
            for (int g = 1; g <= G1; g++)
                ex[q * G1 + g - 1] = -ph[q] * (t->D[g] - t->D[0]);
        }
    ms_rng_expneg(ex, ex, nw * G1);
    if (G1 == 1 && t->plain) {
        /* Two groups, plain weights, uc >= p0min: choose_fast's
         * arithmetic, lane by lane (vectorized), then the picks. */
        const double g0 = t->gsum[0], g1 = t->gsum[1], p0min = t->p0min;
        double yv[WAITS];
        int gv[WAITS], bad = 0;
        for (int q = 0; q < nw; q++) {
            const double uc = wl->uc[q], e1 = g1 * ex[q], tot = g0 + e1;
            const double P0 = g0 / tot;
            const double y0 = (uc - p0min) / (P0 - p0min) * g0;
            const double x = (uc - P0) / (1 - P0) * (tot - g0);
            double y1 = (x - 0.0) / e1 * g1;
            y1 = y1 >= 0 ? y1 : 0;
            const int g = !(uc < P0);
            yv[q] = g ? y1 : y0;
            gv[q] = g;
            bad |= !(tot >= DBL_MIN) || !(tot <= DBL_MAX);
        }
        if (!bad) {
            for (int q = 0; q < nw; q++) {
                const unsigned s = wl->s[q];
                const unsigned nv =
                    (unsigned)t->fid[pick_in_group(t, gv[q], yv[q])] + 1;
                state_put(ch, wl->off[q], nv, one_byte);
                row[s]--;
                row[nv]++;
            }
            return;
        }
    }
    for (int q = 0; q < nw; q++) {
        const unsigned s = wl->s[q], hs = wl->hs[q];
        int k2 = t->plain || plain_chooser(t, s, hs)
                     ? choose_fast(t, wl->uc[q], ph[q], ex + q * G1,
                                   scratch)
                     : -1;
        unsigned nv = k2 >= 0 ? (unsigned)t->fid[k2] + 1
                              : choose_general(t, ph[q], s, hs,
                                               wl->uc[q], scratch);
        state_put(ch, wl->off[q], nv, one_byte);
        row[s]--;
        row[nv]++;
    }
}

/* The candidates of block b in category c (one table), in batches of up
 * to LANES draws. Specialized by the width of a choice value and by
 * whether c is hosted (its consumers' host choices are read), so the
 * common case runs without either test. */
static inline __attribute__((always_inline)) void
move_cat(const ms_world *w, int64_t b, int c, const ms_ctab *t,
         int64_t *restrict row, double *scratch, int tid, const int one_byte,
         const int hosted)
{
    const ms_block *bk = &w->blocks[b];
    uint32_t rnd[4][LANES], kk[LANES];
    double lg[LANES];
    /* Events of a batch (structure of arrays), and those waiting for phi. */
    uint32_t ek[LANES], el[LANES];
    unsigned es[LANES], ehs[LANES];
    ms_waiting *wl = &w->tl_wait[tid][(size_t)bk->m * w->C + c];
    const uint64_t i0 = bk->start, bid = ms_block_id(w, b);
    const uint32_t n = bk->n, bw3 = (uint32_t)bid;
    const unsigned nopot = (unsigned)w->F + 1;
    const double P = ms_block_bound(w, t, b);
    if (!(P > 0))
        return;
    /* The bounds of the non-adopters' hazard over the block (MODEL.md
     * section 2, step 2). With h_i = nu_i pdt + qterm + x_i, h_lo <= h_i
     * <= h_hi for every member (rounding is monotone), so a non-adopter's
     * uniform v decides without reading nu_i when v >= h_hi (no event: the
     * first test of ms_hazard_event) or v < sure = h_lo - h_lo^2/2 (an
     * event: below 1 - exp(-h_lo) <= 1 - exp(-h_i)). */
    double sure = 0, h_hi = 0;
    if (t->K > 0) {
        double lo = (double)w->nu_min[b] * t->pdt + t->qterm;
        h_hi = (double)w->nu_max[b] * t->pdt + t->qterm + t->xfeat_max;
        sure = lo - 0.5 * lo * lo;
    }
    uint8_t *ch = ms_choice_at(w, c, i0);
    const uint8_t *hch = hosted ? ms_choice_at(w, t->host, i0) : NULL;
    const int plain = t->plain, G = t->G, K = t->K;
    /* 1 / log(1 - P) < 0; with P = 1 every consumer is a candidate. */
    const double inv = P == t->rv_max ? t->rv_inv
                       : P < 1        ? 1.0 / log1p(-P)
                                      : 0.0;
    uint32_t pos = 0, j = 0;
    int nb = LANES; /* draws in this batch: 8 when few candidates remain */
    uint8_t *chb = ms_choice_at(w, c, w->c_lo); /* for the waiting list */
    const size_t off0 = i0 - w->c_lo;
    /* At most WAITS of them, and their group weights must fit the
     * scratch's LANES * F (G - 1 each). */
    int wcap = G > 1 ? LANES * w->F / (G - 1) : WAITS;
    wcap = wcap < WAITS ? wcap & ~7 : WAITS;
    for (;;) {
        ms_rng_lanes4(w->key, ms_rng_event_w0(j, bid), (uint32_t)w->step,
                      MS_PH_EVENT, (uint32_t)c, bw3, nb, &rnd[0][0], LANES);
        ms_rng_log_u01(rnd[0], lg, nb);
        for (int l = 0; l < nb; l++) /* the gaps, vectorized */
            lg[l] = floor(lg[l] * inv);
        int nl = 0;
        for (; nl < nb; nl++) {
            const double g = lg[nl];
            if (!(g < (double)(n - pos)))
                break;
            uint32_t k = pos + (uint32_t)g;
            pos = k + 1;
            kk[nl] = k;
            /* The candidate's state is read below: start the loads. */
            __builtin_prefetch(ch + (size_t)k * (one_byte ? 1 : 2), 1);
            if (hosted)
                __builtin_prefetch(hch + (size_t)k * (one_byte ? 1 : 2));
            ms_nu_prefetch(w, i0 + k);
        }
        /* Events: an adopter when v < rv[s], a non-adopter when its
         * hazard test says so, nobody outside the ceiling (rv[F + 1] =
         * -1). The block's bounds settle most non-adopters; the others
         * (open) are listed and decided by their nu codes after the
         * batch, without a branch here (the order of a batch's events
         * changes nothing). */
        int ne = 0, no = 0;
        uint32_t open[LANES];
        for (int l = 0; l < nl; l++) {
            const uint32_t k = kk[l];
            const unsigned s = state_at(ch, k, one_byte, nopot);
            unsigned hs = 0; /* choice value in the host (still old) */
            if (hosted) {
                hs = state_at(hch, k, one_byte, nopot);
                hs = hs == nopot ? 0 : hs;
            }
            const double v = ms_u01(rnd[1][l]) * P;
            const double thr = select_double(s == 0, sure, t->rv[s]);
            const int e = v < thr;
            const int op = (s == 0) & !e & (v < h_hi);
            ek[ne] = k;
            el[ne] = (uint32_t)l;
            es[ne] = s;
            ehs[ne] = hs;
            ne += e;
            open[no] = (uint32_t)l;
            no += op;
        }
        for (int o = 0; o < no; o++) {
            const int l = (int)open[o];
            const uint32_t k = kk[l];
            unsigned hs = 0;
            if (hosted) {
                hs = state_at(hch, k, one_byte, nopot);
                hs = hs == nopot ? 0 : hs;
            }
            const double v = ms_u01(rnd[1][l]) * P;
            ek[ne] = k;
            el[ne] = (uint32_t)l;
            es[ne] = 0;
            ehs[ne] = hs;
            ne += ms_nonadopter_event(w, tid, i0 + k, v, t->pdt, t->qterm,
                                      t->xfeat[hs]);
        }
        /* Choices without phi: one foreignness coefficient, or settled in
         * the nearest group (uc < p0min); the others wait for phi. */
        if (plain && K > 0) {
            /* Every chooser is put on the waiting list, and taken off
             * again (overwritten) when its choice needs no phi. With one
             * group p0min = gsum[0] / gsum[0] = 1, so uc / p0min *
             * gsum[0] = uc * gsum[0] and nobody waits. */
            const double p0min = t->p0min, g0 = t->gsum[0];
            for (int q = 0; q < ne; q++) {
                const uint32_t k = ek[q];
                const int l = (int)el[q];
                const unsigned s = es[q];
                const double uc = ms_u01_52(rnd[2][l], rnd[3][l]);
                const int now = uc < p0min;
                if (now) {
                    const int k2 = pick_in_group(t, 0, uc / p0min * g0);
                    const unsigned nv = (unsigned)t->fid[k2] + 1;
                    state_put(ch, k, nv, one_byte);
                    row[s]--;
                    row[nv]++;
                }
                const int nw = wl->n;
                wl->ent[nw] = ms_consumer_id(w, i0 + k);
                wl->off[nw] = off0 + k;
                wl->s[nw] = s;
                wl->hs[nw] = hosted ? ehs[q] : 0;
                wl->uc[nw] = uc;
                wl->n = nw + !now;
            }
        } else
            for (int q = 0; q < ne; q++) {
                const uint32_t k = ek[q];
                const int l = (int)el[q];
                const unsigned s = es[q], hs = hosted ? ehs[q] : 0;
                const double uc = ms_u01_52(rnd[2][l], rnd[3][l]);
                unsigned nv;
                const int fast = plain_chooser(t, s, hs);
                if (K == 0)
                    nv = 0;
                else if (fast && G == 1)
                    nv = (unsigned)t->fid[pick_in_group(t, 0,
                                                        uc * t->gsum[0])] + 1;
                else if (fast && uc < t->p0min)
                    nv = (unsigned)t->fid[pick_in_group(
                             t, 0, uc / t->p0min * t->gsum[0])] + 1;
                else if (G == 1)
                    nv = choose_general(t, 0.0, s, hs, uc, scratch);
                else {
                    const int nw = wl->n++;
                    wl->ent[nw] = ms_consumer_id(w, i0 + k);
                    wl->off[nw] = off0 + k;
                    wl->s[nw] = s;
                    wl->hs[nw] = hs;
                    wl->uc[nw] = uc;
                    continue;
                }
                state_put(ch, k, nv, one_byte);
                row[s]--;
                row[nv]++;
            }
        /* The choosers waiting for phi go in groups of up to WAITS,
         * gathered over this thread's blocks: fuller vectors, fewer
         * calls (the rest after the last block). */
        if (wl->n > wcap - LANES)
            choose_waiting(w, t, wl, chb, row, scratch, one_byte);
        if (nl < nb || pos >= n)
            break;
        j += (uint32_t)nb;
        nb = (double)(n - pos) * P < 6 ? 8 : LANES;
    }
}

/* One block of consumers of market m. Categories are visited hosted ones
 * first, so a hosted format still sees the host choices of the start of
 * the step (hosts are never hosted themselves).
 *
 * Per category the block's candidates are drawn directly: each consumer is
 * a candidate independently with probability P (ms_block_bound), so the
 * gaps between candidates are geometric, floor(log u / log(1 - P))
 * (ms_rng_log_u01: log to 1 ulp). A candidate's event happens with
 * probability p_i / P (its acceptance uniform v, uniform on (0, P), below
 * p_i), so every consumer's event has probability exactly p_i, and the
 * consumers that are not candidates are never touched. Draw j of the block
 * (gap before candidate j, its acceptance uniform, its 52-bit choice
 * uniform) is the Philox block at
 * {j | (b >> 32) << 16, step, MS_PH_EVENT << 24 | c, b mod 2^32}, b the
 * block's id (ms_block_id; ms_rng.h): a function of the block, not of the
 * thread that runs it.
 *
 * Candidates go in batches of LANES through three stages: the events
 * (acceptance), the choices that need no phi (one foreignness coefficient,
 * or a choice settled in the nearest group), then the rest, whose phi
 * uniforms (ms_phi) are drawn together, vectorized. Each consumer is a
 * candidate at most once per category and step and changes only its own
 * state, so the stages give what one pass would. */
static void move_block(const ms_world *w, int64_t b, int64_t *restrict dl,
                       double *scratch, int tid)
{
    const int C = w->C, m = w->blocks[b].m;
    const ms_ctab *tabs = &w->ctab[(size_t)m * C];
    for (int oi = 0; oi < C; oi++) {
        const int c = w->cat_order[oi];
        const ms_ctab *t = &tabs[c];
        int64_t *row = dl + ((size_t)m * C + c) * (w->F + 1);
        if (w->cw == 1) {
            if (t->host >= 0)
                move_cat(w, b, c, t, row, scratch, tid, 1, 1);
            else
                move_cat(w, b, c, t, row, scratch, tid, 1, 0);
        } else {
            if (t->host >= 0)
                move_cat(w, b, c, t, row, scratch, tid, 0, 1);
            else
                move_cat(w, b, c, t, row, scratch, tid, 0, 0);
        }
    }
}

ms_status ms_consumers_move(ms_world *w)
{
    const int M = w->M, C = w->C, F = w->F;
    const size_t rows = (size_t)M * C * (F + 1);
    /* The bounds of each table, after the firm phase has set its
     * re-evaluation chances (deal churn). */
    for (size_t mc = 0; mc < (size_t)M * C; mc++) {
        ms_ctab *t = &w->ctab[mc];
        t->rv_max = 0;
        t->xfeat_max = 0;
        /* Groups of equal foreignness: their sums and cumulative weights. */
        int j = 0;
        double all = 0;
        for (int g = 0; g < t->G; g++) {
            t->gstart[g] = j;
            double acc = 0;
            for (int k = 0; k < t->K; k++)
                if (t->grp[k] == g) {
                    acc += t->E[k];
                    t->gcum[j] = acc;
                    t->gord[j++] = k;
                }
            t->gsum[g] = acc;
            all += acc;
        }
        t->gstart[t->G] = j;
        /* For pick_in_group: the entries of each group but its last,
         * padded with +inf to a multiple of 4. */
        int o = 0;
        for (int g = 0; g < t->G; g++) {
            t->gpstart[g] = o;
            const int a = t->gstart[g], e = t->gstart[g + 1] - 1;
            for (int k = a; k < e; k++)
                t->gpad[o++] = t->gcum[k];
            while (o & 3)
                t->gpad[o++] = HUGE_VAL;
        }
        t->gpstart[t->G] = o;
        t->p0min = t->G > 0 && all > 0 ? t->gsum[0] / all : 0;
        /* No chooser carries extra weight: no switching cost, no failing
         * experiment, no host bonus (or no host). */
        t->plain = t->stay == 1.0 && (t->host < 0 || t->host_bonus == 1.0);
        for (int k = 0; k < t->K; k++)
            t->plain &= t->own[k] == 1.0;
        for (int s = 1; s <= F; s++) {
            /* Only states some consumer holds: the firms with users. */
            if (w->users[mc * F + s - 1] > 0 && t->rv[s] > t->rv_max)
                t->rv_max = t->rv[s];
            if (t->xfeat[s] > t->xfeat_max)
                t->xfeat_max = t->xfeat[s];
        }
        t->rv_inv = t->rv_max < 1 ? 1.0 / log1p(-t->rv_max) : 0.0;
    }
#pragma omp parallel num_threads(w->n_threads)
    {
        int tid = omp_get_thread_num();
        int64_t *dl = w->tl_delta[tid];
        memset(dl, 0, rows * sizeof *dl);
#pragma omp for schedule(dynamic, 16) nowait
        for (int64_t b = w->b_lo; b < w->b_hi; b++) /* this rank's blocks */
            move_block(w, b, dl, w->tl_scratch[tid], tid);
        /* The choosers still waiting for phi: only this thread's
         * consumers and counts. */
        for (size_t mc = 0; mc < (size_t)M * C; mc++) {
            ms_waiting *wl = &w->tl_wait[tid][mc];
            if (wl->n == 0)
                continue;
            uint8_t *chb = ms_choice_at(w, (int)(mc % (size_t)C), w->c_lo);
            int64_t *row = dl + mc * (size_t)(F + 1);
            if (w->cw == 1)
                choose_waiting(w, &w->ctab[mc], wl, chb, row,
                               w->tl_scratch[tid], 1);
            else
                choose_waiting(w, &w->ctab[mc], wl, chb, row,
                               w->tl_scratch[tid], 0);
        }
    }
    /* Integer sums: the same in any order, over threads and then over
     * the ranks of a distributed run (M * C * (F + 1) integers). */
    int64_t *sum = w->tl_delta[0];
    for (int t = 1; t < w->n_threads; t++) {
        const int64_t *dl = w->tl_delta[t];
        for (size_t j = 0; j < rows; j++)
            sum[j] += dl[j];
    }
    ms_world_sum_i64(w, sum, rows);
    for (size_t mc = 0; mc < (size_t)M * C; mc++) {
        const int64_t *row = sum + mc * (F + 1);
        w->adopters[mc] -= row[0];
        for (int f = 0; f < F; f++)
            w->users[mc * F + f] += row[f + 1];
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
