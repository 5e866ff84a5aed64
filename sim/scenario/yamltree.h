/*
 * yamltree.h: a YAML document as a small tree that remembers where every
 * node came from.
 *
 * libyaml's event parser feeds a tree of maps, sequences and scalars, each
 * with its source (file name, line, column). The scenario and sweep readers
 * walk the tree against their parameter tables, so every message can say
 * FILE:LINE:COL and the key. `--set KEY=VALUE` edits the same tree before it
 * is read, so overrides are validated exactly like the file.
 */
#ifndef MS_YAMLTREE_H
#define MS_YAMLTREE_H

#include "marketsim/ms_error.h"

#include <stddef.h>

typedef enum { MS_YNODE_SCALAR, MS_YNODE_MAP, MS_YNODE_SEQ } ms_ynode_kind;

typedef struct ms_ynode ms_ynode;
struct ms_ynode {
    ms_ynode_kind kind;
    const char *src;     /* file name or "--set KEY=VALUE" (borrowed from the tree) */
    int line, col;       /* 1-based; 0 when not from a file */
    char *value;         /* SCALAR: the text */
    int plain;           /* SCALAR: unquoted (so 'null', '~', numbers mean what YAML says) */
    size_t n;            /* MAP: pairs; SEQ: items */
    size_t cap;          /* room in keys, key_nodes and items */
    char **keys;         /* MAP: key texts */
    ms_ynode **key_nodes;/* MAP: key nodes (for their positions) */
    ms_ynode **items;    /* MAP: values; SEQ: items */
    int used;            /* set by readers, to report unknown keys */
    size_t *index;       /* MAP of many keys: hash slots holding key position + 1
                          * (0: empty), so lookups and the duplicate check stay
                          * O(1) with thousands of firms; NULL for small maps */
    size_t index_cap;    /* slots (a power of two, at least 2 n), 0 without */
};

typedef struct ms_ytree ms_ytree;

/* Parse a file or a buffer. On a syntax error returns MS_EINPUT with a
 * FILE:LINE:COL message. `*out` is a tree (possibly with an empty root). */
ms_status ms_ytree_parse_file(const char *path, ms_ytree **out);
ms_status ms_ytree_parse_string(const char *text, size_t len,
                                const char *src_name, ms_ytree **out);
void ms_ytree_destroy(ms_ytree **t);
ms_ynode *ms_ytree_root(ms_ytree *t);   /* NULL for an empty document */
const char *ms_ytree_source(const ms_ytree *t);

/* Read a whole text file (at most 64 MiB), NUL-terminated; caller frees
 * with ms_free. MS_EINPUT names the file when it cannot be read. */
ms_status ms_read_text_file(const char *path, char **out, size_t *len);

/* What a file of st_mode `mode` is, for messages ("a FIFO (named pipe)",
 * "a folder", ...). */
const char *ms_file_kind(unsigned mode);

/* The node at a dotted key path ("markets.CN.openness"), or NULL. */
const ms_ynode *ms_ytree_find(ms_ytree *t, const char *key);

/* Apply "a.b.c=VALUE": VALUE is parsed as YAML (so lists like [CN, US]
 * work); missing maps on the path are created. `arg` names the override in
 * messages. */
ms_status ms_ytree_set(ms_ytree *t, const char *arg);

/* Lookup in a map; NULL if absent. */
ms_ynode *ms_ynode_get(const ms_ynode *map, const char *key);
/* Position of a map key (the key's own node) or NULL. */
const ms_ynode *ms_ynode_key_node(const ms_ynode *map, const char *key);

/* A node as one line of flow YAML ({a: 1, b: [x, y]}), which reads back
 * to the same tree; for --set values built from another file. Caller frees
 * with ms_free. */
ms_status ms_ynode_flow(const ms_ynode *n, char **out);

/* Format a position prefix "FILE:LINE:COL" (or the --set text) into buf. */
void ms_ynode_where(const ms_ynode *n, char *buf, size_t size);

#endif
