/*
 * localize.c: becoming local (MODEL.md section 4).
 *
 * The budget is split over the foreign markets the firm is in (where
 * L < 1) and the market it is entering, in proportion to attractiveness
 * A_m = P_m * sum_c arpu_cm * exp(-lambda CD(home, m)) * openness_m over
 * the categories it offers. In a market it is in, spending s raises
 * L += (1 - L)(1 - exp(-k_L s / (P_m c_L))). The share for the market it
 * is entering (the most attractive one not entered; closed markets have
 * A = 0 and are never chosen) is set aside; once the set-aside reaches
 * entry_cost / openness the firm pays it and enters, with L = L0.
 */
#include "models/strategy.h"

#include <math.h>

static double attractiveness(const ms_world *w, int f, int m)
{
    const ms_scenario *sc = w->sc;
    const ms_market_spec *mk = &sc->markets[m];
    if (mk->openness <= 0)
        return 0;
    double arpu = 0;
    for (int c = 0; c < w->C; c++)
        if (!isnan(w->quality[(size_t)f * w->C + c]))
            arpu += sc->categories[c].arpu[m];
    return mk->population * arpu *
           exp(-sc->model.lambda * sc->cd[w->home[f] * w->M + m]) *
           mk->openness;
}

ms_status ms_localize_act(ms_world *w, int f, double budget)
{
    const ms_scenario *sc = w->sc;
    const int M = w->M;
    double A[MS_MAX_MARKETS], total = 0, best = 0;
    int target = -1;
    for (int m = 0; m < M; m++) {
        A[m] = 0;
        if (m == w->home[f])
            continue;
        double a = attractiveness(w, f, m);
        if (w->present[(size_t)f * M + m] != 0) {
            if (w->loc[(size_t)f * M + m] < 1)
                A[m] = a;
        } else if (a > best) {
            best = a;
            target = m;
        }
    }
    for (int m = 0; m < M; m++)
        if (w->present[(size_t)f * M + m] != 0)
            total += A[m];
    total += best;
    if (budget > 0 && total > 0) {
        for (int m = 0; m < M; m++) {
            if (A[m] <= 0 || w->present[(size_t)f * M + m] == 0)
                continue;
            double s = budget * A[m] / total;
            double *L = &w->loc[(size_t)f * M + m];
            double pop = sc->markets[m].population;
            *L += (1 - *L) * -expm1(-sc->model.k_L * s / (pop * sc->model.c_L));
            if (*L > 1)
                *L = 1;
            w->spend[f] += s;
        }
        if (target >= 0)
            w->entry_fund[f] += budget * best / total;
    }
    if (target < 0)
        return MS_OK;
    const ms_market_spec *mk = &sc->markets[target];
    double cost = mk->entry_cost / mk->openness;
    if (w->entry_fund[f] >= cost && ms_cash_free(w, f) >= cost) {
        w->spend[f] += cost;
        w->entry_fund[f] = 0;
        w->present[(size_t)f * M + target] = 1;
        double *L = &w->loc[(size_t)f * M + target];
        if (*L < sc->model.L0)
            *L = sc->model.L0;
        ms_world_event(w, MS_EV_ENTER_MARKET, f, -1, target, -1, cost);
    }
    return MS_OK;
}
