/*
 * h5read.c: checked reads of HDF5 files that may be damaged or crafted
 * (see ms_h5read.h).
 *
 * HDF5 itself trusts the caller: H5Sget_simple_extent_dims writes as many
 * lengths as the file's rank says, H5Dread writes as many elements as the
 * file's shape says, and a fixed-length string type may claim any size.
 * So nothing here calls those before the rank, shape, type and size are
 * known to fit what the caller allowed.
 */
#include "io/ms_h5read.h"

#include "marketsim/ms_alloc.h"

#include <hdf5.h>
#include <hdf5_hl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Largest fixed-length string element accepted (names, messages). */
#define FIXSTR_MAX ((size_t)1 << 16)

/* ---- memory images (tests and fuzzing) ---- */

static const char *img_path;
static const void *img_data;
static size_t img_size;

void ms_h5r_set_image(const char *path, const void *data, size_t n)
{
    img_path = data ? path : NULL;
    img_data = data;
    img_size = n;
}

int64_t ms_h5r_open_image(const char *path, int *bad)
{
    *bad = 0;
    if (!img_path || !path || strcmp(path, img_path) != 0)
        return -1;
    /* H5LTopen_file_image keeps a private copy (no flags): HDF5 may
     * change it in memory, never the caller's bytes. */
    hid_t f = H5LTopen_file_image((void *)img_data, img_size, 0);
    if (f < 0) {
        H5Eclear2(H5E_DEFAULT);
        *bad = 1;
    }
    return (int64_t)f;
}

/* ---- global heaps ---- */

/* HDF5 1.10 keeps variable-length strings (names, texts, attributes) in
 * global heap collections ("GCOL"), and its parser of a collection trusts
 * the object sizes it finds there (they are only asserted): a damaged size
 * makes H5Aread or H5Dread copy past the collection, a crash inside the
 * library that no check of ranks and shapes can prevent. So before a file
 * is read, every collection in it is walked as that parser would, and a
 * file whose objects do not tile their collection exactly is refused. */

static uint64_t le(const unsigned char *p, int n)
{
    uint64_t v = 0;
    for (int i = n - 1; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

/* One collection of `size` bytes at c (its header included). */
static int heap_ok(const unsigned char *c, uint64_t size)
{
    uint64_t p = 16; /* "GCOL", version, 3 reserved, collection size */
    while (p < size) {
        if (size - p < 16)
            return 1; /* the tail too small for an object: free space */
        unsigned idx = (unsigned)le(c + p, 2);
        uint64_t osz = le(c + p + 8, 8);
        if (osz > size)
            return 0;
        uint64_t need = idx ? 16 + ((osz + 7) & ~(uint64_t)7) : osz;
        if (need == 0 || need > size - p)
            return 0;
        p += need;
    }
    return p == size;
}

/* A collection starts at i of buf (n bytes, at file offset `off`) when the
 * signature, version 1, zero reserved bytes and a size of at least 4096
 * (HDF5's smallest) that fits in the file are all there. Returns 0 none,
 * 1 a good one, -1 a damaged one; *csize gets its size. */
static int heap_at(const unsigned char *b, uint64_t off, uint64_t fsize,
                   uint64_t *csize)
{
    if (memcmp(b, "GCOL", 4) != 0 || b[4] != 1 || b[5] || b[6] || b[7])
        return 0;
    *csize = le(b + 8, 8);
    if (*csize < 4096)
        return 0;
    return *csize <= fsize - off ? 1 : -1;
}

static ms_status heaps_bad(const char *fname, uint64_t off)
{
    return MS_ERROR(MS_EINPUT, "%s: error: the global heap at byte %llu: "
                    "expected objects that fill it exactly, found sizes "
                    "that do not (a damaged file)", fname,
                    (unsigned long long)off);
}

static ms_status heaps_mem(const char *fname, const unsigned char *d,
                           size_t n)
{
    for (size_t i = 0; i + 16 <= n; i++) {
        const unsigned char *q = memchr(d + i, 'G', n - 16 + 1 - i);
        if (!q)
            break;
        i = (size_t)(q - d);
        uint64_t cs;
        int k = heap_at(q, i, n, &cs);
        if (k < 0 || (k > 0 && !heap_ok(q, cs)))
            return heaps_bad(fname, i);
        if (k > 0)
            i += (size_t)cs - 1; /* strings inside are not headers */
    }
    return MS_OK;
}

ms_status ms_h5r_check_heaps(const char *path)
{
    if (img_path && !strcmp(path, img_path))
        return heaps_mem(path, img_data, img_size);
    FILE *f = fopen(path, "rb");
    if (!f)
        return MS_OK; /* the open that follows says why */
    ms_status st = MS_OK;
    enum { CHUNK = 1 << 20 };
    unsigned char *b = ms_malloc(CHUNK + 16);
    if (!b) {
        fclose(f);
        return MS_ERROR(MS_ENOMEM, "%s: out of memory", path);
    }
    fseeko(f, 0, SEEK_END);
    uint64_t fsize = (uint64_t)ftello(f), off = 0, skip = 0;
    size_t have = 0; /* bytes of b holding file bytes from off */
    while (st == MS_OK) {
        if (fseeko(f, (off_t)(off + have), SEEK_SET) != 0)
            break;
        size_t got = fread(b + have, 1, CHUNK + 16 - have, f);
        have += got;
        if (have < 16)
            break;
        size_t last = have - 16; /* positions 0..last hold a whole header */
        for (size_t i = 0; i <= last && st == MS_OK; i++) {
            const unsigned char *q = memchr(b + i, 'G', last + 1 - i);
            if (!q)
                break;
            i = (size_t)(q - b);
            uint64_t cs;
            if (off + i < skip)
                continue; /* inside a collection: its strings */
            int k = heap_at(q, off + i, fsize, &cs);
            if (k < 0) {
                st = heaps_bad(path, off + i);
            } else if (k > 0) {
                int fits = cs <= ((uint64_t)1 << 30);
                unsigned char *c = fits ? ms_malloc(cs) : NULL;
                if (!c && fits)
                    st = MS_ERROR(MS_ENOMEM, "%s: out of memory checking "
                                  "the file", path);
                else if (!c)
                    st = heaps_bad(path, off + i);
                else if (fseeko(f, (off_t)(off + i), SEEK_SET) != 0 ||
                         fread(c, 1, cs, f) != cs || !heap_ok(c, cs))
                    st = heaps_bad(path, off + i);
                skip = off + i + cs;
                ms_free(c);
            }
        }
        if (got == 0)
            break;
        /* Keep the last 15 bytes: a header may start there. */
        memmove(b, b + last + 1, have - last - 1);
        off += last + 1;
        have -= last + 1;
    }
    ms_free(b);
    fclose(f);
    return st;
}

/* ---- what a dataset is ---- */

static const char *class_name(H5T_class_t c)
{
    switch (c) {
    case H5T_INTEGER: return "integer";
    case H5T_FLOAT: return "float";
    case H5T_STRING: return "string";
    case H5T_COMPOUND: return "compound";
    case H5T_ENUM: return "enum";
    case H5T_ARRAY: return "array";
    case H5T_VLEN: return "variable-length sequence";
    case H5T_OPAQUE: return "opaque";
    case H5T_BITFIELD: return "bitfield";
    case H5T_REFERENCE: return "reference";
    case H5T_TIME: return "time";
    default: return "unknown-type";
    }
}

static const char *want_class(ms_h5r_class c)
{
    switch (c) {
    case MS_H5R_FLOAT: return "float";
    case MS_H5R_INT: return "integer";
    case MS_H5R_NUMBER: return "numeric";
    case MS_H5R_STRING: return "string";
    }
    return "?";
}

static int class_ok(ms_h5r_class want, H5T_class_t have)
{
    switch (want) {
    case MS_H5R_FLOAT: return have == H5T_FLOAT;
    case MS_H5R_INT: return have == H5T_INTEGER;
    case MS_H5R_NUMBER: return have == H5T_FLOAT || have == H5T_INTEGER;
    case MS_H5R_STRING: return have == H5T_STRING;
    }
    return 0;
}

static void shape_text(char *buf, size_t size, int rank, const hsize_t *d)
{
    if (rank == 0) {
        snprintf(buf, size, "scalar");
        return;
    }
    size_t len = 0;
    buf[0] = '\0';
    for (int i = 0; i < rank && len < size; i++)
        len += (size_t)snprintf(buf + len, size - len, "%s%llu",
                                i ? " x " : "", (unsigned long long)d[i]);
}

static void want_text(char *buf, size_t size, const ms_h5r_want *w)
{
    if (w->rank == 0) {
        snprintf(buf, size, "scalar");
        return;
    }
    size_t len = 0;
    buf[0] = '\0';
    for (int i = 0; i < w->rank && len < size; i++) {
        const char *sep = i ? " x " : "";
        if (w->lo[i] == w->hi[i])
            len += (size_t)snprintf(buf + len, size - len, "%s%" PRId64, sep,
                                    w->lo[i]);
        else if (w->hi[i] == MS_H5R_ANY)
            len += (size_t)snprintf(buf + len, size - len, "%s%" PRId64 "+",
                                    sep, w->lo[i]);
        else
            len += (size_t)snprintf(buf + len, size - len,
                                    "%s%" PRId64 "..%" PRId64, sep, w->lo[i],
                                    w->hi[i]);
    }
}

int ms_h5r_superblock_version(int64_t file)
{
    H5F_info2_t info;
    if (H5Fget_info2((hid_t)file, &info) < 0) {
        H5Eclear2(H5E_DEFAULT);
        return -1;
    }
    return (int)info.super.version;
}

int ms_h5r_is_dataset(int64_t file, const char *path)
{
    /* Every component must exist before H5Oexists_by_name may be asked. */
    char part[1024];
    size_t n = strlen(path);
    if (n == 0 || n >= sizeof part)
        return 0;
    int ok = 1;
    for (size_t i = 1; i <= n && ok; i++) {
        if (path[i] != '/' && path[i] != '\0')
            continue;
        memcpy(part, path, i);
        part[i] = '\0';
        ok = H5Lexists((hid_t)file, part, H5P_DEFAULT) > 0 &&
             H5Oexists_by_name((hid_t)file, part, H5P_DEFAULT) > 0;
    }
    H5O_info_t info;
    if (ok)
        ok = H5Oget_info_by_name((hid_t)file, path, &info, H5P_DEFAULT) >= 0 &&
             info.type == H5O_TYPE_DATASET;
    H5Eclear2(H5E_DEFAULT);
    return ok;
}

static ms_status check_open_rank(hid_t file, const char *fname,
                                 const ms_h5r_want *w, hid_t *dset,
                                 hid_t *space, hid_t *type, hsize_t *dims,
                                 int *rank_out);

/* Open and check; on success *dset, *space and *type are open and the
 * caller closes them. */
static ms_status check_open(hid_t file, const char *fname,
                            const ms_h5r_want *w, hid_t *dset, hid_t *space,
                            hid_t *type, hsize_t *dims)
{
    return check_open_rank(file, fname, w, dset, space, type, dims, NULL);
}

/* With `rank_out`, any rank 1..MS_H5R_MAX_RANK is accepted (the bounds
 * of w are not used) and returned there. */
static ms_status check_open_rank(hid_t file, const char *fname,
                                 const ms_h5r_want *w, hid_t *dset,
                                 hid_t *space, hid_t *type, hsize_t *dims,
                                 int *rank_out)
{
    *dset = *space = *type = -1;
    char want[160], found[160];
    want_text(want, sizeof want, w);
    if (!ms_h5r_is_dataset((int64_t)file, w->path))
        return MS_ERROR(MS_EINPUT, "%s: error: %s: expected a %s dataset of "
                        "%s, found none", fname, w->path, want_class(w->cls),
                        want);
    hid_t d = H5Dopen2(file, w->path, H5P_DEFAULT);
    hid_t sp = d < 0 ? -1 : H5Dget_space(d);
    hid_t t = d < 0 ? -1 : H5Dget_type(d);
    if (d < 0 || sp < 0 || t < 0) {
        H5Eclear2(H5E_DEFAULT);
        if (t >= 0) H5Tclose(t);
        if (sp >= 0) H5Sclose(sp);
        if (d >= 0) H5Dclose(d);
        return MS_ERROR(MS_EINPUT, "%s: error: %s: expected a %s dataset of "
                        "%s, found one HDF5 cannot open (a damaged file?)",
                        fname, w->path, want_class(w->cls), want);
    }
    H5S_class_t sc = H5Sget_simple_extent_type(sp);
    int rank = sc == H5S_SCALAR ? 0
               : sc == H5S_SIMPLE ? H5Sget_simple_extent_ndims(sp) : -1;
    hsize_t all[H5S_MAX_RANK];
    ms_status st = MS_OK;
    if (rank < 0 || rank > H5S_MAX_RANK) {
        st = MS_ERROR(MS_EINPUT, "%s: error: %s: expected %s, found an "
                      "empty dataspace", fname, w->path, want);
    } else {
        if (rank > 0 && H5Sget_simple_extent_dims(sp, all, NULL) < 0)
            rank = -1;
        shape_text(found, sizeof found, rank < 0 ? 0 : rank, all);
        if (rank < 0)
            st = MS_ERROR(MS_EINPUT, "%s: error: %s: expected %s, found an "
                          "unreadable dataspace", fname, w->path, want);
        else if (rank_out && (rank < 1 || rank > MS_H5R_MAX_RANK))
            st = MS_ERROR(MS_EINPUT, "%s: error: %s: expected rank 1 to %d, "
                          "found rank %d (%s)", fname, w->path,
                          MS_H5R_MAX_RANK, rank, found);
        else if (!rank_out && rank != w->rank)
            st = MS_ERROR(MS_EINPUT, "%s: error: %s: expected rank %d (%s), "
                          "found rank %d (%s)", fname, w->path, w->rank, want,
                          rank, found);
    }
    for (int i = 0; st == MS_OK && i < rank; i++)
        if ((uint64_t)all[i] > (uint64_t)INT64_MAX ||
            (!rank_out &&
             ((int64_t)all[i] < w->lo[i] || (int64_t)all[i] > w->hi[i])))
            st = MS_ERROR(MS_EINPUT, "%s: error: %s: expected shape %s, "
                          "found %s", fname, w->path, want, found);
    H5T_class_t cl = H5Tget_class(t);
    size_t esize = H5Tget_size(t);
    int vlen = cl == H5T_STRING && H5Tis_variable_str(t) > 0;
    if (st == MS_OK && !class_ok(w->cls, cl))
        st = MS_ERROR(MS_EINPUT, "%s: error: %s: expected a %s dataset, "
                      "found a %s one", fname, w->path, want_class(w->cls),
                      class_name(cl));
    if (st == MS_OK && !vlen && esize == 0)
        st = MS_ERROR(MS_EINPUT, "%s: error: %s: expected elements of %zu "
                      "bytes, found elements of 0 bytes", fname, w->path,
                      w->size);
    if (st == MS_OK && cl != H5T_STRING && w->size && esize != w->size)
        st = MS_ERROR(MS_EINPUT, "%s: error: %s: expected %s elements of %zu "
                      "bytes, found %zu bytes", fname, w->path,
                      want_class(w->cls), w->size, esize);
    if (st == MS_OK && cl == H5T_STRING && !vlen &&
        esize > (w->size ? w->size : FIXSTR_MAX))
        st = MS_ERROR(MS_EINPUT, "%s: error: %s: expected strings of at "
                      "most %zu bytes, found %zu", fname, w->path,
                      w->size ? w->size : FIXSTR_MAX, esize);
    if (st == MS_OK && (cl == H5T_INTEGER || cl == H5T_FLOAT) && esize > 16)
        st = MS_ERROR(MS_EINPUT, "%s: error: %s: expected numbers of at most "
                      "16 bytes, found %zu", fname, w->path, esize);
    if (st != MS_OK) {
        H5Eclear2(H5E_DEFAULT);
        H5Tclose(t);
        H5Sclose(sp);
        H5Dclose(d);
        return st;
    }
    for (int i = 0; i < rank; i++)
        dims[i] = all[i];
    if (rank_out)
        *rank_out = rank;
    *dset = d;
    *space = sp;
    *type = t;
    return MS_OK;
}

ms_status ms_h5r_check(int64_t file, const char *fname, const ms_h5r_want *w,
                       int64_t *dims)
{
    hid_t d, sp, t;
    hsize_t hd[MS_H5R_MAX_RANK];
    if (w->rank < 0 || w->rank > MS_H5R_MAX_RANK)
        return MS_ERROR(MS_EINTERNAL, "rank %d asked of %s", w->rank,
                        w->path);
    MS_CALL(check_open((hid_t)file, fname, w, &d, &sp, &t, hd));
    for (int i = 0; i < w->rank; i++)
        dims[i] = (int64_t)hd[i];
    H5Tclose(t);
    H5Sclose(sp);
    H5Dclose(d);
    return MS_OK;
}

ms_status ms_h5r_shape(int64_t file, const char *fname, const char *path,
                       ms_h5r_class cls, int *rank, int64_t *dims)
{
    ms_h5r_want w = {path, cls, 0, 1, {0}, {MS_H5R_ANY}};
    hid_t d, sp, t;
    hsize_t hd[MS_H5R_MAX_RANK];
    MS_CALL(check_open_rank((hid_t)file, fname, &w, &d, &sp, &t, hd, rank));
    for (int i = 0; i < *rank; i++)
        dims[i] = (int64_t)hd[i];
    H5Tclose(t);
    H5Sclose(sp);
    H5Dclose(d);
    return MS_OK;
}

static hid_t native(ms_h5type t, size_t *size)
{
    switch (t) {
    case MS_H5_F64: *size = 8; return H5T_NATIVE_DOUBLE;
    case MS_H5_I64: *size = 8; return H5T_NATIVE_INT64;
    case MS_H5_I32: *size = 4; return H5T_NATIVE_INT32;
    case MS_H5_I8: *size = 1; return H5T_NATIVE_INT8;
    case MS_H5_U64: *size = 8; return H5T_NATIVE_UINT64;
    case MS_H5_STR: break;
    }
    *size = 0;
    return -1;
}

/* Elements of the read (the whole dataset or one slab), or -1 on overflow. */
static int64_t count(int rank, const hsize_t *d, int64_t rec)
{
    uint64_t n = 1;
    for (int i = rec >= 0 ? 1 : 0; i < rank; i++) {
        if (d[i] && n > (uint64_t)INT64_MAX / 16 / d[i])
            return -1;
        n *= d[i];
    }
    return (int64_t)n;
}

static ms_status read_into(hid_t file, const char *fname,
                           const ms_h5r_want *w, ms_h5type mem, int64_t rec,
                           void **bufp, size_t bytes, int64_t *dims)
{
    size_t esize;
    hid_t mt = native(mem, &esize);
    if (mt < 0 || w->rank < 0 || w->rank > MS_H5R_MAX_RANK ||
        (rec >= 0 && w->rank < 1))
        return MS_ERROR(MS_EINTERNAL, "bad read of %s", w->path);
    hid_t d, sp, t;
    hsize_t hd[MS_H5R_MAX_RANK];
    MS_CALL(check_open(file, fname, w, &d, &sp, &t, hd));
    ms_status st = MS_OK;
    int64_t n = count(w->rank, hd, rec);
    if (rec >= 0 && (hsize_t)rec >= hd[0])
        st = MS_ERROR(MS_EINPUT, "%s: error: %s: expected an entry %" PRId64
                      " along its first dimension, found %llu entries",
                      fname, w->path, rec, (unsigned long long)hd[0]);
    else if (n < 0 || (!*bufp && (uint64_t)n > SIZE_MAX / esize))
        st = MS_ERROR(MS_EINPUT, "%s: error: %s: expected a readable size, "
                      "found one that overflows", fname, w->path);
    else if (*bufp && (size_t)n * esize > bytes)
        st = MS_ERROR(MS_EINPUT, "%s: error: %s: expected at most %zu "
                      "values, found %" PRId64, fname, w->path,
                      bytes / esize, n);
    int mine = 0;
    if (st == MS_OK && !*bufp) {
        *bufp = ms_malloc(n ? (size_t)n * esize : 1);
        if (!*bufp)
            st = MS_ERROR(MS_ENOMEM, "%s: out of memory reading %s (%"
                          PRId64 " values)", fname, w->path, n);
        mine = 1;
    }
    if (st == MS_OK && n > 0) {
        herr_t e;
        if (rec < 0) {
            e = H5Dread(d, mt, H5S_ALL, H5S_ALL, H5P_DEFAULT, *bufp);
        } else {
            hsize_t start[MS_H5R_MAX_RANK] = {0}, cnt[MS_H5R_MAX_RANK];
            for (int i = 0; i < w->rank; i++)
                cnt[i] = hd[i];
            start[0] = (hsize_t)rec;
            cnt[0] = 1;
            hid_t ms = H5Screate_simple(w->rank, cnt, NULL);
            e = ms < 0 ? -1 : H5Sselect_hyperslab(sp, H5S_SELECT_SET, start,
                                                  NULL, cnt, NULL);
            if (e >= 0)
                e = H5Dread(d, mt, ms, sp, H5P_DEFAULT, *bufp);
            if (ms >= 0)
                H5Sclose(ms);
        }
        if (e < 0)
            st = MS_ERROR(MS_EINPUT, "%s: error: %s: expected readable "
                          "data, found data HDF5 cannot read (a damaged "
                          "file?)", fname, w->path);
    }
    if (st != MS_OK && mine) {
        ms_free(*bufp);
        *bufp = NULL;
    }
    for (int i = 0; st == MS_OK && dims && i < w->rank; i++)
        dims[i] = (int64_t)hd[i];
    H5Eclear2(H5E_DEFAULT);
    H5Tclose(t);
    H5Sclose(sp);
    H5Dclose(d);
    return st;
}

ms_status ms_h5r_read(int64_t file, const char *fname, const ms_h5r_want *w,
                      ms_h5type mem, int64_t rec, void *buf, size_t bytes,
                      int64_t *dims)
{
    if (!buf)
        return MS_ERROR(MS_EINTERNAL, "no buffer to read %s", w->path);
    return read_into((hid_t)file, fname, w, mem, rec, &buf, bytes, dims);
}

ms_status ms_h5r_read_new(int64_t file, const char *fname,
                          const ms_h5r_want *w, ms_h5type mem, int64_t rec,
                          void **buf, int64_t *dims)
{
    *buf = NULL;
    return read_into((hid_t)file, fname, w, mem, rec, buf, 0, dims);
}

/* ---- strings ---- */

void ms_h5r_names_free(char **names, int64_t n)
{
    if (!names)
        return;
    for (int64_t i = 0; i < n; i++)
        ms_free(names[i]);
    ms_free(names);
}

ms_status ms_h5r_names(int64_t file, const char *fname, const char *path,
                       int64_t lo, int64_t hi, size_t maxlen, char ***names,
                       int64_t *n)
{
    *names = NULL;
    *n = 0;
    ms_h5r_want w = {path, MS_H5R_STRING, 0, 1, {lo}, {hi}};
    hid_t d, sp, t;
    hsize_t len;
    MS_CALL(check_open((hid_t)file, fname, &w, &d, &sp, &t, &len));
    int vlen = H5Tis_variable_str(t) > 0;
    size_t flen = vlen ? 0 : H5Tget_size(t);
    ms_status st = MS_OK;
    char **out = NULL, **raw = NULL;
    char *fixed = NULL;
    if ((uint64_t)len > SIZE_MAX / (flen + 1 + sizeof(char *)))
        st = MS_ERROR(MS_EINPUT, "%s: error: %s: expected a readable "
                      "number of names, found %llu", fname, path,
                      (unsigned long long)len);
    hid_t mt = st == MS_OK ? H5Tcopy(H5T_C_S1) : -1;
    if (st == MS_OK && (mt < 0 || H5Tset_size(mt, vlen ? H5T_VARIABLE
                                                       : flen) < 0 ||
                        H5Tset_cset(mt, H5Tget_cset(t)) < 0))
        st = MS_ERROR(MS_EINPUT, "%s: error: %s: expected UTF-8 or ASCII "
                      "strings, found another character set", fname, path);
    if (st == MS_OK) {
        out = ms_calloc(len ? len : 1, sizeof *out);
        if (vlen)
            raw = ms_calloc(len ? len : 1, sizeof *raw);
        else
            fixed = ms_calloc(len ? len : 1, flen + 1);
        if (!out || (vlen ? !raw : !fixed))
            st = MS_ERROR(MS_ENOMEM, "%s: out of memory reading %s", fname,
                          path);
    }
    if (st == MS_OK && len &&
        H5Dread(d, mt, H5S_ALL, H5S_ALL, H5P_DEFAULT,
                vlen ? (void *)raw : (void *)fixed) < 0)
        st = MS_ERROR(MS_EINPUT, "%s: error: %s: expected readable names, "
                      "found data HDF5 cannot read (a damaged file?)",
                      fname, path);
    for (hsize_t i = 0; st == MS_OK && i < len; i++) {
        const char *s = vlen ? (raw[i] ? raw[i] : "") : fixed + i * flen;
        size_t l = vlen ? strlen(s) : strnlen(s, flen);
        if (l > maxlen)
            l = maxlen;
        out[i] = ms_malloc(l + 1);
        if (!out[i]) {
            st = MS_ERROR(MS_ENOMEM, "%s: out of memory reading %s", fname,
                          path);
            break;
        }
        memcpy(out[i], s, l);
        out[i][l] = '\0';
    }
    if (raw) {
        for (hsize_t i = 0; i < len; i++)
            H5free_memory(raw[i]);
        ms_free(raw);
    }
    ms_free(fixed);
    if (mt >= 0)
        H5Tclose(mt);
    H5Eclear2(H5E_DEFAULT);
    H5Tclose(t);
    H5Sclose(sp);
    H5Dclose(d);
    if (st != MS_OK) {
        ms_h5r_names_free(out, (int64_t)len);
        return st;
    }
    *names = out;
    *n = (int64_t)len;
    return MS_OK;
}

ms_status ms_h5r_text(int64_t file, const char *fname, const char *path,
                      size_t max, char **out)
{
    *out = NULL;
    ms_h5r_want w = {path, MS_H5R_STRING, max, 0, {0}, {0}};
    hid_t d, sp, t;
    hsize_t none[1];
    MS_CALL(check_open((hid_t)file, fname, &w, &d, &sp, &t, none));
    int vlen = H5Tis_variable_str(t) > 0;
    size_t flen = vlen ? 0 : H5Tget_size(t);
    ms_status st = MS_OK;
    hid_t mt = H5Tcopy(H5T_C_S1);
    if (mt < 0 || H5Tset_size(mt, vlen ? H5T_VARIABLE : flen) < 0 ||
        H5Tset_cset(mt, H5Tget_cset(t)) < 0)
        st = MS_ERROR(MS_EINPUT, "%s: error: %s: expected UTF-8 or ASCII "
                      "text, found another character set", fname, path);
    char *s = NULL;
    if (st == MS_OK && vlen) {
        if (H5Dread(d, mt, H5S_ALL, H5S_ALL, H5P_DEFAULT, &s) < 0 || !s)
            st = MS_ERROR(MS_EINPUT, "%s: error: %s: expected readable "
                          "text, found data HDF5 cannot read", fname, path);
        else if (strlen(s) > max)
            st = MS_ERROR(MS_EINPUT, "%s: error: %s: expected at most %zu "
                          "bytes of text, found %zu", fname, path, max,
                          strlen(s));
        else if (!(*out = ms_strdup(s)))
            st = MS_ERROR(MS_ENOMEM, "%s: out of memory reading %s", fname,
                          path);
        if (s)
            H5free_memory(s);
    } else if (st == MS_OK) {
        *out = ms_calloc(flen + 1, 1);
        if (!*out)
            st = MS_ERROR(MS_ENOMEM, "%s: out of memory reading %s", fname,
                          path);
        else if (H5Dread(d, mt, H5S_ALL, H5S_ALL, H5P_DEFAULT, *out) < 0)
            st = MS_ERROR(MS_EINPUT, "%s: error: %s: expected readable "
                          "text, found data HDF5 cannot read", fname, path);
        if (st != MS_OK) {
            ms_free(*out);
            *out = NULL;
        }
    }
    if (mt >= 0)
        H5Tclose(mt);
    H5Eclear2(H5E_DEFAULT);
    H5Tclose(t);
    H5Sclose(sp);
    H5Dclose(d);
    return st;
}

/* ---- attributes ---- */

ms_status ms_h5r_attr_text(int64_t objid, const char *fname,
                           const char *where, const char *name, char *buf,
                           size_t size, int *found)
{
    hid_t obj = (hid_t)objid;
    if (size)
        buf[0] = '\0';
    *found = 0;
    if (H5Aexists(obj, name) <= 0) {
        H5Eclear2(H5E_DEFAULT);
        return MS_OK;
    }
    hid_t a = H5Aopen(obj, name, H5P_DEFAULT);
    hid_t sp = a < 0 ? -1 : H5Aget_space(a);
    hid_t t = a < 0 ? -1 : H5Aget_type(a);
    ms_status st = MS_OK;
    H5S_class_t sc = sp < 0 ? H5S_NO_CLASS : H5Sget_simple_extent_type(sp);
    hssize_t np = sp < 0 ? -1 : H5Sget_simple_extent_npoints(sp);
    H5T_class_t cl = t < 0 ? H5T_NO_CLASS : H5Tget_class(t);
    size_t tsize = t < 0 ? 0 : H5Tget_size(t);
    if (a < 0 || sp < 0 || t < 0)
        st = MS_ERROR(MS_EINPUT, "%s: error: attribute %s of %s: expected a "
                      "readable attribute, found one HDF5 cannot open",
                      fname, name, where);
    else if (!(sc == H5S_SCALAR || (sc == H5S_SIMPLE && np == 1)))
        st = MS_ERROR(MS_EINPUT, "%s: error: attribute %s of %s: expected "
                      "one value, found %lld", fname, name, where,
                      (long long)np);
    else if (cl != H5T_STRING && cl != H5T_INTEGER && cl != H5T_FLOAT)
        st = MS_ERROR(MS_EINPUT, "%s: error: attribute %s of %s: expected "
                      "text or a number, found a %s value", fname, name,
                      where, class_name(cl));
    else if (cl != H5T_STRING && (tsize == 0 || tsize > 16))
        st = MS_ERROR(MS_EINPUT, "%s: error: attribute %s of %s: expected a "
                      "number of at most 16 bytes, found %zu", fname, name,
                      where, tsize);
    char *s = NULL;
    int vlen = cl == H5T_STRING && H5Tis_variable_str(t) > 0;
    if (st == MS_OK && cl == H5T_STRING && !vlen &&
        (tsize == 0 || tsize > MS_H5R_TEXT_MAX))
        st = MS_ERROR(MS_EINPUT, "%s: error: attribute %s of %s: expected "
                      "text of 1 to %zu bytes, found %zu", fname, name,
                      where, MS_H5R_TEXT_MAX, tsize);
    if (st == MS_OK && cl == H5T_STRING) {
        hid_t mt = H5Tcopy(H5T_C_S1);
        herr_t e = mt < 0 ? -1 : H5Tset_size(mt, vlen ? H5T_VARIABLE : tsize);
        if (e >= 0)
            e = H5Tset_cset(mt, H5Tget_cset(t));
        char *fixed = NULL;
        if (e >= 0 && vlen) {
            e = H5Aread(a, mt, &s);
            if (e >= 0 && !s)
                e = -1;
        } else if (e >= 0) {
            fixed = ms_calloc(tsize + 1, 1);
            if (!fixed)
                st = MS_ERROR(MS_ENOMEM, "%s: out of memory reading "
                              "attribute %s", fname, name);
            else
                e = H5Aread(a, mt, fixed);
        }
        if (st == MS_OK && e < 0)
            st = MS_ERROR(MS_EINPUT, "%s: error: attribute %s of %s: "
                          "expected readable text, found data HDF5 cannot "
                          "read", fname, name, where);
        const char *txt = vlen ? s : fixed;
        if (st == MS_OK && strlen(txt) > MS_H5R_TEXT_MAX)
            st = MS_ERROR(MS_EINPUT, "%s: error: attribute %s of %s: "
                          "expected at most %zu bytes of text, found %zu",
                          fname, name, where, MS_H5R_TEXT_MAX, strlen(txt));
        if (st == MS_OK) {
            size_t l = strlen(txt);
            *found = l < size ? 1 : 2;
            if (size)
                snprintf(buf, size, "%s", txt);
        }
        if (s)
            H5free_memory(s);
        ms_free(fixed);
        if (mt >= 0)
            H5Tclose(mt);
    } else if (st == MS_OK && cl == H5T_INTEGER) {
        long long v;
        if (H5Aread(a, H5T_NATIVE_LLONG, &v) < 0)
            st = MS_ERROR(MS_EINPUT, "%s: error: attribute %s of %s: "
                          "expected an integer, found one HDF5 cannot read",
                          fname, name, where);
        else
            *found = snprintf(buf, size, "%lld", v) < (int)size ? 1 : 2;
    } else if (st == MS_OK) {
        double v;
        if (H5Aread(a, H5T_NATIVE_DOUBLE, &v) < 0)
            st = MS_ERROR(MS_EINPUT, "%s: error: attribute %s of %s: "
                          "expected a number, found one HDF5 cannot read",
                          fname, name, where);
        else
            *found = snprintf(buf, size, "%.17g", v) < (int)size ? 1 : 2;
    }
    H5Eclear2(H5E_DEFAULT);
    if (t >= 0) H5Tclose(t);
    if (sp >= 0) H5Sclose(sp);
    if (a >= 0) H5Aclose(a);
    if (st != MS_OK && size)
        buf[0] = '\0';
    return st;
}

ms_status ms_h5r_attr_i64(int64_t obj, const char *fname, const char *where,
                          const char *name, int64_t lo, int64_t hi,
                          int64_t *out)
{
    char buf[64];
    int found;
    MS_CALL(ms_h5r_attr_text(obj, fname, where, name, buf, sizeof buf,
                             &found));
    char *end = NULL;
    long long v = found == 1 ? strtoll(buf, &end, 10) : 0;
    if (found != 1 || !end || *end || end == buf)
        return MS_ERROR(MS_EINPUT, "%s: error: attribute %s of %s: expected "
                        "an integer, found %s", fname, name, where,
                        found ? buf : "none");
    if (v < lo || v > hi)
        return MS_ERROR(MS_EINPUT, "%s: error: attribute %s of %s: expected "
                        "%" PRId64 "..%" PRId64 ", found %lld", fname, name,
                        where, lo, hi, v);
    *out = v;
    return MS_OK;
}
