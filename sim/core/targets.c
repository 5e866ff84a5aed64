/*
 * targets.c: measuring a run against the figures its scenario targets
 * (the measures are described in sim/scenario/targets.c).
 *
 * Every basic measure (count, share, revenue, gmv, abroad_share) inside a
 * target is taken at one step: the step whose calendar time is nearest to
 * its `time` (or the last step); growth and ratio combine them at the end.
 * A firm's measures cover the firm and every firm it owns, directly or
 * through others (its group, when it heads one).
 */
#include "core/world_int.h"

#include "marketsim/ms_alloc.h"

#include <math.h>

static int64_t step_of(const ms_world *w, double t)
{
    const ms_run_spec *r = &w->sc->run;
    if (isnan(t))
        return r->steps;
    double s = floor((t - r->start_year) / r->dt + 0.5);
    return s < 0 ? 0 : s > (double)r->steps ? r->steps : (int64_t)s;
}

/* Pre-order walk over basic measures: calls fn with the node's index. */
typedef void (*visit_fn)(ms_world *w, const ms_measure *m, int idx,
                         double when, void *ctx);

static void walk(ms_world *w, const ms_measure *m, double when, int *idx,
                 visit_fn fn, void *ctx)
{
    double t = isnan(m->time) ? when : m->time;
    if (m->kind == MS_M_GROWTH) {
        walk(w, m->a, m->from, idx, fn, ctx);
        walk(w, m->a, m->to, idx, fn, ctx);
    } else if (m->kind == MS_M_RATIO) {
        walk(w, m->a, t, idx, fn, ctx);
        walk(w, m->b, t, idx, fn, ctx);
    } else {
        if (fn)
            fn(w, m, *idx, t, ctx);
        (*idx)++;
    }
}

static void set_step(ms_world *w, const ms_measure *m, int idx, double when,
                     void *ctx)
{
    (void)m;
    (void)ctx;
    w->tnode_step[idx] = step_of(w, when);
    w->tnode_val[idx] = NAN;
}

ms_status ms_targets_init(ms_world *w)
{
    const ms_scenario *sc = w->sc;
    int n = 0;
    for (int i = 0; i < sc->n_targets; i++)
        walk(w, &sc->targets[i].m, NAN, &n, NULL, NULL);
    w->n_tnodes = n;
    w->tnode_step = ms_calloc((size_t)n + 1, sizeof *w->tnode_step);
    w->tnode_val = ms_calloc((size_t)n + 1, sizeof *w->tnode_val);
    if (!w->tnode_step || !w->tnode_val)
        return MS_ERROR(MS_ENOMEM, "out of memory for targets");
    n = 0;
    for (int i = 0; i < sc->n_targets; i++)
        walk(w, &sc->targets[i].m, NAN, &n, set_step, NULL);
    return MS_OK;
}

/* Is firm h in the group headed by f (f itself, or owned through f)? */
static int in_group(const ms_world *w, int h, int f)
{
    for (int hops = 0; hops <= w->n_firms; hops++) {
        if (h == f)
            return 1;
        if (w->owner[h] == h)
            return 0;
        h = w->owner[h];
    }
    return 0;
}

static double basic(const ms_world *w, const ms_measure *m)
{
    const ms_scenario *sc = w->sc;
    const int M = w->M, C = w->C, F = w->F;
    double users = 0, adopters = 0, rev = 0, rev_home = 0, gmv = 0, pop = 0;
    for (int mk = 0; mk < M; mk++) {
        if (m->market >= 0 && mk != m->market)
            continue;
        pop += (double)(w->m_off[mk + 1] - w->m_off[mk]) * w->ppa;
        for (int c = 0; c < C; c++) {
            if (m->category >= 0 && c != m->category)
                continue;
            size_t mc = (size_t)mk * C + c;
            double arpu = sc->categories[c].arpu[mk];
            double g = sc->categories[c].gmv[mk];
            adopters += (double)w->adopters[mc] * w->ppa;
            for (int h = 0; h < w->n_firms; h++) {
                if (m->firm >= 0 && !in_group(w, h, m->firm))
                    continue;
                double n = (double)w->users[mc * F + h] * w->ppa;
                users += n;
                rev += n * arpu * w->mu[h];
                gmv += n * g;
                if (m->firm >= 0 && mk == w->home[m->firm])
                    rev_home += n * arpu * w->mu[h];
            }
        }
    }
    switch (m->kind) {
    case MS_M_COUNT: return m->firm >= 0 ? users : adopters;
    case MS_M_SHARE:
        if (m->firm >= 0)
            return adopters > 0 ? users / adopters : NAN;
        return pop > 0 ? adopters / pop : NAN;
    case MS_M_REVENUE: return rev;
    case MS_M_GMV: return gmv;
    case MS_M_ABROAD_SHARE: return rev > 0 ? (rev - rev_home) / rev : NAN;
    default: return NAN;
    }
}

static void observe(ms_world *w, const ms_measure *m, int idx, double when,
                    void *ctx)
{
    (void)when;
    (void)ctx;
    if (w->tnode_step[idx] == w->step)
        w->tnode_val[idx] = basic(w, m);
}

void ms_targets_observe(ms_world *w)
{
    const ms_scenario *sc = w->sc;
    int n = 0;
    for (int i = 0; i < sc->n_targets; i++)
        walk(w, &sc->targets[i].m, NAN, &n, observe, NULL);
}

static double combine(const ms_world *w, const ms_measure *m, int *idx)
{
    if (m->kind == MS_M_GROWTH) {
        double a = combine(w, m->a, idx), b = combine(w, m->a, idx);
        return a != 0 ? (b - a) / a : NAN;
    }
    if (m->kind == MS_M_RATIO) {
        double a = combine(w, m->a, idx), b = combine(w, m->b, idx);
        return b != 0 ? a / b : NAN;
    }
    return w->tnode_val[(*idx)++];
}

void ms_targets_results(const ms_world *w, double *sim)
{
    int n = 0;
    for (int i = 0; i < w->sc->n_targets; i++)
        sim[i] = combine(w, &w->sc->targets[i].m, &n);
}
