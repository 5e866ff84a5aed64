/*
 * test_yamltree.c: the YAML tree with source positions, and --set edits of
 * it (sim/scenario/yamltree.c).
 *
 * Positions are 1-based (line, column) of where libyaml starts a node: the
 * first character of a scalar, the first key of a block mapping, the '-' of
 * a block sequence, the bracket of a flow collection. Every test also
 * checks that destroying the tree gives back every byte it allocated.
 */
#include "scenario/yamltree.h"
#include "unit/unit.h"

#include "marketsim/ms_alloc.h"

#include <stdlib.h>
#include <string.h>

static ms_ytree *parse(const char *text)
{
    ms_ytree *t = NULL;
    ms_status st = ms_ytree_parse_string(text, strlen(text), "t.yaml", &t);
    if (st != MS_OK)
        printf("\n    unexpected parse error: %s\n", ms_error_message());
    CU_ASSERT_EQUAL(st, MS_OK);
    return t;
}

/* The node at a dotted path of map keys ("a.b.c"); NULL if absent. */
static const ms_ynode *at(ms_ytree *t, const char *path)
{
    const ms_ynode *n = ms_ytree_root(t);
    char buf[256];
    snprintf(buf, sizeof buf, "%s", path);
    for (char *p = strtok(buf, "."); p && n; p = strtok(NULL, "."))
        n = ms_ynode_get(n, p);
    return n;
}

#define ASSERT_POS(node, l, c)                                             \
    do {                                                                   \
        const ms_ynode *n_ = (node);                                       \
        CU_ASSERT_PTR_NOT_NULL_FATAL(n_);                                  \
        if (n_->line != (l) || n_->col != (c))                             \
            printf("\n    %s:%d: %s at %d:%d, expected %d:%d\n", __FILE__, \
                   __LINE__, #node, n_->line, n_->col, (l), (c));          \
        CU_ASSERT_EQUAL(n_->line, (l));                                    \
        CU_ASSERT_EQUAL(n_->col, (c));                                     \
    } while (0)

static const char *nested =
    "run:\n"                          /* line 1 */
    "  steps: 12\n"                   /* line 2 */
    "  list:\n"                       /* line 3 */
    "    - a\n"                       /* line 4 */
    "    - {x: 1, y: [2, 'three']}\n" /* line 5 */
    "top: 'quoted'\n"                 /* line 6 */
    "flow: [CN, US]\n";               /* line 7 */

static void test_nested_positions(void)
{
    size_t live = ms_alloc_live_bytes();
    ms_ytree *t = parse(nested);
    CU_ASSERT_PTR_NOT_NULL_FATAL(t);
    CU_ASSERT_STRING_EQUAL(ms_ytree_source(t), "t.yaml");
    const ms_ynode *root = ms_ytree_root(t);
    CU_ASSERT_PTR_NOT_NULL_FATAL(root);
    CU_ASSERT_EQUAL(root->kind, MS_YNODE_MAP);
    CU_ASSERT_EQUAL(root->n, 3);
    ASSERT_POS(root, 1, 1);
    CU_ASSERT_STRING_EQUAL(root->keys[0], "run");
    CU_ASSERT_STRING_EQUAL(root->keys[1], "top");
    CU_ASSERT_STRING_EQUAL(root->keys[2], "flow");

    /* Keys: their own nodes and positions. */
    ASSERT_POS(ms_ynode_key_node(root, "run"), 1, 1);
    ASSERT_POS(ms_ynode_key_node(root, "top"), 6, 1);
    ASSERT_POS(ms_ynode_key_node(root, "flow"), 7, 1);
    CU_ASSERT_PTR_NULL(ms_ynode_key_node(root, "absent"));
    CU_ASSERT_PTR_NULL(ms_ynode_get(root, "absent"));
    ASSERT_POS(ms_ynode_key_node(at(t, "run"), "steps"), 2, 3);
    ASSERT_POS(ms_ynode_key_node(at(t, "run"), "list"), 3, 3);

    /* The block mapping under run starts at its first key. */
    const ms_ynode *run = at(t, "run");
    CU_ASSERT_EQUAL(run->kind, MS_YNODE_MAP);
    CU_ASSERT_EQUAL(run->n, 2);
    ASSERT_POS(run, 2, 3);
    const ms_ynode *steps = at(t, "run.steps");
    CU_ASSERT_EQUAL(steps->kind, MS_YNODE_SCALAR);
    CU_ASSERT_STRING_EQUAL(steps->value, "12");
    CU_ASSERT_EQUAL(steps->plain, 1);
    ASSERT_POS(steps, 2, 10);

    /* A block sequence starts at its first '-'. */
    const ms_ynode *list = at(t, "run.list");
    CU_ASSERT_EQUAL_FATAL(list->kind, MS_YNODE_SEQ);
    CU_ASSERT_EQUAL_FATAL(list->n, 2);
    ASSERT_POS(list, 4, 5);
    CU_ASSERT_STRING_EQUAL(list->items[0]->value, "a");
    ASSERT_POS(list->items[0], 4, 7);

    /* A flow mapping inside it, and a flow sequence inside that. */
    const ms_ynode *fm = list->items[1];
    CU_ASSERT_EQUAL_FATAL(fm->kind, MS_YNODE_MAP);
    ASSERT_POS(fm, 5, 7);
    CU_ASSERT_EQUAL(fm->n, 2);
    ASSERT_POS(ms_ynode_key_node(fm, "x"), 5, 8);
    ASSERT_POS(ms_ynode_get(fm, "x"), 5, 11);
    ASSERT_POS(ms_ynode_key_node(fm, "y"), 5, 14);
    const ms_ynode *y = ms_ynode_get(fm, "y");
    CU_ASSERT_EQUAL_FATAL(y->kind, MS_YNODE_SEQ);
    ASSERT_POS(y, 5, 17);
    CU_ASSERT_EQUAL_FATAL(y->n, 2);
    ASSERT_POS(y->items[0], 5, 18);
    ASSERT_POS(y->items[1], 5, 21);
    CU_ASSERT_STRING_EQUAL(y->items[1]->value, "three");
    CU_ASSERT_EQUAL(y->items[1]->plain, 0);

    const ms_ynode *top = at(t, "top");
    CU_ASSERT_STRING_EQUAL(top->value, "quoted");
    CU_ASSERT_EQUAL(top->plain, 0);
    ASSERT_POS(top, 6, 6);
    const ms_ynode *flow = at(t, "flow");
    CU_ASSERT_EQUAL_FATAL(flow->kind, MS_YNODE_SEQ);
    CU_ASSERT_EQUAL_FATAL(flow->n, 2);
    CU_ASSERT_STRING_EQUAL(flow->items[0]->value, "CN");
    CU_ASSERT_STRING_EQUAL(flow->items[1]->value, "US");
    ASSERT_POS(flow->items[1], 7, 12);

    /* ms_ynode_get on a non-map is NULL, not a crash. */
    CU_ASSERT_PTR_NULL(ms_ynode_get(flow, "x"));
    CU_ASSERT_PTR_NULL(ms_ynode_get(NULL, "x"));
    CU_ASSERT_PTR_NULL(ms_ynode_key_node(steps, "x"));

    char where[128];
    ms_ynode_where(steps, where, sizeof where);
    CU_ASSERT_STRING_EQUAL(where, "t.yaml:2:10");
    ms_ynode_where(NULL, where, sizeof where);
    CU_ASSERT_STRING_EQUAL(where, "?");

    ms_ytree_destroy(&t);
    CU_ASSERT_PTR_NULL(t);
    ms_ytree_destroy(&t); /* NULL is accepted */
    ms_ytree_destroy(NULL);
    CU_ASSERT_EQUAL(ms_alloc_live_bytes(), live);
}

/* Column counts characters, not bytes (libyaml's marks). */
static void test_utf8_columns(void)
{
    ms_ytree *t = parse("name: \"Zürich\"\nnext: 1\nk\xc3\xbc: 2\n");
    CU_ASSERT_PTR_NOT_NULL_FATAL(t);
    CU_ASSERT_STRING_EQUAL(at(t, "name")->value, "Z\xc3\xbcrich");
    ASSERT_POS(at(t, "next"), 2, 7);
    ASSERT_POS(at(t, "k\xc3\xbc"), 3, 5); /* 'kü: ' is 4 characters */
    ms_ytree_destroy(&t);
}

static void expect_error(const char *text, ms_status code, const char *want1,
                         const char *want2)
{
    size_t live = ms_alloc_live_bytes();
    ms_ytree *t = (ms_ytree *)1;
    ms_status st = ms_ytree_parse_string(text, strlen(text), "t.yaml", &t);
    CU_ASSERT_EQUAL(st, code);
    CU_ASSERT_PTR_NULL(t);
    const char *msg = ms_error_message();
    int ok1 = strstr(msg, want1) != NULL;
    int ok2 = !want2 || strstr(msg, want2) != NULL;
    if (!ok1 || !ok2)
        printf("\n    message \"%s\" lacks \"%s\"%s%s\n", msg, want1,
               want2 ? " or " : "", want2 ? want2 : "");
    CU_ASSERT(ok1);
    CU_ASSERT(ok2);
    CU_ASSERT_EQUAL(ms_alloc_live_bytes(), live);
}

static void test_duplicate_key(void)
{
    expect_error("a: 1\nb: 2\na: 3\n", MS_EINPUT, "t.yaml:3:1:",
                 "duplicate key 'a' (first given at line 1)");
    /* Nested: the message names the path of the mapping too. */
    expect_error("run:\n  steps: 1\n  dt: 1\n  steps: 2\n", MS_EINPUT,
                 "t.yaml:4:3:", "run: duplicate key 'steps' (first given at "
                                "line 2)");
    expect_error("m: {x: 1, x: 2}\n", MS_EINPUT, "t.yaml:1:11:",
                 "duplicate key 'x'");
}

static void test_other_errors(void)
{
    expect_error("a: &x 1\nb: *x\n", MS_EINPUT, "t.yaml:2:4:", "aliases");
    expect_error("a: 1\n---\nb: 2\n", MS_EINPUT, "t.yaml:2:1:",
                 "second YAML document");
    expect_error("? [a, b]\n: 1\n", MS_EINPUT, "t.yaml:1:3:",
                 "a key must be a plain name, not a list");
    expect_error("a: [1, 2\nb: 3\n", MS_EINPUT, "t.yaml:", "YAML syntax");
    expect_error("a:\n\tb: 1\n", MS_EINPUT, "t.yaml:2:", "tab");
}

static void test_empty_document(void)
{
    const char *empties[] = {"", "\n\n", "# only a comment\n", "  \n# x\n"};
    for (size_t i = 0; i < sizeof empties / sizeof *empties; i++) {
        ms_ytree *t = parse(empties[i]);
        CU_ASSERT_PTR_NOT_NULL_FATAL(t);
        CU_ASSERT_PTR_NULL(ms_ytree_root(t));
        ms_ytree_destroy(&t);
    }
    /* An explicit document with nothing in it holds one null: an empty
     * plain scalar (YAML 1.1), so the reader can say what it found. */
    ms_ytree *t = parse("---\n");
    CU_ASSERT_PTR_NOT_NULL_FATAL(t);
    const ms_ynode *r = ms_ytree_root(t);
    CU_ASSERT_PTR_NOT_NULL_FATAL(r);
    CU_ASSERT_EQUAL(r->kind, MS_YNODE_SCALAR);
    CU_ASSERT_STRING_EQUAL(r->value, "");
    CU_ASSERT_EQUAL(r->plain, 1);
    ms_ytree_destroy(&t);
}

static void test_nul_byte(void)
{
    size_t live = ms_alloc_live_bytes();
    static const char text[] = "a: 1\nb: x\0y\nc: 3\n";
    ms_ytree *t = (ms_ytree *)1;
    ms_status st = ms_ytree_parse_string(text, sizeof text - 1, "bin.yaml",
                                         &t);
    CU_ASSERT_EQUAL(st, MS_EINPUT);
    CU_ASSERT_PTR_NULL(t);
    CU_ASSERT_PTR_NOT_NULL(strstr(ms_error_message(), "bin.yaml:2:"));
    CU_ASSERT_PTR_NOT_NULL(strstr(ms_error_message(), "NUL"));
    CU_ASSERT_PTR_NOT_NULL(strstr(ms_error_message(), "byte 9"));
    CU_ASSERT_EQUAL(ms_alloc_live_bytes(), live);
}

static const ms_ynode *seti(ms_ytree *t, const char *arg)
{
    ms_status st = ms_ytree_set(t, arg);
    if (st != MS_OK)
        printf("\n    --set %s failed: %s\n", arg, ms_error_message());
    CU_ASSERT_EQUAL(st, MS_OK);
    return ms_ytree_root(t);
}

static void test_set(void)
{
    size_t live = ms_alloc_live_bytes();
    ms_ytree *t = parse("run:\n  steps: 12\nmarkets:\n  CN: {population: 1}\n");
    CU_ASSERT_PTR_NOT_NULL_FATAL(t);

    /* Replace an existing value: same key count, new text, no position. */
    seti(t, "run.steps=240");
    const ms_ynode *steps = at(t, "run.steps");
    CU_ASSERT_STRING_EQUAL(steps->value, "240");
    CU_ASSERT_EQUAL(steps->line, 0);
    CU_ASSERT_EQUAL(at(t, "run")->n, 1);
    char where[128];
    ms_ynode_where(steps, where, sizeof where);
    CU_ASSERT_STRING_EQUAL(where, "--set run.steps=240");
    /* The key keeps its file position. */
    ASSERT_POS(ms_ynode_key_node(at(t, "run"), "steps"), 2, 3);

    /* New key in an existing map. */
    seti(t, "markets.CN.openness=0.5");
    CU_ASSERT_STRING_EQUAL(at(t, "markets.CN.openness")->value, "0.5");
    CU_ASSERT_STRING_EQUAL(at(t, "markets.CN.population")->value, "1");
    CU_ASSERT_EQUAL(at(t, "markets.CN")->n, 2);

    /* Missing maps on the way are created. */
    seti(t, "categories.X.arpu.US=7");
    const ms_ynode *cat = at(t, "categories");
    CU_ASSERT_PTR_NOT_NULL_FATAL(cat);
    CU_ASSERT_EQUAL(cat->kind, MS_YNODE_MAP);
    CU_ASSERT_EQUAL(at(t, "categories.X")->kind, MS_YNODE_MAP);
    CU_ASSERT_EQUAL(at(t, "categories.X.arpu")->kind, MS_YNODE_MAP);
    CU_ASSERT_STRING_EQUAL(at(t, "categories.X.arpu.US")->value, "7");
    CU_ASSERT_EQUAL(ms_ytree_root(t)->n, 3);

    /* A list value is parsed as YAML. */
    seti(t, "firms.F.markets=[CN, US]");
    const ms_ynode *l = at(t, "firms.F.markets");
    CU_ASSERT_PTR_NOT_NULL_FATAL(l);
    CU_ASSERT_EQUAL_FATAL(l->kind, MS_YNODE_SEQ);
    CU_ASSERT_EQUAL_FATAL(l->n, 2);
    CU_ASSERT_STRING_EQUAL(l->items[0]->value, "CN");
    CU_ASSERT_STRING_EQUAL(l->items[1]->value, "US");
    /* ... and a map value, replacing a scalar. */
    seti(t, "run.steps={a: 1}");
    CU_ASSERT_EQUAL(at(t, "run.steps")->kind, MS_YNODE_MAP);
    CU_ASSERT_STRING_EQUAL(at(t, "run.steps.a")->value, "1");
    /* An empty value is an empty plain scalar. */
    seti(t, "run.dt=");
    CU_ASSERT_EQUAL(at(t, "run.dt")->kind, MS_YNODE_SCALAR);
    CU_ASSERT_STRING_EQUAL(at(t, "run.dt")->value, "");
    /* '=' in the value belongs to the value. */
    seti(t, "run.note=a=b");
    CU_ASSERT_STRING_EQUAL(at(t, "run.note")->value, "a=b");

    /* A path through a scalar or a list is refused and changes nothing. */
    CU_ASSERT_EQUAL(ms_ytree_set(t, "markets.CN.population.x=1"), MS_EINPUT);
    CU_ASSERT_PTR_NOT_NULL(strstr(ms_error_message(),
                                  "'markets.CN.population' holds a value"));
    CU_ASSERT_PTR_NOT_NULL(strstr(ms_error_message(), "no key 'x'"));
    CU_ASSERT_STRING_EQUAL(at(t, "markets.CN.population")->value, "1");
    CU_ASSERT_EQUAL(ms_ytree_set(t, "firms.F.markets.x=1"), MS_EINPUT);
    CU_ASSERT_PTR_NOT_NULL(strstr(ms_error_message(), "holds a list"));

    /* Malformed arguments. */
    CU_ASSERT_EQUAL(ms_ytree_set(t, "run.steps"), MS_EUSAGE);
    CU_ASSERT_PTR_NOT_NULL(strstr(ms_error_message(), "KEY=VALUE"));
    CU_ASSERT_EQUAL(ms_ytree_set(t, "=3"), MS_EUSAGE);
    CU_ASSERT_EQUAL(ms_ytree_set(t, "run..steps=3"), MS_EUSAGE);
    CU_ASSERT_PTR_NOT_NULL(strstr(ms_error_message(), "empty key part"));
    CU_ASSERT_EQUAL(ms_ytree_set(t, "run.steps=[1, 2"), MS_EINPUT);
    CU_ASSERT_PTR_NOT_NULL(strstr(ms_error_message(), "--set run.steps=[1, 2"));

    ms_ytree_destroy(&t);
    CU_ASSERT_EQUAL(ms_alloc_live_bytes(), live);
}

static void test_set_on_empty_and_nonmap(void)
{
    size_t live = ms_alloc_live_bytes();
    ms_ytree *t = parse("");
    CU_ASSERT_PTR_NOT_NULL_FATAL(t);
    seti(t, "run.seed=3");
    CU_ASSERT_PTR_NOT_NULL_FATAL(ms_ytree_root(t));
    CU_ASSERT_EQUAL(ms_ytree_root(t)->kind, MS_YNODE_MAP);
    CU_ASSERT_STRING_EQUAL(at(t, "run.seed")->value, "3");
    ms_ytree_destroy(&t);

    t = parse("- a\n- b\n");
    CU_ASSERT_PTR_NOT_NULL_FATAL(t);
    CU_ASSERT_EQUAL(ms_ytree_set(t, "run.seed=3"), MS_EINPUT);
    CU_ASSERT_PTR_NOT_NULL(strstr(ms_error_message(), "not a mapping"));
    ms_ytree_destroy(&t);
    CU_ASSERT_EQUAL(ms_alloc_live_bytes(), live);
}

static void test_parse_file(void)
{
    char path[64] = "/tmp/ms_test_yamltree_XXXXXX";
    int fd = mkstemp(path);
    CU_ASSERT_FATAL(fd >= 0);
    FILE *f = fdopen(fd, "w");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    fputs("# comment\nmarkets:\n  CN: {population: 1.41e9}\n", f);
    fclose(f);
    ms_ytree *t = NULL;
    CU_ASSERT_EQUAL_FATAL(ms_ytree_parse_file(path, &t), MS_OK);
    CU_ASSERT_STRING_EQUAL(ms_ytree_source(t), path);
    const ms_ynode *pop = at(t, "markets.CN.population");
    CU_ASSERT_PTR_NOT_NULL_FATAL(pop);
    CU_ASSERT_STRING_EQUAL(pop->value, "1.41e9");
    ASSERT_POS(pop, 3, 20);
    CU_ASSERT_STRING_EQUAL(pop->src, path);
    ms_ytree_destroy(&t);
    remove(path);
    CU_ASSERT_EQUAL(ms_ytree_parse_file(path, &t), MS_EINPUT);
    CU_ASSERT_PTR_NULL(t);
    CU_ASSERT_PTR_NOT_NULL(strstr(ms_error_message(), "cannot open"));
}

static const ms_unit_test tests[] = {
    {"nested maps and lists with positions", test_nested_positions},
    {"columns count UTF-8 characters", test_utf8_columns},
    {"duplicate keys name both lines", test_duplicate_key},
    {"aliases, documents, complex keys, syntax", test_other_errors},
    {"empty document has no root", test_empty_document},
    {"NUL byte refused", test_nul_byte},
    {"--set edits", test_set},
    {"--set on empty and non-map roots", test_set_on_empty_and_nonmap},
    {"parse a file", test_parse_file},
    {NULL, NULL}};

MS_UNIT_MAIN("yamltree", tests)
