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
 * before the last with !(y < gcum): counted without branches. */
static int pick_in_group(const ms_ctab *t, int g, double y)
{
    const int j0 = t->gstart[g], end = t->gstart[g + 1] - 1;
    int j = j0;
    for (int k = j0; k < end; k++)
        j += !(y < t->gcum[k]);
    return t->gord[j];
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

/* What a block's candidates of one category share: the bounds of the
 * non-adopters' hazard over the block (MODEL.md section 2, step 2). With
 * h_i = nu_i pdt + qterm + x_i, h_lo <= h_i <= h_hi for every member
 * (rounding is monotone), so a non-adopter's uniform v decides without
 * reading nu_i when v >= h_hi (no event: the first test of
 * ms_hazard_event) or v < h_lo - h_lo^2/2 (event: below 1 - exp(-h_lo) <=
 * 1 - exp(-h_i)). */
typedef struct {
    double h_hi;          /* nu_max pdt + qterm + xfeat_max */
    double sure;          /* h_lo - h_lo^2 / 2, h_lo = nu_min pdt + qterm */
} cand_bounds;

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
        double pa = -expm1(-h);
        if (pa > P)
            P = pa;
    }
    return P < 1 ? P : 1;
}

enum { LANES = MS_CAND_BATCH };

/* A candidate that has its event this step, waiting for its choice. */
typedef struct {
    uint64_t i;           /* state index */
    double uc;            /* choice uniform */
    unsigned s;           /* its choice value at the start of the step */
    int cur, hostslot;    /* slot of its firm and of its host app, or -1 */
    int fast;             /* no extra weight: the choice by groups applies */
} chooser;

/* The new choice value of a chooser: the logit (MODEL.md section 2, step
 * 2), with its phi when its firms differ in foreignness (phi is not read
 * when G == 1 or when the group is settled without phi; ex as in
 * choose_fast). */
static unsigned choose(const ms_ctab *t, const chooser *h, double phi,
                       const double *ex, double *scratch)
{
    if (t->K == 0)
        return 0;
    int k2 = h->fast ? choose_fast(t, h->uc, phi, ex, scratch) : -1;
    if (k2 < 0)
        k2 = ms_choose_slot(t, t->G > 1 ? phi : 0, h->cur, h->hostslot,
                            h->uc, scratch);
    return (unsigned)t->fid[k2] + 1;
}

static inline void apply(const ms_world *w, int c, const chooser *h,
                         unsigned nv, int64_t *restrict row)
{
    if (nv != h->s) {
        ms_choice_set(w, c, h->i, nv);
        row[h->s]--;
        row[nv]++;
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
 * probability p_i / P (its acceptance
 * uniform v, uniform on (0, P), below p_i), so every consumer's event has
 * probability exactly p_i, and the consumers that are not candidates are
 * never touched. Draw j of the block (gap before candidate j, its
 * acceptance uniform, its 52-bit choice uniform) is the Philox block at
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
    const ms_block *bk = &w->blocks[b];
    uint32_t rnd[4][LANES], pr[4][LANES], kk[LANES];
    double lg[LANES], ph[LANES];
    double *ex = scratch + 2 * w->F + 2; /* [LANES * F] group weights */
    uint64_t ent[LANES];
    chooser ev[LANES], wait[LANES];
    const int C = w->C, m = bk->m;
    const uint64_t i0 = bk->start, bid = ms_block_id(w, b);
    const uint32_t n = bk->n, bw3 = (uint32_t)bid;
    const ms_ctab *tabs = &w->ctab[(size_t)m * C];
    for (int oi = 0; oi < C; oi++) {
        const int c = w->cat_order[oi];
        const ms_ctab *t = &tabs[c];
        const double P = ms_block_bound(w, t, b);
        if (!(P > 0))
            continue;
        cand_bounds cb = {0, 0};
        if (t->K > 0) {
            double lo = (double)w->nu_min[b] * t->pdt + t->qterm;
            cb.h_hi = (double)w->nu_max[b] * t->pdt + t->qterm + t->xfeat_max;
            cb.sure = lo - 0.5 * lo * lo;
        }
        int64_t *row = dl + ((size_t)m * C + c) * (w->F + 1);
        const uint8_t *ch = ms_choice_at(w, c, i0);
        const uint8_t *hch = t->host >= 0 ? ms_choice_at(w, t->host, i0) : NULL;
        /* 1 / log(1 - P) < 0; with P = 1 every consumer is a candidate. */
        const double inv = P < 1 ? 1.0 / log1p(-P) : 0.0;
        uint32_t pos = 0, j = 0;
        int nb = LANES; /* draws in this batch: 8 when few candidates remain */
        for (;;) {
            ms_rng_lanes4(w->key, ms_rng_event_w0(j, bid), (uint32_t)w->step,
                          MS_PH_EVENT, (uint32_t)c, bw3, nb, &rnd[0][0],
                          LANES);
            ms_rng_log_u01(rnd[0], lg, nb);
            int nl = 0;
            for (; nl < nb; nl++) {
                double g = floor(lg[nl] * inv);
                if (!(g < (double)(n - pos)))
                    break;
                uint32_t k = pos + (uint32_t)g;
                pos = k + 1;
                kk[nl] = k;
                /* The candidate's state is read below: start the loads. */
                __builtin_prefetch(ch + (size_t)k * w->cw, 1);
                if (hch)
                    __builtin_prefetch(hch + (size_t)k * w->cw);
                ms_nu_prefetch(w, i0 + k);
            }
            /* Events. */
            int ne = 0;
            for (int l = 0; l < nl; l++) {
                const uint64_t i = i0 + kk[l];
                const unsigned s = ms_choice_get(w, c, i);
                if (s == MS_NOPOT)
                    continue;
                unsigned hs = 0; /* choice value in the host (still old) */
                if (hch) {
                    hs = ms_choice_get(w, t->host, i);
                    hs = hs == MS_NOPOT ? 0 : hs;
                }
                const double v = ms_u01(rnd[1][l]) * P;
                int e;
                if (s == 0) {
                    e = t->K > 0 && v < cb.sure;
                    if (!e && t->K > 0 && v < cb.h_hi)
                        e = ms_nonadopter_event(w, tid, i, v, t->pdt,
                                                t->qterm, t->xfeat[hs]);
                } else {
                    e = v < t->rv[s];
                }
                chooser *h = &ev[ne];
                h->i = i;
                h->s = s;
                h->uc = ms_u01_52(rnd[2][l], rnd[3][l]);
                h->cur = s ? t->slot[s] : -1; /* -1: firm gone from c here */
                h->hostslot = hs ? t->slot[hs] : -1;
                ne += e;
            }
            /* Choices without phi; the others wait for it. */
            int nw = 0;
            for (int q = 0; q < ne; q++) {
                chooser *h = &ev[q];
                h->fast = (h->cur < 0 || t->stay * t->own[h->cur] == 1.0) &&
                          (h->hostslot < 0 || t->host_bonus == 1.0);
                if (t->K > 0 && t->G > 1 && !(h->fast && h->uc < t->p0min)) {
                    ent[nw] = ms_consumer_id(w, h->i);
                    wait[nw++] = *h;
                    continue;
                }
                apply(w, c, h, choose(t, h, 0.0, NULL, scratch), row);
            }
            if (nw > 0) {
                /* A multiple of 8 lanes (the vector width), the last
                 * repeated. */
                const int n8 = (nw + 7) & ~7;
                for (int l = nw; l < n8; l++)
                    ent[l] = ent[nw - 1];
                ms_rng_gather(w->key, ent, MS_RNG_SETUP_STEP, MS_PH_TRAIT, 1,
                              n8, &pr[0][0], LANES);
                /* phi = -log(uphi) (ms_phi) and the group weights
                 * exp(-phi (D_g - D_0)), g >= 1, of every chooser,
                 * vectorized: ex[q * (G - 1) + g - 1]. */
                for (int q = 0; q < n8; q++)
                    ph[q] = ms_u01_52(pr[0][q], pr[1][q]);
                ms_rng_log01(ph, ph, n8);
                const int G1 = t->G - 1;
                for (int q = 0; q < n8; q++) {
                    ph[q] = -ph[q];
                    for (int g = 1; g <= G1; g++)
                        ex[q * G1 + g - 1] = -ph[q] * (t->D[g] - t->D[0]);
                }
                ms_rng_expneg(ex, ex, nw * G1);
                for (int q = 0; q < nw; q++)
                    apply(w, c, &wait[q],
                          choose(t, &wait[q], ph[q], ex + q * G1, scratch),
                          row);
            }
            if (nl < nb || pos >= n)
                break;
            j += (uint32_t)nb;
            nb = (double)(n - pos) * P < 6 ? 8 : LANES;
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
        t->p0min = t->G > 0 && all > 0 ? t->gsum[0] / all : 0;
        for (int s = 1; s <= F; s++) {
            /* Only states some consumer holds: the firms with users. */
            if (w->users[mc * F + s - 1] > 0 && t->rv[s] > t->rv_max)
                t->rv_max = t->rv[s];
            if (t->xfeat[s] > t->xfeat_max)
                t->xfeat_max = t->xfeat[s];
        }
    }
#pragma omp parallel num_threads(w->n_threads)
    {
        int tid = omp_get_thread_num();
        int64_t *dl = w->tl_delta[tid];
        memset(dl, 0, rows * sizeof *dl);
#pragma omp for schedule(dynamic, 16)
        for (int64_t b = w->b_lo; b < w->b_hi; b++) /* this rank's blocks */
            move_block(w, b, dl, w->tl_scratch[tid], tid);
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
