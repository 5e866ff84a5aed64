/*
 * learning.c: how firms change their strategy mix (MODEL.md section 7).
 *
 * Every strategy_period steps each independent firm's value growth over
 * the period is measured, g = (V - V_prev) / max(|V_prev|, 1 USD). Then:
 *  - fixed: the mix stays as the scenario gives it;
 *  - roth_erev: reinforcement over a menu of K = 10 allocations (the four
 *    pure mixes and the six half-half pairs). With reward r = max(0, 1 + g)
 *    the propensities become q_k <- (1 - phi) q_k + E_k, E_k = r (1 - eps)
 *    for the allocation used and r eps / (K - 1) for the others; the next
 *    allocation is drawn with probability q_k / sum q. (The experimentation
 *    spill-over is r eps / (K - 1), as in Roth and Erev's model with
 *    experimentation, so that with payoffs 1 and 0 the better allocation is
 *    chosen with probability 1 - eps; docs/MODEL.md explains why not
 *    q_k eps / (K - 1).) The first period runs the scenario's mix and only
 *    draws the next allocation.
 *  - imitate: with probability m_imit the firm copies the mix of the
 *    fastest-growing firm with the same home market (if that grew faster),
 *    adds normal noise of sd m_noise to each weight, clips at 0 and
 *    renormalizes.
 */
#include "models/strategy.h"

#include <gsl/gsl_randist.h>
#include <math.h>

/* The menu: pure mixes first, then the pairs (0,1) (0,2) ... (2,3). */
static void menu(int k, double *wts)
{
    for (int s = 0; s < MS_N_STRATEGIES; s++)
        wts[s] = 0;
    if (k < MS_N_STRATEGIES) {
        wts[k] = 1;
        return;
    }
    int idx = MS_N_STRATEGIES;
    for (int a = 0; a < MS_N_STRATEGIES; a++)
        for (int b = a + 1; b < MS_N_STRATEGIES; b++, idx++)
            if (idx == k) {
                wts[a] = wts[b] = 0.5;
                return;
            }
}

void ms_learning_menu(int k, double *wts) { menu(k, wts); }

/* One Roth-Erev update: reinforce `used` with reward r, return the next
 * allocation drawn with uniform u. Exposed for the validation test. */
int ms_roth_erev_update(double *q, int K, int used, double r, double phi,
                        double eps, double u)
{
    if (used >= 0)
        for (int k = 0; k < K; k++)
            q[k] = (1 - phi) * q[k] +
                   (k == used ? r * (1 - eps) : r * eps / (K - 1));
    double tot = 0;
    for (int k = 0; k < K; k++)
        tot += q[k];
    if (!(tot > 0))
        return (int)(u * K) < K ? (int)(u * K) : K - 1;
    double x = u * tot, cum = 0;
    for (int k = 0; k < K; k++) {
        cum += q[k];
        if (x < cum)
            return k;
    }
    return K - 1;
}

ms_status ms_learning_update(ms_world *w)
{
    const ms_model_spec *md = &w->sc->model;
    if ((w->step + 1) % md->strategy_period != 0)
        return MS_OK;
    for (int f = 0; f < w->n_firms; f++) {
        double base = fabs(w->v_prev[f]) > 1 ? fabs(w->v_prev[f]) : 1;
        w->growth[f] = w->alive[f] ? (w->value[f] - w->v_prev[f]) / base : NAN;
    }
    gsl_rng *r = w->frng;
    for (int f = 0; f < w->n_firms; f++) {
        if (!w->alive[f] || w->owner[f] != f || w->learn[f] == MS_LEARN_FIXED)
            continue;
        double *wts = &w->weights[(size_t)f * MS_N_STRATEGIES];
        ms_rng_gsl_reset(r, w->key, (uint32_t)f, (uint32_t)w->step,
                         MS_PH_LEARN, 0);
        if (w->learn[f] == MS_LEARN_ROTH_EREV) {
            double reward = 1 + w->growth[f];
            if (!(reward > 0))
                reward = 0;
            int k = ms_roth_erev_update(&w->re_q[(size_t)f * MS_RE_MENU],
                                        MS_RE_MENU, w->re_used[f], reward,
                                        md->re_phi, md->re_eps,
                                        gsl_rng_uniform(r));
            w->re_used[f] = k;
            menu(k, wts);
        } else if (gsl_rng_uniform(r) < md->m_imit) {
            int best = -1;
            for (int g = 0; g < w->n_firms; g++)
                if (g != f && w->alive[g] && w->owner[g] == g &&
                    w->home[g] == w->home[f] &&
                    (best < 0 || w->growth[g] > w->growth[best]))
                    best = g;
            if (best < 0 || !(w->growth[best] > w->growth[f]))
                continue;
            const double *src = &w->weights[(size_t)best * MS_N_STRATEGIES];
            double sum = 0;
            for (int s = 0; s < MS_N_STRATEGIES; s++) {
                double x = src[s] + gsl_ran_gaussian(r, md->m_noise);
                wts[s] = x > 0 ? x : 0;
                sum += wts[s];
            }
            for (int s = 0; s < MS_N_STRATEGIES; s++)
                wts[s] = sum > 0 ? wts[s] / sum : 1.0 / MS_N_STRATEGIES;
        }
    }
    for (int f = 0; f < w->n_firms; f++)
        w->v_prev[f] = w->value[f];
    return MS_OK;
}
