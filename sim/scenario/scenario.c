/*
 * scenario.c: YAML tree -> validated ms_scenario.
 *
 * The reader walks the tree against the parameter table (params.c) and
 * collects every problem it finds, each as "FILE:LINE:COL: error: KEY: what
 * is wrong; what is allowed", so a user fixes a file in one pass. Only a
 * scenario without a single problem is returned.
 *
 * Order of reading: the names of markets and categories first (other
 * sections refer to them), then every record, then the checks that span
 * records (hosts, launches, cultural distances, sizes).
 */
#include "scenario/scenario_int.h"
#include "scenario/yamltree.h"

#include "base/ms_text.h"
#include "marketsim/ms_alloc.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#define MAX_ERRORS 30
#define MAX_AGENTS 281474976710656.0 /* 2^48 consumer ids (ms_rng.h) */

const char *const ms_output_names[] = {
    "adopters", "gmv", "hhi", "foreign_share", "users", "revenue", "costs",
    "cash", "value", "quality", "localization", "presence", "owner",
    "group_revenue", "abroad_share", "weights", NULL};

static const char *const top_keys[] = {"description", "run", "model",
                                       "output", "markets", "categories",
                                       "firms", "targets", NULL};

typedef struct reader {
    ms_scenario *s;
    char *errs;
    size_t len, cap;
    int n_errs;
    ms_status fatal; /* out of memory while reading */
} reader;

static void diag(reader *r, const ms_ynode *at, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void diag(reader *r, const ms_ynode *at, const char *fmt, ...)
{
    if (r->fatal != MS_OK)
        return;
    r->n_errs++;
    if (r->n_errs > MAX_ERRORS)
        return;
    char where[512], msg[1536];
    ms_ynode_where(at, where, sizeof where);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    size_t need = strlen(where) + strlen(msg) + 16;
    if (r->len + need + 1 > r->cap) {
        size_t nc = (r->cap + need) * 2;
        char *p = ms_realloc(r->errs, nc);
        if (!p) {
            r->fatal = MS_ENOMEM;
            return;
        }
        r->errs = p;
        r->cap = nc;
    }
    r->len += (size_t)snprintf(r->errs + r->len, r->cap - r->len,
                               "%s%s: error: %s", r->len ? "\n" : "", where,
                               msg);
}

static void *alloc_or_fail(reader *r, size_t n, size_t size)
{
    void *p = ms_calloc(n ? n : 1, size);
    if (!p)
        r->fatal = MS_ENOMEM;
    return p;
}

/* ---- small helpers ---- */

static void join_names(char *buf, size_t size, const char *const *names,
                       int n)
{
    size_t len = 0;
    buf[0] = '\0';
    for (int i = 0; i < n && len + 4 < size; i++)
        len += (size_t)snprintf(buf + len, size - len, "%s%s", i ? ", " : "",
                                names[i]);
}

static int valid_name(const char *s)
{
    if (!isalpha((unsigned char)s[0]))
        return 0;
    size_t n = 0;
    for (const char *p = s; *p; p++, n++)
        if (!isalnum((unsigned char)*p) && *p != '_' && *p != '-')
            return 0;
    return n < MS_NAME_MAX;
}

static const char *kind_name(const ms_ynode *n)
{
    switch (n->kind) {
    case MS_YNODE_MAP: return "a mapping";
    case MS_YNODE_SEQ: return "a list";
    default: return "a value";
    }
}

static int is_null(const ms_ynode *n)
{
    return n->kind == MS_YNODE_SCALAR && n->plain &&
           (n->value[0] == '\0' || strcmp(n->value, "~") == 0 ||
            strcmp(n->value, "null") == 0 || strcmp(n->value, "Null") == 0 ||
            strcmp(n->value, "NULL") == 0);
}

/* Parse a finite number: decimal or scientific, or a fraction "a/b". */
static int parse_real(const char *t, double *out)
{
    char *end;
    while (isspace((unsigned char)*t))
        t++;
    if (*t == '\0')
        return 0;
    errno = 0;
    double v = strtod(t, &end);
    if (end == t)
        return 0;
    if (*end == '/') {
        char *end2;
        double d = strtod(end + 1, &end2);
        if (end2 == end + 1 || d == 0)
            return 0;
        v /= d;
        end = end2;
    }
    while (isspace((unsigned char)*end))
        end++;
    if (*end != '\0' || !isfinite(v) || errno == ERANGE)
        return 0;
    /* strtod also reads "nan", "inf" and hex; refuse words. */
    for (const char *p = t; p < end; p++)
        if (isalpha((unsigned char)*p) && *p != 'e' && *p != 'E')
            return 0;
    *out = v;
    return 1;
}

static void fmt_bound(char *buf, size_t size, double v)
{
    if (v == HUGE_VAL)
        snprintf(buf, size, "inf");
    else if (v == -HUGE_VAL)
        snprintf(buf, size, "-inf");
    else
        snprintf(buf, size, "%g", v);
}

static void range_text(char *buf, size_t size, const ms_param *p)
{
    char lo[32], hi[32];
    fmt_bound(lo, sizeof lo, p->lo);
    fmt_bound(hi, sizeof hi, p->hi);
    snprintf(buf, size, "%c%s, %s%c",
             (p->flags & MS_PF_LO_OPEN) || p->lo == -HUGE_VAL ? '(' : '[', lo,
             hi, (p->flags & MS_PF_HI_OPEN) || p->hi == HUGE_VAL ? ')' : ']');
}

static int in_range(const ms_param *p, double v)
{
    if ((p->flags & MS_PF_LO_OPEN) ? !(v > p->lo) : !(v >= p->lo))
        return 0;
    if ((p->flags & MS_PF_HI_OPEN) ? !(v < p->hi) : !(v <= p->hi))
        return 0;
    return 1;
}

/* A number for parameter p at node n (context path ctx); 1 on success. */
static int read_number(reader *r, const ms_ynode *n, const ms_param *p,
                       const char *ctx, double *out)
{
    char rng[160];
    range_text(rng, sizeof rng, p);
    if (strcmp(p->unit, "-") != 0) /* "-": a pure number */
        snprintf(rng + strlen(rng), sizeof rng - strlen(rng), " (%s)",
                 p->unit);
    if (n->kind != MS_YNODE_SCALAR) {
        diag(r, n, "%s: expected a number in %s, got %s", ctx, rng,
             kind_name(n));
        return 0;
    }
    double v;
    if (!parse_real(n->value, &v)) {
        diag(r, n, "%s: expected a finite number in %s, got '%s'", ctx, rng,
             n->value);
        return 0;
    }
    if (!in_range(p, v)) {
        diag(r, n, "%s: %s is out of range; allowed %s", ctx, n->value, rng);
        return 0;
    }
    *out = v;
    return 1;
}

/* ---- names of markets and categories ---- */

typedef struct names {
    const char *const *v; /* borrowed from the tree */
    int n;
} names;

static int find_name(const names *nm, const char *s)
{
    for (int i = 0; i < nm->n; i++)
        if (strcmp(nm->v[i], s) == 0)
            return i;
    return -1;
}

static void unknown_name(reader *r, const ms_ynode *at, const char *ctx,
                         const char *what, const char *got, const names *nm)
{
    char sug[128], all[512];
    ms_suggest(sug, sizeof sug, got, nm->v, nm->n);
    join_names(all, sizeof all, nm->v, nm->n);
    size_t len = strlen(what);
    int y = len > 0 && what[len - 1] == 'y'; /* category -> categories */
    diag(r, at, "%s: unknown %s '%s'%s (the %.*s%s are: %s)", ctx, what, got,
         sug, (int)(len - (size_t)y), what, y ? "ies" : "s", all);
}

typedef struct ctxt {
    reader *r;
    names markets, categories, strategies;
} ctxt;

/* ---- one parameter ---- */

static void read_param(ctxt *c, const ms_param *p, void *base,
                       const ms_ynode *n, const char *rec)
{
    reader *r = c->r;
    char ctx[256];
    snprintf(ctx, sizeof ctx, "%s%s%s", rec, rec[0] ? "." : "", p->name);
    char *field = (char *)base + p->offset;
    int M = c->markets.n, C = c->categories.n;

    switch (p->type) {
    case MS_P_REAL:
        *(double *)field = p->def;
        if (n && !((p->flags & MS_PF_NAN_OK) && is_null(n)))
            read_number(r, n, p, ctx, (double *)field);
        break;
    case MS_P_INT: {
        double v = p->def;
        if (n && read_number(r, n, p, ctx, &v) && v != floor(v)) {
            diag(r, n, "%s: expected a whole number, got '%s'", ctx,
                 n->value);
        }
        *(int64_t *)field = (int64_t)v;
        break;
    }
    case MS_P_SEED: {
        uint64_t v = (uint64_t)p->def;
        if (n) {
            char *end;
            errno = 0;
            const char *t = n->kind == MS_YNODE_SCALAR ? n->value : "";
            unsigned long long u = strtoull(t, &end, 10);
            if (n->kind != MS_YNODE_SCALAR)
                diag(r, n, "%s: expected a whole number in [0, 2^64 - 1], "
                     "got %s", ctx, kind_name(n));
            else if (end == t || *end != '\0' || errno == ERANGE ||
                     !isdigit((unsigned char)t[0]))
                diag(r, n, "%s: expected a whole number in [0, 2^64 - 1], "
                     "got '%s'", ctx, t);
            else
                v = u;
        }
        *(uint64_t *)field = v;
        break;
    }
    case MS_P_BOOL: {
        int v = (int)p->def;
        if (n) {
            const char *t = n->kind == MS_YNODE_SCALAR ? n->value : "";
            if (!strcmp(t, "true") || !strcmp(t, "yes") || !strcmp(t, "on") ||
                !strcmp(t, "True"))
                v = 1;
            else if (!strcmp(t, "false") || !strcmp(t, "no") ||
                     !strcmp(t, "off") || !strcmp(t, "False"))
                v = 0;
            else if (n->kind != MS_YNODE_SCALAR)
                diag(r, n, "%s: expected true or false, got %s", ctx,
                     kind_name(n));
            else
                diag(r, n, "%s: expected true or false, got '%s'", ctx, t);
        }
        *(int *)field = v;
        break;
    }
    case MS_P_MARKET:
    case MS_P_CATEGORY: {
        const names *nm = p->type == MS_P_MARKET ? &c->markets : &c->categories;
        const char *what = p->type == MS_P_MARKET ? "market" : "category";
        /* No default (home is required, its def is NaN): -1, not the
         * undefined (int)NaN. */
        int v = isnan(p->def) ? -1 : (int)p->def;
        if (n) {
            if (p->type == MS_P_CATEGORY &&
                (is_null(n) || (n->kind == MS_YNODE_SCALAR &&
                                strcmp(n->value, "none") == 0)))
                v = -1;
            else if (n->kind != MS_YNODE_SCALAR)
                diag(r, n, "%s: expected a %s name, got %s", ctx, what,
                     kind_name(n));
            else if ((v = find_name(nm, n->value)) < 0)
                unknown_name(r, n, ctx, what, n->value, nm);
        }
        *(int *)field = v;
        break;
    }
    case MS_P_ENUM: {
        int v = (int)p->def;
        if (n) {
            const char *t = n->kind == MS_YNODE_SCALAR ? n->value : "";
            int idx = 0, found = -1;
            for (const char *q = p->choices; q && *q; idx++) {
                size_t len = strcspn(q, "|");
                if (strlen(t) == len && strncmp(q, t, len) == 0)
                    found = idx;
                q += len + (q[len] == '|');
            }
            if (found < 0)
                diag(r, n, "%s: expected one of %s, got %s%s%s", ctx,
                     p->choices, n->kind == MS_YNODE_SCALAR ? "'" : "",
                     n->kind == MS_YNODE_SCALAR ? t : kind_name(n),
                     n->kind == MS_YNODE_SCALAR ? "'" : "");
            else
                v = found;
        }
        *(int *)field = v;
        break;
    }
    case MS_P_BY_MARKET:
    case MS_P_BY_CATEGORY:
    case MS_P_BY_STRATEGY: {
        int by_market = p->type == MS_P_BY_MARKET;
        int by_strategy = p->type == MS_P_BY_STRATEGY;
        const names *nm = by_market     ? &c->markets
                          : by_strategy ? &c->strategies
                                        : &c->categories;
        int len = by_market ? M : by_strategy ? MS_N_STRATEGIES : C;
        double *arr = alloc_or_fail(r, (size_t)len, sizeof *arr);
        *(double **)field = arr;
        if (!arr)
            return;
        /* A strategy mix given as a map leaves out the strategies at 0. */
        for (int i = 0; i < len; i++)
            arr[i] = by_strategy && n ? 0 : p->def;
        if (!n)
            break;
        if (n->kind == MS_YNODE_SCALAR && by_market) {
            double v;
            if (read_number(r, n, p, ctx, &v))
                for (int i = 0; i < len; i++)
                    arr[i] = v;
        } else if (n->kind != MS_YNODE_MAP) {
            diag(r, n, "%s: expected %s{%s: number, ...}, got %s", ctx,
                 by_market ? "one number for all markets or " : "",
                 by_market ? "market" : by_strategy ? "strategy" : "category",
                 kind_name(n));
        } else {
            for (size_t k = 0; k < n->n; k++) {
                char sub[320];
                snprintf(sub, sizeof sub, "%s.%s", ctx, n->keys[k]);
                int idx = find_name(nm, n->keys[k]);
                if (idx < 0)
                    unknown_name(r, n->key_nodes[k], ctx,
                                 by_market     ? "market"
                                 : by_strategy ? "strategy"
                                               : "category",
                                 n->keys[k], nm);
                else if (!((p->flags & MS_PF_NAN_OK) && is_null(n->items[k])))
                    read_number(r, n->items[k], p, sub, &arr[idx]);
            }
        }
        break;
    }
    case MS_P_MARKET_SET:
    case MS_P_CATEGORY_SET: {
        int is_m = p->type == MS_P_MARKET_SET;
        const names *nm = is_m ? &c->markets : &c->categories;
        const char *what = is_m ? "market" : "category";
        int len = is_m ? M : C;
        double *arr = alloc_or_fail(r, (size_t)len, sizeof *arr);
        *(double **)field = arr;
        if (!arr || !n)
            break;
        if (n->kind == MS_YNODE_SCALAR && !is_null(n)) {
            int idx = find_name(nm, n->value);
            if (idx < 0)
                unknown_name(r, n, ctx, what, n->value, nm);
            else
                arr[idx] = 1;
        } else if (n->kind == MS_YNODE_SEQ) {
            for (size_t k = 0; k < n->n; k++) {
                const ms_ynode *it = n->items[k];
                if (it->kind != MS_YNODE_SCALAR) {
                    diag(r, it, "%s: expected %s names, got %s", ctx, what,
                         kind_name(it));
                    continue;
                }
                int idx = find_name(nm, it->value);
                if (idx < 0)
                    unknown_name(r, it, ctx, what, it->value, nm);
                else if (arr[idx])
                    diag(r, it, "%s: %s '%s' is listed twice", ctx, what,
                         it->value);
                else
                    arr[idx] = 1;
            }
        } else if (!is_null(n)) {
            diag(r, n, "%s: expected a list of %s names like [A, B], got %s",
                 ctx, what, kind_name(n));
        }
        break;
    }
    case MS_P_NAME_LIST: {
        char ***list = (char ***)field;
        int *count = (int *)(field + sizeof(char **));
        *list = NULL;
        *count = 0;
        if (!n || is_null(n))
            break;
        if (n->kind != MS_YNODE_SEQ) {
            diag(r, n, "%s: expected a list of names like [a, b], got %s",
                 ctx, kind_name(n));
            break;
        }
        *list = alloc_or_fail(r, n->n, sizeof(char *));
        if (!*list)
            break;
        for (size_t k = 0; k < n->n; k++) {
            const ms_ynode *it = n->items[k];
            if (it->kind != MS_YNODE_SCALAR) {
                diag(r, it, "%s: expected names, got %s", ctx, kind_name(it));
                continue;
            }
            (*list)[*count] = ms_strdup(it->value);
            if (!(*list)[*count])
                r->fatal = MS_ENOMEM;
            else
                (*count)++;
        }
        break;
    }
    }
}

/* Read one record (a mapping of parameters) of a section; `key` is the
 * record's key node (its name in the file), where missing keys are reported. */
static void read_record(ctxt *c, ms_section sec, void *base,
                        const ms_ynode *key, const ms_ynode *map,
                        const char *rec)
{
    reader *r = c->r;
    int wrong_kind = 0;
    if (map && map->kind != MS_YNODE_MAP && !is_null(map)) {
        diag(r, map, "%s: expected a mapping of parameters (key: value), "
             "got %s", rec, kind_name(map));
        wrong_kind = 1;
    }
    if (map && map->kind != MS_YNODE_MAP)
        map = NULL;
    const char *known[128];
    int nk = 0;
    for (int i = 0; i < ms_param_count; i++) {
        const ms_param *p = &ms_param_table[i];
        if (p->section != sec)
            continue;
        known[nk++] = p->name;
        const ms_ynode *n = map ? ms_ynode_get(map, p->name) : NULL;
        if (!n && (p->flags & MS_PF_REQUIRED) && !wrong_kind)
            diag(r, key ? key : map, "%s: missing required key '%s' "
                 "(%s%s%s)", rec, p->name, p->help,
                 p->unit[0] != '-' ? ", in " : "",
                 p->unit[0] != '-' ? p->unit : "");
        read_param(c, p, base, n, rec);
    }
    if (!map)
        return;
    for (size_t k = 0; k < map->n; k++) {
        int ok = 0;
        for (int i = 0; i < nk && !ok; i++)
            ok = strcmp(known[i], map->keys[k]) == 0;
        if (ok)
            continue;
        char sug[128], all[1024];
        ms_suggest(sug, sizeof sug, map->keys[k], known, nk);
        join_names(all, sizeof all, known, nk);
        diag(r, map->key_nodes[k], "%s: unknown key '%s'%s (allowed: %s)",
             rec, map->keys[k], sug, all);
    }
}

/* ---- destroy ---- */

static void free_record(ms_section sec, void *base)
{
    for (int i = 0; i < ms_param_count; i++) {
        const ms_param *p = &ms_param_table[i];
        if (p->section != sec)
            continue;
        char *field = (char *)base + p->offset;
        switch (p->type) {
        case MS_P_BY_MARKET:
        case MS_P_BY_CATEGORY:
        case MS_P_BY_STRATEGY:
        case MS_P_MARKET_SET:
        case MS_P_CATEGORY_SET:
            ms_free(*(double **)field);
            *(double **)field = NULL;
            break;
        case MS_P_NAME_LIST: {
            char **list = *(char ***)field;
            int n = *(int *)(field + sizeof(char **));
            for (int k = 0; k < n; k++)
                ms_free(list[k]);
            ms_free(list);
            break;
        }
        default:
            break;
        }
    }
}

void ms_scenario_destroy(ms_scenario **sp)
{
    if (!sp || !*sp)
        return;
    ms_scenario *s = *sp;
    free_record(MS_SEC_OUTPUT, &s->output);
    for (int i = 0; s->markets && i < s->n_markets; i++) {
        free_record(MS_SEC_MARKET, &s->markets[i]);
        ms_free(s->markets[i].name);
    }
    for (int i = 0; s->categories && i < s->n_categories; i++) {
        free_record(MS_SEC_CATEGORY, &s->categories[i]);
        ms_free(s->categories[i].name);
    }
    for (int i = 0; s->firms && i < s->n_firms; i++) {
        free_record(MS_SEC_FIRM, &s->firms[i]);
        ms_free(s->firms[i].name);
    }
    ms_free(s->markets);
    ms_free(s->categories);
    ms_free(s->firms);
    ms_free(s->cd);
    ms_targets_free(s);
    ms_free(s->source);
    ms_free(s->description);
    ms_free(s);
    *sp = NULL;
}

/* ---- cross-record checks ---- */

static int share_ranks = 1;

void ms_scenario_set_ranks(int ranks)
{
    share_ranks = ranks > 1 ? ranks : 1;
}

double ms_scenario_usable_memory(void)
{
    long pages = sysconf(_SC_PHYS_PAGES), psize = sysconf(_SC_PAGE_SIZE);
    double mem = pages > 0 && psize > 0 ? (double)pages * psize : 0;
    /* A limit on this process (ulimit -v, -d) or its cgroup (a container,
     * a Slurm job) is what it may really use. */
    struct rlimit rl;
    if (getrlimit(RLIMIT_AS, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY &&
        (mem == 0 || (double)rl.rlim_cur < mem))
        mem = (double)rl.rlim_cur;
    if (getrlimit(RLIMIT_DATA, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY &&
        (mem == 0 || (double)rl.rlim_cur < mem))
        mem = (double)rl.rlim_cur;
    FILE *f = fopen("/sys/fs/cgroup/memory.max", "r");
    if (f) {
        double lim;
        if (fscanf(f, "%lf", &lim) == 1 && lim > 0 && (mem == 0 || lim < mem))
            mem = lim;
        fclose(f);
    }
    return mem;
}

static double kogut_singh(const ms_scenario *s, int a, int b)
{
    const ms_market_spec *x = &s->markets[a], *y = &s->markets[b];
    const ms_model_spec *m = &s->model;
    double d = (x->pdi - y->pdi) * (x->pdi - y->pdi) / m->var_pdi +
               (x->idv - y->idv) * (x->idv - y->idv) / m->var_idv +
               (x->mas - y->mas) * (x->mas - y->mas) / m->var_mas +
               (x->uai - y->uai) * (x->uai - y->uai) / m->var_uai;
    return d / 4;
}

static int has_scores(const ms_market_spec *m)
{
    return !isnan(m->pdi) && !isnan(m->idv) && !isnan(m->mas) &&
           !isnan(m->uai);
}

static void resolve_distances(ctxt *c, const ms_ynode *mroot)
{
    reader *r = c->r;
    ms_scenario *s = r->s;
    int M = s->n_markets;
    s->cd = alloc_or_fail(r, (size_t)M * M, sizeof *s->cd);
    if (!s->cd)
        return;
    /* Which (home, market) pairs matter: homes of firms, to every market. */
    int home_used[MS_MAX_MARKETS] = {0};
    for (int f = 0; f < s->n_firms; f++)
        if (s->firms[f].home >= 0)
            home_used[s->firms[f].home] = 1;
    for (int a = 0; a < M; a++)
        for (int b = 0; b < M; b++) {
            if (a == b) {
                s->cd[a * M + b] = 0;
                continue;
            }
            double ab = s->markets[a].distance ? s->markets[a].distance[b] : NAN;
            double ba = s->markets[b].distance ? s->markets[b].distance[a] : NAN;
            const ms_ynode *mn = ms_ynode_get(mroot, s->markets[a].name);
            const ms_ynode *mk = ms_ynode_key_node(mroot, s->markets[a].name);
            const ms_ynode *at = ms_ynode_get(mn, "distance");
            const ms_ynode *atb = ms_ynode_get(at, s->markets[b].name);
            if (!isnan(ab) && !isnan(ba) && ab != ba && a < b)
                diag(r, atb ? atb : at ? at : mk,
                     "markets.%s.distance.%s: %g, but markets.%s.distance.%s "
                     "is %g; cultural distance is symmetric, give it once",
                     s->markets[a].name, s->markets[b].name, ab,
                     s->markets[b].name, s->markets[a].name, ba);
            double v = !isnan(ab) ? ab : ba;
            if (isnan(v)) {
                if (has_scores(&s->markets[a]) && has_scores(&s->markets[b])) {
                    v = kogut_singh(s, a, b);
                    if (!isfinite(v) && a < b)
                        diag(r, mk, "markets.%s: the cultural distance to "
                             "'%s' from the Hofstede scores is %g: a "
                             "variance model.var_pdi, var_idv, var_mas or "
                             "var_uai is too small; raise it, or set "
                             "markets.%s.distance: {%s: number}",
                             s->markets[a].name, s->markets[b].name, v,
                             s->markets[a].name, s->markets[b].name);
                }
                else if ((home_used[a] || home_used[b]) && a < b)
                    diag(r, mk,
                         "markets.%s: no cultural distance to '%s': give "
                         "both markets Hofstede scores (pdi, idv, mas, uai) "
                         "or set markets.%s.distance: {%s: number}",
                         s->markets[a].name, s->markets[b].name,
                         s->markets[a].name, s->markets[b].name);
            }
            s->cd[a * M + b] = isnan(v) ? 0 : v;
        }
}

static void check_records(ctxt *c, const ms_ynode *root)
{
    reader *r = c->r;
    ms_scenario *s = r->s;
    const ms_ynode *croot = ms_ynode_get(root, "categories");
    const ms_ynode *froot = ms_ynode_get(root, "firms");
    const ms_ynode *mroot = ms_ynode_get(root, "markets");

    for (int k = 0; k < s->n_categories; k++) {
        ms_category_spec *cs = &s->categories[k];
        const ms_ynode *cn = ms_ynode_get(croot, cs->name);
        const ms_ynode *hn = ms_ynode_get(cn, "host");
        if (cs->host == k)
            diag(r, hn, "categories.%s.host: a category cannot host itself",
                 cs->name);
        else if (cs->host >= 0 && s->categories[cs->host].host >= 0)
            diag(r, hn, "categories.%s.host: '%s' is itself hosted by '%s'; "
                 "a host must be a top-level category", cs->name,
                 s->categories[cs->host].name,
                 s->categories[s->categories[cs->host].host].name);
        if (cs->host < 0 && cs->p_feature > 0)
            diag(r, ms_ynode_get(cn, "p_feature"),
                 "categories.%s.p_feature: only a hosted format can be "
                 "featured; set categories.%s.host too", cs->name, cs->name);
    }

    for (int m = 0; m < s->n_markets; m++) {
        const ms_market_spec *ms = &s->markets[m];
        double agents = floor(ms->population / s->run.people_per_agent + 0.5);
        if (agents < 1)
            diag(r, ms_ynode_get(ms_ynode_get(mroot, ms->name), "population"),
                 "markets.%s.population: %g people at %g people per agent "
                 "make no consumer agent; lower run.people_per_agent",
                 ms->name, ms->population, s->run.people_per_agent);
    }

    for (int f = 0; f < s->n_firms; f++) {
        ms_firm_spec *fs = &s->firms[f];
        const ms_ynode *fn = ms_ynode_get(froot, fs->name);
        if (fs->home < 0 || !fs->quality)
            continue;
        int offers = 0;
        for (int k = 0; k < s->n_categories; k++)
            offers += !isnan(fs->quality[k]);
        if (!offers && ms_ynode_get(fn, "quality"))
            diag(r, ms_ynode_get(fn, "quality"),
                 "firms.%s.quality: give the log-quality of at least one "
                 "category the firm offers, e.g. {%s: 0}", fs->name,
                 s->categories[0].name);
        const ms_ynode *ln = ms_ynode_get(ms_ynode_get(fn, "localization"),
                                          s->markets[fs->home].name);
        if (ln && fs->localization[fs->home] != 1)
            diag(r, ln, "firms.%s.localization.%s: L is always 1 in the home "
                 "market", fs->name, s->markets[fs->home].name);
        fs->localization[fs->home] = 1;
        fs->present[fs->home] = 1;
        for (int k = 0; k < s->n_categories; k++) {
            if (!fs->launched[k])
                continue;
            const ms_ynode *at = ms_ynode_get(fn, "launched");
            int h = s->categories[k].host;
            if (h < 0)
                diag(r, at, "firms.%s.launched: '%s' has no host category, so "
                     "it cannot be launched as a format", fs->name,
                     s->categories[k].name);
            else if (isnan(fs->quality[k]) || isnan(fs->quality[h]))
                diag(r, at, "firms.%s.launched: to launch '%s' the firm must "
                     "offer it and its host '%s' (give both in quality)",
                     fs->name, s->categories[k].name, s->categories[h].name);
        }
    }
    for (int f = 0; f < s->n_firms; f++) {
        const ms_firm_spec *fs = &s->firms[f];
        if (!fs->weights)
            continue;
        double sum = 0;
        for (int k = 0; k < MS_N_STRATEGIES; k++)
            sum += fs->weights[k];
        if (fabs(sum - 1) > 1e-6)
            diag(r, ms_ynode_get(ms_ynode_get(froot, fs->name), "strategy"),
                 "firms.%s.strategy: the weights must sum to 1 (they sum to "
                 "%.6g); strategies are experiment, localize, acquire, invest",
                 fs->name, sum);
    }
    /* Firm ids of start-ups come after the scenario's firms; all must fit
     * the consumers' 16-bit choice (the world checks again at run time,
     * but validate should already say no). */
    if ((int64_t)s->n_firms + s->model.max_entrants > MS_MAX_FIRMS) {
        const ms_ynode *at =
            ms_ynode_get(ms_ynode_get(root, "model"), "max_entrants");
        diag(r, at ? at : ms_ynode_key_node(root, "firms"),
             "model.max_entrants: %d firms plus %lld start-ups exceed the "
             "limit of %d firms; lower model.max_entrants to at most %lld",
             s->n_firms, (long long)s->model.max_entrants, MS_MAX_FIRMS,
             (long long)(MS_MAX_FIRMS - s->n_firms));
    }
    resolve_distances(c, mroot);

    /* Size: consumers fit the ids (below 2^48, the counter layout of
     * sim/rng/ms_rng.h) and this machine's memory. */
    double agents = 0, people = 0;
    int big = 0; /* the most populous market */
    for (int m = 0; m < s->n_markets; m++) {
        people += s->markets[m].population;
        agents += floor(s->markets[m].population / s->run.people_per_agent + 0.5);
        if (s->markets[m].population > s->markets[big].population)
            big = m;
    }
    /* Per process: a distributed run's ranks share the consumers. Each
     * holds its innovativeness code (1 byte) and one choice per category
     * (1 byte while the firms fit MS_CHOICE8_MAX, else 2); every 512 of
     * them a block (24 bytes: core/world_int.h). A quarter more covers
     * what the allocator and the resident set add to the arrays (measured
     * peak RSS growth: 3.2 bytes per consumer for 3.05 at N = 1e7). */
    double F = (double)s->n_firms + (double)s->model.max_entrants;
    const double cw = F <= MS_CHOICE8_MAX ? 1.0 : 2.0;
    double bytes = 1.25 * agents * (1.0 + cw * s->n_categories + 24.0 / 512) /
                   share_ranks;
    double mem = ms_scenario_usable_memory();
    /* Firms' state: per firm, market and category (users, groups' users,
     * launches, the step's events: 127 bytes measured with 2000 firms x 64
     * markets x 16 categories), per firm (stakes, partners: about 2 kB). */
    double firm_bytes = F * s->n_markets * s->n_categories * 128.0 +
                        F * 2048.0;
    if (agents <= MAX_AGENTS && mem > 0 && bytes + firm_bytes > 0.8 * mem &&
        firm_bytes >= bytes) {
        const ms_ynode *at =
            ms_ynode_get(ms_ynode_get(root, "model"), "max_entrants");
        diag(r, at && s->model.max_entrants > 0 ? at
                                                : ms_ynode_key_node(root, "firms"),
             "firms: %d firms and %lld start-ups x %d markets x %d "
             "categories need %.1f GB of state (about 128 bytes per firm, "
             "market and category), and the consumers %.1f GB more; 80%% of "
             "the %.1f GB this process may use fit; use fewer firms, markets "
             "or categories, or lower model.max_entrants", s->n_firms,
             (long long)s->model.max_entrants, s->n_markets,
             s->n_categories, firm_bytes / 1e9, bytes / 1e9, mem / 1e9);
    } else if (agents > MAX_AGENTS ||
               (mem > 0 && bytes + firm_bytes > 0.8 * mem)) {
        /* Point at people_per_agent if the file sets it, else at the
         * largest population. */
        const ms_ynode *at =
            ms_ynode_get(ms_ynode_get(root, "run"), "people_per_agent");
        char key[MS_NAME_MAX + 32];
        if (at) {
            snprintf(key, sizeof key, "run.people_per_agent");
        } else {
            at = ms_ynode_get(ms_ynode_get(mroot, s->markets[big].name),
                              "population");
            snprintf(key, sizeof key, "markets.%s.population",
                     s->markets[big].name);
        }
        diag(r, at ? at : root,
             "%s: %g people in all at %g people per agent make %.0f "
             "consumer agents, %.1f GB of state (%.2f bytes per agent, "
             "margin included; the firms %.1f GB more); at most 2^48 agents "
             "and 80%% of the %.1f GB this process may use fit; raise "
             "run.people_per_agent", key, people, s->run.people_per_agent,
             agents, bytes / 1e9,
             agents > 0 ? bytes * share_ranks / agents : 0.0,
             firm_bytes / 1e9, mem / 1e9);
    }
}

/* ---- sections of named records ---- */

static int collect_names(reader *r, const ms_ynode *root, const char *key,
                         int max, names *out, const char *example)
{
    const ms_ynode *sec = ms_ynode_get(root, key);
    out->v = NULL;
    out->n = 0;
    if (!sec) {
        diag(r, root, "missing required section '%s' (%s)", key, example);
        return 0;
    }
    if (sec->kind != MS_YNODE_MAP || sec->n == 0) {
        diag(r, sec, "%s: expected a mapping of names to parameters, like "
             "%s, got %s", key, example,
             sec->kind == MS_YNODE_MAP ? "an empty mapping" : kind_name(sec));
        return 0;
    }
    if ((int)sec->n > max) {
        diag(r, ms_ynode_key_node(root, key), "%s: %zu entries; at most %d "
             "are supported", key, sec->n, max);
        return 0;
    }
    for (size_t i = 0; i < sec->n; i++)
        if (!valid_name(sec->keys[i]))
            diag(r, sec->key_nodes[i], "%s: '%s' is not a valid name: use "
                 "letters, digits, '_' and '-', starting with a letter, at "
                 "most %d characters", key, sec->keys[i], MS_NAME_MAX - 1);
    out->v = (const char *const *)sec->keys;
    out->n = (int)sec->n;
    return 1;
}

static ms_status finish(reader *r, ms_scenario **out)
{
    ms_status st;
    if (r->fatal != MS_OK) {
        st = MS_ERROR(MS_ENOMEM, "out of memory while reading the scenario");
    } else if (r->n_errs) {
        if (r->n_errs > MAX_ERRORS)
            st = MS_ERROR(MS_EINPUT, "%s\n(%d more errors not shown)", r->errs,
                          r->n_errs - MAX_ERRORS);
        else
            st = MS_ERROR(MS_EINPUT, "%s", r->errs);
    } else {
        *out = r->s;
        r->s = NULL;
        st = MS_OK;
    }
    ms_scenario_destroy(&r->s);
    ms_free(r->errs);
    return st;
}

static void target_diag(void *ctx, const ms_ynode *at, const char *msg)
{
    diag(ctx, at, "%s", msg);
}

static ms_status read_tree(ms_ytree *t, ms_scenario **out)
{
    reader rd = {0};
    reader *r = &rd;
    ctxt c = {r, {NULL, 0}, {NULL, 0}, {ms_strategy_names, MS_N_STRATEGIES}};
    const ms_ynode *root = ms_ytree_root(t);
    const char *src = ms_ytree_source(t);

    r->s = ms_calloc(1, sizeof *r->s);
    if (!r->s)
        return MS_ERROR(MS_ENOMEM, "out of memory reading the scenario");
    r->s->source = ms_strdup(src);
    if (!r->s->source)
        r->fatal = MS_ENOMEM;
    if (!root) {
        ms_scenario_destroy(&r->s);
        return MS_ERROR(MS_EINPUT, "%s:1:1: error: the file is empty; a "
                        "scenario needs the sections markets, categories and "
                        "firms (see scenarios/default.yaml)", src);
    }
    if (root->kind != MS_YNODE_MAP) {
        ms_scenario_destroy(&r->s);
        char where[512];
        ms_ynode_where(root, where, sizeof where);
        return MS_ERROR(MS_EINPUT, "%s: error: a scenario is a mapping of "
                        "sections (run, model, output, markets, categories, "
                        "firms), but the file holds %s", where,
                        kind_name(root));
    }
    for (size_t k = 0; k < root->n; k++) {
        int ok = 0;
        for (int i = 0; top_keys[i] && !ok; i++)
            ok = strcmp(top_keys[i], root->keys[k]) == 0;
        if (!ok) {
            char sug[128], all[256];
            ms_suggest(sug, sizeof sug, root->keys[k], top_keys, 8);
            join_names(all, sizeof all, top_keys, 8);
            diag(r, root->key_nodes[k], "unknown section '%s'%s (allowed: "
                 "%s)", root->keys[k], sug, all);
        }
    }
    const ms_ynode *desc = ms_ynode_get(root, "description");
    if (desc) {
        if (desc->kind != MS_YNODE_SCALAR)
            diag(r, desc, "description: expected text, got %s",
                 kind_name(desc));
        else if (!(r->s->description = ms_strdup(desc->value)))
            r->fatal = MS_ENOMEM;
    }
    ms_scenario *s = r->s;
    read_record(&c, MS_SEC_RUN, &s->run, ms_ynode_key_node(root, "run"),
                ms_ynode_get(root, "run"), "run");
    read_record(&c, MS_SEC_MODEL, &s->model, ms_ynode_key_node(root, "model"),
                ms_ynode_get(root, "model"), "model");
    read_record(&c, MS_SEC_OUTPUT, &s->output,
                ms_ynode_key_node(root, "output"),
                ms_ynode_get(root, "output"), "output");
    for (int i = 0; i < s->output.n_datasets; i++) {
        int ok = 0;
        for (int k = 0; ms_output_names[k] && !ok; k++)
            ok = strcmp(ms_output_names[k], s->output.datasets[i]) == 0;
        if (!ok) {
            char all[512];
            int n = 0;
            while (ms_output_names[n])
                n++;
            join_names(all, sizeof all, ms_output_names, n);
            diag(r, ms_ynode_get(ms_ynode_get(root, "output"), "datasets"),
                 "output.datasets: unknown dataset '%s' (known: %s)",
                 s->output.datasets[i], all);
        }
    }

    int ok_m = collect_names(r, root, "markets", MS_MAX_MARKETS, &c.markets,
                             "{CN: {population: 1.41e9}}");
    int ok_c = collect_names(r, root, "categories", MS_MAX_CATEGORIES,
                             &c.categories, "{ecommerce: {p: 0.01, q: 0.4}}");
    names firms;
    int ok_f = collect_names(r, root, "firms", MS_MAX_FIRMS, &firms,
                             "{Alibaba: {home: CN, quality: {ecommerce: 1}}}");
    /* Go on after errors in run, model or output, so one pass reports
     * the problems of markets, categories and firms too. */
    if (!ok_m || !ok_c || !ok_f || r->fatal)
        return finish(r, out);

    s->n_markets = c.markets.n;
    s->n_categories = c.categories.n;
    s->n_firms = firms.n;
    s->markets = alloc_or_fail(r, (size_t)s->n_markets, sizeof *s->markets);
    s->categories = alloc_or_fail(r, (size_t)s->n_categories,
                                  sizeof *s->categories);
    s->firms = alloc_or_fail(r, (size_t)s->n_firms, sizeof *s->firms);
    if (r->fatal)
        return finish(r, out);

    const ms_ynode *mroot = ms_ynode_get(root, "markets");
    const ms_ynode *croot = ms_ynode_get(root, "categories");
    const ms_ynode *froot = ms_ynode_get(root, "firms");
    char rec[MS_NAME_MAX + 32];
    for (int i = 0; i < s->n_markets; i++) {
        if (!(s->markets[i].name = ms_strdup(mroot->keys[i])))
            r->fatal = MS_ENOMEM;
        snprintf(rec, sizeof rec, "markets.%s", mroot->keys[i]);
        read_record(&c, MS_SEC_MARKET, &s->markets[i], mroot->key_nodes[i],
                    mroot->items[i], rec);
    }
    for (int i = 0; i < s->n_categories; i++) {
        if (!(s->categories[i].name = ms_strdup(croot->keys[i])))
            r->fatal = MS_ENOMEM;
        snprintf(rec, sizeof rec, "categories.%s", croot->keys[i]);
        read_record(&c, MS_SEC_CATEGORY, &s->categories[i],
                    croot->key_nodes[i], croot->items[i], rec);
    }
    for (int i = 0; i < s->n_firms; i++) {
        if (!(s->firms[i].name = ms_strdup(froot->keys[i])))
            r->fatal = MS_ENOMEM;
        snprintf(rec, sizeof rec, "firms.%s", froot->keys[i]);
        read_record(&c, MS_SEC_FIRM, &s->firms[i], froot->key_nodes[i],
                    froot->items[i], rec);
    }
    int oom = 0;
    ms_targets_read(s, ms_ynode_get(root, "targets"), target_diag, r, &oom);
    if (oom)
        r->fatal = MS_ENOMEM;
    if (!r->n_errs && !r->fatal)
        check_records(&c, root);
    return finish(r, out);
}

static ms_status load_tree(ms_ytree *t, const char *const *sets, int n_sets,
                           ms_scenario **out)
{
    for (int i = 0; i < n_sets; i++)
        MS_CALL(ms_ytree_set(t, sets[i]));
    MS_CALL(read_tree(t, out));
    return MS_OK;
}

ms_status ms_scenario_load(const char *path, const char *const *sets,
                           int n_sets, ms_scenario **out)
{
    *out = NULL;
    ms_ytree *t;
    MS_CALL(ms_ytree_parse_file(path, &t));
    ms_status st = load_tree(t, sets, n_sets, out);
    ms_ytree_destroy(&t);
    return st;
}

ms_status ms_scenario_load_string(const char *text, const char *src_name,
                                  const char *const *sets, int n_sets,
                                  ms_scenario **out)
{
    *out = NULL;
    ms_ytree *t;
    MS_CALL(ms_ytree_parse_string(text, strlen(text), src_name, &t));
    ms_status st = load_tree(t, sets, n_sets, out);
    ms_ytree_destroy(&t);
    return st;
}
