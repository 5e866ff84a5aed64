/*
 * step.c: the step loop as a table of phases, and the invariants.
 *
 * A step runs the phases below in order (MODEL.md section 2); each is timed
 * under its name. The engine knows nothing of economics: it calls the
 * phase functions of models/ through this table. "prepare" builds, from the
 * state at the start of the step, the view consumers choose from, so
 * what firms do in this step takes effect for consumers in the next one.
 */
#include "core/world_int.h"

#include "marketsim/ms_alloc.h"

#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <string.h>

typedef ms_status (*ms_phase_fn)(ms_world *w);

typedef struct ms_phase {
    const char *name;
    ms_phase_fn fn;
} ms_phase;

static const ms_phase phases[] = {
    {"prepare", ms_view_prepare},     /* choice tables from start-of-step state */
    {"firms", ms_firms_act},          /* strategies, in random order (step 1) */
    {"consumers", ms_consumers_move}, /* adoption, churn, choice (step 2) */
    {"accounts", ms_firms_accounts},  /* revenue, costs, transfers (step 3) */
    {"exit", ms_firms_exit},          /* negative cash too long (step 4) */
    {"entry", ms_firms_entry},        /* local start-ups (step 5) */
    {"learning", ms_learning_update}, /* strategy mix (step 6) */
    {"observe", ms_observe},          /* HHI, foreign share, groups */
};

#define N_PHASES ((int)(sizeof phases / sizeof phases[0]))

int ms_world_phase_count(void) { return N_PHASES; }
const char *ms_world_phase_name(int i) { return phases[i].name; }
double ms_world_phase_seconds(const ms_world *w, int i)
{
    return w->phase_sec[i];
}

ms_status ms_world_step(ms_world *w)
{
    w->n_ev = 0;
    for (int i = 0; i < N_PHASES; i++) {
        double t0 = omp_get_wtime();
        ms_status st = phases[i].fn(w);
        w->phase_sec[i] += omp_get_wtime() - t0;
        if (st != MS_OK) {
            ms_error_frame(__FILE__, __LINE__, phases[i].name);
            return st;
        }
    }
    w->step++;
    ms_targets_observe(w);
    return MS_OK;
}

ms_status ms_world_check(const ms_world *w)
{
    const int M = w->M, C = w->C, F = w->F;
    const ms_scenario *sc = w->sc;
    /* Users per (c, m) sum to the adopters, within the ceiling, and equal a
     * fresh count of the consumers' own states. */
    for (int m = 0; m < M; m++)
        for (int c = 0; c < C; c++) {
            size_t mc = (size_t)m * C + c;
            int64_t sum = 0;
            for (int f = 0; f < F; f++) {
                if (w->users[mc * F + f] < 0)
                    return MS_ERROR(MS_ECHECK, "check failed at step %lld: "
                                    "firm %s has %lld users of %s in %s",
                                    (long long)w->step, w->fname[f],
                                    (long long)w->users[mc * F + f],
                                    sc->categories[c].name,
                                    sc->markets[m].name);
                sum += w->users[mc * F + f];
            }
            if (sum != w->adopters[mc])
                return MS_ERROR(MS_ECHECK, "check failed at step %lld: users "
                                "of %s in %s sum to %lld but adopters are "
                                "%lld", (long long)w->step,
                                sc->categories[c].name, sc->markets[m].name,
                                (long long)sum, (long long)w->adopters[mc]);
            int64_t Nm = w->m_off[m + 1] - w->m_off[m];
            if (w->adopters[mc] > w->K[mc] ||
                (double)w->K[mc] > sc->categories[c].ceiling[m] * Nm + 0.5)
                return MS_ERROR(MS_ECHECK, "check failed at step %lld: %lld "
                                "adopters of %s in %s exceed the ceiling "
                                "kappa * N = %.1f", (long long)w->step,
                                (long long)w->adopters[mc],
                                sc->categories[c].name, sc->markets[m].name,
                                sc->categories[c].ceiling[m] * Nm);
        }
    /* A fresh count of the consumers' states: of this process's slice,
     * summed over the ranks of a distributed run (so every rank reaches
     * the same verdict). */
    int64_t *count = w->tl_delta[0]; /* scratch of M * C * (F + 1) */
    memset(count, 0, (size_t)M * C * sizeof *count);
    for (int m = 0; m < M; m++) {
        size_t lo, hi;
        ms_world_local(w, m, &lo, &hi);
        for (int c = 0; c < C; c++) {
            int64_t adopters = 0;
            for (size_t i = lo; i < hi; i++) {
                unsigned s = ms_choice_get(w, c, i);
                adopters += s != MS_NOPOT && s != 0;
            }
            count[(size_t)m * C + c] = adopters;
        }
    }
    ms_world_sum_i64(w, count, (size_t)M * C);
    for (int c = 0; c < C; c++)
        for (int m = 0; m < M; m++) {
            size_t mc = (size_t)m * C + c;
            int64_t adopters = count[mc];
            if (adopters != w->adopters[mc])
                return MS_ERROR(MS_ECHECK, "check failed at step %lld: %lld "
                                "consumers use %s in %s, but the count kept "
                                "says %lld", (long long)w->step,
                                (long long)adopters, sc->categories[c].name,
                                sc->markets[m].name,
                                (long long)w->adopters[mc]);
        }
    for (int f = 0; f < w->n_firms; f++) {
        /* Cash changed exactly by the recorded flows, up to the rounding of
         * the two ways of summing them. */
        double diff = (w->cash[f] - w->cash0[f]) - w->flow_sum[f];
        double tol = 1e-9 * (1.0 + w->flow_abs[f] + fabs(w->cash0[f]));
        if (!(fabs(diff) <= tol))
            return MS_ERROR(MS_ECHECK, "check failed at step %lld: cash of "
                            "%s changed by %.17g USD but its recorded flows "
                            "sum to %.17g", (long long)w->step, w->fname[f],
                            w->cash[f] - w->cash0[f], w->flow_sum[f]);
        /* Ownership has no cycles. */
        int g = f, hops = 0;
        while (w->owner[g] != g && hops <= w->n_firms) {
            g = w->owner[g];
            hops++;
        }
        if (hops > w->n_firms)
            return MS_ERROR(MS_ECHECK, "check failed at step %lld: the owners "
                            "of %s form a cycle", (long long)w->step,
                            w->fname[f]);
        for (int m = 0; m < M; m++) {
            double L = w->loc[(size_t)f * M + m];
            if (!(L >= 0 && L <= 1) || (m == w->home[f] && L != 1))
                return MS_ERROR(MS_ECHECK, "check failed at step %lld: "
                                "localization of %s in %s is %.17g",
                                (long long)w->step, w->fname[f],
                                sc->markets[m].name, L);
        }
        const double *wt = &w->weights[(size_t)f * MS_N_STRATEGIES];
        double sum = 0;
        for (int s = 0; s < MS_N_STRATEGIES; s++) {
            if (!(wt[s] >= 0))
                return MS_ERROR(MS_ECHECK, "check failed at step %lld: "
                                "weight of %s on %s is %g", (long long)w->step,
                                w->fname[f], ms_strategy_names[s], wt[s]);
            sum += wt[s];
        }
        if (fabs(sum - 1) > 1e-9)
            return MS_ERROR(MS_ECHECK, "check failed at step %lld: strategy "
                            "weights of %s sum to %.17g, not 1",
                            (long long)w->step, w->fname[f], sum);
        double held = 0;
        for (int i = 0; i < w->n_stakes; i++)
            if (w->st_tgt[i] == f)
                held += w->st_sigma[i];
        if (held > 1 + 1e-12)
            return MS_ERROR(MS_ECHECK, "check failed at step %lld: stakes in "
                            "%s sum to %.17g, above 1", (long long)w->step,
                            w->fname[f], held);
        if (!isfinite(w->cash[f]))
            return MS_ERROR(MS_ECHECK, "check failed at step %lld: cash of "
                            "%s is %g", (long long)w->step, w->fname[f],
                            w->cash[f]);
    }
    return MS_OK;
}
