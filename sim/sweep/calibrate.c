/*
 * calibrate.c: `marketsim calibrate` (see ms_calibrate.h).
 *
 * Each evaluation loads the scenario with the free parameters set (--set
 * semantics, so any key works), runs the replications without writing
 * files, and averages each target's simulated value. The fitted file is
 * the original text with the fitted numbers written over the old ones, so
 * its comments and layout survive; a header of `# calibrated:` lines says
 * what was fitted, in which ranges, and how well.
 */
#include "marketsim/ms_calibrate.h"

#include "marketsim/ms_alloc.h"
#include "marketsim/ms_run.h"
#include "rng/ms_rng.h"
#include "scenario/scenario_int.h"
#include "scenario/yamltree.h"

#include <errno.h>
#include <gsl/gsl_multimin.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

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
    double *expected, *lo, *hi, *scale, *mean; /* target; range; unit distance */
    int evaluations;
    ms_status failed;     /* first failure inside the objective */
} cal;

/* The arrays and text a calibration owns. */
static void cal_free(cal *c)
{
    ms_free(c->expected);
    ms_free(c->lo);
    ms_free(c->hi);
    ms_free(c->scale);
    ms_free(c->mean);
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

/* Mean simulated target values at parameters x (n values). */
static ms_status evaluate(cal *c, const double *x, double *obj)
{
    char sets[MS_CAL_MAX_FREE + 1][320];
    const char *sp[MS_CAL_MAX_FREE + 1];
    for (int j = 0; j < c->n; j++) {
        snprintf(sets[j], sizeof sets[j], "%s=%.17g", c->frees[j].key, x[j]);
        sp[j] = sets[j];
    }
    for (int i = 0; i < c->n_targets; i++)
        c->mean[i] = 0;
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
        for (int i = 0; i < c->n_targets; i++)
            c->mean[i] += sim[i] / c->o->reps;
    }
    double s = 0;
    for (int i = 0; i < c->n_targets; i++) {
        /* (mean - expected) / tolerance; for a bound, the distance outside
         * it in units of half the bound's size (0 inside). */
        double m = c->mean[i];
        double d = !isnan(c->expected[i])
                       ? (m - c->expected[i]) / c->scale[i]
                   : m > c->hi[i] ? (m - c->hi[i]) / c->scale[i]
                   : m < c->lo[i] ? (c->lo[i] - m) / c->scale[i]
                                  : isnan(m) ? NAN : 0;
        s += isfinite(d) ? d * d : 1e6;
    }
    *obj = s / c->n_targets;
    c->evaluations++;
    return MS_OK;
}

static double objective(const gsl_vector *z, void *p)
{
    cal *c = p;
    double x[MS_CAL_MAX_FREE], obj;
    for (int j = 0; j < c->n; j++)
        x[j] = to_x(&c->frees[j], gsl_vector_get(z, (size_t)j));
    if (c->failed != MS_OK)
        return GSL_POSINF;
    ms_status st = evaluate(c, x, &obj);
    if (st != MS_OK) {
        c->failed = st;
        return GSL_POSINF;
    }
    return obj;
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
 * as a plain number (the fitted value replaces it), and every target
 * measured within the run. */
static ms_status precheck(const cal *c, const ms_scenario *sc0,
                          ms_cal_free *frees, int n)
{
    const char *path = c->path;
    for (int j = 0; j < n; j++)
        for (int k = 0; k < j; k++)
            if (!strcmp(frees[j].key, frees[k].key))
                return MS_ERROR(MS_EUSAGE, "--free %s is given twice; give "
                                "each free parameter once", frees[j].key);
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
    ms_ytree *t;
    MS_CALL(ms_ytree_parse_string(c->text, strlen(c->text), path, &t));
    ms_status st = MS_OK;
    for (int j = 0; j < n && st == MS_OK; j++) {
        const ms_ynode *node = ms_ytree_find(t, frees[j].key);
        if (!node || node->kind != MS_YNODE_SCALAR || !node->plain ||
            node->line < 1)
            st = MS_ERROR(MS_EINPUT, "%s: error: --free %s: the key is not "
                          "written in the file as a plain number; add it "
                          "with its current value so the fitted value can "
                          "replace it", path, frees[j].key);
    }
    ms_ytree_destroy(&t);
    MS_CALL(st);
    double end = sc0->run.start_year + (double)sc0->run.steps * sc0->run.dt;
    for (int i = 0; i < sc0->n_targets; i++) {
        const ms_target *tg = &sc0->targets[i];
        double y = measure_year(&tg->m);
        if (!isnan(y) && y > end + 1e-9)
            return MS_ERROR(MS_EINPUT, "%s: error: target %s is measured at "
                            "%g, after the run ends (%g); raise run.steps or "
                            "drop the target", path, tg->figure, y, end);
        if (!(tg->scale > 0)) /* the tolerance, or half a bound's size */
            return MS_ERROR(MS_EINPUT, "%s: error: target %s: tolerance %g; "
                            "the fit divides by it, give a positive "
                            "tolerance", path, tg->figure, tg->scale);
    }
    if (n > sc0->n_targets)
        fprintf(c->o->log ? c->o->log : stderr, "calibrate: warning: %d free "
                "parameters for %d target%s: the fit is underdetermined "
                "(several values fit equally well); add targets or fix some "
                "parameters\n", n, sc0->n_targets,
                sc0->n_targets == 1 ? "" : "s");
    return MS_OK;
}

ms_status ms_calibrate(const char *path, ms_cal_free *frees, int n,
                       const ms_cal_opts *o, ms_cal_result *res)
{
    memset(res, 0, sizeof *res);
    if (n < 1 || n > MS_CAL_MAX_FREE)
        return MS_ERROR(MS_EUSAGE, "calibrate: give 1 to %d --free "
                        "parameters", MS_CAL_MAX_FREE);
    cal c;
    memset(&c, 0, sizeof c);
    c.path = path;
    c.frees = frees;
    c.n = n;
    c.o = o;
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
                        "targets (a `targets` list; see docs/SCENARIOS.md)",
                        path);
    }
    c.expected = ms_calloc((size_t)c.n_targets, sizeof *c.expected);
    c.lo = ms_calloc((size_t)c.n_targets, sizeof *c.lo);
    c.hi = ms_calloc((size_t)c.n_targets, sizeof *c.hi);
    c.scale = ms_calloc((size_t)c.n_targets, sizeof *c.scale);
    c.mean = ms_calloc((size_t)c.n_targets, sizeof *c.mean);
    for (int i = 0; c.expected && c.lo && c.hi && c.scale && i < c.n_targets;
         i++) {
        c.expected[i] = sc->targets[i].expected;
        c.lo[i] = sc->targets[i].lo;
        c.hi[i] = sc->targets[i].hi;
        c.scale[i] = sc->targets[i].scale;
    }
    st = precheck(&c, sc, frees, n);
    ms_scenario_destroy(&sc);
    if (st != MS_OK) {
        cal_free(&c);
        return st;
    }
    gsl_multimin_fminimizer *mz = NULL;
    gsl_vector *z = gsl_vector_alloc((size_t)n), *step = gsl_vector_alloc((size_t)n);
    if (!c.expected || !c.lo || !c.hi || !c.scale || !c.mean || !z || !step) {
        st = MS_ERROR(MS_ENOMEM, "out of memory");
        goto done;
    }
    /* Each key must be one --set reaches, taking a value in its box. */
    for (int j = 0; j < n; j++) {
        char tmp[320];
        snprintf(tmp, sizeof tmp, "%s=%.17g", frees[j].key, frees[j].lo);
        const char *sp[1] = {tmp};
        st = ms_scenario_load_string(c.text, path, sp, 1, &sc);
        if (st != MS_OK)
            goto done;
        ms_scenario_destroy(&sc);
        frees[j].start = NAN;
    }
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
            if (node && node->kind == MS_YNODE_SCALAR &&
                (v = strtod(node->value, &end), end != node->value && !*end))
                frees[j].start = v;
            if (isnan(frees[j].start) || frees[j].start <= frees[j].lo ||
                frees[j].start >= frees[j].hi)
                frees[j].start = 0.5 * (frees[j].lo + frees[j].hi);
            gsl_vector_set(z, (size_t)j, to_z(&frees[j], frees[j].start));
            gsl_vector_set(step, (size_t)j, 1.0);
        }
        ms_ytree_destroy(&t);
    }
    gsl_multimin_function fn = {objective, (size_t)n, &c};
    res->start_obj = objective(z, &c);
    if (c.failed != MS_OK) {
        st = c.failed;
        goto done;
    }
    if (!o->quiet)
        fprintf(o->log, "calibrate: %d targets, %d replications per "
                "evaluation, start objective %.4g\n", c.n_targets, o->reps,
                res->start_obj);
    mz = gsl_multimin_fminimizer_alloc(gsl_multimin_fminimizer_nmsimplex2,
                                       (size_t)n);
    if (!mz || gsl_multimin_fminimizer_set(mz, &fn, z, step) != GSL_SUCCESS) {
        st = c.failed != MS_OK ? c.failed
                               : MS_ERROR(MS_ENOMEM, "cannot start the simplex");
        goto done;
    }
    int it = 0, status = GSL_CONTINUE;
    for (; it < o->max_iter && status == GSL_CONTINUE; it++) {
        if (gsl_multimin_fminimizer_iterate(mz) != GSL_SUCCESS)
            break;
        if (c.failed != MS_OK)
            break;
        double size = gsl_multimin_fminimizer_size(mz);
        status = gsl_multimin_test_size(size, o->size_tol);
        if (!o->quiet) {
            fprintf(o->log, "  iter %3d  objective %-10.4g", it + 1, mz->fval);
            for (int j = 0; j < n; j++)
                fprintf(o->log, "  %s=%.5g", frees[j].key,
                        to_x(&frees[j], gsl_vector_get(mz->x, (size_t)j)));
            fprintf(o->log, "\n");
            fflush(o->log);
        }
    }
    if (c.failed != MS_OK) {
        st = c.failed;
        goto done;
    }
    for (int j = 0; j < n; j++)
        frees[j].fitted = to_x(&frees[j], gsl_vector_get(mz->x, (size_t)j));
    res->fitted_obj = mz->fval;
    res->iterations = it;
    res->evaluations = c.evaluations;
    res->n_targets = c.n_targets;
    st = MS_OK;
done:
    if (mz)
        gsl_multimin_fminimizer_free(mz);
    if (z)
        gsl_vector_free(z);
    if (step)
        gsl_vector_free(step);
    cal_free(&c);
    return st;
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
        "%.4g -> %.4g (mean of ((simulated - expected) / tolerance)^2 over "
        "%d targets, %d replications, %d evaluations)\n", date, MS_GIT_COMMIT,
        res->start_obj, res->fitted_obj, res->n_targets, o->reps,
        res->evaluations);
    for (int j = 0; j < n; j++)
        len += (size_t)snprintf(out + len, cap - len,
                                "# calibrated: %s = %.6g (fitted in [%g, %g], "
                                "started at %.6g)\n", frees[j].key,
                                frees[j].fitted, frees[j].lo, frees[j].hi,
                                frees[j].start);
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
