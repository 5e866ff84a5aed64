/*
 * calibrate.c: `marketsim calibrate` (see ms_calibrate.h).
 *
 * Each evaluation loads the scenario with the free parameters set (--set
 * semantics, so any key works), runs the replications without writing
 * files, and keeps each target's mean and variance across them. The search
 * (Sobol starts, Nelder-Mead from the best few), the Jacobian, the
 * intervals and the identification diagnostics are all made of such
 * evaluations, each with the same seeds, so the whole calibration is a
 * deterministic function of the scenario, its seed and the options. The
 * fitted file is the original text with the fitted numbers written over the
 * old ones, so its comments and layout survive; a header of `# calibrated:`
 * lines says what was fitted, in which ranges, how well and how sure.
 */
#include "marketsim/ms_calibrate.h"

#include "marketsim/ms_alloc.h"
#include "marketsim/ms_run.h"
#include "rng/ms_rng.h"
#include "scenario/scenario_int.h"
#include "scenario/yamltree.h"

#include <errno.h>
#include <gsl/gsl_cdf.h>
#include <gsl/gsl_linalg.h>
#include <gsl/gsl_multimin.h>
#include <gsl/gsl_qrng.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Singular values below this share of the largest count as zero (rank). */
#define REL_RANK_TOL 1e-3
/* A finite-difference step: this share of the value, at most SPAN of the
 * range and at least FLOOR of it. */
#define FD_REL 0.05
#define FD_SPAN 0.02
#define FD_FLOOR 1e-3

ms_status ms_cal_parse_free(const char *arg, ms_cal_free *out)
{
    memset(out, 0, sizeof *out);
    const char *eq = strchr(arg, '=');
    const char *colon = eq ? strchr(eq, ':') : NULL;
    char *end;
    if (!eq || !colon || eq == arg || (size_t)(eq - arg) >= sizeof out->key)
        return MS_ERROR(MS_EUSAGE, "--free %s: expected KEY=LO:HI, e.g. "
                        "--free categories.ecommerce.q=0.1:0.9", arg);
    snprintf(out->key, sizeof out->key, "%.*s", (int)(eq - arg), arg);
    errno = 0;
    out->lo = strtod(eq + 1, &end);
    if (end != colon || errno)
        return MS_ERROR(MS_EUSAGE, "--free %s: LO is not a number", arg);
    out->hi = strtod(colon + 1, &end);
    if (*end || errno || end == colon + 1)
        return MS_ERROR(MS_EUSAGE, "--free %s: HI is not a number", arg);
    if (!(out->lo < out->hi) || !isfinite(out->lo) || !isfinite(out->hi))
        return MS_ERROR(MS_EUSAGE, "--free %s: need LO < HI", arg);
    return MS_OK;
}

typedef struct cal {
    const char *path;
    char *text;
    ms_cal_free *frees;
    int n;
    const ms_cal_opts *o;
    uint64_t seed;
    int n_targets;
    double *expected, *lo, *hi, *scale; /* target; range; tolerance */
    double *mean, *var;  /* of the last evaluation, over the replications */
    double *w;           /* weights 1 / v_i of the objective */
    int fixed;           /* profile: the parameter held at fixed_v (-1: none) */
    double fixed_v;
    double best_q;       /* lowest objective seen with the final weights */
    int evaluations;
    ms_status failed;    /* first failure inside the objective */
} cal;

/* The arrays and text a calibration owns. */
static void cal_free(cal *c)
{
    ms_free(c->expected);
    ms_free(c->lo);
    ms_free(c->hi);
    ms_free(c->scale);
    ms_free(c->mean);
    ms_free(c->var);
    ms_free(c->w);
    ms_free(c->text);
}

static double to_x(const ms_cal_free *f, double z)
{
    return f->lo + (f->hi - f->lo) / (1 + exp(-z));
}

static double to_z(const ms_cal_free *f, double x)
{
    double u = (x - f->lo) / (f->hi - f->lo);
    if (!(u > 1e-6))
        u = 1e-6;
    if (!(u < 1 - 1e-6))
        u = 1 - 1e-6;
    return log(u / (1 - u));
}

/* The unit of a parameter key from the parameter table ("1" for none). */
static void param_unit(const char *key, char *out, size_t size)
{
    char buf[256];
    snprintf(buf, sizeof buf, "%s", key);
    char *part[4] = {0};
    int np = 0;
    for (char *s = buf; s && np < 4;) {
        part[np++] = s;
        s = strchr(s, '.');
        if (s)
            *s++ = '\0';
    }
    snprintf(out, size, "?");
    if (np < 2)
        return;
    int named = !strcmp(part[0], "markets") || !strcmp(part[0], "categories") ||
                !strcmp(part[0], "firms");
    const char *name = named ? (np > 2 ? part[2] : NULL) : part[1];
    if (!name)
        return;
    for (int i = 0; i < ms_param_count; i++) {
        const ms_param *p = &ms_param_table[i];
        if (!strcmp(ms_section_name(p->section), part[0]) &&
            !strcmp(p->name, name)) {
            const char *u = p->unit;
            snprintf(out, size, "%s", !u || !*u || !strcmp(u, "-") ? "1" : u);
            return;
        }
    }
}

/* d_i: the signed miss of a simulated mean (0 inside a bound). */
static double miss(const cal *c, int i, double m)
{
    if (!isnan(c->expected[i]))
        return m - c->expected[i];
    if (isnan(m))
        return NAN;
    return m > c->hi[i] ? m - c->hi[i] : m < c->lo[i] ? m - c->lo[i] : 0;
}

/* The objective with the current weights and means. */
static double q_of_means(const cal *c)
{
    double s = 0;
    for (int i = 0; i < c->n_targets; i++) {
        double d = miss(c, i, c->mean[i]);
        s += isfinite(d) ? d * d * c->w[i] : 1e6;
    }
    return s;
}

/* Weights from the variances of the last evaluation. */
static void set_weights(cal *c)
{
    double r = c->o->reps;
    for (int i = 0; i < c->n_targets; i++) {
        double v = (isfinite(c->var[i]) ? c->var[i] : 0) * (1 + 1 / r) +
                   c->scale[i] * c->scale[i];
        c->w[i] = 1 / v;
    }
}

/* Means and variances of the targets at parameters x (n values), and the
 * objective with the current weights. */
static ms_status evaluate(cal *c, const double *x, double *obj)
{
    char sets[MS_CAL_MAX_FREE + 1][320];
    const char *sp[MS_CAL_MAX_FREE + 1];
    for (int j = 0; j < c->n; j++) {
        snprintf(sets[j], sizeof sets[j], "%s=%.17g", c->frees[j].key, x[j]);
        sp[j] = sets[j];
    }
    double m2[256];
    for (int i = 0; i < c->n_targets; i++)
        c->mean[i] = m2[i] = 0;
    double sim[256];
    for (int k = 0; k < c->o->reps; k++) {
        snprintf(sets[c->n], sizeof sets[c->n], "run.seed=%llu",
                 (unsigned long long)ms_rng_derive_seed(c->seed, (uint64_t)k));
        sp[c->n] = sets[c->n];
        ms_scenario *sc;
        MS_CALL(ms_scenario_load_string(c->text, c->path, sp, c->n + 1, &sc));
        ms_run_opts op = {.threads = c->o->threads, .targets_out = sim};
        ms_run_result rr;
        ms_status st = ms_run(sc, &op, &rr);
        ms_scenario_destroy(&sc);
        MS_CALL(st);
        for (int i = 0; i < c->n_targets; i++) { /* Welford, in rep order */
            double d = sim[i] - c->mean[i];
            c->mean[i] += d / (k + 1);
            m2[i] += d * (sim[i] - c->mean[i]);
        }
    }
    for (int i = 0; i < c->n_targets; i++)
        c->var[i] = c->o->reps > 1 ? m2[i] / (c->o->reps - 1) : 0;
    *obj = q_of_means(c);
    c->evaluations++;
    return MS_OK;
}

static double objective(const gsl_vector *z, void *p)
{
    cal *c = p;
    double x[MS_CAL_MAX_FREE], obj;
    for (int j = 0, k = 0; j < c->n; j++)
        x[j] = j == c->fixed ? c->fixed_v
                             : to_x(&c->frees[j], gsl_vector_get(z, (size_t)k++));
    if (c->failed != MS_OK)
        return GSL_POSINF;
    ms_status st = evaluate(c, x, &obj);
    if (st != MS_OK) {
        c->failed = st;
        return GSL_POSINF;
    }
    if (obj < c->best_q)
        c->best_q = obj;
    return obj;
}

/* Minimize the objective over the parameters other than c->fixed (-1: all)
 * from x, which receives the best point; label: progress lines (NULL:
 * none). step is the simplex's first size in z. */
static ms_status nelder_mead(cal *c, double *x, int max_iter, double step_z,
                             const char *label, double *fval, int *iters)
{
    int dim = c->n - (c->fixed >= 0);
    *iters = 0;
    if (dim == 0) {
        double xx[MS_CAL_MAX_FREE];
        memcpy(xx, x, sizeof(double) * (size_t)c->n);
        xx[c->fixed] = c->fixed_v;
        MS_CALL(evaluate(c, xx, fval));
        return MS_OK;
    }
    gsl_vector *z = gsl_vector_alloc((size_t)dim);
    gsl_vector *step = gsl_vector_alloc((size_t)dim);
    gsl_multimin_fminimizer *mz =
        gsl_multimin_fminimizer_alloc(gsl_multimin_fminimizer_nmsimplex2,
                                      (size_t)dim);
    ms_status st = MS_OK;
    if (!z || !step || !mz) {
        st = MS_ERROR(MS_ENOMEM, "out of memory");
        goto done;
    }
    for (int j = 0, k = 0; j < c->n; j++)
        if (j != c->fixed) {
            gsl_vector_set(z, (size_t)k, to_z(&c->frees[j], x[j]));
            gsl_vector_set(step, (size_t)k++, step_z);
        }
    gsl_multimin_function fn = {objective, (size_t)dim, c};
    if (gsl_multimin_fminimizer_set(mz, &fn, z, step) != GSL_SUCCESS ||
        c->failed != MS_OK) {
        st = c->failed != MS_OK ? c->failed
                                : MS_ERROR(MS_ENOMEM, "cannot start the simplex");
        goto done;
    }
    int it = 0, status = GSL_CONTINUE;
    for (; it < max_iter && status == GSL_CONTINUE; it++) {
        if (gsl_multimin_fminimizer_iterate(mz) != GSL_SUCCESS)
            break;
        if (c->failed != MS_OK)
            break;
        status = gsl_multimin_test_size(gsl_multimin_fminimizer_size(mz),
                                        c->o->size_tol);
        if (label && !c->o->quiet) {
            fprintf(c->o->log, "  %s iter %3d  objective %-10.4g", label,
                    it + 1, mz->fval);
            for (int j = 0, k = 0; j < c->n; j++)
                if (j != c->fixed)
                    fprintf(c->o->log, "  %s=%.5g", c->frees[j].key,
                            to_x(&c->frees[j],
                                 gsl_vector_get(mz->x, (size_t)k++)));
            fprintf(c->o->log, "\n");
            fflush(c->o->log);
        }
    }
    if (c->failed != MS_OK) {
        st = c->failed;
        goto done;
    }
    for (int j = 0, k = 0; j < c->n; j++)
        x[j] = j == c->fixed ? c->fixed_v
                             : to_x(&c->frees[j], gsl_vector_get(mz->x, (size_t)k++));
    *fval = mz->fval;
    *iters = it;
done:
    if (mz)
        gsl_multimin_fminimizer_free(mz);
    if (z)
        gsl_vector_free(z);
    if (step)
        gsl_vector_free(step);
    return st;
}

/* The latest calendar year a measure needs (NaN: the end of the run). */
static double measure_year(const ms_measure *m)
{
    double y = m->time;
    if (!isnan(m->to) && (isnan(y) || m->to > y))
        y = m->to;
    if (m->a) {
        double ya = measure_year(m->a);
        if (!isnan(ya) && (isnan(y) || ya > y))
            y = ya;
    }
    if (m->b) {
        double yb = measure_year(m->b);
        if (!isnan(yb) && (isnan(y) || yb > y))
            y = yb;
    }
    return y;
}

/* Everything the fit needs, checked before its first run: each --free key
 * once, reachable by --set at both ends of its range, written in the file
 * as a plain number (the fitted value replaces it; with --no-fit, inside
 * its range), and every target measured within the run. */
static ms_status precheck(const cal *c, const ms_scenario *sc0,
                          ms_cal_free *frees, int n)
{
    const char *path = c->path;
    for (int j = 0; j < n; j++)
        for (int k = 0; k < j; k++)
            if (!strcmp(frees[j].key, frees[k].key))
                return MS_ERROR(MS_EUSAGE, "--free %s is given twice; give "
                                "each free parameter once", frees[j].key);
    ms_ytree *t;
    MS_CALL(ms_ytree_parse_string(c->text, strlen(c->text), path, &t));
    ms_status st = MS_OK;
    for (int j = 0; j < n && st == MS_OK; j++) {
        const ms_ynode *node = ms_ytree_find(t, frees[j].key);
        double v;
        char *end;
        if (node && node->line >= 1 && node->kind != MS_YNODE_SCALAR)
            st = MS_ERROR(MS_EINPUT, "%s:%d:%d: error: --free %s: the key "
                          "holds a %s here, not a number; free one number "
                          "inside it (e.g. %s.NAME) or write one number",
                          path, node->line, node->col, frees[j].key,
                          node->kind == MS_YNODE_MAP ? "mapping" : "list",
                          frees[j].key);
        else if (!node || node->kind != MS_YNODE_SCALAR || !node->plain ||
                 node->line < 1)
            st = MS_ERROR(MS_EINPUT, "%s: error: --free %s: the key is not "
                          "written in the file as a plain number; add it "
                          "with its current value so the fitted value can "
                          "replace it", path, frees[j].key);
        else if (c->o->no_fit &&
                 (v = strtod(node->value, &end), end == node->value || *end ||
                  !(v >= frees[j].lo && v <= frees[j].hi)))
            st = MS_ERROR(MS_EINPUT, "%s:%d:%d: error: --free %s=%g:%g "
                          "--no-fit: the file's value %s is outside the "
                          "range; widen the range to hold it, or fit "
                          "without --no-fit", path, node->line, node->col,
                          frees[j].key, frees[j].lo, frees[j].hi,
                          node->value);
    }
    ms_ytree_destroy(&t);
    MS_CALL(st);
    for (int j = 0; j < n; j++) {
        for (int end = 0; end < 2; end++) {
            char tmp[320];
            snprintf(tmp, sizeof tmp, "%s=%.17g", frees[j].key,
                     end ? frees[j].hi : frees[j].lo);
            const char *sp[1] = {tmp};
            ms_scenario *sc;
            MS_CALL(ms_scenario_load_string(c->text, path, sp, 1, &sc));
            ms_scenario_destroy(&sc);
        }
    }
    double end = sc0->run.start_year + (double)sc0->run.steps * sc0->run.dt;
    for (int i = 0; i < sc0->n_targets; i++) {
        const ms_target *tg = &sc0->targets[i];
        double y = measure_year(&tg->m);
        if (!isnan(y) && y > end + 1e-9)
            return MS_ERROR(MS_EINPUT, "%s:%d:%d: error: targets[%d] (%s): "
                            "measured at %g, after the run ends (%g); raise "
                            "run.steps or drop the target", path,
                            tg->figure_line, tg->figure_col, i, tg->figure,
                            y, end);
        if (!(tg->scale > 0)) /* the tolerance, or half a bound's size */
            return MS_ERROR(MS_EINPUT, "%s:%d:%d: error: targets[%d] (%s)."
                            "tolerance: %g; the fit divides by it, give a "
                            "positive tolerance", path, tg->figure_line,
                            tg->figure_col, i, tg->figure, tg->scale);
    }
    if (n > sc0->n_targets)
        fprintf(c->o->log ? c->o->log : stderr, "calibrate: warning: %d free "
                "parameters for %d target%s: the fit is underdetermined "
                "(several values fit equally well); add targets or fix some "
                "parameters\n", n, sc0->n_targets,
                sc0->n_targets == 1 ? "" : "s");
    return MS_OK;
}

/* Sobol starting points over the box, rotated by a shift derived from the
 * seed (Cranley-Patterson), evaluated; cand receives the points (row j
 * of n values) and their objectives. */
static ms_status sobol_starts(cal *c, int count, double *cand, double *q)
{
    gsl_qrng *g = gsl_qrng_alloc(gsl_qrng_sobol, (unsigned)c->n);
    if (!g)
        return MS_ERROR(MS_ENOMEM, "out of memory (Sobol sequence)");
    double shift[MS_CAL_MAX_FREE], u[MS_CAL_MAX_FREE];
    for (int j = 0; j < c->n; j++)
        shift[j] = (double)(ms_rng_derive_seed(c->seed, 0x50b01ULL + (uint64_t)j)
                            >> 11) * 0x1p-53;
    ms_status st = MS_OK;
    for (int s = 0; s < count && st == MS_OK; s++) {
        gsl_qrng_get(g, u);
        double *x = cand + (size_t)s * (size_t)c->n;
        for (int j = 0; j < c->n; j++) {
            double v = u[j] + shift[j];
            v -= floor(v);
            v = v < 0.001 ? 0.001 : v > 0.999 ? 0.999 : v;
            x[j] = c->frees[j].lo + v * (c->frees[j].hi - c->frees[j].lo);
        }
        st = evaluate(c, x, &q[s]);
    }
    gsl_qrng_free(g);
    return st;
}

/* The finite-difference step of parameter j at value x. */
static double fd_step(const ms_cal_free *f, double x)
{
    double span = f->hi - f->lo, h = FD_REL * fabs(x);
    if (h > FD_SPAN * span)
        h = FD_SPAN * span;
    if (h < FD_FLOOR * span)
        h = FD_FLOOR * span;
    return h;
}

/* The Jacobian at x: jac (target unit per parameter unit) and jw (of the
 * weighted misses d_i sqrt(w_i), per parameter unit), central differences
 * (one-sided at a bound of the box), the same seeds at every point. */
static ms_status jacobian(cal *c, const double *x, double *jac, double *jw)
{
    int K = c->n_targets, n = c->n;
    double xp[MS_CAL_MAX_FREE], mp[256], q;
    for (int j = 0; j < n; j++) {
        const ms_cal_free *f = &c->frees[j];
        double h = fd_step(f, x[j]);
        double a = x[j] - h < f->lo ? x[j] : x[j] - h;
        double b = x[j] + h > f->hi ? x[j] : x[j] + h;
        if (!(b > a)) {
            a = f->lo;
            b = f->hi;
        }
        memcpy(xp, x, sizeof(double) * (size_t)n);
        xp[j] = b;
        MS_CALL(evaluate(c, xp, &q));
        memcpy(mp, c->mean, sizeof(double) * (size_t)K);
        xp[j] = a;
        MS_CALL(evaluate(c, xp, &q));
        for (int i = 0; i < K; i++) {
            jac[i * n + j] = (mp[i] - c->mean[i]) / (b - a);
            double dp = miss(c, i, mp[i]), dm = miss(c, i, c->mean[i]);
            jw[i * n + j] = isfinite(dp) && isfinite(dm)
                                ? (dp - dm) * sqrt(c->w[i]) / (b - a) : 0;
        }
        if (!c->o->quiet)
            fprintf(c->o->log, "  jacobian %d/%d: %s in [%.6g, %.6g]\n", j + 1,
                    n, f->key, a, b);
    }
    return MS_OK;
}

/* Rank, condition number, singular values and standard errors from jw
 * (K x n); flags parameters the targets do not pin down. */
static ms_status identify(cal *c, const double *jw, ms_cal_result *res)
{
    int K = c->n_targets, n = c->n, rows = K > n ? K : n;
    gsl_matrix *A = gsl_matrix_calloc((size_t)rows, (size_t)n);
    gsl_matrix *V = gsl_matrix_alloc((size_t)n, (size_t)n);
    gsl_vector *S = gsl_vector_alloc((size_t)n);
    gsl_vector *work = gsl_vector_alloc((size_t)n);
    ms_status st = MS_OK;
    if (!A || !V || !S || !work) {
        st = MS_ERROR(MS_ENOMEM, "out of memory");
        goto done;
    }
    for (int j = 0; j < n; j++) {
        double span = c->frees[j].hi - c->frees[j].lo, s2 = 0;
        for (int i = 0; i < K; i++) {
            double v = jw[i * n + j] * span;
            gsl_matrix_set(A, (size_t)i, (size_t)j, v);
            s2 += v * v;
        }
        c->frees[j].sensitivity = sqrt(s2);
        c->frees[j].weak = c->frees[j].sensitivity < 1 ? 1 : 0;
    }
    if (n == 1) { /* GSL's SVD wants two columns at least */
        gsl_vector_set(S, 0, c->frees[0].sensitivity);
        gsl_matrix_set(V, 0, 0, 1);
    } else if (gsl_linalg_SV_decomp(A, V, S, work) != GSL_SUCCESS) {
        st = MS_ERROR(MS_ENUMERIC, "calibrate: the singular value "
                      "decomposition of the Jacobian failed");
        goto done;
    }
    double s0 = gsl_vector_get(S, 0);
    res->rank = 0;
    for (int k = 0; k < n; k++) {
        double s = gsl_vector_get(S, (size_t)k);
        res->sv[k] = s;
        if (s0 > 0 && s > REL_RANK_TOL * s0)
            res->rank++;
    }
    double smin = gsl_vector_get(S, (size_t)n - 1);
    res->cond = smin > 0 ? s0 / smin : INFINITY;
    /* A direction of parameters that moves the targets by less than one
     * standard deviation over whole ranges, or is numerically null, leaves
     * the parameters that make it up free. */
    for (int k = 0; k < n; k++) {
        double s = res->sv[k];
        if (!(s < 1 || !(s > REL_RANK_TOL * s0)))
            continue;
        for (int j = 0; j < n; j++)
            if (fabs(gsl_matrix_get(V, (size_t)j, (size_t)k)) >= 0.3)
                c->frees[j].weak |= 2;
    }
    for (int j = 0; j < n; j++) {
        double span = c->frees[j].hi - c->frees[j].lo, v = 0;
        for (int k = 0; k < n; k++) {
            double vjk = gsl_matrix_get(V, (size_t)j, (size_t)k), s = res->sv[k];
            if (fabs(vjk) < 1e-9)
                continue;
            v = s > 1e-12 * (s0 > 0 ? s0 : 1) && s > 0 ? v + vjk * vjk / (s * s)
                                                        : INFINITY;
        }
        c->frees[j].sd = span * sqrt(v);
    }
done:
    if (A)
        gsl_matrix_free(A);
    if (V)
        gsl_matrix_free(V);
    if (S)
        gsl_vector_free(S);
    if (work)
        gsl_vector_free(work);
    return st;
}

/* The profile of the objective at parameter j = v: minimized over the
 * others from xw (warm start, updated). */
static ms_status profile_at(cal *c, int j, double v, double *xw, double *q)
{
    c->fixed = j;
    c->fixed_v = v;
    int it;
    int iters = c->o->max_iter < 25 ? c->o->max_iter : 25;
    /* Warm-started next to the previous point: a small first simplex. */
    ms_status st = nelder_mead(c, xw, iters, 0.25, NULL, q, &it);
    c->fixed = -1;
    return st;
}

/* The profile interval of parameter j around the fit xhat: where the
 * profile crosses qmin + crit on each side, or the box's bound. */
static ms_status profile(cal *c, int j, const double *xhat, double qmin,
                         double crit)
{
    ms_cal_free *f = &c->frees[j];
    double span = f->hi - f->lo, thr = qmin + crit;
    for (int side = -1; side <= 1; side += 2) {
        double bound = side < 0 ? f->lo : f->hi;
        double room = fabs(bound - xhat[j]);
        double xw[MS_CAL_MAX_FREE];
        memcpy(xw, xhat, sizeof(double) * (size_t)c->n);
        double end = bound;
        int at_bound = 1;
        if (room > 1e-9 * span) {
            double d = isfinite(f->sd) && f->sd > 0 ? sqrt(crit) * f->sd
                                                    : 0.25 * span;
            double xin = xhat[j], qin = qmin, xout = NAN, qout = NAN;
            for (int tries = 0; tries < 60; tries++) {
                if (d > room)
                    d = room;
                double v = xhat[j] + side * d, q;
                MS_CALL(profile_at(c, j, v, xw, &q));
                if (q >= thr) {
                    xout = v;
                    qout = q;
                    break;
                }
                xin = v;
                qin = q;
                if (d >= room)
                    break;
                d *= 2;
            }
            if (!isnan(xout)) {
                at_bound = 0;
                for (int b = 0; b < 4; b++) {
                    double mid = 0.5 * (xin + xout), q;
                    MS_CALL(profile_at(c, j, mid, xw, &q));
                    if (q < thr) {
                        xin = mid;
                        qin = q;
                    } else {
                        xout = mid;
                        qout = q;
                    }
                }
                end = qout > qin ? xin + (xout - xin) * (thr - qin) / (qout - qin)
                                 : 0.5 * (xin + xout);
            }
        }
        if (side < 0) {
            f->ci_lo = end;
            f->ci_lo_bound = at_bound;
        } else {
            f->ci_hi = end;
            f->ci_hi_bound = at_bound;
        }
    }
    if (!c->o->quiet)
        fprintf(c->o->log, "  profile %s: [%.6g, %.6g]%s\n", f->key, f->ci_lo,
                f->ci_hi, f->ci_lo_bound && f->ci_hi_bound ? " (the whole range)"
                                                           : "");
    return MS_OK;
}

void ms_cal_result_free(ms_cal_result *res)
{
    if (!res)
        return;
    ms_free(res->targets);
    ms_free(res->jac);
    res->targets = NULL;
    res->jac = NULL;
}

ms_status ms_calibrate(const char *path, ms_cal_free *frees, int n,
                       const ms_cal_opts *o, ms_cal_result *res)
{
    memset(res, 0, sizeof *res);
    res->chi2_p = NAN;
    if (n < 1 || n > MS_CAL_MAX_FREE)
        return MS_ERROR(MS_EUSAGE, "calibrate: give 1 to %d --free "
                        "parameters", MS_CAL_MAX_FREE);
    if (o->reps < 2)
        return MS_ERROR(MS_EUSAGE, "calibrate: --reps %d: the method of "
                        "simulated moments weighs each target by its variance "
                        "across replications; give --reps 2 or more", o->reps);
    if (!(o->level > 0 && o->level < 1))
        return MS_ERROR(MS_EUSAGE, "calibrate: --level %g: give a confidence "
                        "level between 0 and 1, e.g. 0.95", o->level);
    cal c;
    memset(&c, 0, sizeof c);
    c.path = path;
    c.frees = frees;
    c.n = n;
    c.o = o;
    c.fixed = -1;
    c.best_q = INFINITY;
    MS_CALL(ms_read_text_file(path, &c.text, NULL));
    /* The scenario as it is: targets, seed, and the start values. */
    ms_scenario *sc;
    ms_status st = ms_scenario_load_string(c.text, path, NULL, 0, &sc);
    if (st != MS_OK) {
        ms_free(c.text);
        return st;
    }
    c.seed = sc->run.seed;
    c.n_targets = sc->n_targets;
    if (c.n_targets == 0 || c.n_targets > 256) {
        ms_scenario_destroy(&sc);
        ms_free(c.text);
        return MS_ERROR(MS_EINPUT, "%s: error: calibrate needs the scenario's "
                        "targets (a `targets` list of 1 to 256; see "
                        "docs/SCENARIOS.md)", path);
    }
    int K = c.n_targets;
    c.expected = ms_calloc((size_t)K, sizeof *c.expected);
    c.lo = ms_calloc((size_t)K, sizeof *c.lo);
    c.hi = ms_calloc((size_t)K, sizeof *c.hi);
    c.scale = ms_calloc((size_t)K, sizeof *c.scale);
    c.mean = ms_calloc((size_t)K, sizeof *c.mean);
    c.var = ms_calloc((size_t)K, sizeof *c.var);
    c.w = ms_calloc((size_t)K, sizeof *c.w);
    res->targets = ms_calloc((size_t)K, sizeof *res->targets);
    res->jac = ms_calloc((size_t)K * (size_t)n, sizeof *res->jac);
    int nst = o->starts > 0 ? o->starts : (4 * n > 8 ? 4 * n : 8);
    double *cand = ms_calloc((size_t)(nst + 1) * (size_t)n, sizeof *cand);
    double *candq = ms_calloc((size_t)(nst + 1), sizeof *candq);
    double *jw = ms_calloc((size_t)K * (size_t)n, sizeof *jw);
    if (!c.expected || !c.lo || !c.hi || !c.scale || !c.mean || !c.var ||
        !c.w || !res->targets || !res->jac || !cand || !candq || !jw) {
        ms_scenario_destroy(&sc);
        st = MS_ERROR(MS_ENOMEM, "out of memory");
        goto done;
    }
    for (int i = 0; i < K; i++) {
        const ms_target *tg = &sc->targets[i];
        c.expected[i] = tg->expected;
        c.lo[i] = tg->lo;
        c.hi[i] = tg->hi;
        c.scale[i] = tg->scale;
        ms_cal_target *rt = &res->targets[i];
        snprintf(rt->figure, sizeof rt->figure, "%s", tg->figure);
        snprintf(rt->unit, sizeof rt->unit, "%s", ms_measure_unit(&tg->m));
        rt->expected = tg->expected;
        rt->lo = tg->lo;
        rt->hi = tg->hi;
        rt->tolerance = tg->scale;
    }
    st = precheck(&c, sc, frees, n);
    ms_scenario_destroy(&sc);
    if (st != MS_OK)
        goto done;
    /* Start values: what the file says now, if inside the box. */
    {
        ms_ytree *t;
        st = ms_ytree_parse_string(c.text, strlen(c.text), path, &t);
        if (st != MS_OK)
            goto done;
        for (int j = 0; j < n; j++) {
            const ms_ynode *node = ms_ytree_find(t, frees[j].key);
            double v;
            char *end;
            frees[j].start = NAN;
            frees[j].ci_lo = frees[j].ci_hi = NAN;
            param_unit(frees[j].key, frees[j].unit, sizeof frees[j].unit);
            if (node && node->kind == MS_YNODE_SCALAR &&
                (v = strtod(node->value, &end), end != node->value && !*end))
                frees[j].start = v;
            if (!o->no_fit &&
                (isnan(frees[j].start) || frees[j].start <= frees[j].lo ||
                 frees[j].start >= frees[j].hi))
                frees[j].start = 0.5 * (frees[j].lo + frees[j].hi);
        }
        ms_ytree_destroy(&t);
    }
    res->n_targets = K;
    res->n_free = n;
    res->level = o->level;
    res->interval = o->interval;
    double x[MS_CAL_MAX_FREE], q;
    for (int j = 0; j < n; j++)
        x[j] = frees[j].start;
    /* The weights: variances at the start, held during the search. */
    c.failed = MS_OK;
    for (int i = 0; i < K; i++)
        c.w[i] = 1;
    st = evaluate(&c, x, &q);
    if (st != MS_OK)
        goto done;
    set_weights(&c);
    res->start_obj = q_of_means(&c);
    if (!o->quiet)
        fprintf(o->log, "calibrate: %d targets, %d free parameters, %d "
                "replications per evaluation; objective at the start %.4g\n",
                K, n, o->reps, res->start_obj);
    if (!o->no_fit) {
        memcpy(cand, x, sizeof(double) * (size_t)n);
        candq[0] = res->start_obj;
        st = sobol_starts(&c, nst, cand + n, candq + 1);
        if (st != MS_OK)
            goto done;
        res->starts = nst;
        /* The best few, lowest objective first (ties: the earlier). */
        int order[1024], m = nst + 1 < 1024 ? nst + 1 : 1024;
        for (int s = 0; s < m; s++) {
            int k = s;
            while (k > 0 && candq[order[k - 1]] > candq[s]) {
                order[k] = order[k - 1];
                k--;
            }
            order[k] = s;
        }
        int nref = o->refine < 1 ? 1 : o->refine > m ? m : o->refine;
        if (!o->quiet)
            fprintf(o->log, "calibrate: %d Sobol starting points, best "
                    "objective %.4g; Nelder-Mead from the best %d\n", nst,
                    candq[order[0]], nref);
        double best = INFINITY, xb[MS_CAL_MAX_FREE];
        for (int r = 0; r < nref; r++) {
            double xr[MS_CAL_MAX_FREE], fv;
            int it;
            char label[32];
            snprintf(label, sizeof label, "[%d/%d]", r + 1, nref);
            memcpy(xr, cand + (size_t)order[r] * (size_t)n,
                   sizeof(double) * (size_t)n);
            st = nelder_mead(&c, xr, o->max_iter, 1.0, label, &fv, &it);
            if (st != MS_OK)
                goto done;
            res->iterations += it;
            res->refined++;
            if (fv < best) {
                best = fv;
                memcpy(xb, xr, sizeof(double) * (size_t)n);
            }
        }
        memcpy(x, xb, sizeof(double) * (size_t)n);
    }
    for (int j = 0; j < n; j++)
        frees[j].fitted = x[j];
    /* At the fit: the weights again, the objective, the targets. */
    st = evaluate(&c, x, &q);
    if (st != MS_OK)
        goto done;
    set_weights(&c);
    res->fitted_obj = q_of_means(&c);
    c.best_q = res->fitted_obj;
    for (int i = 0; i < K; i++) {
        ms_cal_target *rt = &res->targets[i];
        rt->mean = c.mean[i];
        rt->sd = sqrt(c.var[i]);
        rt->weight_sd = 1 / sqrt(c.w[i]);
        rt->residual = miss(&c, i, c.mean[i]) * sqrt(c.w[i]);
    }
    if (K > n)
        res->chi2_p = gsl_cdf_chisq_Q(res->fitted_obj, (double)(K - n));
    if (!o->quiet)
        fprintf(o->log, "calibrate: objective at the fit %.4g (weights "
                "re-estimated there); Jacobian by central differences\n",
                res->fitted_obj);
    st = jacobian(&c, x, res->jac, jw);
    if (st == MS_OK)
        st = identify(&c, jw, res);
    if (st != MS_OK)
        goto done;
    double zq = gsl_cdf_ugaussian_Pinv(0.5 + 0.5 * o->level);
    double crit = gsl_cdf_chisq_Pinv(o->level, 1);
    for (int j = 0; j < n && o->interval != MS_CAL_NONE; j++) {
        ms_cal_free *f = &frees[j];
        if (o->interval == MS_CAL_WALD) {
            double a = f->fitted - zq * f->sd, b = f->fitted + zq * f->sd;
            f->ci_lo_bound = !(a > f->lo);
            f->ci_hi_bound = !(b < f->hi);
            f->ci_lo = f->ci_lo_bound ? f->lo : a;
            f->ci_hi = f->ci_hi_bound ? f->hi : b;
        } else if (f->sensitivity == 0) {
            /* No target moves at all with it (common random numbers make
             * that exact): the objective is flat, the interval the box. */
            f->ci_lo = f->lo;
            f->ci_hi = f->hi;
            f->ci_lo_bound = f->ci_hi_bound = 1;
        } else {
            st = profile(&c, j, x, res->fitted_obj, crit);
            if (st != MS_OK)
                goto done;
        }
        if (f->ci_lo_bound && f->ci_hi_bound)
            f->weak |= 4;
    }
    /* A lower point than the fit moves the profile's ends noticeably once
     * it is lower by a twentieth of the interval's threshold. */
    if (o->interval == MS_CAL_PROFILE && c.best_q < res->fitted_obj - 0.05 * crit)
        fprintf(o->log, "calibrate: warning: the profile found a lower "
                "objective (%.4g) than the fit (%.4g): the search stopped "
                "short of the minimum; give more --starts, --refine or "
                "--iters\n", c.best_q, res->fitted_obj);
    for (int j = 0; j < n; j++)
        if (frees[j].weak)
            res->n_weak++;
    for (int j = 0; j < n; j++)
        if (frees[j].weak)
            fprintf(o->log, "calibrate: warning: %s is not pinned down by "
                    "the targets (%s%s%s); fix it, narrow its range from "
                    "other evidence, or add a target it moves\n",
                    frees[j].key,
                    frees[j].weak & 1 ? "across its whole range it moves "
                    "them by less than one standard deviation" : "",
                    (frees[j].weak & 1) && (frees[j].weak & 6) ? "; " : "",
                    frees[j].weak & 2 ? "it trades off against other free "
                    "parameters in a direction the targets do not see"
                    : frees[j].weak & 4 ? "its interval covers its whole "
                    "range" : "");
    res->evaluations = c.evaluations;
    st = MS_OK;
done:
    ms_free(cand);
    ms_free(candq);
    ms_free(jw);
    cal_free(&c);
    if (st != MS_OK)
        ms_cal_result_free(res);
    return st;
}

/* ---- the printed table and the JSON record ---- */

static const char *interval_name(ms_cal_interval m)
{
    return m == MS_CAL_WALD ? "Wald, from the Jacobian"
           : m == MS_CAL_PROFILE ? "profile of the objective" : "none";
}

void ms_cal_print(FILE *f, const ms_cal_free *frees, int n,
                  const ms_cal_result *res, const ms_cal_opts *o)
{
    fprintf(f, "Method of simulated moments: %d targets, %d replications "
            "per evaluation, %d evaluations", res->n_targets, o->reps,
            res->evaluations);
    if (o->no_fit)
        fprintf(f, " (no fit: the file's values)\n");
    else
        fprintf(f, " (%d Sobol starting points, Nelder-Mead from the best "
                "%d, %d iterations)\n", res->starts, res->refined,
                res->iterations);
    fprintf(f, "objective sum_i (simulated - expected)^2 / (variance x (1 + "
            "1/%d) + tolerance^2): %.4g at the start, %.4g at the fit",
            o->reps, res->start_obj, res->fitted_obj);
    if (isfinite(res->chi2_p))
        fprintf(f, "; P(chi-square(%d) > %.4g) = %.3g",
                res->n_targets - n, res->fitted_obj, res->chi2_p);
    fprintf(f, "\n\n");
    char head[64];
    snprintf(head, sizeof head, "%g%% interval (%s)", 100 * o->level,
             o->interval == MS_CAL_WALD ? "Wald" :
             o->interval == MS_CAL_PROFILE ? "profile" : "none");
    fprintf(f, "%-34s %-14s %-12s %-28s %-11s %-22s %-11s %s\n", "parameter",
            "unit", "fitted", head, "sd", "range", "start", "pinned down");
    for (int j = 0; j < n; j++) {
        const ms_cal_free *p = &frees[j];
        char ci[64], rg[64];
        if (isnan(p->ci_lo))
            snprintf(ci, sizeof ci, "-");
        else
            snprintf(ci, sizeof ci, "[%s%.5g, %.5g%s]",
                     p->ci_lo_bound ? "<=" : "", p->ci_lo, p->ci_hi,
                     p->ci_hi_bound ? "=>" : "");
        snprintf(rg, sizeof rg, "[%g, %g]", p->lo, p->hi);
        fprintf(f, "%-34s %-14s %-12.6g %-28s %-11.3g %-22s %-11.6g %s\n",
                p->key, p->unit, p->fitted, ci, p->sd, rg, p->start,
                p->weak ? "NO" : "yes");
    }
    fprintf(f, "\n%-34s %-14s %-12s %-14s %-12s %-12s %s\n", "target", "unit",
            "expected", "simulated", "sd (reps)", "sqrt(v)", "miss / sqrt(v)");
    for (int i = 0; i < res->n_targets; i++) {
        const ms_cal_target *t = &res->targets[i];
        char ex[48];
        if (!isnan(t->expected))
            snprintf(ex, sizeof ex, "%.5g", t->expected);
        else if (isfinite(t->lo) && isfinite(t->hi))
            snprintf(ex, sizeof ex, "[%.4g, %.4g]", t->lo, t->hi);
        else if (isfinite(t->lo))
            snprintf(ex, sizeof ex, ">= %.4g", t->lo);
        else
            snprintf(ex, sizeof ex, "<= %.4g", t->hi);
        fprintf(f, "%-34s %-14s %-12s %-14.6g %-12.4g %-12.4g %.3g\n",
                t->figure, t->unit, ex, t->mean, t->sd, t->weight_sd,
                t->residual);
    }
    fprintf(f, "\nidentification: Jacobian of %d targets by %d parameters at "
            "the fit (central differences, common random numbers): rank %d "
            "of %d, condition number %.3g; singular values", res->n_targets,
            n, res->rank, n, res->cond);
    for (int k = 0; k < n; k++)
        fprintf(f, "%s %.3g", k ? "," : "", res->sv[k]);
    fprintf(f, " (standard deviations of the targets per whole range)\n");
    if (o->interval != MS_CAL_NONE)
        fprintf(f, "intervals: %g%% %s%s; <= or => marks an end at the range's "
                "bound\n", 100 * o->level, interval_name(o->interval),
                o->interval == MS_CAL_PROFILE
                    ? " (where the objective, minimized over the other "
                      "parameters, rises by the chi-square(1) quantile)"
                    : " (fitted -+ z sd)");
    for (int j = 0; j < n; j++)
        if (frees[j].weak)
            fprintf(f, "not pinned down: %s (moves the targets by %.3g "
                    "standard deviations across its range%s%s)\n",
                    frees[j].key, frees[j].sensitivity,
                    frees[j].weak & 2 ? "; trades off against other free "
                    "parameters" : "",
                    frees[j].weak & 4 ? "; its interval is the whole range"
                    : "");
}

static void json_str(FILE *f, const char *s)
{
    fputc('"', f);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\')
            fprintf(f, "\\%c", *p);
        else if (*p < 0x20)
            fprintf(f, "\\u%04x", *p);
        else
            fputc(*p, f);
    }
    fputc('"', f);
}

static void json_num(FILE *f, double v)
{
    if (isfinite(v))
        fprintf(f, "%.17g", v);
    else
        fputs("null", f);
}

ms_status ms_cal_write_json(const char *path, const ms_cal_free *frees, int n,
                            const ms_cal_result *res, const ms_cal_opts *o,
                            const char *out_path)
{
    FILE *f = fopen(out_path, "w");
    if (!f)
        return MS_ERROR(MS_EIO, "%s: cannot write: %s", out_path,
                        strerror(errno));
    fputs("{\n  \"scenario\": ", f);
    json_str(f, path);
    fprintf(f, ",\n  \"method\": \"method of simulated moments\",\n"
            "  \"objective\": \"sum over targets of (simulated mean - "
            "expected)^2 / (variance across replications x (1 + 1/R) + "
            "tolerance^2)\",\n  \"replications\": %d,\n  \"fitted\": %s,\n"
            "  \"evaluations\": %d,\n  \"sobol_starts\": %d,\n"
            "  \"nelder_mead_runs\": %d,\n  \"iterations\": %d,\n"
            "  \"objective_start\": ", o->reps, o->no_fit ? "false" : "true",
            res->evaluations, res->starts, res->refined, res->iterations);
    json_num(f, res->start_obj);
    fputs(",\n  \"objective_fit\": ", f);
    json_num(f, res->fitted_obj);
    fputs(",\n  \"chi2_p\": ", f);
    json_num(f, res->chi2_p);
    fprintf(f, ",\n  \"interval_method\": \"%s\",\n  \"level\": %g,\n"
            "  \"parameters\": [\n", o->interval == MS_CAL_WALD ? "wald"
            : o->interval == MS_CAL_PROFILE ? "profile" : "none", o->level);
    for (int j = 0; j < n; j++) {
        const ms_cal_free *p = &frees[j];
        fputs("    {\"key\": ", f);
        json_str(f, p->key);
        fputs(", \"unit\": ", f);
        json_str(f, p->unit);
        fputs(", \"lo\": ", f);
        json_num(f, p->lo);
        fputs(", \"hi\": ", f);
        json_num(f, p->hi);
        fputs(", \"start\": ", f);
        json_num(f, p->start);
        fputs(", \"fitted\": ", f);
        json_num(f, p->fitted);
        fputs(", \"interval\": [", f);
        json_num(f, p->ci_lo);
        fputs(", ", f);
        json_num(f, p->ci_hi);
        fprintf(f, "], \"interval_at_bound\": [%s, %s], \"sd\": ",
                p->ci_lo_bound ? "true" : "false",
                p->ci_hi_bound ? "true" : "false");
        json_num(f, p->sd);
        fputs(", \"sensitivity\": ", f);
        json_num(f, p->sensitivity);
        fprintf(f, ", \"identified\": %s}%s\n", p->weak ? "false" : "true",
                j + 1 < n ? "," : "");
    }
    fputs("  ],\n  \"targets\": [\n", f);
    for (int i = 0; i < res->n_targets; i++) {
        const ms_cal_target *t = &res->targets[i];
        fputs("    {\"figure\": ", f);
        json_str(f, t->figure);
        fputs(", \"unit\": ", f);
        json_str(f, t->unit);
        fputs(", \"expected\": ", f);
        json_num(f, t->expected);
        fputs(", \"min\": ", f);
        json_num(f, t->lo);
        fputs(", \"max\": ", f);
        json_num(f, t->hi);
        fputs(", \"tolerance\": ", f);
        json_num(f, t->tolerance);
        fputs(", \"mean\": ", f);
        json_num(f, t->mean);
        fputs(", \"sd\": ", f);
        json_num(f, t->sd);
        fputs(", \"weight_sd\": ", f);
        json_num(f, t->weight_sd);
        fputs(", \"residual\": ", f);
        json_num(f, t->residual);
        fprintf(f, "}%s\n", i + 1 < res->n_targets ? "," : "");
    }
    fprintf(f, "  ],\n  \"identification\": {\"rank\": %d, "
            "\"condition_number\": ", res->rank);
    json_num(f, res->cond);
    fputs(", \"singular_values\": [", f);
    for (int k = 0; k < n; k++) {
        if (k)
            fputs(", ", f);
        json_num(f, res->sv[k]);
    }
    fputs("],\n    \"jacobian\": [", f);
    for (int i = 0; i < res->n_targets; i++) {
        fputs(i ? ",\n      [" : "\n      [", f);
        for (int j = 0; j < n; j++) {
            if (j)
                fputs(", ", f);
            json_num(f, res->jac[i * n + j]);
        }
        fputs("]", f);
    }
    fputs("],\n    \"not_pinned_down\": [", f);
    for (int j = 0, k = 0; j < n; j++)
        if (frees[j].weak) {
            if (k++)
                fputs(", ", f);
            json_str(f, frees[j].key);
        }
    fputs("]}\n}\n", f);
    int bad = ferror(f);
    bad |= fclose(f) != 0;
    if (bad)
        return MS_ERROR(MS_EIO, "%s: cannot write: %s", out_path,
                        strerror(errno));
    return MS_OK;
}

/* ---- the calibrated file ---- */

typedef struct edit {
    int line, col;
    size_t len;
    char text[40];
} edit;

static int cmp_edit(const void *a, const void *b)
{
    const edit *x = a, *y = b;
    if (x->line != y->line)
        return y->line - x->line;
    return y->col - x->col;
}

ms_status ms_cal_write(const char *path, const ms_cal_free *frees, int n,
                       const ms_cal_result *res, const ms_cal_opts *o,
                       const char *out_path)
{
    char *text;
    MS_CALL(ms_read_text_file(path, &text, NULL));
    ms_ytree *t;
    ms_status st = ms_ytree_parse_string(text, strlen(text), path, &t);
    if (st != MS_OK) {
        ms_free(text);
        return st;
    }
    edit ed[MS_CAL_MAX_FREE];
    for (int j = 0; j < n && st == MS_OK; j++) {
        const ms_ynode *node = ms_ytree_find(t, frees[j].key);
        if (!node || node->kind != MS_YNODE_SCALAR || !node->plain ||
            node->line < 1)
            st = MS_ERROR(MS_EINPUT, "%s: error: %s is not written in the "
                          "file as a plain number; add it with its current "
                          "value so the fitted value can replace it", path,
                          frees[j].key);
        else {
            ed[j].line = node->line;
            ed[j].col = node->col;
            ed[j].len = strlen(node->value);
            snprintf(ed[j].text, sizeof ed[j].text, "%.6g", frees[j].fitted);
        }
    }
    ms_ytree_destroy(&t);
    if (st != MS_OK) {
        ms_free(text);
        return st;
    }
    qsort(ed, (size_t)n, sizeof *ed, cmp_edit);
    /* Output: header, then the text with edits applied (last first). */
    size_t cap = strlen(text) + 8192 + (size_t)n * 512;
    char *out = ms_malloc(cap);
    if (!out) {
        ms_free(text);
        return MS_ERROR(MS_ENOMEM, "out of memory");
    }
    /* Drop an earlier calibration header. */
    const char *body = text;
    while (!strncmp(body, "# calibrated:", 13)) {
        const char *nl = strchr(body, '\n');
        body = nl ? nl + 1 : body + strlen(body);
    }
    char date[32];
    time_t now = time(NULL);
    struct tm tmv;
    gmtime_r(&now, &tmv);
    strftime(date, sizeof date, "%Y-%m-%d", &tmv);
    size_t len = (size_t)snprintf(out, cap,
        "# calibrated: by marketsim calibrate on %s (commit %s): objective "
        "%.4g -> %.4g (method of simulated moments: sum over %d targets of "
        "(simulated - expected)^2 / (variance x (1 + 1/R) + tolerance^2); "
        "%d replications, %d evaluations, %d Sobol starts, Nelder-Mead from "
        "the best %d)\n", date, MS_GIT_COMMIT, res->start_obj,
        res->fitted_obj, res->n_targets, o->reps, res->evaluations,
        res->starts, res->refined);
    for (int j = 0; j < n; j++) {
        const ms_cal_free *p = &frees[j];
        char ci[160] = "";
        if (!isnan(p->ci_lo))
            snprintf(ci, sizeof ci, "%g%% interval [%.6g, %.6g] by %s%s; ",
                     100 * o->level, p->ci_lo, p->ci_hi,
                     interval_name(o->interval),
                     p->ci_lo_bound && p->ci_hi_bound ? ", the whole range"
                     : p->ci_lo_bound ? ", low end at the bound"
                     : p->ci_hi_bound ? ", high end at the bound" : "");
        len += (size_t)snprintf(out + len, cap - len,
                                "# calibrated: %s = %.6g %s (%sfitted in "
                                "[%g, %g], started at %.6g)\n", p->key,
                                p->fitted, p->unit, ci, p->lo, p->hi,
                                p->start);
    }
    len += (size_t)snprintf(out + len, cap - len, "# calibrated: "
                            "identification: Jacobian rank %d of %d, "
                            "condition number %.3g%s", res->rank, n,
                            res->cond, res->n_weak ? "; not pinned down:" : "");
    for (int j = 0; j < n; j++)
        if (frees[j].weak)
            len += (size_t)snprintf(out + len, cap - len, " %s", frees[j].key);
    len += (size_t)snprintf(out + len, cap - len, "\n");
    /* Copy the body, applying edits by position (line, col of the value). */
    int line = 1, col = 1;
    for (const char *p = text; p < body; p++)
        if (*p == '\n')
            line++;
    int k = n - 1; /* edits sorted descending: walk ascending from the end */
    for (const char *p = body; *p;) {
        if (k >= 0 && ed[k].line == line && ed[k].col == col) {
            len += (size_t)snprintf(out + len, cap - len, "%s", ed[k].text);
            p += ed[k].len;
            col += (int)ed[k].len;
            k--;
            continue;
        }
        if (len + 2 >= cap)
            break;
        out[len++] = *p;
        if (*p == '\n') {
            line++;
            col = 1;
        } else if (((unsigned char)*p & 0xC0) != 0x80) {
            col++; /* libyaml counts characters, not UTF-8 bytes */
        }
        p++;
    }
    out[len] = '\0';
    ms_free(text);
    FILE *f = fopen(out_path, "w");
    if (!f) {
        ms_free(out);
        return MS_ERROR(MS_EIO, "%s: cannot write: %s", out_path,
                        strerror(errno));
    }
    int bad = fputs(out, f) < 0;
    bad |= fclose(f) != 0;
    ms_free(out);
    if (bad)
        return MS_ERROR(MS_EIO, "%s: cannot write: %s", out_path,
                        strerror(errno));
    return MS_OK;
}
