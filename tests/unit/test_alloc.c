/*
 * test_alloc.c: the allocation wrapper and its failure hook
 * (sim/base/alloc.c), and a walk that fails every allocation of setup in
 * turn (SQLite's malloc tests are the model).
 *
 * The walk: count the allocations an operation makes, then for each n in
 * 1 .. that count run it again with the n-th allocation failing (and, in a
 * second pass, every allocation from the n-th on). Each time it must return
 * MS_ENOMEM with an "out of memory" message, hand back no object, and give
 * back every byte it took. A crash here is a crash a user would see when
 * memory runs out.
 *
 * PENDING copy: this file is the committed test with leaks in the run
 * walk failing (a known engine bug); when the bug is fixed, replace the
 * committed file with it.
 */
#include "core/world_int.h"
#include "unit/unit.h"

#include "marketsim/ms_alloc.h"
#include "marketsim/ms_run.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void test_fail_nth(void)
{
    ms_alloc_fail_at(3, 0);
    void *a = ms_malloc(10), *b = ms_malloc(10), *c = ms_malloc(10),
         *d = ms_malloc(10);
    CU_ASSERT_PTR_NOT_NULL(a);
    CU_ASSERT_PTR_NOT_NULL(b);
    CU_ASSERT_PTR_NULL(c);
    CU_ASSERT_PTR_NOT_NULL(d); /* not sticky: only the 3rd fails */
    ms_free(a);
    ms_free(b);
    ms_free(d);

    /* Every kind of allocation counts, and 1 is the very next one. */
    ms_alloc_fail_at(1, 0);
    CU_ASSERT_PTR_NULL(ms_calloc(2, 8));
    ms_alloc_fail_at(1, 0);
    CU_ASSERT_PTR_NULL(ms_strdup("abc"));
    ms_alloc_fail_at(1, 0);
    CU_ASSERT_PTR_NULL(ms_strndup("abcdef", 3));
    ms_alloc_fail_at(2, 0);
    char *s = ms_strdup("xyz");
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    char *s2 = ms_realloc(s, 1000); /* the 2nd: fails, s stays valid */
    CU_ASSERT_PTR_NULL(s2);
    CU_ASSERT_STRING_EQUAL(s, "xyz");
    s2 = ms_realloc(s, 1000);
    CU_ASSERT_PTR_NOT_NULL_FATAL(s2);
    CU_ASSERT_STRING_EQUAL(s2, "xyz");
    ms_free(s2);
    ms_alloc_fail_at(1, 0);
    CU_ASSERT_PTR_NULL(ms_realloc(NULL, 5)); /* realloc(NULL) is a malloc */

    /* Sticky: the n-th and every later one fail until turned off. */
    ms_alloc_fail_at(2, 1);
    a = ms_malloc(1);
    CU_ASSERT_PTR_NOT_NULL(a);
    for (int i = 0; i < 5; i++)
        CU_ASSERT_PTR_NULL(ms_malloc(1));
    ms_alloc_fail_at(0, 0);
    b = ms_malloc(1);
    CU_ASSERT_PTR_NOT_NULL(b);
    ms_free(a);
    ms_free(b);

    /* The count advances by one per call, failed or not. */
    unsigned long n0 = ms_alloc_count();
    ms_alloc_fail_at(2, 0);
    a = ms_malloc(4);
    b = ms_malloc(4);
    CU_ASSERT_EQUAL(ms_alloc_count(), n0 + 2);
    CU_ASSERT_PTR_NULL(b);
    ms_free(a);

    /* Sizes that cannot be had fail without the hook. */
    CU_ASSERT_PTR_NULL(ms_calloc(SIZE_MAX / 4, 8));
    CU_ASSERT_PTR_NULL(ms_malloc(SIZE_MAX - 4));
    ms_free(NULL);
}

static void test_counters(void)
{
    ms_alloc_fail_at(0, 0);
    size_t live = ms_alloc_live_bytes();
    ms_alloc_reset_peak();
    CU_ASSERT_EQUAL(ms_alloc_peak_bytes(), live);
    void *a = ms_malloc(1000);
    CU_ASSERT_EQUAL(ms_alloc_live_bytes(), live + 1000);
    void *b = ms_calloc(50, 10);
    CU_ASSERT_EQUAL(ms_alloc_live_bytes(), live + 1500);
    CU_ASSERT_EQUAL(((unsigned char *)b)[499], 0);
    ms_free(a);
    CU_ASSERT_EQUAL(ms_alloc_live_bytes(), live + 500);
    CU_ASSERT_EQUAL(ms_alloc_peak_bytes(), live + 1500);
    b = ms_realloc(b, 3000);
    CU_ASSERT_EQUAL(ms_alloc_live_bytes(), live + 3000);
    CU_ASSERT_EQUAL(ms_alloc_peak_bytes(), live + 3000);
    b = ms_realloc(b, 100);
    CU_ASSERT_EQUAL(ms_alloc_live_bytes(), live + 100);
    CU_ASSERT_EQUAL(ms_alloc_peak_bytes(), live + 3000);
    ms_alloc_reset_peak();
    CU_ASSERT_EQUAL(ms_alloc_peak_bytes(), live + 100);
    char *s = ms_strdup("hello");
    CU_ASSERT_EQUAL(ms_alloc_live_bytes(), live + 106);
    ms_free(s);
    ms_free(b);
    CU_ASSERT_EQUAL(ms_alloc_live_bytes(), live);
    /* A failed allocation takes nothing. */
    ms_alloc_fail_at(1, 0);
    CU_ASSERT_PTR_NULL(ms_malloc(64));
    CU_ASSERT_EQUAL(ms_alloc_live_bytes(), live);
    /* Memory is aligned as malloc's is (16 bytes on x86-64). */
    void *p = ms_malloc(24);
    CU_ASSERT_EQUAL((uintptr_t)p % 16, 0);
    ms_free(p);
}

static void test_env_hook(void)
{
    setenv("MARKETSIM_FAIL_ALLOC", "2", 1);
    ms_alloc_init_from_env();
    unsetenv("MARKETSIM_FAIL_ALLOC");
    void *a = ms_malloc(1), *b = ms_malloc(1), *c = ms_malloc(1);
    CU_ASSERT_PTR_NOT_NULL(a);
    CU_ASSERT_PTR_NULL(b);
    CU_ASSERT_PTR_NOT_NULL(c);
    ms_free(a);
    ms_free(c);
    /* Garbage is ignored. */
    setenv("MARKETSIM_FAIL_ALLOC", "2x", 1);
    ms_alloc_init_from_env();
    unsetenv("MARKETSIM_FAIL_ALLOC");
    a = ms_malloc(1);
    b = ms_malloc(1);
    CU_ASSERT_PTR_NOT_NULL(a);
    CU_ASSERT_PTR_NOT_NULL(b);
    ms_free(a);
    ms_free(b);
    ms_alloc_fail_at(0, 0);
}

/* ---- the walks ---- */

static const char *walk_text =
    "description: a small world for the allocation walk\n"
    "run: {seed: 2, people_per_agent: 1, steps: 3}\n"
    "output: {every: 2}\n"
    "markets:\n"
    "  A: {population: 1500, pdi: 80, idv: 20, mas: 66, uai: 30}\n"
    "  B: {population: 700, pdi: 40, idv: 91, mas: 62, uai: 46}\n"
    "categories:\n"
    "  x: {ceiling: {A: 0.5, B: 0.7}, initial_adopters: 0.3, arpu: 5}\n"
    "  y: {host: x, p_feature: 1, initial_adopters: {A: 0.2}}\n"
    "firms:\n"
    "  f: {home: A, quality: {x: 0, y: 0}, launched: [y], markets: [A, B],\n"
    "      localization: {B: 0.5}}\n"
    "  g: {home: B, quality: {x: 0.4}}\n"
    "  h: {home: A, quality: {x: 0.1, y: 0.2}}\n";

/* PENDING: fail on the leak of ms_h5_dim_record (sim/io/h5.c). */
#define WALK_RUN_LEAKS_OK 0

typedef enum { OP_SCENARIO, OP_YAML, OP_WORLD, OP_RUN } op_kind;

static const ms_scenario *walk_sc;
static char walk_out[256];

/* Run the operation once; *made says whether it handed back an object. */
static ms_status run_op(op_kind op, int threads, int *made)
{
    *made = 0;
    switch (op) {
    case OP_SCENARIO: {
        ms_scenario *s = (ms_scenario *)1;
        const char *sets[] = {"markets.B.openness=0.5", "firms.g.markets=[A, B]"};
        ms_status st = ms_scenario_load_string(walk_text, "walk.yaml", sets, 2,
                                               &s);
        *made = s != NULL;
        if (st == MS_OK)
            ms_scenario_destroy(&s);
        return st;
    }
    case OP_YAML: {
        char *y = NULL;
        ms_status st = ms_scenario_to_yaml(walk_sc, &y);
        *made = y != NULL;
        ms_free(y);
        return st;
    }
    case OP_WORLD: {
        ms_world *w = (ms_world *)1;
        ms_status st = ms_world_create(walk_sc, threads, &w);
        *made = w != NULL;
        if (st == MS_OK) {
            /* The step loop allocates nothing. */
            unsigned long n0 = ms_alloc_count();
            for (int i = 0; i < 3; i++)
                if (ms_world_step(w) != MS_OK)
                    st = MS_EINTERNAL;
            if (ms_alloc_count() != n0)
                st = MS_EINTERNAL;
            ms_world_destroy(&w);
        }
        return st;
    }
    case OP_RUN: {
        ms_run_opts o;
        memset(&o, 0, sizeof o);
        o.out_path = walk_out;
        o.threads = threads;
        o.check = 1;
        o.command = "test_alloc";
        ms_run_result r;
        ms_status st = ms_run(walk_sc, &o, &r);
        *made = access(walk_out, F_OK) == 0;
        remove(walk_out);
        return st;
    }
    }
    return MS_EINTERNAL;
}

/* Returns the number of allocations the operation makes. With
 * `leaks_ok`, leaks are reported but not failed (see test_walk_run). */
static unsigned long walk(op_kind op, const char *name, int threads,
                          int leaks_ok)
{
    int made;
    size_t live = ms_alloc_live_bytes();
    unsigned long n0 = ms_alloc_count();
    ms_status st = run_op(op, threads, &made);
    unsigned long total = ms_alloc_count() - n0;
    CU_ASSERT_EQUAL_FATAL(st, MS_OK);
    CU_ASSERT_EQUAL(ms_alloc_live_bytes(), live);
    CU_ASSERT(total > 0);
    char partial[300];
    snprintf(partial, sizeof partial, "%s.partial", walk_out);
    int bad_status = 0, leaks = 0, objects = 0, bad_msg = 0, files = 0;
    for (int sticky = 0; sticky < 2; sticky++)
        for (unsigned long n = 1; n <= total; n++) {
            ms_error_clear();
            ms_alloc_fail_at(n, sticky);
            st = run_op(op, threads, &made);
            ms_alloc_fail_at(0, 0);
            if (st != MS_ENOMEM) {
                if (bad_status++ < 5)
                    printf("\n    %s: failing allocation %lu%s gave %s: %s",
                           name, n, sticky ? "+" : "", ms_status_name(st),
                           ms_error_message());
            } else if (!strstr(ms_error_message(), "out of memory")) {
                if (bad_msg++ < 5)
                    printf("\n    %s: failing allocation %lu%s: message "
                           "\"%s\"", name, n, sticky ? "+" : "",
                           ms_error_message());
            }
            if (made && op != OP_RUN) {
                if (objects++ < 5)
                    printf("\n    %s: failing allocation %lu%s still "
                           "handed back an object", name, n,
                           sticky ? "+" : "");
            }
            if (ms_alloc_live_bytes() != live) {
                if (leaks++ < 5)
                    printf("\n    %s: failing allocation %lu%s leaked %ld "
                           "bytes", name, n, sticky ? "+" : "",
                           (long)(ms_alloc_live_bytes() - live));
                live = ms_alloc_live_bytes();
            }
            if ((op == OP_RUN && made) || access(partial, F_OK) == 0) {
                if (files++ < 5)
                    printf("\n    %s: failing allocation %lu%s left a "
                           "result file", name, n, sticky ? "+" : "");
                remove(walk_out);
                remove(partial);
            }
        }
    printf("\n    %s: walked %lu allocation sites (x2: single and sticky)",
           name, total);
    CU_ASSERT_EQUAL(bad_status, 0);
    CU_ASSERT_EQUAL(bad_msg, 0);
    CU_ASSERT_EQUAL(objects, 0);
    if (!leaks_ok)
        CU_ASSERT_EQUAL(leaks, 0);
    CU_ASSERT_EQUAL(files, 0);
    return total;
}

static ms_scenario *walk_scenario(void)
{
    ms_scenario *sc = NULL;
    ms_status st = ms_scenario_load_string(walk_text, "walk.yaml", NULL, 0,
                                           &sc);
    if (st != MS_OK)
        printf("\n    %s\n", ms_error_message());
    CU_ASSERT_EQUAL_FATAL(st, MS_OK);
    return sc;
}

static void test_walk_scenario(void)
{
    ms_scenario *sc = walk_scenario();
    walk_sc = sc;
    walk(OP_SCENARIO, "scenario load", 1, 0);
    walk(OP_YAML, "resolved YAML", 1, 0);
    ms_scenario_destroy(&sc);
}

static void test_walk_world(void)
{
    ms_scenario *sc = walk_scenario();
    walk_sc = sc;
    unsigned long n1 = walk(OP_WORLD, "world create (1 thread)", 1, 0);
    unsigned long n2 = walk(OP_WORLD, "world create (2 threads)", 2, 0);
    /* Per-thread scratch: more threads, more allocations. */
    CU_ASSERT(n2 > n1);
    ms_scenario_destroy(&sc);
}

static void test_walk_run(void)
{
    ms_scenario *sc = walk_scenario();
    walk_sc = sc;
    snprintf(walk_out, sizeof walk_out, "/tmp/ms_test_alloc_%ld.h5",
             (long)getpid());
    /* Known engine bug: ms_h5_dim_record (sim/io/h5.c) leaks its var
     * and a dataset handle when add_dim runs out of memory, so leaks are
     * only reported here; test_alloc.c.pending fails on them. */
    walk(OP_RUN, "run with output", 1, WALK_RUN_LEAKS_OK);
    ms_scenario_destroy(&sc);
}

static const ms_unit_test tests[] = {
    {"fail the n-th allocation", test_fail_nth},
    {"live and peak bytes", test_counters},
    {"MARKETSIM_FAIL_ALLOC", test_env_hook},
    {"walk: scenario load and resolved YAML", test_walk_scenario},
    {"walk: world create", test_walk_world},
    {"walk: run with output", test_walk_run},
    {NULL, NULL}};

MS_UNIT_MAIN("alloc", tests)
