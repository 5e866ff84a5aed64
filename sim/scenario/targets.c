/*
 * targets.c: the `targets` section of a scenario: figures from the seed
 * documents the scenario should reproduce.
 *
 *   targets:
 *     - figure: cn_live_commerce_share_of_ecommerce   # seeds/figures.yaml
 *       measure: ratio
 *       numerator: {measure: gmv, market: CN, category: live_commerce}
 *       denominator: {measure: gmv, market: CN, category: ecommerce}
 *       time: 2020              # calendar year; default: end of the run
 *       expected: 0.10
 *       tolerance: 0.03         # absolute, same unit; at most half of it
 *
 * A figure the documents state as a bound ("under 1 billion USD") is a
 * bound, not a made-up range: `max: 1.0e9` and/or `min: ...` instead of
 * expected and tolerance. The target is met when the simulated value lies
 * in [min, max].
 *
 * Measures (in base units: people, USD/year, fractions):
 *   count    people using a category (market, category optional: all);
 *            with `firm`, the users of the firm's group
 *   share    with `firm`: the group's share of the users; without:
 *            adopters / population (category required)
 *   revenue  revenue per year of the firm's group (all firms without firm)
 *   gmv      merchandise value per year of the users (of the firm's group)
 *   abroad_share  share of the group's revenue earned outside its home
 *   growth   (x(to) - x(from)) / x(from) of the measure in `of`
 *   ratio    numerator / denominator
 */
#include "scenario/scenario_int.h"
#include "scenario/yamltree.h"

#include "marketsim/ms_alloc.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *const ms_measure_names[MS_M_COUNT_KINDS] = {
    "count", "share", "revenue", "gmv", "abroad_share", "growth", "ratio"};

typedef struct tctx {
    ms_scenario *s;
    void (*diag)(void *, const ms_ynode *, const char *);
    void *ctx;
    int *oom;
} tctx;

static void err(tctx *t, const ms_ynode *at, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void err(tctx *t, const ms_ynode *at, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    t->diag(t->ctx, at, msg);
}

static int number(tctx *t, const ms_ynode *n, const char *ctx, double *out)
{
    char *end;
    if (!n || n->kind != MS_YNODE_SCALAR) {
        err(t, n, "%s: expected a number", ctx);
        return 0;
    }
    errno = 0;
    double v = strtod(n->value, &end);
    int word = 0; /* strtod also reads hex, "inf" and "nan": refuse words */
    for (const char *p = n->value; p < end; p++)
        word |= isalpha((unsigned char)*p) && *p != 'e' && *p != 'E';
    if (end == n->value || *end || !isfinite(v) || errno || word) {
        err(t, n, "%s: expected a finite decimal number, got '%s'", ctx,
            n->value);
        return 0;
    }
    *out = v;
    return 1;
}

/* A calendar year a measure is taken at: the nearest step (as
 * sim/core/targets.c takes it) must be one of the run's, 0 to run.steps. */
static int in_run(tctx *t, const ms_ynode *n, const char *ctx, double year)
{
    const ms_run_spec *r = &t->s->run;
    if (!(r->dt > 0) || r->steps < 1)
        return 1; /* run is wrong and reported on its own */
    double step = floor((year - r->start_year) / r->dt + 0.5);
    if (step >= 0 && step <= (double)r->steps)
        return 1;
    err(t, n, "%s: %s is outside the run, which covers the years %g to %g "
        "(run.start_year + run.steps x run.dt); give a time inside it, or "
        "lengthen the run (a shortened run can leave its targets out: "
        "--set targets=[])", ctx, n->value, r->start_year,
        r->start_year + (double)r->steps * r->dt);
    return 0;
}

static int find(const char *name, int n, const char *(*get)(const ms_scenario *, int),
                const ms_scenario *s)
{
    for (int i = 0; i < n; i++)
        if (!strcmp(get(s, i), name))
            return i;
    return -1;
}

static const char *mname(const ms_scenario *s, int i) { return s->markets[i].name; }
static const char *cname(const ms_scenario *s, int i) { return s->categories[i].name; }
static const char *fname(const ms_scenario *s, int i) { return s->firms[i].name; }

static void free_measure(ms_measure *m)
{
    if (m->a) {
        free_measure(m->a);
        ms_free(m->a);
    }
    if (m->b) {
        free_measure(m->b);
        ms_free(m->b);
    }
    m->a = m->b = NULL;
}

static int read_measure(tctx *t, const ms_ynode *n, const char *ctx,
                        ms_measure *m, int depth);

static ms_measure *sub(tctx *t, const ms_ynode *n, const char *ctx, int depth)
{
    ms_measure *m = ms_calloc(1, sizeof *m);
    if (!m) {
        *t->oom = 1;
        return NULL;
    }
    if (!read_measure(t, n, ctx, m, depth + 1)) {
        free_measure(m);
        ms_free(m);
        return NULL;
    }
    return m;
}

/* Keys of a measure; `extra` lists those the caller reads (figure, ...). */
static int read_measure(tctx *t, const ms_ynode *n, const char *ctx,
                        ms_measure *m, int depth)
{
    const ms_scenario *s = t->s;
    m->market = m->category = m->firm = -1;
    m->time = m->from = m->to = NAN;
    if (!n || n->kind != MS_YNODE_MAP) {
        err(t, n, "%s: expected a mapping with a measure", ctx);
        return 0;
    }
    if (depth > 4) {
        err(t, n, "%s: measures nested too deep", ctx);
        return 0;
    }
    static const char *const allowed[] = {
        "figure", "description", "measure", "market", "category", "firm",
        "time", "from", "to", "of", "numerator", "denominator", "expected",
        "tolerance", "min", "max", NULL};
    int ok = 1;
    for (size_t k = 0; k < n->n; k++) {
        int known = 0;
        for (int i = 0; allowed[i] && !known; i++)
            known = !strcmp(allowed[i], n->keys[k]);
        if (!known || (depth > 0 && (!strcmp(n->keys[k], "figure") ||
                                     !strcmp(n->keys[k], "expected") ||
                                     !strcmp(n->keys[k], "tolerance") ||
                                     !strcmp(n->keys[k], "min") ||
                                     !strcmp(n->keys[k], "max") ||
                                     !strcmp(n->keys[k], "description")))) {
            err(t, n->key_nodes[k], "%s: unknown key '%s' (a target has "
                "figure, measure, market, category, firm, time, from, to, "
                "of, numerator, denominator, expected, tolerance, min, "
                "max, description)", ctx, n->keys[k]);
            ok = 0;
        }
    }
    const ms_ynode *v = ms_ynode_get(n, "measure");
    m->kind = -1;
    if (!v || v->kind != MS_YNODE_SCALAR) {
        err(t, v ? v : n, "%s: missing measure (count, share, revenue, gmv, "
            "abroad_share, growth, ratio)", ctx);
        return 0;
    }
    for (int i = 0; i < MS_M_COUNT_KINDS; i++)
        if (!strcmp(v->value, ms_measure_names[i]))
            m->kind = i;
    if (m->kind < 0) {
        err(t, v, "%s.measure: unknown measure '%s' (count, share, revenue, "
            "gmv, abroad_share, growth, ratio)", ctx, v->value);
        return 0;
    }
    char sub_ctx[256];
    if ((v = ms_ynode_get(n, "market"))) {
        if (v->kind != MS_YNODE_SCALAR ||
            (m->market = find(v->value, s->n_markets, mname, s)) < 0) {
            err(t, v, "%s.market: unknown market", ctx);
            ok = 0;
        }
    }
    if ((v = ms_ynode_get(n, "category"))) {
        if (v->kind != MS_YNODE_SCALAR ||
            (m->category = find(v->value, s->n_categories, cname, s)) < 0) {
            err(t, v, "%s.category: unknown category", ctx);
            ok = 0;
        }
    }
    if ((v = ms_ynode_get(n, "firm"))) {
        if (v->kind != MS_YNODE_SCALAR ||
            (m->firm = find(v->value, s->n_firms, fname, s)) < 0) {
            err(t, v, "%s.firm: unknown firm (targets name scenario firms)",
                ctx);
            ok = 0;
        }
    }
    char key_ctx[300];
    if ((v = ms_ynode_get(n, "time"))) {
        snprintf(key_ctx, sizeof key_ctx, "%s.time", ctx);
        ok &= number(t, v, key_ctx, &m->time) &&
              in_run(t, v, key_ctx, m->time);
    }
    if (m->kind == MS_M_GROWTH) {
        v = ms_ynode_get(n, "from");
        snprintf(key_ctx, sizeof key_ctx, "%s.from", ctx);
        ok &= v ? number(t, v, key_ctx, &m->from) &&
                      in_run(t, v, key_ctx, m->from)
                : (err(t, n, "%s: growth needs from and to (years)", ctx), 0);
        v = ms_ynode_get(n, "to");
        snprintf(key_ctx, sizeof key_ctx, "%s.to", ctx);
        ok &= v ? number(t, v, key_ctx, &m->to) &&
                      in_run(t, v, key_ctx, m->to)
                : 0;
        snprintf(sub_ctx, sizeof sub_ctx, "%s.of", ctx);
        if (!(v = ms_ynode_get(n, "of"))) {
            err(t, n, "%s: growth needs `of: {measure: ...}`", ctx);
            return 0;
        }
        if (!(m->a = sub(t, v, sub_ctx, depth)))
            return 0;
        if (m->a->kind == MS_M_GROWTH) {
            err(t, v, "%s: growth of a growth is not supported", sub_ctx);
            ok = 0;
        }
        if (ok && !(m->from < m->to)) {
            err(t, n, "%s: from (%g) must be before to (%g)", ctx, m->from,
                m->to);
            ok = 0;
        }
    } else if (m->kind == MS_M_RATIO) {
        const ms_ynode *a = ms_ynode_get(n, "numerator");
        const ms_ynode *b = ms_ynode_get(n, "denominator");
        if (!a || !b) {
            err(t, n, "%s: a ratio needs numerator and denominator", ctx);
            return 0;
        }
        snprintf(sub_ctx, sizeof sub_ctx, "%s.numerator", ctx);
        if (!(m->a = sub(t, a, sub_ctx, depth)))
            return 0;
        snprintf(sub_ctx, sizeof sub_ctx, "%s.denominator", ctx);
        if (!(m->b = sub(t, b, sub_ctx, depth)))
            return 0;
    } else {
        if ((m->kind == MS_M_ABROAD_SHARE) && m->firm < 0) {
            err(t, n, "%s: abroad_share needs a firm", ctx);
            ok = 0;
        }
        if (m->kind == MS_M_SHARE && m->firm < 0 && m->category < 0) {
            err(t, n, "%s: a share without a firm is adopters / population "
                "and needs a category", ctx);
            ok = 0;
        }
        if (ms_ynode_get(n, "of") || ms_ynode_get(n, "numerator") ||
            ms_ynode_get(n, "denominator")) {
            err(t, n, "%s: of / numerator / denominator belong to growth and "
                "ratio", ctx);
            ok = 0;
        }
    }
    return ok;
}

static void read_goal(tctx *t, const ms_ynode *n, const char *ctx,
                      ms_target *tg);

void ms_targets_read(ms_scenario *s, const ms_ynode *node,
                     void (*diag)(void *, const ms_ynode *, const char *),
                     void *ctx, int *oom)
{
    tctx t = {s, diag, ctx, oom};
    if (!node)
        return;
    if (node->kind != MS_YNODE_SEQ) {
        err(&t, node, "targets: expected a list of targets (- figure: ...)");
        return;
    }
    s->targets = ms_calloc(node->n ? node->n : 1, sizeof *s->targets);
    if (!s->targets) {
        *oom = 1;
        return;
    }
    for (size_t i = 0; i < node->n; i++) {
        const ms_ynode *n = node->items[i];
        ms_target *tg = &s->targets[s->n_targets++];
        char ctx2[64];
        snprintf(ctx2, sizeof ctx2, "targets[%zu]", i);
        int ok = read_measure(&t, n, ctx2, &tg->m, 0);
        if (!ok || n->kind != MS_YNODE_MAP)
            continue;
        const ms_ynode *v = ms_ynode_get(n, "figure");
        if (!v || v->kind != MS_YNODE_SCALAR || !v->value[0])
            err(&t, v ? v : n, "%s: missing figure (an id from "
                "seeds/figures.yaml)", ctx2);
        else if (!(tg->figure = ms_strdup(v->value)))
            *oom = 1;
        else {
            tg->figure_line = v->line;
            tg->figure_col = v->col;
        }
        if ((v = ms_ynode_get(n, "description"))) {
            if (v->kind != MS_YNODE_SCALAR)
                err(&t, v, "%s.description: expected text", ctx2);
            else if (!(tg->description = ms_strdup(v->value)))
                *oom = 1;
        }
        read_goal(&t, n, ctx2, tg);
    }
}

/* What the target asks: `expected` with `tolerance`, or a figure the
 * documents state as a bound, `max:` ("under 1 billion") and/or `min:`. */
static void read_goal(tctx *t, const ms_ynode *n, const char *ctx,
                      ms_target *tg)
{
    const ms_ynode *ve = ms_ynode_get(n, "expected");
    const ms_ynode *vt = ms_ynode_get(n, "tolerance");
    const ms_ynode *vlo = ms_ynode_get(n, "min");
    const ms_ynode *vhi = ms_ynode_get(n, "max");
    tg->expected = tg->tolerance = NAN;
    tg->lo = -HUGE_VAL;
    tg->hi = HUGE_VAL;
    tg->scale = NAN;
    if (vlo || vhi) {
        if (ve || vt) {
            err(t, ve ? ve : vt, "%s: give either expected and tolerance, or "
                "a bound (min and/or max), not both", ctx);
            return;
        }
        int ok = 1;
        char key_ctx[96];
        if (vlo) {
            snprintf(key_ctx, sizeof key_ctx, "%s.min", ctx);
            ok &= number(t, vlo, key_ctx, &tg->lo);
        }
        if (vhi) {
            snprintf(key_ctx, sizeof key_ctx, "%s.max", ctx);
            ok &= number(t, vhi, key_ctx, &tg->hi);
        }
        if (ok && !(tg->lo < tg->hi)) {
            err(t, vhi ? vhi : vlo, "%s: min %g is not below max %g", ctx,
                tg->lo, tg->hi);
            return;
        }
        /* A miss by half the bound's size counts as one tolerance. */
        double size = vhi && vlo ? (tg->hi - tg->lo) / 2
                      : vhi      ? fabs(tg->hi) / 2
                                 : fabs(tg->lo) / 2;
        tg->scale = size > 0 ? size : 1;
        return;
    }
    char key_ctx[96];
    snprintf(key_ctx, sizeof key_ctx, "%s.expected", ctx);
    int have_expected = 0;
    if (!ve)
        err(t, n, "%s: missing expected (or a bound: min, max)", ctx);
    else
        have_expected = number(t, ve, key_ctx, &tg->expected);
    snprintf(key_ctx, sizeof key_ctx, "%s.tolerance", ctx);
    if (!vt) {
        err(t, n, "%s: missing tolerance", ctx);
    } else if (number(t, vt, key_ctx, &tg->tolerance)) {
        if (!(tg->tolerance > 0))
            err(t, vt, "%s.tolerance: must be above 0", ctx);
        else if (have_expected && tg->tolerance > fabs(tg->expected) / 2)
            err(t, vt, "%s.tolerance: %g is wider than half the expected "
                "value %g; a target that loose tells nothing", ctx,
                tg->tolerance, tg->expected);
    }
    tg->lo = tg->expected - tg->tolerance;
    tg->hi = tg->expected + tg->tolerance;
    tg->scale = tg->tolerance;
}

int ms_target_pass(const ms_target *t, double sim)
{
    return !isnan(sim) && sim >= t->lo && sim <= t->hi;
}

void ms_targets_free(ms_scenario *s)
{
    for (int i = 0; s->targets && i < s->n_targets; i++) {
        ms_free(s->targets[i].figure);
        ms_free(s->targets[i].description);
        free_measure(&s->targets[i].m);
    }
    ms_free(s->targets);
    s->targets = NULL;
    s->n_targets = 0;
}

static void fmt_num(char *out, size_t size, double v)
{
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(out, size, "%.*g", prec, v);
        if (strtod(out, NULL) == v)
            return;
    }
}

/* put(ctx, a); put(ctx, b); ... up to a NULL: pieces of any length, so
 * nothing is cut (no fixed buffer between the values and the text). */
static void put_all(void (*put)(void *, const char *), void *ctx, ...)
{
    va_list ap;
    va_start(ap, ctx);
    for (const char *p; (p = va_arg(ap, const char *));)
        put(ctx, p);
    va_end(ap);
}

static void put_num(void (*put)(void *, const char *), void *ctx,
                    const char *sep, const char *key, double v)
{
    char num[40];
    fmt_num(num, sizeof num, v);
    put_all(put, ctx, sep, key, ": ", num, (const char *)NULL);
}

static void emit_measure(const ms_scenario *s, const ms_measure *m,
                         void (*put)(void *, const char *), void *ctx,
                         int flow)
{
    put_all(put, ctx, flow ? "{" : "", "measure: ", ms_measure_names[m->kind],
            (const char *)NULL);
    const char *sep = flow ? ", " : "\n    ";
    /* Names are valid names (letters, digits, '_', '-'), plain in YAML. */
    if (m->market >= 0)
        put_all(put, ctx, sep, "market: ", s->markets[m->market].name,
                (const char *)NULL);
    if (m->category >= 0)
        put_all(put, ctx, sep, "category: ", s->categories[m->category].name,
                (const char *)NULL);
    if (m->firm >= 0)
        put_all(put, ctx, sep, "firm: ", s->firms[m->firm].name,
                (const char *)NULL);
    if (!isnan(m->time))
        put_num(put, ctx, sep, "time", m->time);
    if (m->kind == MS_M_GROWTH) {
        put_num(put, ctx, sep, "from", m->from);
        put_num(put, ctx, sep, "to", m->to);
        put_all(put, ctx, sep, "of: ", (const char *)NULL);
        emit_measure(s, m->a, put, ctx, 1);
    }
    if (m->kind == MS_M_RATIO) {
        put_all(put, ctx, sep, "numerator: ", (const char *)NULL);
        emit_measure(s, m->a, put, ctx, 1);
        put_all(put, ctx, sep, "denominator: ", (const char *)NULL);
        emit_measure(s, m->b, put, ctx, 1);
    }
    if (flow)
        put(ctx, "}");
}

void ms_targets_emit(const ms_scenario *s, void (*put)(void *, const char *),
                     void *ctx)
{
    if (!s->n_targets)
        return;
    put(ctx, "targets:\n");
    for (int i = 0; i < s->n_targets; i++) {
        const ms_target *t = &s->targets[i];
        put(ctx, "  - figure: ");
        ms_yaml_put_scalar(put, ctx, t->figure);
        put(ctx, "\n    ");
        emit_measure(s, &t->m, put, ctx, 0);
        if (isnan(t->expected)) {
            if (t->lo > -HUGE_VAL)
                put_num(put, ctx, "\n    ", "min", t->lo);
            if (t->hi < HUGE_VAL)
                put_num(put, ctx, "\n    ", "max", t->hi);
        } else {
            put_num(put, ctx, "\n    ", "expected", t->expected);
            put_num(put, ctx, "\n    ", "tolerance", t->tolerance);
        }
        put(ctx, "\n");
        if (t->description) {
            put(ctx, "    description: ");
            ms_yaml_put_quoted(put, ctx, t->description);
            put(ctx, "\n");
        }
    }
}

const char *ms_measure_unit(const ms_measure *m)
{
    switch (m->kind) {
    case MS_M_COUNT: return "people";
    case MS_M_REVENUE:
    case MS_M_GMV: return "USD/year";
    default: return "1";
    }
}

void ms_measure_text(const ms_scenario *s, const ms_measure *m, char *buf,
                     size_t size)
{
    char a[256] = "", b[256] = "", when[48] = "";
    if (!isnan(m->time))
        snprintf(when, sizeof when, " at %g", m->time);
    if (m->kind == MS_M_GROWTH) {
        ms_measure_text(s, m->a, a, sizeof a);
        snprintf(buf, size, "growth of %s, %g to %g", a, m->from, m->to);
    } else if (m->kind == MS_M_RATIO) {
        ms_measure_text(s, m->a, a, sizeof a);
        ms_measure_text(s, m->b, b, sizeof b);
        snprintf(buf, size, "%s / %s", a, b);
    } else {
        snprintf(buf, size, "%s(%s%s%s%s%s)%s", ms_measure_names[m->kind],
                 m->market >= 0 ? s->markets[m->market].name : "all markets",
                 m->category >= 0 ? ", " : "",
                 m->category >= 0 ? s->categories[m->category].name : "",
                 m->firm >= 0 ? ", " : "",
                 m->firm >= 0 ? s->firms[m->firm].name : "", when);
    }
}

int ms_scenario_target_count(const ms_scenario *s) { return s->n_targets; }

/* Text for a message, with control characters escaped (\x1b), so that an
 * id read from a file cannot drive the terminal. */
static void safe_text(char *out, size_t size, const char *s)
{
    size_t n = 0;
    for (; *s && n + 5 < size; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch < 0x20 || ch == 0x7f)
            n += (size_t)snprintf(out + n, size - n, "\\x%02x", ch);
        else
            out[n++] = (char)ch;
    }
    out[n] = '\0';
}

ms_status ms_scenario_check_figures(const ms_scenario *s,
                                    const char *catalogue)
{
    if (!s->n_targets)
        return MS_OK;
    ms_ytree *t;
    MS_CALL(ms_ytree_parse_file(catalogue, &t));
    const ms_ynode *root = ms_ytree_root(t);
    const ms_ynode *list = root && root->kind == MS_YNODE_MAP
                               ? ms_ynode_get(root, "figures") : NULL;
    if (!list || list->kind != MS_YNODE_SEQ) {
        ms_ytree_destroy(&t);
        return MS_ERROR(MS_EINPUT, "%s:1:1: error: a figure catalogue is a "
                        "mapping with a `figures:` list of entries with an "
                        "`id` (see seeds/README.md)", catalogue);
    }
    ms_status st = MS_OK;
    for (int i = 0; i < s->n_targets && st == MS_OK; i++) {
        const char *id = s->targets[i].figure;
        int found = 0;
        for (size_t k = 0; id && k < list->n && !found; k++) {
            const ms_ynode *v = ms_ynode_get(list->items[k], "id");
            found = v && v->kind == MS_YNODE_SCALAR && !strcmp(v->value, id);
        }
        if (found || !id)
            continue;
        char safe[256], where[600];
        safe_text(safe, sizeof safe, id);
        if (s->targets[i].figure_line > 0)
            snprintf(where, sizeof where, "%s:%d:%d", s->source,
                     s->targets[i].figure_line, s->targets[i].figure_col);
        else
            snprintf(where, sizeof where, "%s", s->source);
        st = MS_ERROR(MS_EINPUT, "%s: error: targets[%d].figure: unknown "
                      "figure '%s': a target cites the id of a figure in %s "
                      "(add the figure there first, with its source)", where,
                      i, safe, catalogue);
    }
    ms_ytree_destroy(&t);
    return st;
}
