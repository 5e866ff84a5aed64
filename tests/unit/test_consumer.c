/*
 * test_consumer.c: the consumer's two random decisions (models/consumer.c):
 * the hazard test ms_hazard_event and the logit choice ms_choose_slot, on
 * hand-built choice tables and on ones ms_ctab_build makes from a world.
 *
 * Choice probabilities are computed here independently, in log space with
 * long doubles, from MODEL.md section 2:
 *   V_k = a_k + gamma S_k - phi * lambda CD (1 - L)   (every firm)
 *         + k_sw + log(own_k)                         (the current firm)
 *         + eta                                       (the host app's firm)
 * Two checks per case:
 *  - stratified uniforms u_j = (j + 1/2)/n: an exact inverse-CDF draw puts
 *    n p_k +- 1 of them in slot k (deterministic, so the bound is tight);
 *  - n Philox uniforms: Pearson's chi-square against the critical value at
 *    p = 1e-6 (GSL's inverse CDF), so a correct choice fails once in a
 *    million runs, and the stream is fixed, so it never flakes.
 *
 * PENDING copy: this file is the committed test plus a test of a known
 * engine bug (marked PENDING below); when the bug is fixed, replace the
 * committed file with it.
 */
#include "core/world_int.h"
#include "unit/unit.h"

#include "marketsim/ms_alloc.h"

#include <float.h>
#include <gsl/gsl_cdf.h>
#include <string.h>

/* ---- the hazard test ---- */

static long hazard_mismatches(double u, double h, long *n)
{
    (*n)++;
    int want = u < -expm1(-h);
    if (ms_hazard_event(u, h) != want) {
        printf("\n    ms_hazard_event(%.17g, %.17g) = %d, expected %d\n", u, h,
               !want, want);
        return 1;
    }
    return 0;
}

static void test_hazard_event(void)
{
    long bad = 0, n = 0;
    /* Dense grid: h log-spaced over [1e-8, 5], u at fixed fractions of
     * the bounds and at their neighbouring doubles. */
    const int NH = 20001;
    for (int i = 0; i < NH && bad < 10; i++) {
        double h = 1e-8 * pow(5e8, (double)i / (NH - 1));
        double lo = h - 0.5 * h * h, ex = -expm1(-h);
        double us[] = {lo, nextafter(lo, 0), nextafter(lo, 2),
                       ex, nextafter(ex, 0), nextafter(ex, 2),
                       h, nextafter(h, 0), nextafter(h, 2),
                       0.5 * (lo + ex), 0.5 * (ex + h),
                       0.1 * h, 0.9 * lo, 1.1 * h, 0.999999 * ex,
                       1e-300, 0.5, 1 - 0x1p-53};
        for (size_t k = 0; k < sizeof us / sizeof us[0]; k++)
            if (us[k] > 0 && us[k] < 1)
                bad += hazard_mismatches(us[k], h, &n);
    }
    /* Random pairs: h = 10^U(-8, log10 5), u uniform on (0, 1) and also
     * concentrated near h. */
    ms_rng_key key = ms_rng_key_from_seed(7);
    for (uint32_t j = 0; j < 1000000 && bad < 10; j++) {
        double a = ms_rng_uniform(key, j, 0, MS_PH_TEST, 0);
        double b = ms_rng_uniform(key, j, 0, MS_PH_TEST, 1);
        double h = pow(10, -8 + a * (8 + log10(5)));
        bad += hazard_mismatches(b, h, &n);
        bad += hazard_mismatches(h * (1 - 0.75 * h * b), h, &n);
    }
    /* h = 0 never fires; a huge h almost always does. */
    bad += hazard_mismatches(1e-300, 0, &n);
    bad += hazard_mismatches(0.5, 0, &n);
    bad += hazard_mismatches(0.5, 40, &n);
    bad += hazard_mismatches(1 - 0x1p-53, 40, &n);
    printf("\n    %ld (u, h) pairs, %ld mismatches\n", n, bad);
    CU_ASSERT_EQUAL(bad, 0);
    CU_ASSERT(n > 2000000);
}

/* ---- choice tables ---- */

enum { KMAX = 8 };

typedef struct tab {
    ms_ctab t;
    uint16_t fid[KMAX];
    double E[KMAX], logE[KMAX], own[KMAX], D[KMAX];
    int grp[KMAX];
    int32_t slot[KMAX + 2];
    double xfeat[KMAX + 2];
} tab;

/* A table as ms_ctab_build leaves it: logE relative to the best firm, and
 * groups D[0] < D[1] < ... */
static void tab_make(tab *s, int K, const double *a, const int *grp,
                     const double *D, int G, double k_sw, double eta,
                     const double *own)
{
    memset(s, 0, sizeof *s);
    ms_ctab *t = &s->t;
    t->fid = s->fid;
    t->E = s->E;
    t->logE = s->logE;
    t->own = s->own;
    t->grp = s->grp;
    t->D = s->D;
    t->slot = s->slot;
    t->xfeat = s->xfeat;
    t->K = K;
    t->G = G;
    t->host = -1;
    t->stay = exp(k_sw);
    t->host_bonus = exp(eta);
    double amax = -HUGE_VAL;
    for (int k = 0; k < K; k++)
        amax = a[k] > amax ? a[k] : amax;
    for (int k = 0; k < K; k++) {
        s->fid[k] = (uint16_t)k;
        s->logE[k] = a[k] - amax;
        s->E[k] = exp(s->logE[k]);
        s->own[k] = own ? own[k] : 1;
        s->grp[k] = grp[k];
    }
    for (int g = 0; g < G; g++)
        s->D[g] = D[g];
}

/* The logit probabilities, independently of the engine's arithmetic. */
static void logit(const ms_ctab *t, double phi, int cur, int host, double *p)
{
    long double v[KMAX], vmax = -HUGE_VALL, tot = 0;
    for (int k = 0; k < t->K; k++) {
        v[k] = (long double)t->logE[k] - (long double)phi * t->D[t->grp[k]];
        if (k == cur)
            v[k] += logl(t->stay) + logl(t->own[k]);
        if (k == host)
            v[k] += logl(t->host_bonus);
        vmax = v[k] > vmax ? v[k] : vmax;
    }
    for (int k = 0; k < t->K; k++)
        tot += expl(v[k] - vmax);
    for (int k = 0; k < t->K; k++)
        p[k] = (double)(expl(v[k] - vmax) / tot);
}

/* Stratified: every slot gets n p_k +- 1 of the n points. Returns the
 * largest |count - n p|. */
static double stratified(const ms_ctab *t, double phi, int cur, int host,
                         int n, const double *p)
{
    long cnt[KMAX] = {0};
    double scratch[2 * KMAX + 2];
    int out_of_range = 0;
    for (int j = 0; j < n; j++) {
        int k = ms_choose_slot(t, phi, cur, host, (j + 0.5) / n, scratch);
        if (k < 0 || k >= t->K)
            out_of_range++;
        else
            cnt[k]++;
    }
    CU_ASSERT_EQUAL(out_of_range, 0);
    double worst = 0;
    for (int k = 0; k < t->K; k++) {
        double d = fabs((double)cnt[k] - n * p[k]);
        if (d > 1.5)
            printf("\n    slot %d: %ld of %d, expected %.2f (p %.6g)\n", k,
                   cnt[k], n, n * p[k], p[k]);
        worst = d > worst ? d : worst;
    }
    return worst;
}

/* Pearson chi-square of n Philox draws; returns chi2 / critical value. */
static double chi_square(const ms_ctab *t, double phi, int cur, int host,
                         int n, const double *p, uint32_t stream)
{
    long cnt[KMAX] = {0};
    double scratch[2 * KMAX + 2];
    ms_rng_key key = ms_rng_key_from_seed(1234);
    int out_of_range = 0;
    for (int j = 0; j < n; j++) {
        double u = ms_rng_uniform(key, (uint32_t)j, stream, MS_PH_TEST, 9);
        int k = ms_choose_slot(t, phi, cur, host, u, scratch);
        if (k < 0 || k >= t->K)
            out_of_range++;
        else
            cnt[k]++;
    }
    CU_ASSERT_EQUAL(out_of_range, 0);
    double chi2 = 0;
    int df = -1;
    for (int k = 0; k < t->K; k++) {
        if (p[k] == 0) {
            CU_ASSERT_EQUAL(cnt[k], 0);
            continue;
        }
        double e = n * p[k];
        chi2 += (cnt[k] - e) * (cnt[k] - e) / e;
        df++;
    }
    if (df < 1)
        return 0;
    double crit = gsl_cdf_chisq_Qinv(1e-6, df);
    if (!(chi2 < crit))
        printf("\n    chi-square %.2f >= %.2f (df %d, p = 1e-6)\n", chi2,
               crit, df);
    return chi2 / crit;
}

static void check_choice(const ms_ctab *t, double phi, int cur, int host,
                         uint32_t stream)
{
    double p[KMAX];
    logit(t, phi, cur, host, p);
    CU_ASSERT(stratified(t, phi, cur, host, 200000, p) <= 1.5);
    CU_ASSERT(chi_square(t, phi, cur, host, 200000, p, stream) < 1);
}

static const double qa[5] = {0.0, -0.3, 0.4, -1.0, 0.2};
static const int qg[5] = {0, 1, 0, 1, 2};
static const double qD[3] = {0, 0.7, 1.9};
static const double qown[5] = {1, 1, 0.8, 0.9, 1};

static void test_choice_hand_table(void)
{
    tab s;
    tab_make(&s, 5, qa, qg, qD, 3, 0.5, 0.4, qown);
    /* A new adopter: no current firm, no host app. */
    check_choice(&s.t, 1.3, -1, -1, 1);
    /* Re-evaluation: stay factor exp(k_sw) * own, host bonus elsewhere. */
    check_choice(&s.t, 1.3, 2, 1, 2);
    /* Current firm is also the host app's: both factors. */
    check_choice(&s.t, 0.2, 3, 3, 3);
    /* phi = 0: foreignness does not matter. */
    check_choice(&s.t, 0, 4, 0, 4);
    /* A strongly averse consumer. */
    check_choice(&s.t, 6.5, 1, 4, 5);
    /* The stay factor alone changes the answer as it should: with a large
     * switching cost the current firm nearly always keeps the user. */
    tab_make(&s, 5, qa, qg, qD, 3, 8, 0, NULL);
    double p[KMAX];
    logit(&s.t, 1, 3, -1, p);
    CU_ASSERT(p[3] > 0.99);
    check_choice(&s.t, 1, 3, -1, 6);
}

static void test_choice_one_firm(void)
{
    tab s;
    const double a[1] = {3};
    const int g[1] = {0};
    const double D[1] = {2};
    tab_make(&s, 1, a, g, D, 1, 1, 1, NULL);
    double scratch[4];
    const double us[] = {1e-300, 0.25, 0.5, 1 - 0x1p-53};
    for (size_t i = 0; i < sizeof us / sizeof *us; i++) {
        CU_ASSERT_EQUAL(ms_choose_slot(&s.t, 1, -1, -1, us[i], scratch), 0);
        CU_ASSERT_EQUAL(ms_choose_slot(&s.t, 900, 0, 0, us[i], scratch), 0);
    }
}

/* The slot an exact inverse-CDF draw picks for u (u far from every
 * boundary), from the independent probabilities. */
static int inverse_cdf(const double *p, int K, double u)
{
    long double cum = 0;
    for (int k = 0; k < K; k++) {
        cum += p[k];
        if ((long double)u < cum)
            return k;
    }
    return K - 1;
}

/* Draws over the whole of (0, 1), extremes included, agree with the
 * inverse CDF; returns the argmax, which must take almost all of them. */
static int dominated(const ms_ctab *t, double phi, int cur, int host)
{
    double p[KMAX], scratch[2 * KMAX + 2];
    logit(t, phi, cur, host, p);
    int best = 0;
    for (int k = 1; k < t->K; k++)
        best = p[k] > p[best] ? k : best;
    double others = 0;
    for (int k = 0; k < t->K; k++)
        others += k == best ? 0 : p[k];
    CU_ASSERT(others < 1e-20);
    const double us[] = {1e-300, 1e-30, 1e-9, 0.3, 0.999, 1 - 0x1p-53};
    int n_best = 0;
    for (size_t i = 0; i < sizeof us / sizeof *us; i++) {
        int k = ms_choose_slot(t, phi, cur, host, us[i], scratch);
        CU_ASSERT(k >= 0 && k < t->K);
        CU_ASSERT_EQUAL(k, inverse_cdf(p, t->K, us[i]));
        n_best += k == best;
    }
    CU_ASSERT(n_best >= 4);
    return best;
}

/* Every weight underflows (all firms foreign, phi * D far beyond 745): the
 * choice is redone in log space and must still follow the logit. */
static void test_choice_log_space(void)
{
    tab s;
    /* Utilities 50 apart: the best firm has probability 1 - 2e-22. */
    const double a[3] = {0, 0, 0};
    const int g[3] = {0, 1, 2};
    const double D[3] = {800, 850, 900};
    tab_make(&s, 3, a, g, D, 3, 0, 0, NULL);
    CU_ASSERT_EQUAL(dominated(&s.t, 1, -1, -1), 0);
    /* The best one by quality, when the distance is the same for all. */
    const double a2[3] = {0, 60, -5};
    const int g2[3] = {0, 0, 0};
    const double D2[1] = {2000};
    tab_make(&s, 3, a2, g2, D2, 1, 0, 0, NULL);
    CU_ASSERT_EQUAL(dominated(&s.t, 3, -1, -1), 1);
    /* Stay factor and host bonus count in log space too. */
    tab_make(&s, 3, a, g, (const double[]){1000, 1000, 1000}, 3, 60, 0, NULL);
    CU_ASSERT_EQUAL(dominated(&s.t, 2, 2, -1), 2);
    tab_make(&s, 3, a, g, (const double[]){1000, 1000, 1000}, 3, 0, 70, NULL);
    CU_ASSERT_EQUAL(dominated(&s.t, 2, -1, 1), 1);
    /* Not dominated: the log-space draw has the logit probabilities. */
    const double qD2[3] = {900, 900.7, 901.9};
    tab_make(&s, 5, qa, qg, qD2, 3, 0.5, 0.4, qown);
    CU_ASSERT(!(s.E[0] * exp(-1.3 * qD2[0]) > 0)); /* really underflows */
    check_choice(&s.t, 1.3, -1, -1, 11);
    check_choice(&s.t, 1.3, 2, 1, 12);
    check_choice(&s.t, 1.0, 0, 0, 13);
    /* Some weights underflow, others do not: those that do are never
     * chosen (their true probability is below 1e-300). */
    const double D3[2] = {0, 1000};
    const int g3[3] = {0, 1, 0};
    tab_make(&s, 3, a, g3, D3, 2, 0, 0, NULL);
    double p[KMAX];
    logit(&s.t, 1, -1, -1, p);
    CU_ASSERT(p[1] < 1e-300);
    CU_ASSERT(stratified(&s.t, 1, -1, -1, 100000, p) <= 1.5);
}

/* ---- tables built from a world ---- */

static const char *world_text =
    "run: {seed: 3, people_per_agent: 1}\n"
    "model: {lambda: 0.7, eta: 0.3, iota: 0.25, rho: 0.25}\n"
    "markets:\n"
    "  A: {population: 2000, distance: {B: 1.5, C: 0.4}}\n"
    "  B: {population: 10, distance: {C: 1}}\n"
    "  C: {population: 10}\n"
    "categories:\n"
    "  x: {switching_cost: 0.6, gamma: 2, p: 0.1, q: 0.5, churn: 0.4}\n"
    "  y: {host: x, p_feature: 0.5}\n"
    "firms:\n"
    "  a1: {home: A, quality: {x: 0.2, y: 0}, launched: [y],"
    " prominence: 0.8}\n"
    "  a2: {home: A, quality: {x: -0.1}}\n"
    "  b1: {home: B, quality: {x: 0.9, y: 0.3}, markets: [A],"
    " localization: {A: 0.5}}\n"
    "  b2: {home: B, quality: {x: 0.5}, markets: [A],"
    " localization: {A: 0.5}}\n"
    "  c1: {home: C, quality: {x: 1.1}, markets: [A],"
    " localization: {A: 0.2}}\n"
    "  c2: {home: C, quality: {x: 3}}\n";

static void test_ctab_build(void)
{
    ms_scenario *sc;
    CU_ASSERT_EQUAL_FATAL(ms_scenario_load_string(world_text, "w.yaml", NULL,
                                                  0, &sc), MS_OK);
    ms_world *w;
    CU_ASSERT_EQUAL_FATAL(ms_world_create(sc, 1, &w), MS_OK);
    const int C = w->C, F = w->F;
    CU_ASSERT_EQUAL_FATAL(w->n_firms, 6);
    const double dt = 1.0 / 12;

    /* x in A, no network: a1, a2 local; b1, b2 at lambda CD (1 - L) =
     * 0.7 * 1.5 * 0.5; c1 at 0.7 * 0.4 * 0.8; c2 is not present in A.
     * a1 features y in its x app: clutter costs it rho * prominence. */
    ms_ctab_build(w, 0, 0, 0);
    const ms_ctab *t = &w->ctab[0 * C + 0];
    CU_ASSERT_EQUAL_FATAL(t->K, 5);
    CU_ASSERT_EQUAL_FATAL(t->G, 3);
    for (int k = 0; k < 5; k++)
        CU_ASSERT_EQUAL(t->fid[k], k);
    CU_ASSERT_EQUAL(t->slot[0], -1);
    for (int f = 0; f < 5; f++)
        CU_ASSERT_EQUAL(t->slot[f + 1], f);
    CU_ASSERT_EQUAL(t->slot[6], -1);
    MS_ASSERT_NEAR(t->D[0], 0, 0);
    MS_ASSERT_NEAR(t->D[1], 0.7 * 0.4 * 0.8, 1e-15);
    MS_ASSERT_NEAR(t->D[2], 0.7 * 1.5 * 0.5, 1e-15);
    const int want_grp[5] = {0, 0, 2, 2, 1};
    const double a[5] = {0.2 - 0.25 * 0.8, -0.1, 0.9, 0.5, 1.1};
    for (int k = 0; k < 5; k++) {
        CU_ASSERT_EQUAL(t->grp[k], want_grp[k]);
        MS_ASSERT_NEAR(t->logE[k], a[k] - 1.1, 1e-15);
        MS_ASSERT_NEAR(t->E[k], exp(a[k] - 1.1), 1e-15);
        CU_ASSERT_EQUAL(t->own[k], 1);
    }
    MS_ASSERT_NEAR(t->stay, exp(0.6), 1e-15);
    MS_ASSERT_NEAR(t->host_bonus, exp(0.3), 1e-15);
    CU_ASSERT_EQUAL(t->host, -1);
    MS_ASSERT_NEAR(t->pdt, 0.1 * dt, 1e-17);
    MS_ASSERT_NEAR(t->reeval, 1 - exp(-0.4 * dt), 1e-16);
    CU_ASSERT_EQUAL(t->rv_uniform, 1);
    for (int f = 0; f < 5; f++)
        CU_ASSERT_EQUAL(t->rv[f + 1], t->reeval);
    CU_ASSERT_EQUAL(t->feat_any, 0);
    check_choice(t, 0.9, -1, -1, 21);
    check_choice(t, 0.9, 2, 0, 22);
    check_choice(t, 2.5, 4, 4, 23);

    /* y in A: a1 and b1 offer it; hosted by x; a1 features it with
     * prominence 0.8: users of a1's host app get 0.8 * 0.5 * dt. */
    ms_ctab_build(w, 0, 1, 0);
    const ms_ctab *ty = &w->ctab[0 * C + 1];
    CU_ASSERT_EQUAL(ty->K, 2);
    CU_ASSERT_EQUAL(ty->G, 2);
    CU_ASSERT_EQUAL(ty->host, 0);
    CU_ASSERT_EQUAL(ty->fid[0], 0);
    CU_ASSERT_EQUAL(ty->fid[1], 2);
    CU_ASSERT_EQUAL(ty->feat_any, 1);
    MS_ASSERT_NEAR(ty->xfeat[1], 0.8 * 0.5 * dt, 1e-17);
    for (int s = 2; s < F + 2; s++)
        CU_ASSERT_EQUAL(ty->xfeat[s], 0);

    /* With the network: S = (n + iota * partners' n) / A. Users are set
     * by hand (the table reads only the counts). */
    int64_t *n = &w->users[(0 * C + 0) * F];
    const int64_t users[6] = {300, 100, 200, 0, 400, 0};
    int64_t A = 0;
    for (int f = 0; f < F; f++)
        n[f] = 0;
    for (int f = 0; f < 6; f++)
        A += n[f] = users[f];
    w->adopters[0 * C + 0] = A;
    w->pa[0] = 1; /* a2 and c1 are partners */
    w->pb[0] = 4;
    w->n_partners = 1;
    ms_ctab_build(w, 0, 0, 1);
    double net[5] = {300, 100 + 0.25 * 400, 200, 0, 400 + 0.25 * 100};
    double b[5], bmax = -HUGE_VAL;
    for (int k = 0; k < 5; k++) {
        b[k] = a[k] + 2 * net[k] / (double)A;
        bmax = b[k] > bmax ? b[k] : bmax;
    }
    for (int k = 0; k < 5; k++)
        MS_ASSERT_NEAR(t->logE[k], b[k] - bmax, 1e-14);
    MS_ASSERT_NEAR(t->qterm, 0.5 * (double)A / (double)w->K[0] * dt, 1e-15);
    check_choice(t, 0.9, 1, 2, 24);

    /* Users of a firm that no longer offers x in A must re-choose: their
     * re-evaluation chance is above any uniform. */
    CU_ASSERT_EQUAL(t->rv_uniform, 1);
    w->present[2 * w->M + 0] = 0; /* b1 leaves A */
    ms_ctab_build(w, 0, 0, 1);
    CU_ASSERT_EQUAL(t->K, 4);
    CU_ASSERT_EQUAL(t->rv_uniform, 0);
    CU_ASSERT_EQUAL(t->slot[3], -1);
    CU_ASSERT(t->rv[3] >= 1);
    CU_ASSERT_EQUAL(t->rv[1], t->reeval);
    check_choice(t, 0.9, -1, 0, 25);

    ms_world_destroy(&w);
    ms_scenario_destroy(&sc);
}

/* PENDING (engine bug): when every firm is foreign and phi * D is between
 * about 708 and 745, the weights E * exp(-phi D) are subnormal doubles:
 * the total is > 0, so ms_choose_slot (models/consumer.c) keeps the linear
 * path, but the weights have lost most of their bits and the choice no
 * longer follows the logit (with D = {743, 745}, phi = 1, equal qualities:
 * 30% for the farther firm instead of 11.9%). The log-space fallback only
 * runs when the total is exactly 0. Reachable with valid parameters
 * (lambda up to 100: lambda * CD = 323 for CN-US, phi > 2.2 for 11% of
 * consumers). A fix: exp(-phi (D[g] - D[0])), since D[0] is the smallest
 * and the common factor cancels. */
static void test_choice_subnormal_weights(void)
{
    tab s;
    const double a[2] = {0, 0};
    const int g[2] = {0, 1};
    const double Ds[][2] = {{712, 714}, {730, 732}, {743, 745}};
    for (size_t i = 0; i < sizeof Ds / sizeof *Ds; i++) {
        tab_make(&s, 2, a, g, Ds[i], 2, 0, 0, NULL);
        check_choice(&s.t, 1, -1, -1, 30 + (uint32_t)i);
    }
    /* Three groups, stay factor and host bonus, phi D near 740. */
    const double qD3[3] = {569, 569.7, 570.9};
    tab_make(&s, 5, qa, qg, qD3, 3, 0.5, 0.4, qown);
    check_choice(&s.t, 1.3, 2, 1, 40);
}

static const ms_unit_test tests[] = {
    {"hazard event equals u < 1 - exp(-h)", test_hazard_event},
    {"logit choice on a hand-built table", test_choice_hand_table},
    {"one firm", test_choice_one_firm},
    {"log-space fallback", test_choice_log_space},
    {"tables built from a world", test_ctab_build},
    {"subnormal weights follow the logit (PENDING)", test_choice_subnormal_weights},
    {NULL, NULL}};

MS_UNIT_MAIN("consumer", tests)
