/*
 * output.c: the run file's schema as a table of datasets, each with its
 * group, shape, units, meaning and the function that fills one record from
 * the world. docs/OUTPUT.md documents the same table; a test compares the
 * two. All writing goes through io/ms_h5.h.
 */
#include "core/ms_output.h"
#include "core/world_int.h"
#include "io/ms_h5.h"

#include "marketsim/ms_alloc.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

/* 2: firms as they exist (a growing firm dimension), events as columns,
 * CF attributes, readable while written. */
#define SCHEMA_VERSION 2

typedef enum { SH_MC, SH_F, SH_FMC, SH_FC, SH_FM, SH_FS } shape;

typedef struct out_def {
    const char *group, *name;
    ms_h5type type;
    shape sh;
    const char *units, *long_name, *description;
    const char *flags;   /* flag_meanings of the values 0, 1, ... or NULL */
    void (*fill)(const ms_world *w, void *buf);
    int always;   /* written even when output.datasets leaves it out */
} out_def;

/* ---- fill functions: one record, in the dimension order of the shape ---- */

#define FOR_MC for (int m = 0; m < w->M; m++) for (int c = 0; c < w->C; c++)

static void f_adopters(const ms_world *w, void *b)
{
    double *o = b;
    FOR_MC o[m * w->C + c] = (double)w->adopters[m * w->C + c] * w->ppa;
}

static void f_gmv(const ms_world *w, void *b)
{
    double *o = b;
    FOR_MC o[m * w->C + c] = (double)w->adopters[m * w->C + c] * w->ppa *
                             w->sc->categories[c].gmv[m];
}

static void f_hhi(const ms_world *w, void *b)
{
    memcpy(b, w->hhi, sizeof(double) * w->M * w->C);
}

static void f_foreign(const ms_world *w, void *b)
{
    memcpy(b, w->foreign_share, sizeof(double) * w->M * w->C);
}

static void f_users(const ms_world *w, void *b)
{
    double *o = b;
    const int M = w->M, C = w->C, F = w->F;
    for (int f = 0; f < F; f++)
        FOR_MC o[((size_t)f * M + m) * C + c] =
            f < w->n_firms
                ? (double)w->users[((size_t)m * C + c) * F + f] * w->ppa
                : NAN;
}

static void firm_vec(const ms_world *w, const double *src, double scale,
                     double *o)
{
    for (int f = 0; f < w->F; f++)
        o[f] = f < w->n_firms ? src[f] * scale : NAN;
}

static void f_revenue(const ms_world *w, void *b)
{
    firm_vec(w, w->revenue, 1 / w->dt, b);
}
static void f_costs(const ms_world *w, void *b)
{
    firm_vec(w, w->costs, 1 / w->dt, b);
}
static void f_cash(const ms_world *w, void *b) { firm_vec(w, w->cash, 1, b); }
static void f_value(const ms_world *w, void *b) { firm_vec(w, w->value, 1, b); }
static void f_group_revenue(const ms_world *w, void *b)
{
    firm_vec(w, w->group_revenue, 1 / w->dt, b);
}
static void f_abroad(const ms_world *w, void *b)
{
    firm_vec(w, w->abroad_share, 1, b);
}

static void f_quality(const ms_world *w, void *b)
{
    double *o = b;
    for (int f = 0; f < w->F; f++)
        for (int c = 0; c < w->C; c++)
            o[f * w->C + c] = f < w->n_firms ? w->quality[f * w->C + c] : NAN;
}

static void f_loc(const ms_world *w, void *b)
{
    double *o = b;
    for (int f = 0; f < w->F; f++)
        for (int m = 0; m < w->M; m++)
            o[f * w->M + m] = f < w->n_firms ? w->loc[f * w->M + m] : NAN;
}

static void f_presence(const ms_world *w, void *b)
{
    int8_t *o = b;
    for (int f = 0; f < w->F; f++)
        for (int m = 0; m < w->M; m++)
            o[f * w->M + m] = f < w->n_firms
                                  ? (int8_t)(w->present[f * w->M + m] != 0 &&
                                             w->alive[f])
                                  : -1;
}

static void f_weights(const ms_world *w, void *b)
{
    double *o = b;
    for (int f = 0; f < w->F; f++)
        for (int s = 0; s < MS_N_STRATEGIES; s++)
            o[f * MS_N_STRATEGIES + s] =
                f < w->n_firms ? w->weights[f * MS_N_STRATEGIES + s] : NAN;
}

static void f_owner(const ms_world *w, void *b)
{
    int32_t *o = b;
    for (int f = 0; f < w->F; f++)
        o[f] = f < w->n_firms ? w->owner[f] : -1;
}

static void f_alive(const ms_world *w, void *b)
{
    int8_t *o = b;
    for (int f = 0; f < w->F; f++)
        o[f] = f < w->n_firms ? (int8_t)w->alive[f] : -1;
}

/* Units follow udunits (CF): "1" for counts of people and for shares,
 * "USD" for stocks, "USD/year" for annualized flows. long_name is the
 * short label plots put on axes; description says what the value is. */
static const out_def defs[] = {
    {"/market", "adopters", MS_H5_F64, SH_MC, "1", "adopters (people)",
     "people using the category (adopter agents times people_per_agent)",
     NULL, f_adopters, 0},
    {"/market", "gmv", MS_H5_F64, SH_MC, "USD/year", "merchandise value",
     "gross merchandise value of the category's users (0 where gmv is not "
     "given)", NULL, f_gmv, 0},
    {"/market", "hhi", MS_H5_F64, SH_MC, "1", "Herfindahl index",
     "Herfindahl index of user shares by owner group (NaN without adopters)",
     NULL, f_hhi, 0},
    {"/market", "foreign_share", MS_H5_F64, SH_MC, "1", "foreign share",
     "share of users served by firms whose home is another market", NULL,
     f_foreign, 0},
    {"/firm", "users", MS_H5_F64, SH_FMC, "1", "users (people)",
     "people using the firm (user agents times people_per_agent)", NULL,
     f_users, 0},
    {"/firm", "revenue", MS_H5_F64, SH_F, "USD/year", "revenue",
     "revenue in the step, annualized (R / dt)", NULL, f_revenue, 0},
    {"/firm", "costs", MS_H5_F64, SH_F, "USD/year", "costs",
     "serving and presence costs in the step, annualized (K / dt)", NULL,
     f_costs, 0},
    {"/firm", "cash", MS_H5_F64, SH_F, "USD", "cash",
     "cash W at the end of the step", NULL, f_cash, 0},
    {"/firm", "value", MS_H5_F64, SH_F, "USD", "value",
     "firm value V = revenue_multiple * R/dt + W + stakes", NULL, f_value, 0},
    {"/firm", "quality", MS_H5_F64, SH_FC, "1", "quality",
     "log-quality a, in utils (NaN: does not offer the category)", NULL,
     f_quality, 0},
    {"/firm", "localization", MS_H5_F64, SH_FM, "1", "localization",
     "localization L (1 at home)", NULL, f_loc, 0},
    {"/firm", "presence", MS_H5_I8, SH_FM, "1", "presence",
     "1 where the firm is present and in business, else 0; -1 (fill) "
     "before the firm entered", "absent present", f_presence, 0},
    {"/firm", "weights", MS_H5_F64, SH_FS, "1", "strategy weight",
     "strategy mix w (sums to 1 over strategies)", NULL, f_weights, 0},
    {"/firm", "owner", MS_H5_I32, SH_F, "1", "owner index",
     "index along firm of the owning firm (itself unless acquired); -1 "
     "(fill) before the firm entered", NULL, f_owner, 0},
    {"/firm", "group_revenue", MS_H5_F64, SH_F, "USD/year", "group revenue",
     "revenue of the group the firm heads, annualized (NaN if it is owned)",
     NULL, f_group_revenue, 0},
    {"/firm", "abroad_share", MS_H5_F64, SH_F, "1", "abroad share",
     "share of group revenue earned outside the head's home market", NULL,
     f_abroad, 0},
    {"/firm", "alive", MS_H5_I8, SH_F, "1", "in business",
     "1 while in business, 0 after exit; -1 (fill) before entry",
     "exited in_business", f_alive, 1},
};

#define N_DEFS ((int)(sizeof defs / sizeof defs[0]))

int ms_outvar_count(void) { return N_DEFS; }

int ms_outvar_find(const char *name)
{
    for (int i = 0; i < N_DEFS; i++)
        if (!strcmp(defs[i].name, name))
            return i;
    return -1;
}

static int shape_dims(shape sh, const char **dims)
{
    int nd = 0;
    switch (sh) {
    case SH_MC: dims[nd++] = "market"; dims[nd++] = "category"; break;
    case SH_F: dims[nd++] = "firm"; break;
    case SH_FMC: dims[nd++] = "firm"; dims[nd++] = "market";
                 dims[nd++] = "category"; break;
    case SH_FC: dims[nd++] = "firm"; dims[nd++] = "category"; break;
    case SH_FM: dims[nd++] = "firm"; dims[nd++] = "market"; break;
    case SH_FS: dims[nd++] = "firm"; dims[nd++] = "strategy"; break;
    }
    return nd;
}

void ms_outvar_get(int i, ms_outvar_meta *m)
{
    const out_def *d = &defs[i];
    m->group = d->group;
    m->name = d->name;
    m->units = d->units;
    m->long_name = d->long_name;
    m->description = d->description;
    m->flags = d->flags;
    m->type = d->type;
    m->ndims = shape_dims(d->sh, m->dims);
}

size_t ms_outvar_elems(int i, const ms_world *w)
{
    size_t n = 1;
    const char *dims[4];
    int nd = shape_dims(defs[i].sh, dims);
    for (int k = 0; k < nd; k++)
        n *= !strcmp(dims[k], "market")     ? (size_t)w->M
             : !strcmp(dims[k], "category") ? (size_t)w->C
             : !strcmp(dims[k], "firm")     ? (size_t)w->F
                                            : (size_t)MS_N_STRATEGIES;
    return n;
}

size_t ms_outvar_elem_size(int i)
{
    switch (defs[i].type) {
    case MS_H5_I8: return 1;
    case MS_H5_I32: return 4;
    default: return 8;
    }
}

void ms_outvar_fill(int i, const ms_world *w, void *buf) { defs[i].fill(w, buf); }

struct ms_output {
    ms_h5 *h5;
    ms_h5var *var[N_DEFS];     /* NULL when not kept */
    ms_h5var *time[2], *step[2], *date[2];
    ms_h5var *firm, *home;     /* the growing firm coordinate and homes */
    int nf;                    /* firms in the file so far */
    double flushed;            /* monotonic time of the last flush, s */
    ms_h5var *events;
    ms_h5_event_row *rows;     /* [cap_ev] */
    const char **fnames, **homes; /* [F] borrowed from the world */
    void *buf;
    int64_t rec;
};

static int kept(const ms_scenario *sc, const out_def *d)
{
    if (d->always || !sc->output.datasets)
        return 1;
    for (int i = 0; i < sc->output.n_datasets; i++)
        if (!strcmp(sc->output.datasets[i], d->name))
            return 1;
    return 0;
}

ms_status ms_output_describe(ms_h5 *h, const char *path,
                             const ms_outvar_meta *m)
{
    MS_CALL(ms_h5_attr_str(h, path, "description", m->description));
    if (m->flags) {
        static const int8_t vals[] = {0, 1, 2, 3, 4, 5, 6, 7};
        int n = 1;
        for (const char *c = m->flags; *c; c++)
            n += *c == ' ';
        MS_CALL(ms_h5_attr_flags(h, path, vals, n, m->flags));
    }
    return MS_OK;
}

static int is_leap(long y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

double ms_output_days(double start, double year)
{
    long y0 = (long)floor(start), y = (long)floor(year);
    double days = 0;
    for (long k = y0; k < y; k++)
        days += is_leap(k) ? 366 : 365;
    for (long k = y; k < y0; k++)
        days -= is_leap(k) ? 366 : 365;
    return days + (year - (double)y) * (is_leap(y) ? 366 : 365);
}

static void fill_firm_names(ms_output *o, const ms_world *w)
{
    for (int f = 0; f < w->F; f++) {
        o->fnames[f] = f < w->n_firms ? w->fname[f] : "";
        o->homes[f] = f < w->n_firms ? w->sc->markets[w->home[f]].name : "";
    }
}

static ms_status write_header(ms_output *o, const ms_world *w,
                              const ms_run_info *info)
{
    const ms_scenario *sc = w->sc;
    ms_h5 *h = o->h5;
    char text[64];
    MS_CALL(ms_h5_attr_str(h, "/", "title", "marketsim run"));
    MS_CALL(ms_h5_attr_i64(h, "/", "schema_version", SCHEMA_VERSION));
    MS_CALL(ms_h5_attr_str(h, "/", "marketsim_version", MS_VERSION));
    MS_CALL(ms_h5_attr_str(h, "/", "git_commit", MS_GIT_COMMIT));
    snprintf(text, sizeof text, "%llu", (unsigned long long)w->seed);
    MS_CALL(ms_h5_attr_str(h, "/", "seed", text));
    MS_CALL(ms_h5_attr_str(h, "/", "generator", MS_RNG_GENERATOR_NAME));
    MS_CALL(ms_h5_attr_str(h, "/", "status", "running"));
    MS_CALL(ms_h5_attr_i64(h, "/", "steps", sc->run.steps));
    MS_CALL(ms_h5_attr_i64(h, "/", "steps_done", 0));
    MS_CALL(ms_h5_attr_f64(h, "/", "dt", sc->run.dt));
    MS_CALL(ms_h5_attr_f64(h, "/", "start_year", sc->run.start_year));
    MS_CALL(ms_h5_attr_str(h, "/", "Conventions", "CF-1.8"));
    MS_CALL(ms_h5_attr_f64(h, "/", "people_per_agent", w->ppa));
    MS_CALL(ms_h5_attr_i64(h, "/", "consumers", (int64_t)w->N));
    MS_CALL(ms_h5_attr_i64(h, "/", "threads", info ? info->threads : 0));
    MS_CALL(ms_h5_attr_str(h, "/", "scenario_file",
                           sc->source ? sc->source : ""));
    MS_CALL(ms_h5_attr_str(h, "/", "command",
                           info && info->command ? info->command : ""));
    time_t now = time(NULL);
    struct tm tmv;
    gmtime_r(&now, &tmv);
    strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &tmv);
    MS_CALL(ms_h5_attr_str(h, "/", "created", text));
    char *yaml;
    MS_CALL(ms_scenario_to_yaml(sc, &yaml));
    ms_status st = ms_h5_text(h, "/scenario", yaml,
                              "the resolved scenario (YAML) this run used");
    ms_free(yaml);
    return st;
}

static ms_status write_dims(ms_output *o, const ms_world *w)
{
    const ms_scenario *sc = w->sc;
    const char *mnames[MS_MAX_MARKETS], *cnames[MS_MAX_CATEGORIES];
    for (int m = 0; m < w->M; m++)
        mnames[m] = sc->markets[m].name;
    for (int c = 0; c < w->C; c++)
        cnames[c] = sc->categories[c].name;
    char since[64];
    snprintf(since, sizeof since, "seconds since %04ld-01-01 00:00:00",
             (long)floor(sc->run.start_year));
    const char *groups[2] = {"/market", "/firm"};
    for (int g = 0; g < 2; g++) {
        char path[64];
        MS_CALL(ms_h5_group(o->h5, groups[g]));
        MS_CALL(ms_h5_dim_record(o->h5, groups[g], "time", "year", "time",
                                 &o->time[g]));
        snprintf(path, sizeof path, "%s/time", groups[g]);
        MS_CALL(ms_h5_attr_str(o->h5, path, "description", "calendar time "
                               "of the record, start_year + step * dt"));
        MS_CALL(ms_h5_attr_str(o->h5, path, "axis", "T"));
        MS_CALL(ms_h5_dim_names(o->h5, groups[g], "market", mnames, w->M,
                                "market"));
        MS_CALL(ms_h5_dim_names(o->h5, groups[g], "category", cnames, w->C,
                                "product category"));
        const char *tdim[1] = {"time"};
        MS_CALL(ms_h5_var(o->h5, groups[g], "step", MS_H5_I64, 1, tdim, 1,
                          "1", "step", &o->step[g]));
        snprintf(path, sizeof path, "%s/step", groups[g]);
        MS_CALL(ms_h5_attr_str(o->h5, path, "description",
                               "steps done at the record"));
        MS_CALL(ms_h5_var(o->h5, groups[g], "date", MS_H5_F64, 1, tdim, 1,
                          since, "date", &o->date[g]));
        snprintf(path, sizeof path, "%s/date", groups[g]);
        MS_CALL(ms_h5_attr_str(o->h5, path, "calendar", "proleptic_gregorian"));
        MS_CALL(ms_h5_attr_str(o->h5, path, "description", "the record's "
                               "time as a date: January 1 of each whole "
                               "year, a fraction of a year as that share of "
                               "its days"));
    }
    /* Firms: the dimension holds the firms created so far and grows as
     * start-ups enter. */
    fill_firm_names(o, w);
    o->nf = w->n_firms;
    MS_CALL(ms_h5_dim_names_grow(o->h5, "/firm", "firm", MS_NAME_MAX,
                                 o->fnames, w->n_firms, "firm", &o->firm));
    MS_CALL(ms_h5_attr_str(o->h5, "/firm/firm", "description", "firm names: "
                           "the scenario's firms, then start-ups "
                           "(new-MARKET-CATEGORY-K) in the order they "
                           "entered"));
    MS_CALL(ms_h5_var_names_grow(o->h5, "/firm", "home", "firm", MS_NAME_MAX,
                                 o->homes, w->n_firms, "home market",
                                 &o->home));
    MS_CALL(ms_h5_dim_names(o->h5, "/firm", "strategy", ms_strategy_names,
                            MS_N_STRATEGIES, "strategy"));
    MS_CALL(ms_h5_attr_str(o->h5, "/firm/strategy", "description",
                           "strategies, in the order firms carry them out"));

    /* Static market facts. */
    double pop[MS_MAX_MARKETS];
    for (int m = 0; m < w->M; m++)
        pop[m] = (double)(w->m_off[m + 1] - w->m_off[m]) * w->ppa;
    const char *mdim[1] = {"market"};
    ms_h5var *v;
    MS_CALL(ms_h5_var(o->h5, "/market", "population", MS_H5_F64, 1, mdim, 0,
                      "1", "population (people)", &v));
    MS_CALL(ms_h5_attr_str(o->h5, "/market/population", "description",
                           "people represented (agents times "
                           "people_per_agent)"));
    MS_CALL(ms_h5_write(v, pop));
    double *pot = o->buf;
    FOR_MC pot[m * w->C + c] = (double)w->K[m * w->C + c] * w->ppa;
    const char *mcdim[2] = {"market", "category"};
    MS_CALL(ms_h5_var(o->h5, "/market", "potential", MS_H5_F64, 2, mcdim, 0,
                      "1", "potential (people)", &v));
    MS_CALL(ms_h5_attr_str(o->h5, "/market/potential", "description",
                           "people who can ever adopt (kappa N, times "
                           "people_per_agent)"));
    MS_CALL(ms_h5_write(v, pot));
    MS_CALL(ms_h5_group(o->h5, "/events"));
    MS_CALL(ms_h5_events(o->h5, "/events", (size_t)w->cap_ev, "what firms "
                         "did, one row per event", &o->events));
    return MS_OK;
}

static ms_status open_all(ms_output *o, const ms_world *w,
                          const ms_run_info *info)
{
    for (int i = 0; i < N_DEFS; i++) {
        int known = 0;
        for (int k = 0; ms_output_names[k] && !known; k++)
            known = !strcmp(ms_output_names[k], defs[i].name);
        if (!known && !defs[i].always)
            return MS_ERROR(MS_EINTERNAL, "dataset %s is missing from "
                            "ms_output_names", defs[i].name);
    }
    MS_CALL(write_header(o, w, info));
    MS_CALL(write_dims(o, w));
    for (int i = 0; i < N_DEFS; i++) {
        const out_def *d = &defs[i];
        if (!kept(w->sc, d))
            continue;
        const char *dims[5] = {"time"};
        int nd = 1 + shape_dims(d->sh, dims + 1);
        MS_CALL(ms_h5_var(o->h5, d->group, d->name, d->type, nd, dims, 1,
                          d->units, d->long_name, &o->var[i]));
        char path[128];
        ms_outvar_meta m;
        ms_outvar_get(i, &m);
        snprintf(path, sizeof path, "%s/%s", d->group, d->name);
        MS_CALL(ms_output_describe(o->h5, path, &m));
        MS_CALL(ms_h5_attr_str(o->h5, path, "coordinates", "step date"));
    }
    return MS_OK;
}

static ms_status output_alloc(const ms_world *w, ms_output **out);

ms_status ms_output_open(const char *path, const ms_world *w,
                         const ms_run_info *info, ms_output **out)
{
    ms_output *o;
    MS_CALL(output_alloc(w, &o));
    ms_status st = ms_h5_create_swmr(path, &o->h5);
    if (st == MS_OK) {
        /* Records: step 0, every output.every steps, and the last. */
        const int64_t steps = w->sc->run.steps, every = w->sc->output.every;
        ms_h5_record_hint(o->h5, every > 0 ? steps / every + 1 +
                                                 (steps % every != 0)
                                           : 0);
        st = open_all(o, w, info);
    }
    if (st == MS_OK)
        st = ms_h5_flush(o->h5);
    if (st == MS_OK)
        st = ms_h5_start_swmr(o->h5);
    if (st != MS_OK) {
        ms_error_frame(__FILE__, __LINE__, __func__);
        ms_output_discard(&o);
        return st;
    }
    *out = o;
    return MS_OK;
}

ms_status ms_output_snapshot(ms_output *o, void **bytes, size_t *n)
{
    *bytes = NULL;
    *n = 0;
    MS_CALL(ms_h5_flush(o->h5));
    const char *p = ms_h5_write_path(o->h5);
    FILE *f = fopen(p, "rb");
    if (!f)
        return MS_ERROR(MS_EIO, "%s: cannot read back: %s", p, strerror(errno));
    size_t cap = 1 << 20, len = 0;
    char *buf = ms_malloc(cap);
    while (buf) {
        size_t got = fread(buf + len, 1, cap - len, f);
        len += got;
        if (got == 0)
            break;
        if (len == cap) {
            char *nb = ms_realloc(buf, cap *= 2);
            if (!nb)
                ms_free(buf);
            buf = nb;
        }
    }
    int bad = ferror(f);
    fclose(f);
    if (!buf)
        return MS_ERROR(MS_ENOMEM, "out of memory");
    if (bad) {
        ms_free(buf);
        return MS_ERROR(MS_EIO, "%s: cannot read back", p);
    }
    *bytes = buf;
    *n = len;
    return MS_OK;
}

ms_status ms_output_resume(const char *path, const ms_world *w,
                           const void *bytes, size_t n, ms_output **out)
{
    *out = NULL;
    char partial[4200];
    snprintf(partial, sizeof partial, "%s.partial", path);
    FILE *f = fopen(partial, "wb");
    if (!f)
        return MS_ERROR(MS_EIO, "%s: cannot create: %s", partial,
                        strerror(errno));
    int bad = fwrite(bytes, 1, n, f) != n;
    bad |= fclose(f) != 0;
    if (bad) {
        remove(partial);
        return MS_ERROR(MS_EIO, "%s: cannot write: %s", partial,
                        strerror(errno));
    }
    ms_output *o;
    MS_CALL(output_alloc(w, &o));
    ms_status st = ms_h5_open_partial(path, &o->h5);
    const char *groups[2] = {"/market", "/firm"};
    char vp[256];
    for (int g = 0; g < 2 && st == MS_OK; g++) {
        snprintf(vp, sizeof vp, "%s/time", groups[g]);
        st = ms_h5_var_open(o->h5, vp, MS_H5_F64, &o->time[g]);
        snprintf(vp, sizeof vp, "%s/step", groups[g]);
        if (st == MS_OK)
            st = ms_h5_var_open(o->h5, vp, MS_H5_I64, &o->step[g]);
        snprintf(vp, sizeof vp, "%s/date", groups[g]);
        if (st == MS_OK)
            st = ms_h5_var_open(o->h5, vp, MS_H5_F64, &o->date[g]);
    }
    if (st == MS_OK)
        st = ms_h5_var_open(o->h5, "/firm/firm", MS_H5_STR, &o->firm);
    if (st == MS_OK)
        st = ms_h5_var_open(o->h5, "/firm/home", MS_H5_STR, &o->home);
    if (st == MS_OK) {
        int64_t dims[8];
        ms_h5_var_shape(o->firm, dims);
        o->nf = (int)dims[0];
    }
    for (int i = 0; i < N_DEFS && st == MS_OK; i++) {
        if (!kept(w->sc, &defs[i]))
            continue;
        snprintf(vp, sizeof vp, "%s/%s", defs[i].group, defs[i].name);
        st = ms_h5_var_open(o->h5, vp, defs[i].type, &o->var[i]);
    }
    if (st == MS_OK)
        st = ms_h5_events_open(o->h5, "/events", (size_t)w->cap_ev,
                               &o->events);
    if (st == MS_OK) {
        int64_t dims[8];
        ms_h5_var_shape(o->time[0], dims);
        o->rec = dims[0];
        st = ms_h5_start_swmr(o->h5);
    }
    if (st != MS_OK) {
        ms_output_discard(&o);
        return st;
    }
    *out = o;
    return MS_OK;
}

static ms_status output_alloc(const ms_world *w, ms_output **out)
{
    *out = NULL;
    ms_output *o = ms_calloc(1, sizeof *o);
    if (!o)
        return MS_ERROR(MS_ENOMEM, "out of memory");
    size_t big = (size_t)w->F * w->M * w->C;
    if (big < (size_t)w->M * w->C)
        big = (size_t)w->M * w->C;
    o->buf = ms_calloc(big + (size_t)w->F * (w->M + w->C + MS_N_STRATEGIES) +
                           16, sizeof(double));
    o->rows = ms_calloc((size_t)w->cap_ev, sizeof *o->rows);
    o->fnames = ms_calloc((size_t)w->F + 1, sizeof *o->fnames);
    o->homes = ms_calloc((size_t)w->F + 1, sizeof *o->homes);
    if (!o->buf || !o->rows || !o->fnames || !o->homes) {
        ms_output_discard(&o);
        return MS_ERROR(MS_ENOMEM, "out of memory");
    }
    *out = o;
    return MS_OK;
}

ms_status ms_output_record(ms_output *o, const ms_world *w)
{
    double t = w->sc->run.start_year + (double)w->step * w->dt;
    int64_t step = w->step;
    if (w->n_firms > o->nf) {
        /* Start-ups entered: grow the firm dimension (the fill functions
         * lay records out firm first, so a record's first n_firms slabs
         * are the firms that exist). */
        fill_firm_names(o, w);
        MS_CALL(ms_h5_names_append(o->firm, o->fnames, w->n_firms));
        MS_CALL(ms_h5_names_append(o->home, o->homes, w->n_firms));
        for (int i = 0; i < N_DEFS; i++)
            if (o->var[i] && !strcmp(defs[i].group, "/firm"))
                MS_CALL(ms_h5_extend(o->var[i], 1, w->n_firms));
        o->nf = w->n_firms;
    }
    /* Data first, the time coordinates last: a reader following the file
     * sees a record once its time is there. */
    for (int i = 0; i < N_DEFS; i++) {
        if (!o->var[i])
            continue;
        defs[i].fill(w, o->buf);
        MS_CALL(ms_h5_write_record(o->var[i], o->rec, o->buf));
    }
    /* Whole seconds, so that dates decode exactly. */
    double secs = round(ms_output_days(w->sc->run.start_year, t) * 86400);
    for (int g = 0; g < 2; g++) {
        MS_CALL(ms_h5_write_record(o->step[g], o->rec, &step));
        MS_CALL(ms_h5_write_scalar_record(o->date[g], o->rec, secs));
        MS_CALL(ms_h5_write_scalar_record(o->time[g], o->rec, t));
    }
    o->rec++;
    /* Readers following the file see what was flushed; flushing every
     * record of a fast run would cost more than the run, so at most
     * twice a second. */
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    double sec = (double)now.tv_sec + 1e-9 * (double)now.tv_nsec;
    if (sec - o->flushed < 0.5)
        return MS_OK;
    o->flushed = sec;
    return ms_h5_flush_records(o->h5);
}

ms_status ms_output_events(ms_output *o, const ms_world *w)
{
    const ms_scenario *sc = w->sc;
    for (int i = 0; i < w->n_ev; i++) {
        const ms_event *e = &w->ev[i];
        ms_h5_event_row *r = &o->rows[i];
        memset(r, 0, sizeof *r);
        r->step = e->step;
        r->time = sc->run.start_year + (double)(e->step + 1) * w->dt;
        snprintf(r->kind, sizeof r->kind, "%s", ms_event_names[e->kind]);
        r->actor_id = e->actor;
        r->target_id = e->target;
        r->market_id = e->market;
        r->category_id = e->category;
        if (e->actor >= 0)
            snprintf(r->actor, sizeof r->actor, "%s", w->fname[e->actor]);
        if (e->target >= 0)
            snprintf(r->target, sizeof r->target, "%s", w->fname[e->target]);
        if (e->market >= 0)
            snprintf(r->market, sizeof r->market, "%s",
                     sc->markets[e->market].name);
        if (e->category >= 0)
            snprintf(r->category, sizeof r->category, "%s",
                     sc->categories[e->category].name);
        r->amount = e->amount;
    }
    return ms_h5_events_append(o->events, o->rows, (size_t)w->n_ev);
}

static ms_status write_targets(ms_output *o, const ms_world *w)
{
    const ms_scenario *sc = w->sc;
    const int n = sc->n_targets;
    ms_h5 *h = o->h5;
    const char **ids = ms_calloc((size_t)n, sizeof *ids);
    const char **meas = ms_calloc((size_t)n, sizeof *meas);
    const char **desc = ms_calloc((size_t)n, sizeof *desc);
    const char **unit = ms_calloc((size_t)n, sizeof *unit);
    char *texts = ms_calloc((size_t)n, 512);
    double *sim = ms_calloc((size_t)n, sizeof *sim);
    double *exp_ = ms_calloc((size_t)n, sizeof *exp_);
    double *tol = ms_calloc((size_t)n * 3, sizeof *tol);
    double *lo = tol ? tol + n : NULL, *hi = tol ? tol + 2 * n : NULL;
    int8_t *pass = ms_calloc((size_t)n, sizeof *pass);
    ms_status st = ids && meas && desc && unit && texts && sim && exp_ && tol &&
                           pass
                       ? MS_OK
                       : MS_ERROR(MS_ENOMEM, "out of memory");
    if (st == MS_OK) {
        ms_targets_results(w, sim);
        for (int i = 0; i < n; i++) {
            const ms_target *t = &sc->targets[i];
            ids[i] = t->figure;
            ms_measure_text(sc, &t->m, texts + (size_t)i * 512, 512);
            meas[i] = texts + (size_t)i * 512;
            desc[i] = t->description ? t->description : "";
            unit[i] = ms_measure_unit(&t->m);
            exp_[i] = t->expected;
            tol[i] = t->tolerance;
            lo[i] = t->lo;
            hi[i] = t->hi;
            pass[i] = isnan(sim[i]) ? -1 : ms_target_pass(t, sim[i]);
        }
        st = ms_h5_group(h, "/targets");
    }
    if (st == MS_OK)
        st = ms_h5_dim_names(h, "/targets", "target", ids, n,
                             "figure id in seeds/figures.yaml");
    if (st == MS_OK)
        st = ms_h5_var_names(h, "/targets", "measure", "target", meas, n,
                             "what is measured, where and when");
    if (st == MS_OK)
        st = ms_h5_var_names(h, "/targets", "description", "target", desc, n,
                             "the target's description");
    if (st == MS_OK)
        st = ms_h5_var_names(h, "/targets", "unit", "target", unit, n,
                             "unit of expected, simulated and tolerance");
    const char *td[1] = {"target"};
    ms_h5var *v;
    if (st == MS_OK)
        st = ms_h5_var(h, "/targets", "expected", MS_H5_F64, 1, td, 0, "-",
                       "value from the seed figure (NaN for a bound)", &v);
    if (st == MS_OK)
        st = ms_h5_write(v, exp_);
    if (st == MS_OK)
        st = ms_h5_var(h, "/targets", "simulated", MS_H5_F64, 1, td, 0, "-",
                       "value in this run (NaN: its time was not reached)", &v);
    if (st == MS_OK)
        st = ms_h5_write(v, sim);
    if (st == MS_OK)
        st = ms_h5_var(h, "/targets", "tolerance", MS_H5_F64, 1, td, 0, "-",
                       "largest accepted |simulated - expected| (NaN for a "
                       "bound)", &v);
    if (st == MS_OK)
        st = ms_h5_write(v, tol);
    if (st == MS_OK)
        st = ms_h5_var(h, "/targets", "min", MS_H5_F64, 1, td, 0, "-",
                       "smallest accepted value (expected - tolerance, or the "
                       "bound min; -inf: none)", &v);
    if (st == MS_OK)
        st = ms_h5_write(v, lo);
    if (st == MS_OK)
        st = ms_h5_var(h, "/targets", "max", MS_H5_F64, 1, td, 0, "-",
                       "largest accepted value (expected + tolerance, or the "
                       "bound max; inf: none)", &v);
    if (st == MS_OK)
        st = ms_h5_write(v, hi);
    if (st == MS_OK)
        st = ms_h5_var(h, "/targets", "pass", MS_H5_I8, 1, td, 0, "1",
                       "1 within [min, max], 0 missed, -1 not computed", &v);
    if (st == MS_OK)
        st = ms_h5_write(v, pass);
    ms_free(ids);
    ms_free(meas);
    ms_free(desc);
    ms_free(unit);
    ms_free(texts);
    ms_free(sim);
    ms_free(exp_);
    ms_free(tol);
    ms_free(pass);
    return st;
}

ms_status ms_output_finish(ms_output **op, const ms_world *w,
                           const char *status, double wall_seconds,
                           int keep_partial)
{
    ms_output *o = *op;
    /* Leave single-writer mode to write attributes and new groups. */
    ms_status st = ms_h5_reopen(o->h5);
    if (st == MS_OK)
        st = ms_h5_attr_str(o->h5, "/", "status", status);
    if (st == MS_OK)
        st = ms_h5_attr_i64(o->h5, "/", "steps_done", w->step);
    if (st == MS_OK)
        st = ms_h5_attr_i64(o->h5, "/", "entrants", w->entrants);
    if (st == MS_OK)
        st = ms_h5_attr_i64(o->h5, "/", "entrants_dropped",
                            w->entrants_dropped);
    if (st == MS_OK)
        st = ms_h5_attr_i64(o->h5, "/", "events_dropped", w->ev_dropped);
    if (st == MS_OK && w->sc->n_targets)
        st = write_targets(o, w);
    if (st == MS_OK)
        st = ms_h5_attr_f64(o->h5, "/", "wall_seconds", wall_seconds);
    /* Phase timers. */
    int np = ms_world_phase_count();
    const char *names[MS_MAX_PHASES];
    double sec[MS_MAX_PHASES];
    for (int i = 0; i < np; i++) {
        names[i] = ms_world_phase_name(i);
        sec[i] = ms_world_phase_seconds(w, i);
    }
    if (st == MS_OK)
        st = ms_h5_group(o->h5, "/timers");
    if (st == MS_OK)
        st = ms_h5_dim_names(o->h5, "/timers", "phase", names, np,
                             "phase of a step");
    ms_h5var *v = NULL;
    const char *pd[1] = {"phase"};
    if (st == MS_OK)
        st = ms_h5_var(o->h5, "/timers", "seconds", MS_H5_F64, 1, pd, 0, "s",
                       "wall time spent in the phase over the run", &v);
    if (st == MS_OK)
        st = ms_h5_write(v, sec);
    if (st != MS_OK) {
        ms_output_discard(op);
        return st;
    }
    st = ms_h5_close(&o->h5, keep_partial ? MS_H5_KEEP_PARTIAL : 1);
    ms_free(o->buf);
    ms_free(o->rows);
    ms_free(o->fnames);
    ms_free(o->homes);
    ms_free(o);
    *op = NULL;
    return st;
}

void ms_output_discard(ms_output **op)
{
    if (!op || !*op)
        return;
    ms_output *o = *op;
    ms_h5_close(&o->h5, 0);
    ms_free(o->buf);
    ms_free(o->rows);
    ms_free(o->fnames);
    ms_free(o->homes);
    ms_free(o);
    *op = NULL;
}
