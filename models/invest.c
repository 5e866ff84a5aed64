/*
 * invest.c: ecosystem stakes (MODEL.md section 6).
 *
 * The investment budget accumulates in a fund. A target is the leading
 * local firm (most users among the firms whose home is the market) in a
 * market other than the investor's home and a category where the
 * investor's group is weak or absent (version 2). It must be independent
 * (a subsidiary of any group is never a target: its leader there is then
 * no target at all), outside the investor's group, with room for another
 * stake (stakes in it stay at most 1) and none from this investor yet. The investor buys a stake sigma for sigma times the
 * target's value; the money goes to the target as growth capital. Among
 * the targets it can afford it picks the one with most users.
 *
 * Effects: dividends sigma * payout * max(profit, 0) each step (accounts),
 * partnership (each counts iota of the other's users in its network share,
 * models/consumer.c), and mentoring: each step the target closes
 * 1 - exp(-psi sigma dt) of its quality gap to the investor. No control.
 */
#include "models/strategy.h"

#include <math.h>

static double stakes_in(const ms_world *w, int g)
{
    double s = 0;
    for (int i = 0; i < w->n_stakes; i++)
        if (w->st_tgt[i] == g)
            s += w->st_sigma[i];
    return s;
}

static int has_stake(const ms_world *w, int f, int g)
{
    for (int i = 0; i < w->n_stakes; i++)
        if (w->st_inv[i] == f && w->st_tgt[i] == g)
            return 1;
    return 0;
}

static int partners(const ms_world *w, int f, int g)
{
    for (int e = 0; e < w->n_partners; e++)
        if ((w->pa[e] == f && w->pb[e] == g) || (w->pa[e] == g && w->pb[e] == f))
            return 1;
    return 0;
}

ms_status ms_invest_act(ms_world *w, int f, double budget)
{
    const ms_scenario *sc = w->sc;
    const int M = w->M, C = w->C, F = w->F;
    if (budget > 0)
        w->inv_fund[f] += budget;
    double fund = w->inv_fund[f], cash = ms_cash_free(w, f);
    if (fund <= 0 || cash <= 0 || w->n_stakes >= w->cap_stakes)
        return MS_OK;
    const double sigma = sc->model.stake;
    int best = -1, bm = -1, bc = -1;
    int64_t best_n = -1;
    for (int m = 0; m < M; m++)
        for (int c = 0; c < C; c++) {
            if (m == w->home[f] ||
                ms_group_share(w, f, m, c) >= sc->model.weak_share)
                continue;
            /* The leading local firm of (m, c). */
            int lead = -1;
            int64_t lead_n = 0;
            const int64_t *n = &w->users[((size_t)m * C + c) * F];
            for (int g = 0; g < w->n_firms; g++)
                if (w->alive[g] && w->home[g] == m && n[g] > lead_n) {
                    lead = g;
                    lead_n = n[g];
                }
            if (lead < 0 || w->owner[lead] != lead || lead == f ||
                has_stake(w, f, lead) ||
                stakes_in(w, lead) + sigma > 1 + 1e-12)
                continue;
            double price = sigma * w->value[lead];
            if (!(w->value[lead] > 0) || price > fund || price > cash)
                continue;
            if (lead_n > best_n) {
                best_n = lead_n;
                best = lead;
                bm = m;
                bc = c;
            }
        }
    if (best < 0)
        return MS_OK;
    const double price = sigma * w->value[best];
    w->spend[f] += price;
    w->inv_fund[f] -= price;
    w->inflow[best] += price;
    int i = w->n_stakes++;
    w->st_inv[i] = f;
    w->st_tgt[i] = best;
    w->st_sigma[i] = sigma;
    if (!partners(w, f, best) && w->n_partners < w->cap_partners) {
        w->pa[w->n_partners] = f;
        w->pb[w->n_partners] = best;
        w->n_partners++;
    }
    ms_world_event(w, MS_EV_STAKE, f, best, bm, bc, price);
    return MS_OK;
}

void ms_invest_upkeep(ms_world *w)
{
    const int C = w->C;
    for (int i = 0; i < w->n_stakes; i++) {
        int f = w->st_inv[i], g = w->st_tgt[i];
        if (!w->alive[f] || !w->alive[g])
            continue;
        double k = ms_per_step(w, w->sc->model.psi * w->st_sigma[i]);
        for (int c = 0; c < C; c++) {
            double af = w->quality[(size_t)f * C + c];
            double *ag = &w->quality[(size_t)g * C + c];
            if (!isnan(af) && !isnan(*ag) && af > *ag)
                *ag += k * (af - *ag);
        }
    }
}
