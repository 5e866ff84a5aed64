/*
 * ms_h5.h: the HDF5 layer: self-describing result files that h5py and
 * xarray (engine="h5netcdf") both read.
 *
 * A file is written to "PATH.partial" and renamed to PATH when closed, so a
 * failed run never leaves a half-written file under the final name and an
 * earlier result stays intact until the new one is complete or cleanly
 * interrupted. Variables are arrays whose first dimension is `time` (or
 * `run` in sweeps) and grows by one record per append; every dimension has
 * a coordinate variable attached as an HDF5 dimension scale, and every
 * variable carries `units` and `long_name` attributes (CF conventions).
 *
 * This is the only code that includes hdf5.h. Every HDF5 return value is
 * checked; failures become MS_EIO with the innermost HDF5 message.
 */
#ifndef MS_H5_H
#define MS_H5_H

#include "marketsim/ms_error.h"

#include <stddef.h>
#include <stdint.h>

typedef struct ms_h5 ms_h5;
typedef struct ms_h5var ms_h5var;

typedef enum {
    MS_H5_F64, MS_H5_I64, MS_H5_I32, MS_H5_I8, MS_H5_U64, MS_H5_STR
} ms_h5type;

/* Create PATH.partial (replacing a stale one). */
ms_status ms_h5_create(const char *path, ms_h5 **out);

/* A run file that readers can follow while it is written: as
 * ms_h5_create, in the HDF5 1.10 format, for ms_h5_start_swmr. Attributes
 * and new objects need ms_h5_reopen first, which leaves that mode. */
ms_status ms_h5_create_swmr(const char *path, ms_h5 **out);
/* Close every dataset and reopen the file for writing in normal mode
 * (after single-writer mode); dataset handles of f become invalid. */
ms_status ms_h5_reopen(ms_h5 *f);

/* Files written in place and crash-safe (sweeps): created directly at PATH
 * in the HDF5 1.10 format, so that after ms_h5_start_swmr the file stays
 * readable whatever happens to the writer (single-writer/multiple-reader
 * mode orders its metadata writes). In that mode only dataset writes are
 * allowed: create every object and attribute before. */
ms_status ms_h5_create_inplace(const char *path, ms_h5 **out);
/* The file is laid out at PATH.partial (ms_h5_write_path) and appears at
 * PATH only when ms_h5_publish renames it there, once complete. */
ms_status ms_h5_publish(ms_h5 *f);
ms_status ms_h5_start_swmr(ms_h5 *f);
/* Durable sweep writes. ms_h5_reserve makes room for `bytes` more at the
 * end of the file, so that a full disk or a file-size limit fails there,
 * before HDF5 writes anything, instead of half-way through a flush (which
 * leaves a file that does not open). ms_h5_flush_durable flushes and then
 * syncs the file to the disk. */
ms_status ms_h5_reserve(ms_h5 *f, size_t bytes);
ms_status ms_h5_flush_durable(ms_h5 *f);
/* The file's hid_t, for the functions below that take one and for the
 * checked reads of io/ms_h5read.h. */
int64_t ms_h5_file_id(const ms_h5 *f);
/* 64-bit FNV-1a: ms_h5_hash(MS_H5_HASH_INIT, ...) hashes a text or bytes;
 * feeding the result back in hashes a concatenation. */
#define MS_H5_HASH_INIT 0xcbf29ce484222325ULL
uint64_t ms_h5_hash(uint64_t h, const void *data, size_t n);
/* Checksums of the runs of a sweep file (an hid_t; `path` for messages)
 * with want[r] set: the FNV-1a hash of run r's slab of every dataset of
 * /firm, /market and /startups that carries `sweep_run_axis`, in the
 * order of their paths (strcmp), each read in its stored type (native
 * byte order), as /runs/checksum records them (docs/OUTPUT.md). */
ms_status ms_h5_sweep_checksums(int64_t file, const char *path, int64_t R,
                                const int8_t *want, uint64_t *sums);
/* The same over the datasets of `groups` that carry the attribute `attr`
 * (all with a first dimension of R entries): sums[i] is the hash of entry
 * i's slab of each, in the order of their paths. A summary-only sweep's
 * /summary/checksum is this over /summary and `summary_accumulator`. */
ms_status ms_h5_slab_checksums(int64_t file, const char *path,
                               const char *const *groups, int n_groups,
                               const char *attr, int64_t R,
                               const int8_t *want, uint64_t *sums);
/* Open an existing file for writing. A file left by a writer that was
 * killed in SWMR mode is marked open; `clear` clears that mark (what
 * `h5clear -s` does), for --resume. */
ms_status ms_h5_open_rw(const char *path, int clear, ms_h5 **out);
/* Open read-only; a file left by a killed SWMR writer is read in SWMR
 * mode. */
ms_status ms_h5_open_ro(const char *path, ms_h5 **out);
/* Reopen PATH.partial for writing (a run continued from a checkpoint);
 * closing with keep renames it to PATH as ms_h5_create's files. */
ms_status ms_h5_open_partial(const char *path, ms_h5 **out);
/* Path of the file being written (PATH.partial for ms_h5_create). */
const char *ms_h5_write_path(const ms_h5 *f);
int ms_h5_exists(ms_h5 *f, const char *path);
ms_status ms_h5_unlink(ms_h5 *f, const char *path);
/* Names of the datasets directly in `group` carrying attribute `attr`
 * (caller frees each and the array with ms_free). */
ms_status ms_h5_list_marked(ms_h5 *f, const char *group, const char *attr,
                            char ***names, int *n);
/* Type class of a dataset: MS_H5_F64 for floats, MS_H5_STR for strings,
 * MS_H5_I64 for integers (read them as such). */
ms_status ms_h5_dataset_kind(ms_h5 *f, const char *path, ms_h5type *kind);
/* Close; with `keep`, rename PATH.partial to PATH, else delete it; with
 * keep MS_H5_KEEP_PARTIAL leave it at PATH.partial (PATH, an earlier
 * result, stays as it is). */
#define MS_H5_KEEP_PARTIAL 2
ms_status ms_h5_close(ms_h5 **f, int keep);
ms_status ms_h5_flush(ms_h5 *f);
/* The same, after records were written (errors say so). */
ms_status ms_h5_flush_records(ms_h5 *f);
const char *ms_h5_path(const ms_h5 *f);

ms_status ms_h5_group(ms_h5 *f, const char *group);

/* Attributes on a group or dataset path ("/" for the root). */
ms_status ms_h5_attr_str(ms_h5 *f, const char *obj, const char *name,
                         const char *value);
ms_status ms_h5_attr_f64(ms_h5 *f, const char *obj, const char *name,
                         double value);
ms_status ms_h5_attr_i64(ms_h5 *f, const char *obj, const char *name,
                         int64_t value);

/* A scalar string dataset (e.g. the resolved scenario text). */
ms_status ms_h5_text(ms_h5 *f, const char *path, const char *text,
                     const char *long_name);

/* Fixed dimensions: a coordinate of names or of numbers. */
ms_status ms_h5_dim_names(ms_h5 *f, const char *group, const char *dim,
                          const char *const *names, int n,
                          const char *long_name);
ms_status ms_h5_dim_values(ms_h5 *f, const char *group, const char *dim,
                           const double *values, int n, const char *units,
                           const char *long_name);
/* A coordinate of names that grows (firms as they are born): fixed-length
 * UTF-8 strings of `len` bytes (variable-length strings cannot be written
 * in single-writer mode), n names to start with; and a names variable over
 * such a dimension. */
ms_status ms_h5_dim_names_grow(ms_h5 *f, const char *group, const char *dim,
                               size_t len, const char *const *names, int n,
                               const char *long_name, ms_h5var **out);
ms_status ms_h5_var_names_grow(ms_h5 *f, const char *group, const char *name,
                               const char *dimname, size_t len,
                               const char *const *names, int n,
                               const char *long_name, ms_h5var **out);
/* Grow a names dataset to n entries, writing names[old..n-1]. */
ms_status ms_h5_names_append(ms_h5var *v, const char *const *names,
                             int64_t n);
/* Grow a variable along `axis` to n (variables over a growing dimension;
 * the new part reads as the fill value until written). */
ms_status ms_h5_extend(ms_h5var *v, int axis, int64_t n);
/* CF flag attributes of a coded integer variable: flag_values (int8) and
 * flag_meanings (space-separated words). */
ms_status ms_h5_attr_flags(ms_h5 *f, const char *obj, const int8_t *values,
                           int n, const char *meanings);
/* A static variable of names over one fixed dimension. */
ms_status ms_h5_var_names(ms_h5 *f, const char *group, const char *name,
                          const char *dimname, const char *const *names,
                          int n, const char *long_name);
/* The growing record dimension (time or run), float64 values. */
ms_status ms_h5_dim_record(ms_h5 *f, const char *group, const char *dim,
                           const char *units, const char *long_name,
                           ms_h5var **out);

/* The number of records the file will hold, when known (n <= 0: not
 * known): record variables created after this get chunks no longer than
 * that along their record dimension, so a short run compresses no mostly
 * empty chunks. Longer files still work, in more chunks. */
void ms_h5_record_hint(ms_h5 *f, int64_t n);

/* A variable over dims[0..ndims-1]; dims[0] is the record dimension when
 * `record` is set; a growing dimension makes that axis extensible. Fill
 * value (also written as the CF `_FillValue` attribute): NaN for floats,
 * -1 for integers. */
ms_status ms_h5_var(ms_h5 *f, const char *group, const char *name,
                    ms_h5type type, int ndims, const char *const *dims,
                    int record, const char *units, const char *long_name,
                    ms_h5var **out);
/* A variable of fixed size whose leading dimension indexes runs: chunked
 * one run per chunk and compressed, so unwritten runs take no space. */
ms_status ms_h5_var_indexed(ms_h5 *f, const char *group, const char *name,
                            ms_h5type type, int ndims,
                            const char *const *dims, const char *units,
                            const char *long_name, ms_h5var **out);
/* The same, stored uncompressed and allocated whole at creation, so that
 * rewriting an entry in single-writer mode writes it where it is instead
 * of taking new room (a summary-only sweep's /summary, rewritten at
 * every fold). */
ms_status ms_h5_var_inplace(ms_h5 *f, const char *group, const char *name,
                            ms_h5type type, int ndims,
                            const char *const *dims, const char *units,
                            const char *long_name, ms_h5var **out);
/* Fixed-length strings of `len` bytes over dims (SWMR cannot write
 * variable-length strings). */
ms_status ms_h5_var_fixstr(ms_h5 *f, const char *group, const char *name,
                           size_t len, int ndims, const char *const *dims,
                           const char *long_name, ms_h5var **out);
/* An existing dataset. */
ms_status ms_h5_var_open(ms_h5 *f, const char *path, ms_h5type type,
                         ms_h5var **out);
/* Bytes of one slab at a leading index, in the variable's memory type. */
size_t ms_h5_var_slab_bytes(const ms_h5var *v);
/* Bytes of one chunk of a chunked variable (uncompressed), else of a slab. */
size_t ms_h5_var_chunk_bytes(const ms_h5var *v);
/* Shape of a variable: returns rank, fills dims. */
int ms_h5_var_shape(const ms_h5var *v, int64_t *dims);
/* MS_EINPUT (naming the file and dataset) unless the variable's shape is
 * exactly dims[0..rank-1]: what a read of a file not just written needs
 * before ms_h5_read_all or ms_h5_read_index. */
ms_status ms_h5_var_expect(const ms_h5var *v, int rank, const int64_t *dims);
/* Write or read the slab at index `idx` of the leading dimension. */
ms_status ms_h5_write_index(ms_h5var *v, int64_t idx, const void *data);
ms_status ms_h5_read_index(ms_h5var *v, int64_t idx, void *data);
ms_status ms_h5_read_all(ms_h5var *v, void *data);
/* A coordinate of integers 0..n-1. */
ms_status ms_h5_dim_index(ms_h5 *f, const char *group, const char *dim,
                          int n, const char *long_name);
/* Read a 1-D dataset of variable-length strings (caller frees with
 * ms_h5_names_free). */
ms_status ms_h5_names_read(ms_h5 *f, const char *path, char ***names,
                           int *n);
void ms_h5_names_free(char **names, int n);
/* A 1-D dataset of raw bytes (checkpoints), compressed; and reading one
 * back (caller frees *data with ms_free). */
ms_status ms_h5_bytes(ms_h5 *f, const char *path, const void *data,
                      size_t n);
ms_status ms_h5_bytes_read(ms_h5 *f, const char *path, void **data,
                           size_t *n);
/* The same into data, which must be exactly n bytes long in the file. */
ms_status ms_h5_bytes_read_into(ms_h5 *f, const char *path, void *data,
                                size_t n);
/* Read a scalar string dataset (caller frees with ms_free). */
ms_status ms_h5_text_read(ms_h5 *f, const char *path, char **out);
/* Read a string or integer attribute into text. */
ms_status ms_h5_attr_read(ms_h5 *f, const char *obj, const char *name,
                          char *buf, size_t size);
/* A static (non-record) variable written once. */
ms_status ms_h5_write(ms_h5var *v, const void *data);
/* Append one record (all of the non-record dimensions) at index `rec`. */
ms_status ms_h5_write_record(ms_h5var *v, int64_t rec, const void *data);
/* Write rows [start, start + n) of a 1-D variable (in its extent). */
ms_status ms_h5_write_rows(ms_h5var *v, int64_t start, size_t n,
                           const void *data);
/* Write one record of a 1-D record variable (a coordinate value). */
ms_status ms_h5_write_scalar_record(ms_h5var *v, int64_t rec, double value);

/* The events table: a growing 1-D compound dataset of these rows. */
typedef struct ms_h5_event_row {
    int64_t step;          /* step of the event (0-based) */
    double time;           /* year */
    char kind[16];         /* launch, entry, exit, ... */
    int32_t actor_id, target_id, market_id, category_id;  /* -1: none */
    char actor[64], target[64], market[64], category[64]; /* "" : none */
    double amount;         /* USD */
} ms_h5_event_row;

/* The events table in `group`: one 1-D column per field of the row, over
 * the growing dimension `event` (so xarray reads it as a table); room for
 * `cap` rows per append. The handle is the `event` coordinate's. */
ms_status ms_h5_events(ms_h5 *f, const char *group, size_t cap,
                       const char *long_name, ms_h5var **out);
ms_status ms_h5_events_open(ms_h5 *f, const char *group, size_t cap,
                            ms_h5var **out);
ms_status ms_h5_events_append(ms_h5var *v, const ms_h5_event_row *rows,
                              size_t n);
/* Read the whole events table of `group` of an open file id (as hid_t,
 * passed as int64_t so this header needs no hdf5.h); no table gives 0
 * rows. Caller frees *rows (ms_free). */
ms_status ms_h5_events_read(int64_t file, const char *group,
                            ms_h5_event_row **rows, size_t *n);
/* Open a result file read-only for `info` and `export`: an ordinary file,
 * or one still being written (a run in progress) or whose writer was
 * killed (a sweep), in SWMR mode. *file is an hid_t the caller closes
 * (H5Fclose); errors name the path. */
ms_status ms_h5_open_result(const char *path, int64_t *file);
/* Attribute `name` of an object id (hid_t) as text into buf (strings,
 * integers, floats; cut to size): 1 read, 0 absent or unreadable, -1 out
 * of memory (buf is then empty). */
int ms_h5_attr_text(int64_t obj, const char *name, char *buf, size_t size);

#endif
