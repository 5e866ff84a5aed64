/*
 * ms_h5read.h: reading HDF5 files that may be damaged or crafted.
 *
 * Every read of a file marketsim did not just write itself (`info`,
 * `export`, `merge`, `--resume`, `--restart`) goes through these
 * functions. The caller says what it expects (the type class and element
 * size, the rank, the exact or bounded length of each dimension); the
 * dataset's rank, shape and type are checked against that, and the
 * caller's buffer against the bytes the read will write, before HDF5 reads
 * anything. A mismatch is MS_EINPUT with the message
 *
 *     FILE: error: DATASET: expected ..., found ...
 *
 * Attributes are read only when scalar (or of one element), and texts only
 * up to a stated length, so no file can make a read allocate or write more
 * than its caller allowed.
 *
 * Object ids are hid_t passed as int64_t (as in ms_h5.h), so callers need
 * no hdf5.h.
 */
#ifndef MS_H5READ_H
#define MS_H5READ_H

#include "io/ms_h5.h"
#include "marketsim/ms_error.h"

#include <stddef.h>
#include <stdint.h>

#define MS_H5R_MAX_RANK 8
/* A dimension without an upper bound (MS_H5R_DIM's hi). */
#define MS_H5R_ANY INT64_MAX
/* Longest text a text dataset or attribute may hold unless the caller
 * says otherwise (a resolved scenario is some kilobytes). */
#define MS_H5R_TEXT_MAX ((size_t)64 << 20)

typedef enum {
    MS_H5R_FLOAT,   /* IEEE floating point */
    MS_H5R_INT,     /* integer (signed or not) */
    MS_H5R_NUMBER,  /* either (read converted to the memory type) */
    MS_H5R_STRING   /* fixed- or variable-length string */
} ms_h5r_class;

/* What a dataset must be: type class, element size in the file (0: any
 * size of that class), rank, and the bounds lo[i] <= dims[i] <= hi[i]. */
typedef struct ms_h5r_want {
    const char *path;
    ms_h5r_class cls;
    size_t size;
    int rank;
    int64_t lo[MS_H5R_MAX_RANK], hi[MS_H5R_MAX_RANK];
} ms_h5r_want;

/* Test hook: opens of `path` by ms_h5r_open_image (and so ms_h5_open_ro,
 * ms_h5_open_result) read the memory image data[0..n-1] instead of a file
 * (borrowed: it must outlive those opens). NULL data removes it. */
void ms_h5r_set_image(const char *path, const void *data, size_t n);
/* A file id for the registered image of path, or -1 when there is none
 * (or HDF5 cannot open it: *bad is then set). */
int64_t ms_h5r_open_image(const char *path, int *bad);

/* Walk every global heap collection of the file at path (or its
 * registered image) as HDF5's parser would, and refuse a file in which
 * one is damaged: HDF5 1.10 trusts their object sizes, so a damaged one
 * crashes the library when a string is read. Called by every open for
 * reading a file not just written. */
ms_status ms_h5r_check_heaps(const char *path);

/* The version of the file's superblock (2 or more: the HDF5 1.10 format,
 * whose object headers carry checksums), or -1. */
int ms_h5r_superblock_version(int64_t file);

/* 1 when `path` names a dataset of `file` (a link that exists and leads
 * to a dataset), else 0. */
int ms_h5r_is_dataset(int64_t file, const char *path);

/* Check a dataset against w and fill dims[0..rank-1]. `fname` names the
 * file in messages. A missing dataset is an error too. */
ms_status ms_h5r_check(int64_t file, const char *fname, const ms_h5r_want *w,
                       int64_t *dims);

/* A dataset of class cls and rank 1..MS_H5R_MAX_RANK: its rank and
 * dims, for a caller that compares them with another file's. */
ms_status ms_h5r_shape(int64_t file, const char *fname, const char *path,
                       ms_h5r_class cls, int *rank, int64_t *dims);

/* Check, then read: the whole dataset (rec < 0) or the slab at index rec
 * of its first dimension (rec must be inside it), converted to memory type
 * `mem` (not MS_H5_STR), into buf of `bytes` bytes. */
ms_status ms_h5r_read(int64_t file, const char *fname, const ms_h5r_want *w,
                      ms_h5type mem, int64_t rec, void *buf, size_t bytes,
                      int64_t *dims);
/* The same into a buffer allocated here (caller frees with ms_free). */
ms_status ms_h5r_read_new(int64_t file, const char *fname,
                          const ms_h5r_want *w, ms_h5type mem, int64_t rec,
                          void **buf, int64_t *dims);

/* A 1-D dataset of strings with lo..hi entries, each cut to at most
 * maxlen bytes. Free with ms_h5r_names_free. */
ms_status ms_h5r_names(int64_t file, const char *fname, const char *path,
                       int64_t lo, int64_t hi, size_t maxlen, char ***names,
                       int64_t *n);
void ms_h5r_names_free(char **names, int64_t n);

/* A scalar string dataset of at most max bytes (caller frees, ms_free). */
ms_status ms_h5r_text(int64_t file, const char *fname, const char *path,
                      size_t max, char **out);

/* Attribute `name` of object `obj` (`where` names it in messages) as text
 * into buf: strings as they are, integers and floats printed. *found is 0
 * when there is no such attribute, 1 when read whole, 2 when the text was
 * cut to size - 1 bytes. A present attribute that is not a scalar string
 * or number, or a text longer than MS_H5R_TEXT_MAX, is an error. */
ms_status ms_h5r_attr_text(int64_t obj, const char *fname, const char *where,
                           const char *name, char *buf, size_t size,
                           int *found);
/* An integer attribute within [lo, hi]; a missing one is an error. */
ms_status ms_h5r_attr_i64(int64_t obj, const char *fname, const char *where,
                          const char *name, int64_t lo, int64_t hi,
                          int64_t *out);

#endif
