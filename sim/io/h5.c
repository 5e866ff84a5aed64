/*
 * h5.c: HDF5 files that h5py and xarray read (see ms_h5.h).
 */
#define _GNU_SOURCE /* F_OFD_SETLK (Linux open-file-description locks) */
#include "io/ms_h5.h"

#include "io/ms_h5read.h"
#include "marketsim/ms_alloc.h"

#include <errno.h>
#include <fcntl.h>
#include <hdf5.h>
#include <hdf5_hl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_DIMS 8
/* Longest name read back (a coordinate value). */
#define FIXSTR_NAMES_MAX 4096

struct ms_h5var {
    hid_t dset;
    hid_t ctype;              /* compound or string memory type (0: none) */
    ms_h5 *file;
    ms_h5type type;
    int ndims, record;
    hsize_t dims[MAX_DIMS];   /* current extent (dims[0] grows if record) */
    ms_h5var *next;           /* list of all, for closing */
    ms_h5var *cols[16];       /* events table: one variable per column */
    char *scratch;            /* events table: one column of `cap` rows */
    size_t cap;
};

typedef struct dim {
    char *group, *name;
    hid_t dset;
    hsize_t size;             /* 0 for the record dimension */
    int record;
    int grow;                 /* extensible (a coordinate that grows) */
    struct dim *next;
} dim;

struct ms_h5 {
    hid_t file;
    int inplace;              /* written at its final path (no rename) */
    char *path, *partial;
    int lockfd;               /* writer lock of an in-place file, or -1 */
    int readonly;             /* opened by ms_h5_open_ro: input, so a
                                 failed read is bad input (MS_EINPUT) */
    ms_h5var *vars;
    dim *dims;
    hsize_t record_hint;      /* records the file will hold, if known (0:
                                 not known): caps the chunks of records */
};

/* ---- errors ---- */

typedef struct { char first[256], last[256]; int n; } h5msg;

/* HDF5's lowest messages hold a dump of the failed write(): "file write
 * failed: time = ..., filename = ..., errno = 27, ...", over two lines.
 * Keep what precedes it; errno gets its own hint in h5fail. */
static void tidy(char *s)
{
    char *cut = strstr(s, ": time = ");
    if (cut)
        *cut = '\0';
    s[strcspn(s, "\n")] = '\0';
}

static herr_t walk_cb(unsigned n, const H5E_error2_t *e, void *data)
{
    h5msg *m = data;
    if (m->n == 0) {
        snprintf(m->first, sizeof m->first, "%s", e->desc ? e->desc : "");
        tidy(m->first);
    }
    snprintf(m->last, sizeof m->last, "%s", e->desc ? e->desc : "");
    tidy(m->last);
    m->n++;
    return 0;
}

static ms_status h5fail(const char *file, int line, const char *what,
                        const char *path)
{
    h5msg m = {{0}, {0}, 0};
    H5Ewalk2(H5E_DEFAULT, H5E_WALK_DOWNWARD, walk_cb, &m);
    H5Eclear2(H5E_DEFAULT);
    int e = errno;
    const char *hint = e == ENOSPC || e == EDQUOT
                           ? "; the disk or quota is full"
                       : e == EFBIG ? "; the file exceeds a size limit"
                                    : "";
    return ms_error_raise(MS_EIO, file, line, "hdf5",
                          "%s: cannot %s: %s%s%s%s%s", path, what,
                          m.n ? m.first : "HDF5 error",
                          m.n > 1 ? " (" : "", m.n > 1 ? m.last : "",
                          m.n > 1 ? ")" : "", hint);
}

#define H5TRY(expr, what)                                                 \
    do {                                                                  \
        if ((expr) < 0)                                                   \
            return h5fail(__FILE__, __LINE__, (what), f->path);           \
    } while (0)

/* Called first by every function that opens a file. Besides silencing
 * HDF5's own error printing, it turns off HDF5's exit handler, which closes
 * whatever is still open: after an H5Fclose that failed (disk full, file
 * size limit), HDF5 1.10 keeps a half-closed file whose cleanup at exit
 * dereferences NULL, so a clean error became a segfault. Files are always
 * closed explicitly here, so nothing is lost. H5dont_atexit works only
 * before the library starts, hence here, before any other HDF5 call. */
static void quiet(void)
{
    static int started;
    if (!started) {
        started = 1;
        H5dont_atexit();
    }
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
}

/* ---- files ---- */

/* A handle for path, without a file yet. */
static ms_status new_handle(const char *path, int inplace, ms_h5 **out)
{
    ms_h5 *f = ms_calloc(1, sizeof *f);
    if (!f)
        return MS_ERROR(MS_ENOMEM, "out of memory");
    size_t n = strlen(path) + 9;
    f->path = ms_strdup(path);
    f->partial = ms_malloc(n);
    if (!f->path || !f->partial) {
        ms_free(f->path);
        ms_free(f->partial);
        ms_free(f);
        return MS_ERROR(MS_ENOMEM, "out of memory");
    }
    /* A file written in place has no separate name while being written. */
    snprintf(f->partial, n, inplace ? "%s" : "%s.partial", path);
    f->inplace = inplace;
    f->lockfd = -1;
    *out = f;
    return MS_OK;
}

static void drop_handle(ms_h5 *f)
{
    if (f->lockfd >= 0)
        close(f->lockfd);
    ms_free(f->path);
    ms_free(f->partial);
    ms_free(f);
}

static hid_t latest_fapl(int clear);

static ms_status create_file(const char *path, int latest, ms_h5 **out)
{
    quiet();
    *out = NULL;
    ms_h5 *f;
    MS_CALL(new_handle(path, 0, &f));
    errno = 0;
    hid_t fapl = latest ? latest_fapl(0) : H5P_DEFAULT;
    f->file = fapl < 0 ? -1 : H5Fcreate(f->partial, H5F_ACC_TRUNC, H5P_DEFAULT,
                                        fapl);
    if (latest && fapl >= 0)
        H5Pclose(fapl);
    if (f->file < 0) {
        int e = errno;
        H5Eclear2(H5E_DEFAULT);
        ms_status st = MS_ERROR(MS_EIO, "%s: cannot create the result file: "
                                "%s; check that the folder exists and is "
                                "writable, or choose another with -o",
                                f->partial, e ? strerror(e) : "HDF5 error");
        drop_handle(f);
        return st;
    }
    *out = f;
    return MS_OK;
}

ms_status ms_h5_create(const char *path, ms_h5 **out)
{
    return create_file(path, 0, out);
}

ms_status ms_h5_create_swmr(const char *path, ms_h5 **out)
{
    return create_file(path, 1, out);
}

/* Close every dataset handle of f (not the file). */
static int close_handles(ms_h5 *f)
{
    int bad = 0;
    for (ms_h5var *v = f->vars, *nx; v; v = nx) {
        nx = v->next;
        bad |= H5Dclose(v->dset) < 0;
        if (v->ctype > 0)
            H5Tclose(v->ctype);
        ms_free(v->scratch);
        ms_free(v);
    }
    for (dim *d = f->dims, *nx; d; d = nx) {
        nx = d->next;
        bad |= H5Dclose(d->dset) < 0;
        ms_free(d->group);
        ms_free(d->name);
        ms_free(d);
    }
    f->vars = NULL;
    f->dims = NULL;
    return bad;
}

ms_status ms_h5_reopen(ms_h5 *f)
{
    int bad = close_handles(f);
    bad |= H5Fclose(f->file) < 0;
    f->file = -1;
    if (bad)
        return h5fail(__FILE__, __LINE__, "close the file", f->partial);
    hid_t fapl = latest_fapl(0);
    f->file = fapl < 0 ? -1 : H5Fopen(f->partial, H5F_ACC_RDWR, fapl);
    if (fapl >= 0)
        H5Pclose(fapl);
    H5TRY(f->file, "reopen the file");
    return MS_OK;
}

const char *ms_h5_path(const ms_h5 *f) { return f->path; }

void ms_h5_record_hint(ms_h5 *f, int64_t n)
{
    f->record_hint = n > 0 ? (hsize_t)n : 0;
}

ms_status ms_h5_flush(ms_h5 *f)
{
    H5TRY(H5Fflush(f->file, H5F_SCOPE_GLOBAL), "flush the file");
    return MS_OK;
}

ms_status ms_h5_flush_records(ms_h5 *f)
{
    H5TRY(H5Fflush(f->file, H5F_SCOPE_GLOBAL), "write a record (flush)");
    return MS_OK;
}

ms_status ms_h5_close(ms_h5 **fp, int keep)
{
    if (!fp || !*fp)
        return MS_OK;
    ms_h5 *f = *fp;
    int bad = close_handles(f);
    bad |= f->file >= 0 && H5Fclose(f->file) < 0;
    if (f->lockfd >= 0)
        close(f->lockfd);
    ms_status st = MS_OK;
    if (bad && keep) {
        st = h5fail(__FILE__, __LINE__, "close the file", f->partial);
        keep = 0;
    }
    if (f->inplace) {
        /* nothing to move; a failed in-place file is kept for --resume */
    } else if (keep == MS_H5_KEEP_PARTIAL) {
        /* stays at PATH.partial */
    } else if (keep) {
        if (rename(f->partial, f->path) != 0)
            st = MS_ERROR(MS_EIO, "%s: cannot rename to %s: %s", f->partial,
                          f->path, strerror(errno));
    } else {
        remove(f->partial);
    }
    ms_free(f->path);
    ms_free(f->partial);
    ms_free(f);
    *fp = NULL;
    return st;
}

ms_status ms_h5_group(ms_h5 *f, const char *group)
{
    hid_t g = H5Gcreate2(f->file, group, H5P_DEFAULT, H5P_DEFAULT,
                         H5P_DEFAULT);
    H5TRY(g, "create a group");
    H5TRY(H5Gclose(g), "close a group");
    return MS_OK;
}

/* ---- attributes ---- */

static hid_t vlen_str_type(void)
{
    hid_t t = H5Tcopy(H5T_C_S1);
    if (t < 0)
        return t;
    if (H5Tset_size(t, H5T_VARIABLE) < 0 ||
        H5Tset_cset(t, H5T_CSET_UTF8) < 0) {
        H5Tclose(t);
        return -1;
    }
    return t;
}

static ms_status put_attr(ms_h5 *f, const char *obj, const char *name,
                          hid_t type, const void *value)
{
    hid_t o = H5Oopen(f->file, obj, H5P_DEFAULT);
    H5TRY(o, "open an object for an attribute");
    if (H5Aexists(o, name) > 0)
        H5Adelete(o, name);
    hid_t sp = H5Screate(H5S_SCALAR);
    hid_t a = sp < 0 ? -1 : H5Acreate2(o, name, type, sp, H5P_DEFAULT,
                                       H5P_DEFAULT);
    herr_t w = a < 0 ? -1 : H5Awrite(a, type, value);
    if (a >= 0)
        H5Aclose(a);
    if (sp >= 0)
        H5Sclose(sp);
    H5Oclose(o);
    H5TRY(w, "write an attribute");
    return MS_OK;
}

ms_status ms_h5_attr_str(ms_h5 *f, const char *obj, const char *name,
                         const char *value)
{
    hid_t t = vlen_str_type();
    H5TRY(t, "make a string type");
    ms_status st = put_attr(f, obj, name, t, &value);
    H5Tclose(t);
    return st;
}

ms_status ms_h5_attr_f64(ms_h5 *f, const char *obj, const char *name,
                         double value)
{
    return put_attr(f, obj, name, H5T_NATIVE_DOUBLE, &value);
}

ms_status ms_h5_attr_i64(ms_h5 *f, const char *obj, const char *name,
                         int64_t value)
{
    return put_attr(f, obj, name, H5T_NATIVE_INT64, &value);
}

static ms_status describe(ms_h5 *f, const char *path, const char *units,
                          const char *long_name)
{
    if (units)
        MS_CALL(ms_h5_attr_str(f, path, "units", units));
    if (long_name)
        MS_CALL(ms_h5_attr_str(f, path, "long_name", long_name));
    return MS_OK;
}

ms_status ms_h5_text(ms_h5 *f, const char *path, const char *text,
                     const char *long_name)
{
    hid_t t = vlen_str_type();
    H5TRY(t, "make a string type");
    hid_t sp = H5Screate(H5S_SCALAR);
    hid_t d = sp < 0 ? -1 : H5Dcreate2(f->file, path, t, sp, H5P_DEFAULT,
                                       H5P_DEFAULT, H5P_DEFAULT);
    herr_t w = d < 0 ? -1 : H5Dwrite(d, t, H5S_ALL, H5S_ALL, H5P_DEFAULT,
                                     &text);
    if (d >= 0)
        H5Dclose(d);
    if (sp >= 0)
        H5Sclose(sp);
    H5Tclose(t);
    H5TRY(w, "write a text dataset");
    return describe(f, path, NULL, long_name);
}

/* ---- dimensions ---- */

static dim *find_dim(ms_h5 *f, const char *group, const char *name)
{
    for (dim *d = f->dims; d; d = d->next)
        if (!strcmp(d->group, group) && !strcmp(d->name, name))
            return d;
    return NULL;
}

static ms_status add_dim(ms_h5 *f, const char *group, const char *name,
                         hid_t dset, hsize_t size, int record)
{
    dim *d = ms_calloc(1, sizeof *d);
    if (!d || !(d->group = ms_strdup(group)) || !(d->name = ms_strdup(name))) {
        if (d) {
            ms_free(d->group);
            ms_free(d);
        }
        H5Dclose(dset);
        return MS_ERROR(MS_ENOMEM, "out of memory");
    }
    d->dset = dset;
    d->size = size;
    d->record = record;
    d->next = f->dims;
    f->dims = d;
    return MS_OK;
}

static void join_path(char *buf, size_t size, const char *group,
                      const char *name)
{
    snprintf(buf, size, "%s/%s", strcmp(group, "/") ? group : "", name);
}

/* A coordinate: a 1-d dataset of n values (file type ftype, memory type
 * mtype) at group/dimname, made a dimension scale and described. */
static ms_status write_coord(ms_h5 *f, const char *group, const char *dimname,
                             hid_t ftype, hid_t mtype, int n, const void *data,
                             const char *units, const char *long_name)
{
    char path[512];
    join_path(path, sizeof path, group, dimname);
    hsize_t sz = (hsize_t)n;
    hid_t sp = H5Screate_simple(1, &sz, NULL);
    hid_t d = sp < 0 ? -1 : H5Dcreate2(f->file, path, ftype, sp, H5P_DEFAULT,
                                       H5P_DEFAULT, H5P_DEFAULT);
    herr_t w = d < 0 ? -1 : (n ? H5Dwrite(d, mtype, H5S_ALL, H5S_ALL,
                                          H5P_DEFAULT, data) : 0);
    if (w >= 0)
        w = H5DSset_scale(d, dimname);
    if (sp >= 0)
        H5Sclose(sp);
    if (w < 0) {
        if (d >= 0)
            H5Dclose(d);
        return h5fail(__FILE__, __LINE__, "write a coordinate", f->path);
    }
    MS_CALL(add_dim(f, group, dimname, d, sz, 0));
    return describe(f, path, units, long_name);
}

ms_status ms_h5_dim_names(ms_h5 *f, const char *group, const char *dimname,
                          const char *const *names, int n,
                          const char *long_name)
{
    hid_t t = vlen_str_type();
    H5TRY(t, "make a string type");
    ms_status st = write_coord(f, group, dimname, t, t, n, names, NULL,
                               long_name);
    H5Tclose(t);
    return st;
}

ms_status ms_h5_dim_values(ms_h5 *f, const char *group, const char *dimname,
                           const double *values, int n, const char *units,
                           const char *long_name)
{
    return write_coord(f, group, dimname, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE,
                       n, values, units, long_name);
}

ms_status ms_h5_var_names(ms_h5 *f, const char *group, const char *name,
                          const char *dimname, const char *const *names,
                          int n, const char *long_name)
{
    char path[512];
    join_path(path, sizeof path, group, name);
    dim *ds = find_dim(f, group, dimname);
    if (!ds)
        return MS_ERROR(MS_EINTERNAL, "%s: dimension %s not defined", name,
                        dimname);
    hid_t t = vlen_str_type();
    H5TRY(t, "make a string type");
    hsize_t sz = (hsize_t)n;
    hid_t sp = H5Screate_simple(1, &sz, NULL);
    hid_t d = sp < 0 ? -1 : H5Dcreate2(f->file, path, t, sp, H5P_DEFAULT,
                                       H5P_DEFAULT, H5P_DEFAULT);
    herr_t w = d < 0 ? -1 : (n ? H5Dwrite(d, t, H5S_ALL, H5S_ALL,
                                          H5P_DEFAULT, names) : 0);
    if (w >= 0)
        w = H5DSattach_scale(d, ds->dset, 0);
    if (d >= 0)
        H5Dclose(d);
    if (sp >= 0)
        H5Sclose(sp);
    H5Tclose(t);
    H5TRY(w, "write a names variable");
    return describe(f, path, NULL, long_name);
}

static hid_t file_type(ms_h5type t)
{
    switch (t) {
    case MS_H5_F64: return H5T_IEEE_F64LE;
    case MS_H5_I64: return H5T_STD_I64LE;
    case MS_H5_I32: return H5T_STD_I32LE;
    case MS_H5_I8: return H5T_STD_I8LE;
    case MS_H5_U64: return H5T_STD_U64LE;
    case MS_H5_STR: return -1;
    }
    return -1;
}

static hid_t mem_type(ms_h5type t)
{
    switch (t) {
    case MS_H5_F64: return H5T_NATIVE_DOUBLE;
    case MS_H5_I64: return H5T_NATIVE_INT64;
    case MS_H5_I32: return H5T_NATIVE_INT32;
    case MS_H5_I8: return H5T_NATIVE_INT8;
    case MS_H5_U64: return H5T_NATIVE_UINT64;
    case MS_H5_STR: return -1;
    }
    return -1;
}

static size_t type_size(ms_h5type t)
{
    switch (t) {
    case MS_H5_F64: case MS_H5_I64: case MS_H5_U64: return 8;
    case MS_H5_I32: return 4;
    case MS_H5_I8: case MS_H5_STR: return 1;
    }
    return 8;
}

/* The memory type of a variable: its string type, or the native type. */
static hid_t var_mtype(const ms_h5var *v)
{
    return v->ctype > 0 ? v->ctype : mem_type(v->type);
}

/* Chunk length along a dimension that grows other than by records (firms
 * as they are born). */
#define GROW_CHUNK 16

/* `grow` has bit i set where dimension i is extensible (beyond the record
 * dimension 0 of a record variable). */
static ms_status create_dataset(ms_h5 *f, const char *path, ms_h5type type,
                                int ndims, const hsize_t *dims, int record,
                                unsigned grow, hid_t ftype, hid_t *out)
{
    hsize_t cur[MAX_DIMS], maxd[MAX_DIMS], chunk[MAX_DIMS];
    size_t rest = ftype >= 0 ? H5Tget_size(ftype) : type_size(type);
    for (int i = 0; i < ndims; i++) {
        cur[i] = dims[i];
        maxd[i] = grow & (1u << i) ? H5S_UNLIMITED : dims[i];
        chunk[i] = grow & (1u << i) ? (dims[i] > GROW_CHUNK ? dims[i]
                                                            : GROW_CHUNK)
                   : dims[i] ? dims[i] : 1;
        if (i > 0 || !record)
            rest *= chunk[i];
    }
    hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
    H5TRY(dcpl, "make dataset properties");
    herr_t ok = 0;
    if (record || grow) {
        if (record) {
            cur[0] = 0;
            maxd[0] = H5S_UNLIMITED;
            /* Aim at chunks of about 64 KiB spanning whole records. */
            hsize_t per = rest ? 65536 / rest : 1;
            chunk[0] = per < 1 ? 1 : per > 4096 ? 4096 : per;
            /* No longer than the file will be: a short run writes (and
             * compresses) no mostly empty chunks. */
            if (f->record_hint > 0 && chunk[0] > f->record_hint)
                chunk[0] = f->record_hint;
        }
        ok |= H5Pset_chunk(dcpl, ndims, chunk);
        if (type != MS_H5_STR)
            ok |= H5Pset_shuffle(dcpl);
        ok |= H5Pset_deflate(dcpl, 4);
    }
    if (type == MS_H5_F64) {
        double fill = NAN;
        ok |= H5Pset_fill_value(dcpl, H5T_NATIVE_DOUBLE, &fill);
    } else if (type != MS_H5_STR) {
        int64_t fill = -1;
        ok |= H5Pset_fill_value(dcpl, H5T_NATIVE_INT64, &fill);
    }
    hid_t sp = H5Screate_simple(ndims, cur, maxd);
    hid_t d = (ok < 0 || sp < 0)
                  ? -1
                  : H5Dcreate2(f->file, path,
                               ftype >= 0 ? ftype : file_type(type), sp,
                               H5P_DEFAULT, dcpl, H5P_DEFAULT);
    if (sp >= 0)
        H5Sclose(sp);
    H5Pclose(dcpl);
    H5TRY(d, "create a dataset");
    *out = d;
    return MS_OK;
}

/* The CF `_FillValue` of a variable: NaN for floats, -1 for integers, in
 * the variable's own type (xarray masks these values). */
static ms_status fill_attr(ms_h5 *f, const char *path, ms_h5type type)
{
    double fd = NAN;
    int64_t f64 = -1;
    int32_t f32 = -1;
    int8_t f8 = -1;
    switch (type) {
    case MS_H5_F64: return put_attr(f, path, "_FillValue", H5T_IEEE_F64LE, &fd);
    case MS_H5_I64: return put_attr(f, path, "_FillValue", H5T_STD_I64LE, &f64);
    case MS_H5_I32: return put_attr(f, path, "_FillValue", H5T_STD_I32LE, &f32);
    case MS_H5_I8: return put_attr(f, path, "_FillValue", H5T_STD_I8LE, &f8);
    default: return MS_OK;
    }
}

ms_status ms_h5_attr_flags(ms_h5 *f, const char *obj, const int8_t *values,
                           int n, const char *meanings)
{
    hsize_t sz = (hsize_t)n;
    hid_t o = H5Oopen(f->file, obj, H5P_DEFAULT);
    H5TRY(o, "open an object for an attribute");
    hid_t sp = H5Screate_simple(1, &sz, NULL);
    hid_t a = sp < 0 ? -1 : H5Acreate2(o, "flag_values", H5T_STD_I8LE, sp,
                                       H5P_DEFAULT, H5P_DEFAULT);
    herr_t w = a < 0 ? -1 : H5Awrite(a, H5T_NATIVE_INT8, values);
    if (a >= 0)
        H5Aclose(a);
    if (sp >= 0)
        H5Sclose(sp);
    H5Oclose(o);
    H5TRY(w, "write an attribute");
    return ms_h5_attr_str(f, obj, "flag_meanings", meanings);
}

static ms_status dim_record(ms_h5 *f, const char *group, const char *dimname,
                            ms_h5type type, const char *units,
                            const char *long_name, ms_h5var **out);

ms_status ms_h5_dim_record(ms_h5 *f, const char *group, const char *dimname,
                           const char *units, const char *long_name,
                           ms_h5var **out)
{
    return dim_record(f, group, dimname, MS_H5_F64, units, long_name, out);
}

static ms_status dim_record(ms_h5 *f, const char *group, const char *dimname,
                            ms_h5type type, const char *units,
                            const char *long_name, ms_h5var **out)
{
    char path[512];
    join_path(path, sizeof path, group, dimname);
    ms_h5var *v = ms_calloc(1, sizeof *v);
    if (!v)
        return MS_ERROR(MS_ENOMEM, "out of memory");
    v->file = f;
    hsize_t dims[1] = {0};
    hid_t d = -1;
    ms_status st = create_dataset(f, path, type, 1, dims, 1, 0, -1, &d);
    if (st != MS_OK) {
        ms_free(v);
        return st;
    }
    if (H5DSset_scale(d, dimname) < 0) {
        H5Dclose(d);
        ms_free(v);
        return h5fail(__FILE__, __LINE__, "make a dimension scale", f->path);
    }
    /* The dim registry owns `d`; the var handle uses its own. */
    hid_t d2 = H5Dopen2(f->file, path, H5P_DEFAULT);
    ms_status st2 = add_dim(f, group, dimname, d, 0, 1);
    if (st2 != MS_OK || d2 < 0) {
        if (d2 >= 0)
            H5Dclose(d2);
        ms_free(v);
        return st2 != MS_OK ? st2
                            : h5fail(__FILE__, __LINE__,
                                     "reopen a coordinate", f->path);
    }
    v->dset = d2;
    v->type = type;
    v->ndims = 1;
    v->record = 1;
    v->dims[0] = 0;
    v->next = f->vars;
    f->vars = v;
    *out = v;
    return describe(f, path, units, long_name);
}

ms_status ms_h5_var(ms_h5 *f, const char *group, const char *name,
                    ms_h5type type, int ndims, const char *const *dimnames,
                    int record, const char *units, const char *long_name,
                    ms_h5var **out)
{
    if (ndims < 1 || ndims > MAX_DIMS)
        return MS_ERROR(MS_EINTERNAL, "bad rank %d for %s", ndims, name);
    char path[512];
    join_path(path, sizeof path, group, name);
    hsize_t dims[MAX_DIMS];
    dim *ds[MAX_DIMS];
    for (int i = 0; i < ndims; i++) {
        ds[i] = find_dim(f, group, dimnames[i]);
        if (!ds[i])
            return MS_ERROR(MS_EINTERNAL, "%s: dimension %s not defined in %s",
                            name, dimnames[i], group);
        dims[i] = ds[i]->size;
    }
    ms_h5var *v = ms_calloc(1, sizeof *v);
    if (!v)
        return MS_ERROR(MS_ENOMEM, "out of memory");
    v->file = f;
    unsigned grow = 0;
    for (int i = 0; i < ndims; i++)
        grow |= ds[i]->grow ? 1u << i : 0;
    ms_status st = create_dataset(f, path, type, ndims, dims, record, grow,
                                  -1, &v->dset);
    if (st != MS_OK) {
        ms_free(v);
        return st;
    }
    v->type = type;
    v->ndims = ndims;
    v->record = record;
    for (int i = 0; i < ndims; i++)
        v->dims[i] = dims[i];
    if (record)
        v->dims[0] = 0;
    v->next = f->vars;
    f->vars = v;
    for (int i = 0; i < ndims; i++)
        H5TRY(H5DSattach_scale(v->dset, ds[i]->dset, (unsigned)i),
              "attach a dimension scale");
    *out = v;
    MS_CALL(fill_attr(f, path, type));
    return describe(f, path, units, long_name);
}

/* A failure on a dataset names the file too: "OUT.h5.partial (/firm/cash)". */
static ms_status var_fail(const ms_h5var *v, const char *what)
{
    char name[256] = "?", where[1024];
    H5Iget_name(v->dset, name, sizeof name);
    if (v->file && v->file->readonly) {
        H5Eclear2(H5E_DEFAULT);
        return MS_ERROR(MS_EINPUT, "%s: error: %s: expected data that can "
                        "be read, found data HDF5 cannot %s (a damaged "
                        "file?)", v->file->path, name, what);
    }
    if (v->file)
        snprintf(where, sizeof where, "%s (%s)", v->file->partial, name);
    else
        snprintf(where, sizeof where, "%s", name);
    return h5fail(__FILE__, __LINE__, what, where);
}

ms_status ms_h5_write(ms_h5var *v, const void *data)
{
    if (H5Dwrite(v->dset, var_mtype(v), H5S_ALL, H5S_ALL, H5P_DEFAULT,
                 data) < 0)
        return var_fail(v, "write a dataset");
    return MS_OK;
}

/* Read or write slab i of a variable: index i of its first dimension. */
static ms_status slab_io(ms_h5var *v, int64_t i, void *data, int write,
                         const char *what)
{
    hsize_t start[MAX_DIMS] = {0}, count[MAX_DIMS];
    start[0] = (hsize_t)i;
    count[0] = 1;
    for (int k = 1; k < v->ndims; k++) {
        count[k] = v->dims[k];
        if (count[k] == 0)
            return MS_OK; /* an empty slab (no firms yet) */
    }
    hid_t fs = H5Dget_space(v->dset);
    if (fs < 0)
        return var_fail(v, "get a dataspace");
    hid_t ms = H5Screate_simple(v->ndims, count, NULL);
    herr_t e = ms < 0 ? -1 : H5Sselect_hyperslab(fs, H5S_SELECT_SET, start,
                                                 NULL, count, NULL);
    if (e >= 0)
        e = write ? H5Dwrite(v->dset, var_mtype(v), ms, fs, H5P_DEFAULT, data)
                  : H5Dread(v->dset, var_mtype(v), ms, fs, H5P_DEFAULT, data);
    if (ms >= 0)
        H5Sclose(ms);
    H5Sclose(fs);
    if (e < 0)
        return var_fail(v, what);
    return MS_OK;
}

ms_status ms_h5_write_record(ms_h5var *v, int64_t rec, const void *data)
{
    if ((hsize_t)rec >= v->dims[0]) {
        v->dims[0] = (hsize_t)rec + 1;
        if (H5Dset_extent(v->dset, v->dims) < 0)
            return var_fail(v, "extend a dataset");
    }
    return slab_io(v, rec, (void *)data, 1, "write a record");
}

/* Write rows [start, start + n) of a 1-D variable. */
ms_status ms_h5_write_rows(ms_h5var *v, int64_t start, size_t n,
                           const void *data)
{
    hsize_t st = (hsize_t)start, count = n;
    hid_t fs = H5Dget_space(v->dset);
    if (fs < 0)
        return var_fail(v, "get a dataspace");
    hid_t ms = H5Screate_simple(1, &count, NULL);
    herr_t w = ms < 0 ? -1 : H5Sselect_hyperslab(fs, H5S_SELECT_SET, &st,
                                                 NULL, &count, NULL);
    if (w >= 0)
        w = H5Dwrite(v->dset, var_mtype(v), ms, fs, H5P_DEFAULT, data);
    if (ms >= 0)
        H5Sclose(ms);
    H5Sclose(fs);
    if (w < 0)
        return var_fail(v, "write rows");
    return MS_OK;
}

ms_status ms_h5_write_scalar_record(ms_h5var *v, int64_t rec, double value)
{
    return ms_h5_write_record(v, rec, &value);
}

/* ---- growing coordinates (firms as they are born) ---- */

/* Fixed-length UTF-8 strings of len bytes: single-writer mode cannot write
 * variable-length strings, and xarray decodes these to str through
 * `_Encoding`. */
static hid_t fixed_str_type(size_t len)
{
    hid_t t = H5Tcopy(H5T_C_S1);
    if (t < 0)
        return t;
    if (H5Tset_size(t, len) < 0 || H5Tset_strpad(t, H5T_STR_NULLTERM) < 0 ||
        H5Tset_cset(t, H5T_CSET_UTF8) < 0) {
        H5Tclose(t);
        return -1;
    }
    return t;
}

static ms_status write_names_at(ms_h5var *v, hsize_t start,
                                const char *const *names, hsize_t n)
{
    size_t len = H5Tget_size(v->ctype);
    char buf[256];
    if (len > sizeof buf)
        return MS_ERROR(MS_EINTERNAL, "names of %zu bytes", len);
    for (hsize_t i = 0; i < n; i++) {
        memset(buf, 0, len);
        snprintf(buf, len, "%s", names[i] ? names[i] : "");
        hsize_t at = start + i, one = 1;
        hid_t fs = H5Dget_space(v->dset);
        hid_t ms = H5Screate_simple(1, &one, NULL);
        herr_t e = (fs < 0 || ms < 0) ? -1
                   : H5Sselect_hyperslab(fs, H5S_SELECT_SET, &at, NULL, &one,
                                         NULL);
        if (e >= 0)
            e = H5Dwrite(v->dset, v->ctype, ms, fs, H5P_DEFAULT, buf);
        if (ms >= 0)
            H5Sclose(ms);
        if (fs >= 0)
            H5Sclose(fs);
        if (e < 0)
            return var_fail(v, "write names");
    }
    return MS_OK;
}

/* A 1-D fixed-length names dataset over a growing dimension; `scale`
 * makes it that dimension's coordinate, else it is attached to it. */
static ms_status names_grow(ms_h5 *f, const char *group, const char *name,
                            const char *dimname, size_t len,
                            const char *const *names, int n,
                            const char *long_name, int scale, ms_h5var **out)
{
    char path[512];
    join_path(path, sizeof path, group, name);
    dim *ds = scale ? NULL : find_dim(f, group, dimname);
    if (!scale && !ds)
        return MS_ERROR(MS_EINTERNAL, "%s: dimension %s not defined", name,
                        dimname);
    hid_t t = fixed_str_type(len);
    H5TRY(t, "make a string type");
    ms_h5var *v = ms_calloc(1, sizeof *v);
    if (!v) {
        H5Tclose(t);
        return MS_ERROR(MS_ENOMEM, "out of memory");
    }
    hsize_t dims[1] = {(hsize_t)n};
    hid_t d = -1;
    ms_status st = create_dataset(f, path, MS_H5_STR, 1, dims, 0, 1u, t, &d);
    if (st != MS_OK) {
        H5Tclose(t);
        ms_free(v);
        return st;
    }
    v->dset = d;
    v->ctype = t;
    v->file = f;
    v->type = MS_H5_STR;
    v->ndims = 1;
    v->dims[0] = (hsize_t)n;
    v->next = f->vars;
    f->vars = v;
    MS_CALL(write_names_at(v, 0, names, (hsize_t)n));
    if (scale) {
        H5TRY(H5DSset_scale(d, dimname), "make a dimension scale");
        hid_t d2 = H5Dopen2(f->file, path, H5P_DEFAULT);
        H5TRY(d2, "reopen a coordinate");
        MS_CALL(add_dim(f, group, dimname, d2, (hsize_t)n, 0));
        f->dims->grow = 1;
    } else {
        H5TRY(H5DSattach_scale(d, ds->dset, 0), "attach a dimension scale");
    }
    *out = v;
    MS_CALL(ms_h5_attr_str(f, path, "_Encoding", "utf-8"));
    return describe(f, path, NULL, long_name);
}

ms_status ms_h5_dim_names_grow(ms_h5 *f, const char *group, const char *dimname,
                               size_t len, const char *const *names, int n,
                               const char *long_name, ms_h5var **out)
{
    return names_grow(f, group, dimname, dimname, len, names, n, long_name, 1, out);
}

ms_status ms_h5_var_names_grow(ms_h5 *f, const char *group, const char *name,
                               const char *dimname, size_t len,
                               const char *const *names, int n,
                               const char *long_name, ms_h5var **out)
{
    return names_grow(f, group, name, dimname, len, names, n, long_name, 0,
                      out);
}

ms_status ms_h5_extend(ms_h5var *v, int axis, int64_t n)
{
    if (axis < 0 || axis >= v->ndims)
        return MS_ERROR(MS_EINTERNAL, "axis %d out of range", axis);
    if ((hsize_t)n <= v->dims[axis])
        return MS_OK;
    v->dims[axis] = (hsize_t)n;
    if (H5Dset_extent(v->dset, v->dims) < 0)
        return var_fail(v, "extend a dataset");
    return MS_OK;
}

ms_status ms_h5_names_append(ms_h5var *v, const char *const *names,
                             int64_t n)
{
    hsize_t old = v->dims[0];
    if ((hsize_t)n <= old)
        return MS_OK;
    MS_CALL(ms_h5_extend(v, 0, n));
    return write_names_at(v, old, names + old, (hsize_t)n - old);
}

/* ---- the events table ---- */

/* One column per field of ms_h5_event_row, each a 1-D dataset over the
 * growing dimension `event` (whose coordinate is the event's index), so
 * that xarray reads the group as a table and strings come back as str. */
typedef struct ev_col {
    const char *name;
    ms_h5type type;
    size_t off, len;          /* offset in the row; string length */
    const char *units, *long_name, *description;
} ev_col;

#define EVC(f) HOFFSET(ms_h5_event_row, f)
static const ev_col ev_cols[] = {
    {"step", MS_H5_I64, EVC(step), 0, "1", "step",
     "step of the event (0-based: it shows in the record with step s + 1)"},
    {"time", MS_H5_F64, EVC(time), 0, "year", "time",
     "calendar year at the end of the event's step"},
    {"kind", MS_H5_STR, EVC(kind), 16, NULL, "kind",
     "launch, entry, exit, enter_market, acquisition, blocked_deal or stake"},
    {"actor_id", MS_H5_I32, EVC(actor_id), 0, "1", "actor index",
     "index of the acting firm along /firm/firm"},
    {"target_id", MS_H5_I32, EVC(target_id), 0, "1", "target index",
     "index of the firm acted on (acquisition, blocked deal, stake)"},
    {"market_id", MS_H5_I32, EVC(market_id), 0, "1", "market index",
     "index of the market concerned along /market/market"},
    {"category_id", MS_H5_I32, EVC(category_id), 0, "1", "category index",
     "index of the category concerned along /market/category"},
    {"actor", MS_H5_STR, EVC(actor), 64, NULL, "actor",
     "the acting firm"},
    {"target", MS_H5_STR, EVC(target), 64, NULL, "target",
     "the firm acted on (empty if none)"},
    {"market", MS_H5_STR, EVC(market), 64, NULL, "market",
     "the market concerned (empty if none)"},
    {"category", MS_H5_STR, EVC(category), 64, NULL, "category",
     "the category concerned (empty if none)"},
    {"amount", MS_H5_F64, EVC(amount), 0, "USD", "amount",
     "price (acquisition, blocked deal, stake), cost (enter_market), cash "
     "(entry, exit), 0 (launch)"},
};
#undef EVC
#define N_EVC ((int)(sizeof ev_cols / sizeof ev_cols[0]))

static ms_status events_scratch(ms_h5var *v, size_t cap)
{
    v->cap = cap ? cap : 1;
    v->scratch = ms_calloc(v->cap, 64);
    if (!v->scratch)
        return MS_ERROR(MS_ENOMEM, "out of memory");
    return MS_OK;
}

static ms_status events_create(ms_h5 *f, const char *group, size_t cap,
                               const char *long_name, ms_h5var **out);

ms_status ms_h5_events(ms_h5 *f, const char *group, size_t cap,
                       const char *long_name, ms_h5var **out)
{
    /* The table grows by events, not by records: its chunks keep their
     * usual length whatever the file's record hint. */
    const hsize_t hint = f->record_hint;
    f->record_hint = 0;
    ms_status st = events_create(f, group, cap, long_name, out);
    f->record_hint = hint;
    return st;
}

static ms_status events_create(ms_h5 *f, const char *group, size_t cap,
                               const char *long_name, ms_h5var **out)
{
    ms_h5var *ix;
    MS_CALL(dim_record(f, group, "event", MS_H5_I64, NULL, "event", &ix));
    MS_CALL(ms_h5_attr_str(f, group, "long_name", long_name));
    const char *dims[1] = {"event"};
    for (int k = 0; k < N_EVC; k++) {
        const ev_col *c = &ev_cols[k];
        if (c->type == MS_H5_STR) {
            char path[512];
            join_path(path, sizeof path, group, c->name);
            hid_t t = fixed_str_type(c->len);
            H5TRY(t, "make a string type");
            ms_h5var *v = ms_calloc(1, sizeof *v);
            hsize_t zero = 0;
            hid_t d = -1;
            ms_status st = v ? create_dataset(f, path, MS_H5_STR, 1, &zero, 1,
                                              0, t, &d)
                             : MS_ERROR(MS_ENOMEM, "out of memory");
            if (st != MS_OK) {
                H5Tclose(t);
                ms_free(v);
                return st;
            }
            v->dset = d;
            v->ctype = t;
            v->file = f;
            v->type = MS_H5_STR;
            v->ndims = 1;
            v->record = 1;
            v->next = f->vars;
            f->vars = v;
            dim *ds = find_dim(f, group, "event");
            H5TRY(H5DSattach_scale(d, ds->dset, 0),
                  "attach a dimension scale");
            MS_CALL(ms_h5_attr_str(f, path, "_Encoding", "utf-8"));
            MS_CALL(describe(f, path, NULL, c->long_name));
            ix->cols[k] = v;
        } else {
            MS_CALL(ms_h5_var(f, group, c->name, c->type, 1, dims, 1, c->units,
                              c->long_name, &ix->cols[k]));
            /* Never missing (-1 means "none"): no _FillValue, so readers
             * keep the ids as integers. */
            char cp[512];
            join_path(cp, sizeof cp, group, c->name);
            H5TRY(H5Adelete_by_name(f->file, cp, "_FillValue", H5P_DEFAULT),
                  "remove an attribute");
        }
        char path[512];
        join_path(path, sizeof path, group, c->name);
        MS_CALL(ms_h5_attr_str(f, path, "description", c->description));
    }
    MS_CALL(events_scratch(ix, cap));
    *out = ix;
    return MS_OK;
}

ms_status ms_h5_events_open(ms_h5 *f, const char *group, size_t cap,
                            ms_h5var **out)
{
    char path[512];
    join_path(path, sizeof path, group, "event");
    ms_h5var *ix;
    MS_CALL(ms_h5_var_open(f, path, MS_H5_I64, &ix));
    ix->record = 1;
    for (int k = 0; k < N_EVC; k++) {
        join_path(path, sizeof path, group, ev_cols[k].name);
        MS_CALL(ms_h5_var_open(f, path, ev_cols[k].type, &ix->cols[k]));
        ix->cols[k]->record = 1;
    }
    MS_CALL(events_scratch(ix, cap));
    *out = ix;
    return MS_OK;
}

ms_status ms_h5_events_append(ms_h5var *v, const ms_h5_event_row *rows,
                              size_t n)
{
    if (n == 0)
        return MS_OK;
    if (n > v->cap)
        return MS_ERROR(MS_EINTERNAL, "%zu events, room for %zu", n, v->cap);
    int64_t start = (int64_t)v->dims[0];
    for (size_t i = 0; i < n; i++) {
        int64_t idx = start + (int64_t)i;
        memcpy(v->scratch + i * 8, &idx, 8);
    }
    MS_CALL(ms_h5_extend(v, 0, start + (int64_t)n));
    MS_CALL(ms_h5_write_rows(v, start, n, v->scratch));
    for (int k = 0; k < N_EVC; k++) {
        const ev_col *c = &ev_cols[k];
        size_t sz = c->type == MS_H5_STR ? c->len : type_size(c->type);
        for (size_t i = 0; i < n; i++)
            memcpy(v->scratch + i * sz, (const char *)&rows[i] + c->off, sz);
        MS_CALL(ms_h5_extend(v->cols[k], 0, start + (int64_t)n));
        MS_CALL(ms_h5_write_rows(v->cols[k], start, n, v->scratch));
    }
    return MS_OK;
}

ms_status ms_h5_events_read(int64_t file, const char *group,
                            ms_h5_event_row **rows, size_t *n)
{
    *rows = NULL;
    *n = 0;
    char path[512];
    join_path(path, sizeof path, group, "event");
    if (!ms_h5r_is_dataset(file, path))
        return MS_OK;
    /* Every column: 1-D, of its class, checked before any is read. */
    char fname[1024] = "?";
    H5Fget_name((hid_t)file, fname, sizeof fname);
    ms_h5r_want want = {path, MS_H5R_NUMBER, 0, 1, {0}, {MS_H5R_ANY}};
    int64_t elen;
    MS_CALL(ms_h5r_check(file, fname, &want, &elen));
    hsize_t len = (hsize_t)elen;
    char cpath[N_EVC][512];
    for (int k = 0; k < N_EVC; k++) {
        join_path(cpath[k], sizeof cpath[k], group, ev_cols[k].name);
        ms_h5r_want cw = {cpath[k], ev_cols[k].type == MS_H5_STR
                                        ? MS_H5R_STRING : MS_H5R_NUMBER,
                          0, 1, {0}, {MS_H5R_ANY}};
        int64_t clen;
        MS_CALL(ms_h5r_check(file, fname, &cw, &clen));
    }
    hid_t d;
    ms_h5_event_row *r = ms_calloc(len ? len : 1, sizeof *r);
    char *col = ms_calloc(len ? len : 1, 64);
    if (!r || !col) {
        ms_free(r);
        ms_free(col);
        return MS_ERROR(MS_ENOMEM, "%s: out of memory reading the events "
                        "table", group);
    }
    herr_t e = 0;
    for (int k = 0; k < N_EVC && e >= 0 && len; k++) {
        const ev_col *c = &ev_cols[k];
        join_path(path, sizeof path, group, c->name);
        d = H5Dopen2((hid_t)file, path, H5P_DEFAULT);
        hid_t mt = c->type == MS_H5_STR ? fixed_str_type(c->len)
                                        : mem_type(c->type);
        /* A reader may see a column before its neighbours grew (a run
         * being written): read the rows all columns have. */
        hsize_t have = 0;
        if (d >= 0) {
            hid_t s2 = H5Dget_space(d);
            H5Sget_simple_extent_dims(s2, &have, NULL);
            H5Sclose(s2);
        }
        if (have < len)
            len = have;
        e = (d < 0 || mt < 0) ? -1 : 0;
        if (e >= 0 && len) {
            hid_t fs = H5Dget_space(d);
            hsize_t zero = 0;
            hid_t ms = H5Screate_simple(1, &len, NULL);
            e = H5Sselect_hyperslab(fs, H5S_SELECT_SET, &zero, NULL, &len,
                                    NULL);
            if (e >= 0)
                e = H5Dread(d, mt, ms, fs, H5P_DEFAULT, col);
            H5Sclose(ms);
            H5Sclose(fs);
        }
        size_t sz = c->type == MS_H5_STR ? c->len : type_size(c->type);
        for (hsize_t i = 0; e >= 0 && i < len; i++)
            memcpy((char *)&r[i] + c->off, col + i * sz, sz);
        if (c->type == MS_H5_STR && mt >= 0)
            H5Tclose(mt);
        if (d >= 0)
            H5Dclose(d);
    }
    ms_free(col);
    if (e < 0) {
        ms_free(r);
        H5Eclear2(H5E_DEFAULT);
        return MS_ERROR(MS_EINPUT, "%s: error: %s: expected a readable events "
                        "table, found one HDF5 cannot read", fname, group);
    }
    *rows = r;
    *n = len;
    return MS_OK;
}

/* ---- in-place, crash-safe files (sweeps) ---- */

/* One writer per in-place file. HDF5 lets go of its own file lock once
 * single-writer mode starts (so that readers can follow the file), and
 * --resume clears the "open for writing" mark a killed writer leaves, so
 * neither stops a second process from writing a file that a first one is
 * still writing, which corrupts it. An open-file-description lock on a
 * descriptor of our own does: it is independent of HDF5's flock() and of
 * readers, and the kernel drops it when the process dies. Where such
 * locks are missing (non-Linux) or refused (some network file systems),
 * go on without. */
static ms_status writer_lock_at(ms_h5 *f, const char *path, int create)
{
#ifdef F_OFD_SETLK
    int fd = open(path, O_RDWR | O_CLOEXEC | (create ? O_CREAT : 0), 0666);
    if (fd < 0)
        return MS_OK; /* H5Fopen will say why */
    struct flock l;
    memset(&l, 0, sizeof l);
    l.l_type = F_WRLCK;
    l.l_whence = SEEK_SET;
    if (fcntl(fd, F_OFD_SETLK, &l) != 0) {
        int e = errno;
        close(fd);
        if (e == EAGAIN || e == EACCES)
            return MS_ERROR(MS_EINPUT, "%s: error: another marketsim process is "
                            "writing this file; wait for it to end, or stop "
                            "it (the file keeps every finished run) and then "
                            "--resume", path);
        return MS_OK;
    }
    f->lockfd = fd;
#else
    (void)f;
    (void)path;
    (void)create;
#endif
    return MS_OK;
}

static ms_status writer_lock(ms_h5 *f, const char *path)
{
    return writer_lock_at(f, path, 0);
}

static hid_t latest_fapl(int clear)
{
    hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
    if (fapl < 0)
        return fapl;
    if (H5Pset_libver_bounds(fapl, H5F_LIBVER_LATEST, H5F_LIBVER_LATEST) < 0) {
        H5Pclose(fapl);
        return -1;
    }
    if (clear) {
        /* The property h5clear -s sets: clear the "open for writing" mark
         * a killed SWMR writer leaves in the superblock. */
        hbool_t yes = 1;
        if (H5Pset(fapl, "clear_status_flags", &yes) < 0) {
            H5Pclose(fapl);
            return -1;
        }
    }
    return fapl;
}

/* Laid out at PATH.partial (locked first, so that two sweeps starting
 * onto one path cannot both write it), and published at PATH by
 * ms_h5_publish once complete: a sweep stopped while laying out its file
 * leaves no PATH, only a PATH.partial that the next start replaces. */
ms_status ms_h5_create_inplace(const char *path, ms_h5 **out)
{
    quiet();
    *out = NULL;
    ms_h5 *f;
    MS_CALL(new_handle(path, 0, &f));
    f->inplace = 1;
    ms_status st = writer_lock_at(f, f->partial, 1);
    if (st != MS_OK) {
        drop_handle(f);
        return st;
    }
    hid_t fapl = latest_fapl(0);
    errno = 0;
    f->file = fapl < 0 ? -1 : H5Fcreate(f->partial, H5F_ACC_TRUNC,
                                        H5P_DEFAULT, fapl);
    if (fapl >= 0)
        H5Pclose(fapl);
    if (f->file < 0) {
        int e = errno;
        H5Eclear2(H5E_DEFAULT);
        st = MS_ERROR(MS_EIO, "%s: cannot create: %s; check that the "
                      "folder exists and is writable", f->partial,
                      e ? strerror(e) : "HDF5 error");
        remove(f->partial);
        drop_handle(f);
        return st;
    }
    *out = f;
    return MS_OK;
}

ms_status ms_h5_publish(ms_h5 *f)
{
    if (!strcmp(f->partial, f->path))
        return MS_OK;
    H5TRY(H5Fflush(f->file, H5F_SCOPE_GLOBAL), "flush the file");
    if (f->lockfd >= 0 && fsync(f->lockfd) != 0 && errno != EINVAL &&
        errno != EROFS)
        return MS_ERROR(MS_EIO, "%s: cannot write to the disk (fsync): %s",
                        f->partial, strerror(errno));
    if (rename(f->partial, f->path) != 0)
        return MS_ERROR(MS_EIO, "%s: cannot rename to %s: %s", f->partial,
                        f->path, strerror(errno));
    snprintf(f->partial, strlen(f->path) + 9, "%s", f->path);
    return MS_OK;
}

ms_status ms_h5_start_swmr(ms_h5 *f)
{
    H5TRY(H5Fstart_swmr_write(f->file), "start single-writer mode");
    return MS_OK;
}

/* ---- durable sweep writes: room, flushes that reach the disk, run
 * checksums ---- */

uint64_t ms_h5_hash(uint64_t h, const void *data, size_t n)
{
    const unsigned char *p = data;
    for (size_t i = 0; i < n; i++) {
        h ^= p[i];
        h *= 0x100000001b3ULL; /* the 64-bit FNV prime */
    }
    return h;
}

int64_t ms_h5_file_id(const ms_h5 *f) { return (int64_t)f->file; }

/* HDF5 writes the run's chunks, and metadata, at the end of what it has
 * allocated (EOA). A write that fails half-way (a full disk, a file-size
 * limit) leaves metadata that points past the end of the file, which then
 * no longer opens. So the room past the EOA is taken first, in one call
 * that either gets it all or fails before HDF5 writes anything; closing
 * the file gives the unused part back (HDF5 truncates it to the EOA). */
ms_status ms_h5_reserve(ms_h5 *f, size_t bytes)
{
    if (f->lockfd < 0)
        return MS_OK; /* no descriptor of our own (see writer_lock) */
    haddr_t eoa;
    H5TRY(H5Fget_eoa(f->file, &eoa), "find the end of the file");
    int e = posix_fallocate(f->lockfd, (off_t)eoa, (off_t)bytes);
    if (e == 0 || e == EINVAL || e == EOPNOTSUPP)
        return MS_OK; /* EINVAL, EOPNOTSUPP: the file system cannot */
    return MS_ERROR(MS_EIO, "%s: cannot make room for the next run (%zu "
                    "bytes): %s%s; the file keeps every run finished so far: "
                    "free space (or raise the limit), then continue with "
                    "--resume", f->path, bytes, strerror(e),
                    e == ENOSPC || e == EDQUOT ? " (the disk or quota is full)"
                    : e == EFBIG ? " (the file exceeds a size limit)" : "");
}

/* H5Fflush hands the data to the kernel; fsync puts them on the disk, so
 * that what comes after (a run's status) cannot reach it first. */
ms_status ms_h5_flush_durable(ms_h5 *f)
{
    H5TRY(H5Fflush(f->file, H5F_SCOPE_GLOBAL), "flush the file");
    if (f->lockfd >= 0 && fsync(f->lockfd) != 0 && errno != EINVAL &&
        errno != EROFS)
        return MS_ERROR(MS_EIO, "%s: cannot write to the disk (fsync): %s",
                        f->path, strerror(errno));
    return MS_OK;
}

size_t ms_h5_var_chunk_bytes(const ms_h5var *v)
{
    hid_t dcpl = H5Dget_create_plist(v->dset);
    hsize_t ch[MAX_DIMS];
    size_t n = H5Tget_size(var_mtype(v));
    int k = dcpl < 0 ? -1 : H5Pget_chunk(dcpl, MAX_DIMS, ch);
    if (dcpl >= 0)
        H5Pclose(dcpl);
    if (k < 0) {
        H5Eclear2(H5E_DEFAULT);
        return ms_h5_var_slab_bytes(v);
    }
    for (int i = 0; i < k; i++)
        n *= (size_t)ch[i];
    return n;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static ms_status list_marked_id(hid_t file, const char *path, int readonly,
                                const char *group, const char *attr,
                                char ***names, int *n);

/* Hash run r's slab of one dataset into sums[r], for the runs with
 * want[r], reading it in its stored type (native byte order): the bytes
 * the writer hashed. */
static ms_status hash_dataset(hid_t file, const char *path, int64_t R,
                              const int8_t *want, uint64_t *sums)
{
    hid_t d = H5Dopen2(file, path, H5P_DEFAULT);
    hid_t ft = d < 0 ? -1 : H5Dget_type(d);
    hid_t mt = ft < 0 ? -1 : H5Tget_native_type(ft, H5T_DIR_ASCEND);
    hid_t fs = d < 0 ? -1 : H5Dget_space(d);
    hsize_t dims[MAX_DIMS], start[MAX_DIMS] = {0};
    int nd = fs < 0 ? -1 : H5Sget_simple_extent_ndims(fs);
    ms_status st = MS_OK;
    if (mt < 0 || nd < 1 || nd > MAX_DIMS ||
        H5Sget_simple_extent_dims(fs, dims, NULL) < 0 ||
        dims[0] != (hsize_t)R) {
        H5Eclear2(H5E_DEFAULT);
        st = MS_ERROR(MS_EINPUT, "%s: not a dataset over the %lld runs "
                      "(or points)", path, (long long)R);
    }
    size_t bytes = mt < 0 ? 0 : H5Tget_size(mt);
    for (int i = 1; st == MS_OK && i < nd; i++) {
        if (dims[i] && bytes > ((size_t)1 << 40) / dims[i])
            st = MS_ERROR(MS_EINPUT, "%s: too large to check", path);
        bytes *= (size_t)dims[i];
    }
    char *buf = st == MS_OK ? ms_malloc(bytes ? bytes : 1) : NULL;
    if (st == MS_OK && !buf)
        st = MS_ERROR(MS_ENOMEM, "out of memory checking %s", path);
    hid_t ms = -1;
    if (st == MS_OK && bytes) {
        dims[0] = 1;
        ms = H5Screate_simple(nd, dims, NULL);
    }
    for (int64_t r = 0; st == MS_OK && bytes && r < R; r++) {
        if (!want[r])
            continue;
        start[0] = (hsize_t)r;
        if (ms < 0 ||
            H5Sselect_hyperslab(fs, H5S_SELECT_SET, start, NULL, dims,
                                NULL) < 0 ||
            H5Dread(d, mt, ms, fs, H5P_DEFAULT, buf) < 0) {
            H5Eclear2(H5E_DEFAULT);
            /* An unreadable slab (a chunk cut by a crash) is a mismatch,
             * not an error: the run is done again. */
            sums[r] ^= 1;
            continue;
        }
        sums[r] = ms_h5_hash(sums[r], buf, bytes);
    }
    ms_free(buf);
    if (ms >= 0)
        H5Sclose(ms);
    if (fs >= 0)
        H5Sclose(fs);
    if (mt >= 0)
        H5Tclose(mt);
    if (ft >= 0)
        H5Tclose(ft);
    if (d >= 0)
        H5Dclose(d);
    return st;
}

ms_status ms_h5_sweep_checksums(int64_t file, const char *path, int64_t R,
                                const int8_t *want, uint64_t *sums)
{
    static const char *const groups[] = {"/firm", "/market", "/startups"};
    return ms_h5_slab_checksums(file, path, groups, 3, "sweep_run_axis", R,
                                want, sums);
}

ms_status ms_h5_slab_checksums(int64_t file, const char *path,
                               const char *const *groups, int n_groups,
                               const char *attr, int64_t R,
                               const int8_t *want, uint64_t *sums)
{
    for (int64_t r = 0; r < R; r++)
        sums[r] = MS_H5_HASH_INIT;
    char **all = NULL;
    int n_all = 0;
    ms_status st = MS_OK;
    for (int g = 0; g < n_groups && st == MS_OK; g++) {
        char **names;
        int n;
        st = list_marked_id((hid_t)file, path, 1, groups[g], attr, &names,
                            &n);
        if (st != MS_OK)
            break;
        char **q = ms_realloc(all, (size_t)(n_all + n + 1) * sizeof *q);
        if (!q) {
            ms_h5_names_free(names, n);
            st = MS_ERROR(MS_ENOMEM, "out of memory");
            break;
        }
        all = q;
        for (int i = 0; i < n && st == MS_OK; i++) {
            size_t len = strlen(groups[g]) + strlen(names[i]) + 2;
            if (!(all[n_all] = ms_malloc(len)))
                st = MS_ERROR(MS_ENOMEM, "out of memory");
            else
                snprintf(all[n_all++], len, "%s/%s", groups[g], names[i]);
        }
        ms_h5_names_free(names, n);
    }
    if (st == MS_OK && n_all)
        qsort(all, (size_t)n_all, sizeof *all, cmp_str);
    for (int i = 0; i < n_all && st == MS_OK; i++)
        st = hash_dataset((hid_t)file, all[i], R, want, sums);
    ms_h5_names_free(all, n_all);
    return st;
}

ms_status ms_h5_open_rw(const char *path, int clear, ms_h5 **out)
{
    quiet();
    *out = NULL;
    ms_h5 *f;
    MS_CALL(new_handle(path, 1, &f));
    ms_status st = writer_lock(f, path);
    if (st != MS_OK) {
        drop_handle(f);
        return st;
    }
    hid_t fapl = latest_fapl(clear);
    f->file = fapl < 0 ? -1 : H5Fopen(path, H5F_ACC_RDWR, fapl);
    if (fapl >= 0)
        H5Pclose(fapl);
    if (f->file < 0) {
        H5Eclear2(H5E_DEFAULT);
        drop_handle(f);
        return MS_ERROR(MS_EINPUT, "%s: error: cannot open for writing (not an "
                        "HDF5 file, or in use by another process)", path);
    }
    /* A single-writer file whose writer was killed can hold objects past
     * the end its superblock records (the superblock is written after
     * them); readers in that mode do not mind, a writer does ("addr
     * overflow"). Take the end of the file as the end, as `h5clear
     * --increment=0` does. */
    if (clear && H5Fincrement_filesize(f->file, 0) < 0) {
        st = h5fail(__FILE__, __LINE__, "recover the file's end", path);
        H5Fclose(f->file);
        drop_handle(f);
        return st;
    }
    *out = f;
    return MS_OK;
}

ms_status ms_h5_open_ro(const char *path, ms_h5 **out)
{
    quiet();
    *out = NULL;
    ms_h5 *f;
    MS_CALL(ms_h5r_check_heaps(path));
    MS_CALL(new_handle(path, 1, &f));
    int bad;
    int64_t img = ms_h5r_open_image(path, &bad);
    f->file = img >= 0 || bad ? (hid_t)img
                              : H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (f->file < 0 && !bad) {
        H5Eclear2(H5E_DEFAULT);
        hid_t fapl = latest_fapl(0);
        f->file = fapl < 0 ? -1
                           : H5Fopen(path, H5F_ACC_RDONLY | H5F_ACC_SWMR_READ,
                                     fapl);
        if (fapl >= 0)
            H5Pclose(fapl);
    }
    if (f->file < 0) {
        H5Eclear2(H5E_DEFAULT);
        drop_handle(f);
        return MS_ERROR(MS_EINPUT, "%s: error: cannot open as HDF5", path);
    }
    f->readonly = 1;
    *out = f;
    return MS_OK;
}

int ms_h5_exists(ms_h5 *f, const char *path)
{
    htri_t e = H5Lexists(f->file, path, H5P_DEFAULT);
    H5Eclear2(H5E_DEFAULT);
    return e > 0;
}

static ms_status lookup_dims(ms_h5 *f, const char *group, const char *name,
                             int ndims, const char *const *dimnames,
                             hsize_t *dims, dim **ds)
{
    if (ndims < 1 || ndims > MAX_DIMS)
        return MS_ERROR(MS_EINTERNAL, "bad rank %d for %s", ndims, name);
    for (int i = 0; i < ndims; i++) {
        ds[i] = find_dim(f, group, dimnames[i]);
        if (!ds[i])
            return MS_ERROR(MS_EINTERNAL, "%s: dimension %s not defined in %s",
                            name, dimnames[i], group);
        dims[i] = ds[i]->size;
    }
    return MS_OK;
}

static ms_status make_indexed(ms_h5 *f, const char *group, const char *name,
                              hid_t ftype, hid_t mtype, ms_h5type type,
                              size_t elem, int ndims,
                              const char *const *dimnames, const void *fill,
                              int inplace, ms_h5var **out)
{
    char path[512];
    join_path(path, sizeof path, group, name);
    hsize_t dims[MAX_DIMS], chunk[MAX_DIMS];
    dim *ds[MAX_DIMS];
    MS_CALL(lookup_dims(f, group, name, ndims, dimnames, dims, ds));
    size_t rest = elem;
    chunk[0] = 1;
    for (int i = 1; i < ndims; i++) {
        chunk[i] = dims[i] ? dims[i] : 1;
        rest *= chunk[i];
    }
    /* Small slabs: several runs per chunk, up to about 64 KiB. */
    hsize_t per = rest ? 65536 / rest : 1;
    chunk[0] = per < 1 ? 1 : per > dims[0] ? (dims[0] ? dims[0] : 1) : per;
    hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
    herr_t e = dcpl < 0 ? -1 : H5Pset_chunk(dcpl, ndims, chunk);
    if (e >= 0 && type != MS_H5_STR && !inplace)
        e = H5Pset_shuffle(dcpl);
    if (e >= 0 && !inplace)
        e = H5Pset_deflate(dcpl, 4);
    /* In place: every chunk allocated now, unfiltered, so a rewrite keeps
     * its address (single-writer mode never reuses the space of a chunk
     * that moved). */
    if (e >= 0 && inplace)
        e = H5Pset_alloc_time(dcpl, H5D_ALLOC_TIME_EARLY);
    if (e >= 0 && fill)
        e = H5Pset_fill_value(dcpl, mtype, fill);
    hid_t sp = e < 0 ? -1 : H5Screate_simple(ndims, dims, NULL);
    hid_t d = sp < 0 ? -1 : H5Dcreate2(f->file, path, ftype, sp, H5P_DEFAULT,
                                       dcpl, H5P_DEFAULT);
    if (sp >= 0)
        H5Sclose(sp);
    if (dcpl >= 0)
        H5Pclose(dcpl);
    H5TRY(d, "create a dataset");
    ms_h5var *v = ms_calloc(1, sizeof *v);
    if (!v) {
        H5Dclose(d);
        return MS_ERROR(MS_ENOMEM, "out of memory");
    }
    v->dset = d;
    v->type = type;
    v->ndims = ndims;
    v->file = f;
    for (int i = 0; i < ndims; i++)
        v->dims[i] = dims[i];
    v->next = f->vars;
    f->vars = v;
    for (int i = 0; i < ndims; i++)
        H5TRY(H5DSattach_scale(v->dset, ds[i]->dset, (unsigned)i),
              "attach a dimension scale");
    *out = v;
    return MS_OK;
}

static ms_status var_indexed(ms_h5 *f, const char *group, const char *name,
                             ms_h5type type, int ndims,
                             const char *const *dims, const char *units,
                             const char *long_name, int inplace,
                             ms_h5var **out)
{
    double fnan = NAN;
    int64_t fneg = -1;
    const void *fill = type == MS_H5_F64 ? (const void *)&fnan
                       : type == MS_H5_U64 ? NULL
                                           : (const void *)&fneg;
    /* The fill must be given in the memory type of the variable. */
    int8_t f8 = -1;
    int32_t f32 = -1;
    if (type == MS_H5_I8)
        fill = &f8;
    else if (type == MS_H5_I32)
        fill = &f32;
    MS_CALL(make_indexed(f, group, name, file_type(type), mem_type(type), type,
                         type_size(type), ndims, dims, fill, inplace, out));
    char path[512];
    join_path(path, sizeof path, group, name);
    return describe(f, path, units, long_name);
}

ms_status ms_h5_var_indexed(ms_h5 *f, const char *group, const char *name,
                            ms_h5type type, int ndims,
                            const char *const *dims, const char *units,
                            const char *long_name, ms_h5var **out)
{
    return var_indexed(f, group, name, type, ndims, dims, units, long_name, 0,
                       out);
}

ms_status ms_h5_var_inplace(ms_h5 *f, const char *group, const char *name,
                            ms_h5type type, int ndims,
                            const char *const *dims, const char *units,
                            const char *long_name, ms_h5var **out)
{
    return var_indexed(f, group, name, type, ndims, dims, units, long_name, 1,
                       out);
}

ms_status ms_h5_var_fixstr(ms_h5 *f, const char *group, const char *name,
                           size_t len, int ndims, const char *const *dims,
                           const char *long_name, ms_h5var **out)
{
    hid_t t = H5Tcopy(H5T_C_S1);
    H5TRY(t, "make a string type");
    if (H5Tset_size(t, len) < 0 || H5Tset_strpad(t, H5T_STR_NULLTERM) < 0) {
        H5Tclose(t);
        return h5fail(__FILE__, __LINE__, "make a string type", f->path);
    }
    ms_status st = make_indexed(f, group, name, t, t, MS_H5_STR, len, ndims,
                                dims, NULL, 0, out);
    if (st != MS_OK) {
        H5Tclose(t);
        return st;
    }
    (*out)->ctype = t;
    char path[512];
    join_path(path, sizeof path, group, name);
    return describe(f, path, NULL, long_name);
}

ms_status ms_h5_var_open(ms_h5 *f, const char *path, ms_h5type type,
                         ms_h5var **out)
{
    /* Rank 1 to MAX_DIMS, of the class asked for: the shape itself is
     * the caller's to check (ms_h5_var_shape, ms_h5_var_expect). */
    ms_h5r_class cls = type == MS_H5_F64 ? MS_H5R_FLOAT
                       : type == MS_H5_STR ? MS_H5R_STRING : MS_H5R_INT;
    int rank;
    int64_t shape[MS_H5R_MAX_RANK];
    MS_CALL(ms_h5r_shape((int64_t)f->file, f->path, path, cls, &rank, shape));
    hid_t d = H5Dopen2(f->file, path, H5P_DEFAULT);
    if (d < 0) {
        H5Eclear2(H5E_DEFAULT);
        return MS_ERROR(MS_EINPUT, "%s: error: no dataset %s", f->path, path);
    }
    ms_h5var *v = ms_calloc(1, sizeof *v);
    if (!v) {
        H5Dclose(d);
        return MS_ERROR(MS_ENOMEM, "out of memory");
    }
    v->dset = d;
    v->type = type;
    v->file = f;
    hid_t sp = H5Dget_space(d);
    v->ndims = H5Sget_simple_extent_ndims(sp);
    if (v->ndims > 0 && v->ndims <= MAX_DIMS)
        H5Sget_simple_extent_dims(sp, v->dims, NULL);
    H5Sclose(sp);
    if (type == MS_H5_STR) {
        hid_t ft = H5Dget_type(d);
        v->ctype = H5Tcopy(ft);
        H5Tclose(ft);
    }
    v->next = f->vars;
    f->vars = v;
    *out = v;
    return MS_OK;
}

ms_status ms_h5_var_expect(const ms_h5var *v, int rank, const int64_t *dims)
{
    int ok = v->ndims == rank;
    for (int i = 0; ok && i < rank; i++)
        ok = (int64_t)v->dims[i] == dims[i];
    if (ok)
        return MS_OK;
    char name[256] = "?", want[160] = "", found[160] = "";
    H5Iget_name(v->dset, name, sizeof name);
    H5Eclear2(H5E_DEFAULT);
    size_t a = 0, b = 0;
    for (int i = 0; i < rank && a < sizeof want; i++)
        a += (size_t)snprintf(want + a, sizeof want - a, "%s%lld",
                              i ? " x " : "", (long long)dims[i]);
    for (int i = 0; i < v->ndims && b < sizeof found; i++)
        b += (size_t)snprintf(found + b, sizeof found - b, "%s%llu",
                              i ? " x " : "", (unsigned long long)v->dims[i]);
    return MS_ERROR(MS_EINPUT, "%s: error: %s: expected shape %s, found %s",
                    v->file ? v->file->path : "?", name, want, found);
}

int ms_h5_var_shape(const ms_h5var *v, int64_t *dims)
{
    for (int i = 0; i < v->ndims; i++)
        dims[i] = (int64_t)v->dims[i];
    return v->ndims;
}

static ms_status index_io(ms_h5var *v, int64_t idx, void *data, int write)
{
    if (v->ndims < 1 || idx < 0 || (hsize_t)idx >= v->dims[0])
        return MS_ERROR(MS_EINTERNAL, "index %lld out of range",
                        (long long)idx);
    return slab_io(v, idx, data, write, write ? "write a run" : "read a run");
}

ms_status ms_h5_write_index(ms_h5var *v, int64_t idx, const void *data)
{
    return index_io(v, idx, (void *)data, 1);
}

ms_status ms_h5_read_index(ms_h5var *v, int64_t idx, void *data)
{
    return index_io(v, idx, data, 0);
}

ms_status ms_h5_read_all(ms_h5var *v, void *data)
{
    if (H5Dread(v->dset, var_mtype(v), H5S_ALL, H5S_ALL, H5P_DEFAULT,
                data) < 0)
        return var_fail(v, "read a dataset");
    return MS_OK;
}

ms_status ms_h5_dim_index(ms_h5 *f, const char *group, const char *dimname,
                          int n, const char *long_name)
{
    char path[512];
    join_path(path, sizeof path, group, dimname);
    hsize_t sz = (hsize_t)n;
    int64_t *vals = ms_calloc(n ? (size_t)n : 1, sizeof *vals);
    if (!vals)
        return MS_ERROR(MS_ENOMEM, "out of memory");
    for (int i = 0; i < n; i++)
        vals[i] = i;
    hid_t sp = H5Screate_simple(1, &sz, NULL);
    hid_t d = sp < 0 ? -1 : H5Dcreate2(f->file, path, H5T_STD_I64LE, sp,
                                       H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    herr_t w = d < 0 ? -1 : (n ? H5Dwrite(d, H5T_NATIVE_INT64, H5S_ALL,
                                          H5S_ALL, H5P_DEFAULT, vals) : 0);
    ms_free(vals);
    if (w >= 0)
        w = H5DSset_scale(d, dimname);
    if (sp >= 0)
        H5Sclose(sp);
    if (w < 0) {
        if (d >= 0)
            H5Dclose(d);
        return h5fail(__FILE__, __LINE__, "write a coordinate", f->path);
    }
    MS_CALL(add_dim(f, group, dimname, d, sz, 0));
    return describe(f, path, NULL, long_name);
}

ms_status ms_h5_text_read(ms_h5 *f, const char *path, char **out)
{
    return ms_h5r_text((int64_t)f->file, f->path, path, MS_H5R_TEXT_MAX, out);
}

ms_status ms_h5_attr_read(ms_h5 *f, const char *obj, const char *name,
                          char *buf, size_t size)
{
    buf[0] = '\0';
    hid_t o = ms_h5r_is_dataset((int64_t)f->file, obj) ||
                      H5Lexists(f->file, obj, H5P_DEFAULT) > 0 ||
                      !strcmp(obj, "/")
                  ? H5Oopen(f->file, obj, H5P_DEFAULT)
                  : -1;
    if (o < 0) {
        H5Eclear2(H5E_DEFAULT);
        return MS_ERROR(MS_EINPUT, "%s: error: no %s in the file", f->path,
                        obj);
    }
    int found;
    ms_status st = ms_h5r_attr_text((int64_t)o, f->path, obj, name, buf, size,
                                    &found);
    H5Oclose(o);
    if (st != MS_OK)
        return st;
    if (!found)
        return MS_ERROR(MS_EINPUT, "%s: error: no attribute %s", f->path, name);
    if (found == 2)
        return MS_ERROR(MS_EINPUT, "%s: error: attribute %s of %s: expected "
                        "at most %zu bytes, found more", f->path, name, obj,
                        size - 1);
    return MS_OK;
}

ms_status ms_h5_unlink(ms_h5 *f, const char *path)
{
    if (!ms_h5_exists(f, path))
        return MS_OK;
    H5TRY(H5Ldelete(f->file, path, H5P_DEFAULT), "remove an object");
    return MS_OK;
}

typedef struct list_ctx {
    const char *attr;
    char **names;
    int n, cap, oom;
} list_ctx;

static herr_t list_marked_cb(hid_t g, const char *name, const H5L_info_t *info,
                             void *data)
{
    (void)info;
    list_ctx *c = data;
    if (H5Aexists_by_name(g, name, c->attr, H5P_DEFAULT) <= 0) {
        H5Eclear2(H5E_DEFAULT);
        return 0;
    }
    if (c->n == c->cap) {
        int nc = c->cap ? c->cap * 2 : 16;
        char **q = ms_realloc(c->names, (size_t)nc * sizeof *q);
        if (!q) {
            c->oom = 1;
            return 1;
        }
        c->names = q;
        c->cap = nc;
    }
    if (!(c->names[c->n] = ms_strdup(name))) {
        c->oom = 1;
        return 1;
    }
    c->n++;
    return 0;
}

ms_status ms_h5_list_marked(ms_h5 *f, const char *group, const char *attr,
                            char ***names, int *n)
{
    return list_marked_id(f->file, f->path, f->readonly, group, attr, names,
                          n);
}

static ms_status list_marked_id(hid_t file, const char *path, int readonly,
                                const char *group, const char *attr,
                                char ***names, int *n)
{
    list_ctx c = {attr, NULL, 0, 0, 0};
    *names = NULL;
    *n = 0;
    htri_t ex = H5Lexists(file, group, H5P_DEFAULT);
    H5Eclear2(H5E_DEFAULT);
    if (ex <= 0)
        return MS_OK;
    hid_t g = H5Gopen2(file, group, H5P_DEFAULT);
    if (g < 0 && readonly) {
        H5Eclear2(H5E_DEFAULT);
        return MS_ERROR(MS_EINPUT, "%s: error: %s: expected a group, found "
                        "one HDF5 cannot open (a damaged file?)", path,
                        group);
    }
    if (g < 0)
        return h5fail(__FILE__, __LINE__, "open a group", path);
    /* The native walk, sorted after (as info.c does, see there why). */
    herr_t e = H5Literate(g, H5_INDEX_NAME, H5_ITER_NATIVE, NULL,
                          list_marked_cb, &c);
    H5Gclose(g);
    if (!c.oom && e >= 0 && c.n > 1)
        qsort(c.names, (size_t)c.n, sizeof *c.names, cmp_str);
    if (c.oom || e < 0) {
        for (int i = 0; i < c.n; i++)
            ms_free(c.names[i]);
        ms_free(c.names);
        if (c.oom)
            return MS_ERROR(MS_ENOMEM, "out of memory");
        if (readonly) {
            H5Eclear2(H5E_DEFAULT);
            return MS_ERROR(MS_EINPUT, "%s: error: %s: expected a group "
                            "that can be listed, found one HDF5 cannot "
                            "list (a damaged file?)", path, group);
        }
        return h5fail(__FILE__, __LINE__, "list a group", path);
    }
    *names = c.names;
    *n = c.n;
    return MS_OK;
}

ms_status ms_h5_dataset_kind(ms_h5 *f, const char *path, ms_h5type *kind)
{
    if (f->readonly && !ms_h5r_is_dataset((int64_t)f->file, path))
        return MS_ERROR(MS_EINPUT, "%s: error: %s: expected a dataset, "
                        "found none that HDF5 can open", f->path, path);
    hid_t d = H5Dopen2(f->file, path, H5P_DEFAULT);
    H5TRY(d, "open a dataset");
    hid_t t = H5Dget_type(d);
    H5T_class_t cl = H5Tget_class(t);
    H5Tclose(t);
    H5Dclose(d);
    *kind = cl == H5T_FLOAT ? MS_H5_F64 : cl == H5T_STRING ? MS_H5_STR
                                                           : MS_H5_I64;
    return MS_OK;
}

ms_status ms_h5_names_read(ms_h5 *f, const char *path, char ***names, int *n)
{
    int64_t len;
    *n = 0;
    MS_CALL(ms_h5r_names((int64_t)f->file, f->path, path, 0, INT32_MAX,
                         FIXSTR_NAMES_MAX, names, &len));
    *n = (int)len;
    return MS_OK;
}

void ms_h5_names_free(char **names, int n) { ms_h5r_names_free(names, n); }

size_t ms_h5_var_slab_bytes(const ms_h5var *v)
{
    size_t n = H5Tget_size(var_mtype(v));
    for (int i = 1; i < v->ndims; i++)
        n *= (size_t)v->dims[i];
    return n;
}

ms_status ms_h5_bytes(ms_h5 *f, const char *path, const void *data, size_t n)
{
    hsize_t sz = n, chunk = n < (1u << 20) ? (n ? n : 1) : (1u << 20);
    hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
    herr_t e = dcpl < 0 ? -1 : 0;
    if (e >= 0 && n > 0) {
        e = H5Pset_chunk(dcpl, 1, &chunk);
        if (e >= 0)
            e = H5Pset_deflate(dcpl, 1);
    }
    hid_t sp = e < 0 ? -1 : H5Screate_simple(1, &sz, NULL);
    hid_t d = sp < 0 ? -1 : H5Dcreate2(f->file, path, H5T_STD_U8LE, sp,
                                       H5P_DEFAULT, dcpl, H5P_DEFAULT);
    herr_t w = d < 0 ? -1 : (n ? H5Dwrite(d, H5T_NATIVE_UINT8, H5S_ALL,
                                          H5S_ALL, H5P_DEFAULT, data) : 0);
    if (d >= 0)
        H5Dclose(d);
    if (sp >= 0)
        H5Sclose(sp);
    if (dcpl >= 0)
        H5Pclose(dcpl);
    H5TRY(w, "write a state array");
    return MS_OK;
}

ms_status ms_h5_bytes_read(ms_h5 *f, const char *path, void **data, size_t *n)
{
    *data = NULL;
    *n = 0;
    ms_h5r_want w = {path, MS_H5R_INT, 1, 1, {0}, {MS_H5R_ANY}};
    int64_t len;
    MS_CALL(ms_h5r_check((int64_t)f->file, f->path, &w, &len));
    void *buf = ms_malloc(len ? (size_t)len : 1);
    if (!buf)
        return MS_ERROR(MS_ENOMEM, "%s: out of memory reading %s", f->path,
                        path);
    ms_status st = ms_h5_bytes_read_into(f, path, buf, (size_t)len);
    if (st != MS_OK) {
        ms_free(buf);
        return st;
    }
    *data = buf;
    *n = (size_t)len;
    return MS_OK;
}

ms_status ms_h5_bytes_read_into(ms_h5 *f, const char *path, void *data,
                                size_t n)
{
    ms_h5r_want w = {path, MS_H5R_INT, 1, 1, {(int64_t)n}, {(int64_t)n}};
    int64_t len;
    MS_CALL(ms_h5r_check((int64_t)f->file, f->path, &w, &len));
    hid_t d = H5Dopen2(f->file, path, H5P_DEFAULT);
    herr_t e = d < 0 ? -1 : n ? H5Dread(d, H5T_NATIVE_UINT8, H5S_ALL, H5S_ALL,
                                        H5P_DEFAULT, data) : 0;
    if (d >= 0)
        H5Dclose(d);
    if (e < 0) {
        H5Eclear2(H5E_DEFAULT);
        return MS_ERROR(MS_EINPUT, "%s: error: %s: expected readable bytes, "
                        "found data HDF5 cannot read (a damaged file?)",
                        f->path, path);
    }
    return MS_OK;
}

ms_status ms_h5_open_partial(const char *path, ms_h5 **out)
{
    quiet();
    *out = NULL;
    ms_h5 *f;
    MS_CALL(new_handle(path, 0, &f));
    /* The copy a checkpoint keeps was taken while the file was open in
     * single-writer mode: clear that mark. */
    hid_t fapl = latest_fapl(1);
    f->file = fapl < 0 ? -1 : H5Fopen(f->partial, H5F_ACC_RDWR, fapl);
    if (fapl >= 0)
        H5Pclose(fapl);
    if (f->file < 0) {
        H5Eclear2(H5E_DEFAULT);
        ms_status st = MS_ERROR(MS_EIO, "%s: cannot reopen the run file",
                                f->partial);
        drop_handle(f);
        return st;
    }
    *out = f;
    return MS_OK;
}

const char *ms_h5_write_path(const ms_h5 *f) { return f->partial; }

ms_status ms_h5_open_result(const char *path, int64_t *file)
{
    *file = -1;
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    MS_CALL(ms_h5r_check_heaps(path));
    int bad;
    int64_t img = ms_h5r_open_image(path, &bad);
    if (bad)
        return MS_ERROR(MS_EINPUT, "%s: error: cannot open the HDF5 file",
                        path);
    if (img >= 0) {
        *file = img;
        return MS_OK;
    }
    if (H5Fis_hdf5(path) <= 0) {
        H5Eclear2(H5E_DEFAULT);
        FILE *t = fopen(path, "rb");
        if (!t)
            return MS_ERROR(MS_EINPUT, "%s: error: cannot open the file",
                            path);
        fclose(t);
        return MS_ERROR(MS_EINPUT, "%s: error: not an HDF5 file (is it a "
                        "marketsim result?)", path);
    }
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (f < 0) {
        /* A run being written, or a sweep whose writer was killed. */
        H5Eclear2(H5E_DEFAULT);
        hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
        H5Pset_libver_bounds(fapl, H5F_LIBVER_LATEST, H5F_LIBVER_LATEST);
        f = H5Fopen(path, H5F_ACC_RDONLY | H5F_ACC_SWMR_READ, fapl);
        H5Pclose(fapl);
    }
    if (f < 0) {
        H5Eclear2(H5E_DEFAULT);
        return MS_ERROR(MS_EINPUT, "%s: error: cannot open the HDF5 file",
                        path);
    }
    *file = (int64_t)f;
    return MS_OK;
}

/* An attribute as text (strings, integers, floats): see ms_h5.h. */
int ms_h5_attr_text(int64_t objid, const char *name, char *buf, size_t size)
{
    int found;
    char fname[1024] = "?";
    H5Fget_name((hid_t)objid, fname, sizeof fname);
    H5Eclear2(H5E_DEFAULT);
    ms_status st = ms_h5r_attr_text(objid, fname, "?", name, buf, size,
                                    &found);
    if (st == MS_ENOMEM)
        return -1;
    if (st != MS_OK) {
        ms_error_clear();
        return 0;
    }
    return found ? 1 : 0;
}
