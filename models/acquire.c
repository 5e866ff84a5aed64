/*
 * acquire.c: M&A expansion (MODEL.md section 5).
 *
 * The acquisition budget accumulates in a fund. A target is an independent
 * firm from another home market where the acquirer's group is weak (user
 * share below weak_share) and foreign acquisitions are allowed. Its price
 * is (1 + premium) times its value. The acquirer picks the most valuable
 * target it can afford; antitrust blocks the deal if in some market and
 * category the merged group's HHI would exceed hhi_max with a rise
 * (2 s_acquirer s_target) above dhhi_max. Either way an event is logged; a
 * blocked target is not tried again for strategy_period steps.
 *
 * After a deal the target keeps its brand, users and localization, pays
 * its profit to its owner (accounts, models/firm.c), stops acting on its
 * own, and each of its users re-evaluates in this step with probability
 * deal_churn on top of the usual churn. Upkeep: every subsidiary closes
 * 1 - exp(-gamma_int dt) of its quality gap to its owner each step (shared
 * payments, logistics, messaging).
 */
#include "models/strategy.h"

#include <math.h>

/* 1 if the deal f buys g is blocked; the market and category that block. */
static int antitrust_blocks(const ms_world *w, int f, int g, int *bm, int *bc)
{
    const ms_scenario *sc = w->sc;
    for (int m = 0; m < w->M; m++)
        for (int c = 0; c < w->C; c++) {
            double sa = ms_group_share(w, f, m, c);
            double sb = ms_group_share(w, g, m, c);
            double rise = 2 * sa * sb;
            double hhi = w->hhi[(size_t)m * w->C + c];
            if (isnan(hhi) || rise <= 0)
                continue;
            if (hhi + rise > sc->markets[m].hhi_max &&
                rise > sc->markets[m].dhhi_max) {
                *bm = m;
                *bc = c;
                return 1;
            }
        }
    return 0;
}

ms_status ms_acquire_act(ms_world *w, int f, double budget)
{
    const ms_scenario *sc = w->sc;
    if (budget > 0)
        w->acq_fund[f] += budget;
    double fund = w->acq_fund[f];
    double cash = ms_cash_free(w, f);
    if (fund <= 0 || cash <= 0)
        return MS_OK;
    int best = -1;
    double best_v = 0;
    for (int g = 0; g < w->n_firms; g++) {
        if (g == f || !w->alive[g] || w->owner[g] != g)
            continue;
        int h = w->home[g];
        if (h == w->home[f] || !sc->markets[h].foreign_acquisitions)
            continue;
        if (ms_group_share(w, f, h, -1) >= sc->model.weak_share)
            continue;
        if (w->blocked_target[f] == g && w->step < w->blocked_until[f])
            continue;
        double v = w->value[g];
        double price = (1 + sc->model.premium) * v;
        if (!(v > 0) || price > fund || price > cash)
            continue;
        if (v > best_v) {
            best_v = v;
            best = g;
        }
    }
    if (best < 0)
        return MS_OK;
    const int g = best;
    const double price = (1 + sc->model.premium) * best_v;
    int bm, bc;
    if (antitrust_blocks(w, f, g, &bm, &bc)) {
        w->blocked_target[f] = g;
        w->blocked_until[f] = w->step + sc->model.strategy_period;
        ms_world_event(w, MS_EV_BLOCKED_DEAL, f, g, bm, bc, price);
        return MS_OK;
    }
    w->spend[f] += price;
    w->acq_fund[f] -= price;
    w->owner[g] = f;
    w->acq_fund[g] = w->inv_fund[g] = w->entry_fund[g] = 0;
    ms_world_event(w, MS_EV_ACQUISITION, f, g, w->home[g], -1, price);
    /* Deal churn: g's users re-evaluate in this step's consumer phase. */
    for (size_t mc = 0; mc < (size_t)w->M * w->C; mc++) {
        ms_ctab *t = &w->ctab[mc];
        if (t->slot[g + 1] >= 0) {
            t->rv[g + 1] = 1 - (1 - t->reeval) * (1 - sc->model.deal_churn);
            if (t->rv[g + 1] != t->reeval)
                t->rv_uniform = 0;
        }
    }
    ms_group_users(w); /* groups changed: shares for later firms */
    return MS_OK;
}

void ms_acquire_upkeep(ms_world *w)
{
    const double k = ms_per_step(w, w->sc->model.gamma_int);
    const int C = w->C;
    for (int g = 0; g < w->n_firms; g++) {
        int f = w->owner[g];
        if (f == g || !w->alive[g] || !w->alive[f])
            continue;
        for (int c = 0; c < C; c++) {
            double af = w->quality[(size_t)f * C + c];
            double *ag = &w->quality[(size_t)g * C + c];
            if (!isnan(af) && !isnan(*ag) && af > *ag)
                *ag += k * (af - *ag);
        }
    }
}
