/*
 * firm.c: firms as a whole: the firms phase that runs the strategies,
 * accounts, exit and entry, and what the output observes of markets
 * (MODEL.md section 2 steps 1, 3, 4, 5, and section 8).
 *
 * Accounts use the user counts after consumers moved: revenue
 * R = sum n * people_per_agent * arpu * mu * dt, costs K = (sum n *
 * people_per_agent * v + sum presence cost) * dt, operating profit R - K.
 * Each stake is paid sigma * payout * max(profit, 0); a subsidiary pays the
 * rest of its profit (or has its loss covered) to its owner. Cash then
 * changes by R - K - spend + inflow - outflow, and the same amount is added
 * to flow_sum, so --check can verify that cash changed exactly by the
 * recorded flows. Value V = revenue_multiple * R / dt + W + sum of stakes
 * times the values of their targets (solved by fixed-point iteration;
 * stakes in one firm sum to at most 1).
 */
#include "models/strategy.h"

#include <gsl/gsl_randist.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

const ms_strategy ms_strategy_table[MS_N_STRATEGIES] = {
    {"experiment", ms_experiment_act, NULL},
    {"localize", ms_localize_act, NULL},
    {"acquire", ms_acquire_act, ms_acquire_upkeep},
    {"invest", ms_invest_act, ms_invest_upkeep},
};

int ms_group_of(const ms_world *w, int f)
{
    /* Owners form a forest (checked by --check); the depth is bounded by
     * the number of firms, so a cycle cannot loop forever here. */
    for (int hops = 0; w->owner[f] != f && hops < w->n_firms; hops++)
        f = w->owner[f];
    return f;
}

double ms_cash_free(const ms_world *w, int f) { return w->cash[f] - w->spend[f]; }

double ms_per_step(const ms_world *w, double rate) { return -expm1(-rate * w->dt); }

void ms_group_users(ms_world *w)
{
    const int M = w->M, C = w->C, F = w->F;
    const size_t MC = (size_t)M * C;
    memset(w->gusers, 0, sizeof *w->gusers * (size_t)w->n_firms * MC);
    for (int f = 0; f < w->n_firms; f++) {
        int g = ms_group_of(w, f);
        for (size_t mc = 0; mc < MC; mc++)
            w->gusers[(size_t)g * MC + mc] += (double)w->users[mc * F + f];
    }
}

double ms_group_share(const ms_world *w, int g, int m, int c)
{
    const int C = w->C;
    const size_t MC = (size_t)w->M * C;
    double own = 0, all = 0;
    for (int k = 0; k < C; k++) {
        if (c >= 0 && k != c)
            continue;
        own += w->gusers[(size_t)g * MC + (size_t)m * C + k];
        all += (double)w->adopters[(size_t)m * C + k];
    }
    return all > 0 ? own / all : 0;
}

ms_status ms_firms_act(ms_world *w)
{
    int n = 0;
    for (int f = 0; f < w->n_firms; f++)
        if (w->alive[f] && w->owner[f] == f)
            w->order[n++] = f;
    if (n == 0)
        return MS_OK;
    ms_rng_gsl_reset(w->frng, w->key, 0, (uint32_t)w->step, MS_PH_FIRM_ORDER,
                     0);
    gsl_ran_shuffle(w->frng, w->order, (size_t)n, sizeof *w->order);
    ms_group_users(w);
    for (int i = 0; i < n; i++) {
        int f = w->order[i];
        if (!w->alive[f] || w->owner[f] != f)
            continue; /* acquired earlier in this step */
        double free_cash = ms_cash_free(w, f);
        double budget = ms_per_step(w, w->beta[f]) * (free_cash > 0 ? free_cash : 0);
        for (int s = 0; s < MS_N_STRATEGIES; s++)
            MS_CALL(ms_strategy_table[s].act(
                w, f, budget * w->weights[(size_t)f * MS_N_STRATEGIES + s]));
    }
    for (int s = 0; s < MS_N_STRATEGIES; s++)
        if (ms_strategy_table[s].upkeep)
            ms_strategy_table[s].upkeep(w);
    return MS_OK;
}

static void update_values(ms_world *w)
{
    const ms_scenario *sc = w->sc;
    double *base = w->net; /* scratch */
    for (int f = 0; f < w->n_firms; f++) {
        base[f] = sc->model.revenue_multiple * w->revenue[f] / w->dt + w->cash[f];
        w->value[f] = base[f];
    }
    if (w->n_stakes == 0)
        return;
    /* V = base + S V with column sums of S at most 1: Jacobi iteration
     * converges; stop when nothing changes by more than 1e-12 relative. */
    for (int it = 0; it < 200; it++) {
        double change = 0;
        double *next = w->vtmp;
        for (int f = 0; f < w->n_firms; f++)
            next[f] = base[f];
        for (int i = 0; i < w->n_stakes; i++)
            if (w->alive[w->st_tgt[i]])
                next[w->st_inv[i]] += w->st_sigma[i] * w->value[w->st_tgt[i]];
        for (int f = 0; f < w->n_firms; f++) {
            double d = fabs(next[f] - w->value[f]) / (1 + fabs(w->value[f]));
            if (d > change)
                change = d;
            w->value[f] = next[f];
        }
        if (change < 1e-12)
            break;
    }
}

ms_status ms_firms_accounts(ms_world *w)
{
    const ms_scenario *sc = w->sc;
    const int M = w->M, C = w->C, F = w->F;
    for (int f = 0; f < w->n_firms; f++) {
        w->revenue[f] = w->costs[f] = w->profit[f] = 0;
        for (int m = 0; m < M; m++)
            w->rev_m[(size_t)f * M + m] = 0;
        if (!w->alive[f])
            continue;
        double rev = 0, cost = 0;
        for (int m = 0; m < M; m++) {
            double rm = 0;
            for (int c = 0; c < C; c++) {
                double people = (double)w->users[((size_t)m * C + c) * F + f] *
                                w->ppa;
                rm += people * sc->categories[c].arpu[m];
                cost += people * sc->categories[c].unit_cost;
            }
            rm *= w->mu[f] * w->dt;
            w->rev_m[(size_t)f * M + m] = rm;
            rev += rm;
            if (w->present[(size_t)f * M + m] != 0)
                cost += sc->markets[m].presence_cost;
        }
        cost *= w->dt;
        w->revenue[f] = rev;
        w->costs[f] = cost;
        w->profit[f] = rev - cost;
    }
    /* Dividends, then subsidiaries' remaining profit to their owners. */
    for (int f = 0; f < w->n_firms; f++)
        w->net[f] = 0; /* dividends paid by f */
    for (int i = 0; i < w->n_stakes; i++) {
        int inv = w->st_inv[i], g = w->st_tgt[i];
        if (!w->alive[inv] || !w->alive[g] || !(w->profit[g] > 0))
            continue;
        double d = w->st_sigma[i] * sc->model.payout * w->profit[g];
        w->outflow[g] += d;
        w->inflow[inv] += d;
        w->net[g] += d;
    }
    for (int g = 0; g < w->n_firms; g++) {
        int f = w->owner[g];
        if (f == g || !w->alive[g])
            continue;
        double t = w->profit[g] - w->net[g];
        w->outflow[g] += t;
        w->inflow[f] += t;
    }
    for (int f = 0; f < w->n_firms; f++) {
        double flow = w->revenue[f] - w->costs[f] - w->spend[f] +
                      w->inflow[f] - w->outflow[f];
        w->cash[f] += flow;
        w->flow_sum[f] += flow;
        w->flow_abs[f] += fabs(w->revenue[f]) + fabs(w->costs[f]) +
                          fabs(w->spend[f]) + fabs(w->inflow[f]) +
                          fabs(w->outflow[f]);
        w->spend[f] = w->inflow[f] = w->outflow[f] = 0;
        /* Earmarked funds cannot exceed the cash that backs them. */
        double c = w->cash[f] > 0 ? w->cash[f] : 0;
        if (w->acq_fund[f] > c) w->acq_fund[f] = c;
        if (w->inv_fund[f] > c) w->inv_fund[f] = c;
        if (w->entry_fund[f] > c) w->entry_fund[f] = c;
    }
    update_values(w);
    return MS_OK;
}

ms_status ms_firms_exit(ms_world *w)
{
    const int M = w->M, C = w->C;
    for (int f = 0; f < w->n_firms; f++) {
        if (!w->alive[f])
            continue;
        w->neg_steps[f] = w->cash[f] < 0 ? w->neg_steps[f] + 1 : 0;
        if (w->neg_steps[f] < w->sc->model.exit_patience)
            continue;
        w->alive[f] = 0;
        for (int m = 0; m < M; m++) {
            w->present[(size_t)f * M + m] = 0;
            for (int c = 0; c < C; c++)
                w->launched[((size_t)f * C + c) * M + m] = 0;
        }
        w->acq_fund[f] = w->inv_fund[f] = w->entry_fund[f] = 0;
        for (int g = 0; g < w->n_firms; g++)
            if (g != f && w->owner[g] == f)
                w->owner[g] = g; /* subsidiaries become independent */
        ms_world_event(w, MS_EV_EXIT, f, -1, w->home[f], -1, w->cash[f]);
    }
    return MS_OK;
}

/* Start-ups: Poisson(entry_rate dt) per market and category. */
ms_status ms_firms_entry(ms_world *w)
{
    const ms_scenario *sc = w->sc;
    const ms_model_spec *md = &sc->model;
    const int M = w->M, C = w->C;
    if (md->entry_rate <= 0)
        return MS_OK;
    for (int m = 0; m < M; m++)
        for (int c = 0; c < C; c++) {
            ms_rng_gsl_reset(w->frng, w->key, (uint32_t)(m * C + c),
                             (uint32_t)w->step, MS_PH_ENTRY, 0);
            unsigned k = gsl_ran_poisson(w->frng, md->entry_rate * w->dt);
            for (unsigned j = 0; j < k; j++) {
                if (w->n_firms >= w->F) {
                    w->entrants_dropped++;
                    continue;
                }
                /* Best local quality in (m, c), else best of any firm. */
                double best_local = -HUGE_VAL, best_any = -HUGE_VAL;
                for (int g = 0; g < w->n_firms; g++) {
                    if (!ms_firm_offers(w, g, c, m))
                        continue;
                    double a = w->quality[(size_t)g * C + c];
                    if (a > best_any)
                        best_any = a;
                    if (w->home[g] == m && a > best_local)
                        best_local = a;
                }
                double ref = best_local > -HUGE_VAL ? best_local
                             : best_any > -HUGE_VAL ? best_any
                                                    : 0;
                int f = w->n_firms++;
                w->entrants++;
                snprintf(w->fname[f], MS_NAME_MAX, "new-%s-%s-%lld",
                         sc->markets[m].name, sc->categories[c].name,
                         (long long)w->entrants);
                w->home[f] = m;
                w->alive[f] = 1;
                w->owner[f] = f;
                w->cash[f] = w->cash0[f] = md->entry_cash;
                w->mu[f] = 1;
                w->prominence[f] = 0.05;
                w->quality[(size_t)f * C + c] =
                    ref - md->entry_gap + gsl_ran_gaussian(w->frng, md->entry_sd);
                w->present[(size_t)f * M + m] = 1;
                w->loc[(size_t)f * M + m] = 1;
                for (int s = 0; s < MS_N_STRATEGIES; s++)
                    w->weights[(size_t)f * MS_N_STRATEGIES + s] =
                        1.0 / MS_N_STRATEGIES;
                w->beta[f] = md->entry_beta;
                w->bold[f] = 1;
                w->learn[f] = MS_LEARN_FIXED;
                w->value[f] = w->v_prev[f] = w->cash[f];
                ms_world_event(w, MS_EV_ENTRY, f, -1, m, c, md->entry_cash);
            }
        }
    return MS_OK;
}

ms_status ms_observe(ms_world *w)
{
    const int M = w->M, C = w->C, F = w->F;
    double *gu = w->net; /* scratch: users by group */
    for (int m = 0; m < M; m++)
        for (int c = 0; c < C; c++) {
            size_t mc = (size_t)m * C + c;
            const int64_t *n = &w->users[mc * F];
            double A = (double)w->adopters[mc], foreign = 0;
            for (int f = 0; f < w->n_firms; f++)
                gu[f] = 0;
            for (int f = 0; f < w->n_firms; f++) {
                gu[ms_group_of(w, f)] += (double)n[f];
                if (w->home[f] != m)
                    foreign += (double)n[f];
            }
            double hhi = 0;
            for (int f = 0; f < w->n_firms && A > 0; f++)
                hhi += (gu[f] / A) * (gu[f] / A);
            w->hhi[mc] = A > 0 ? hhi : NAN;
            w->foreign_share[mc] = A > 0 ? foreign / A : NAN;
        }
    /* Group-consolidated revenue and the share of it earned abroad (outside
     * the group head's home market). */
    for (int f = 0; f < w->n_firms; f++)
        w->group_revenue[f] = 0, gu[f] = 0;
    for (int f = 0; f < w->n_firms; f++) {
        int g = ms_group_of(w, f);
        w->group_revenue[g] += w->revenue[f];
        for (int m = 0; m < M; m++)
            if (m != w->home[g])
                gu[g] += w->rev_m[(size_t)f * M + m];
    }
    for (int f = 0; f < w->n_firms; f++) {
        if (ms_group_of(w, f) != f)
            w->abroad_share[f] = w->group_revenue[f] = NAN;
        else
            w->abroad_share[f] = w->group_revenue[f] > 0
                                     ? gu[f] / w->group_revenue[f]
                                     : NAN;
    }
    return MS_OK;
}
