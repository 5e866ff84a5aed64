/*
 * ms_output.h: what a run writes, record by record (schema: docs/OUTPUT.md).
 */
#ifndef MS_OUTPUT_H
#define MS_OUTPUT_H

#include "io/ms_h5.h"
#include "marketsim/ms_error.h"
#include "marketsim/ms_world.h"

#include <stddef.h>

typedef struct ms_output ms_output;
typedef struct ms_outvar_meta ms_outvar_meta;

typedef struct ms_run_info {
    const char *command;     /* command line, for the record */
    int threads;
} ms_run_info;

/* The file is readable while the run goes on (HDF5 single-writer mode):
 * its status attribute says `running` and the records written so far are
 * in it. */
ms_status ms_output_open(const char *path, const ms_world *w,
                         const ms_run_info *info, ms_output **out);
/* Describe a variable the CF way (units, long_name, description,
 * _FillValue is written by ms_h5_var, flags for coded integers). */
ms_status ms_output_describe(ms_h5 *h, const char *path,
                             const ms_outvar_meta *m);
/* Append the current state as the next time record. */
ms_status ms_output_record(ms_output *o, const ms_world *w);
/* The run file as written so far, as bytes (for a checkpoint); caller
 * frees with ms_free. */
ms_status ms_output_snapshot(ms_output *o, void **bytes, size_t *n);
/* Continue a run file from a checkpoint's snapshot: write it as
 * PATH.partial and reopen it at its last record. */
ms_status ms_output_resume(const char *path, const ms_world *w,
                           const void *bytes, size_t n, ms_output **out);
/* Append the events of the step just done to the /events table. */
ms_status ms_output_events(ms_output *o, const ms_world *w);
/* Record status ("complete" or "interrupted") and timers, close, and move
 * the file to its final name; with keep_partial, leave it as PATH.partial
 * (an interrupted run beside an earlier PATH, which stays untouched). */
ms_status ms_output_finish(ms_output **o, const ms_world *w,
                           const char *status, double wall_seconds,
                           int keep_partial);
/* Days from January 1 of year floor(start) to calendar year `year` (a
 * fraction of a year counts that share of its days), for a CF time
 * coordinate "days since FLOOR(start)-01-01" in the proleptic Gregorian
 * calendar. */
double ms_output_days(double start, double year);
/* Close and delete the partial file (after a failure). */
void ms_output_discard(ms_output **o);

/* The table of per-record variables, for writers other than the run file
 * (sweeps): name, group, units, meaning, type and the dimensions after
 * time; elements per record for a world; filling one record. */
struct ms_outvar_meta {
    const char *group, *name, *units, *long_name, *description;
    const char *flags;         /* flag_meanings of 0, 1, ... or NULL */
    ms_h5type type;
    int ndims;                 /* dimensions after time */
    const char *dims[4];
};

int ms_outvar_count(void);
int ms_outvar_find(const char *name);      /* -1 if unknown */
void ms_outvar_get(int i, ms_outvar_meta *meta);
size_t ms_outvar_elems(int i, const ms_world *w);
size_t ms_outvar_elem_size(int i);
void ms_outvar_fill(int i, const ms_world *w, void *buf);

#endif
