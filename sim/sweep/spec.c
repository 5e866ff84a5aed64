/*
 * spec.c: reading a sweep file and laying out its design.
 *
 *   scenario: ../default.yaml        # relative to this file
 *   seed: 42                         # the sweep seed
 *   replications: 4                  # runs per point
 *   design: grid                     # grid, lhs, sobol, table, saltelli
 *                                    # or morris
 *   samples: 64                      # points of lhs and sobol designs;
 *                                    # saltelli: base samples N (2^m)
 *   trajectories: 10                 # morris: trajectories r
 *   levels: 4                        # morris: levels of its grid
 *   table: points.csv                # a table's points (no parameters)
 *   parameters:
 *     markets.CN.openness: [0.1, 0.5, 1.0]         # values (grid)
 *     firms.Alibaba.beta: {low: 0.05, high: 0.5}   # a range (n: points in
 *                                                  # a grid; log: true)
 *     firms.Alibaba.strategy: [{acquire: 1}, {localize: 1}]
 *   outputs: [adopters, users, cash] # datasets kept (docs/OUTPUT.md);
 *                                    # `summary` or {summary: [...]}:
 *                                    # only their per-point summaries
 *   every: 12                        # steps between kept records
 *   set: {run.steps: 60}             # settings for every run
 *
 * Grid points are the product of the parameters' values, the first
 * parameter varying slowest. A Latin hypercube puts one point in each of
 * `samples` equal slices of every range (slices paired by a random
 * permutation per parameter, drawn from the sweep seed). Sobol points come
 * from gsl_qrng_sobol, skipping the origin. A saltelli design has N (k + 2)
 * points for k parameters (the A, AB_1 .. AB_k and B rows of each base
 * sample, from one Sobol sequence of dimension 2k), a morris design r (k +
 * 1) (r one-at-a-time trajectories on a grid of `levels` values, drawn
 * from the sweep seed); sweep/sensitivity.c lays both out, and
 * ms_sweep_write_design records what `marketsim analyze` needs. A table's
 * points are the rows
 * of a CSV file whose header names the parameters (docs/SWEEPS.md has the
 * whole format). All problems of one file are reported together, each at
 * its own line: every parameter and setting is first tried alone with the
 * scenario. Every parameter setting is
 * checked against the scenario before anything runs: a sweep that would
 * fail on its first run fails at once, with the sweep file's line (all
 * points up to MAX_CHECKED, the first MAX_CHECKED of larger designs;
 * --dry-run says which).
 *
 * Refused because they would not mean what they say: run.seed in `set` or
 * `parameters` (run r's seed is ms_rng_derive_seed(seed, r)); a key given
 * twice or inside another (markets.CN and markets.CN.population: one would
 * replace the other); keys with '=' or empty parts; designs whose points,
 * runs or tables do not fit (sized from the counts, before anything is
 * allocated).
 */
#include "sweep/sweep_int.h"
#include "scenario/yamltree.h"

#include "base/ms_text.h"
#include "core/ms_output.h"
#include "io/ms_h5.h"
#include "marketsim/ms_alloc.h"
#include "marketsim/ms_sensitivity.h"
#include "rng/ms_rng.h"

#include <ctype.h>
#include <errno.h>
#include <gsl/gsl_qrng.h>
#include <gsl/gsl_randist.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_POINTS 10000000
/* Runs one sweep file holds: its run dimension is an HDF5 int. */
#define MAX_RUNS 2147483647.0
/* Memory the sweep takes for its tables, before any run: per run its
 * status, place in the task list, the /runs columns as they are written and
 * the summary's index (8 + 8 + 3 * 8 + 1 + 8 + 8, rounded up); per point
 * and parameter the design's value and choice (8 + 4). */
#define RUN_BYTES 64.0
#define CELL_BYTES 12.0
/* Points checked before anything runs (each loads the scenario once). */
#define MAX_CHECKED 10000
/* Room for the messages of one attempt (the error layer keeps 8 KB). */
#define MS_ERRLIST_BYTES 8000

static const char *const sweep_keys[] = {"scenario", "seed", "replications",
                                         "design", "samples", "parameters",
                                         "outputs", "every", "set",
                                         "description", "table",
                                         "trajectories", "levels", NULL};

const char *const ms_sweep_design_names[] = {"grid", "lhs", "sobol", "table",
                                             "saltelli", "morris"};

/* Points of the design, from its counts. */
static double design_points(const ms_sweep *s)
{
    double np = 1;
    if (s->design == MS_DESIGN_GRID)
        for (int j = 0; j < s->n_params; j++)
            np *= s->params[j].n_values;
    else if (s->design == MS_DESIGN_SALTELLI)
        np = (double)s->samples * (s->n_params + 2);
    else if (s->design == MS_DESIGN_MORRIS)
        np = (double)s->trajectories * (s->n_params + 1);
    else
        np = (double)s->samples; /* lhs, sobol: samples; table: rows */
    return np;
}

static ms_status where_err(const ms_ynode *n, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static ms_status where_err(const ms_ynode *n, const char *fmt, ...)
{
    char where[512], msg[2048];
    ms_ynode_where(n, where, sizeof where);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return MS_ERROR(MS_EINPUT, "%s: error: %s", where, msg);
}

static int parse_number(const char *t, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(t, &end);
    if (end == t || *end || !isfinite(v) || errno)
        return 0;
    for (const char *p = t; *p; p++)
        if (isalpha((unsigned char)*p) && *p != 'e' && *p != 'E')
            return 0;
    *out = v;
    return 1;
}

static ms_status scalar_number(const ms_ynode *n, const char *key, double lo,
                               double hi, double *out)
{
    if (!n || n->kind != MS_YNODE_SCALAR || !parse_number(n->value, out))
        return where_err(n, "%s: expected a number", key);
    if (*out < lo || *out > hi)
        return where_err(n, "%s: %s is out of range; allowed [%g, %g]", key,
                         n->value, lo, hi);
    return MS_OK;
}

void ms_sweep_destroy(ms_sweep **sp)
{
    if (!sp || !*sp)
        return;
    ms_sweep *s = *sp;
    for (int i = 0; s->params && i < s->n_params; i++) {
        ms_sweep_param *p = &s->params[i];
        ms_free(p->key);
        for (int k = 0; p->values && k < p->n_values; k++)
            ms_free(p->values[k]);
        ms_free(p->values);
        ms_free(p->numeric);
    }
    for (int i = 0; s->fixed && i < s->n_fixed; i++)
        ms_free(s->fixed[i]);
    ms_free(s->fixed);
    ms_free(s->params);
    ms_free(s->outputs);
    ms_free(s->point_value);
    ms_free(s->point_choice);
    ms_free(s->table_choice);
    ms_scenario_destroy(&s->base);
    ms_free(s->base_yaml);
    ms_free(s->path);
    ms_free(s->text);
    ms_free(s->scenario_path);
    ms_free(s->scenario_text);
    ms_free(s);
    *sp = NULL;
}

int64_t ms_sweep_run_count(const ms_sweep *s)
{
    return s->n_points * s->replications;
}

int64_t ms_sweep_points(const ms_sweep *s)
{
    return s->n_points;
}

int64_t ms_sweep_points_checked(const ms_sweep *s)
{
    return s->n_checked;
}

const char *ms_sweep_scenario_file(const ms_sweep *s)
{
    return s->scenario_path;
}

/* Common random numbers in sensitivity designs: the runs that an index
 * compares share their seeds, so that a parameter that cannot change an
 * output gets a total index of exactly 0, not the noise of two seeds.
 * Saltelli: replicate q of A_i and of every AB_i_j share one seed (the
 * noise is one more input, kept from A like the unswapped columns), B_i
 * has its own; Morris: every point of a trajectory shares one. Other
 * designs: run r's seed is ms_rng_derive_seed(seed, r). */
uint64_t ms_sweep_run_seed(const ms_sweep *s, int64_t r)
{
    const int64_t q = r % s->replications, p = r / s->replications;
    const int64_t k = s->n_params;
    if (s->design == MS_DESIGN_SALTELLI) {
        int64_t group = 2 * (p / (k + 2)) + (p % (k + 2) == k + 1);
        r = group * s->replications + q;
    } else if (s->design == MS_DESIGN_MORRIS) {
        r = (p / (k + 1)) * s->replications + q;
    }
    return ms_rng_derive_seed(s->seed, (uint64_t)r);
}

int ms_sweep_in_shard(int64_t r, int shard_i, int shard_n)
{
    return shard_n <= 1 || r % shard_n == shard_i - 1;
}

static char *fmt_value(double v)
{
    char buf[40];
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(buf, sizeof buf, "%.*g", prec, v);
        if (strtod(buf, NULL) == v)
            break;
    }
    return ms_strdup(buf);
}

static char *make_set(const char *key, const char *value)
{
    size_t n = strlen(key) + strlen(value) + 2;
    char *s = ms_malloc(n);
    if (s)
        snprintf(s, n, "%s=%s", key, value);
    return s;
}

ms_status ms_sweep_run_sets(const ms_sweep *s, int64_t r, char **sets,
                            int *n_sets)
{
    int n = 0;
    int64_t point = r / s->replications;
    for (int i = 0; i < s->n_fixed; i++)
        if (!(sets[n++] = ms_strdup(s->fixed[i])))
            goto oom;
    for (int j = 0; j < s->n_params; j++) {
        const ms_sweep_param *p = &s->params[j];
        int choice = s->point_choice[point * s->n_params + j];
        char *v = choice >= 0 ? ms_strdup(p->values[choice])
                              : fmt_value(s->point_value[point * s->n_params + j]);
        if (!v)
            goto oom;
        sets[n] = make_set(p->key, v);
        ms_free(v);
        if (!sets[n++])
            goto oom;
    }
    char seed[32];
    snprintf(seed, sizeof seed, "%llu",
             (unsigned long long)ms_sweep_run_seed(s, r));
    if (!(sets[n++] = make_set("run.seed", seed)))
        goto oom;
    *n_sets = n;
    return MS_OK;
oom:
    for (int i = 0; i < n; i++)
        ms_free(sets[i]);
    *n_sets = 0;
    return MS_ERROR(MS_ENOMEM, "out of memory");
}

static ms_status read_param(ms_sweep *s, ms_sweep_param *p, const char *key,
                            const ms_ynode *n)
{
    if (!(p->key = ms_strdup(key)))
        return MS_ERROR(MS_ENOMEM, "out of memory");
    if (n->kind == MS_YNODE_SEQ) {
        if (n->n == 0)
            return where_err(n, "parameters.%s: the list of values is empty",
                             key);
        p->n_values = (int)n->n;
        p->values = ms_calloc(n->n, sizeof *p->values);
        p->numeric = ms_calloc(n->n, sizeof *p->numeric);
        if (!p->values || !p->numeric)
            return MS_ERROR(MS_ENOMEM, "out of memory");
        p->all_numeric = 1;
        for (size_t k = 0; k < n->n; k++) {
            MS_CALL(ms_ynode_flow(n->items[k], &p->values[k]));
            double v;
            if (n->items[k]->kind == MS_YNODE_SCALAR &&
                parse_number(n->items[k]->value, &v))
                p->numeric[k] = v;
            else {
                p->numeric[k] = NAN;
                p->all_numeric = 0;
            }
        }
        return MS_OK;
    }
    if (n->kind != MS_YNODE_MAP)
        return where_err(n, "parameters.%s: expected a list of values like "
                         "[0.1, 0.5] or a range like {low: 0.1, high: 0.9}",
                         key);
    p->range = 1;
    p->all_numeric = 1;
    p->n_values = 5;
    for (size_t k = 0; k < n->n; k++) {
        const char *kk = n->keys[k];
        const ms_ynode *v = n->items[k];
        char sub[300];
        snprintf(sub, sizeof sub, "parameters.%s.%s", key, kk);
        if (!strcmp(kk, "low"))
            MS_CALL(scalar_number(v, sub, -1e300, 1e300, &p->low));
        else if (!strcmp(kk, "high"))
            MS_CALL(scalar_number(v, sub, -1e300, 1e300, &p->high));
        else if (!strcmp(kk, "n")) {
            double d;
            MS_CALL(scalar_number(v, sub, 1, 1e6, &d));
            if (d != floor(d))
                return where_err(v, "%s: expected a whole number", sub);
            p->n_values = (int)d;
        } else if (!strcmp(kk, "log")) {
            if (v->kind != MS_YNODE_SCALAR ||
                (strcmp(v->value, "true") && strcmp(v->value, "false")))
                return where_err(v, "%s: expected true or false", sub);
            p->log = !strcmp(v->value, "true");
        } else {
            return where_err(n->key_nodes[k], "parameters.%s: unknown key "
                             "'%s' (allowed: low, high, n, log)", key, kk);
        }
    }
    if (!ms_ynode_get(n, "low") || !ms_ynode_get(n, "high"))
        return where_err(n, "parameters.%s: a range needs low and high", key);
    if (!(p->low < p->high))
        return where_err(n, "parameters.%s: low (%g) must be below high (%g)",
                         key, p->low, p->high);
    if (p->log && !(p->low > 0))
        return where_err(n, "parameters.%s: a log range needs low > 0", key);
    (void)s;
    return MS_OK;
}

static double scale(const ms_sweep_param *p, double u)
{
    if (p->log)
        return exp(log(p->low) + u * (log(p->high) - log(p->low)));
    return p->low + u * (p->high - p->low);
}

/* The seed of every run is the sweep's to give: run r gets
 * ms_rng_derive_seed(seed, r), so replications differ and any run can be
 * repeated alone. A key that sets run.seed would be overridden. */
static int sets_seed(const char *key, const ms_ynode *value)
{
    if (!strcmp(key, "run.seed"))
        return 1;
    if (strcmp(key, "run") || !value)
        return 0;
    if (value->kind == MS_YNODE_MAP)
        return ms_ynode_get(value, "seed") != NULL;
    if (value->kind == MS_YNODE_SEQ)
        for (size_t k = 0; k < value->n; k++)
            if (value->items[k]->kind == MS_YNODE_MAP &&
                ms_ynode_get(value->items[k], "seed"))
                return 1;
    return 0;
}

/* A key of `set` or `parameters` (sec) that means what it says. */
static ms_status check_key(const ms_ynode *at, const char *sec,
                           const char *key, const ms_ynode *value)
{
    if (strchr(key, '='))
        return where_err(at, "%s: the key '%s' contains '='; a sweep key is "
                         "a scenario path like markets.CN.openness, with "
                         "its value after the colon", sec, key);
    if (!key[0] || key[0] == '.' || key[strlen(key) - 1] == '.' ||
        strstr(key, ".."))
        return where_err(at, "%s: '%s' is not a scenario path like "
                         "markets.CN.openness (no empty parts)", sec, key);
    if (sets_seed(key, value))
        return where_err(at, "%s.%s: a sweep gives every run its own seed, "
                         "derived from the sweep's `seed` and the run index "
                         "(ms_rng_derive_seed(seed, run), stored in "
                         "/runs/seed), so run.seed cannot be %s; change the "
                         "top-level `seed:` for other draws, or raise "
                         "`replications:` for more of them", sec, key,
                         !strcmp(sec, "set") ? "set" : "varied");
    return MS_OK;
}

/* 1 if key a is key b or holds it (a = "markets.CN", b =
 * "markets.CN.population"). */
static int holds(const char *a, const char *b)
{
    size_t la = strlen(a);
    return !strncmp(a, b, la) && (b[la] == '\0' || b[la] == '.');
}

/* No key of `set` and `parameters` may be given twice or inside another:
 * a run applies them one after the other, so the later one would replace
 * the earlier (or be replaced) while /runs records both. */
static ms_status check_overlaps(const ms_ynode *set, const ms_ynode *par)
{
    const ms_ynode *secs[2] = {set, par};
    const char *names[2] = {"set", "parameters"};
    for (int sb = 0; sb < 2; sb++) {
        const ms_ynode *B = secs[sb];
        if (!B || B->kind != MS_YNODE_MAP)
            continue;
        for (size_t j = 0; j < B->n; j++)
            for (int sa = 0; sa <= sb; sa++) {
                const ms_ynode *A = secs[sa];
                if (!A || A->kind != MS_YNODE_MAP)
                    continue;
                size_t na = sa == sb ? j : A->n;
                for (size_t i = 0; i < na; i++) {
                    const char *a = A->keys[i], *b = B->keys[j];
                    if (!holds(a, b) && !holds(b, a))
                        continue;
                    char where[512];
                    ms_ynode_where(A->key_nodes[i], where, sizeof where);
                    if (!strcmp(a, b))
                        return where_err(B->key_nodes[j], "%s.%s: also "
                                         "given in %s (%s); give each key "
                                         "once", names[sb], b, names[sa],
                                         where);
                    const char *outer = holds(a, b) ? a : b;
                    const char *inner = holds(a, b) ? b : a;
                    return where_err(B->key_nodes[j], "%s.%s overlaps "
                                     "%s.%s (%s): %s holds %s, so one "
                                     "setting would replace the other in "
                                     "every run; give each setting once "
                                     "(vary %s alone, or give whole values "
                                     "of %s)", names[sb], b, names[sa], a,
                                     where, outer, inner, inner, outer);
                }
            }
    }
    return MS_OK;
}

/* The size of the design, from its counts alone (nothing allocated or
 * looped over per run): refused before any work when the points, the runs
 * or the memory of their tables are beyond what a sweep can hold. */
static ms_status size_design(ms_sweep *s, const ms_ynode *at)
{
    double np = design_points(s);
    double runs = np * (double)s->replications;
    double bytes = np * (s->n_params ? s->n_params : 1) * CELL_BYTES +
                   runs * RUN_BYTES;
    double mem = ms_scenario_usable_memory();
    if (np <= MAX_POINTS && runs <= MAX_RUNS &&
        !(mem > 0 && bytes > 0.8 * mem))
        return MS_OK;
    return where_err(at, "the design has %.0f points x %lld replications = "
                     "%.0f runs, whose tables alone take %.3g GB of memory; "
                     "a sweep holds at most %d points, %.0f runs and 80%% of "
                     "the %.1f GB this process may use; use fewer %s or "
                     "replications, or split the study into several sweep "
                     "files", np,
                     (long long)s->replications, runs, bytes / 1e9,
                     MAX_POINTS, MAX_RUNS, mem / 1e9,
                     s->design == MS_DESIGN_GRID ? "values"
                     : s->design == MS_DESIGN_MORRIS ? "trajectories"
                                                     : "samples");
}

static ms_status make_points(ms_sweep *s, const ms_ynode *at)
{
    int64_t np = (int64_t)design_points(s);
    s->n_points = np;
    size_t cells = (size_t)np * (size_t)(s->n_params ? s->n_params : 1);
    s->point_value = ms_calloc(cells, sizeof *s->point_value);
    s->point_choice = ms_calloc(cells, sizeof *s->point_choice);
    if (!s->point_value || !s->point_choice)
        return MS_ERROR(MS_ENOMEM, "out of memory for %lld points",
                        (long long)np);
    const int J = s->n_params;
    if (s->design == MS_DESIGN_TABLE) {
        for (int64_t i = 0; i < np; i++)
            for (int j = 0; j < J; j++) {
                const ms_sweep_param *p = &s->params[j];
                int k = s->table_choice[i * J + j];
                s->point_choice[i * J + j] = k;
                s->point_value[i * J + j] =
                    p->all_numeric ? p->numeric[k] : (double)k;
            }
        return MS_OK;
    }
    if (s->design == MS_DESIGN_GRID) {
        for (int64_t i = 0; i < np; i++) {
            int64_t rest = i;
            for (int j = J - 1; j >= 0; j--) {
                const ms_sweep_param *p = &s->params[j];
                int k = (int)(rest % p->n_values);
                rest /= p->n_values;
                double *v = &s->point_value[i * J + j];
                int *ch = &s->point_choice[i * J + j];
                if (p->range) {
                    *v = p->n_values == 1
                             ? scale(p, 0.5)
                             : scale(p, (double)k / (p->n_values - 1));
                    *ch = -1;
                } else {
                    *ch = k;
                    *v = p->all_numeric ? p->numeric[k] : (double)k;
                }
            }
        }
        return MS_OK;
    }
    if (s->design == MS_DESIGN_LHS) {
        gsl_rng *r = ms_rng_gsl_alloc();
        size_t *perm = ms_calloc((size_t)np, sizeof *perm);
        if (!r || !perm) {
            ms_rng_gsl_free(r);
            ms_free(perm);
            return MS_ERROR(MS_ENOMEM, "out of memory");
        }
        ms_rng_key key = ms_rng_key_from_seed(s->seed);
        for (int j = 0; j < J; j++) {
            ms_rng_gsl_reset(r, key, (uint32_t)j, 0, MS_PH_DESIGN, 0);
            for (int64_t i = 0; i < np; i++)
                perm[i] = (size_t)i;
            gsl_ran_shuffle(r, perm, (size_t)np, sizeof *perm);
            for (int64_t i = 0; i < np; i++) {
                double u = ((double)perm[i] + gsl_rng_uniform(r)) / (double)np;
                s->point_value[i * J + j] = scale(&s->params[j], u);
                s->point_choice[i * J + j] = -1;
            }
        }
        ms_free(perm);
        ms_rng_gsl_free(r);
        return MS_OK;
    }
    if (s->design == MS_DESIGN_SALTELLI || s->design == MS_DESIGN_MORRIS) {
        double *u = ms_malloc(cells * sizeof *u);
        if (!u)
            return MS_ERROR(MS_ENOMEM, "out of memory");
        ms_status st = s->design == MS_DESIGN_SALTELLI
                           ? ms_sens_saltelli_design(s->samples, J, u)
                           : ms_sens_morris_design(s->seed, (int)s->trajectories,
                                                   J, s->levels, u);
        for (size_t c = 0; st == MS_OK && c < cells; c++) {
            s->point_value[c] = scale(&s->params[c % (size_t)J], u[c]);
            s->point_choice[c] = -1;
        }
        ms_free(u);
        if (st == MS_EINPUT) {
            char msg[1024];
            snprintf(msg, sizeof msg, "%s", ms_error_message());
            ms_error_clear();
            return where_err(at, "%s", msg);
        }
        return st;
    }
    /* Sobol */
    if (J > 40)
        return where_err(at, "a Sobol design takes at most 40 parameters");
    gsl_qrng *q = gsl_qrng_alloc(gsl_qrng_sobol, (unsigned)(J ? J : 1));
    if (!q)
        return MS_ERROR(MS_ENOMEM, "out of memory");
    double x[40];
    gsl_qrng_get(q, x); /* the origin */
    for (int64_t i = 0; i < np; i++) {
        gsl_qrng_get(q, x);
        for (int j = 0; j < J; j++) {
            s->point_value[i * J + j] = scale(&s->params[j], x[j]);
            s->point_choice[i * J + j] = -1;
        }
    }
    gsl_qrng_free(q);
    return MS_OK;
}

const char *ms_sweep_shape_change(const ms_sweep *s, const ms_scenario *sc)
{
    const ms_scenario *b = s->base;
    if (sc->n_markets != b->n_markets || sc->n_categories != b->n_categories ||
        sc->n_firms != b->n_firms)
        return "the markets, categories or firms";
    if (sc->run.steps != b->run.steps)
        return "run.steps";
    if (sc->model.max_entrants != b->model.max_entrants)
        return "model.max_entrants";
    return NULL;
}

/* Check that one run's settings give a scenario of the base's shape. */
static ms_status check_point(ms_sweep *s, int64_t r, const char *at)
{
    char *sets[MS_MAX_CATEGORIES + 512];
    int n;
    if (s->n_fixed + s->n_params + 1 > (int)(sizeof sets / sizeof sets[0]))
        return MS_ERROR(MS_EINPUT, "%s: error: too many parameters and "
                        "settings", at);
    MS_CALL(ms_sweep_run_sets(s, r, sets, &n));
    ms_scenario *sc;
    ms_status st = ms_scenario_load_string(s->scenario_text, s->scenario_path,
                                           (const char *const *)sets, n, &sc);
    for (int i = 0; i < n; i++)
        ms_free(sets[i]);
    if (st != MS_OK) {
        char msg[4096];
        snprintf(msg, sizeof msg, "%s", ms_error_message());
        return MS_ERROR(MS_EINPUT, "%s: error: a run of this sweep would not "
                        "start:\n%s", at, msg);
    }
    const char *why = ms_sweep_shape_change(s, sc);
    ms_scenario_destroy(&sc);
    if (why)
        return MS_ERROR(MS_EINPUT, "%s: error: parameters change %s, and "
                        "with them the shape of the outputs; a sweep keeps "
                        "them fixed", at, why);
    return MS_OK;
}

/* Problems of a sweep file, gathered so that one attempt reports them all
 * (like a scenario's): each one's message, one per line. */
#define MAX_ERRORS 30
typedef struct {
    char buf[MS_ERRLIST_BYTES];
    size_t len;
    int n;
} errlist;

/* Keep an input error and go on (MS_OK); any other failure (out of
 * memory) is returned as it is. */
static ms_status note(errlist *e, ms_status st)
{
    if (st == MS_OK || st != MS_EINPUT)
        return st;
    e->n++;
    if (e->n <= MAX_ERRORS && e->len < sizeof e->buf - 1)
        e->len += (size_t)snprintf(e->buf + e->len, sizeof e->buf - e->len,
                                   "%s%s", e->len ? "\n" : "",
                                   ms_error_message());
    if (e->len >= sizeof e->buf)
        e->len = sizeof e->buf - 1;
    ms_error_clear();
    return MS_OK;
}

static ms_status raise_all(const errlist *e)
{
    if (e->n > MAX_ERRORS)
        return MS_ERROR(MS_EINPUT, "%s\n(%d more errors not shown)", e->buf,
                        e->n - MAX_ERRORS);
    return MS_ERROR(MS_EINPUT, "%s", e->buf);
}

/* "; did you mean 'x'?" for the closest output dataset, or "". */
static void suggest_output(char *buf, size_t size, const char *got)
{
    const char *names[256];
    int n = 0;
    for (int i = 0; i < ms_outvar_count() && n < 256; i++) {
        ms_outvar_meta m;
        ms_outvar_get(i, &m);
        if (strcmp(m.name, "alive") != 0)
            names[n++] = m.name;
    }
    ms_suggest(buf, size, got, names, n);
}

/* Keys whose value fixes the shape of the outputs (or the runs' seeds):
 * a design cannot vary them. NULL when key is not one of them. */
static const char *fixed_shape(const char *key)
{
    static const char *const keys[] = {"run.steps", "model.max_entrants",
                                       "markets", "firms", "categories",
                                       "run", "model", NULL};
    for (int i = 0; keys[i]; i++)
        if (!strcmp(key, keys[i]))
            return keys[i];
    return NULL;
}

/* Load the scenario with the sweep's fixed settings and one more (or
 * none); MS_OK if it loads. */
static ms_status try_sets(const ms_sweep *s, const char *extra)
{
    const char *sets[512 + 1];
    int n = 0;
    for (int i = 0; i < s->n_fixed && n < 512; i++)
        sets[n++] = s->fixed[i];
    if (extra)
        sets[n++] = extra;
    ms_scenario *sc;
    ms_status st = ms_scenario_load_string(s->scenario_text, s->scenario_path,
                                           sets, n, &sc);
    ms_scenario_destroy(&sc);
    return st;
}

/* One parameter, alone with `set`, at a value it takes (its first one, or
 * the middle of its range): a bad key or value is reported at its own
 * line. Under lhs and sobol a range takes non-whole values: a key that
 * takes whole numbers only is refused as such. */
/* ---- design: table ---- */

#define MAX_TABLE_COLS 64
#define TABLE_WHERE 4200 /* "path:line:col" */

/* Split one CSV line in place into fields: commas separate, except inside
 * "double quotes" ("" is a quote) or YAML brackets {} []; fields are
 * trimmed. col[] gets each field's 1-based column. Returns the number of
 * fields, or -1 for more than max. */
static int split_csv(char *line, char **field, int *col, int max)
{
    int n = 0;
    char *p = line;
    for (;;) {
        while (*p == ' ' || *p == '\t')
            p++;
        if (n == max)
            return -1;
        col[n] = (int)(p - line) + 1;
        char *out = p, *start = p;
        int depth = 0, quoted = 0;
        while (*p && (quoted || depth > 0 || *p != ',')) {
            if (*p == '"') {
                if (quoted && p[1] == '"') {
                    *out++ = '"';
                    p += 2;
                    continue;
                }
                quoted = !quoted;
                p++;
                continue;
            }
            if (!quoted && (*p == '{' || *p == '['))
                depth++;
            if (!quoted && (*p == '}' || *p == ']') && depth > 0)
                depth--;
            *out++ = *p++;
        }
        char end = *p;
        while (out > start && (out[-1] == ' ' || out[-1] == '\t' ||
                               out[-1] == '\r'))
            out--;
        *out = '\0';
        field[n++] = start;
        if (!end)
            return n;
        p++;
    }
}

/* A cell as the flow YAML a run's --set takes (so that 0.50 and 0.5, or
 * {acquire: 1} and {acquire:   1}, are the same value). */
static ms_status cell_value(const char *cell, const char *where, char **out)
{
    ms_ytree *t;
    ms_status st = ms_ytree_parse_string(cell, strlen(cell), where, &t);
    if (st != MS_OK) {
        if (st != MS_EINPUT)
            return st;
        ms_error_clear();
        return MS_ERROR(MS_EINPUT, "%s: error: '%s' is not a value (a "
                        "number, a name, or YAML like {acquire: 1})",
                        where, cell);
    }
    const ms_ynode *r = ms_ytree_root(t);
    st = r ? ms_ynode_flow(r, out)
           : MS_ERROR(MS_EINPUT, "%s: error: empty cell", where);
    ms_ytree_destroy(&t);
    return st;
}

/* The file part of "path:line:col". */
static const char *tpath_of(char *where)
{
    static _Thread_local char buf[TABLE_WHERE];
    snprintf(buf, sizeof buf, "%s", where);
    for (int k = 0; k < 2; k++) {
        char *c = strrchr(buf, ':');
        if (c)
            *c = '\0';
    }
    return buf;
}

/* Read the CSV of a table design: a header of scenario keys (one column
 * per parameter), then one row per point. Every problem is noted in errs;
 * where[j] gets the position of column j's header. */
static ms_status read_table(ms_sweep *s, const char *sweep_path,
                            const ms_ynode *at, errlist *errs,
                            char (*where)[TABLE_WHERE], int **row_line)
{
    if (!at || at->kind != MS_YNODE_SCALAR || !at->value[0])
        return note(errs, where_err(at, "table: give the CSV file of the "
                                    "points, relative to the sweep file"));
    const char *slash = strrchr(sweep_path, '/');
    size_t dl = slash && at->value[0] != '/'
                    ? (size_t)(slash - sweep_path + 1) : 0;
    char tpath[4096];
    snprintf(tpath, sizeof tpath, "%.*s%s", (int)dl, sweep_path, at->value);
    char *text;
    ms_status st = ms_read_text_file(tpath, &text, NULL);
    if (st != MS_OK) {
        if (st != MS_EINPUT && st != MS_EIO)
            return st;
        ms_error_clear();
        return note(errs, where_err(at, "table: cannot read %s", tpath));
    }
    int J = -1;
    int64_t rows = 0, cap = 0;
    int bad = 0;
    char *fields[MAX_TABLE_COLS];
    int cols[MAX_TABLE_COLS];
    int ln = 0;
    char *save = text;
    for (char *line = text; line && st == MS_OK; ) {
        char *nl = strchr(line, '\n');
        if (nl)
            *nl = '\0';
        ln++;
        char *q = line;
        while (*q == ' ' || *q == '\t' || *q == '\r')
            q++;
        if (!*q || *q == '#') {
            line = nl ? nl + 1 : NULL;
            continue;
        }
        int nf = split_csv(line, fields, cols, MAX_TABLE_COLS);
        if (nf < 0) {
            st = note(errs, MS_ERROR(MS_EINPUT, "%s:%d:1: error: more than "
                                     "%d columns", tpath, ln,
                                     MAX_TABLE_COLS));
            bad = 1;
            break;
        }
        if (J < 0) { /* the header */
            J = nf;
            s->params = ms_calloc((size_t)J, sizeof *s->params);
            if (!s->params) {
                st = MS_ERROR(MS_ENOMEM, "out of memory");
                break;
            }
            for (int j = 0; j < J && st == MS_OK; j++) {
                snprintf(where[j], TABLE_WHERE, "%s:%d:%d", tpath, ln, cols[j]);
                s->n_params++;
                ms_sweep_param *p = &s->params[j];
                p->all_numeric = 1;
                if (!(p->key = ms_strdup(fields[j]))) {
                    st = MS_ERROR(MS_ENOMEM, "out of memory");
                    break;
                }
                for (int k = 0; k < j && !bad; k++)
                    if (!strcmp(s->params[k].key, p->key)) {
                        st = note(errs, MS_ERROR(MS_EINPUT, "%s: error: "
                                  "column '%s' is also column %d; give each "
                                  "parameter once", where[j], p->key, k + 1));
                        bad = 1;
                    }
            }
            line = nl ? nl + 1 : NULL;
            continue;
        }
        if (nf != J) {
            st = note(errs, MS_ERROR(MS_EINPUT, "%s:%d:1: error: %d cells, "
                                     "but the header has %d columns (quote "
                                     "a value with commas: \"{a: 1, b: 2}\")",
                                     tpath, ln, nf, J));
            bad = 1;
            line = nl ? nl + 1 : NULL;
            continue;
        }
        if (rows == MAX_POINTS) {
            st = note(errs, MS_ERROR(MS_EINPUT, "%s:%d:1: error: a table "
                                     "holds at most %d points", tpath, ln,
                                     MAX_POINTS));
            bad = 1;
            break;
        }
        if (rows == cap) {
            int64_t nc = cap ? cap * 2 : 64;
            int *tc = ms_realloc(s->table_choice,
                                 (size_t)nc * (size_t)J * sizeof *tc);
            if (!tc) {
                st = MS_ERROR(MS_ENOMEM, "out of memory");
                break;
            }
            s->table_choice = tc;
            int *rl = ms_realloc(*row_line, (size_t)nc * sizeof *rl);
            if (!rl) {
                st = MS_ERROR(MS_ENOMEM, "out of memory");
                break;
            }
            *row_line = rl;
            cap = nc;
        }
        (*row_line)[rows] = ln;
        for (int j = 0; j < J && st == MS_OK; j++) {
            char w[4200];
            snprintf(w, sizeof w, "%s:%d:%d", tpath, ln, cols[j]);
            char *v = NULL;
            ms_status cs = fields[j][0]
                               ? cell_value(fields[j], w, &v)
                               : MS_ERROR(MS_EINPUT, "%s: error: column "
                                          "'%s' is empty in this row", w,
                                          s->params[j].key);
            if (cs != MS_OK) {
                st = note(errs, cs);
                bad = 1;
                continue;
            }
            ms_sweep_param *p = &s->params[j];
            /* The same value twice is one value (0.9 and 0.90 too). */
            double dv;
            int num = parse_number(v, &dv);
            int k = 0;
            while (k < p->n_values && strcmp(p->values[k], v) &&
                   !(num && p->numeric[k] == dv))
                k++;
            if (k == p->n_values) {
                char **nv = ms_realloc(p->values,
                                       (size_t)(k + 1) * sizeof *nv);
                double *nn = nv ? ms_realloc(p->numeric,
                                             (size_t)(k + 1) * sizeof *nn)
                                : NULL;
                if (nv)
                    p->values = nv;
                if (!nn) {
                    ms_free(v);
                    st = MS_ERROR(MS_ENOMEM, "out of memory");
                    break;
                }
                p->numeric = nn;
                p->values[k] = v;
                double d;
                if (parse_number(v, &d))
                    p->numeric[k] = d;
                else {
                    p->numeric[k] = NAN;
                    p->all_numeric = 0;
                }
                p->n_values++;
            } else {
                ms_free(v);
            }
            s->table_choice[rows * J + j] = k;
        }
        rows++;
        line = nl ? nl + 1 : NULL;
    }
    ms_free(save);
    if (st != MS_OK)
        return st;
    if (J < 0)
        return note(errs, where_err(at, "table: %s has no header (a line "
                                    "of scenario keys, one per column)",
                                    tpath));
    if (!rows && !bad)
        return note(errs, where_err(at, "table: %s has a header but no "
                                    "rows (one per point)", tpath));
    s->samples = rows;
    return MS_OK;
}

static ms_status check_param_alone(const ms_sweep *s, const ms_sweep_param *p,
                                   const char *at)
{
    char *v = p->range ? fmt_value(scale(p, 0.5 + 0.5 / 7))
                       : ms_strdup(p->values[0]);
    char *set = v ? make_set(p->key, v) : NULL;
    ms_free(v);
    if (!set)
        return MS_ERROR(MS_ENOMEM, "out of memory");
    ms_status st = try_sets(s, set);
    ms_free(set);
    if (st == MS_OK)
        return MS_OK;
    if (st != MS_EINPUT)
        return st;
    char msg[4096];
    snprintf(msg, sizeof msg, "%s", ms_error_message());
    ms_error_clear();
    if (p->range) {
        char *w = fmt_value(round(scale(p, 0.5)));
        char *ws = w ? make_set(p->key, w) : NULL;
        ms_free(w);
        if (!ws)
            return MS_ERROR(MS_ENOMEM, "out of memory");
        ms_status whole = try_sets(s, ws);
        ms_free(ws);
        if (whole == MS_OK)
            return MS_ERROR(MS_EINPUT, "%s: error: parameters.%s: %s takes "
                            "whole numbers, "
                            "and a range gives it fractions%s; vary it "
                            "with a list of values (a grid), e.g. "
                            "[%g, %g]", at, p->key, p->key,
                             s->design != MS_DESIGN_GRID
                                 ? " (an lhs or sobol design draws from "
                                   "the whole range)"
                                 : "", ceil(p->low), floor(p->high));
        ms_error_clear();
    }
    return MS_ERROR(MS_EINPUT, "%s: error: %s%s: a run with this parameter "
                    "would not start:\n%s", at,
                    s->design == MS_DESIGN_TABLE ? "table column " :
                                                   "parameters.", p->key, msg);
}

static ms_status load(const char *path, ms_sweep *s)
{
    ms_ytree *t;
    MS_CALL(ms_ytree_parse_string(s->text, strlen(s->text), path, &t));
    ms_status st = MS_OK;
    errlist *errs = ms_calloc(1, sizeof *errs);
    if (!errs) {
        ms_ytree_destroy(&t);
        return MS_ERROR(MS_ENOMEM, "out of memory");
    }
    const ms_ynode *root = ms_ytree_root(t);
    int have_scenario = 0;
    char *pbad = NULL; /* per parameter: 1 if already reported */
    char (*twhere)[TABLE_WHERE] = NULL; /* table: where each column's header is */
    int *row_line = NULL;                /* table: the line of each row */
#define FAIL(expr)                                                         \
    do {                                                                   \
        st = (expr);                                                       \
        if (st != MS_OK)                                                   \
            goto done;                                                     \
    } while (0)
/* An input error is kept and the reading goes on. */
#define NOTE(expr)                                                         \
    do {                                                                   \
        st = note(errs, (expr));                                           \
        if (st != MS_OK)                                                   \
            goto done;                                                     \
    } while (0)
/* Stop here when anything is wrong: what follows builds on it. */
#define REPORT()                                                           \
    do {                                                                   \
        if (errs->n) {                                                     \
            st = raise_all(errs);                                          \
            goto done;                                                     \
        }                                                                  \
    } while (0)
    if (!root || root->kind != MS_YNODE_MAP) {
        st = MS_ERROR(MS_EINPUT, "%s:1:1: error: a sweep file is a mapping "
                      "with at least scenario and parameters (see "
                      "docs/SWEEPS.md)", path);
        goto done;
    }
    for (size_t k = 0; k < root->n; k++) {
        int ok = 0;
        for (int i = 0; sweep_keys[i] && !ok; i++)
            ok = !strcmp(sweep_keys[i], root->keys[k]);
        if (!ok)
            NOTE(where_err(root->key_nodes[k], "unknown key '%s' (allowed: "
                           "scenario, seed, replications, design, samples, "
                           "trajectories, levels, table, parameters, "
                           "outputs, every, set, description; "
                           "docs/SWEEPS.md)", root->keys[k]));
    }
    const ms_ynode *n = ms_ynode_get(root, "scenario");
    if (!n || n->kind != MS_YNODE_SCALAR || !n->value[0]) {
        NOTE(where_err(n ? n : root, "scenario: give the scenario file, "
                       "relative to the sweep file"));
    } else {
        const char *slash = strrchr(path, '/');
        size_t dl = slash && n->value[0] != '/' ? (size_t)(slash - path + 1) : 0;
        size_t len = dl + strlen(n->value) + 1;
        if (!(s->scenario_path = ms_malloc(len)))
            FAIL(MS_ERROR(MS_ENOMEM, "out of memory"));
        snprintf(s->scenario_path, len, "%.*s%s", (int)dl, path, n->value);
        st = ms_read_text_file(s->scenario_path, &s->scenario_text, NULL);
        if (st != MS_OK) {
            ms_error_clear();
            NOTE(where_err(n, "scenario: cannot read %s",
                           s->scenario_path));
        } else {
            have_scenario = 1;
        }
    }
    s->seed = 1;
    if ((n = ms_ynode_get(root, "seed"))) {
        char *end;
        errno = 0;
        unsigned long long v = n->kind == MS_YNODE_SCALAR
                                   ? strtoull(n->value, &end, 10) : 0;
        if (n->kind != MS_YNODE_SCALAR || !isdigit((unsigned char)n->value[0]) ||
            *end || errno)
            NOTE(where_err(n, "seed: expected a whole number in [0, 2^64-1]"));
        else
            s->seed = v;
    }
    double d;
    s->replications = 1;
    if ((n = ms_ynode_get(root, "replications"))) {
        ms_status r = scalar_number(n, "replications", 1, 1e6, &d);
        if (r == MS_OK && d != floor(d))
            r = where_err(n, "replications: expected a whole number");
        if (r == MS_OK)
            s->replications = (int64_t)d;
        NOTE(r);
    }
    s->design = MS_DESIGN_GRID;
    if ((n = ms_ynode_get(root, "design"))) {
        const char *v = n->kind == MS_YNODE_SCALAR ? n->value : "";
        if (!strcmp(v, "grid")) s->design = MS_DESIGN_GRID;
        else if (!strcmp(v, "lhs")) s->design = MS_DESIGN_LHS;
        else if (!strcmp(v, "sobol")) s->design = MS_DESIGN_SOBOL;
        else if (!strcmp(v, "table")) s->design = MS_DESIGN_TABLE;
        else if (!strcmp(v, "saltelli")) s->design = MS_DESIGN_SALTELLI;
        else if (!strcmp(v, "morris")) s->design = MS_DESIGN_MORRIS;
        else NOTE(where_err(n, "design: expected grid, lhs, sobol, table, "
                            "saltelli or morris"));
    }
    if ((n = ms_ynode_get(root, "samples"))) {
        ms_status r = scalar_number(n, "samples", 1, MAX_POINTS, &d);
        if (r == MS_OK && d != floor(d))
            r = where_err(n, "samples: expected a whole number");
        if (r == MS_OK && s->design == MS_DESIGN_GRID)
            r = where_err(n, "samples: only for lhs, sobol and saltelli "
                          "designs (a grid has the product of its values)");
        if (r == MS_OK && s->design == MS_DESIGN_TABLE)
            r = where_err(n, "samples: only for lhs, sobol and saltelli "
                          "designs (a table has one point per row)");
        if (r == MS_OK && s->design == MS_DESIGN_MORRIS)
            r = where_err(n, "samples: a morris design takes trajectories "
                          "(and levels), not samples");
        if (r == MS_OK && s->design == MS_DESIGN_SALTELLI &&
            ((int64_t)d & ((int64_t)d - 1)))
            r = where_err(n, "samples: a saltelli design needs a power of 2 "
                          "base samples N (e.g. %lld or %lld), so that its "
                          "Sobol points stay balanced; got %s",
                          1LL << (63 - __builtin_clzll((unsigned long long)d)),
                          2LL << (63 - __builtin_clzll((unsigned long long)d)),
                          n->value);
        if (r == MS_OK)
            s->samples = (int64_t)d;
        NOTE(r);
    } else if (s->design == MS_DESIGN_LHS || s->design == MS_DESIGN_SOBOL) {
        NOTE(where_err(ms_ynode_get(root, "design"), "samples: an lhs or "
                       "sobol design needs the number of points, e.g. "
                       "samples: 64 (docs/SWEEPS.md)"));
    } else if (s->design == MS_DESIGN_SALTELLI) {
        NOTE(where_err(ms_ynode_get(root, "design"), "samples: a saltelli "
                       "design needs its base samples N, a power of 2, e.g. "
                       "samples: 64 (N (k + 2) points; docs/SWEEPS.md)"));
    }
    s->levels = 4;
    if ((n = ms_ynode_get(root, "trajectories"))) {
        ms_status r = scalar_number(n, "trajectories", 2, 1e6, &d);
        if (r == MS_OK && d != floor(d))
            r = where_err(n, "trajectories: expected a whole number");
        if (r == MS_OK && s->design != MS_DESIGN_MORRIS)
            r = where_err(n, "trajectories: only for design: morris");
        if (r == MS_OK)
            s->trajectories = (int64_t)d;
        NOTE(r);
    } else if (s->design == MS_DESIGN_MORRIS) {
        NOTE(where_err(ms_ynode_get(root, "design"), "trajectories: a morris "
                       "design needs the number of trajectories r, e.g. "
                       "trajectories: 10 (r (k + 1) points; docs/SWEEPS.md)"));
    }
    if ((n = ms_ynode_get(root, "levels"))) {
        ms_status r = scalar_number(n, "levels", 2, 1000, &d);
        if (r == MS_OK && (d != floor(d) || fmod(d, 2) != 0))
            r = where_err(n, "levels: expected an even whole number (4, 6, "
                          "8, ...), so that every step of the grid is the "
                          "same size");
        if (r == MS_OK && s->design != MS_DESIGN_MORRIS)
            r = where_err(n, "levels: only for design: morris");
        if (r == MS_OK)
            s->levels = (int)d;
        NOTE(r);
    }
    if ((n = ms_ynode_get(root, "every"))) {
        ms_status r = scalar_number(n, "every", 1, 1e7, &d);
        if (r == MS_OK && d != floor(d))
            r = where_err(n, "every: expected a whole number of steps");
        if (r == MS_OK)
            s->every = (int64_t)d;
        NOTE(r);
    }
    /* Keys of set and parameters: each a scenario path that means what
     * it says, none given twice or inside another. */
    const ms_ynode *set = ms_ynode_get(root, "set");
    const ms_ynode *par = ms_ynode_get(root, "parameters");
    int before = errs->n;
    for (size_t k = 0; set && set->kind == MS_YNODE_MAP && k < set->n; k++)
        NOTE(check_key(set->key_nodes[k], "set", set->keys[k], set->items[k]));
    NOTE(check_overlaps(set, par));
    /* Without the scenario or with bad settings, no run can be tried. */
    int no_base = !have_scenario || errs->n > before;
    for (size_t k = 0; par && par->kind == MS_YNODE_MAP && k < par->n; k++)
        NOTE(check_key(par->key_nodes[k], "parameters", par->keys[k],
                       par->items[k]));
    if (set && set->kind != MS_YNODE_MAP) {
        NOTE(where_err(set, "set: expected a mapping of keys to values, "
                       "like {run.steps: 60}"));
        no_base = 1;
    }
    /* Outputs. */
    static const char *const def_out[] = {"adopters", "users", "revenue",
                                          "cash"};
    n = ms_ynode_get(root, "outputs");
    /* `outputs: summary` or `outputs: {summary: [...]}`: the per-point
     * summaries only, of the default datasets or of those listed. */
    const char *const out_forms = "give a list of dataset names like "
        "[adopters, users] (every run kept), `summary` (only the per-point "
        "summaries of the default datasets) or {summary: [adopters, "
        "revenue]} (only the summaries of those; docs/SWEEPS.md)";
    if (n && n->kind == MS_YNODE_SCALAR) {
        if (!strcmp(n->value, "summary"))
            s->summary_only = 1;
        else
            NOTE(where_err(n, "outputs: expected a list or summary, found "
                           "'%s'; %s", n->value, out_forms));
        n = NULL;
    } else if (n && n->kind == MS_YNODE_MAP) {
        const ms_ynode *m = n;
        n = NULL;
        for (size_t k = 0; k < m->n; k++) {
            if (strcmp(m->keys[k], "summary") != 0) {
                NOTE(where_err(m->key_nodes[k], "outputs: unknown key '%s' "
                               "(the only key is summary); %s", m->keys[k],
                               out_forms));
                continue;
            }
            s->summary_only = 1;
            if (m->items[k]->kind == MS_YNODE_SEQ && m->items[k]->n > 0)
                n = m->items[k];
            else
                NOTE(where_err(m->items[k], "outputs.summary: expected a "
                               "list of dataset names like [adopters, "
                               "revenue]; %s", out_forms));
        }
        if (!s->summary_only)
            n = m; /* reported above; nothing is kept */
    }
    int no = n ? (n->kind == MS_YNODE_SEQ ? (int)n->n : -1) : 4;
    if (no < 1) {
        if (n && (n->kind != MS_YNODE_MAP || n->n == 0))
            NOTE(where_err(n, "outputs: expected a list of dataset names "
                           "like [adopters, users]; %s", out_forms));
        no = 0;
    }
    s->outputs = ms_calloc(no ? (size_t)no : 1, sizeof *s->outputs);
    if (!s->outputs)
        FAIL(MS_ERROR(MS_ENOMEM, "out of memory"));
    for (int k = 0; k < no; k++) {
        const char *name = n ? (n->items[k]->kind == MS_YNODE_SCALAR
                                    ? n->items[k]->value : "")
                             : def_out[k];
        int idx = ms_outvar_find(name);
        if (idx < 0 || !strcmp(name, "alive")) {
            char hint[128];
            suggest_output(hint, sizeof hint, name);
            NOTE(where_err(n ? n->items[k] : root, "outputs: unknown dataset "
                           "'%s'%s (docs/OUTPUT.md lists them: adopters, "
                           "users, revenue, cash, value, quality, ...)", name,
                           hint));
            continue;
        }
        int twice = 0;
        for (int j = 0; j < s->n_outputs; j++)
            twice |= s->outputs[j] == idx;
        if (twice) {
            NOTE(where_err(n->items[k], "outputs: '%s' is listed twice",
                           name));
            continue;
        }
        s->outputs[s->n_outputs++] = idx;
    }
    /* A table: the parameters are its columns, its rows the points. */
    const ms_ynode *tab = ms_ynode_get(root, "table");
    if (tab && s->design != MS_DESIGN_TABLE)
        NOTE(where_err(tab, "table: only with design: table (the points "
                       "of the CSV file)"));
    if (s->design == MS_DESIGN_TABLE) {
        if (!tab)
            NOTE(where_err(ms_ynode_get(root, "design"), "design: table "
                           "needs `table: FILE.csv`, the points, relative to "
                           "the sweep file (docs/SWEEPS.md)"));
        if (par)
            NOTE(where_err(par, "parameters: with design: table the "
                           "parameters are the columns of the table; leave "
                           "parameters out"));
        if (!(twhere = ms_calloc(MAX_TABLE_COLS, sizeof *twhere)))
            FAIL(MS_ERROR(MS_ENOMEM, "out of memory"));
        if (tab)
            FAIL(read_table(s, path, tab, errs, twhere, &row_line));
        if (!(pbad = ms_calloc(s->n_params ? (size_t)s->n_params : 1, 1)))
            FAIL(MS_ERROR(MS_ENOMEM, "out of memory"));
        for (int j = 0; j < s->n_params; j++) {
            const char *key = s->params[j].key;
            const ms_ynode *hit = NULL;
            for (size_t k = 0; set && set->kind == MS_YNODE_MAP && k < set->n;
                 k++)
                if (holds(set->keys[k], key) || holds(key, set->keys[k]))
                    hit = set->key_nodes[k];
            char hw[512] = "";
            if (hit)
                ms_ynode_where(hit, hw, sizeof hw);
            ms_status r = MS_OK;
            if (!key[0] || key[0] == '.' || key[strlen(key) - 1] == '.' ||
                strstr(key, "..") || strchr(key, '='))
                r = MS_ERROR(MS_EINPUT, "%s: error: column '%s' is not a "
                             "scenario path like markets.CN.openness",
                             twhere[j], key);
            else if (!strcmp(key, "run.seed"))
                r = MS_ERROR(MS_EINPUT, "%s: error: column run.seed: a "
                             "sweep gives every run its own seed, derived "
                             "from the sweep's `seed`; leave it out",
                             twhere[j]);
            else if (fixed_shape(key))
                r = MS_ERROR(MS_EINPUT, "%s: error: column %s fixes the "
                             "shape of the outputs, so a design cannot vary "
                             "it; give it in `set:`", twhere[j], key);
            else if (hit)
                r = MS_ERROR(MS_EINPUT, "%s: error: column %s overlaps "
                             "the key of set at %s; give each setting once",
                             twhere[j], key, hw);
            pbad[j] = r != MS_OK;
            NOTE(r);
        }
        REPORT(); /* the table's own problems, all of them */
    }
    /* Parameters: their values or ranges. */
    n = par;
    if (s->design == MS_DESIGN_TABLE)
        n = NULL;
    else if (n && n->kind != MS_YNODE_MAP && !(n->kind == MS_YNODE_SCALAR &&
                                               !n->value[0]))
        NOTE(where_err(n, "parameters: expected a mapping of scenario keys "
                       "to values or ranges"));
    int np = n && n->kind == MS_YNODE_MAP ? (int)n->n : 0;
    if (s->design != MS_DESIGN_TABLE) {
        s->params = ms_calloc(np ? (size_t)np : 1, sizeof *s->params);
        pbad = ms_calloc(np ? (size_t)np : 1, 1);
        if (!s->params || !pbad)
            FAIL(MS_ERROR(MS_ENOMEM, "out of memory"));
    }
    for (int j = 0; j < np; j++) {
        /* Counted first, so that destroy frees a half-read parameter. */
        s->n_params++;
        const char *shape = fixed_shape(n->keys[j]);
        if (check_key(n->key_nodes[j], "parameters", n->keys[j],
                      n->items[j]) != MS_OK) {
            ms_error_clear(); /* reported above */
            pbad[j] = 1;
        } else if (shape) {
            NOTE(where_err(n->key_nodes[j], "parameters.%s: %s fixes the "
                           "shape of the outputs (the steps, entrants, "
                           "markets, categories or firms every run must "
                           "share), so a design cannot vary it; give it in "
                           "`set:`, or make one sweep per value",
                           n->keys[j], n->keys[j]));
            pbad[j] = 1;
        }
        if (pbad[j])
            continue;
        ms_status r = read_param(s, &s->params[j], n->keys[j], n->items[j]);
        if (r == MS_OK && s->design != MS_DESIGN_GRID && !s->params[j].range)
            r = where_err(n->items[j], "parameters.%s: %s designs need "
                          "ranges {low, high}, not lists%s", n->keys[j],
                          ms_sweep_design_names[s->design],
                          s->design == MS_DESIGN_SALTELLI ||
                                  s->design == MS_DESIGN_MORRIS
                              ? " (sensitivity indices are defined over a "
                                "numeric range; vary a list of choices with "
                                "a grid and compare)"
                              : "");
        pbad[j] = r != MS_OK;
        NOTE(r);
    }
    if (no_base)
        REPORT();
    /* Settings for every run, and the base scenario they give. */
    if (set) {
        s->fixed = ms_calloc(set->n ? set->n : 1, sizeof *s->fixed);
        if (!s->fixed)
            FAIL(MS_ERROR(MS_ENOMEM, "out of memory"));
        for (size_t k = 0; k < set->n; k++) {
            char *v;
            FAIL(ms_ynode_flow(set->items[k], &v));
            s->fixed[k] = make_set(set->keys[k], v);
            ms_free(v);
            if (!s->fixed[k])
                FAIL(MS_ERROR(MS_ENOMEM, "out of memory"));
            s->n_fixed++;
        }
    }
    st = ms_scenario_load_string(s->scenario_text, s->scenario_path,
                                 (const char *const *)s->fixed, s->n_fixed,
                                 &s->base);
    if (st != MS_OK) {
        if (st != MS_EINPUT)
            goto done;
        char msg[4096];
        snprintf(msg, sizeof msg, "%s", ms_error_message());
        ms_error_clear();
        /* Which settings: each one alone, at its own line. */
        const ms_sweep keep = *s;
        int found = 0;
        for (size_t k = 0; set && k < set->n; k++) {
            s->n_fixed = 0;
            ms_status r = try_sets(s, keep.fixed[k]);
            if (r == MS_EINPUT) {
                char one[4096];
                snprintf(one, sizeof one, "%s", ms_error_message());
                ms_error_clear();
                r = where_err(set->key_nodes[k], "set.%s: the scenario does "
                              "not load with this setting:\n%s",
                              set->keys[k], one);
            }
            s->n_fixed = keep.n_fixed;
            found |= r == MS_EINPUT;
            NOTE(r);
        }
        if (!found)
            NOTE(where_err(ms_ynode_get(root, "scenario"), "the scenario "
                           "does not load with this sweep's settings:\n%s",
                           msg));
        REPORT();
    }
    FAIL(ms_scenario_check_round_trip(s->base));
    FAIL(ms_scenario_to_yaml(s->base, &s->base_yaml));
    if (!ms_ynode_get(root, "every"))
        s->every = s->base->output.every;
    /* Each parameter alone, at its own line. */
    for (int j = 0; j < s->n_params; j++) {
        if (pbad[j])
            continue;
        char w[TABLE_WHERE];
        if (s->design == MS_DESIGN_TABLE)
            snprintf(w, sizeof w, "%s", twhere[j]);
        else
            ms_ynode_where(n->key_nodes[j], w, sizeof w);
        NOTE(check_param_alone(s, &s->params[j], w));
    }
    REPORT();
    {
        const ms_ynode *at = ms_ynode_get(root, "samples");
        if (s->replications > 1 || !at)
            at = ms_ynode_get(root, "replications");
        FAIL(size_design(s, at ? at : n ? n : root));
    }
    FAIL(make_points(s, n ? n : root));
    /* Every point must give a valid scenario of the same shape. Checking
     * one loads the scenario (about 0.5 ms for the default one), so a
     * design of more than MAX_CHECKED points has its first MAX_CHECKED
     * checked here (--dry-run and the sweep say so); a later point that
     * would not start is recorded as a failed run with its message. */
    for (int64_t p = 0; p < s->n_points && p < MAX_CHECKED; p++) {
        char w[TABLE_WHERE + 32];
        if (s->design == MS_DESIGN_TABLE)
            snprintf(w, sizeof w, "%s:%d:1", tpath_of(twhere[0]),
                     row_line[p]);
        else
            ms_ynode_where(n ? n : root, w, sizeof w);
        FAIL(check_point(s, p * s->replications, w));
        s->n_checked++;
    }
#undef FAIL
#undef NOTE
#undef REPORT
done:
    ms_free(row_line);
    ms_free(twhere);
    ms_free(pbad);
    ms_free(errs);
    ms_ytree_destroy(&t);
    return st;
}

static ms_status load_text(const char *text, const char *path,
                           ms_sweep **out)
{
    *out = NULL;
    ms_sweep *s = ms_calloc(1, sizeof *s);
    if (!s)
        return MS_ERROR(MS_ENOMEM, "out of memory");
    if (!(s->path = ms_strdup(path)) || !(s->text = ms_strdup(text))) {
        ms_sweep_destroy(&s);
        return MS_ERROR(MS_ENOMEM, "out of memory");
    }
    ms_status st = load(path, s);
    if (st != MS_OK) {
        ms_sweep_destroy(&s);
        return st;
    }
    *out = s;
    return MS_OK;
}

ms_status ms_sweep_load_string(const char *text, const char *path,
                               ms_sweep **out)
{
    return load_text(text, path, out);
}

ms_status ms_sweep_load(const char *path, ms_sweep **out)
{
    *out = NULL;
    char *text;
    MS_CALL(ms_read_text_file(path, &text, NULL));
    ms_status st = load_text(text, path, out);
    ms_free(text);
    return st;
}

ms_status ms_sweep_write_design(const ms_sweep *s, struct ms_h5 *h)
{
    if (s->design != MS_DESIGN_SALTELLI && s->design != MS_DESIGN_MORRIS)
        return MS_OK;
    /* The parameters, one line each: KEY<tab>LOW<tab>HIGH<tab>LOG. */
    size_t len = 1;
    for (int j = 0; j < s->n_params; j++)
        len += strlen(s->params[j].key) + 80;
    char *text = ms_malloc(len);
    if (!text)
        return MS_ERROR(MS_ENOMEM, "out of memory");
    size_t at = 0;
    text[0] = '\0';
    for (int j = 0; j < s->n_params; j++)
        at += (size_t)snprintf(text + at, len - at, "%s\t%.17g\t%.17g\t%d\n",
                               s->params[j].key, s->params[j].low,
                               s->params[j].high, s->params[j].log);
    ms_status st = ms_h5_attr_str(h, "/", "sensitivity_parameters", text);
    ms_free(text);
    MS_CALL(st);
    MS_CALL(ms_h5_attr_i64(h, "/", "sensitivity_k", s->n_params));
    if (s->design == MS_DESIGN_SALTELLI) {
        MS_CALL(ms_h5_attr_i64(h, "/", "saltelli_samples", s->samples));
        return ms_h5_attr_str(h, "/", "sensitivity_layout",
                              "point = i * (k + 2) + b for base row i: b = 0 "
                              "the row of A, b = 1 .. k the row of AB_b (A "
                              "with column b - 1 from B), b = k + 1 the row "
                              "of B");
    }
    MS_CALL(ms_h5_attr_i64(h, "/", "morris_trajectories", s->trajectories));
    MS_CALL(ms_h5_attr_i64(h, "/", "morris_levels", s->levels));
    MS_CALL(ms_h5_attr_f64(h, "/", "morris_delta",
                           ms_sens_morris_delta(s->levels)));
    return ms_h5_attr_str(h, "/", "sensitivity_layout",
                          "point = t * (k + 1) + s for trajectory t: s = 0 "
                          "its start, each later step moves one parameter "
                          "by morris_delta of its range (unit scale; log "
                          "scale for log ranges)");
}
