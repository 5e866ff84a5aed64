/*
 * acquire.c: M&A expansion (MODEL.md section 5).
 *
 * The acquisition budget accumulates in a fund. A target is an independent
 * firm from another home market where the acquirer's group is weak (user
 * share below weak_share) and foreign acquisitions are allowed, and an
 * emerging winner: at least target_min_age steps old (scenario firms are
 * established) with at least target_min_share of the adopters of some
 * category at home. Its price is (1 + premium) times its consolidated
 * value. The acquirer expects integration to lift the target's quality by
 * its user-weighted lead d and values the deal at
 * NPV = (exp(synergy d) - 1 - premium) V; it picks the target with the
 * largest positive NPV it can pay from fund and cash. Antitrust blocks the
 * deal if in some market and category the merged group's HHI, from the
 * groups as they are at that moment (after earlier deals of the step),
 * would exceed hhi_max with a rise (2 s_acquirer s_target) above dhhi_max.
 * Either way an event is logged; a blocked target is not tried again for
 * strategy_period steps. The deal buys out the stakes in the target.
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

/* The group HHI of (m, c) from the current groups and the user counts at
 * the start of the step (gusers: kept up to date after every deal). */
static double hhi_now(const ms_world *w, int m, int c)
{
    const size_t MC = (size_t)w->M * w->C, mc = (size_t)m * w->C + c;
    double A = (double)w->adopters[mc], h = 0;
    if (!(A > 0))
        return NAN;
    for (int g = 0; g < w->n_firms; g++) {
        double s = w->gusers[(size_t)g * MC + mc] / A;
        h += s * s;
    }
    return h;
}

/* 1 if the deal f buys g is blocked; the market and category that block. */
static int antitrust_blocks(const ms_world *w, int f, int g, int *bm, int *bc)
{
    const ms_scenario *sc = w->sc;
    for (int m = 0; m < w->M; m++)
        for (int c = 0; c < w->C; c++) {
            double sa = ms_group_share(w, f, m, c);
            double sb = ms_group_share(w, g, m, c);
            double rise = 2 * sa * sb;
            if (!(rise > 0))
                continue;
            double hhi = hhi_now(w, m, c);
            if (isnan(hhi))
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

/* An emerging winner: old enough (scenario firms count as established)
 * and holding target_min_share of the adopters of some category at home. */
static int emerging_winner(const ms_world *w, int g)
{
    const ms_model_spec *md = &w->sc->model;
    if (g >= w->sc->n_firms && w->step - w->birth[g] < md->target_min_age)
        return 0;
    for (int c = 0; c < w->C; c++)
        if (ms_group_share(w, g, w->home[g], c) >= md->target_min_share &&
            w->adopters[(size_t)w->home[g] * w->C + c] > 0)
            return 1;
    return 0;
}

double ms_acquire_lead(const ms_world *w, int f, int g)
{
    const int M = w->M, C = w->C, F = w->F;
    double num = 0, den = 0;
    for (int c = 0; c < C; c++) {
        double n = 0;
        for (int m = 0; m < M; m++)
            n += (double)w->users[((size_t)m * C + c) * F + g];
        double af = w->quality[(size_t)f * C + c];
        double ag = w->quality[(size_t)g * C + c];
        den += n;
        if (n > 0 && !isnan(af) && !isnan(ag) && af > ag)
            num += n * (af - ag);
    }
    return den > 0 ? num / den : 0;
}

double ms_acquire_npv(const ms_world *w, int f, int g)
{
    const ms_model_spec *md = &w->sc->model;
    double d = ms_acquire_lead(w, f, g);
    return (expm1(md->synergy * d) - md->premium) * w->value[g];
}

/* The deal buys out every stake in g: each holder receives sigma times the
 * price, and its stake and the partnership it made end. */
static void buy_out_stakes(ms_world *w, int g, double price)
{
    int k = 0;
    for (int i = 0; i < w->n_stakes; i++) {
        if (w->st_tgt[i] != g) {
            w->st_inv[k] = w->st_inv[i];
            w->st_tgt[k] = w->st_tgt[i];
            w->st_sigma[k] = w->st_sigma[i];
            k++;
            continue;
        }
        int h = w->st_inv[i];
        w->inflow[h] += w->st_sigma[i] * price;
        /* The partnership ends unless a stake the other way remains. */
        int keep = 0;
        for (int j = 0; j < w->n_stakes; j++)
            if (w->st_inv[j] == g && w->st_tgt[j] == h)
                keep = 1;
        if (keep)
            continue;
        int e2 = 0;
        for (int e = 0; e < w->n_partners; e++) {
            if ((w->pa[e] == h && w->pb[e] == g) ||
                (w->pa[e] == g && w->pb[e] == h))
                continue;
            w->pa[e2] = w->pa[e];
            w->pb[e2] = w->pb[e];
            e2++;
        }
        w->n_partners = e2;
    }
    w->n_stakes = k;
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
    double best_npv = 0;
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
        if (!(v > 0) || price > fund || price > cash || !emerging_winner(w, g))
            continue;
        double npv = ms_acquire_npv(w, f, g);
        if (npv > best_npv) {
            best_npv = npv;
            best = g;
        }
    }
    if (best < 0)
        return MS_OK;
    const int g = best;
    const double price = (1 + sc->model.premium) * w->value[g];
    int bm, bc;
    if (antitrust_blocks(w, f, g, &bm, &bc)) {
        w->blocked_target[f] = g;
        w->blocked_until[f] = w->step + sc->model.strategy_period;
        ms_world_event(w, MS_EV_BLOCKED_DEAL, f, g, bm, bc, price);
        return MS_OK;
    }
    w->spend[f] += price;
    w->acq_fund[f] -= price;
    buy_out_stakes(w, g, price);
    w->owner[g] = f;
    w->acq_fund[g] = w->inv_fund[g] = w->entry_fund[g] = 0;
    w->loss_steps[g] = w->neg_steps[g] = 0;
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
