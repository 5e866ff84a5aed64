/*
 * strategy.h: the four firm strategies of MODEL.md sections 3-6 behind one
 * table, and the helpers they share.
 *
 * Each step the firms phase (models/firm.c) hands every independent firm a
 * budget B = (1 - exp(-beta dt)) * max(cash, 0), split by its mix w, and
 * calls the strategies in table order with their share. A strategy is one
 * file and one row: `act` spends (or sets aside) its budget, `upkeep` runs
 * once a step after all firms acted (integration of subsidiaries,
 * mentoring of partners).
 *
 * Money: what a strategy pays is added to spend[f] (or inflow/outflow for
 * transfers between firms) and reaches cash in the accounts phase, so
 * --check can match every change of cash to a recorded flow. Funds set
 * aside (acquisition, investment, entry) are earmarked cash: they stay in
 * cash until paid.
 */
#ifndef MS_STRATEGY_H
#define MS_STRATEGY_H

#include "core/world_int.h"

typedef struct ms_strategy {
    const char *name;                                 /* as in scenarios */
    ms_status (*act)(ms_world *w, int f, double budget);
    void (*upkeep)(ms_world *w);                      /* may be NULL */
} ms_strategy;

extern const ms_strategy ms_strategy_table[MS_N_STRATEGIES];

ms_status ms_experiment_act(ms_world *w, int f, double budget);
ms_status ms_localize_act(ms_world *w, int f, double budget);
ms_status ms_acquire_act(ms_world *w, int f, double budget);
ms_status ms_invest_act(ms_world *w, int f, double budget);
void ms_acquire_upkeep(ms_world *w);
/* The acquirer f's user-weighted quality lead over g (utils, >= 0) and
 * the NPV of buying g, (exp(synergy * lead) - 1 - premium) * V_g (USD). */
double ms_acquire_lead(const ms_world *w, int f, int g);
double ms_acquire_npv(const ms_world *w, int f, int g);
void ms_invest_upkeep(ms_world *w);

/* Largest and smallest of k >= 1 independent Beta(3,3) draws. */
void ms_beta33_extremes(gsl_rng *r, unsigned k, double *mx, double *mn);

/* Roth-Erev: the menu allocation k as weights; one update of the
 * propensities q[K] with the allocation used (-1: none) and its reward,
 * returning the next allocation drawn with uniform u. */
void ms_learning_menu(int k, double *wts);
int ms_roth_erev_update(double *q, int K, int used, double r, double phi,
                        double eps, double u);

/* Users of every group by market and category into w->gusers
 * (gusers[(g * M + m) * C + c] for group heads g). */
void ms_group_users(ms_world *w);
/* Share of the users of (m, c), or of all categories in m when c < 0,
 * held by group head g (from w->gusers). */
double ms_group_share(const ms_world *w, int g, int m, int c);
/* Cash not yet committed this step: cash - spend. */
double ms_cash_free(const ms_world *w, int f);
/* 1 - exp(-rate * dt): a per-year rate as a per-step chance. */
double ms_per_step(const ms_world *w, double rate);

#endif
