/*
 * farm.c: running a sweep into its file.
 *
 * The file is laid out completely before the first run: every kept output
 * with a leading `run` dimension of fixed size, /runs with each run's
 * point, replicate, seed and status. Then it switches to HDF5's
 * single-writer mode, in which the file stays readable whatever happens to
 * the writer, and each finished run is written (data first, status last)
 * and flushed. A killed sweep therefore keeps every run it finished, and
 * --resume runs only the runs whose status is not `done`.
 *
 * Where runs run:
 *  - one process: when there are at least as many runs to do as threads,
 *    the threads take whole runs (OpenMP over runs, one thread each: no
 *    synchronization inside a run, the best use of cores for many small
 *    runs); otherwise runs go one after the other with all threads inside
 *    each (the consumer loop is parallel). Writes are serialized.
 *  - mpirun: rank 0 hands out runs and writes (sim/par); the other ranks
 *    run them with their OpenMP threads inside each run.
 * A run's data depend on its seed only, and the summary is computed from
 * the file in run order, so the file's data are the same bits whatever
 * the split.
 *
 * outputs: summary keeps no run's arrays: /summary is laid out with the
 * file, and the writer folds each finished run into its point's
 * accumulators (summary.c, the fold of full sweeps) in replicate order; a
 * run that finishes before an earlier replicate of its point waits in
 * memory until that one is folded. A fold is stored like a run: room
 * first, then the point's accumulators, counts and checksum, synced, and
 * only then the statuses of the runs folded. --resume checks each point's
 * checksum (a point cut short is folded again from its first replicate)
 * and goes on from the runs folded; runs that had finished but were not
 * folded run again, with the same bits.
 */
#include "sweep/sweep_int.h"

#include "core/ms_output.h"
#include "core/world_int.h"
#include "io/ms_h5.h"
#include "marketsim/ms_alloc.h"
#include "marketsim/ms_paths.h"
#include "par/par.h"

#include <math.h>
#include <omp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define MSG_LEN 256
/* 2: firms keyed by identity (scenario firms; start-ups aggregated in
 * /startups), CF attributes. 3: /runs/checksum; the hashes of the
 * scenario, sweep and layout as root attributes. */
#define SCHEMA_VERSION 3

/* Start-up aggregates per (home market, entry category), over time: what
 * /startups holds. Start-ups differ from run to run, so they are never
 * kept one by one: slot K is a different firm in each run. */
enum { SU_ENTERED, SU_ALIVE, SU_USERS, SU_REVENUE, SU_CASH, SU_VALUE,
       SU_MARKET_USERS, N_SU };
static const struct {
    const char *name, *units, *long_name, *description;
} su_vars[N_SU] = {
    {"entered", "1", "start-ups entered",
     "start-ups of this home market and category that entered so far"},
    {"in_business", "1", "start-ups in business",
     "those of them still in business"},
    {"users", "1", "start-up users (people)",
     "people using them, over all markets and categories"},
    {"revenue", "USD/year", "start-up revenue",
     "their revenue in the step, annualized, summed"},
    {"cash", "USD", "start-up cash", "their cash, summed"},
    {"value", "USD", "start-up value", "their firm value V, summed"},
    {"market_users", "1", "start-up users (people)",
     "people using start-ups, by the market and category where they use "
     "them (dimensions market, category instead of home, category): with "
     "/firm/users of the scenario's firms, the adopters"},
};

enum { ST_PENDING = 0, ST_DONE = 1, ST_FAILED = 2 };

/* Where each part of one run's result sits in its byte buffer. */
typedef struct layout {
    int M, C, F, T;             /* markets, categories, scenario firms, records */
    int64_t *rec_step;          /* [T] steps of the kept records */
    size_t off_su;              /* start-up aggregates [N_SU][T][M][C] */
    size_t off_pop, off_pot;    /* population [M], potential [M*C], people */
    size_t off_data[64];        /* per kept output */
    size_t elems[64];           /* per record */
    size_t total;
} layout;

/* One per-run dataset of /firm, /market, /startups: where its slab sits in
 * a run's buffer. Sorted by path, the order of the run's checksum
 * (ms_h5_sweep_checksums reads them back in that order). */
typedef struct ck_entry {
    char path[160];
    size_t off, bytes;          /* in the run's buffer */
    ms_h5type type;
    int ndims;
    int64_t dims[8];            /* run first */
} ck_entry;

typedef struct result_head {
    int8_t status;
    double wall;
    char msg[MSG_LEN];
} result_head;

typedef struct farm {
    ms_sweep *s;
    const ms_sweep_opts *o;
    layout L;
    ms_h5 *h5;
    ms_h5var **out;             /* [n_outputs] */
    ms_h5var *v_status, *v_wall, *v_msg, *v_su[N_SU], *v_pop, *v_pot;
    ms_h5var *v_sum;            /* /runs/checksum */
    int8_t *status;             /* [R] as in the file */
    int8_t *redo;               /* [R] marked done, data not matching */
    int64_t done, failed, delivered, todo;
    int threads_per_run;
    ck_entry *ck;               /* [n_ck], sorted by path */
    int n_ck;
    char *layout_text;          /* the per-run datasets and their shapes */
    size_t reserve;             /* bytes made room for before each write */
    long kill_after, writes;    /* MARKETSIM_TEST_KILL_AFTER (tests) */
    /* outputs: summary */
    int n_sv;
    ms_sweep_sumvar *sv;        /* [n_sv] the summarized outputs */
    size_t *sv_off, *sv_len;    /* [n_sv] bytes into a run's buffer, doubles */
    ms_h5var **acc;             /* [3 n_sv] X_mean, X_sd, X_m2 */
    ms_h5var *v_n, *v_folded, *v_check;
    int64_t *n_pt, *folded_pt;  /* [P] finished, folded replicates */
    char **waiting;             /* [R] finished runs not yet folded */
    double *work;               /* one point's accumulators */
    size_t *woff;               /* [3 n_sv] where each sits in work */
    int n_hord;
    struct hord { char name[160]; int var, k; } *hord; /* checksum order */
    int8_t *reset;              /* [P] point to lay out empty (--resume) */
} farm;

static size_t elems_of(const ms_outvar_meta *m, int M, int C, int F)
{
    size_t n = 1;
    for (int k = 0; k < m->ndims; k++)
        n *= !strcmp(m->dims[k], "market")     ? (size_t)M
             : !strcmp(m->dims[k], "category") ? (size_t)C
             : !strcmp(m->dims[k], "firm")     ? (size_t)F
                                               : (size_t)MS_N_STRATEGIES;
    return n;
}

static ms_status make_layout(const ms_sweep *s, layout *L)
{
    const ms_scenario *sc = s->base;
    L->M = sc->n_markets;
    L->C = sc->n_categories;
    L->F = sc->n_firms;
    int64_t steps = sc->run.steps;
    int T = (int)(steps / s->every) + 1 + (steps % s->every != 0);
    L->T = T;
    L->rec_step = ms_calloc((size_t)T, sizeof *L->rec_step);
    if (!L->rec_step)
        return MS_ERROR(MS_ENOMEM, "out of memory");
    for (int t = 0; t < T; t++)
        L->rec_step[t] = t * s->every < steps ? t * s->every : steps;
    size_t off = sizeof(result_head);
    off = (off + 7) & ~(size_t)7;
    L->off_su = off;
    off += (size_t)N_SU * T * L->M * L->C * sizeof(double);
    L->off_pop = off;
    off += (size_t)L->M * sizeof(double);
    L->off_pot = off;
    off += (size_t)L->M * L->C * sizeof(double);
    if (s->n_outputs > 64)
        return MS_ERROR(MS_EINPUT, "at most 64 outputs in a sweep");
    for (int k = 0; k < s->n_outputs; k++) {
        ms_outvar_meta m;
        ms_outvar_get(s->outputs[k], &m);
        L->elems[k] = elems_of(&m, L->M, L->C, L->F);
        off = (off + 7) & ~(size_t)7;
        L->off_data[k] = off;
        off += (size_t)T * L->elems[k] * ms_outvar_elem_size(s->outputs[k]);
    }
    L->total = (off + 7) & ~(size_t)7;
    return MS_OK;
}

/* ---- what a file holds: checksum order, layout, identity ---- */

static const char *const type_names[] = {"f64", "i64", "i32", "i8", "u64",
                                         "str"};

static int ck_cmp(const void *a, const void *b)
{
    return strcmp(((const ck_entry *)a)->path, ((const ck_entry *)b)->path);
}

/* The per-run datasets of /firm, /market and /startups, sorted by path,
 * and the layout text (one line per dataset: path, type, shape). */
static ms_status make_table(const ms_sweep *s, const layout *L, int64_t R,
                            ck_entry **out, int *n_out, char **text)
{
    int n = s->n_outputs + N_SU + 2;
    ck_entry *ck = ms_calloc((size_t)n, sizeof *ck);
    if (!ck)
        return MS_ERROR(MS_ENOMEM, "out of memory");
    int k = 0;
    for (int j = 0; j < s->n_outputs; j++, k++) {
        ms_outvar_meta m;
        ms_outvar_get(s->outputs[j], &m);
        snprintf(ck[k].path, sizeof ck[k].path, "%s/%s", m.group, m.name);
        ck[k].off = L->off_data[j];
        ck[k].bytes = (size_t)L->T * L->elems[j] *
                      ms_outvar_elem_size(s->outputs[j]);
        ck[k].type = m.type;
        ck[k].ndims = 2 + m.ndims;
        ck[k].dims[1] = L->T;
        for (int d = 0; d < m.ndims; d++) {
            ms_outvar_meta one = m;
            one.ndims = 1;
            one.dims[0] = m.dims[d];
            ck[k].dims[2 + d] = (int64_t)elems_of(&one, L->M, L->C, L->F);
        }
    }
    size_t plane = (size_t)L->T * L->M * L->C * sizeof(double);
    for (int j = 0; j < N_SU; j++, k++) {
        snprintf(ck[k].path, sizeof ck[k].path, "/startups/%s",
                 su_vars[j].name);
        ck[k].off = L->off_su + (size_t)j * plane;
        ck[k].bytes = plane;
        ck[k].type = MS_H5_F64;
        ck[k].ndims = 4;
        ck[k].dims[1] = L->T;
        ck[k].dims[2] = L->M;
        ck[k].dims[3] = L->C;
    }
    snprintf(ck[k].path, sizeof ck[k].path, "/market/population");
    ck[k].off = L->off_pop;
    ck[k].bytes = (size_t)L->M * sizeof(double);
    ck[k].type = MS_H5_F64;
    ck[k].ndims = 2;
    ck[k].dims[1] = L->M;
    k++;
    snprintf(ck[k].path, sizeof ck[k].path, "/market/potential");
    ck[k].off = L->off_pot;
    ck[k].bytes = (size_t)L->M * L->C * sizeof(double);
    ck[k].type = MS_H5_F64;
    ck[k].ndims = 3;
    ck[k].dims[1] = L->M;
    ck[k].dims[2] = L->C;
    k++;
    for (int j = 0; j < k; j++)
        ck[j].dims[0] = R;
    qsort(ck, (size_t)k, sizeof *ck, ck_cmp);
    size_t cap = 128 + (size_t)L->T * 24 + (size_t)k * 256;
    char *t = ms_malloc(cap);
    if (!t) {
        ms_free(ck);
        return MS_ERROR(MS_ENOMEM, "out of memory");
    }
    size_t at = (size_t)snprintf(t, cap, "records at steps");
    for (int j = 0; j < L->T; j++)
        at += (size_t)snprintf(t + at, cap - at, " %lld",
                               (long long)L->rec_step[j]);
    at += (size_t)snprintf(t + at, cap - at, "\n");
    if (s->summary_only)
        at += (size_t)snprintf(t + at, cap - at, "summary only: the runs "
                               "below are folded into /summary, not kept\n");
    for (int j = 0; j < k; j++) {
        at += (size_t)snprintf(t + at, cap - at, "%s %s [", ck[j].path,
                               type_names[ck[j].type]);
        for (int d = 0; d < ck[j].ndims; d++)
            at += (size_t)snprintf(t + at, cap - at, "%s%lld", d ? ", " : "",
                                   (long long)ck[j].dims[d]);
        at += (size_t)snprintf(t + at, cap - at, "]\n");
    }
    *out = ck;
    *n_out = k;
    *text = t;
    return MS_OK;
}

static uint64_t run_checksum(const farm *fm, const char *buf)
{
    uint64_t h = MS_H5_HASH_INIT;
    for (int j = 0; j < fm->n_ck; j++)
        h = ms_h5_hash(h, buf + fm->ck[j].off, fm->ck[j].bytes);
    return h;
}

static void hash_hex(const char *text, char out[17])
{
    snprintf(out, 17, "%016llx", (unsigned long long)ms_h5_hash(
                                      MS_H5_HASH_INIT, text, strlen(text)));
}

void ms_sweep_ident_free(ms_sweep_ident *id)
{
    ms_free(id->scenario_text);
    ms_free(id->sweep_text);
    ms_free(id->layout_text);
    memset(id, 0, sizeof *id);
}

/* The identity of the sweep s will write (its texts borrowed). */
static void ident_of(const ms_sweep *s, const char *layout_text,
                     ms_sweep_ident *id)
{
    memset(id, 0, sizeof *id);
    hash_hex(s->base_yaml, id->scenario);
    /* The sweep's identity is its text and the points it makes: a table
     * design's points come from a CSV file the text only names. */
    uint64_t h = ms_h5_hash(MS_H5_HASH_INIT, s->text, strlen(s->text));
    size_t np = (size_t)s->n_points * (size_t)s->n_params;
    if (np) {
        h = ms_h5_hash(h, s->point_value, np * sizeof *s->point_value);
        h = ms_h5_hash(h, s->point_choice, np * sizeof *s->point_choice);
    }
    snprintf(id->sweep, 17, "%016llx", (unsigned long long)h);
    hash_hex(layout_text, id->layout);
    id->scenario_text = s->base_yaml;
    id->sweep_text = s->text;
    id->layout_text = (char *)layout_text;
}

ms_status ms_sweep_ident_read(ms_h5 *h, const char *path, ms_sweep_ident *id)
{
    memset(id, 0, sizeof *id);
    char *lay = ms_malloc(65536);
    if (!lay)
        return MS_ERROR(MS_ENOMEM, "out of memory");
    id->layout_text = lay;
    if (ms_h5_attr_read(h, "/", "scenario_hash", id->scenario,
                        sizeof id->scenario) != MS_OK ||
        ms_h5_attr_read(h, "/", "sweep_hash", id->sweep,
                        sizeof id->sweep) != MS_OK ||
        ms_h5_attr_read(h, "/", "layout_hash", id->layout,
                        sizeof id->layout) != MS_OK ||
        ms_h5_attr_read(h, "/", "layout", lay, 65536) != MS_OK) {
        ms_error_clear();
        ms_sweep_ident_free(id);
        return MS_ERROR(MS_EINPUT, "%s: error: the file records no hashes of "
                        "its scenario, sweep and layout (a sweep file of "
                        "schema 2 or older, or not a complete one), so "
                        "nothing can be checked against it; make it again "
                        "with this marketsim (into a new file)", path);
    }
    ms_status st = ms_h5_text_read(h, "/scenario", &id->scenario_text);
    if (st == MS_OK)
        st = ms_h5_text_read(h, "/sweep", &id->sweep_text);
    if (st != MS_OK)
        ms_sweep_ident_free(id);
    return st;
}

/* The first line where texts a and b differ, as "line N: 'A' vs 'B'". */
static void first_diff(const char *a, const char *b, const char *an,
                       const char *bn, char *out, size_t size)
{
    int line = 1;
    const char *la = a, *lb = b;
    while (*a && *a == *b) {
        if (*a == '\n') {
            line++;
            la = a + 1;
            lb = b + 1;
        }
        a++;
        b++;
    }
    int na = (int)strcspn(la, "\n"), nb = (int)strcspn(lb, "\n");
    snprintf(out, size, "line %d: %s '%.*s', %s '%.*s'", line, an,
             na > 100 ? 100 : na, la, bn, nb > 100 ? 100 : nb, lb);
}

ms_status ms_sweep_ident_compare(const ms_sweep_ident *a, const char *apath,
                                 const ms_sweep_ident *b, const char *an,
                                 const char *bn, const char *fix)
{
    const char *what, *ta, *tb;
    if (strcmp(a->sweep, b->sweep) != 0) {
        what = "a different sweep file: the sweep texts (/sweep) differ";
        ta = a->sweep_text;
        tb = b->sweep_text;
    } else if (strcmp(a->scenario, b->scenario) != 0) {
        what = "a different scenario: the resolved scenarios (/scenario) "
               "differ";
        ta = a->scenario_text;
        tb = b->scenario_text;
    } else if (strcmp(a->layout, b->layout) != 0) {
        what = "a different layout: the shapes of the outputs (attribute "
               "layout) differ";
        ta = a->layout_text;
        tb = b->layout_text;
    } else {
        return MS_OK;
    }
    char d[320];
    if (ta && tb && !strcmp(ta, tb) && strcmp(a->sweep, b->sweep) != 0)
        return MS_ERROR(MS_EINPUT, "%s: error: a different sweep: the sweep "
                        "texts are the same but their points differ (a "
                        "table design's CSV file changed?); %s", apath, fix);
    first_diff(ta ? ta : "", tb ? tb : "", an, bn, d, sizeof d);
    return MS_ERROR(MS_EINPUT, "%s: error: %s, first at %s; %s", apath, what,
                    d, fix);
}

/* ---- one run ---- */

static void fail_msg(result_head *h, const char *what)
{
    h->status = ST_FAILED;
    snprintf(h->msg, MSG_LEN, "%s", what);
}

/* Record t of the start-up aggregates: start-ups (ids from n_firms of
 * the scenario on) by home market and entry category. */
static void startups_record(const layout *L, const ms_world *w,
                            const int *entry_cat, int t, char *buf)
{
    const int M = L->M, C = L->C;
    double *su = (double *)(buf + L->off_su);
    size_t plane = (size_t)L->T * M * C;
    for (int k = 0; k < N_SU; k++)
        for (int x = 0; x < M * C; x++)
            su[k * plane + (size_t)t * M * C + x] = 0;
    for (int f = L->F; f < w->n_firms; f++) {
        int c = entry_cat[f];
        if (c < 0)
            continue;
        size_t at = (size_t)t * M * C + (size_t)w->home[f] * C + (size_t)c;
        double users = 0;
        for (int x = 0; x < M * C; x++)
            users += (double)w->users[(size_t)x * w->F + f] * w->ppa;
        su[SU_ENTERED * plane + at] += 1;
        su[SU_ALIVE * plane + at] += w->alive[f] != 0;
        su[SU_USERS * plane + at] += users;
        su[SU_REVENUE * plane + at] += w->revenue[f] / w->dt;
        su[SU_CASH * plane + at] += w->cash[f];
        su[SU_VALUE * plane + at] += w->value[f];
        for (int x = 0; x < M * C; x++)
            su[SU_MARKET_USERS * plane + (size_t)t * M * C + x] +=
                (double)w->users[(size_t)x * w->F + f] * w->ppa;
    }
}

/* Compute run r into buf (L->total bytes). Failures of the run itself
 * (bad point, out of memory) are recorded in the buffer, not returned. */
static void run_one(const ms_sweep *s, const layout *L, int64_t r,
                    int threads, volatile sig_atomic_t *stop, char *buf)
{
    result_head *h = (result_head *)buf;
    memset(h, 0, sizeof *h);
    double t0 = omp_get_wtime();
    char *sets[600];
    int n_sets = 0;
    ms_scenario *sc = NULL;
    ms_world *w = NULL;
    if (ms_sweep_run_sets(s, r, sets, &n_sets) != MS_OK ||
        ms_scenario_load_string(s->scenario_text, s->scenario_path,
                                (const char *const *)sets, n_sets,
                                &sc) != MS_OK ||
        ms_world_create(sc, threads, &w) != MS_OK) {
        fail_msg(h, ms_error_message());
        goto out;
    }
    /* Points past the ones checked at load (ms_sweep_points_checked). */
    const char *why = ms_sweep_shape_change(s, sc);
    if (why) {
        char msg[160];
        snprintf(msg, sizeof msg, "its parameters change %s, and with them "
                 "the shape of the outputs", why);
        fail_msg(h, msg);
        goto out;
    }
    /* A record of the world (every firm slot); the scenario firms come
     * first in each, and are what the file keeps. */
    size_t big = 1;
    for (int k = 0; k < s->n_outputs; k++) {
        size_t b = ms_outvar_elems(s->outputs[k], w) *
                   ms_outvar_elem_size(s->outputs[k]);
        big = b > big ? b : big;
    }
    char *scratch = ms_malloc(big);
    int *entry_cat = ms_malloc(sizeof *entry_cat * (size_t)w->F);
    if (!scratch || !entry_cat) {
        ms_free(scratch);
        ms_free(entry_cat);
        fail_msg(h, "out of memory");
        goto out;
    }
    for (int f = 0; f < w->F; f++)
        entry_cat[f] = -1;
    int t = 0, abandoned = 0;
    for (;;) {
        if (t < L->T && w->step == L->rec_step[t]) {
            for (int k = 0; k < s->n_outputs; k++) {
                size_t es = ms_outvar_elem_size(s->outputs[k]);
                ms_outvar_fill(s->outputs[k], w, scratch);
                memcpy(buf + L->off_data[k] + (size_t)t * L->elems[k] * es,
                       scratch, L->elems[k] * es);
            }
            startups_record(L, w, entry_cat, t, buf);
            t++;
        }
        if (w->step >= sc->run.steps)
            break;
        if (stop && *stop) {
            abandoned = 1; /* --resume redoes it */
            break;
        }
        if (ms_world_step(w) != MS_OK) {
            fail_msg(h, ms_error_message());
            break;
        }
        for (int i = 0; i < w->n_ev; i++)
            if (w->ev[i].kind == MS_EV_ENTRY && w->ev[i].actor >= 0)
                entry_cat[w->ev[i].actor] = w->ev[i].category;
    }
    ms_free(scratch);
    ms_free(entry_cat);
    if (abandoned || h->status == ST_FAILED)
        goto out; /* abandoned runs stay pending */
    {
        double *pop = (double *)(buf + L->off_pop);
        double *pot = (double *)(buf + L->off_pot);
        for (int m = 0; m < L->M; m++) {
            pop[m] = (double)(w->m_off[m + 1] - w->m_off[m]) * w->ppa;
            for (int c = 0; c < L->C; c++)
                pot[m * L->C + c] = (double)w->K[m * L->C + c] * w->ppa;
        }
    }
    h->status = ST_DONE;
out:
    h->wall = omp_get_wtime() - t0;
    for (int i = 0; i < n_sets; i++)
        ms_free(sets[i]);
    ms_world_destroy(&w);
    ms_scenario_destroy(&sc);
    ms_error_clear();
}

/* ---- outputs: summary ---- */

static int hord_cmp(const void *a, const void *b)
{
    return strcmp(((const struct hord *)a)->name,
                  ((const struct hord *)b)->name);
}

/* The summarized outputs of the layout (the F64 datasets of its table,
 * as a full sweep's summary takes them from the file), where each sits
 * in a run's buffer and in a point's accumulators, and the order of the
 * point checksum. */
static ms_status summary_plan(farm *fm)
{
    fm->sv = ms_calloc((size_t)fm->n_ck + 1, sizeof *fm->sv);
    fm->sv_off = ms_calloc((size_t)fm->n_ck + 1, sizeof *fm->sv_off);
    fm->sv_len = ms_calloc((size_t)fm->n_ck + 1, sizeof *fm->sv_len);
    fm->woff = ms_calloc(3 * (size_t)fm->n_ck + 1, sizeof *fm->woff);
    fm->acc = ms_calloc(3 * (size_t)fm->n_ck + 1, sizeof *fm->acc);
    fm->hord = ms_calloc(3 * (size_t)fm->n_ck + 2, sizeof *fm->hord);
    if (!fm->sv || !fm->sv_off || !fm->sv_len || !fm->woff || !fm->acc ||
        !fm->hord)
        return MS_ERROR(MS_ENOMEM, "out of memory");
    size_t at = 0;
    static const char *const suffix[3] = {"mean", "sd", "m2"};
    for (int j = 0; j < fm->n_ck; j++) {
        const ck_entry *c = &fm->ck[j];
        if (c->type != MS_H5_F64)
            continue;
        char group[160];
        snprintf(group, sizeof group, "%s", c->path);
        char *slash = strrchr(group, '/');
        if (!slash || slash == group)
            continue;
        *slash = '\0';
        const char *name = slash + 1, *units = "", *lname = "";
        for (int k = 0; k < N_SU; k++)
            if (!strcmp(group, "/startups") && !strcmp(name, su_vars[k].name)) {
                units = su_vars[k].units;
                lname = su_vars[k].long_name;
            }
        ms_sweep_sumvar *v = &fm->sv[fm->n_sv];
        if (!ms_sweep_sumvar_of(group, name, units, lname, v))
            continue;
        fm->sv_off[fm->n_sv] = c->off;
        fm->sv_len[fm->n_sv] = c->bytes / sizeof(double);
        for (int k = 0; k < 3; k++) {
            fm->woff[3 * fm->n_sv + k] = at;
            at += fm->sv_len[fm->n_sv];
            struct hord *e = &fm->hord[fm->n_hord++];
            snprintf(e->name, sizeof e->name, "%s_%s", v->name, suffix[k]);
            e->var = fm->n_sv;
            e->k = k;
        }
        fm->n_sv++;
    }
    static const char *const counts[2] = {"folded", "n"};
    for (int k = 0; k < 2; k++) {
        struct hord *e = &fm->hord[fm->n_hord++];
        snprintf(e->name, sizeof e->name, "%s", counts[k]);
        e->var = -1;
        e->k = k;
    }
    qsort(fm->hord, (size_t)fm->n_hord, sizeof *fm->hord, hord_cmp);
    fm->work = ms_malloc((at + 1) * sizeof *fm->work);
    const int64_t P = fm->s->n_points;
    fm->n_pt = ms_calloc((size_t)P + 1, sizeof *fm->n_pt);
    fm->folded_pt = ms_calloc((size_t)P + 1, sizeof *fm->folded_pt);
    fm->reset = ms_calloc((size_t)P + 1, 1);
    fm->waiting = ms_calloc((size_t)ms_sweep_run_count(fm->s) + 1,
                            sizeof *fm->waiting);
    if (!fm->work || !fm->n_pt || !fm->folded_pt || !fm->reset ||
        !fm->waiting)
        return MS_ERROR(MS_ENOMEM, "out of memory");
    return MS_OK;
}

/* The checksum of a point as /summary/checksum records it (what
 * ms_h5_slab_checksums computes from the file): its accumulators in
 * fm->work, n and folded, in the order of their paths. */
static uint64_t point_hash(const farm *fm, int64_t n, int64_t folded)
{
    uint64_t h = MS_H5_HASH_INIT;
    for (int i = 0; i < fm->n_hord; i++) {
        const struct hord *e = &fm->hord[i];
        if (e->var >= 0)
            h = ms_h5_hash(h, fm->work + fm->woff[3 * e->var + e->k],
                           fm->sv_len[e->var] * sizeof(double));
        else
            h = ms_h5_hash(h, e->k == 0 ? &folded : &n, sizeof(int64_t));
    }
    return h;
}

/* fm->work as a point with nothing folded. */
static void work_empty(farm *fm)
{
    for (int j = 0; j < fm->n_sv; j++)
        for (int k = 0; k < 3; k++)
            for (size_t i = 0; i < fm->sv_len[j]; i++)
                fm->work[fm->woff[3 * j + k] + i] = NAN;
}

/* Write fm->work as point p's accumulators, with its counts and checksum. */
static ms_status write_point(farm *fm, int64_t p, int64_t n, int64_t folded)
{
    for (int j = 0; j < fm->n_sv; j++)
        for (int k = 0; k < 3; k++)
            MS_CALL(ms_h5_write_index(fm->acc[3 * j + k], p,
                                      fm->work + fm->woff[3 * j + k]));
    int64_t sum = (int64_t)point_hash(fm, n, folded);
    MS_CALL(ms_h5_write_index(fm->v_n, p, &n));
    MS_CALL(ms_h5_write_index(fm->v_folded, p, &folded));
    return ms_h5_write_index(fm->v_check, p, &sum);
}

/* /summary of a summary-only sweep, empty: every point with nothing
 * folded and the checksum of that. */
static ms_status summary_layout(farm *fm)
{
    const int64_t P = fm->s->n_points;
    MS_CALL(ms_sweep_summary_layout(fm->h5, P, fm->s->replications, fm->n_sv,
                                    fm->sv, 1, fm->acc, &fm->v_n,
                                    &fm->v_folded, &fm->v_check));
    int64_t *zero = ms_calloc((size_t)P + 1, sizeof *zero);
    if (!zero)
        return MS_ERROR(MS_ENOMEM, "out of memory");
    work_empty(fm);
    ms_status st = ms_h5_write(fm->v_n, zero);
    if (st == MS_OK)
        st = ms_h5_write(fm->v_folded, zero);
    int64_t sum = (int64_t)point_hash(fm, 0, 0);
    for (int64_t p = 0; p < P; p++)
        zero[p] = sum;
    if (st == MS_OK)
        st = ms_h5_write(fm->v_check, zero);
    ms_free(zero);
    return st;
}

static ms_status open_summary_vars(farm *fm)
{
    const int64_t P = fm->s->n_points;
    static const char *const suffix[3] = {"mean", "sd", "m2"};
    for (int j = 0; j < fm->n_sv; j++)
        for (int k = 0; k < 3; k++) {
            char path[200];
            snprintf(path, sizeof path, "/summary/%s_%s", fm->sv[j].name,
                     suffix[k]);
            ms_h5var *v;
            MS_CALL(ms_h5_var_open(fm->h5, path, MS_H5_F64, &v));
            int64_t d[8];
            if (ms_h5_var_shape(v, d) < 1 || d[0] != P ||
                ms_h5_var_slab_bytes(v) != fm->sv_len[j] * sizeof(double))
                return MS_ERROR(MS_EINPUT, "%s: error: --resume: %s has "
                                "another shape than this sweep writes; make "
                                "the sweep again into a new file",
                                fm->o->out_path, path);
            fm->acc[3 * j + k] = v;
        }
    ms_h5var **cnt[3] = {&fm->v_n, &fm->v_folded, &fm->v_check};
    static const char *const cpath[3] = {"/summary/n", "/summary/folded",
                                         "/summary/checksum"};
    for (int k = 0; k < 3; k++) {
        MS_CALL(ms_h5_var_open(fm->h5, cpath[k], MS_H5_I64, cnt[k]));
        MS_CALL(ms_h5_var_expect(*cnt[k], 1, &P));
    }
    return MS_OK;
}

/* --resume of a summary-only sweep: every point whose accumulators do not
 * match its checksum (the sweep was stopped while writing them) starts
 * again from nothing, said on stderr; the runs of the others are what
 * their `folded` says (a stop between a fold and its statuses leaves runs
 * folded but pending: done if they have a run checksum, else failed). */
static ms_status verify_summary(farm *fm)
{
    const ms_sweep *s = fm->s;
    const int64_t P = s->n_points, reps = s->replications, R = P * reps;
    const char *path = fm->o->out_path;
    int64_t *check = ms_calloc((size_t)P + 1, sizeof *check),
            *kept = ms_calloc((size_t)R + 1, sizeof *kept);
    uint64_t *sums = ms_calloc((size_t)P + 1, sizeof *sums);
    int8_t *all = ms_calloc((size_t)P + 1, 1);
    ms_status st = check && kept && sums && all
                       ? MS_OK
                       : MS_ERROR(MS_ENOMEM, "out of memory");
    if (st == MS_OK)
        st = ms_h5_read_all(fm->v_n, fm->n_pt);
    if (st == MS_OK)
        st = ms_h5_read_all(fm->v_folded, fm->folded_pt);
    if (st == MS_OK)
        st = ms_h5_read_all(fm->v_check, check);
    if (st == MS_OK)
        st = ms_h5_read_all(fm->v_sum, kept);
    for (int64_t p = 0; p < P; p++)
        all[p] = 1;
    static const char *const sg[1] = {"/summary"};
    if (st == MS_OK)
        st = ms_h5_slab_checksums(ms_h5_file_id(fm->h5), path, sg, 1,
                                  "summary_accumulator", P, all, sums);
    int64_t bad = 0;
    for (int64_t p = 0; st == MS_OK && p < P; p++) {
        int64_t f = fm->folded_pt[p], n = fm->n_pt[p];
        if ((uint64_t)check[p] != sums[p] || f < 0 || f > reps || n < 0 ||
            n > f) {
            if (bad < 20)
                fprintf(stderr, "marketsim: %s: the summary of point %lld "
                        "does not match its checksum (the sweep was stopped "
                        "while writing it, or the file was damaged); "
                        "folding its runs again\n", path, (long long)p);
            bad++;
            fm->reset[p] = 1;
            fm->folded_pt[p] = fm->n_pt[p] = f = 0;
        }
        for (int64_t k = 0; k < reps; k++) {
            int64_t r = p * reps + k;
            int8_t want = k >= f ? ST_PENDING
                          : fm->status[r] != ST_PENDING ? fm->status[r]
                          : kept[r] != -1 ? ST_DONE
                                          : ST_FAILED;
            if (want != fm->status[r]) {
                fm->status[r] = want;
                fm->redo[r] = 1;
            }
        }
    }
    if (bad > 20)
        fprintf(stderr, "marketsim: %s: %lld points in all did not match "
                "their checksums and are folded again\n", path,
                (long long)bad);
    ms_free(check);
    ms_free(kept);
    ms_free(sums);
    ms_free(all);
    return st;
}

/* ---- the file ---- */

/* `date` over time beside the calendar years, as in run files (a CF time
 * coordinate xarray decodes to dates). */
static ms_status sweep_dates(ms_h5 *h, const char *group,
                             const ms_scenario *sc, const double *times,
                             int T)
{
    char since[64], path[64];
    snprintf(since, sizeof since, "seconds since %04ld-01-01 00:00:00",
             (long)floor(sc->run.start_year));
    double *secs = ms_calloc((size_t)T + 1, sizeof *secs);
    if (!secs)
        return MS_ERROR(MS_ENOMEM, "out of memory");
    for (int t = 0; t < T; t++)
        secs[t] = round(ms_output_days(sc->run.start_year, times[t]) * 86400);
    const char *td[1] = {"time"};
    ms_h5var *v;
    ms_status st = ms_h5_var(h, group, "date", MS_H5_F64, 1, td, 0, since,
                             "date", &v);
    if (st == MS_OK)
        st = ms_h5_write(v, secs);
    ms_free(secs);
    snprintf(path, sizeof path, "%s/date", group);
    if (st == MS_OK)
        st = ms_h5_attr_str(h, path, "calendar", "proleptic_gregorian");
    if (st == MS_OK)
        st = ms_h5_attr_str(h, path, "description", "the record's time as "
                            "a date (see /market/date of a run file)");
    return st;
}

static ms_status write_layout(farm *fm)
{
    const ms_sweep *s = fm->s;
    const ms_scenario *sc = s->base;
    const layout *L = &fm->L;
    ms_h5 *h = fm->h5;
    const int64_t R = ms_sweep_run_count(s);
    char text[64];

    MS_CALL(ms_h5_attr_str(h, "/", "title", "marketsim sweep"));
    MS_CALL(ms_h5_attr_i64(h, "/", "schema_version", SCHEMA_VERSION));
    MS_CALL(ms_h5_attr_str(h, "/", "status", "running"));
    snprintf(text, sizeof text, "%llu", (unsigned long long)s->seed);
    MS_CALL(ms_h5_attr_str(h, "/", "sweep_seed", text));
    MS_CALL(ms_h5_attr_i64(h, "/", "runs", R));
    MS_CALL(ms_h5_attr_i64(h, "/", "runs_done", 0));
    MS_CALL(ms_h5_attr_i64(h, "/", "runs_failed", 0));
    MS_CALL(ms_h5_attr_str(h, "/", "design",
                           ms_sweep_design_names[s->design]));
    MS_CALL(ms_sweep_write_design(s, h));
    MS_CALL(ms_h5_attr_str(h, "/", "outputs",
                           s->summary_only ? "summary" : "runs"));
    MS_CALL(ms_h5_attr_i64(h, "/", "points", s->n_points));
    MS_CALL(ms_h5_attr_i64(h, "/", "replications", s->replications));
    if (fm->o->shard_n > 1)
        snprintf(text, sizeof text, "%d/%d", fm->o->shard_i, fm->o->shard_n);
    else
        text[0] = '\0';
    MS_CALL(ms_h5_attr_str(h, "/", "shard", text));
    MS_CALL(ms_h5_attr_i64(h, "/", "every", s->every));
    MS_CALL(ms_h5_attr_f64(h, "/", "dt", sc->run.dt));
    MS_CALL(ms_h5_attr_f64(h, "/", "people_per_agent",
                           sc->run.people_per_agent));
    MS_CALL(ms_h5_attr_str(h, "/", "generator", MS_RNG_GENERATOR_NAME));
    MS_CALL(ms_h5_attr_str(h, "/", "marketsim_version", MS_VERSION));
    MS_CALL(ms_h5_attr_str(h, "/", "git_commit", MS_GIT_COMMIT));
    MS_CALL(ms_h5_attr_str(h, "/", "sweep_file", s->path));
    MS_CALL(ms_h5_attr_str(h, "/", "scenario_file", s->scenario_path));
    MS_CALL(ms_h5_attr_str(h, "/", "command",
                           fm->o->command ? fm->o->command : ""));
    time_t now = time(NULL);
    struct tm tmv;
    gmtime_r(&now, &tmv);
    strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &tmv);
    MS_CALL(ms_h5_attr_str(h, "/", "created", text));
    ms_sweep_ident id;
    ident_of(s, fm->layout_text, &id);
    MS_CALL(ms_h5_attr_str(h, "/", "scenario_hash", id.scenario));
    MS_CALL(ms_h5_attr_str(h, "/", "sweep_hash", id.sweep));
    MS_CALL(ms_h5_attr_str(h, "/", "layout", fm->layout_text));
    MS_CALL(ms_h5_attr_str(h, "/", "layout_hash", id.layout));
    MS_CALL(ms_h5_text(h, "/sweep", s->text, "the sweep file (YAML)"));
    MS_CALL(ms_h5_text(h, "/scenario", s->base_yaml,
                       "the resolved base scenario (YAML), before the "
                       "varied parameters"));

    /* /runs */
    MS_CALL(ms_h5_group(h, "/runs"));
    MS_CALL(ms_h5_dim_index(h, "/runs", "run", (int)R, "run index"));
    const char *rd[1] = {"run"};
    ms_h5var *v;
    int64_t *iv = ms_calloc((size_t)R, sizeof *iv);
    uint64_t *uv = ms_calloc((size_t)R, sizeof *uv);
    double *dv = ms_calloc((size_t)R, sizeof *dv);
    ms_status st = iv && uv && dv ? MS_OK : MS_ERROR(MS_ENOMEM, "out of memory");
    if (st == MS_OK) {
        for (int64_t r = 0; r < R; r++)
            iv[r] = r / s->replications;
        st = ms_h5_var_indexed(h, "/runs", "point", MS_H5_I64, 1, rd, "1",
                               "index of the parameter point", &v);
        if (st == MS_OK) st = ms_h5_write(v, iv);
        if (st == MS_OK) st = ms_h5_attr_i64(h, "/runs/point", "sweep_run_axis", 0);
    }
    if (st == MS_OK) {
        for (int64_t r = 0; r < R; r++)
            iv[r] = r % s->replications;
        st = ms_h5_var_indexed(h, "/runs", "replicate", MS_H5_I64, 1, rd, "1",
                               "replicate at the point", &v);
        if (st == MS_OK) st = ms_h5_write(v, iv);
        if (st == MS_OK) st = ms_h5_attr_i64(h, "/runs/replicate", "sweep_run_axis", 0);
    }
    if (st == MS_OK) {
        for (int64_t r = 0; r < R; r++)
            uv[r] = ms_sweep_run_seed(s, r);
        st = ms_h5_var_indexed(h, "/runs", "seed", MS_H5_U64, 1, rd, "1",
                               "the run's seed (repeat it with marketsim run "
                               "--seed)", &v);
        if (st == MS_OK) st = ms_h5_write(v, uv);
        if (st == MS_OK) st = ms_h5_attr_i64(h, "/runs/seed", "sweep_run_axis", 0);
    }
    for (int j = 0; st == MS_OK && j < s->n_params; j++) {
        const ms_sweep_param *p = &s->params[j];
        for (int64_t r = 0; r < R; r++)
            dv[r] = s->point_value[(r / s->replications) * s->n_params + j];
        st = ms_h5_var_indexed(h, "/runs", p->key, MS_H5_F64, 1, rd, "-",
                               p->all_numeric ? "varied parameter"
                                              : "varied parameter (index of "
                                                "its value in `values`)",
                               &v);
        if (st == MS_OK) st = ms_h5_write(v, dv);
        char path[512];
        snprintf(path, sizeof path, "/runs/%s", p->key);
        if (st == MS_OK) st = ms_h5_attr_i64(h, path, "sweep_run_axis", 0);
        if (st == MS_OK && !p->all_numeric) {
            size_t len = 1;
            for (int k = 0; k < p->n_values; k++)
                len += strlen(p->values[k]) + 1;
            char *all = ms_malloc(len);
            if (!all)
                st = MS_ERROR(MS_ENOMEM, "out of memory");
            else {
                all[0] = '\0';
                for (int k = 0; k < p->n_values; k++) {
                    strcat(all, p->values[k]);
                    strcat(all, "\n");
                }
                st = ms_h5_attr_str(h, path, "values", all);
                ms_free(all);
            }
        }
    }
    ms_free(iv);
    ms_free(uv);
    ms_free(dv);
    MS_CALL(st);
    /* A summary-only sweep rewrites these at every fold: in place, so
     * that the file does not grow with the runs (but by these few bytes a
     * run; messages are written for failed runs only). */
    ms_status (*runvar)(ms_h5 *, const char *, const char *, ms_h5type, int,
                        const char *const *, const char *, const char *,
                        ms_h5var **) = s->summary_only ? ms_h5_var_inplace
                                                       : ms_h5_var_indexed;
    MS_CALL(runvar(h, "/runs", "status", MS_H5_I8, 1, rd, "1",
                   "0 pending, 1 done, 2 failed", &fm->v_status));
    MS_CALL(ms_h5_attr_str(h, "/runs/status", "flag_meanings",
                           "pending done failed"));
    MS_CALL(ms_h5_attr_i64(h, "/runs/status", "sweep_run_axis", 0));
    int8_t *zero = ms_calloc((size_t)R, 1);
    if (!zero)
        return MS_ERROR(MS_ENOMEM, "out of memory");
    st = ms_h5_write(fm->v_status, zero);
    ms_free(zero);
    MS_CALL(st);
    MS_CALL(runvar(h, "/runs", "wall_seconds", MS_H5_F64, 1, rd, "s",
                   "wall time of the run", &fm->v_wall));
    MS_CALL(ms_h5_attr_i64(h, "/runs/wall_seconds", "sweep_run_axis", 0));
    MS_CALL(ms_h5_var_fixstr(h, "/runs", "message", MSG_LEN, 1, rd,
                             "why the run failed (empty unless failed)",
                             &fm->v_msg));
    MS_CALL(ms_h5_attr_i64(h, "/runs/message", "sweep_run_axis", 0));
    MS_CALL(runvar(h, "/runs", "checksum", MS_H5_I64, 1, rd, "1",
                   "checksum of the run's data (64-bit FNV-1a, as int64)",
                   &fm->v_sum));
    MS_CALL(ms_h5_attr_str(h, "/runs/checksum", "description",
                           "FNV-1a hash of the run's slab of every /firm, "
                           "/market and /startups dataset with "
                           "sweep_run_axis, in the order of their paths, "
                           "as stored (native byte order); -1 unless done "
                           "(docs/OUTPUT.md)"));
    MS_CALL(ms_h5_attr_i64(h, "/runs/checksum", "sweep_run_axis", 0));

    /* /market and /firm: coordinates, then the kept outputs. */
    const char *mnames[MS_MAX_MARKETS], *cnames[MS_MAX_CATEGORIES];
    for (int m = 0; m < L->M; m++)
        mnames[m] = sc->markets[m].name;
    for (int c = 0; c < L->C; c++)
        cnames[c] = sc->categories[c].name;
    double *times = ms_calloc((size_t)L->T, sizeof *times);
    if (!times)
        return MS_ERROR(MS_ENOMEM, "out of memory");
    for (int t = 0; t < L->T; t++)
        times[t] = sc->run.start_year + (double)L->rec_step[t] * sc->run.dt;
    const char *groups[2] = {"/market", "/firm"};
    for (int g = 0; g < 2 && st == MS_OK; g++) {
        st = ms_h5_group(h, groups[g]);
        if (st == MS_OK && !s->summary_only)
            st = ms_h5_dim_index(h, groups[g], "run", (int)R, "run index");
        if (st == MS_OK)
            st = ms_h5_dim_values(h, groups[g], "time", times, L->T, "year",
                                  "time");
        if (st == MS_OK)
            st = sweep_dates(h, groups[g], sc, times, L->T);
        if (st == MS_OK)
            st = ms_h5_dim_names(h, groups[g], "market", mnames, L->M,
                                 "market");
        if (st == MS_OK)
            st = ms_h5_dim_names(h, groups[g], "category", cnames, L->C,
                                 "product category");
    }
    ms_free(times);
    MS_CALL(st);
    /* Firms by identity: the scenario's firms, by name (a firm is the same
     * in every run). Start-ups are a different set in each run: /startups
     * aggregates them by home market and entry category. */
    const char **fn = ms_calloc((size_t)L->F + 1, sizeof *fn);
    const char **fh = ms_calloc((size_t)L->F + 1, sizeof *fh);
    if (!fn || !fh) {
        ms_free(fn);
        ms_free(fh);
        return MS_ERROR(MS_ENOMEM, "out of memory");
    }
    for (int f = 0; f < L->F; f++) {
        fn[f] = sc->firms[f].name;
        fh[f] = sc->markets[sc->firms[f].home].name;
    }
    st = ms_h5_dim_names(h, "/firm", "firm", fn, L->F, "firm");
    if (st == MS_OK)
        st = ms_h5_var_names(h, "/firm", "home", "firm", fh, L->F,
                             "home market");
    ms_free(fn);
    ms_free(fh);
    MS_CALL(st);
    MS_CALL(ms_h5_attr_str(h, "/firm/firm", "description", "the scenario's "
                           "firms (start-ups are in /startups)"));
    MS_CALL(ms_h5_dim_names(h, "/firm", "strategy", ms_strategy_names,
                            MS_N_STRATEGIES, "strategy"));
    MS_CALL(ms_h5_group(h, "/startups"));
    if (!s->summary_only)
        MS_CALL(ms_h5_dim_index(h, "/startups", "run", (int)R, "run index"));
    {
        double *tt = ms_calloc((size_t)L->T, sizeof *tt);
        if (!tt)
            return MS_ERROR(MS_ENOMEM, "out of memory");
        for (int t = 0; t < L->T; t++)
            tt[t] = sc->run.start_year + (double)L->rec_step[t] * sc->run.dt;
        st = ms_h5_dim_values(h, "/startups", "time", tt, L->T, "year",
                              "time");
        ms_free(tt);
        MS_CALL(st);
    }
    MS_CALL(ms_h5_dim_names(h, "/startups", "home", mnames, L->M,
                            "home market"));
    MS_CALL(ms_h5_dim_names(h, "/startups", "category", cnames, L->C,
                            "category"));
    MS_CALL(ms_h5_dim_names(h, "/startups", "market", mnames, L->M,
                            "market"));
    if (s->summary_only)
        return summary_layout(fm);
    for (int k = 0; k < N_SU; k++) {
        const char *sd[4] = {"run", "time", k == SU_MARKET_USERS ? "market"
                                                                 : "home",
                             "category"};
        char path[128];
        MS_CALL(ms_h5_var_indexed(h, "/startups", su_vars[k].name, MS_H5_F64,
                                  4, sd, su_vars[k].units,
                                  su_vars[k].long_name, &fm->v_su[k]));
        snprintf(path, sizeof path, "/startups/%s", su_vars[k].name);
        MS_CALL(ms_h5_attr_str(h, path, "description",
                               su_vars[k].description));
        MS_CALL(ms_h5_attr_i64(h, path, "sweep_run_axis", 0));
    }
    const char *pd[2] = {"run", "market"}, *qd[3] = {"run", "market", "category"};
    MS_CALL(ms_h5_var_indexed(h, "/market", "population", MS_H5_F64, 2, pd,
                              "1", "population (people)", &fm->v_pop));
    MS_CALL(ms_h5_attr_str(h, "/market/population", "description",
                           "people represented in the run (agents times "
                           "people_per_agent)"));
    MS_CALL(ms_h5_attr_i64(h, "/market/population", "sweep_run_axis", 0));
    MS_CALL(ms_h5_var_indexed(h, "/market", "potential", MS_H5_F64, 3, qd,
                              "1", "potential (people)", &fm->v_pot));
    MS_CALL(ms_h5_attr_str(h, "/market/potential", "description",
                           "people who can ever adopt in the run (kappa N, "
                           "times people_per_agent)"));
    MS_CALL(ms_h5_attr_i64(h, "/market/potential", "sweep_run_axis", 0));
    for (int k = 0; k < s->n_outputs; k++) {
        ms_outvar_meta m;
        ms_outvar_get(s->outputs[k], &m);
        const char *dims[6] = {"run", "time"};
        for (int d = 0; d < m.ndims; d++)
            dims[2 + d] = m.dims[d];
        MS_CALL(ms_h5_var_indexed(h, m.group, m.name, m.type, 2 + m.ndims,
                                  dims, m.units, m.long_name, &fm->out[k]));
        char path[256];
        snprintf(path, sizeof path, "%s/%s", m.group, m.name);
        MS_CALL(ms_output_describe(h, path, &m));
        MS_CALL(ms_h5_attr_str(h, path, "coordinates", "date"));
        MS_CALL(ms_h5_attr_i64(h, path, "sweep_run_axis", 0));
    }
    return MS_OK;
}

/* A deterministic kill for the tests (MARKETSIM_TEST_KILL_AFTER=N: die by
 * SIGKILL after the N-th write or flush of runs), between any two steps
 * of store(). */
static void kill_point(farm *fm)
{
    if (fm->kill_after > 0 && ++fm->writes == fm->kill_after)
        raise(SIGKILL);
}

/* Write one finished (or failed) run, durably: room first (so a full disk
 * fails before HDF5 writes), then the data and checksum, flushed to the
 * disk; only then the status, flushed. A stop at any moment leaves either
 * the run pending or its data complete, and --resume checks the data of
 * every run marked done against its checksum. */
/* Run r has its status in the file: count it and report progress. */
static void count_delivered(farm *fm, int64_t r, int8_t status)
{
    fm->status[r] = status;
    if (status == ST_DONE)
        fm->done++;
    else
        fm->failed++;
    fm->delivered++;
    if (fm->o->progress)
        fm->o->progress(fm->o->progress_ctx, fm->delivered, fm->todo);
}

static ms_status store(farm *fm, int64_t r, const char *buf)
{
    const result_head *hd = (const result_head *)buf;
    if (hd->status == ST_PENDING)
        return MS_OK; /* abandoned on a stop */
    const ms_sweep *s = fm->s;
    MS_CALL(ms_h5_reserve(fm->h5, fm->reserve));
    if (hd->status == ST_DONE) {
        for (int k = 0; k < s->n_outputs; k++) {
            MS_CALL(ms_h5_write_index(fm->out[k], r, buf + fm->L.off_data[k]));
            kill_point(fm);
        }
        size_t plane = (size_t)fm->L.T * fm->L.M * fm->L.C * sizeof(double);
        for (int k = 0; k < N_SU; k++) {
            MS_CALL(ms_h5_write_index(fm->v_su[k], r,
                                      buf + fm->L.off_su + (size_t)k * plane));
            kill_point(fm);
        }
        MS_CALL(ms_h5_write_index(fm->v_pop, r, buf + fm->L.off_pop));
        MS_CALL(ms_h5_write_index(fm->v_pot, r, buf + fm->L.off_pot));
        int64_t sum = (int64_t)run_checksum(fm, buf);
        MS_CALL(ms_h5_write_index(fm->v_sum, r, &sum));
        kill_point(fm);
    }
    char msg[MSG_LEN];
    memset(msg, 0, sizeof msg);
    snprintf(msg, sizeof msg, "%s", hd->msg);
    MS_CALL(ms_h5_write_index(fm->v_msg, r, msg));
    MS_CALL(ms_h5_write_index(fm->v_wall, r, &hd->wall));
    kill_point(fm);
    MS_CALL(ms_h5_flush_durable(fm->h5));
    kill_point(fm);
    MS_CALL(ms_h5_reserve(fm->h5, fm->reserve));
    MS_CALL(ms_h5_write_index(fm->v_status, r, &hd->status));
    kill_point(fm);
    MS_CALL(ms_h5_flush(fm->h5));
    kill_point(fm);
    count_delivered(fm, r, hd->status);
    return MS_OK;
}

/* Fold the finished runs r0 .. r1 - 1 (replicates of one point, the next
 * ones to fold; bufs[i] the result of r0 + i) into their point, durably:
 * room first, the runs' message, wall time and checksum, the point's
 * accumulators, counts and checksum, synced; only then their statuses. */
static ms_status fold_runs(farm *fm, int64_t r0, int64_t r1,
                           const char *const *bufs)
{
    const int64_t reps = fm->s->replications, p = r0 / reps;
    MS_CALL(ms_h5_reserve(fm->h5, fm->reserve));
    for (int64_t r = r0; r < r1; r++) {
        const result_head *hd = (const result_head *)bufs[r - r0];
        if (hd->status == ST_DONE) {
            int64_t sum = (int64_t)run_checksum(fm, bufs[r - r0]);
            MS_CALL(ms_h5_write_index(fm->v_sum, r, &sum));
        }
        char msg[MSG_LEN];
        memset(msg, 0, sizeof msg);
        snprintf(msg, sizeof msg, "%s", hd->msg);
        if (msg[0]) /* the fill is empty */
            MS_CALL(ms_h5_write_index(fm->v_msg, r, msg));
        MS_CALL(ms_h5_write_index(fm->v_wall, r, &hd->wall));
        kill_point(fm);
    }
    int64_t n = fm->n_pt[p];
    for (int j = 0; j < fm->n_sv && n > 0; j++)
        for (int k = 0; k < 3; k += 2)
            MS_CALL(ms_h5_read_index(fm->acc[3 * j + k], p,
                                     fm->work + fm->woff[3 * j + k]));
    if (n == 0)
        work_empty(fm);
    for (int64_t r = r0; r < r1; r++) {
        const char *buf = bufs[r - r0];
        if (((const result_head *)buf)->status != ST_DONE)
            continue;
        for (int j = 0; j < fm->n_sv; j++)
            ms_sweep_fold(fm->work + fm->woff[3 * j],
                          fm->work + fm->woff[3 * j + 2], n,
                          (const double *)(buf + fm->sv_off[j]),
                          fm->sv_len[j]);
        n++;
    }
    for (int j = 0; j < fm->n_sv; j++)
        ms_sweep_fold_sd(fm->work + fm->woff[3 * j + 2], n,
                         fm->work + fm->woff[3 * j + 1], fm->sv_len[j]);
    int64_t folded = fm->folded_pt[p] + (r1 - r0);
    MS_CALL(write_point(fm, p, n, folded));
    kill_point(fm);
    MS_CALL(ms_h5_flush_durable(fm->h5));
    kill_point(fm);
    fm->n_pt[p] = n;
    fm->folded_pt[p] = folded;
    MS_CALL(ms_h5_reserve(fm->h5, fm->reserve));
    for (int64_t r = r0; r < r1; r++) {
        const result_head *hd = (const result_head *)bufs[r - r0];
        MS_CALL(ms_h5_write_index(fm->v_status, r, &hd->status));
    }
    kill_point(fm);
    MS_CALL(ms_h5_flush(fm->h5));
    kill_point(fm);
    for (int64_t r = r0; r < r1; r++)
        count_delivered(fm, r, ((const result_head *)bufs[r - r0])->status);
    return MS_OK;
}

/* A finished run of a summary-only sweep: folded now if it is the next
 * replicate of its point to fold (with the ones after it that already
 * wait), else kept in memory until its turn. */
static ms_status store_summary(farm *fm, int64_t r, const char *buf)
{
    const result_head *hd = (const result_head *)buf;
    if (hd->status == ST_PENDING)
        return MS_OK; /* abandoned on a stop */
    const int64_t reps = fm->s->replications, p = r / reps;
    if (r % reps != fm->folded_pt[p]) {
        if (!fm->waiting[r] && !(fm->waiting[r] = ms_malloc(fm->L.total)))
            return MS_ERROR(MS_ENOMEM, "out of memory for a run waiting to "
                            "be folded");
        memcpy(fm->waiting[r], buf, fm->L.total);
        return MS_OK;
    }
    int64_t r1 = r + 1;
    while (r1 < (p + 1) * reps && fm->waiting[r1])
        r1++;
    const char **bufs = ms_malloc((size_t)(r1 - r) * sizeof *bufs);
    if (!bufs)
        return MS_ERROR(MS_ENOMEM, "out of memory");
    bufs[0] = buf;
    for (int64_t q = r + 1; q < r1; q++)
        bufs[q - r] = fm->waiting[q];
    ms_status st = fold_runs(fm, r, r1, bufs);
    ms_free(bufs);
    for (int64_t q = r + 1; st == MS_OK && q < r1; q++) {
        ms_free(fm->waiting[q]);
        fm->waiting[q] = NULL;
    }
    return st;
}

static ms_status deliver_cb(void *ctx, int64_t task, const void *result)
{
    farm *fm = ctx;
    return fm->s->summary_only ? store_summary(fm, task, result)
                               : store(fm, task, result);
}

static ms_status work_cb(void *ctx, int64_t task, void *result)
{
    farm *fm = ctx;
    run_one(fm->s, &fm->L, task, fm->o->threads, NULL, result);
    return MS_OK;
}

static ms_status open_vars(farm *fm)
{
    const ms_sweep *s = fm->s;
    ms_h5 *h = fm->h5;
    MS_CALL(ms_h5_var_open(h, "/runs/status", MS_H5_I8, &fm->v_status));
    MS_CALL(ms_h5_var_open(h, "/runs/wall_seconds", MS_H5_F64, &fm->v_wall));
    MS_CALL(ms_h5_var_open(h, "/runs/message", MS_H5_STR, &fm->v_msg));
    MS_CALL(ms_h5_var_open(h, "/runs/checksum", MS_H5_I64, &fm->v_sum));
    /* The layout hash matched; still, no write may go past a dataset. */
    ms_h5var *const fixed[] = {fm->v_status, fm->v_wall, fm->v_msg,
                               fm->v_sum};
    for (int k = 0; k < 4; k++) {
        int64_t d[8];
        if (ms_h5_var_shape(fixed[k], d) != 1 ||
            d[0] != ms_sweep_run_count(s))
            return MS_ERROR(MS_EINPUT, "%s: error: --resume: /runs does not "
                            "hold %lld runs; make the sweep again into a new "
                            "file", fm->o->out_path,
                            (long long)ms_sweep_run_count(s));
    }
    if (s->summary_only)
        return open_summary_vars(fm);
    for (int k = 0; k < N_SU; k++) {
        char path[128];
        snprintf(path, sizeof path, "/startups/%s", su_vars[k].name);
        MS_CALL(ms_h5_var_open(h, path, MS_H5_F64, &fm->v_su[k]));
    }
    MS_CALL(ms_h5_var_open(h, "/market/population", MS_H5_F64, &fm->v_pop));
    MS_CALL(ms_h5_var_open(h, "/market/potential", MS_H5_F64, &fm->v_pot));
    for (int k = 0; k < s->n_outputs; k++) {
        ms_outvar_meta m;
        ms_outvar_get(s->outputs[k], &m);
        char path[256];
        snprintf(path, sizeof path, "%s/%s", m.group, m.name);
        MS_CALL(ms_h5_var_open(h, path, m.type, &fm->out[k]));
    }
    for (int j = 0; j < fm->n_ck; j++) {
        ms_h5var *v = NULL;
        for (int k = 0; k < s->n_outputs && !v; k++) {
            ms_outvar_meta m;
            ms_outvar_get(s->outputs[k], &m);
            char path[256];
            snprintf(path, sizeof path, "%s/%s", m.group, m.name);
            if (!strcmp(path, fm->ck[j].path))
                v = fm->out[k];
        }
        for (int k = 0; k < N_SU && !v; k++)
            if (!strcmp(fm->ck[j].path + strlen("/startups/"),
                        su_vars[k].name) &&
                !strncmp(fm->ck[j].path, "/startups/", 10))
                v = fm->v_su[k];
        if (!v)
            v = !strcmp(fm->ck[j].path, "/market/population") ? fm->v_pop
                                                              : fm->v_pot;
        int64_t d[8];
        int nd = ms_h5_var_shape(v, d);
        int same = nd == fm->ck[j].ndims;
        for (int k = 0; same && k < nd; k++)
            same = d[k] == fm->ck[j].dims[k];
        if (!same)
            return MS_ERROR(MS_EINPUT, "%s: error: --resume: %s has another "
                            "shape than this sweep writes; make the sweep "
                            "again into a new file", fm->o->out_path,
                            fm->ck[j].path);
    }
    return MS_OK;
}

/* Runs marked done whose data do not match their checksum (the writer was
 * stopped while writing them, or the file was damaged): pending again in
 * fm->status and fm->redo (the file's status is set once in single-writer
 * mode, mark_redo), and said on stderr. */
static ms_status verify_done(farm *fm)
{
    const int64_t R = ms_sweep_run_count(fm->s);
    const char *path = fm->o->out_path;
    uint64_t *sums = ms_calloc((size_t)R + 1, sizeof *sums);
    int64_t *kept = ms_calloc((size_t)R + 1, sizeof *kept);
    int8_t *want = ms_calloc((size_t)R + 1, 1);
    ms_status st = sums && kept && want ? MS_OK
                                        : MS_ERROR(MS_ENOMEM, "out of memory");
    for (int64_t r = 0; st == MS_OK && r < R; r++)
        want[r] = fm->status[r] == ST_DONE;
    if (st == MS_OK)
        st = ms_h5_read_all(fm->v_sum, kept);
    if (st == MS_OK)
        st = ms_h5_sweep_checksums(ms_h5_file_id(fm->h5), path, R, want, sums);
    int64_t bad = 0;
    for (int64_t r = 0; st == MS_OK && r < R; r++) {
        if (!want[r] || (uint64_t)kept[r] == sums[r])
            continue;
        if (bad < 20)
            fprintf(stderr, "marketsim: %s: run %lld is marked done but its "
                    "data do not match its checksum (%s); running it again\n",
                    path, (long long)r,
                    kept[r] == -1 ? "no checksum was stored: the sweep was "
                                    "stopped while writing the run"
                                  : "the sweep was stopped while writing the "
                                    "run, or the file was damaged");
        bad++;
        fm->status[r] = ST_PENDING;
        fm->redo[r] = 1;
    }
    if (bad > 20)
        fprintf(stderr, "marketsim: %s: %lld runs in all did not match their "
                "checksums and run again\n", path, (long long)bad);
    ms_free(sums);
    ms_free(kept);
    ms_free(want);
    return st;
}

/* Reopen a file for --resume: it must come from the same sweep, scenario
 * and layout, which is checked read-only, before anything is written. */
static ms_status reopen(farm *fm)
{
    const char *path = fm->o->out_path;
    ms_h5 *ro;
    MS_CALL(ms_h5_open_ro(path, &ro));
    ms_sweep_ident have, want;
    ms_status st = ms_sweep_ident_read(ro, path, &have);
    ms_h5_close(&ro, 1);
    MS_CALL(st);
    ident_of(fm->s, fm->layout_text, &want);
    char fix[512];
    snprintf(fix, sizeof fix, "--resume continues a file with the sweep and "
             "scenario files it was made with: restore them (the file's "
             "/sweep and /scenario hold their texts), or start the sweep "
             "again into a new file");
    st = ms_sweep_ident_compare(&have, path, &want, "the file has", "now",
                                fix);
    ms_sweep_ident_free(&have);
    MS_CALL(st);
    MS_CALL(ms_h5_open_rw(path, 1, &fm->h5));
    char shard[32], want_shard[32];
    st = ms_h5_attr_read(fm->h5, "/", "shard", shard, sizeof shard);
    if (fm->o->shard_n > 1)
        snprintf(want_shard, sizeof want_shard, "%d/%d", fm->o->shard_i,
                 fm->o->shard_n);
    else
        want_shard[0] = '\0';
    if (st == MS_OK && strcmp(shard, want_shard) != 0)
        st = MS_ERROR(MS_EINPUT, "%s: error: --resume: the file holds shard "
                      "'%s', not '%s'", path, shard, want_shard);
    if (st == MS_OK)
        st = open_vars(fm);
    int64_t R = ms_sweep_run_count(fm->s);
    if (st == MS_OK)
        st = ms_h5_var_expect(fm->v_status, 1, &R);
    if (st == MS_OK)
        st = ms_h5_read_all(fm->v_status, fm->status);
    if (st == MS_OK)
        st = fm->s->summary_only ? verify_summary(fm) : verify_done(fm);
    return st;
}

/* ---- summary: mean and sd over replications, per point, in run order ---- */

ms_status ms_sweep_write_summary(ms_h5 *h);

/* Leave single-writer mode and write what that mode does not allow (the
 * counts and status attributes, the summary). The file written so far
 * is crash-safe only in that mode, so this is done on a copy,
 * PATH.partial, put on the disk and renamed over PATH: a sweep stopped
 * now keeps PATH as it was, with every run, and --resume finishes it. */
static ms_status finish(farm *fm, int interrupted)
{
    const char *path = fm->o->out_path;
    MS_CALL(ms_h5_close(&fm->h5, 1));
    size_t len = strlen(path) + 9;
    char *tmp = ms_malloc(len);
    if (!tmp)
        return MS_ERROR(MS_ENOMEM, "out of memory");
    snprintf(tmp, len, "%s.partial", path);
    ms_status st = ms_path_copy(path, tmp, "the sweep file keeps every "
                                "run: free space, then --resume");
    if (st == MS_OK)
        st = ms_h5_open_rw(tmp, 0, &fm->h5);
    const int64_t R = ms_sweep_run_count(fm->s);
    int64_t done = 0, failed = 0, pending_scope = 0;
    for (int64_t r = 0; r < R; r++) {
        done += fm->status[r] == ST_DONE;
        failed += fm->status[r] == ST_FAILED;
        pending_scope += fm->status[r] == ST_PENDING &&
                         ms_sweep_in_shard(r, fm->o->shard_i, fm->o->shard_n);
    }
    if (st == MS_OK)
        st = ms_h5_attr_i64(fm->h5, "/", "runs_done", done);
    if (st == MS_OK)
        st = ms_h5_attr_i64(fm->h5, "/", "runs_failed", failed);
    if (st == MS_OK)
        st = ms_h5_attr_str(fm->h5, "/", "status",
                            pending_scope || interrupted ? "interrupted"
                                                         : "complete");
    /* A summary-only sweep's /summary is complete as it is. */
    if (st == MS_OK && !fm->s->summary_only)
        st = ms_h5_unlink(fm->h5, "/summary"); /* of an earlier finish */
    if (st == MS_OK && !fm->s->summary_only)
        st = ms_sweep_write_summary(fm->h5);
    if (st == MS_OK)
        st = ms_h5_flush_durable(fm->h5);
    ms_status cs = ms_h5_close(&fm->h5, 1);
    if (st == MS_OK)
        st = cs;
    if (st == MS_OK && rename(tmp, path) != 0)
        st = MS_ERROR(MS_EIO, "%s: cannot rename to %s: %s", tmp, path,
                      strerror(errno));
    if (st != MS_OK)
        remove(tmp);
    ms_free(tmp);
    return st;
}

/* The room a run's writes may take at the end of the file: every chunk
 * it touches written anew (single-writer mode never reuses the space of
 * a rewritten chunk), a little more if compression expands them, and
 * room for metadata. */
static void reserve_size(farm *fm)
{
    size_t n = 64 * 1024;
    ms_h5var *const one[] = {fm->v_status, fm->v_wall, fm->v_msg, fm->v_sum,
                             fm->v_pop, fm->v_pot, fm->v_n, fm->v_folded,
                             fm->v_check};
    for (int k = 0; k < 9; k++)
        if (one[k])
            n += ms_h5_var_chunk_bytes(one[k]) * 101 / 100 + 1024;
    if (fm->s->summary_only) {
        /* A fold writes one point of every accumulator, and the message,
         * wall time and checksum of up to all the replicates of a point
         * (counted for up to 64 runs: their chunks are shared). */
        for (int k = 0; k < 3 * fm->n_sv; k++)
            n += ms_h5_var_chunk_bytes(fm->acc[k]) * 101 / 100 + 1024;
        n += 3 * 64 * 1024;
        fm->reserve = n;
        return;
    }
    for (int k = 0; k < N_SU; k++)
        n += ms_h5_var_chunk_bytes(fm->v_su[k]) * 101 / 100 + 1024;
    for (int k = 0; k < fm->s->n_outputs; k++)
        n += ms_h5_var_chunk_bytes(fm->out[k]) * 101 / 100 + 1024;
    fm->reserve = n;
}

static int file_exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

static ms_status execute(farm *fm, ms_sweep_result *res)
{
    const ms_sweep *s = fm->s;
    const ms_sweep_opts *o = fm->o;
    const int64_t R = ms_sweep_run_count(s);
    const int rank = ms_par_rank(), size = ms_par_size();
    MS_CALL(make_layout(s, &fm->L));
    MS_CALL(make_table(s, &fm->L, R, &fm->ck, &fm->n_ck, &fm->layout_text));
    const char *ka = getenv("MARKETSIM_TEST_KILL_AFTER");
    fm->kill_after = ka ? strtol(ka, NULL, 10) : 0;
    fm->out = ms_calloc((size_t)s->n_outputs + 1, sizeof *fm->out);
    fm->status = ms_calloc((size_t)R, sizeof *fm->status);
    fm->redo = ms_calloc((size_t)R, 1);
    if (!fm->out || !fm->status || !fm->redo)
        return MS_ERROR(MS_ENOMEM, "out of memory");
    if (s->summary_only && rank == 0)
        MS_CALL(summary_plan(fm));

    /* Rank 0 prepares the file; the others learn whether it worked. */
    ms_status st = MS_OK;
    int64_t *tasks = NULL;
    if (rank == 0) {
        if (o->resume) {
            char partial[4096];
            snprintf(partial, sizeof partial, "%s.partial", o->out_path);
            if (!file_exists(o->out_path) && file_exists(partial))
                st = MS_ERROR(MS_EINPUT, "%s: error: --resume: no such file, "
                              "only %s: a sweep stopped while laying out its "
                              "file, before any run; start the sweep again "
                              "(without --resume)", o->out_path, partial);
            else if (!file_exists(o->out_path))
                st = MS_ERROR(MS_EINPUT, "%s: error: --resume: no such file "
                              "(run without --resume to start the sweep)",
                              o->out_path);
            else
                st = reopen(fm);
        } else if (file_exists(o->out_path)) {
            st = MS_ERROR(MS_EINPUT, "%s: error: the file exists; continue "
                          "it with --resume, or remove it to start over",
                          o->out_path);
        } else {
            st = ms_h5_create_inplace(o->out_path, &fm->h5);
            if (st == MS_OK)
                st = write_layout(fm);
            if (st == MS_OK)
                reserve_size(fm);
            if (st == MS_OK)
                st = ms_h5_start_swmr(fm->h5);
            if (st == MS_OK)
                st = ms_h5_publish(fm->h5);
            if (st != MS_OK && fm->h5) {
                char *tmp = ms_strdup(ms_h5_write_path(fm->h5));
                ms_h5_close(&fm->h5, 0);
                if (tmp)
                    remove(tmp);
                ms_free(tmp);
            }
        }
        if (st == MS_OK && o->resume)
            reserve_size(fm);
        if (st == MS_OK && o->resume)
            st = ms_h5_start_swmr(fm->h5);
        /* Runs that did not match their checksums: pending in the file
         * too, so that a merge before they run again does not take them
         * (and, in a summary-only sweep, runs folded whose status was not
         * yet written; points cut short, empty again). */
        int any = 0;
        for (int64_t r = 0; st == MS_OK && o->resume && r < R; r++)
            if (fm->redo[r] && (any = 1))
                st = ms_h5_write_index(fm->v_status, r, &fm->status[r]);
        for (int64_t p = 0; st == MS_OK && o->resume && s->summary_only &&
                            p < s->n_points; p++)
            if (fm->reset[p] && (any = 1)) {
                work_empty(fm);
                st = write_point(fm, p, 0, 0);
            }
        if (st == MS_OK && any)
            st = ms_h5_flush_durable(fm->h5);
        if (st == MS_OK) {
            tasks = ms_calloc((size_t)R + 1, sizeof *tasks);
            if (!tasks)
                st = MS_ERROR(MS_ENOMEM, "out of memory");
        }
        if (st == MS_OK)
            for (int64_t r = 0; r < R; r++)
                if (fm->status[r] != ST_DONE &&
                    ms_sweep_in_shard(r, o->shard_i, o->shard_n) &&
                    !(s->summary_only &&
                      r % s->replications <
                          fm->folded_pt[r / s->replications]))
                    tasks[fm->todo++] = r;
    }
    int ok = ms_par_bcast_int(st == MS_OK);
    if (!ok) {
        ms_free(tasks);
        return rank == 0 ? st : MS_OK;
    }
    res->runs = R;
    res->todo = fm->todo;
    res->ranks = size;
    double t0 = omp_get_wtime();

    if (size > 1) {
        st = ms_par_farm(tasks, fm->todo, fm->L.total, work_cb, deliver_cb, fm,
                         o->stop, 0);
    } else {
        int T = o->threads > 0 ? o->threads : omp_get_max_threads();
        int across = T > 1 && fm->todo >= T;
        int nbuf = across ? T : 1;
        char **bufs = ms_calloc((size_t)nbuf, sizeof *bufs);
        for (int b = 0; bufs && b < nbuf; b++)
            if (!(bufs[b] = ms_malloc(fm->L.total)))
                st = MS_ERROR(MS_ENOMEM, "out of memory for run results");
        if (!bufs)
            st = MS_ERROR(MS_ENOMEM, "out of memory");
        if (st == MS_OK && across) {
            volatile int io_failed = 0;
#pragma omp parallel for num_threads(T) schedule(dynamic, 1)
            for (int64_t i = 0; i < fm->todo; i++) {
                if (io_failed || (o->stop && *o->stop))
                    continue;
                char *buf = bufs[omp_get_thread_num()];
                run_one(s, &fm->L, tasks[i], 1, o->stop, buf);
#pragma omp critical(ms_sweep_file)
                {
                    if (!io_failed && deliver_cb(fm, tasks[i], buf) != MS_OK)
                        io_failed = 1;
                }
            }
            if (io_failed)
                st = MS_EIO;
        } else if (st == MS_OK) {
            for (int64_t i = 0; i < fm->todo && st == MS_OK; i++) {
                if (o->stop && *o->stop)
                    break;
                run_one(s, &fm->L, tasks[i], T, o->stop, bufs[0]);
                st = deliver_cb(fm, tasks[i], bufs[0]);
            }
        }
        for (int b = 0; bufs && b < nbuf; b++)
            ms_free(bufs[b]);
        ms_free(bufs);
    }
    ms_free(tasks);
    res->wall_seconds = omp_get_wtime() - t0;
    res->done = fm->done;
    res->failed = fm->failed;
    res->interrupted = o->stop && *o->stop;
    if (rank != 0)
        return st;
    if (st != MS_OK) {
        /* Keep what was written: the file stays valid for --resume. */
        ms_h5_close(&fm->h5, 1);
        return st;
    }
    return finish(fm, res->interrupted);
}

/* Summary-only sweeps are not sharded (merge could not join them bit for
 * bit). */
static ms_status no_summary_shards(const ms_sweep *s, int shard_n)
{
    if (shard_n > 1 && s->summary_only)
        return MS_ERROR(MS_EINPUT, "%s: error: --shard: a summary-only "
                        "sweep (outputs: summary) cannot be split into "
                        "shards: each shard would fold only its own runs, "
                        "and shards' summaries cannot be joined bit for bit; "
                        "run it as one sweep (threads, or mpirun ranks: "
                        "docs/CLUSTER.md), or keep the runs (outputs: [...]) "
                        "to shard and merge", s->path);
    return MS_OK;
}

ms_status ms_sweep_execute(ms_sweep *s, const ms_sweep_opts *o,
                           ms_sweep_result *res)
{
    memset(res, 0, sizeof *res);
    if (o->shard_n > 1 && (o->shard_i < 1 || o->shard_i > o->shard_n))
        return MS_ERROR(MS_EUSAGE, "--shard %d/%d: I must be in 1..%d",
                        o->shard_i, o->shard_n, o->shard_n);
    MS_CALL(no_summary_shards(s, o->shard_n));
    farm fm;
    memset(&fm, 0, sizeof fm);
    fm.s = s;
    fm.o = o;
    ms_status st = execute(&fm, res);
    if (fm.h5)
        ms_h5_close(&fm.h5, 1);
    ms_free(fm.out);
    ms_free(fm.status);
    ms_free(fm.redo);
    ms_free(fm.ck);
    ms_free(fm.layout_text);
    ms_free(fm.L.rec_step);
    for (int64_t r = 0; fm.waiting && r < ms_sweep_run_count(s); r++)
        ms_free(fm.waiting[r]);
    ms_free(fm.waiting);
    ms_free(fm.sv);
    ms_free(fm.sv_off);
    ms_free(fm.sv_len);
    ms_free(fm.acc);
    ms_free(fm.n_pt);
    ms_free(fm.folded_pt);
    ms_free(fm.work);
    ms_free(fm.woff);
    ms_free(fm.hord);
    ms_free(fm.reset);
    return st;
}

/* ---- dry run ---- */

ms_status ms_sweep_describe(ms_sweep *s, int shard_i, int shard_n, FILE *out)
{
    MS_CALL(no_summary_shards(s, shard_n));
    layout L;
    memset(&L, 0, sizeof L);
    MS_CALL(make_layout(s, &L));
    const int64_t R = ms_sweep_run_count(s);
    /* Runs r with r % shard_n == shard_i - 1 (ms_sweep_in_shard). */
    int64_t mine = shard_n <= 1 ? R
                                : R / shard_n + (R % shard_n > shard_i - 1);
    /* Memory of one run: build its world once and count. */
    size_t before = ms_alloc_live_bytes();
    ms_alloc_reset_peak();
    ms_world *w;
    ms_status st = ms_world_create(s->base, 1, &w);
    size_t world = ms_alloc_peak_bytes() - before;
    uint64_t agents = st == MS_OK ? ms_world_consumers(w) : 0;
    ms_world_destroy(&w);
    if (st != MS_OK) {
        ms_free(L.rec_step);
        return st;
    }
    const char *const *designs = ms_sweep_design_names;
    fprintf(out, "sweep          %s\n", s->path);
    fprintf(out, "scenario       %s (%llu consumer agents, %lld steps)\n",
            s->scenario_path, (unsigned long long)agents,
            (long long)s->base->run.steps);
    fprintf(out, "design         %s: %lld points x %lld replications = %lld "
            "runs\n", designs[s->design], (long long)s->n_points,
            (long long)s->replications, (long long)R);
    if (shard_n > 1)
        fprintf(out, "this shard     %d/%d: %lld runs\n", shard_i, shard_n,
                (long long)mine);
    if (s->n_checked == s->n_points)
        fprintf(out, "checked        all %lld points start, with the base "
                "scenario's shapes\n", (long long)s->n_points);
    else
        fprintf(out, "checked        points 0 to %lld of %lld (the first "
                "%lld) start, with the base scenario's shapes; the others are "
                "checked as their runs start, and one that would not start is "
                "recorded as failed (/runs/status 2, /runs/message)\n",
                (long long)s->n_checked - 1, (long long)s->n_points,
                (long long)s->n_checked);
    for (int j = 0; j < s->n_params; j++) {
        const ms_sweep_param *p = &s->params[j];
        if (p->range)
            fprintf(out, "  %-28s %s %g .. %g%s\n", p->key,
                    s->design == MS_DESIGN_GRID ? "grid over" : "range",
                    p->low, p->high, p->log ? " (log scale)" : "");
        else
            fprintf(out, "  %-28s %d values\n", p->key, p->n_values);
    }
    fprintf(out, "outputs        ");
    for (int k = 0; k < s->n_outputs; k++) {
        ms_outvar_meta m;
        ms_outvar_get(s->outputs[k], &m);
        fprintf(out, "%s%s", k ? ", " : "", m.name);
    }
    fprintf(out, " (%d records: every %lld steps)%s\n", L.T,
            (long long)s->every,
            s->summary_only ? ", summaries only (outputs: summary)" : "");
    double data = (double)(L.total - sizeof(result_head)) * (double)R;
    if (s->summary_only) {
        /* Mean, sd and m2 of the floating-point outputs and the start-up
         * aggregates, per point; /runs keeps a few numbers per run. */
        double per = (double)N_SU * L.T * L.M * L.C;
        for (int k = 0; k < s->n_outputs; k++) {
            ms_outvar_meta m;
            ms_outvar_get(s->outputs[k], &m);
            if (m.type == MS_H5_F64)
                per += (double)L.T * (double)L.elems[k];
        }
        fprintf(out, "output size    %.3g MB of summaries (mean, sd and m2 "
                "per point) + %.3g MB of run records (/runs), before "
                "compression; no run's arrays\n",
                3 * per * 8 * (double)s->n_points / 1e6,
                (double)R * (MSG_LEN + 40 + 8 * s->n_params) / 1e6);
        fprintf(out, "memory per run %.3g MB (world) + %.3g MB (its outputs, "
                "until folded into its point)\n", (double)world / 1e6,
                (double)L.total / 1e6);
        ms_free(L.rec_step);
        return MS_OK;
    }
    fprintf(out, "output size    %.3g MB of data before compression (at "
            "most; unfinished runs take no space)\n", data / 1e6);
    fprintf(out, "memory per run %.3g MB (world) + %.3g MB (kept outputs)\n",
            (double)world / 1e6, (double)L.total / 1e6);
    ms_free(L.rec_step);
    return MS_OK;
}
