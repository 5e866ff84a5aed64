/*
 * yamltree.c: libyaml events -> ms_ynode tree, and --set edits of the tree.
 *
 * The whole input is read into memory first, so empty files, NUL bytes and
 * oversized files get their own clear messages before libyaml sees them.
 * Aliases and multiple documents are refused: a scenario is one plain
 * document, and refusing them keeps the reader simple and the errors clear.
 */
#include "scenario/yamltree.h"

#include "marketsim/ms_alloc.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml.h>

#define MAX_DEPTH 64
#define MAX_INPUT (64u << 20) /* 64 MiB: far above any scenario */

struct ms_ytree {
    char *src;            /* name shown in messages */
    ms_ynode *root;
    ms_ynode **nodes;     /* every node, for destroy */
    size_t n_nodes, cap_nodes;
    char **strs;          /* extra source names made by --set */
    size_t n_strs, cap_strs;
};

static ms_status grow(void **arr, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap)
        return MS_OK;
    size_t nc = *cap ? *cap * 2 : 16;
    while (nc < need)
        nc *= 2;
    void *p = ms_realloc(*arr, nc * elem);
    if (!p)
        return MS_ERROR(MS_ENOMEM, "out of memory reading YAML");
    *arr = p;
    *cap = nc;
    return MS_OK;
}

static ms_status node_new(ms_ytree *t, ms_ynode_kind kind, const char *src,
                          int line, int col, ms_ynode **out)
{
    MS_CALL(grow((void **)&t->nodes, &t->cap_nodes, t->n_nodes + 1,
                 sizeof *t->nodes));
    ms_ynode *n = ms_calloc(1, sizeof *n);
    if (!n)
        return MS_ERROR(MS_ENOMEM, "out of memory reading YAML");
    n->kind = kind;
    n->src = src;
    n->line = line;
    n->col = col;
    t->nodes[t->n_nodes++] = n;
    *out = n;
    return MS_OK;
}

static void node_free(ms_ynode *n)
{
    ms_free(n->value);
    if (n->keys)
        for (size_t i = 0; i < n->n; i++)
            ms_free(n->keys[i]);
    ms_free(n->keys);
    ms_free(n->key_nodes);
    ms_free(n->items);
    ms_free(n->index);
    ms_free(n);
}

void ms_ytree_destroy(ms_ytree **tp)
{
    if (!tp || !*tp)
        return;
    ms_ytree *t = *tp;
    for (size_t i = 0; i < t->n_nodes; i++)
        node_free(t->nodes[i]);
    ms_free(t->nodes);
    for (size_t i = 0; i < t->n_strs; i++)
        ms_free(t->strs[i]);
    ms_free(t->strs);
    ms_free(t->src);
    ms_free(t);
    *tp = NULL;
}

ms_ynode *ms_ytree_root(ms_ytree *t) { return t->root; }
const char *ms_ytree_source(const ms_ytree *t) { return t->src; }

/* ---- key index of large maps ----
 *
 * A scenario may hold up to 65000 firms. Looking keys up one by one made
 * the duplicate-key check and the reader quadratic (a minute for 65000
 * firms, hours for the million a hostile file may list before the reader
 * refuses it), so maps of INDEX_MIN keys or more get an open-addressing
 * hash index. */

#define INDEX_MIN 16

static size_t key_hash(const char *s)
{
    uint64_t h = 14695981039346656037u; /* FNV-1a */
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211u;
    return (size_t)h;
}

static void index_put(size_t *index, size_t cap, char *const *keys, size_t i)
{
    size_t j = key_hash(keys[i]) & (cap - 1);
    while (index[j])
        j = (j + 1) & (cap - 1);
    index[j] = i + 1;
}

/* Room in the index of `map` for `n` keys (none needed below INDEX_MIN).
 * Allocates before the map changes, so a failure leaves it as it was. */
static ms_status index_reserve(ms_ynode *map, size_t n)
{
    if (n < INDEX_MIN || (map->index && 2 * n <= map->index_cap))
        return MS_OK;
    size_t cap = map->index_cap ? map->index_cap : 2 * INDEX_MIN;
    while (cap < 2 * n)
        cap *= 2;
    size_t *idx = ms_calloc(cap, sizeof *idx);
    if (!idx)
        return MS_ERROR(MS_ENOMEM, "out of memory reading YAML");
    for (size_t i = 0; i < map->n; i++)
        index_put(idx, cap, map->keys, i);
    ms_free(map->index);
    map->index = idx;
    map->index_cap = cap;
    return MS_OK;
}

/* Position of `key` in `map`, or -1. */
static ptrdiff_t key_pos(const ms_ynode *map, const char *key)
{
    if (!map || map->kind != MS_YNODE_MAP)
        return -1;
    if (map->index) {
        size_t mask = map->index_cap - 1;
        for (size_t j = key_hash(key) & mask; map->index[j];
             j = (j + 1) & mask)
            if (strcmp(map->keys[map->index[j] - 1], key) == 0)
                return (ptrdiff_t)(map->index[j] - 1);
        return -1;
    }
    for (size_t i = 0; i < map->n; i++)
        if (strcmp(map->keys[i], key) == 0)
            return (ptrdiff_t)i;
    return -1;
}

/* Append an item to a sequence, or a key/value pair to a map. */
static ms_status node_append(ms_ynode *parent, const char *key,
                             ms_ynode *key_node, ms_ynode *item)
{
    size_t n = parent->n + 1;
    if (n > parent->cap) {
        /* Doubling: appending a million items copies each a few times. */
        size_t nc = parent->cap ? 2 * parent->cap : 4;
        ms_ynode **it = ms_realloc(parent->items, nc * sizeof *it);
        if (!it)
            return MS_ERROR(MS_ENOMEM, "out of memory reading YAML");
        parent->items = it;
        if (parent->kind == MS_YNODE_MAP) {
            char **k = ms_realloc(parent->keys, nc * sizeof *k);
            if (!k)
                return MS_ERROR(MS_ENOMEM, "out of memory reading YAML");
            parent->keys = k;
            ms_ynode **kn = ms_realloc(parent->key_nodes, nc * sizeof *kn);
            if (!kn)
                return MS_ERROR(MS_ENOMEM, "out of memory reading YAML");
            parent->key_nodes = kn;
        }
        parent->cap = nc;
    }
    ms_ynode **items = parent->items;
    if (parent->kind == MS_YNODE_MAP) {
        char **keys = parent->keys;
        ms_ynode **kn = parent->key_nodes;
        MS_CALL(index_reserve(parent, n));
        keys[parent->n] = ms_strdup(key);
        if (!keys[parent->n])
            return MS_ERROR(MS_ENOMEM, "out of memory reading YAML");
        kn[parent->n] = key_node;
        if (parent->index)
            index_put(parent->index, parent->index_cap, keys, parent->n);
    }
    items[parent->n] = item;
    parent->n = n;
    return MS_OK;
}

ms_ynode *ms_ynode_get(const ms_ynode *map, const char *key)
{
    ptrdiff_t i = key_pos(map, key);
    return i < 0 ? NULL : map->items[i];
}

const ms_ynode *ms_ynode_key_node(const ms_ynode *map, const char *key)
{
    ptrdiff_t i = key_pos(map, key);
    return i < 0 ? NULL : map->key_nodes[i];
}

void ms_ynode_where(const ms_ynode *n, char *buf, size_t size)
{
    if (!n)
        snprintf(buf, size, "?");
    else if (n->line > 0)
        snprintf(buf, size, "%s:%d:%d", n->src, n->line, n->col);
    else
        snprintf(buf, size, "%s", n->src);
}

/* "SRC:LINE:COL", or just SRC for a --set value (no_pos), where it has no
 * lines of its own. */
static void where_at(char *buf, size_t size, const char *src, int no_pos,
                     unsigned long line, unsigned long col)
{
    if (no_pos)
        snprintf(buf, size, "%s", src);
    else
        snprintf(buf, size, "%s:%lu:%lu", src, line, col);
}

/* The byte at a libyaml mark (line and column count characters), or 0. */
static char char_at(const char *text, size_t len, yaml_mark_t m)
{
    size_t i = 0;
    for (size_t line = 0; line < m.line && i < len; i++)
        line += text[i] == '\n';
    for (size_t col = 0; i < len && text[i] != '\n'; i++) {
        if (((unsigned char)text[i] & 0xC0) == 0x80)
            continue; /* inside a UTF-8 character */
        if (col++ == m.column)
            return text[i];
    }
    return 0;
}

static ms_status yaml_problem(const char *src, const yaml_parser_t *p,
                              int no_pos, const char *text, size_t len)
{
    const char *what = p->problem ? p->problem : "malformed YAML";
    const char *ctx = p->context ? p->context : NULL;
    char where[512];
    if (p->error == YAML_READER_ERROR) {
        /* libyaml gives only the byte offset of a bad byte: find its line. */
        unsigned long line = 1, col = 1;
        for (size_t i = 0; i < p->problem_offset && i < len; i++, col++)
            if (text[i] == '\n') {
                line++;
                col = 0;
            }
        where_at(where, sizeof where, src, no_pos, line, col);
        return MS_ERROR(MS_EINPUT,
                        "%s: error: cannot read the file as UTF-8 text "
                        "(%s at byte %lu); save it as UTF-8, or is it not a "
                        "scenario file?",
                        where, what, (unsigned long)p->problem_offset);
    }
    where_at(where, sizeof where, src, no_pos, p->problem_mark.line + 1,
             p->problem_mark.column + 1);
    /* libyaml's message for a tab does not say "tab". */
    if (char_at(text, len, p->problem_mark) == '\t')
        return MS_ERROR(MS_EINPUT, "%s: error: YAML syntax: a tab character; "
                        "YAML indents with spaces only", where);
    /* An unclosed bracket is found far from where it was opened. */
    if (ctx && !no_pos && p->context_mark.line != p->problem_mark.line)
        return MS_ERROR(MS_EINPUT, "%s: error: YAML syntax: %s %s started at "
                        "line %lu", where, what, ctx,
                        (unsigned long)p->context_mark.line + 1);
    if (ctx)
        return MS_ERROR(MS_EINPUT, "%s: error: YAML syntax: %s %s", where,
                        what, ctx);
    return MS_ERROR(MS_EINPUT, "%s: error: YAML syntax: %s", where, what);
}

typedef struct {
    ms_ynode *node;
    char *pending_key;       /* MAP: key read, value not yet */
    ms_ynode *pending_key_node;
} frame;

/* "a.b[2].c: " for the map or list open at stack[n - 1] (each open
 * container is the last item of the one before), or "" at the top. */
static void stack_path(const frame *stack, int n, char *buf, size_t size)
{
    size_t len = 0;
    buf[0] = '\0';
    for (int i = 0; i + 1 < n && len < size; i++) {
        const ms_ynode *c = stack[i].node;
        if (c->kind == MS_YNODE_MAP)
            len += (size_t)snprintf(buf + len, size - len, "%s%s",
                                    len ? "." : "", c->keys[c->n - 1]);
        else
            len += (size_t)snprintf(buf + len, size - len, "[%zu]", c->n - 1);
    }
    if (len && len + 2 < size)
        snprintf(buf + len, size - len, ": ");
}

static ms_status build(ms_ytree *t, yaml_parser_t *p, const char *src,
                       int line_base, const char *text, size_t len)
{
    frame stack[MAX_DEPTH];
    int depth = 0, docs = 0;
    ms_status st = MS_OK;
    int done = 0;
    while (!done && st == MS_OK) {
        yaml_event_t ev;
        if (!yaml_parser_parse(p, &ev))
            return yaml_problem(src, p, line_base, text, len);
        int line = line_base ? 0 : (int)ev.start_mark.line + 1;
        int col = line_base ? 0 : (int)ev.start_mark.column + 1;
        char where[512];
        where_at(where, sizeof where, src, line_base, (unsigned long)line,
                 (unsigned long)col);
        ms_ynode *made = NULL;
        const yaml_char_t *tag = ev.type == YAML_SCALAR_EVENT
                                     ? ev.data.scalar.tag
                                 : ev.type == YAML_MAPPING_START_EVENT
                                     ? ev.data.mapping_start.tag
                                 : ev.type == YAML_SEQUENCE_START_EVENT
                                     ? ev.data.sequence_start.tag
                                     : NULL;
        if (tag) {
            /* A tag would change what a value means (!!str 3 is text, a
             * !!python/object asks for code): refused, not dropped. */
            static const char core[] = "tag:yaml.org,2002:";
            const char *tg = (const char *)tag;
            int short_form = !strncmp(tg, core, sizeof core - 1);
            st = MS_ERROR(MS_EINPUT, "%s: error: YAML tags (%s%.60s) are not "
                          "supported: a value means what its key says; "
                          "write it without the tag (quote it, like \"3\", "
                          "to give text)", where, short_form ? "!!" : "",
                          short_form ? tg + sizeof core - 1 : tg);
            yaml_event_delete(&ev);
            continue;
        }
        switch (ev.type) {
        case YAML_STREAM_END_EVENT:
            done = 1;
            break;
        case YAML_DOCUMENT_START_EVENT:
            if (++docs > 1)
                st = MS_ERROR(MS_EINPUT,
                              "%s: error: a second YAML document ('---') "
                              "starts here; a scenario is one document",
                              where);
            break;
        case YAML_ALIAS_EVENT:
            st = MS_ERROR(MS_EINPUT,
                          "%s: error: YAML aliases (*%s) are not "
                          "supported; write the value out",
                          where, (const char *)ev.data.alias.anchor);
            break;
        case YAML_SCALAR_EVENT:
            st = node_new(t, MS_YNODE_SCALAR, src, line, col, &made);
            if (st == MS_OK) {
                made->value = ms_strndup((const char *)ev.data.scalar.value,
                                         ev.data.scalar.length);
                made->plain = ev.data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
                if (!made->value)
                    st = MS_ERROR(MS_ENOMEM, "out of memory reading YAML");
                else if (strlen(made->value) != ev.data.scalar.length)
                    st = MS_ERROR(MS_EINPUT,
                                  "%s: error: a value contains a NUL "
                                  "character",
                                  where);
            }
            break;
        case YAML_MAPPING_START_EVENT:
        case YAML_SEQUENCE_START_EVENT:
            if (depth >= MAX_DEPTH) {
                st = MS_ERROR(MS_EINPUT,
                              "%s: error: nesting deeper than %d levels",
                              where, MAX_DEPTH);
                break;
            }
            st = node_new(t,
                          ev.type == YAML_MAPPING_START_EVENT ? MS_YNODE_MAP
                                                              : MS_YNODE_SEQ,
                          src, line, col, &made);
            break;
        case YAML_MAPPING_END_EVENT:
        case YAML_SEQUENCE_END_EVENT:
            depth--;
            break;
        default:
            break;
        }
        yaml_event_delete(&ev);
        if (st != MS_OK || !made)
            continue;
        /* Attach the new node to its parent. */
        if (depth == 0) {
            t->root = made;
        } else {
            frame *f = &stack[depth - 1];
            if (f->node->kind == MS_YNODE_SEQ) {
                st = node_append(f->node, NULL, NULL, made);
            } else if (!f->pending_key) {
                char path[256];
                stack_path(stack, depth, path, sizeof path);
                if (made->kind != MS_YNODE_SCALAR) {
                    st = MS_ERROR(MS_EINPUT,
                                  "%s: error: %sa key must be a plain "
                                  "name, not a %s",
                                  where, path,
                                  made->kind == MS_YNODE_MAP ? "mapping"
                                                             : "list");
                    break;
                }
                const ms_ynode *prev = ms_ynode_key_node(f->node, made->value);
                if (prev && prev->line > 0) {
                    st = MS_ERROR(MS_EINPUT,
                                  "%s: error: %sduplicate key '%s' (first "
                                  "given at line %d); give each key once",
                                  where, path, made->value, prev->line);
                    break;
                }
                if (prev) {
                    st = MS_ERROR(MS_EINPUT, "%s: error: %sduplicate key "
                                  "'%s'; give each key once", where, path,
                                  made->value);
                    break;
                }
                f->pending_key = made->value;
                f->pending_key_node = made;
                continue; /* a key is not a container to push */
            } else {
                st = node_append(f->node, f->pending_key, f->pending_key_node,
                                 made);
                f->pending_key = NULL;
            }
        }
        if (st == MS_OK && made->kind != MS_YNODE_SCALAR) {
            stack[depth].node = made;
            stack[depth].pending_key = NULL;
            stack[depth].pending_key_node = NULL;
            depth++;
        }
    }
    return st;
}

static ms_status tree_new(const char *src, ms_ytree **out)
{
    ms_ytree *t = ms_calloc(1, sizeof *t);
    if (!t)
        return MS_ERROR(MS_ENOMEM, "out of memory reading YAML");
    t->src = ms_strdup(src);
    if (!t->src) {
        ms_free(t);
        return MS_ERROR(MS_ENOMEM, "out of memory reading YAML");
    }
    *out = t;
    return MS_OK;
}

static ms_status parse_into(ms_ytree *t, const char *text, size_t len,
                            const char *src, int line_base)
{
    for (size_t i = 0; i < len; i++)
        if (text[i] == '\0') {
            int line = 1;
            for (size_t j = 0; j < i; j++)
                line += text[j] == '\n';
            return MS_ERROR(MS_EINPUT,
                            "%s:%d: error: the file contains a NUL byte (at "
                            "byte %zu); is it a binary file?",
                            src, line, i);
        }
    yaml_parser_t p;
    if (!yaml_parser_initialize(&p))
        return MS_ERROR(MS_ENOMEM, "out of memory starting the YAML parser");
    yaml_parser_set_input_string(&p, (const unsigned char *)text, len);
    yaml_parser_set_encoding(&p, YAML_UTF8_ENCODING);
    ms_status st = build(t, &p, src, line_base, text, len);
    yaml_parser_delete(&p);
    return st;
}

ms_status ms_ytree_parse_string(const char *text, size_t len,
                                const char *src_name, ms_ytree **out)
{
    *out = NULL;
    ms_ytree *t = NULL;
    MS_CALL(tree_new(src_name, &t));
    ms_status st = parse_into(t, text, len, t->src, 0);
    if (st != MS_OK) {
        ms_ytree_destroy(&t);
        return st;
    }
    *out = t;
    return MS_OK;
}

const char *ms_file_kind(unsigned mode)
{
    if (S_ISDIR(mode))
        return "a folder";
    if (S_ISFIFO(mode))
        return "a FIFO (named pipe)";
    if (S_ISCHR(mode))
        return "a character device";
    if (S_ISBLK(mode))
        return "a block device";
    if (S_ISSOCK(mode))
        return "a socket";
    return "not a regular file";
}

ms_status ms_read_text_file(const char *path, char **out, size_t *out_len)
{
    *out = NULL;
    /* Opened without blocking and checked before reading: a FIFO (or a
     * terminal, a socket) would wait for a writer forever. */
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0)
        return MS_ERROR(MS_EINPUT, "%s: error: cannot open: %s", path,
                        strerror(errno));
    struct stat sb;
    memset(&sb, 0, sizeof sb);
    if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        const char *what = ms_file_kind(sb.st_mode);
        close(fd);
        return MS_ERROR(MS_EINPUT, "%s: error: not a regular file but %s; "
                        "give a file (save the text to one first)", path,
                        what);
    }
    int fl = fcntl(fd, F_GETFL);
    FILE *f = fl >= 0 && fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) == 0
                  ? fdopen(fd, "rb") : NULL;
    if (!f) {
        int e = errno;
        close(fd);
        return MS_ERROR(MS_EINPUT, "%s: error: cannot open: %s", path,
                        strerror(e));
    }
    char *buf = NULL;
    size_t len = 0, cap = 0;
    ms_status st = MS_OK;
    for (;;) {
        if (len + 65536 + 1 > cap) {
            size_t nc = cap ? cap * 2 : 65536 * 2;
            char *nb = ms_realloc(buf, nc);
            if (!nb) {
                st = MS_ERROR(MS_ENOMEM, "%s: out of memory reading", path);
                break;
            }
            buf = nb;
            cap = nc;
        }
        size_t got = fread(buf + len, 1, cap - len - 1, f);
        len += got;
        if (len > MAX_INPUT) {
            st = MS_ERROR(MS_EINPUT,
                          "%s: error: file larger than %u MiB; not a scenario?",
                          path, MAX_INPUT >> 20);
            break;
        }
        if (got == 0) {
            if (ferror(f))
                st = MS_ERROR(MS_EINPUT, "%s: error: cannot read: %s", path,
                              strerror(errno));
            break;
        }
    }
    fclose(f);
    if (st != MS_OK) {
        ms_free(buf);
        return st;
    }
    buf[len] = '\0';
    *out = buf;
    if (out_len)
        *out_len = len;
    return MS_OK;
}

ms_status ms_ytree_parse_file(const char *path, ms_ytree **out)
{
    *out = NULL;
    char *buf;
    size_t len;
    MS_CALL(ms_read_text_file(path, &buf, &len));
    ms_ytree *t = NULL;
    ms_status st = tree_new(path, &t);
    if (st == MS_OK) {
        st = parse_into(t, buf, len, t->src, 0);
        if (st != MS_OK)
            ms_ytree_destroy(&t);
        else
            *out = t;
    }
    ms_free(buf);
    return st;
}

/* Move the nodes of `from` into `to` (so --set values live in the tree). */
static ms_status adopt_nodes(ms_ytree *to, ms_ytree *from)
{
    MS_CALL(grow((void **)&to->nodes, &to->cap_nodes,
                 to->n_nodes + from->n_nodes, sizeof *to->nodes));
    for (size_t i = 0; i < from->n_nodes; i++)
        to->nodes[to->n_nodes++] = from->nodes[i];
    from->n_nodes = 0;
    return MS_OK;
}

ms_status ms_ytree_set(ms_ytree *t, const char *arg)
{
    const char *eq = strchr(arg, '=');
    if (!eq || eq == arg)
        return MS_ERROR(MS_EUSAGE,
                        "--set %s: error: expected KEY=VALUE, for example "
                        "--set run.steps=240 or --set markets.CN.openness=0.5",
                        arg);
    MS_CALL(grow((void **)&t->strs, &t->cap_strs, t->n_strs + 1,
                 sizeof *t->strs));
    size_t alen = strlen(arg) + 7;
    char *src = ms_malloc(alen);
    if (!src)
        return MS_ERROR(MS_ENOMEM, "out of memory");
    snprintf(src, alen, "--set %s", arg);
    t->strs[t->n_strs++] = src;

    /* Parse the value as YAML, so lists and maps can be given too. */
    ms_ytree *vt = NULL;
    const char *val = eq + 1;
    ms_status st = tree_new(src, &vt);
    if (st != MS_OK)
        return st;
    st = parse_into(vt, val, strlen(val), src, 1);
    if (st != MS_OK) {
        ms_ytree_destroy(&vt);
        return st;
    }
    ms_ynode *value = vt->root;
    if (!value) {
        st = node_new(vt, MS_YNODE_SCALAR, src, 0, 0, &value);
        if (st == MS_OK && !(value->value = ms_strdup("")))
            st = MS_ERROR(MS_ENOMEM, "out of memory");
    }
    if (st == MS_OK)
        st = adopt_nodes(t, vt);
    ms_ytree_destroy(&vt);
    if (st != MS_OK)
        return st;

    if (!t->root)
        MS_CALL(node_new(t, MS_YNODE_MAP, src, 0, 0, &t->root));
    if (t->root->kind != MS_YNODE_MAP)
        return MS_ERROR(MS_EINPUT, "%s: error: the scenario is not a mapping",
                        src);
    ms_ynode *cur = t->root;
    const char *p = arg;
    for (;;) {
        const char *dot = memchr(p, '.', (size_t)(eq - p));
        const char *end = dot ? dot : eq;
        if (end == p)
            return MS_ERROR(MS_EUSAGE, "%s: error: empty key part in '%.*s'",
                            src, (int)(eq - arg), arg);
        char key[256];
        snprintf(key, sizeof key, "%.*s", (int)(end - p), p);
        ms_ynode *child = ms_ynode_get(cur, key);
        if (!dot) {
            if (child) {
                for (size_t i = 0; i < cur->n; i++)
                    if (strcmp(cur->keys[i], key) == 0)
                        cur->items[i] = value;
            } else {
                ms_ynode *kn;
                MS_CALL(node_new(t, MS_YNODE_SCALAR, src, 0, 0, &kn));
                if (!(kn->value = ms_strdup(key)))
                    return MS_ERROR(MS_ENOMEM, "out of memory");
                MS_CALL(node_append(cur, key, kn, value));
            }
            return MS_OK;
        }
        if (!child) {
            ms_ynode *kn;
            MS_CALL(node_new(t, MS_YNODE_SCALAR, src, 0, 0, &kn));
            if (!(kn->value = ms_strdup(key)))
                return MS_ERROR(MS_ENOMEM, "out of memory");
            MS_CALL(node_new(t, MS_YNODE_MAP, src, 0, 0, &child));
            MS_CALL(node_append(cur, key, kn, child));
        } else if (child->kind != MS_YNODE_MAP) {
            return MS_ERROR(MS_EINPUT,
                            "%s: error: '%.*s' holds a %s, not a section, so "
                            "it has no key '%.*s'",
                            src, (int)(end - arg), arg,
                            child->kind == MS_YNODE_SEQ ? "list" : "value",
                            (int)(eq - end - 1), end + 1);
        }
        cur = child;
        p = dot + 1;
    }
}

/* ---- flow YAML of a node ---- */

typedef struct sbuf {
    char *p;
    size_t len, cap;
    int oom;
} sbuf;

static void sb_put(sbuf *b, const char *s, size_t n)
{
    if (b->oom)
        return;
    if (b->len + n + 1 > b->cap) {
        size_t nc = (b->cap + n + 1) * 2;
        char *q = ms_realloc(b->p, nc);
        if (!q) {
            b->oom = 1;
            return;
        }
        b->p = q;
        b->cap = nc;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

static void sb_scalar(sbuf *b, const ms_ynode *n)
{
    int safe = n->plain && n->value[0] != '\0';
    for (const char *c = n->value; *c && safe; c++)
        safe = !strchr(",[]{}:#&*!|>'\"%@`", *c) && (unsigned char)*c >= 0x20;
    if (safe) {
        sb_put(b, n->value, strlen(n->value));
        return;
    }
    sb_put(b, "\"", 1);
    for (const char *c = n->value; *c; c++) {
        char esc[8];
        if (*c == '"' || *c == '\\') {
            esc[0] = '\\';
            esc[1] = *c;
            sb_put(b, esc, 2);
        } else if ((unsigned char)*c < 0x20) {
            snprintf(esc, sizeof esc, "\\x%02x", (unsigned char)*c);
            sb_put(b, esc, 4);
        } else {
            sb_put(b, c, 1);
        }
    }
    sb_put(b, "\"", 1);
}

static void sb_node(sbuf *b, const ms_ynode *n)
{
    if (n->kind == MS_YNODE_SCALAR) {
        sb_scalar(b, n);
        return;
    }
    int map = n->kind == MS_YNODE_MAP;
    sb_put(b, map ? "{" : "[", 1);
    for (size_t i = 0; i < n->n; i++) {
        if (i)
            sb_put(b, ", ", 2);
        if (map) {
            sb_scalar(b, n->key_nodes[i]);
            sb_put(b, ": ", 2);
        }
        sb_node(b, n->items[i]);
    }
    sb_put(b, map ? "}" : "]", 1);
}

ms_status ms_ynode_flow(const ms_ynode *n, char **out)
{
    sbuf b = {0};
    sb_node(&b, n);
    if (b.oom || !b.p) {
        ms_free(b.p);
        return MS_ERROR(MS_ENOMEM, "out of memory");
    }
    *out = b.p;
    return MS_OK;
}

const ms_ynode *ms_ytree_find(ms_ytree *t, const char *key)
{
    const ms_ynode *node = t->root;
    const char *p = key;
    while (node && *p) {
        const char *dot = strchr(p, '.');
        size_t len = dot ? (size_t)(dot - p) : strlen(p);
        char part[256];
        if (len >= sizeof part)
            return NULL;
        memcpy(part, p, len);
        part[len] = '\0';
        node = ms_ynode_get(node, part);
        p += len + (dot != NULL);
    }
    return node;
}
