/*
 * analyze.c: `marketsim analyze SWEEP.h5`: sensitivity indices of a
 * saltelli or morris sweep, from its /summary, written back as
 * /sensitivity.
 *
 * The per-point values are the means over replications that /summary
 * holds (X_mean, with X_sd and n beside them), so a sweep that keeps only
 * its summary can be analyzed, and with replications the indices are
 * those of the replication mean. Each output dataset over markets,
 * categories or firms becomes one scalar output per combination of its
 * coordinates, named like adopters[CN,ecommerce] (coordinates in the
 * dataset's order of dimensions, docs/OUTPUT.md), taken at each chosen
 * time (the nearest record; by default the last one).
 *
 * What the design was comes from the root attributes the sweep wrote
 * (docs/OUTPUT.md, "Sensitivity designs"): the design, its parameters with
 * their ranges, N and k or r and the levels. Saltelli rows, or Morris
 * trajectories, with a point that finished no replication (or gave a NaN)
 * are left out, and the table says how many were used.
 *
 * The file is never changed in place: /sensitivity is written into a copy
 * (FILE.analyze.partial beside the output) that is renamed over the
 * output only when complete, so an interrupted analyze leaves the sweep
 * file as it was.
 */
#include "marketsim/ms_sensitivity.h"

#include "base/ms_text.h"
#include "core/ms_output.h"
#include "io/ms_h5.h"
#include "marketsim/ms_alloc.h"
#include "marketsim/ms_paths.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_PARAMS MS_SENS_MAX_MORRIS
#define MAX_VARS 128
#define NAME_LEN 256

void ms_analyze_defaults(ms_analyze_opts *o)
{
    memset(o, 0, sizeof *o);
    o->resamples = 1000;
    o->conf = 0.95;
    o->seed = 1;
    o->write = 1;
}

/* One output dataset of /summary. */
typedef struct {
    char name[128];          /* adopters, startups_users, ... */
    char units[64];
    int ndims;               /* after point and time */
    const char *dimname[4];
    char **coord[4];         /* names of each coordinate */
    int ncoord[4];
    int64_t combos;          /* product of ncoord */
} outvar;

/* One scalar output: a dataset at one combination of coordinates. */
typedef struct {
    int var;
    int64_t combo;
    char name[NAME_LEN];
} scalar;

typedef struct {
    ms_h5 *h;
    const char *path;
    int saltelli;
    int64_t P, reps, N, r;
    int k, levels;
    char key[MAX_PARAMS][NAME_LEN];
    double low[MAX_PARAMS], high[MAX_PARAMS];
    int logscale[MAX_PARAMS];
    int64_t T;
    double *times;
    int64_t *n;              /* finished replications per point */
    outvar vars[MAX_VARS];
    int nvars;
    scalar *sc;
    int64_t nsc;
    int at[MS_ANALYZE_MAX_AT];
    int nat;
} ctx;

static ms_status attr_i64(ctx *c, const char *name, int64_t *v)
{
    char buf[64];
    if (ms_h5_attr_read(c->h, "/", name, buf, sizeof buf) != MS_OK) {
        ms_error_clear();
        return MS_ERROR(MS_EINPUT, "%s: error: attribute %s of / is missing "
                        "(written by a marketsim without sensitivity "
                        "designs? run the sweep again)", c->path, name);
    }
    char *end;
    errno = 0;
    long long x = strtoll(buf, &end, 10);
    if (*end || errno || x < 0 || x > ((int64_t)1 << 32))
        return MS_ERROR(MS_EINPUT, "%s: error: attribute %s of /: expected a "
                        "count, found '%s'", c->path, name, buf);
    *v = x;
    return MS_OK;
}

/* The design's parameters: lines "KEY\tLOW\tHIGH\tLOG". */
static ms_status read_params(ctx *c)
{
    char text[MAX_PARAMS * (NAME_LEN + 80)];
    if (ms_h5_attr_read(c->h, "/", "sensitivity_parameters", text,
                        sizeof text) != MS_OK) {
        ms_error_clear();
        return MS_ERROR(MS_EINPUT, "%s: error: attribute "
                        "sensitivity_parameters of / is missing (the file "
                        "was not written by a saltelli or morris sweep)",
                        c->path);
    }
    c->k = 0;
    for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
        if (c->k >= MAX_PARAMS)
            return MS_ERROR(MS_EINPUT, "%s: error: more than %d parameters "
                            "in sensitivity_parameters", c->path, MAX_PARAMS);
        char *tab1 = strchr(line, '\t');
        int lg = 0;
        if (!tab1 || tab1 - line >= NAME_LEN ||
            sscanf(tab1 + 1, "%lf\t%lf\t%d", &c->low[c->k], &c->high[c->k],
                   &lg) != 3 || !(c->high[c->k] > c->low[c->k]))
            return MS_ERROR(MS_EINPUT, "%s: error: attribute "
                            "sensitivity_parameters of /: expected lines "
                            "KEY<tab>LOW<tab>HIGH<tab>LOG, found '%s'",
                            c->path, line);
        snprintf(c->key[c->k], NAME_LEN, "%.*s", (int)(tab1 - line), line);
        c->logscale[c->k] = lg;
        c->k++;
    }
    if (c->k < 1)
        return MS_ERROR(MS_EINPUT, "%s: error: the design has no parameters",
                        c->path);
    return MS_OK;
}

static ms_status read_f64(ctx *c, const char *path, int64_t len, double *out)
{
    ms_h5var *v;
    MS_CALL(ms_h5_var_open(c->h, path, MS_H5_F64, &v));
    MS_CALL(ms_h5_var_expect(v, 1, &len));
    return ms_h5_read_all(v, out);
}

/* The output datasets of /summary (X_mean with a known output X). */
static ms_status find_vars(ctx *c)
{
    char **names = NULL;
    int nn = 0;
    MS_CALL(ms_h5_list_marked(c->h, "/summary", "long_name", &names, &nn));
    ms_status st = MS_OK;
    for (int i = 0; i < nn && st == MS_OK; i++) {
        size_t len = strlen(names[i]);
        if (len < 6 || strcmp(names[i] + len - 5, "_mean") != 0)
            continue;
        if (c->nvars >= MAX_VARS)
            break;
        outvar *o = &c->vars[c->nvars];
        memset(o, 0, sizeof *o);
        snprintf(o->name, sizeof o->name, "%.*s", (int)(len - 5), names[i]);
        ms_outvar_meta m;
        if (!strncmp(o->name, "startups_", 9)) {
            o->ndims = 2;
            o->dimname[0] = !strcmp(o->name, "startups_market_users")
                                ? "market" : "home";
            o->dimname[1] = "category";
        } else {
            int idx = ms_outvar_find(o->name);
            if (idx < 0)
                continue;
            ms_outvar_get(idx, &m);
            o->ndims = m.ndims;
            for (int d = 0; d < m.ndims && d < 4; d++)
                o->dimname[d] = m.dims[d];
        }
        char p[300];
        snprintf(p, sizeof p, "/summary/%s", names[i]);
        if (ms_h5_attr_read(c->h, p, "units", o->units, sizeof o->units) !=
            MS_OK) {
            ms_error_clear();
            snprintf(o->units, sizeof o->units, "-");
        }
        o->combos = 1;
        c->nvars++; /* counted now, so that free_vars frees what is read */
        for (int d = 0; d < o->ndims && st == MS_OK; d++) {
            snprintf(p, sizeof p, "/summary/%s", o->dimname[d]);
            st = ms_h5_names_read(c->h, p, &o->coord[d], &o->ncoord[d]);
            o->combos *= o->ncoord[d];
        }
        /* Its shape: (point, time, coordinates...). */
        ms_h5var *v;
        int64_t want[6] = {c->P, c->T};
        for (int d = 0; d < o->ndims; d++)
            want[2 + d] = o->ncoord[d];
        snprintf(p, sizeof p, "/summary/%s", names[i]);
        if (st == MS_OK)
            st = ms_h5_var_open(c->h, p, MS_H5_F64, &v);
        if (st == MS_OK)
            st = ms_h5_var_expect(v, 2 + o->ndims, want);
    }
    ms_h5_names_free(names, nn);
    return st;
}

static void free_vars(ctx *c)
{
    for (int i = 0; i < c->nvars; i++)
        for (int d = 0; d < c->vars[i].ndims; d++)
            ms_h5_names_free(c->vars[i].coord[d], c->vars[i].ncoord[d]);
    c->nvars = 0;
}

static void scalar_name(const outvar *o, int64_t combo, char *buf, size_t n)
{
    int len = snprintf(buf, n, "%s", o->name);
    if (!o->ndims)
        return;
    int64_t rest = combo, idx[4];
    for (int d = o->ndims - 1; d >= 0; d--) {
        idx[d] = rest % o->ncoord[d];
        rest /= o->ncoord[d];
    }
    for (int d = 0; d < o->ndims && len < (int)n; d++)
        len += snprintf(buf + len, n - (size_t)len, "%s%s", d ? "," : "[",
                        o->coord[d][idx[d]]);
    if (len < (int)n)
        snprintf(buf + len, n - (size_t)len, "]");
}

/* Does the scalar (var, combo) match the selection sel ("NAME" or
 * "NAME[a,*]")? 1 yes, 0 no; -1 when sel names var but with the wrong
 * number of coordinates. */
static int matches(const outvar *o, int64_t combo, const char *sel)
{
    const char *br = strchr(sel, '[');
    size_t nl = br ? (size_t)(br - sel) : strlen(sel);
    if (strlen(o->name) != nl || strncmp(o->name, sel, nl) != 0)
        return 0;
    if (!br)
        return 1;
    char buf[NAME_LEN];
    snprintf(buf, sizeof buf, "%s", br + 1);
    size_t bl = strlen(buf);
    if (!bl || buf[bl - 1] != ']')
        return -1;
    buf[bl - 1] = '\0';
    int64_t rest = combo, idx[4];
    for (int d = o->ndims - 1; d >= 0; d--) {
        idx[d] = rest % o->ncoord[d];
        rest /= o->ncoord[d];
    }
    int d = 0;
    char *save = NULL;
    for (char *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        while (*t == ' ')
            t++;
        if (d >= o->ndims)
            return -1;
        if (strcmp(t, "*") != 0 && strcmp(t, o->coord[d][idx[d]]) != 0)
            return 0;
        d++;
    }
    return d == o->ndims ? 1 : -1;
}

static ms_status select_scalars(ctx *c, const ms_analyze_opts *o)
{
    int64_t total = 0;
    for (int v = 0; v < c->nvars; v++)
        total += c->vars[v].combos;
    c->sc = ms_calloc((size_t)total + 1, sizeof *c->sc);
    if (!c->sc)
        return MS_ERROR(MS_ENOMEM, "out of memory");
    int hits[MS_ANALYZE_MAX_SEL] = {0}, bad[MS_ANALYZE_MAX_SEL] = {0};
    for (int v = 0; v < c->nvars; v++)
        for (int64_t k = 0; k < c->vars[v].combos; k++) {
            int take = !o->n_select;
            for (int s = 0; s < o->n_select; s++) {
                int m = matches(&c->vars[v], k, o->select[s]);
                if (m == 1) {
                    hits[s]++;
                    take = 1;
                } else if (m < 0)
                    bad[s] = 1;
            }
            if (!take)
                continue;
            scalar *x = &c->sc[c->nsc++];
            x->var = v;
            x->combo = k;
            scalar_name(&c->vars[v], k, x->name, sizeof x->name);
        }
    for (int s = 0; s < o->n_select; s++) {
        if (hits[s])
            continue;
        char list[2048] = "";
        size_t len = 0;
        const char *names[MAX_VARS];
        for (int v = 0; v < c->nvars; v++) {
            names[v] = c->vars[v].name;
            if (len < sizeof list - 1)
                len += (size_t)snprintf(list + len, sizeof list - len, "%s%s",
                                        v ? ", " : "", c->vars[v].name);
        }
        char hint[160] = "";
        char base[NAME_LEN];
        snprintf(base, sizeof base, "%s", o->select[s]);
        char *br = strchr(base, '[');
        if (br)
            *br = '\0';
        int known = 0;
        for (int v = 0; v < c->nvars; v++)
            known |= !strcmp(c->vars[v].name, base);
        if (known) {
            for (int v = 0; v < c->nvars; v++)
                if (!strcmp(c->vars[v].name, base)) {
                    char dims[256] = "";
                    size_t dl = 0;
                    for (int d = 0; d < c->vars[v].ndims; d++)
                        dl += (size_t)snprintf(dims + dl, sizeof dims - dl,
                                               "%s%s", d ? "," : "",
                                               c->vars[v].dimname[d]);
                    return MS_ERROR(MS_EINPUT, "%s: error: --output '%s': "
                                    "%s; %s has %d coordinate%s (%s): give "
                                    "a name or * for each, e.g. %s[%s]",
                                    c->path, o->select[s],
                                    bad[s] ? "wrong number of coordinates"
                                           : "no such coordinate",
                                    base, c->vars[v].ndims,
                                    c->vars[v].ndims == 1 ? "" : "s", dims,
                                    base, dims);
                }
        }
        ms_suggest(hint, sizeof hint, base, names, c->nvars);
        return MS_ERROR(MS_EINPUT, "%s: error: --output '%s': no such output "
                        "in /summary%s; the file has: %s", c->path,
                        o->select[s], hint, list);
    }
    return MS_OK;
}

static ms_status pick_times(ctx *c, const ms_analyze_opts *o)
{
    if (c->T < 1)
        return MS_ERROR(MS_EINPUT, "%s: error: /summary/time has no records",
                        c->path);
    if (!o->n_at) {
        c->at[0] = (int)(c->T - 1);
        c->nat = 1;
        return MS_OK;
    }
    double step = c->T > 1 ? (c->times[c->T - 1] - c->times[0]) / (c->T - 1)
                           : 1;
    for (int i = 0; i < o->n_at; i++) {
        int best = 0;
        for (int t = 1; t < c->T; t++)
            if (fabs(c->times[t] - o->at[i]) < fabs(c->times[best] - o->at[i]))
                best = t;
        if (fabs(c->times[best] - o->at[i]) > 0.5 * step + 1e-9)
            return MS_ERROR(MS_EINPUT, "%s: error: --at %g: no record near "
                            "that time; the sweep kept records from %.4g to "
                            "%.4g (years), every %.4g years", c->path,
                            o->at[i], c->times[0], c->times[c->T - 1], step);
        c->at[c->nat++] = best;
    }
    return MS_OK;
}

/* mean[(s * nat + a) * P + p] and sd likewise, for every scalar. */
static ms_status read_values(ctx *c, double *mean, double *sd)
{
    ms_status st = MS_OK;
    for (int v = 0; v < c->nvars && st == MS_OK; v++) {
        int any = 0;
        for (int64_t s = 0; s < c->nsc; s++)
            any |= c->sc[s].var == v;
        if (!any)
            continue;
        const outvar *o = &c->vars[v];
        size_t slab = (size_t)c->T * (size_t)o->combos;
        double *buf = ms_malloc(slab * sizeof *buf);
        if (!buf)
            return MS_ERROR(MS_ENOMEM, "out of memory");
        for (int which = 0; which < 2 && st == MS_OK; which++) {
            char p[300];
            snprintf(p, sizeof p, "/summary/%s_%s", o->name,
                     which ? "sd" : "mean");
            double *dst = which ? sd : mean;
            ms_h5var *hv;
            if (which && !ms_h5_exists(c->h, p)) {
                for (int64_t s = 0; s < c->nsc; s++)
                    if (c->sc[s].var == v)
                        for (int64_t i = 0; i < c->nat * c->P; i++)
                            dst[s * c->nat * c->P + i] = NAN;
                continue;
            }
            st = ms_h5_var_open(c->h, p, MS_H5_F64, &hv);
            if (st == MS_OK && ms_h5_var_slab_bytes(hv) != slab * sizeof *buf)
                st = MS_ERROR(MS_EINPUT, "%s: error: %s: expected the shape "
                              "of %s_mean, found another", c->path, p,
                              o->name);
            for (int64_t pt = 0; pt < c->P && st == MS_OK; pt++) {
                st = ms_h5_read_index(hv, pt, buf);
                for (int64_t s = 0; s < c->nsc && st == MS_OK; s++) {
                    if (c->sc[s].var != v)
                        continue;
                    for (int a = 0; a < c->nat; a++)
                        dst[(s * c->nat + a) * c->P + pt] =
                            buf[(size_t)c->at[a] * (size_t)o->combos +
                                (size_t)c->sc[s].combo];
                }
            }
        }
        ms_free(buf);
    }
    return st;
}

/* Without a selection, leave out the scalars that are the same (or NaN)
 * at every point at every chosen time: no index can be computed for
 * them. Compacts c->sc, mean and sd; returns how many were left out and
 * names the first three in `names`. */
static int64_t drop_constant(ctx *c, double *mean, double *sd, char *names,
                             size_t size)
{
    const int64_t W = c->nat * c->P;
    int64_t kept = 0, dropped = 0;
    size_t len = 0;
    for (int64_t s = 0; s < c->nsc; s++) {
        const double *f = mean + s * W;
        double lo = INFINITY, hi = -INFINITY;
        int varies = 0;
        for (int a = 0; a < c->nat && !varies; a++) {
            lo = INFINITY;
            hi = -INFINITY;
            for (int64_t p = 0; p < c->P; p++) {
                double x = f[a * c->P + p];
                if (c->n[p] > 0 && isfinite(x)) {
                    lo = x < lo ? x : lo;
                    hi = x > hi ? x : hi;
                }
            }
            varies = hi > lo;
        }
        if (!varies) {
            if (dropped < 3 && len < size)
                len += (size_t)snprintf(names + len, size - len, "%s%s",
                                        dropped ? ", " : "", c->sc[s].name);
            dropped++;
            continue;
        }
        if (kept != s) {
            c->sc[kept] = c->sc[s];
            memmove(mean + kept * W, mean + s * W, (size_t)W * sizeof *mean);
            memmove(sd + kept * W, sd + s * W, (size_t)W * sizeof *sd);
        }
        kept++;
    }
    c->nsc = kept;
    return dropped;
}

/* Within-point variance pooled over points, over the variance of all the
 * runs (from the points' means, sds and counts). NaN without
 * replications. */
static double noise_share(const ctx *c, const double *m, const double *sd)
{
    double nt = 0, sum = 0;
    for (int64_t p = 0; p < c->P; p++)
        if (c->n[p] > 0 && isfinite(m[p])) {
            nt += (double)c->n[p];
            sum += (double)c->n[p] * m[p];
        }
    if (nt < 2)
        return NAN;
    double mean = sum / nt, within = 0, between = 0, dfw = 0;
    for (int64_t p = 0; p < c->P; p++) {
        if (!(c->n[p] > 0 && isfinite(m[p])))
            continue;
        between += (double)c->n[p] * (m[p] - mean) * (m[p] - mean);
        if (c->n[p] > 1 && isfinite(sd[p])) {
            within += (double)(c->n[p] - 1) * sd[p] * sd[p];
            dfw += (double)(c->n[p] - 1);
        }
    }
    if (dfw <= 0)
        return NAN;
    double total = (within + between) / (nt - 1);
    return total > 0 ? (within / dfw) / total : NAN;
}

/* Results: [s][j][a] for output s, parameter j, time a. */
typedef struct {
    double *v[6];     /* S1, S1_low, S1_high, ST, ST_low, ST_high, or mu,
                         mu_star, mu_star_low, mu_star_high, sigma */
    double *noise;    /* [s][a] */
    int64_t used;     /* rows or trajectories used (the fewest of any output) */
} results;

static const char *const sobol_vars[6][2] = {
    {"S1", "first-order Sobol index (Saltelli 2010 estimator)"},
    {"S1_low", "lower end of the bootstrap interval of S1"},
    {"S1_high", "upper end of the bootstrap interval of S1"},
    {"ST", "total Sobol index (Jansen estimator)"},
    {"ST_low", "lower end of the bootstrap interval of ST"},
    {"ST_high", "upper end of the bootstrap interval of ST"}};
static const char *const morris_vars[5][2] = {
    {"mu", "mean elementary effect (change of the output over the "
           "parameter's range)"},
    {"mu_star", "mean absolute elementary effect (Morris mu*)"},
    {"mu_star_low", "lower end of the bootstrap interval of mu_star"},
    {"mu_star_high", "upper end of the bootstrap interval of mu_star"},
    {"sigma", "sd of the elementary effects"}};

static ms_status compute(ctx *c, const ms_analyze_opts *o, const double *mean,
                         const double *sd, results *res)
{
    const int k = c->k, nat = c->nat;
    const int64_t S = c->nsc;
    int nv = c->saltelli ? 6 : 5;
    size_t cells = (size_t)S * (size_t)k * (size_t)nat;
    for (int i = 0; i < nv; i++)
        if (!(res->v[i] = ms_calloc(cells + 1, sizeof(double))))
            return MS_ERROR(MS_ENOMEM, "out of memory");
    if (!(res->noise = ms_calloc((size_t)S * (size_t)nat + 1, sizeof(double))))
        return MS_ERROR(MS_ENOMEM, "out of memory");
    res->used = -1;
    int64_t rows = c->saltelli ? c->N : c->r;
    double *fa = ms_malloc((size_t)rows * sizeof *fa);
    double *fb = ms_malloc((size_t)rows * sizeof *fb);
    double *fab = ms_malloc((size_t)rows * (size_t)k * sizeof *fab);
    double *ux = c->saltelli ? NULL
                             : ms_malloc((size_t)c->P * (size_t)k * sizeof *ux);
    int *use = ms_malloc((size_t)rows * sizeof *use);
    ms_status st = fa && fb && fab && use && (c->saltelli || ux)
                       ? MS_OK : MS_ERROR(MS_ENOMEM, "out of memory");
    /* Morris: the points' unit coordinates, from the parameter values. */
    double *pv = NULL;
    if (st == MS_OK && !c->saltelli) {
        pv = ms_malloc((size_t)c->P * sizeof *pv);
        if (!pv)
            st = MS_ERROR(MS_ENOMEM, "out of memory");
        for (int j = 0; j < k && st == MS_OK; j++) {
            char p[NAME_LEN + 16];
            snprintf(p, sizeof p, "/summary/%s", c->key[j]);
            st = read_f64(c, p, c->P, pv);
            for (int64_t q = 0; st == MS_OK && q < c->P; q++)
                ux[q * k + j] = c->logscale[j]
                                    ? (log(pv[q]) - log(c->low[j])) /
                                          (log(c->high[j]) - log(c->low[j]))
                                    : (pv[q] - c->low[j]) /
                                          (c->high[j] - c->low[j]);
        }
    }
    ms_sens_sobol so[MAX_PARAMS];
    ms_sens_morris mo[MAX_PARAMS];
    double *ux_used = NULL;
    if (st == MS_OK && !c->saltelli &&
        !(ux_used = ms_malloc((size_t)c->P * (size_t)k * sizeof *ux_used)))
        st = MS_ERROR(MS_ENOMEM, "out of memory");
    double *f_used = NULL;
    if (st == MS_OK && !c->saltelli &&
        !(f_used = ms_malloc((size_t)c->P * sizeof *f_used)))
        st = MS_ERROR(MS_ENOMEM, "out of memory");
    for (int64_t s = 0; s < S && st == MS_OK; s++)
        for (int a = 0; a < nat && st == MS_OK; a++) {
            const double *f = mean + (s * nat + a) * c->P;
            res->noise[s * nat + a] =
                c->reps > 1 ? noise_share(c, f, sd + (s * nat + a) * c->P) : NAN;
            int64_t m = 0;
            if (c->saltelli) {
                const int64_t W = k + 2;
                for (int64_t i = 0; i < c->N; i++) {
                    int ok = 1;
                    for (int64_t b = 0; b < W; b++)
                        ok &= c->n[i * W + b] > 0 && isfinite(f[i * W + b]);
                    if (!ok)
                        continue;
                    fa[m] = f[i * W];
                    fb[m] = f[i * W + W - 1];
                    m++;
                }
                for (int j = 0; j < k; j++) {
                    int64_t q = 0;
                    for (int64_t i = 0; i < c->N; i++) {
                        int ok = 1;
                        for (int64_t b = 0; b < W; b++)
                            ok &= c->n[i * W + b] > 0 && isfinite(f[i * W + b]);
                        if (ok)
                            fab[(int64_t)j * m + q++] = f[i * W + 1 + j];
                    }
                }
                if (m >= 2)
                    st = ms_sens_sobol_indices(m, k, fa, fb, fab, o->resamples,
                                               o->conf, o->seed, so);
                for (int j = 0; j < k && st == MS_OK; j++) {
                    size_t cell = ((size_t)s * k + (size_t)j) * nat + (size_t)a;
                    const double vals[6] = {so[j].s1.value, so[j].s1.lo,
                                            so[j].s1.hi, so[j].st.value,
                                            so[j].st.lo, so[j].st.hi};
                    for (int i = 0; i < 6; i++)
                        res->v[i][cell] = m >= 2 ? vals[i] : NAN;
                }
            } else {
                const int64_t W = k + 1;
                for (int64_t t = 0; t < c->r; t++) {
                    int ok = 1;
                    for (int64_t b = 0; b < W; b++)
                        ok &= c->n[t * W + b] > 0 && isfinite(f[t * W + b]);
                    if (!ok)
                        continue;
                    memcpy(ux_used + m * W * k, ux + t * W * k,
                           (size_t)(W * k) * sizeof *ux);
                    memcpy(f_used + m * W, f + t * W, (size_t)W * sizeof *f);
                    m++;
                }
                if (m >= 1)
                    st = ms_sens_morris_measures((int)m, k, ux_used, f_used,
                                                 NULL, o->resamples, o->conf,
                                                 o->seed, mo);
                for (int j = 0; j < k && st == MS_OK; j++) {
                    size_t cell = ((size_t)s * k + (size_t)j) * nat + (size_t)a;
                    const double vals[5] = {mo[j].mu, mo[j].mu_star.value,
                                            mo[j].mu_star.lo, mo[j].mu_star.hi,
                                            mo[j].sigma};
                    for (int i = 0; i < 5; i++)
                        res->v[i][cell] = m >= 1 ? vals[i] : NAN;
                }
            }
            if (res->used < 0 || m < res->used)
                res->used = m;
        }
    ms_free(fa);
    ms_free(fb);
    ms_free(fab);
    ms_free(ux);
    ms_free(use);
    ms_free(pv);
    ms_free(ux_used);
    ms_free(f_used);
    return st;
}

static ms_status write_results(ctx *c, const ms_analyze_opts *o,
                               const results *res, ms_h5 *h)
{
    const char *G = "/sensitivity";
    MS_CALL(ms_h5_unlink(h, G));
    MS_CALL(ms_h5_group(h, G));
    const char **on = ms_malloc((size_t)c->nsc * sizeof *on + 1);
    const char **un = ms_malloc((size_t)c->nsc * sizeof *un + 1);
    double *tv = ms_malloc((size_t)c->nat * sizeof *tv);
    if (!on || !un || !tv) {
        ms_free(on);
        ms_free(un);
        ms_free(tv);
        return MS_ERROR(MS_ENOMEM, "out of memory");
    }
    for (int64_t s = 0; s < c->nsc; s++) {
        on[s] = c->sc[s].name;
        un[s] = c->vars[c->sc[s].var].units;
    }
    const char *pn[MAX_PARAMS];
    for (int j = 0; j < c->k; j++)
        pn[j] = c->key[j];
    for (int a = 0; a < c->nat; a++)
        tv[a] = c->times[c->at[a]];
    ms_status st = ms_h5_dim_names(h, G, "output", on, (int)c->nsc,
                                   "output (dataset[coordinates])");
    if (st == MS_OK)
        st = ms_h5_dim_names(h, G, "parameter", pn, c->k, "varied parameter");
    if (st == MS_OK)
        st = ms_h5_dim_values(h, G, "time", tv, c->nat, "year", "time");
    if (st == MS_OK)
        st = ms_h5_var_names(h, G, "output_units", "output", un, (int)c->nsc,
                             "units of the output");
    ms_free(on);
    ms_free(un);
    ms_free(tv);
    MS_CALL(st);
    const char *dims[3] = {"output", "parameter", "time"};
    int nv = c->saltelli ? 6 : 5;
    for (int i = 0; i < nv; i++) {
        ms_h5var *v;
        const char *name = c->saltelli ? sobol_vars[i][0] : morris_vars[i][0];
        const char *ln = c->saltelli ? sobol_vars[i][1] : morris_vars[i][1];
        const char *units = c->saltelli ? "1" : "units of the output "
                                                 "(output_units)";
        MS_CALL(ms_h5_var(h, G, name, MS_H5_F64, 3, dims, 0, units, ln, &v));
        MS_CALL(ms_h5_write(v, res->v[i]));
    }
    ms_h5var *v;
    const char *d2[2] = {"output", "time"};
    MS_CALL(ms_h5_var(h, G, "noise_share", MS_H5_F64, 2, d2, 0, "1",
                      "share of the variance of single runs that is "
                      "between replications of a point (NaN without "
                      "replications)", &v));
    MS_CALL(ms_h5_write(v, res->noise));
    MS_CALL(ms_h5_attr_str(h, G, "method", c->saltelli
                           ? "saltelli: first-order Saltelli (2010), total "
                             "Jansen (1999), percentile bootstrap intervals "
                             "over base rows"
                           : "morris: elementary effects (Morris 1991), mu* "
                             "(Campolongo 2007), percentile bootstrap "
                             "intervals over trajectories"));
    MS_CALL(ms_h5_attr_f64(h, G, "confidence", o->conf));
    MS_CALL(ms_h5_attr_i64(h, G, "resamples", o->resamples));
    char seed[32];
    snprintf(seed, sizeof seed, "%llu", (unsigned long long)o->seed);
    MS_CALL(ms_h5_attr_str(h, G, "bootstrap_seed", seed));
    MS_CALL(ms_h5_attr_i64(h, G, c->saltelli ? "rows_used" :
                           "trajectories_used", res->used));
    MS_CALL(ms_h5_attr_i64(h, G, c->saltelli ? "base_samples" :
                           "trajectories", c->saltelli ? c->N : c->r));
    MS_CALL(ms_h5_attr_i64(h, G, "replications", c->reps));
    MS_CALL(ms_h5_attr_str(h, G, "values_from", "/summary (mean over the "
                           "finished replications of each point)"));
    return MS_OK;
}

static void print_table(const ctx *c, const ms_analyze_opts *o,
                        const results *res, FILE *out)
{
    if (c->saltelli)
        fprintf(out, "%s: Sobol indices (saltelli: %lld of %lld base rows, "
                "%d parameters, %lld replications per point; %g%% bootstrap "
                "intervals, %d resamples)\n", c->path, (long long)res->used,
                (long long)c->N, c->k, (long long)c->reps, 100 * o->conf,
                o->resamples);
    else
        fprintf(out, "%s: Morris elementary effects (%lld of %lld "
                "trajectories, %d levels, %d parameters, %lld replications "
                "per point; %g%% bootstrap intervals of mu*, %d resamples; "
                "effects are changes of the output over each parameter's "
                "whole range)\n", c->path, (long long)res->used,
                (long long)c->r, c->levels, c->k, (long long)c->reps,
                100 * o->conf, o->resamples);
    int wo = 6, wp = 9;
    for (int64_t s = 0; s < c->nsc; s++)
        if ((int)strlen(c->sc[s].name) > wo)
            wo = (int)strlen(c->sc[s].name);
    for (int j = 0; j < c->k; j++)
        if ((int)strlen(c->key[j]) > wp)
            wp = (int)strlen(c->key[j]);
    if (c->saltelli)
        fprintf(out, "%-*s  %7s  %-*s  %-24s  %-24s  %s\n", wo, "output",
                "time", wp, "parameter", "S1 [interval]", "ST [interval]",
                "noise");
    else
        fprintf(out, "%-*s  %7s  %-*s  %-28s  %11s  %11s  %s\n", wo, "output",
                "time", wp, "parameter", "mu* [interval]", "mu", "sigma",
                "units");
    for (int64_t s = 0; s < c->nsc; s++)
        for (int a = 0; a < c->nat; a++)
            for (int j = 0; j < c->k; j++) {
                size_t cell = ((size_t)s * c->k + (size_t)j) * c->nat + (size_t)a;
                char b1[64], b2[64];
                if (c->saltelli) {
                    snprintf(b1, sizeof b1, "%6.3f [%6.3f, %6.3f]",
                             res->v[0][cell], res->v[1][cell], res->v[2][cell]);
                    snprintf(b2, sizeof b2, "%6.3f [%6.3f, %6.3f]",
                             res->v[3][cell], res->v[4][cell], res->v[5][cell]);
                    fprintf(out, "%-*s  %7.2f  %-*s  %-24s  %-24s  ", wo,
                            j ? "" : c->sc[s].name, c->times[c->at[a]], wp,
                            c->key[j], b1, b2);
                    if (j == 0 && isfinite(res->noise[s * c->nat + a]))
                        fprintf(out, "%.3f", res->noise[s * c->nat + a]);
                    else if (j == 0)
                        fprintf(out, "-");
                    fputc('\n', out);
                } else {
                    snprintf(b1, sizeof b1, "%9.4g [%9.4g, %9.4g]",
                             res->v[1][cell], res->v[2][cell], res->v[3][cell]);
                    fprintf(out, "%-*s  %7.2f  %-*s  %-28s  %11.4g  %11.4g  "
                            "%s\n", wo, j ? "" : c->sc[s].name,
                            c->times[c->at[a]], wp, c->key[j], b1,
                            res->v[0][cell], res->v[4][cell],
                            c->vars[c->sc[s].var].units);
                }
            }
    if (c->saltelli && c->reps > 1)
        fprintf(out, "noise: share of the variance of single runs that is "
                "between replications of a point (the indices are of the "
                "replication mean)\n");
}

static ms_status analyze(ctx *c, const ms_analyze_opts *o, FILE *table)
{
    char buf[256];
    if (ms_h5_attr_read(c->h, "/", "title", buf, sizeof buf) != MS_OK ||
        strcmp(buf, "marketsim sweep") != 0) {
        ms_error_clear();
        return MS_ERROR(MS_EINPUT, "%s: error: not a marketsim sweep file "
                        "(analyze reads what `marketsim sweep` writes)",
                        c->path);
    }
    if (ms_h5_attr_read(c->h, "/", "design", buf, sizeof buf) != MS_OK) {
        ms_error_clear();
        buf[0] = '\0';
    }
    if (strcmp(buf, "saltelli") != 0 && strcmp(buf, "morris") != 0)
        return MS_ERROR(MS_EINPUT, "%s: error: the sweep's design is '%s'; "
                        "sensitivity indices need a sweep made with design: "
                        "saltelli (Sobol indices) or design: morris "
                        "(elementary effects) (docs/SWEEPS.md)", c->path, buf);
    c->saltelli = !strcmp(buf, "saltelli");
    MS_CALL(attr_i64(c, "points", &c->P));
    MS_CALL(attr_i64(c, "replications", &c->reps));
    MS_CALL(read_params(c));
    if (c->saltelli) {
        MS_CALL(attr_i64(c, "saltelli_samples", &c->N));
        if (c->N * (c->k + 2) != c->P)
            return MS_ERROR(MS_EINPUT, "%s: error: a saltelli design of N = "
                            "%lld and %d parameters has N (k + 2) = %lld "
                            "points, the file %lld", c->path, (long long)c->N,
                            c->k, (long long)(c->N * (c->k + 2)),
                            (long long)c->P);
    } else {
        int64_t lv;
        MS_CALL(attr_i64(c, "morris_trajectories", &c->r));
        MS_CALL(attr_i64(c, "morris_levels", &lv));
        c->levels = (int)lv;
        if (c->r * (c->k + 1) != c->P)
            return MS_ERROR(MS_EINPUT, "%s: error: a morris design of %lld "
                            "trajectories and %d parameters has r (k + 1) = "
                            "%lld points, the file %lld", c->path,
                            (long long)c->r, c->k,
                            (long long)(c->r * (c->k + 1)), (long long)c->P);
    }
    if (!ms_h5_exists(c->h, "/summary/n"))
        return MS_ERROR(MS_EINPUT, "%s: error: no /summary in the file (the "
                        "sweep wrote none yet: finish it with marketsim "
                        "sweep SWEEP.yaml --resume -o %s)", c->path, c->path);
    ms_h5var *v;
    MS_CALL(ms_h5_var_open(c->h, "/summary/time", MS_H5_F64, &v));
    int64_t td[8];
    if (ms_h5_var_shape(v, td) != 1 || td[0] < 1 || td[0] > (1 << 24))
        return MS_ERROR(MS_EINPUT, "%s: error: /summary/time: expected one "
                        "dimension of records", c->path);
    c->T = td[0];
    if (!(c->times = ms_malloc((size_t)c->T * sizeof *c->times)) ||
        !(c->n = ms_malloc((size_t)c->P * sizeof *c->n + 1)))
        return MS_ERROR(MS_ENOMEM, "out of memory");
    MS_CALL(read_f64(c, "/summary/time", c->T, c->times));
    MS_CALL(ms_h5_var_open(c->h, "/summary/n", MS_H5_I64, &v));
    MS_CALL(ms_h5_var_expect(v, 1, &c->P));
    MS_CALL(ms_h5_read_all(v, c->n));
    MS_CALL(find_vars(c));
    MS_CALL(select_scalars(c, o));
    if (!c->nsc)
        return MS_ERROR(MS_EINPUT, "%s: error: /summary holds no "
                        "floating-point output to analyze", c->path);
    MS_CALL(pick_times(c, o));
    size_t cells = (size_t)c->nsc * (size_t)c->nat * (size_t)c->P;
    double *mean = ms_malloc(cells * sizeof *mean + 1);
    double *sd = ms_malloc(cells * sizeof *sd + 1);
    results res;
    memset(&res, 0, sizeof res);
    ms_status st = mean && sd ? MS_OK : MS_ERROR(MS_ENOMEM, "out of memory "
                                                 "for %zu values", cells);
    if (st == MS_OK)
        st = read_values(c, mean, sd);
    int64_t dropped = 0;
    char dropped_names[160] = "";
    if (st == MS_OK && !o->n_select)
        dropped = drop_constant(c, mean, sd, dropped_names,
                                sizeof dropped_names);
    if (st == MS_OK && !c->nsc)
        st = MS_ERROR(MS_EINPUT, "%s: error: no output varies across the "
                      "design's points (all %lld are constant or NaN)",
                      c->path, (long long)dropped);
    if (st == MS_OK)
        st = compute(c, o, mean, sd, &res);
    ms_free(mean);
    ms_free(sd);
    if (st == MS_OK && res.used < (c->saltelli ? 2 : 1))
        st = MS_ERROR(MS_EINPUT, "%s: error: too few finished %s to "
                      "estimate anything (%lld); finish the sweep with "
                      "--resume", c->path,
                      c->saltelli ? "base rows" : "trajectories",
                      (long long)res.used);
    /* Write into a copy, then put it in place. */
    const char *final = o->out_path ? o->out_path : c->path;
    char *tmp = NULL;
    if (st == MS_OK && o->write) {
        size_t len = strlen(final) + 32;
        if (!(tmp = ms_malloc(len)))
            st = MS_ERROR(MS_ENOMEM, "out of memory");
        else
            snprintf(tmp, len, "%s.analyze.partial", final);
        if (st == MS_OK)
            st = ms_path_copy(c->path, tmp, NULL);
        ms_h5 *w = NULL;
        if (st == MS_OK)
            st = ms_h5_open_rw(tmp, 0, &w);
        if (st == MS_OK)
            st = write_results(c, o, &res, w);
        if (w) {
            ms_status cs = ms_h5_close(&w, 1);
            if (st == MS_OK)
                st = cs;
        }
        if (st == MS_OK && rename(tmp, final) != 0)
            st = MS_ERROR(MS_EIO, "%s: cannot rename to %s: %s", tmp, final,
                          strerror(errno));
        if (st != MS_OK && tmp)
            remove(tmp);
    }
    if (st == MS_OK && !o->quiet && table) {
        print_table(c, o, &res, table);
        if (dropped)
            fprintf(table, "left out: %lld outputs that are the same at "
                    "every point (%s%s); name them with --output to keep "
                    "them\n", (long long)dropped, dropped_names,
                    dropped > 3 ? ", ..." : "");
    }
    if (st == MS_OK && !o->quiet && table && o->write)
        fprintf(table, "written: /sensitivity of %s\n", final);
    ms_free(tmp);
    for (int i = 0; i < 6; i++)
        ms_free(res.v[i]);
    ms_free(res.noise);
    return st;
}

ms_status ms_analyze(const char *path, const ms_analyze_opts *o, FILE *table)
{
    if (!(o->conf > 0 && o->conf < 1))
        return MS_ERROR(MS_EUSAGE, "--confidence: expected a number in (0, "
                        "1), e.g. 0.95");
    if (o->resamples < 0 || o->resamples > 1000000)
        return MS_ERROR(MS_EUSAGE, "--resamples: expected a whole number in "
                        "[0, 1000000]");
    ctx c;
    memset(&c, 0, sizeof c);
    c.path = path;
    MS_CALL(ms_h5_open_ro(path, &c.h));
    ms_status st = analyze(&c, o, table);
    /* The copy is closed before the rename; the source is read-only. */
    ms_status cs = ms_h5_close(&c.h, 1);
    if (st == MS_OK)
        st = cs;
    free_vars(&c);
    ms_free(c.sc);
    ms_free(c.times);
    ms_free(c.n);
    return st;
}
