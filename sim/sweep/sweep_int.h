/*
 * sweep_int.h: the body of ms_sweep, shared by the sweep's files.
 */
#ifndef MS_SWEEP_INT_H
#define MS_SWEEP_INT_H

#include "marketsim/ms_sweep.h"
#include "scenario/scenario_int.h"

enum { MS_DESIGN_GRID, MS_DESIGN_LHS, MS_DESIGN_SOBOL, MS_DESIGN_TABLE,
       MS_DESIGN_SALTELLI, MS_DESIGN_MORRIS };
/* Names of the designs, as the sweep file and the output's `design`
 * attribute spell them, indexed by MS_DESIGN_*. */
extern const char *const ms_sweep_design_names[];

typedef struct ms_sweep_param {
    char *key;             /* scenario key, as for --set */
    int range;             /* 1: {low, high}, 0: a list of values */
    int n_values;          /* list: values; range in a grid: points */
    char **values;         /* list: each value as flow YAML */
    double *numeric;       /* list: value as a number, NaN if not numeric */
    int all_numeric;
    double low, high;
    int log;               /* range sampled on a log scale */
} ms_sweep_param;

struct ms_sweep {
    char *path;            /* the sweep file */
    char *text;            /* its text (stored in the output) */
    char *scenario_path;   /* the scenario, resolved against the sweep file */
    char *scenario_text;   /* its text, read once */
    uint64_t seed;
    int64_t replications;
    int design;
    int64_t samples;       /* lhs, sobol; table: its rows; saltelli: the
                              base samples N (a power of 2) */
    int64_t trajectories;  /* morris: r */
    int levels;            /* morris: levels of its grid (even) */
    int *table_choice;     /* table: [rows * n_params], the value of each
                              cell as an index into its column's values */
    int n_params;
    ms_sweep_param *params;
    int n_outputs;
    int *outputs;          /* indices into the output table */
    int summary_only;      /* outputs: summary: the file keeps the
                              per-point summaries, not the runs' arrays */
    int64_t every;         /* steps between kept records */
    int n_fixed;
    char **fixed;          /* "key=value" applied to every run */
    int64_t n_points;
    int64_t n_checked;     /* points 0 .. n_checked - 1 were checked to start */
    double *point_value;   /* [n_points * n_params]: number, or the index of
                              a non-numeric list value */
    int *point_choice;     /* [n_points * n_params]: list index, or -1 */
    ms_scenario *base;     /* the scenario with the fixed settings */
    char *base_yaml;       /* its resolved text */
};

/* The "key=value" settings of run r (fixed, point, seed); sets[] must hold
 * n_fixed + n_params + 1 pointers, bufs the texts (freed by the caller
 * with ms_free on each). */
ms_status ms_sweep_run_sets(const ms_sweep *s, int64_t r, char **sets,
                            int *n_sets);
uint64_t ms_sweep_run_seed(const ms_sweep *s, int64_t r);
/* What in sc differs from the base scenario and so from the layout of the
 * outputs ("run.steps", ...), or NULL when it has the base's shape. */
const char *ms_sweep_shape_change(const ms_sweep *s, const ms_scenario *sc);
int ms_sweep_in_shard(int64_t r, int shard_i, int shard_n);

/* What a sweep file must share with another to be joined to it (a
 * --resume, a merge): 64-bit FNV-1a hashes (16 hex digits) of the
 * resolved base scenario, the sweep text and the layout (every per-run
 * dataset with its type and shape), as the file's root attributes
 * scenario_hash, sweep_hash, layout_hash, and the texts to say where two
 * differ. */
struct ms_h5;
/* What `marketsim analyze` needs of a saltelli or morris design, as root
 * attributes of the sweep file (docs/OUTPUT.md); nothing for the others. */
ms_status ms_sweep_write_design(const ms_sweep *s, struct ms_h5 *h);
typedef struct ms_sweep_ident {
    char scenario[17], sweep[17], layout[17];
    char *scenario_text, *sweep_text, *layout_text;
} ms_sweep_ident;
/* Read a file's identity (MS_EINPUT naming `path` if it has none). */
ms_status ms_sweep_ident_read(struct ms_h5 *h, const char *path,
                              ms_sweep_ident *id);
void ms_sweep_ident_free(ms_sweep_ident *id);
/* MS_OK if a and b match, else MS_EINPUT "APATH: error: ..." saying what
 * differs (sweep, scenario or layout) and where (an, bn name the two
 * sides), then `fix`. */
ms_status ms_sweep_ident_compare(const ms_sweep_ident *a, const char *apath,
                                 const ms_sweep_ident *b, const char *an,
                                 const char *bn, const char *fix);

/* ---- summaries (summary.c) ---- */

/* One summarized output: /summary/NAME_mean, NAME_sd, NAME_m2 over
 * [point, time, dims...]. */
struct ms_h5var;
typedef struct ms_sweep_sumvar {
    char name[128];        /* X, or startups_X for /startups/X */
    char units[64];
    char long_name[256];
    int ndims;             /* dimensions after point and time */
    char dims[6][16];
} ms_sweep_sumvar;

/* Fold x (len values) into mean and m2 as the (n+1)-th value of each
 * (Welford's update; n = 0 starts them). The one formula of every sweep
 * summary: folding the same values in the same order gives the same bits. */
void ms_sweep_fold(double *mean, double *m2, int64_t n, const double *x,
                   size_t len);
/* The sample sd from m2 after n values (NaN where n < 2). */
void ms_sweep_fold_sd(const double *m2, int64_t n, double *sd, size_t len);
/* Whether the per-run dataset GROUP/NAME is summarized, and as what
 * (units and long_name are used for /startups, whose meta is not in the
 * output table). */
int ms_sweep_sumvar_of(const char *group, const char *name,
                       const char *units, const char *long_name,
                       ms_sweep_sumvar *v);
/* Lay out /summary (replacing any): coordinates, varied parameters (from
 * /runs), for each of vars X_mean, X_sd, X_m2 (acc[3j .. 3j+2]), n,
 * folded and checksum, all over `point`; `inplace` (a summary-only sweep,
 * which rewrites them at every fold): stored uncompressed and allocated
 * whole, so that the file does not grow with the folds. */
ms_status ms_sweep_summary_layout(struct ms_h5 *h, int64_t P, int64_t reps,
                                  int n_vars, const ms_sweep_sumvar *vars,
                                  int inplace, struct ms_h5var **acc,
                                  struct ms_h5var **v_n,
                                  struct ms_h5var **v_folded,
                                  struct ms_h5var **v_check);
/* /summary computed from the runs of a file with full outputs. */
ms_status ms_sweep_write_summary(struct ms_h5 *h);

#endif
