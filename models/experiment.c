/*
 * experiment.c: "try fast, fail fast" (MODEL.md section 3).
 *
 * The experiment budget buys n ~ Poisson(B / cost) experiments. Each picks
 * one of the firm's categories and draws x = w (2 Beta(3,3) - 1), w = w0 b.
 * Per category the best positive draw is kept (a += max(0, max x)), and the
 * worst failure is seen live by the firm's users in this step: their
 * weight for the firm is multiplied by exp(-exposure |min(0, min x)|),
 * exposure = b * live_share. With probability 1 - exp(-zeta B / cost) the
 * firm also imitates: it closes a share theta of its gap to the best
 * quality among the firms in its markets.
 *
 * Draws are exact and cost O(categories), whatever n: the experiments are
 * split over categories by a multinomial draw, and the largest and
 * smallest of k Beta(3,3) draws come from the order statistics: the maximum
 * is F^-1(U^(1/k)), and given it the minimum of the other k - 1 (drawn
 * below it) is F^-1(F(max) (1 - V^(1/(k-1)))).
 *
 * Launching a format: for a hosted category whose host the firm serves in
 * a market and has not launched there, the n experiments launch it with
 * chance 1 - (1 - p_launch)^n. A firm that did not offer the format starts
 * it at its host app's quality minus launch_gap.
 */
#include "models/strategy.h"

#include <gsl/gsl_cdf.h>
#include <gsl/gsl_randist.h>
#include <math.h>

/* Largest and smallest of k >= 1 draws of Beta(3,3), exactly. */
void ms_beta33_extremes(gsl_rng *r, unsigned k, double *mx, double *mn)
{
    double u = gsl_rng_uniform_pos(r);
    double top = gsl_cdf_beta_Pinv(pow(u, 1.0 / k), 3, 3);
    *mx = top;
    if (k == 1) {
        *mn = top;
        return;
    }
    double v = gsl_rng_uniform_pos(r);
    double p = gsl_cdf_beta_P(top, 3, 3) * (1 - pow(v, 1.0 / (k - 1)));
    *mn = gsl_cdf_beta_Pinv(p, 3, 3);
}

/* At most this many experiments a step. GSL's Poisson sampler loops
 * (practically) forever for means near 2^32 and above, and the count is an
 * unsigned; a budget of 3e10 USD at a cost of 1 USD hung a run. Long before
 * this many, the best and worst draws and the launch chance are saturated,
 * so the cap changes no result that matters (the imitation chance still
 * uses the whole budget). */
#define MAX_EXPERIMENTS 1e8

ms_status ms_experiment_act(ms_world *w, int f, double budget)
{
    if (!(budget > 0))
        return MS_OK;
    const ms_model_spec *md = &w->sc->model;
    const int C = w->C, M = w->M;
    w->spend[f] += budget;
    double lam = budget / md->cost_experiment;
    gsl_rng *r = w->frng;
    ms_rng_gsl_reset(r, w->key, (uint32_t)f, (uint32_t)w->step,
                     MS_PH_EXPERIMENT, 0);
    unsigned n = gsl_ran_poisson(r, lam < MAX_EXPERIMENTS ? lam
                                                          : MAX_EXPERIMENTS);

    int cats[MS_MAX_CATEGORIES], nc = 0;
    for (int c = 0; c < C; c++)
        if (!isnan(w->quality[(size_t)f * C + c]))
            cats[nc++] = c;
    const double width = md->w0 * w->bold[f];
    const double exposure = w->bold[f] * md->live_share;
    if (n > 0 && nc > 0) {
        double prob[MS_MAX_CATEGORIES];
        unsigned cnt[MS_MAX_CATEGORIES];
        for (int i = 0; i < nc; i++)
            prob[i] = 1.0 / nc;
        gsl_ran_multinomial(r, (size_t)nc, n, prob, cnt);
        for (int i = 0; i < nc; i++) {
            if (!cnt[i])
                continue;
            int c = cats[i];
            double bmax, bmin;
            ms_beta33_extremes(r, cnt[i], &bmax, &bmin);
            double xmax = width * (2 * bmax - 1), xmin = width * (2 * bmin - 1);
            if (xmax > 0)
                w->quality[(size_t)f * C + c] += xmax;
            if (xmin < 0 && exposure > 0) {
                /* Users of f in c see the failure in this step's choices. */
                double factor = exp(-exposure * -xmin);
                for (int m = 0; m < M; m++) {
                    ms_ctab *t = &w->ctab[(size_t)m * C + c];
                    int k = t->slot[f + 1];
                    if (k >= 0)
                        t->own[k] *= factor;
                }
            }
        }
    }

    /* Imitation: close part of the gap to the best in the firm's markets. */
    if (gsl_rng_uniform(r) < -expm1(-md->zeta * lam)) {
        for (int i = 0; i < nc; i++) {
            int c = cats[i];
            double best = -HUGE_VAL;
            for (int g = 0; g < w->n_firms; g++) {
                if (g == f || !w->alive[g] ||
                    isnan(w->quality[(size_t)g * C + c]))
                    continue;
                for (int m = 0; m < M; m++)
                    if (w->present[(size_t)f * M + m] != 0 &&
                        ms_firm_offers(w, g, c, m)) {
                        double a = w->quality[(size_t)g * C + c];
                        if (a > best)
                            best = a;
                        break;
                    }
            }
            double *a = &w->quality[(size_t)f * C + c];
            if (best > *a)
                *a += md->theta * (best - *a);
        }
    }

    /* Launching hosted formats in the markets where the firm serves the
     * host. */
    if (n == 0 || md->p_launch <= 0)
        return MS_OK;
    double p_any = -expm1((double)n * log1p(-md->p_launch));
    if (md->p_launch >= 1)
        p_any = 1;
    for (int c = 0; c < C; c++) {
        int h = w->sc->categories[c].host;
        if (h < 0 || isnan(w->quality[(size_t)f * C + h]))
            continue;
        for (int m = 0; m < M; m++) {
            uint8_t *l = &w->launched[((size_t)f * C + c) * M + m];
            if (*l || !ms_firm_offers(w, f, h, m))
                continue;
            if (!(gsl_rng_uniform(r) < p_any))
                continue;
            *l = 1;
            double *a = &w->quality[(size_t)f * C + c];
            if (isnan(*a))
                *a = w->quality[(size_t)f * C + h] - md->launch_gap;
            ms_world_event(w, MS_EV_LAUNCH, f, -1, m, c, 0);
        }
    }
    return MS_OK;
}
