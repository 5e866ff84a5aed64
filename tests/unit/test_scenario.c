/*
 * test_scenario.c: scenario reader, --set overrides, cultural distances and
 * the resolved YAML (sim/scenario/scenario.c, emit.c).
 *
 * Scenario files are found through MS_SOURCE_DIR (the repository root),
 * which ctest sets; the current directory is tried when it is not set.
 *
 * PENDING copy: this file is the committed test plus a test of a known
 * engine bug (marked PENDING below); when the bug is fixed, replace the
 * committed file with it.
 */
#include "scenario/scenario_int.h"
#include "scenario/yamltree.h"
#include "unit/unit.h"

#include "marketsim/ms_alloc.h"

#include <stdlib.h>
#include <math.h>
#include <string.h>

static const char *src_path(const char *rel, char *buf, size_t size)
{
    const char *root = getenv("MS_SOURCE_DIR");
    snprintf(buf, size, "%s/%s", root && *root ? root : ".", rel);
    return buf;
}

static ms_scenario *load(const char *rel, const char *const *sets, int n)
{
    char path[4096];
    ms_scenario *s = NULL;
    ms_status st = ms_scenario_load(src_path(rel, path, sizeof path), sets, n,
                                    &s);
    if (st != MS_OK)
        printf("\n    %s: %s\n", path, ms_error_message());
    CU_ASSERT_EQUAL(st, MS_OK);
    return s;
}

static ms_scenario *load_text(const char *text, const char *const *sets,
                              int n)
{
    ms_scenario *s = NULL;
    ms_status st = ms_scenario_load_string(text, "t.yaml", sets, n, &s);
    if (st != MS_OK)
        printf("\n    t.yaml: %s\n", ms_error_message());
    CU_ASSERT_EQUAL(st, MS_OK);
    return s;
}

static int market(const ms_scenario *s, const char *name)
{
    for (int m = 0; m < s->n_markets; m++)
        if (!strcmp(s->markets[m].name, name))
            return m;
    CU_FAIL("no such market");
    return 0;
}

static int category(const ms_scenario *s, const char *name)
{
    for (int c = 0; c < s->n_categories; c++)
        if (!strcmp(s->categories[c].name, name))
            return c;
    CU_FAIL("no such category");
    return 0;
}

static int firm(const ms_scenario *s, const char *name)
{
    for (int f = 0; f < s->n_firms; f++)
        if (!strcmp(s->firms[f].name, name))
            return f;
    CU_FAIL("no such firm");
    return 0;
}

static const char *minimal =
    "markets: {A: {population: 1000}}\n"
    "categories: {x: {}}\n"
    "firms: {f: {home: A, quality: {x: 0}}}\n";

/* ---- the reader agrees with the file, parameter by parameter ---- */

/* A number as the scenario format writes it: decimal, scientific or a/b. */
static double number(const ms_ynode *n)
{
    CU_ASSERT_FATAL(n && n->kind == MS_YNODE_SCALAR);
    char *end;
    double v = strtod(n->value, &end);
    if (*end == '/')
        v /= strtod(end + 1, &end);
    CU_ASSERT_EQUAL(*end, '\0');
    return v;
}

static int index_of(const char *name, const ms_scenario *s, int markets)
{
    int n = markets ? s->n_markets : s->n_categories;
    for (int i = 0; i < n; i++)
        if (!strcmp(markets ? s->markets[i].name : s->categories[i].name,
                    name))
            return i;
    return -1;
}

static int n_values, n_defaults, n_wrong;

static void expect_value(double got, double want, const char *rec,
                         const char *key, int k, int from_file)
{
    n_values++;
    n_defaults += !from_file;
    int ok = got == want || (isnan(got) && isnan(want));
    if (!ok && n_wrong++ < 10)
        printf("\n    %s.%s[%d] = %.17g, expected %.17g (%s)", rec, key, k,
               got, want, from_file ? "from the file" : "default");
    CU_ASSERT(ok);
}

/* Every parameter of one record equals the file's value where the file
 * gives one and the table's default elsewhere. `home`: a firm's home
 * market (present and fully localized there whatever the file says). */
static void check_record(const ms_scenario *s, ms_section sec,
                         const void *base, const ms_ynode *map,
                         const char *rec, int home)
{
    const int M = s->n_markets, C = s->n_categories;
    for (int i = 0; i < ms_param_count; i++) {
        const ms_param *p = &ms_param_table[i];
        if (p->section != sec)
            continue;
        const char *field = (const char *)base + p->offset;
        const ms_ynode *n = ms_ynode_get(map, p->name);
        switch (p->type) {
        case MS_P_REAL:
            expect_value(*(const double *)field, n ? number(n) : p->def, rec,
                         p->name, 0, n != NULL);
            break;
        case MS_P_INT:
            expect_value((double)*(const int64_t *)field,
                         n ? number(n) : p->def, rec, p->name, 0, n != NULL);
            break;
        case MS_P_BOOL:
            expect_value(*(const int *)field,
                         n ? !strcmp(n->value, "true") : p->def, rec, p->name,
                         0, n != NULL);
            break;
        case MS_P_MARKET:
            CU_ASSERT_PTR_NOT_NULL_FATAL(n);
            expect_value(*(const int *)field, index_of(n->value, s, 1), rec,
                         p->name, 0, 1);
            break;
        case MS_P_CATEGORY:
            expect_value(*(const int *)field,
                         n ? index_of(n->value, s, 0) : -1, rec, p->name, 0,
                         n != NULL);
            break;
        case MS_P_BY_MARKET:
        case MS_P_BY_CATEGORY: {
            if (sec == MS_SEC_MARKET && !strcmp(p->name, "distance"))
                break; /* resolved into s->cd: test_cultural_distance */
            int bym = p->type == MS_P_BY_MARKET, len = bym ? M : C;
            const double *arr = *(const double *const *)field;
            for (int k = 0; k < len; k++) {
                const char *key = bym ? s->markets[k].name
                                      : s->categories[k].name;
                const ms_ynode *e = n && n->kind == MS_YNODE_MAP
                                        ? ms_ynode_get(n, key)
                                        : n;
                double want = e ? number(e) : p->def;
                if (sec == MS_SEC_FIRM && !strcmp(p->name, "localization") &&
                    k == home)
                    want = 1;
                expect_value(arr[k], want, rec, p->name, k, e != NULL);
            }
            break;
        }
        case MS_P_MARKET_SET:
        case MS_P_CATEGORY_SET: {
            int bym = p->type == MS_P_MARKET_SET, len = bym ? M : C;
            const double *arr = *(const double *const *)field;
            for (int k = 0; k < len; k++) {
                const char *key = bym ? s->markets[k].name
                                      : s->categories[k].name;
                int listed = 0;
                for (size_t j = 0; n && j < n->n; j++)
                    listed |= !strcmp(n->items[j]->value, key);
                expect_value(arr[k], listed || (bym && k == home), rec,
                             p->name, k, n != NULL);
            }
            break;
        }
        default:
            break; /* seeds, names, enums, mixes: checked elsewhere */
        }
    }
}

static void test_default_matches_file(void)
{
    size_t live = ms_alloc_live_bytes();
    char path[4096];
    src_path("scenarios/default.yaml", path, sizeof path);
    ms_ytree *t = NULL;
    CU_ASSERT_EQUAL_FATAL(ms_ytree_parse_file(path, &t), MS_OK);
    const ms_ynode *root = ms_ytree_root(t);
    ms_scenario *s = load("scenarios/default.yaml", NULL, 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    n_values = n_defaults = n_wrong = 0;

    check_record(s, MS_SEC_RUN, &s->run, ms_ynode_get(root, "run"), "run", -1);
    check_record(s, MS_SEC_MODEL, &s->model, ms_ynode_get(root, "model"),
                 "model", -1);
    check_record(s, MS_SEC_OUTPUT, &s->output, ms_ynode_get(root, "output"),
                 "output", -1);
    const ms_ynode *mk = ms_ynode_get(root, "markets"),
                   *ct = ms_ynode_get(root, "categories"),
                   *fm = ms_ynode_get(root, "firms");
    CU_ASSERT_EQUAL_FATAL(s->n_markets, (int)mk->n);
    CU_ASSERT_EQUAL_FATAL(s->n_categories, (int)ct->n);
    CU_ASSERT_EQUAL_FATAL(s->n_firms, (int)fm->n);
    char rec[128];
    for (int i = 0; i < s->n_markets; i++) {
        CU_ASSERT_STRING_EQUAL(s->markets[i].name, mk->keys[i]);
        snprintf(rec, sizeof rec, "markets.%s", mk->keys[i]);
        check_record(s, MS_SEC_MARKET, &s->markets[i], mk->items[i], rec, -1);
    }
    for (int i = 0; i < s->n_categories; i++) {
        CU_ASSERT_STRING_EQUAL(s->categories[i].name, ct->keys[i]);
        snprintf(rec, sizeof rec, "categories.%s", ct->keys[i]);
        check_record(s, MS_SEC_CATEGORY, &s->categories[i], ct->items[i], rec,
                     -1);
    }
    for (int i = 0; i < s->n_firms; i++) {
        CU_ASSERT_STRING_EQUAL(s->firms[i].name, fm->keys[i]);
        snprintf(rec, sizeof rec, "firms.%s", fm->keys[i]);
        check_record(s, MS_SEC_FIRM, &s->firms[i], fm->items[i], rec,
                     s->firms[i].home);
    }
    printf("\n    %d values checked, %d of them defaults", n_values,
           n_defaults);
    CU_ASSERT(n_values > 150);
    CU_ASSERT(n_defaults > 50);

    /* The seed and the description, and spot checks of the file as
     * documented in it. */
    CU_ASSERT_EQUAL(s->run.seed,
                    strtoull(ms_ynode_get(ms_ynode_get(root, "run"), "seed")->value,
                             NULL, 10));
    CU_ASSERT_PTR_NOT_NULL(s->description);
    CU_ASSERT_EQUAL(s->run.dt, 1.0 / 12);
    if (!ms_ynode_get(ms_ynode_get(root, "model"), "sigma_nu"))
        CU_ASSERT_EQUAL(s->model.sigma_nu, 0.5);
    CU_ASSERT_EQUAL(s->model.var_pdi, 463.4);
    CU_ASSERT_EQUAL(s->model.var_uai, 541.4);
    int CN = market(s, "CN");
    int ec = category(s, "ecommerce"), lc = category(s, "live_commerce");
    CU_ASSERT_EQUAL(s->categories[lc].host, ec);
    CU_ASSERT_EQUAL(s->categories[ec].host, -1);
    int ali = firm(s, "Alibaba");
    CU_ASSERT_EQUAL(s->firms[ali].home, CN);
    CU_ASSERT_EQUAL(s->firms[ali].localization[CN], 1);
    CU_ASSERT_EQUAL(s->firms[ali].present[CN], 1);

    ms_scenario_destroy(&s);
    CU_ASSERT_PTR_NULL(s);
    ms_scenario_destroy(&s);
    ms_scenario_destroy(NULL);
    ms_ytree_destroy(&t);
    CU_ASSERT_EQUAL(ms_alloc_live_bytes(), live);
}

/* Kogut-Singh: CD = 1/4 sum_d (I_dh - I_dm)^2 / V_d (MODEL.md section 1). */
static double ks(const double a[4], const double b[4], const double V[4])
{
    double d = 0;
    for (int k = 0; k < 4; k++)
        d += (a[k] - b[k]) * (a[k] - b[k]) / V[k];
    return d / 4;
}

static void scores(const ms_market_spec *m, double out[4])
{
    out[0] = m->pdi;
    out[1] = m->idv;
    out[2] = m->mas;
    out[3] = m->uai;
}

static void test_cultural_distance(void)
{
    ms_scenario *s = load("scenarios/default.yaml", NULL, 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    const int M = s->n_markets;
    int CN = market(s, "CN"), US = market(s, "US"), ID = market(s, "ID");
    /* The reference values MODEL.md quotes for Hofstede's scores. */
    MS_ASSERT_NEAR(s->cd[CN * M + US], 3.23, 0.005);
    MS_ASSERT_NEAR(s->cd[CN * M + ID], 0.43, 0.005);
    /* The formula itself, from the scores in the file. */
    const double V[4] = {463.4, 562.8, 375.6, 541.4};
    double cn[4], us[4], id[4];
    scores(&s->markets[CN], cn);
    scores(&s->markets[US], us);
    scores(&s->markets[ID], id);
    /* Hofstede's published scores, which the file should hold. */
    CU_ASSERT(cn[0] == 80 && cn[1] == 20 && cn[2] == 66 && cn[3] == 30);
    CU_ASSERT(us[0] == 40 && us[1] == 91 && us[2] == 62 && us[3] == 46);
    CU_ASSERT(id[0] == 78 && id[1] == 14 && id[2] == 46 && id[3] == 48);
    MS_ASSERT_NEAR(s->cd[CN * M + US], ks(cn, us, V), 1e-12);
    MS_ASSERT_NEAR(s->cd[CN * M + ID], ks(cn, id, V), 1e-12);
    MS_ASSERT_NEAR(s->cd[US * M + ID], ks(us, id, V), 1e-12);
    for (int a = 0; a < M; a++) {
        CU_ASSERT_EQUAL(s->cd[a * M + a], 0);
        for (int b = 0; b < M; b++)
            CU_ASSERT_EQUAL(s->cd[a * M + b], s->cd[b * M + a]);
    }
    ms_scenario_destroy(&s);

    /* Other variances change it; an explicit distance overrides it. */
    const char *sets[] = {"model.var_idv=1125.6",
                          "markets.US.distance={ID: 2.5}"};
    s = load("scenarios/default.yaml", sets, 2);
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    const double V2[4] = {463.4, 1125.6, 375.6, 541.4};
    MS_ASSERT_NEAR(s->cd[CN * M + US], ks(cn, us, V2), 1e-12);
    CU_ASSERT_EQUAL(s->cd[US * M + ID], 2.5);
    CU_ASSERT_EQUAL(s->cd[ID * M + US], 2.5);
    ms_scenario_destroy(&s);
}

static void test_set_overrides(void)
{
    size_t live = ms_alloc_live_bytes();
    const char *sets[] = {
        "markets.CN.openness=0.5",
        "categories.ecommerce.arpu.US=99.5",
        "firms.Pinduoduo.markets=[CN, US]",
        "run.steps=7",
        "model.sigma_nu=0.25",
        "firms.Shopee.quality.live_commerce=0.1",
        "run.seed=18446744073709551615",
    };
    ms_scenario *base = load("scenarios/default.yaml", NULL, 0);
    ms_scenario *s = load("scenarios/default.yaml", sets, 7);
    CU_ASSERT_PTR_NOT_NULL_FATAL(base);
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    int CN = market(s, "CN"), US = market(s, "US"), ID = market(s, "ID");
    int ec = category(s, "ecommerce"), lc = category(s, "live_commerce");
    CU_ASSERT_EQUAL(s->markets[CN].openness, 0.5);
    CU_ASSERT_EQUAL(s->categories[ec].arpu[US], 99.5);
    /* Sibling entries of the same map are kept. */
    CU_ASSERT_EQUAL(s->categories[ec].arpu[CN], base->categories[ec].arpu[CN]);
    CU_ASSERT_EQUAL(s->categories[ec].arpu[ID], base->categories[ec].arpu[ID]);
    CU_ASSERT_EQUAL(s->categories[lc].arpu[US], base->categories[lc].arpu[US]);
    int pdd = firm(s, "Pinduoduo"), sh = firm(s, "Shopee");
    CU_ASSERT_EQUAL(s->firms[pdd].present[CN], 1);
    CU_ASSERT_EQUAL(s->firms[pdd].present[US], 1);
    CU_ASSERT_EQUAL(s->firms[pdd].present[ID], base->firms[pdd].present[ID]);
    CU_ASSERT_EQUAL(base->firms[pdd].present[US], 0);
    CU_ASSERT_EQUAL(s->run.steps, 7);
    CU_ASSERT_EQUAL(s->model.sigma_nu, 0.25);
    CU_ASSERT_EQUAL(s->firms[sh].quality[lc], 0.1);
    CU_ASSERT_EQUAL(s->firms[sh].quality[ec], base->firms[sh].quality[ec]);
    CU_ASSERT(isnan(base->firms[sh].quality[lc]));
    CU_ASSERT_EQUAL(s->run.seed, UINT64_MAX);
    /* Nothing else moved. */
    CU_ASSERT_EQUAL(s->run.dt, base->run.dt);
    CU_ASSERT_EQUAL(s->markets[US].openness, base->markets[US].openness);
    CU_ASSERT_EQUAL(s->model.lambda, base->model.lambda);
    ms_scenario_destroy(&s);
    ms_scenario_destroy(&base);

    /* A --set that breaks a rule is reported against the --set. */
    const char *bad[] = {"markets.CN.openness=1.5"};
    char path[4096];
    s = (ms_scenario *)1;
    CU_ASSERT_EQUAL(ms_scenario_load(src_path("scenarios/default.yaml", path,
                                              sizeof path),
                                     bad, 1, &s),
                    MS_EINPUT);
    CU_ASSERT_PTR_NULL(s);
    CU_ASSERT_PTR_NOT_NULL(strstr(ms_error_message(),
                                  "--set markets.CN.openness=1.5: error:"));
    CU_ASSERT_PTR_NOT_NULL(strstr(ms_error_message(), "out of range"));
    const char *unknown[] = {"run.stepz=3"};
    CU_ASSERT_EQUAL(ms_scenario_load(path, unknown, 1, &s), MS_EINPUT);
    CU_ASSERT_PTR_NOT_NULL(strstr(ms_error_message(), "--set run.stepz=3"));
    CU_ASSERT_PTR_NOT_NULL(strstr(ms_error_message(), "unknown key 'stepz'"));
    CU_ASSERT_PTR_NOT_NULL(strstr(ms_error_message(), "did you mean 'steps'"));
    const char *newmarket[] = {"firms.Pinduoduo.markets=[CN, XX]"};
    CU_ASSERT_EQUAL(ms_scenario_load(path, newmarket, 1, &s), MS_EINPUT);
    CU_ASSERT_PTR_NOT_NULL(strstr(ms_error_message(), "unknown market 'XX'"));
    CU_ASSERT_EQUAL(ms_alloc_live_bytes(), live);
}

/* to_yaml -> load_string -> to_yaml gives the same text, and the same
 * scenario. The source name is kept, since it appears in the header. */
static void round_trip(const char *rel)
{
    size_t live = ms_alloc_live_bytes();
    char path[4096];
    src_path(rel, path, sizeof path);
    ms_scenario *a = load(rel, NULL, 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(a);
    char *ya = NULL, *yb = NULL;
    CU_ASSERT_EQUAL_FATAL(ms_scenario_to_yaml(a, &ya), MS_OK);
    ms_scenario *b = NULL;
    ms_status st = ms_scenario_load_string(ya, path, NULL, 0, &b);
    if (st != MS_OK)
        printf("\n    resolved YAML of %s does not read back: %s\n", rel,
               ms_error_message());
    CU_ASSERT_EQUAL_FATAL(st, MS_OK);
    CU_ASSERT_EQUAL_FATAL(ms_scenario_to_yaml(b, &yb), MS_OK);
    int same = strcmp(ya, yb) == 0;
    if (!same) {
        size_t i = 0;
        while (ya[i] && ya[i] == yb[i])
            i++;
        printf("\n    %s: round trip differs at byte %zu:\n    first: "
               "%.60s\n    again: %.60s\n", rel, i, ya + (i > 20 ? i - 20 : 0),
               yb + (i > 20 ? i - 20 : 0));
    }
    CU_ASSERT(same);
    /* Resolved values are equal, bit for bit. */
    CU_ASSERT_EQUAL(a->run.dt, b->run.dt);
    CU_ASSERT_EQUAL(a->run.seed, b->run.seed);
    CU_ASSERT_EQUAL_FATAL(a->n_markets, b->n_markets);
    CU_ASSERT_EQUAL_FATAL(a->n_firms, b->n_firms);
    CU_ASSERT_EQUAL(memcmp(a->cd, b->cd, sizeof(double) * (size_t)a->n_markets *
                                             (size_t)a->n_markets), 0);
    for (int f = 0; f < a->n_firms; f++) {
        CU_ASSERT_EQUAL(memcmp(a->firms[f].localization, b->firms[f].localization,
                               sizeof(double) * (size_t)a->n_markets), 0);
        CU_ASSERT_EQUAL(a->firms[f].cash, b->firms[f].cash);
    }
    /* The text names its source in the header comment. */
    CU_ASSERT_PTR_NOT_NULL(strstr(ya, path));
    ms_free(ya);
    ms_free(yb);
    ms_scenario_destroy(&a);
    ms_scenario_destroy(&b);
    CU_ASSERT_EQUAL(ms_alloc_live_bytes(), live);
}

static void test_round_trip_default(void) { round_trip("scenarios/default.yaml"); }
/* Holds a bound target (max:), which must emit and read back as one. */
static void test_round_trip_live_commerce(void)
{
    round_trip("scenarios/live_commerce.yaml");
}

/* A figure stated as a bound is met anywhere inside it; a value with a
 * tolerance within expected -+ tolerance; NaN never. */
static void test_target_bounds(void)
{
    const char *text =
        "markets: {US: {population: 2.0e6}}\n"
        "categories: {shop: {p: 0.02}}\n"
        "firms: {Amz: {home: US, quality: {shop: 1}}}\n"
        "targets:\n"
        "  - {figure: a, measure: count, max: 1.0e9}\n"
        "  - {figure: b, measure: count, min: 10, max: 20}\n"
        "  - {figure: c, measure: count, expected: 100, tolerance: 5}\n";
    ms_scenario *s = load_text(text, NULL, 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    CU_ASSERT_EQUAL_FATAL(s->n_targets, 3);
    const ms_target *t = s->targets;
    CU_ASSERT(isnan(t[0].expected) && isnan(t[0].tolerance));
    CU_ASSERT(ms_target_pass(&t[0], -5.0));
    CU_ASSERT(ms_target_pass(&t[0], 1.0e9));
    CU_ASSERT(!ms_target_pass(&t[0], 1.0000001e9));
    CU_ASSERT(!ms_target_pass(&t[0], NAN));
    CU_ASSERT(!ms_target_pass(&t[1], 9.99));
    CU_ASSERT(ms_target_pass(&t[1], 15));
    CU_ASSERT(!ms_target_pass(&t[1], 20.01));
    CU_ASSERT_EQUAL(t[1].scale, 5);
    CU_ASSERT(ms_target_pass(&t[2], 95) && ms_target_pass(&t[2], 105));
    CU_ASSERT(!ms_target_pass(&t[2], 105.001));
    CU_ASSERT_EQUAL(t[2].scale, 5);
    ms_scenario_destroy(&s);
}
static void test_round_trip_bench(void) { round_trip("bench/consumers.yaml"); }

/* Awkward values survive the round trip too: long decimals, a description
 * with quotes and a newline, NaN-able scores left out, explicit distances. */
static void test_round_trip_awkward(void)
{
    ms_scenario *a = load_text(
        "description: \"say \\\"hi\\\"\\n\\tback\\\\slash\"\n"
        "run: {dt: 1/52, seed: 12345678901234567, people_per_agent: 0.1}\n"
        "model: {lambda: 0.1, eta: -0.30000000000000004, var_pdi: 1e300}\n"
        "output: {datasets: [users, cash], every: 3}\n"
        "markets:\n"
        "  A: {population: 1000, distance: {B: 0.123456789012345}}\n"
        "  B: {population: 3e-1, pdi: 1}\n"
        "categories:\n"
        "  x: {arpu: 1e9, ceiling: {A: 0.3333333333333333}}\n"
        "  y: {host: x, p_feature: 1}\n"
        "firms:\n"
        "  f: {home: A, quality: {x: 0, y: 1e-7}, launched: [y], cash: -5}\n"
        "  g: {home: B, quality: {y: 2}, markets: [A]}\n", NULL, 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(a);
    char *ya, *yb;
    CU_ASSERT_EQUAL_FATAL(ms_scenario_to_yaml(a, &ya), MS_OK);
    ms_scenario *b = load_text(ya, NULL, 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(b);
    CU_ASSERT_EQUAL_FATAL(ms_scenario_to_yaml(b, &yb), MS_OK);
    CU_ASSERT_STRING_EQUAL(ya, yb);
    CU_ASSERT_STRING_EQUAL(b->description, "say \"hi\"\n\tback\\slash");
    CU_ASSERT_EQUAL(b->run.dt, 1.0 / 52);
    CU_ASSERT_EQUAL(b->run.seed, 12345678901234567ull);
    CU_ASSERT_EQUAL(b->model.eta, -0.30000000000000004);
    CU_ASSERT_EQUAL(b->cd[1], 0.123456789012345);
    CU_ASSERT_EQUAL(b->categories[0].ceiling[0], 0.3333333333333333);
    CU_ASSERT_EQUAL(b->categories[0].arpu[1], 1e9); /* its upper bound */
    CU_ASSERT_EQUAL(b->model.var_pdi, 1e300);
    CU_ASSERT_EQUAL_FATAL(b->output.n_datasets, 2);
    CU_ASSERT_STRING_EQUAL(b->output.datasets[1], "cash");
    CU_ASSERT_EQUAL(b->firms[0].cash, -5);
    CU_ASSERT_EQUAL(b->firms[0].quality[1], 1e-7);
    ms_free(ya);
    ms_free(yb);
    ms_scenario_destroy(&a);
    ms_scenario_destroy(&b);
}

/* Two markets with Hofstede scores, for the targets and distance cases. */
#define TWO_MARKETS                                                          \
    "run: {steps: 12, dt: 1/12, start_year: 2020}\n"                        \
    "markets:\n"                                                            \
    "  A: {population: 1000, pdi: 80, idv: 20, mas: 66, uai: 30}\n"          \
    "  B: {population: 1000, pdi: 40, idv: 91, mas: 62, uai: 46}\n"          \
    "categories: {x: {}}\n"                                                 \
    "firms: {f: {home: A, quality: {x: 0}}, g: {home: B, quality: {x: 0}}}\n"

/* Resolved YAML that must read back: ms_scenario_check_round_trip agrees,
 * and the text loads to a scenario that prints the same. */
static ms_scenario *reads_back(const char *text)
{
    ms_scenario *a = load_text(text, NULL, 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(a);
    ms_status st = ms_scenario_check_round_trip(a);
    if (st != MS_OK)
        printf("\n    %s\n", ms_error_message());
    CU_ASSERT_EQUAL(st, MS_OK);
    char *ya, *yb;
    CU_ASSERT_EQUAL_FATAL(ms_scenario_to_yaml(a, &ya), MS_OK);
    ms_scenario *b = load_text(ya, NULL, 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(b);
    CU_ASSERT_EQUAL_FATAL(ms_scenario_to_yaml(b, &yb), MS_OK);
    CU_ASSERT_STRING_EQUAL(ya, yb);
    CU_ASSERT_EQUAL(memcmp(a->cd, b->cd, sizeof(double) * (size_t)a->n_markets *
                                             (size_t)a->n_markets), 0);
    ms_free(ya);
    ms_free(yb);
    ms_scenario_destroy(&a);
    return b;
}

/* Figure ids of any text and length, and distances computed from scores
 * beyond the bound of an explicit one, survive the round trip (the
 * resolved YAML quotes by content, has no fixed buffers, and gives derived
 * distances only as a comment). */
static void test_round_trip_derived(void)
{
    size_t live = ms_alloc_live_bytes();
    static const char *const figs[] = {"a: b #c", "- x", "[x", "true", "null",
                                       "7", "'q'", "line\nbreak", "\x1b[31m"};
    for (size_t i = 0; i < sizeof figs / sizeof figs[0]; i++) {
        char text[2048];
        char esc[64];
        size_t n = 0;
        for (const char *p = figs[i]; *p; p++) {
            if (*p == '\n')
                n += (size_t)snprintf(esc + n, sizeof esc - n, "\\n");
            else if (*p == '\x1b')
                n += (size_t)snprintf(esc + n, sizeof esc - n, "\\e");
            else if (*p == '"' || *p == '\\')
                n += (size_t)snprintf(esc + n, sizeof esc - n, "\\%c", *p);
            else
                esc[n++] = *p, esc[n] = '\0';
        }
        snprintf(text, sizeof text, TWO_MARKETS
                 "targets:\n  - {figure: \"%s\", measure: count, market: A, "
                 "expected: 100, tolerance: 10}\n", esc);
        ms_scenario *b = reads_back(text);
        CU_ASSERT_PTR_NOT_NULL_FATAL(b);
        CU_ASSERT_STRING_EQUAL(b->targets[0].figure, figs[i]);
        ms_scenario_destroy(&b);
    }
    /* Unicode line breaks (NEL, LS, PS) and a byte order mark, which a
     * double-quoted scalar would read as a space or drop unless escaped. */
    ms_scenario *u = reads_back(TWO_MARKETS "targets:\n  - {figure: "
                                "\"a\\Nb\\Lc\\Pd\\uFEFFe\", measure: count, "
                                "expected: 100, tolerance: 10}\n");
    CU_ASSERT_PTR_NOT_NULL_FATAL(u);
    CU_ASSERT_STRING_EQUAL(u->targets[0].figure, "a\xc2\x85" "b\xe2\x80\xa8"
                           "c\xe2\x80\xa9" "d\xef\xbb\xbf" "e");
    ms_scenario_destroy(&u);
    /* A figure id of 2000 characters, past any line buffer. */
    char *text = ms_malloc(4096);
    CU_ASSERT_PTR_NOT_NULL_FATAL(text);
    int n = snprintf(text, 4096, TWO_MARKETS "targets:\n  - figure: ");
    for (int i = 0; i < 2000; i++)
        text[n++] = (char)('a' + i % 26);
    snprintf(text + n, 4096 - (size_t)n, "\n    measure: share\n"
             "    category: x\n    expected: 0.5\n    tolerance: 0.1\n"
             "    time: 2020.5\n");
    ms_scenario *b = reads_back(text);
    CU_ASSERT_PTR_NOT_NULL_FATAL(b);
    CU_ASSERT_EQUAL(strlen(b->targets[0].figure), 2000);
    CU_ASSERT_EQUAL(b->targets[0].m.time, 2020.5);
    ms_scenario_destroy(&b);
    ms_free(text);
    /* var_pdi: 1 makes the Kogut-Singh distance 402.4, above the bound
     * 100 of an explicit distance: it is computed again, not read. */
    b = reads_back("model: {var_pdi: 1}\n" TWO_MARKETS);
    CU_ASSERT_PTR_NOT_NULL_FATAL(b);
    const ms_model_spec *mo = &b->model;
    MS_ASSERT_NEAR(b->cd[1], (40.0 * 40 / mo->var_pdi + 71.0 * 71 / mo->var_idv +
                              4.0 * 4 / mo->var_mas + 16.0 * 16 / mo->var_uai) /
                                 4, 1e-9);
    CU_ASSERT(b->cd[1] > 100);
    ms_scenario_destroy(&b);
    /* An explicit distance one way and a computed one another. */
    b = reads_back("run: {steps: 12}\n"
                   "markets:\n"
                   "  A: {population: 1000, pdi: 80, idv: 20, mas: 66, uai: 30,"
                   " distance: {C: 2.5}}\n"
                   "  B: {population: 1000, pdi: 40, idv: 91, mas: 62, uai: 46}\n"
                   "  C: {population: 1000}\n"
                   "categories: {x: {}}\n"
                   "firms: {f: {home: A, quality: {x: 0}}}\n");
    CU_ASSERT_PTR_NOT_NULL_FATAL(b);
    CU_ASSERT_EQUAL(b->cd[0 * 3 + 2], 2.5);
    CU_ASSERT_EQUAL(b->cd[2 * 3 + 0], 2.5);
    ms_scenario_destroy(&b);
    CU_ASSERT_EQUAL(ms_alloc_live_bytes(), live);
}

/* A scenario whose resolved text would not read back is refused, with
 * what goes wrong (here made so by editing a loaded scenario: a value
 * beyond its bound, and a distance the text cannot carry). */
static void test_round_trip_refused(void)
{
    size_t live = ms_alloc_live_bytes();
    ms_scenario *a = load_text(TWO_MARKETS, NULL, 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(a);
    a->markets[0].distance[1] = 500; /* bound: 100 */
    CU_ASSERT_EQUAL(ms_scenario_check_round_trip(a), MS_EINPUT);
    const char *msg = ms_error_message();
    CU_ASSERT_PTR_NOT_NULL(strstr(msg, "t.yaml: error: the resolved scenario "
                                  "(what result files and checkpoints "
                                  "store) does not read back"));
    CU_ASSERT_PTR_NOT_NULL(strstr(msg, "markets.A.distance.B: 500 is out of "
                                  "range"));
    a->markets[0].distance[1] = NAN;
    a->cd[1] = 2; /* not what the scores give, and not in the text */
    CU_ASSERT_EQUAL(ms_scenario_check_round_trip(a), MS_EINPUT);
    msg = ms_error_message();
    CU_ASSERT_PTR_NOT_NULL(strstr(msg, "reads back as a different one"));
    CU_ASSERT_PTR_NOT_NULL(strstr(msg, "'    distance: {}  # used: {B: 2}' "
                                  "becomes '    distance: {}  # used: {B: "));
    ms_scenario_destroy(&a);
    ms_error_clear();
    CU_ASSERT_EQUAL(ms_alloc_live_bytes(), live);
}

static void expect_bad(const char *text, const char *const *sets, int n,
                       const char *want1, const char *want2);

/* Targets: numbers are decimal like every other field; a time must be one
 * of the run's (not measured at the last step instead); ids are checked
 * against a catalogue. A distance that overflows is refused. */
static void test_targets_checked(void)
{
    expect_bad(TWO_MARKETS "targets:\n  - {figure: f, measure: count, "
               "market: A, expected: 0x10, tolerance: 0.1}\n", NULL, 0,
               "t.yaml:8:54: error: targets[0].expected: expected a finite "
               "decimal number, got '0x10'", NULL);
    expect_bad(TWO_MARKETS "targets:\n  - {figure: f, measure: count, "
               "market: A, time: 2031, expected: 10, tolerance: 1}\n", NULL,
               0, "t.yaml:8:50: error: targets[0].time: 2031 is outside the "
               "run", "the years 2020 to 2021");
    expect_bad(TWO_MARKETS "targets:\n  - {figure: f, measure: growth, from: "
               "2019, to: 2021, of: {measure: count}, expected: 1, "
               "tolerance: 0.1}\n", NULL, 0,
               "targets[0].from: 2019 is outside the run", NULL);
    /* The last step (2021) and the first (2020) are inside. */
    ms_scenario *s = load_text(TWO_MARKETS "targets:\n  - {figure: f, "
                               "measure: growth, from: 2020, to: 2021, of: "
                               "{measure: count}, expected: 1, tolerance: "
                               "0.1}\n", NULL, 0);
    CU_ASSERT_PTR_NOT_NULL(s);
    ms_scenario_destroy(&s);
    expect_bad("model: {var_pdi: 1e-307}\n" TWO_MARKETS, NULL, 0,
               "t.yaml:4:3: error: markets.A: the cultural distance to 'B' "
               "from the Hofstede scores is inf", "model.var_pdi");
    /* The catalogue: known ids pass, unknown ones name FILE:LINE:COL. */
    char cat[4096];
    src_path("seeds/figures.yaml", cat, sizeof cat);
    s = load_text(TWO_MARKETS "targets:\n  - {figure: alibaba_company_age, "
                  "measure: count, expected: 10, tolerance: 1}\n", NULL, 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    CU_ASSERT_EQUAL(ms_scenario_check_figures(s, cat), MS_OK);
    ms_scenario_destroy(&s);
    s = load_text(TWO_MARKETS "targets:\n  - {figure: no_such_figure, "
                  "measure: count, expected: 10, tolerance: 1}\n", NULL, 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    CU_ASSERT_EQUAL(ms_scenario_check_figures(s, cat), MS_EINPUT);
    CU_ASSERT_PTR_NOT_NULL(strstr(ms_error_message(), "t.yaml:8:14: error: "
                                  "targets[0].figure: unknown figure "
                                  "'no_such_figure'"));
    ms_scenario_destroy(&s);
}

static double dt_of(const char *val)
{
    char set[128];
    snprintf(set, sizeof set, "run.dt=%s", val);
    const char *sets[] = {set};
    ms_scenario *s = load_text(minimal, sets, 1);
    double dt = s ? s->run.dt : -1;
    ms_scenario_destroy(&s);
    return dt;
}

static void expect_bad(const char *text, const char *const *sets, int n,
                       const char *want1, const char *want2)
{
    size_t live = ms_alloc_live_bytes();
    ms_scenario *s = (ms_scenario *)1;
    ms_status st = ms_scenario_load_string(text, "t.yaml", sets, n, &s);
    CU_ASSERT_EQUAL(st, MS_EINPUT);
    CU_ASSERT_PTR_NULL(s);
    const char *msg = ms_error_message();
    int ok = strstr(msg, want1) && (!want2 || strstr(msg, want2));
    if (!ok)
        printf("\n    message \"%s\" lacks \"%s\" / \"%s\"\n", msg, want1,
               want2 ? want2 : "");
    CU_ASSERT(ok);
    CU_ASSERT_EQUAL(ms_alloc_live_bytes(), live);
}

static void test_fractions(void)
{
    CU_ASSERT_EQUAL(dt_of("1/12"), 1.0 / 12);
    CU_ASSERT_EQUAL(dt_of("1/52"), 1.0 / 52);
    CU_ASSERT_EQUAL(dt_of("3/12"), 0.25);
    CU_ASSERT_EQUAL(dt_of("1e-1/2"), 0.05);
    CU_ASSERT_EQUAL(dt_of("0.5"), 0.5);
    CU_ASSERT_EQUAL(dt_of("1"), 1);
    const char *zero[] = {"run.dt=1/0"};
    expect_bad(minimal, zero, 1, "--set run.dt=1/0: error:", "'1/0'");
    const char *two[] = {"run.dt=2/1"};
    expect_bad(minimal, two, 1, "run.dt: 2/1 is out of range", "(0, 1]");
    const char *nan[] = {"run.dt=nan"};
    expect_bad(minimal, nan, 1, "expected a finite number", NULL);
    const char *half[] = {"run.dt=1/"};
    expect_bad(minimal, half, 1, "expected a finite number", NULL);
}

static void test_error_positions(void)
{
    /* Unknown key: FILE:LINE:COL of the key, and a suggestion. */
    expect_bad("run:\n  steps: 3\n  stepz: 4\n"
               "markets: {A: {population: 1000}}\n"
               "categories: {x: {}}\n"
               "firms: {f: {home: A, quality: {x: 0}}}\n",
               NULL, 0, "t.yaml:3:3: error: run: unknown key 'stepz'",
               "did you mean 'steps'");
    expect_bad("markets:\n  A:\n    population: 1000\n    openess: 0.5\n"
               "categories: {x: {}}\n"
               "firms: {f: {home: A, quality: {x: 0}}}\n",
               NULL, 0, "t.yaml:4:5: error: markets.A: unknown key 'openess'",
               "did you mean 'openness'");
    /* All problems of the records in one message, each with its
     * position. */
    expect_bad("markets: {A: {population: -1}}\n"
               "categories: {x: {p: -2}}\n"
               "firms: {f: {home: B, quality: {x: 0}}}\n",
               NULL, 0, "t.yaml:1:27: error: markets.A.population: -1 is out "
                        "of range", "\nt.yaml:2:21: error: categories.x.p");
    expect_bad("markets: {A: {population: -1}}\n"
               "categories: {x: {p: -2}}\n"
               "firms: {f: {home: B, quality: {x: 0}}}\n",
               NULL, 0, "\nt.yaml:3:19: error: firms.f.home: unknown market "
                        "'B'", NULL);
    expect_bad("run: {steps: 0}\n"
               "model: {lambda: -1}\n"
               "markets: {A: {population: 1}}\n"
               "categories: {x: {}}\n"
               "firms: {f: {home: A, quality: {x: 0}}}\n",
               NULL, 0, "t.yaml:1:14: error: run.steps: 0 is out of range",
               "\nt.yaml:2:17: error: model.lambda");
    expect_bad("markets: {A: {population: 1000}}\n"
               "categories: {x: {}}\n"
               "firms: {f: {home: B, quality: {x: 0}}}\n",
               NULL, 0, "t.yaml:3:19: error: firms.f.home: unknown market 'B'",
               NULL);
    /* A missing required key points at the record. */
    expect_bad("markets: {A: {openness: 1}}\n"
               "categories: {x: {}}\n"
               "firms: {f: {home: A, quality: {x: 0}}}\n",
               NULL, 0, "t.yaml:1:11: error: markets.A: missing required key "
                        "'population'", NULL);
    expect_bad("", NULL, 0, "t.yaml:1:1: error: the file is empty", NULL);
    expect_bad("- a\n", NULL, 0, "t.yaml:1:1: error: a scenario is a mapping",
               NULL);
}

static void test_load_file_errors(void)
{
    ms_scenario *s = (ms_scenario *)1;
    CU_ASSERT_EQUAL(ms_scenario_load("/nonexistent/x.yaml", NULL, 0, &s),
                    MS_EINPUT);
    CU_ASSERT_PTR_NULL(s);
    CU_ASSERT_PTR_NOT_NULL(strstr(ms_error_message(), "/nonexistent/x.yaml"));
}

/* PENDING (engine bug): an error in run, model or output hides every
 * error in the records. read_tree (sim/scenario/scenario.c) returns after
 * reading those three sections when r->n_errs is set, before the markets,
 * categories and firms are read, so a user fixes a file in two passes,
 * not one as the header of scenario.c promises. */
static void test_all_errors_in_one_pass(void)
{
    expect_bad("run: {steps: 0}\n"
               "markets: {A: {population: -1}}\n"
               "categories: {x: {p: -2}}\n"
               "firms: {f: {home: A, quality: {x: 0}}}\n",
               NULL, 0, "t.yaml:1:14: error: run.steps",
               "\nt.yaml:2:27: error: markets.A.population");
    expect_bad("model: {lambda: -1}\n"
               "markets: {A: {population: 1000}}\n"
               "categories: {x: {p: -2}}\n"
               "firms: {f: {home: A, quality: {x: 0}}}\n",
               NULL, 0, "t.yaml:1:17: error: model.lambda",
               "\nt.yaml:3:21: error: categories.x.p");
}

static const ms_unit_test tests[] = {
    {"default.yaml: file values and defaults", test_default_matches_file},
    {"bound targets (min, max) and tolerances", test_target_bounds},
    {"round trip of a scenario with a bound target",
     test_round_trip_live_commerce},
    {"Kogut-Singh cultural distance", test_cultural_distance},
    {"--set reaches nested keys", test_set_overrides},
    {"round trip: default.yaml", test_round_trip_default},
    {"round trip: bench/consumers.yaml", test_round_trip_bench},
    {"round trip: awkward values", test_round_trip_awkward},
    {"round trip: figure ids, derived distances", test_round_trip_derived},
    {"round trip: a text that would not read back is refused",
     test_round_trip_refused},
    {"targets: decimal numbers, times in the run, known ids",
     test_targets_checked},
    {"fractions a/b", test_fractions},
    {"errors name FILE:LINE:COL", test_error_positions},
    {"missing file", test_load_file_errors},
    {"all errors in one pass (PENDING)", test_all_errors_in_one_pass},
    {NULL, NULL}};

MS_UNIT_MAIN("scenario", tests)
