/*
 * firm.c: firms as a whole: the firms phase that runs the strategies,
 * accounts, exit and entry, and what the output observes of markets
 * (MODEL.md section 2 steps 1, 3, 4, 5, and section 8).
 *
 * Accounts use the user counts after consumers moved: revenue
 * R = sum n * people_per_agent * arpu * mu * dt, costs K = (sum n *
 * people_per_agent * v + sum presence cost) * dt, operating profit R - K.
 * They exist from record 0 (computed from the initial users, no cash
 * booked). Each stake is paid sigma * payout * max(profit, 0). A group is
 * an internal capital market: a subsidiary pays the rest of its profit to
 * its owner, and its owners cover its losses and any negative cash while
 * their own cash allows. Every flow, transfers inside groups included, is
 * added to flow_sum, so --check can verify that cash changed exactly by the
 * recorded flows. Value is consolidated (version 2): V = revenue_multiple *
 * R / dt + W + the values of the firms owned + stakes times the values of
 * their targets.
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

/* Consolidated values (MODEL.md section 1, version 2):
 * V_f = revenue_multiple * R_f / dt + W_f + sum of V_g over the firms f
 * owns directly + sum of sigma_fg V_g over its stakes. Ownership is a
 * forest and an owned firm has no minority holders, so each firm's value
 * enters other values with total weight at most 1; Jacobi iteration then
 * converges (exactly after the depth of the forest when there are no
 * stakes). Firms out of business keep their cash as value and are not
 * consolidated. */
static void update_values(ms_world *w)
{
    const ms_scenario *sc = w->sc;
    double *base = w->net; /* scratch */
    int linked = w->n_stakes > 0;
    for (int f = 0; f < w->n_firms; f++) {
        base[f] = sc->model.revenue_multiple * w->revenue[f] / w->dt + w->cash[f];
        w->value[f] = base[f];
        if (w->owner[f] != f && w->alive[f])
            linked = 1;
    }
    if (!linked)
        return;
    for (int it = 0; it < 1000 + w->n_firms; it++) {
        double change = 0;
        double *next = w->vtmp;
        for (int f = 0; f < w->n_firms; f++)
            next[f] = base[f];
        for (int g = 0; g < w->n_firms; g++)
            if (w->owner[g] != g && w->alive[g])
                next[w->owner[g]] += w->value[g];
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

/* Revenue, costs and operating profit of every firm from the current user
 * counts (MODEL.md section 2 step 3). */
static void operating_accounts(ms_world *w)
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
}

void ms_firms_accounts_init(ms_world *w)
{
    operating_accounts(w);
    update_values(w);
    for (int f = 0; f < w->n_firms; f++)
        w->v_prev[f] = w->value[f];
}

/* A transfer inside a group: booked in both firms' flows, so --check sees
 * that cash changed exactly by the recorded flows. */
static void move_cash(ms_world *w, int from, int to, double x)
{
    w->cash[from] -= x;
    w->flow_sum[from] -= x;
    w->flow_abs[from] += fabs(x);
    w->cash[to] += x;
    w->flow_sum[to] += x;
    w->flow_abs[to] += fabs(x);
}

/* The owners of g, nearest first, put up to `need` USD of their positive
 * cash into g. */
static void cover(ms_world *w, int g, double need)
{
    int f = g;
    for (int hops = 0; need > 0 && w->owner[f] != f && hops < w->n_firms;
         hops++) {
        f = w->owner[f];
        double t = w->cash[f] > 0 ? (w->cash[f] < need ? w->cash[f] : need) : 0;
        if (t > 0) {
            move_cash(w, f, g, t);
            need -= t;
        }
    }
}

ms_status ms_firms_accounts(ms_world *w)
{
    const ms_scenario *sc = w->sc;
    operating_accounts(w);
    /* Dividends of independent firms to their stakeholders. */
    for (int f = 0; f < w->n_firms; f++)
        w->divpaid[f] = 0;
    for (int i = 0; i < w->n_stakes; i++) {
        int inv = w->st_inv[i], g = w->st_tgt[i];
        if (!w->alive[inv] || !w->alive[g] || !(w->profit[g] > 0))
            continue;
        double d = w->st_sigma[i] * sc->model.payout * w->profit[g];
        w->outflow[g] += d;
        w->inflow[inv] += d;
        w->divpaid[g] += d;
    }
    /* Each firm's own flows. */
    for (int f = 0; f < w->n_firms; f++) {
        double flow = w->revenue[f] - w->costs[f] - w->spend[f] +
                      w->inflow[f] - w->outflow[f];
        w->cash[f] += flow;
        w->flow_sum[f] += flow;
        w->flow_abs[f] += fabs(w->revenue[f]) + fabs(w->costs[f]) +
                          fabs(w->spend[f]) + fabs(w->inflow[f]) +
                          fabs(w->outflow[f]);
        w->spend[f] = w->inflow[f] = w->outflow[f] = 0;
    }
    /* The internal capital market: a subsidiary pays its profit (after
     * dividends) to its owner, and its owners cover its loss, then any cash
     * it still lacks, while their cash allows. */
    for (int g = 0; g < w->n_firms; g++) {
        if (w->owner[g] == g || !w->alive[g])
            continue;
        double x = w->profit[g] - w->divpaid[g];
        if (x > 0)
            move_cash(w, g, w->owner[g], x);
        else if (x < 0)
            cover(w, g, -x);
    }
    for (int g = 0; g < w->n_firms; g++)
        if (w->owner[g] != g && w->alive[g] && w->cash[g] < 0)
            cover(w, g, -w->cash[g]);
    /* Earmarked funds cannot exceed the cash that backs them. */
    for (int f = 0; f < w->n_firms; f++) {
        double c = w->cash[f] > 0 ? w->cash[f] : 0;
        if (w->acq_fund[f] > c) w->acq_fund[f] = c;
        if (w->inv_fund[f] > c) w->inv_fund[f] = c;
        if (w->entry_fund[f] > c) w->entry_fund[f] = c;
    }
    update_values(w);
    return MS_OK;
}

/* f leaves every market; its users re-choose in the next step. */
static void close_firm(ms_world *w, int f)
{
    const int M = w->M, C = w->C;
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
}

/* Exit (MODEL.md section 2 step 4, version 2): a group head with negative
 * cash for exit_patience steps leaves; an owner closes a subsidiary whose
 * operating profit has been negative for divest_patience steps, taking
 * over its remaining cash (or debt). A subsidiary never exits for cash. */
ms_status ms_firms_exit(ms_world *w)
{
    const ms_model_spec *md = &w->sc->model;
    for (int f = 0; f < w->n_firms; f++) {
        if (!w->alive[f])
            continue;
        w->loss_steps[f] = w->profit[f] < 0 ? w->loss_steps[f] + 1 : 0;
        if (w->owner[f] != f) {
            w->neg_steps[f] = 0;
            if (w->loss_steps[f] < md->divest_patience)
                continue;
            int o = w->owner[f];
            double left = w->cash[f];
            move_cash(w, f, o, left);
            close_firm(w, f);
            w->owner[f] = f;
            ms_world_event(w, MS_EV_EXIT, f, o, w->home[f], -1, left);
            continue;
        }
        w->neg_steps[f] = w->cash[f] < 0 ? w->neg_steps[f] + 1 : 0;
        if (w->neg_steps[f] < md->exit_patience)
            continue;
        close_firm(w, f);
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
                w->birth[f] = w->step;
                w->loss_steps[f] = w->neg_steps[f] = 0;
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
