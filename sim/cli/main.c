/*
 * main.c: the marketsim command line.
 *
 * argv -> one of the commands below; every failure is printed as one
 * message and becomes the exit status of DESIGN.md: 0 done, 1 a failure at
 * run time (I/O, memory, a broken invariant, interrupted), 2 bad usage or
 * bad input. Only this file decides to exit.
 */
#define _GNU_SOURCE /* sched_getaffinity, CPU_COUNT */
#include "cli/progress.h"
#include "marketsim/ms_export.h"

#include "marketsim/ms_alloc.h"
#include "marketsim/ms_calibrate.h"
#include "marketsim/ms_error.h"
#include "marketsim/ms_info.h"
#include "marketsim/ms_paths.h"
#include "marketsim/ms_run.h"
#include "marketsim/ms_scenario.h"
#include "marketsim/ms_sensitivity.h"
#include "marketsim/ms_sweep.h"
#include "par/par.h"

#include <ctype.h>
#include <errno.h>
#include <omp.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_SETS 256
/* Threads a run may ask for: OpenMP's runtime cannot start a hundred
 * thousand (libgomp crashes), and far fewer never help. */
#define MAX_THREADS 1024

static volatile sig_atomic_t stop_flag;

static void on_signal(int sig)
{
    stop_flag = 1;
    /* A second signal ends the process at once. */
    signal(sig, SIG_DFL);
}

static void install_signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
}

static int verbose;

/* Write text with control characters escaped (\x1b), line breaks kept:
 * names and paths in messages come from files and arguments, and must not
 * drive the terminal. C1 controls in UTF-8 (U+0080..U+009F) too. */
static void put_safe(FILE *f, const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if ((*p < 0x20 && *p != '\n' && *p != '\t') || *p == 0x7f)
            fprintf(f, "\\x%02x", *p);
        else if (*p == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f) {
            fprintf(f, "\\u%04x", p[1]);
            p++;
        } else
            fputc(*p, f);
    }
}

/* This process's rank under mpirun (0 otherwise): in one run over ranks
 * every rank meets the same input errors, and rank 0 alone reports them;
 * a failure of this rank's own (its checkpoint slice, its memory) it
 * reports itself, naming the rank. */
static int g_rank;

static int fail(ms_status st)
{
    const char *msg = ms_error_message();
    if (g_rank != 0) {
        if (st != MS_EINPUT && st != MS_EUSAGE && st != MS_EINTERRUPT &&
            !strstr(msg, "another rank")) {
            fprintf(stderr, "marketsim: rank %d: error: ", g_rank);
            put_safe(stderr, msg);
            fputc('\n', stderr);
        }
        return ms_status_exit_code(st);
    }
    if (st == MS_EINPUT) {
        put_safe(stderr, msg);
        fputc('\n', stderr);
    } else if (st == MS_EUSAGE) {
        fputs("marketsim: ", stderr);
        put_safe(stderr, msg);
        fputs("\n(see marketsim --help)\n", stderr);
    } else {
        fputs("marketsim: error: ", stderr);
        put_safe(stderr, msg);
        fputc('\n', stderr);
    }
    if (verbose || getenv("MARKETSIM_TRACE"))
        fprintf(stderr, "raised at:\n%s", ms_error_trace());
    return ms_status_exit_code(st);
}

static int usage_error(const char *fmt, const char *arg)
    __attribute__((format(printf, 1, 0)));

static int usage_error(const char *fmt, const char *arg)
{
    char msg[1024];
    snprintf(msg, sizeof msg, fmt, arg);
    fputs("marketsim: ", stderr);
    put_safe(stderr, msg);
    fputs("\n(see marketsim --help)\n", stderr);
    return 2;
}

/* The one file a command takes, or a usage error (2) for an unknown
 * option or a second file. cmd: "run"; what: "scenario". */
static int positional(const char *cmd, const char *what, const char *a,
                      const char **path)
{
    if (a[0] == '-' && a[1]) {
        fprintf(stderr, "marketsim: %s: unknown option ", cmd);
        put_safe(stderr, a);
        fprintf(stderr, "\n(see marketsim %s --help)\n", cmd);
        return 2;
    }
    if (*path) {
        fprintf(stderr, "marketsim: %s: one %s at a time (got also ", cmd,
                what);
        put_safe(stderr, a);
        fprintf(stderr, ")\n(see marketsim %s --help)\n", cmd);
        return 2;
    }
    *path = a;
    return 0;
}

/* An input that exists must be a regular file: opening a FIFO waits for
 * a writer forever, a device or folder is no result file. Returns 0, or 2
 * after printing "PATH: error: ...". A missing file is left to the
 * command, which says so in its own words. */
static int regular_input(const char *path)
{
    struct stat st;
    if (stat(path, &st) != 0 || S_ISREG(st.st_mode))
        return 0;
    const char *what = S_ISDIR(st.st_mode)    ? "a folder"
                       : S_ISFIFO(st.st_mode) ? "a FIFO (named pipe)"
                       : S_ISCHR(st.st_mode)  ? "a character device"
                       : S_ISBLK(st.st_mode)  ? "a block device"
                       : S_ISSOCK(st.st_mode) ? "a socket"
                                              : "not a regular file";
    put_safe(stderr, path);
    fprintf(stderr, ": error: not a regular file but %s; give a file "
            "written by marketsim\n", what);
    return 2;
}

static const char *main_help =
    "marketsim: an agent-based simulator of firms competing at home and "
    "abroad\n"
    "\n"
    "usage: marketsim COMMAND [ARGS]   (marketsim COMMAND --help for more)\n"
    "\n"
    "commands:\n"
    "  run SCENARIO        simulate a scenario and write an HDF5 result file\n"
    "  validate SCENARIO.. check scenario files and print them resolved\n"
    "  sweep SWEEP         run many variants of a scenario into one file\n"
    "  merge SHARD... -o F join the shard files of a sweep\n"
    "  analyze SWEEP.h5    which parameters matter: Sobol indices or Morris\n"
    "                      effects of a saltelli or morris sweep\n"
    "  calibrate SCENARIO  fit free parameters to the scenario's targets\n"
    "  info FILE           what a result file holds, with key figures\n"
    "  export FILE --csv D the file's tables as tidy CSV files in folder D\n"
    "  params              every scenario parameter: default, bounds, unit\n"
    "\n"
    "options:\n"
    "  --version           print the version and the source commit\n"
    "  --help              this text\n"
    "\n"
    "exit status: 0 done; 1 a failure at run time (I/O, memory, a failed\n"
    "check, interrupted); 2 bad usage or bad input.\n"
    "Docs: README.md, docs/MODEL.md, docs/OUTPUT.md, docs/PARAMETERS.md.\n";

static const char *run_help =
    "usage: marketsim run SCENARIO [options]\n"
    "       mpirun -n K marketsim run SCENARIO -o OUT.h5   (one run, K ranks)\n"
    "\n"
    "Simulate SCENARIO (a YAML file) and write the result as HDF5.\n"
    "\n"
    "  -o, --output FILE   result file (default: results/NAME.h5, where\n"
    "                      NAME is the scenario's file name; the folder is\n"
    "                      created if missing)\n"
    "  --set KEY=VALUE     override a parameter, e.g. --set run.steps=240,\n"
    "                      --set markets.CN.openness=0.5,\n"
    "                      --set firms.Alibaba.markets=[CN,ID]\n"
    "                      (repeatable; `marketsim params` lists the keys)\n"
    "  --seed N            same as --set run.seed=N\n"
    "  --threads N         OpenMP threads, 1 to 1024 (default: OMP_NUM_THREADS\n"
    "                      or all cores); results are identical for any number\n"
    "  --check             verify the model's invariants at the end\n"
    "                      (users add up, cash matches its flows, ...)\n"
    "  --check-targets     exit with status 1 if a target of the scenario\n"
    "                      (a seed figure) is missed; the table is printed\n"
    "                      and written to /targets either way\n"
    "  --checkpoint-every N  save the whole state every N steps to\n"
    "                      FILE.ckpt (atomically), to continue after a crash\n"
    "  --restart CKPT      continue the run a checkpoint was taken of (no\n"
    "                      SCENARIO; the output file is the checkpoint's unless\n"
    "                      -o is given); the result equals an uninterrupted run\n"
    "  --dry-run           run nothing: print the agents, the memory per rank\n"
    "                      and the estimated time per step (and how it was\n"
    "                      estimated), to size a job\n"
    "  --ranks K           with --dry-run: for K MPI ranks (default: the ranks\n"
    "                      of mpirun, else 1)\n"
    "  -q, --quiet         no progress and no summary\n"
    "  -v, --verbose       show where an error was raised\n"
    "\n"
    "The file is written as FILE.partial and renamed when done. Ctrl-C (or\n"
    "SIGTERM) stops after the current step, writes a checkpoint FILE.ckpt and\n"
    "keeps the file, with status 'interrupted' and every step done so far:\n"
    "as FILE if there was none (or an interrupted one), else as FILE.partial\n"
    "beside the earlier FILE, which only a finished run replaces. A run that\n"
    "completes removes its checkpoint. FILE must be a new or regular file\n"
    "other than the input (not a folder or device), and one process at a\n"
    "time writes it (FILE.lock): a second is refused with exit status 2\n"
    "(docs/OUTPUT.md).\n"
    "\n"
    "Under mpirun one run is split over the ranks: each holds a slice of the\n"
    "consumers, firms and counts are on every rank, rank 0 writes FILE and\n"
    "the others nothing. The file is the same, bit for bit, for any number of\n"
    "ranks and threads. A checkpoint is FILE.ckpt plus one slice file per\n"
    "rank (FILE.ckpt.stepS.sliceRofK); --restart continues it on any number\n"
    "of ranks. A rank that dies ends the job; one that hangs makes the others\n"
    "stop with exit status 1 after $MARKETSIM_MPI_TIMEOUT seconds (600).\n"
    "docs/CLUSTER.md says how it scales; scripts/slurm/run-mpi.sbatch is a\n"
    "Slurm job for it.\n";

static const char *validate_help =
    "usage: marketsim validate SCENARIO... [--set KEY=VALUE]... [-q]\n"
    "\n"
    "Read and check each scenario; print it resolved (every parameter, with\n"
    "defaults filled in) as YAML on stdout. Errors are printed as\n"
    "FILE:LINE:COL: error: ... and the exit status is 2. With -q, print\n"
    "nothing but errors.\n"
    "\n"
    "Besides the values, validate (and run) check that the resolved text\n"
    "reads back to the same scenario (what result files and checkpoints\n"
    "store, so a run can be restarted and repeated), and that the figure ids\n"
    "of `targets` are in the figure catalogue: $MARKETSIM_FIGURES if set\n"
    "(empty: no check), else seeds/figures.yaml in the scenario's folder or\n"
    "the nearest folder above it that has one.\n";

static const char *sweep_help =
    "usage: marketsim sweep SWEEP.yaml [options]\n"
    "       mpirun -n K marketsim sweep SWEEP.yaml -o OUT.h5   (clusters)\n"
    "\n"
    "Run every run of a sweep (scenarios/sweeps/*.yaml shows the format) into\n"
    "one HDF5 file: the kept outputs with a leading run dimension, /runs\n"
    "(parameter values, seed, status, wall time) and /summary (mean and sd\n"
    "over replications per point). Finished runs are safe in the file at\n"
    "once: a sweep stopped in any way keeps them, and --resume runs the rest.\n"
    "With `outputs: summary` (or {summary: [adopters, ...]}) the file keeps\n"
    "only /summary, each run folded into its point as it finishes, in\n"
    "replicate order (the same bits as a full sweep's /summary); such a\n"
    "sweep cannot be sharded (docs/SWEEPS.md).\n"
    "Run r's seed is derived from the sweep's `seed` and r (/runs/seed; the\n"
    "saltelli and morris designs give the runs an index compares one seed),\n"
    "so a sweep file neither sets nor varies run.seed; no key may be given\n"
    "twice or inside another (markets.CN and markets.CN.population).\n"
    "Designs: grid, lhs, sobol, table, and saltelli or morris for\n"
    "`marketsim analyze` (docs/SWEEPS.md).\n"
    "\n"
    "  -o, --output FILE   sweep file (default: results/NAME.h5)\n"
    "  --resume            continue FILE: run only runs not done (refused\n"
    "                      while another process still writes FILE)\n"
    "  --shard I/N         run only the I-th of N disjoint slices of the runs\n"
    "                      (Slurm job arrays; join with marketsim merge)\n"
    "  --dry-run           print runs, size of the file, memory per run and\n"
    "                      which points were checked to start\n"
    "  --threads N         OpenMP threads, 1 to 1024 (per rank under mpirun)\n"
    "  -q, --quiet         no progress\n"
    "\n"
    "On one machine, threads take whole runs when there are enough of them,\n"
    "else work inside each run. Under mpirun rank 0 hands out runs and\n"
    "writes; the other ranks run them. The data do not depend on threads,\n"
    "ranks, shards or order. docs/CLUSTER.md explains the cluster paths\n"
    "(with mpirun -n 1 or 2, add --bind-to none: Open MPI binds a rank to\n"
    "one core by default).\n";

static const char *analyze_help =
    "usage: marketsim analyze SWEEP.h5 [options]\n"
    "\n"
    "Which parameters matter: sensitivity indices of a sweep made with\n"
    "design: saltelli (first-order S1 and total ST Sobol indices) or design:\n"
    "morris (elementary effects: mu*, mu, sigma), each with a bootstrap\n"
    "confidence interval, for every kept floating-point output at the chosen\n"
    "times. The values are the per-point means over replications of\n"
    "/summary, so the indices are those of the replication mean; with\n"
    "replications the table also gives the noise share (variance between\n"
    "replications of a point over the variance of single runs).\n"
    "\n"
    "An output over markets, categories or firms is one scalar output per\n"
    "combination of its coordinates, named like adopters[CN,ecommerce]\n"
    "(coordinates in the order of the dataset's dimensions, docs/OUTPUT.md).\n"
    "The results are printed as a table and written into the sweep file as\n"
    "/sensitivity (dims output, parameter, time): into a copy that replaces\n"
    "the file only when complete, so the file is never left half-written.\n"
    "\n"
    "  --output SEL        analyze only these outputs (repeat, or separate by\n"
    "                      spaces): a dataset (adopters: every coordinate),\n"
    "                      or one with coordinates, * for any\n"
    "                      (adopters[CN,*]); default: every output\n"
    "  --at YEAR[,YEAR]    times in years (the nearest kept record, which\n"
    "                      must be within half a record); default: the last\n"
    "  --resamples N       bootstrap resamples (default 1000; 0: no intervals)\n"
    "  --confidence C      confidence level of the intervals (default 0.95)\n"
    "  --seed S            bootstrap seed (default 1): the same file and seed\n"
    "                      give the same bits\n"
    "  -o, --write-to FILE write the analyzed copy to FILE, leaving SWEEP.h5\n"
    "                      as it is\n"
    "  --no-write          print the table only\n"
    "  -q, --quiet         no table\n"
    "\n"
    "Exit status 2 for a file that is not a sweep, a sweep of another design,\n"
    "an unknown output or a time without a record. docs/EXPLORING.md has a\n"
    "worked example; docs/SWEEPS.md the designs.\n";

static const char *merge_help =
    "usage: marketsim merge SHARD.h5... -o OUT.h5\n"
    "\n"
    "Join the shard files of one sweep (marketsim sweep --shard I/N) into\n"
    "OUT.h5, equal to what the unsharded sweep writes. Shards must come from\n"
    "the same sweep file. Runs no shard finished stay pending in OUT.h5;\n"
    "marketsim sweep --resume -o OUT.h5 runs them.\n";

static const char *calibrate_help =
    "usage: marketsim calibrate SCENARIO --free KEY=LO:HI [--free ...]\n"
    "                           [options]\n"
    "\n"
    "Fit the free parameters so the scenario reproduces its targets (the\n"
    "seed figures in its `targets` list) by the method of simulated\n"
    "moments: minimize Q = sum over targets of (simulated - expected)^2 /\n"
    "(variance x (1 + 1/R) + tolerance^2), the simulated value the mean of R\n"
    "replications with fixed seeds (so Q is deterministic), its variance\n"
    "across them, the tolerance read as one standard deviation of the figure\n"
    "(for a bound target, min: or max:, the distance outside the bound, 0\n"
    "inside, and half the bound's size). The weights come from the variances\n"
    "at the start and are held during the search, then estimated again at\n"
    "the fit. Search: Sobol starting points in the box [LO, HI] of each key,\n"
    "then GSL's Nelder-Mead simplex from the best few.\n"
    "\n"
    "At the fit: a confidence interval for every parameter (the profile of\n"
    "Q, or the Wald interval from the Jacobian), the Jacobian of the targets\n"
    "by the parameters (central differences, common random numbers), its\n"
    "rank and condition number, and a warning naming the parameters the\n"
    "targets do not pin down. The result is printed as a table, written with\n"
    "--json, and into the scenario file: the fitted values over the old ones\n"
    "(comments kept) and a `# calibrated:` header with the intervals. Every\n"
    "KEY must appear in the file as a plain number. docs/CALIBRATION.md\n"
    "explains the method and the output.\n"
    "\n"
    "  --free KEY=LO:HI    a parameter to fit, e.g.\n"
    "                      --free categories.live_commerce.q=0.1:1.5\n"
    "  --reps N            replications per evaluation, 2 or more (default 4)\n"
    "  --starts N          Sobol starting points (default 4 per free\n"
    "                      parameter, 8 at least)\n"
    "  --refine N          Nelder-Mead runs from the best starts (default 3)\n"
    "  --iters N           simplex iterations of each run at most (default 60)\n"
    "  --intervals M       profile (default), wald (cheaper: 2 evaluations per\n"
    "                      parameter) or none\n"
    "  --level P           confidence level of the intervals (default 0.95)\n"
    "  --no-fit            no search: diagnose the values in the file (they\n"
    "                      must lie in the ranges); writes no scenario\n"
    "  --json FILE         the result as JSON (parameters, intervals, targets,\n"
    "                      Jacobian, rank, condition number)\n"
    "  -o, --output FILE   the calibrated scenario (default: SCENARIO with\n"
    "                      .calibrated.yaml; --in-place overwrites SCENARIO)\n"
    "  --threads N         threads inside each run (1 to 1024)\n"
    "  -q, --quiet         no progress on stderr (warnings still)\n";

static const char *info_help =
    "usage: marketsim info FILE.h5\n"
    "\n"
    "Print what a result file holds (attributes, groups, datasets with\n"
    "their shapes and units) and its key figures at the last record.\n";

static const char *export_help =
    "usage: marketsim export FILE.h5 --csv DIR\n"
    "\n"
    "Write the tables of a run or sweep file as CSV files in DIR (created\n"
    "if missing), for R, Stata or a spreadsheet. Tables are tidy (long):\n"
    "one column per dimension, then one per variable, one row per\n"
    "combination of the dimensions. A run file gives markets.csv (time,\n"
    "market, category), firms.csv (time, firm) and firms_by_*.csv (users\n"
    "by market and category, quality, localization, weights), events.csv\n"
    "and targets.csv; a sweep file the same with a leading run column, plus\n"
    "runs.csv (each run's point, seed, status and varied parameters),\n"
    "summary*.csv (mean and sd per point) and startups*.csv. Facts that\n"
    "do not change over time (population, a firm's home, a point's\n"
    "parameters) and step and date are repeated in each table they belong\n"
    "to, so every table reads alone.\n"
    "\n"
    "The first line of each file gives the units of the columns\n"
    "(\"# units: year,,,1,USD/year\", empty for names), the second the\n"
    "column names. Missing values are NA. Read them with, e.g.\n"
    "  R:      read.csv(\"DIR/markets.csv\", skip = 1)\n"
    "  pandas: pd.read_csv(\"DIR/markets.csv\", skiprows=1)\n"
    "  Stata:  import delimited DIR/markets.csv, varnames(2) rowrange(3)\n"
    "Columns and units are those of docs/OUTPUT.md.\n";

static const char *params_help =
    "usage: marketsim params [--markdown]\n"
    "\n"
    "Print every scenario parameter with its type, default, bounds, unit\n"
    "and meaning. Keys are written as paths: run.steps,\n"
    "markets.<name>.population, ... ; these paths are what --set takes.\n";

static int want_help(int argc, char **argv)
{
    for (int i = 0; i < argc; i++)
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h"))
            return 1;
    return 0;
}

static int take_int(const char *opt, const char *val, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(val ? val : "", &end, 10);
    if (!val || !*val || *end || errno || v < 0 || !isdigit((unsigned char)*val)) {
        usage_error("%s needs a whole number >= 0", opt);
        return 0;
    }
    *out = v;
    return 1;
}

/* Options several commands share: -o/--output FILE, --threads N,
 * -q/--quiet, -v/--verbose. Returns 1 if argv[*i] was one (and advances
 * *i past its value), 0 if not, -1 after printing a usage error. */
typedef struct common_opts {
    const char *out;
    long threads;
    int quiet;
} common_opts;

static int common_opt(int argc, char **argv, int *i, common_opts *co)
{
    const char *a = argv[*i], *next = *i + 1 < argc ? argv[*i + 1] : NULL;
    if (!strcmp(a, "-o") || !strcmp(a, "--output")) {
        if (!next) {
            usage_error("%s needs a file name", a);
            return -1;
        }
        co->out = next;
        (*i)++;
        return 1;
    }
    if (!strcmp(a, "--threads")) {
        if (!take_int(a, next, &co->threads))
            return -1;
        if (co->threads > MAX_THREADS) {
            fprintf(stderr, "marketsim: --threads %s: at most %d threads "
                    "(this machine has %d cores; 0 means the default)\n"
                    "(see marketsim --help)\n", next, MAX_THREADS,
                    omp_get_num_procs());
            return -1;
        }
        (*i)++;
        return 1;
    }
    if (!strcmp(a, "-q") || !strcmp(a, "--quiet")) {
        co->quiet = 1;
        return 1;
    }
    if (!strcmp(a, "-v") || !strcmp(a, "--verbose")) {
        verbose = 1;
        return 1;
    }
    return 0;
}

static int mkdir_parent(const char *path)
{
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (!slash)
        return 0;
    *slash = '\0';
    if (!dir[0])
        return 0;
    struct stat st;
    if (stat(dir, &st) == 0)
        return 0;
    return mkdir(dir, 0777);
}

static void default_output(const char *scenario, char *buf, size_t size)
{
    const char *base = strrchr(scenario, '/');
    base = base ? base + 1 : scenario;
    size_t len = strlen(base);
    const char *dot = strrchr(base, '.');
    if (dot && (!strcmp(dot, ".yaml") || !strcmp(dot, ".yml")))
        len = (size_t)(dot - base);
    snprintf(buf, size, "results/%.*s.h5", (int)len, base);
}

/* Threads that share fewer cores than there are threads only slow each
 * other down. It happens under mpirun, which binds a rank to one core when
 * there are at most two ranks: say so. Without --threads or
 * OMP_NUM_THREADS the OpenMP default is the cores of the affinity, so a
 * bound rank would silently run one thread: under an MPI launcher, say so
 * whenever the rank may use fewer cores than the machine has (unless Slurm
 * gave it exactly those, --cpus-per-task). */
static void warn_affinity(long threads)
{
#ifdef CPU_COUNT
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) != 0)
        return;
    int cores = CPU_COUNT(&set);
    const char *env = getenv("OMP_NUM_THREADS");
    int chosen = threads > 0 || (env && *env);
    int want = threads > 0 ? (int)threads : omp_get_max_threads();
    long online = sysconf(_SC_NPROCESSORS_ONLN);
    const char *slurm = getenv("SLURM_CPUS_PER_TASK");
    int mpi = getenv("OMPI_COMM_WORLD_SIZE") || getenv("PMI_SIZE") ||
              getenv("PMIX_RANK");
    if (cores < want)
        fprintf(stderr, "marketsim: warning: %d threads, but this process "
                "may run on only %d core%s (its CPU affinity); under mpirun, "
                "add --bind-to none or give each rank its cores "
                "(docs/CLUSTER.md)\n", want, cores, cores == 1 ? "" : "s");
    else if (!chosen && mpi && online > cores &&
             !(slurm && atoi(slurm) == cores))
        fprintf(stderr, "marketsim: warning: this rank may run on only %d "
                "of the %ld cores here (its CPU affinity), so it runs %d "
                "thread%s; under mpirun, add --bind-to none or give each "
                "rank its cores (--map-by ppr:1:node:PE=N), or set "
                "--threads / OMP_NUM_THREADS to what you mean "
                "(docs/CLUSTER.md)\n", cores, online, want,
                want == 1 ? "" : "s");
#else
    (void)threads;
#endif
}

/* The figure catalogue that a scenario's targets cite:
 * $MARKETSIM_FIGURES if set (set but empty: none), else seeds/figures.yaml
 * in the scenario's folder or the nearest folder above it that has one
 * (the repository the scenario belongs to). 0 when there is none. */
static int find_catalogue(const char *scenario, char *buf, size_t size)
{
    const char *env = getenv("MARKETSIM_FIGURES");
    if (env) {
        snprintf(buf, size, "%s", env);
        return env[0] != '\0';
    }
    char dir[4096];
    if (!realpath(scenario, dir))
        return 0;
    struct stat st;
    for (;;) {
        char *slash = strrchr(dir, '/');
        if (!slash)
            return 0;
        *slash = '\0';
        if ((size_t)snprintf(buf, size, "%s/seeds/figures.yaml", dir) < size &&
            stat(buf, &st) == 0 && S_ISREG(st.st_mode))
            return 1;
        if (!dir[0])
            return 0;
    }
}

/* What a loaded scenario must pass before validate or run accept it: it
 * reads back from its resolved text (so its result file and checkpoints
 * can restart and repeat it), and its targets cite known figures. */
static ms_status check_loaded(const char *path, const ms_scenario *sc)
{
    MS_CALL(ms_scenario_check_round_trip(sc));
    char cat[4200];
    if (ms_scenario_target_count(sc) && find_catalogue(path, cat, sizeof cat))
        MS_CALL(ms_scenario_check_figures(sc, cat));
    return MS_OK;
}

static char *join_argv(int argc, char **argv)
{
    size_t n = 1;
    for (int i = 0; i < argc; i++)
        n += strlen(argv[i]) + 1;
    char *s = ms_malloc(n);
    if (!s)
        return NULL;
    s[0] = '\0';
    for (int i = 0; i < argc; i++) {
        strcat(s, argv[i]);
        if (i + 1 < argc)
            strcat(s, " ");
    }
    return s;
}

static int run_body(int argc, char **argv, int full_argc, char **full_argv);

/* Bytes as a person reads them. */
static void put_bytes_h(FILE *out, double b)
{
    const char *u[] = {"B", "kB", "MB", "GB", "TB", "PB"};
    int k = 0;
    while (b >= 1000 && k < 5) {
        b /= 1000;
        k++;
    }
    fprintf(out, "%.3g %s", b, u[k]);
}

static void put_seconds_h(FILE *out, double s)
{
    if (s < 1e-3)
        fprintf(out, "%.3g us", s * 1e6);
    else if (s < 1)
        fprintf(out, "%.3g ms", s * 1e3);
    else if (s < 7200)
        fprintf(out, "%.3g s", s);
    else
        fprintf(out, "%.3g h", s / 3600);
}

/* `run --dry-run`: what a run needs on `ranks` ranks (rank 0 prints). */
static int dry_run(const char *scenario, const char **sets, int n_sets,
                   int ranks, int threads)
{
    ms_scenario *sc;
    ms_status st = ms_scenario_load(scenario, sets, n_sets, &sc);
    if (st != MS_OK)
        return fail(st);
    if (g_rank != 0) { /* rank 0 measures and prints */
        ms_scenario_destroy(&sc);
        return 0;
    }
    ms_run_estimate e;
    st = ms_run_estimate_cost(sc, ranks, threads, &e);
    ms_scenario_destroy(&sc);
    if (st != MS_OK)
        return fail(st);
    FILE *o = stdout;
    fprintf(o, "scenario       %s: %d markets, %d categories, %d firm "
            "slots, %lld steps\n", scenario, e.markets, e.categories,
            e.firm_slots, (long long)e.steps);
    fprintf(o, "agents         %.0f consumer agents; %d ranks, %.0f agents "
            "on the largest (slices of whole blocks of %d)\n", e.consumers,
            e.ranks, e.consumers_per_rank, e.block_size);
    if (e.consumers > 281474976710656.0) /* 2^48 consumer ids */
        fprintf(o, "               (a run holds at most 2^48 agents: raise "
                "run.people_per_agent)\n");
    fprintf(o, "memory/rank    ");
    put_bytes_h(o, e.bytes_per_rank);
    fprintf(o, " = %.3g B per agent of the slice x %.0f + ", e.bytes_per_consumer,
            e.consumers_per_rank);
    put_bytes_h(o, e.bytes_per_block * e.blocks);
    fprintf(o, " block table (every rank) + ");
    put_bytes_h(o, e.bytes_fixed);
    fprintf(o, " firms, aggregates and count arrays for %d threads "
            "(measured); rank 0 also buffers the run file\n", e.threads);
    fprintf(o, "time/step      ");
    put_seconds_h(o, e.sec_per_step);
    fprintf(o, " on %d ranks of %d threads (the run: ", e.ranks, e.threads);
    put_seconds_h(o, e.sec_per_step * (double)e.steps);
    fprintf(o, ")\n");
    fprintf(o, "  consumers    ");
    put_seconds_h(o, e.sec_per_agent_step * e.consumers_per_rank);
    fprintf(o, " = %.3g ns per agent-step x %.0f agents of the largest "
            "slice\n", e.sec_per_agent_step * 1e9, e.consumers_per_rank);
    fprintf(o, "  firm phases  ");
    put_seconds_h(o, e.sec_other_per_step);
    fprintf(o, " (every rank runs them; they do not grow with agents)\n");
    fprintf(o, "  sum of counts ");
    put_seconds_h(o, e.sec_comm_per_step);
    fprintf(o, " = %.0f integers (M*C*(F+1)) over %d ranks\n",
            e.comm_ints, e.ranks);
    fprintf(o, "how            measured here: a sample of %.0f agents "
            "(people_per_agent scaled, the same rates per agent) ran the "
            "first %d steps with %d threads; the consumer phase scales with "
            "the agents of a slice, the firm phases not; the sum is "
            "modelled as an allreduce of 2 log2(K) messages of %.3g us and "
            "twice its bytes at %.3g GB/s. Later steps with more events "
            "(adoption, churn) cost more per agent; a cluster core may be "
            "faster or slower than this one (docs/CLUSTER.md)\n",
            e.sample_consumers, e.sample_steps, e.threads,
            e.net_latency * 1e6, e.net_bandwidth / 1e9);
    return 0;
}

/* `marketsim run`, also as one run over the ranks of mpirun (each rank
 * holds a slice of the consumers; rank 0 checks, locks and writes the
 * file, and reports). */
static int cmd_run(int argc, char **argv, int full_argc, char **full_argv)
{
    if (want_help(argc, argv)) {
        fputs(run_help, stdout);
        return 0;
    }
    ms_status st = ms_par_init(&full_argc, &full_argv);
    if (st != MS_OK)
        return fail(st);
    g_rank = ms_par_rank();
    int code = run_body(argc, argv, full_argc, full_argv);
    ms_par_finalize();
    return code;
}

static int run_body(int argc, char **argv, int full_argc, char **full_argv)
{
    const int ranks = ms_par_size(), rank = ms_par_rank();
    const char *scenario = NULL;
    const char *sets[MAX_SETS];
    char seedset[64];
    int n_sets = 0, check = 0, check_targets = 0, dry = 0;
    long ckpt_every = 0, dry_ranks = 0;
    const char *restart = NULL;
    common_opts co = {0};
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        const char *next = i + 1 < argc ? argv[i + 1] : NULL;
        int c = common_opt(argc, argv, &i, &co);
        if (c < 0)
            return 2;
        if (c)
            continue;
        if (!strcmp(a, "--set")) {
            if (!next)
                return usage_error("%s needs KEY=VALUE", a);
            if (n_sets >= MAX_SETS - 1)
                return usage_error("too many %s options", a);
            sets[n_sets++] = next;
            i++;
        } else if (!strcmp(a, "--seed")) {
            char *end;
            errno = 0;
            if (!next || !isdigit((unsigned char)next[0]) ||
                (strtoull(next, &end, 10), errno || *end))
                return usage_error("%s needs a whole number in [0, 2^64-1]",
                                   a);
            if (n_sets >= MAX_SETS - 1)
                return usage_error("too many %s options", a);
            snprintf(seedset, sizeof seedset, "run.seed=%s", next);
            sets[n_sets++] = seedset;
            i++;
        } else if (!strcmp(a, "--check")) {
            check = 1;
        } else if (!strcmp(a, "--check-targets")) {
            check_targets = 1;
        } else if (!strcmp(a, "--checkpoint-every")) {
            if (!take_int(a, next, &ckpt_every) || ckpt_every < 1)
                return usage_error("%s needs a number of steps >= 1", a);
            i++;
        } else if (!strcmp(a, "--restart")) {
            if (!next)
                return usage_error("%s needs a checkpoint file", a);
            restart = next;
            i++;
        } else if (!strcmp(a, "--dry-run")) {
            dry = 1;
        } else if (!strcmp(a, "--ranks")) {
            if (!take_int(a, next, &dry_ranks) || dry_ranks < 1 ||
                dry_ranks > 1L << 24)
                return usage_error("%s needs a number of MPI ranks, 1 to "
                                   "16777216 (with --dry-run)", a);
            i++;
        } else if (positional("run", "scenario", a, &scenario)) {
            return 2;
        }
    }
    const char *out = co.out;
    const int quiet = co.quiet || rank != 0;
    const long threads = co.threads;
    if (restart && (scenario || n_sets))
        return usage_error("%s", "run --restart: the checkpoint holds the "
                                 "scenario; give no SCENARIO, --set or --seed");
    if (!scenario && !restart)
        return usage_error("%s", "run: which scenario? e.g. marketsim run "
                                 "scenarios/default.yaml");
    if (dry_ranks && !dry)
        return usage_error("%s", "run: --ranks K sizes a run with "
                                 "--dry-run; a real run has the ranks "
                                 "mpirun -n K starts");
    if (dry && restart)
        return usage_error("%s", "run: --dry-run sizes a SCENARIO, not a "
                                 "--restart");
    /* Each rank holds 1/K of the consumers: size the check so. */
    ms_scenario_set_ranks(dry && dry_ranks ? (int)dry_ranks : ranks);
    if (dry)
        return dry_run(scenario, sets, n_sets,
                       dry_ranks ? (int)dry_ranks : ranks, (int)threads);
    ms_scenario *sc;
    char outbuf[4096];
    ms_status st;
    int64_t restart_at = 0;
    if (restart) {
        if (regular_input(restart))
            return 2;
        int64_t at;
        st = ms_run_checkpoint_scenario(restart, &sc, outbuf, sizeof outbuf,
                                        &at);
        restart_at = at;
        if (st != MS_OK)
            return fail(st);
        if (!out)
            out = outbuf;
        if (!quiet)
            fprintf(stderr, "marketsim: continuing %s from step %lld\n", out,
                    (long long)at);
    } else {
        st = ms_scenario_load(scenario, sets, n_sets, &sc);
        if (st != MS_OK)
            return fail(st);
        if ((st = check_loaded(scenario, sc)) != MS_OK) {
            ms_scenario_destroy(&sc);
            return fail(st);
        }
        if (!out) {
            default_output(scenario, outbuf, sizeof outbuf);
            out = outbuf;
        }
    }
    /* Before anything is created: every file the run writes can be
     * written (docs/OUTPUT.md), and no other process writes them. The
     * checkpoint continued is the one input that OUT.ckpt may be. Under
     * mpirun rank 0 checks and locks; the others learn how that went. */
    const char *inputs[] = {restart ? restart : scenario, NULL};
    static const char *const run_files[] = {"", ".partial", ".lock",
                                            ".ckpt.partial", NULL};
    static const char *const ckpt_file[] = {".ckpt", NULL};
    char ckpt[4200];
    snprintf(ckpt, sizeof ckpt, "%s.ckpt", out);
    ms_path_lock *lock = NULL;
    char *command = NULL;
    int code = 0;
    if (rank == 0) {
        st = ms_path_check_output("-o", out, run_files, inputs);
        if (st == MS_OK)
            st = ms_path_check_output("-o", out, ckpt_file,
                                      restart ? NULL : inputs);
        if (st == MS_OK && mkdir_parent(out) != 0)
            st = MS_ERROR(MS_EIO, "cannot create the folder of %s: %s", out,
                          strerror(errno));
        if (st == MS_OK)
            st = ms_path_lock_take("-o", out, &lock);
        struct stat cs;
        if (st == MS_OK && restart && stat(restart, &cs) != 0)
            st = MS_ERROR(MS_EINPUT, "%s: error: the checkpoint is gone: "
                          "another marketsim continued it meanwhile and "
                          "completed the run; nothing is left to continue",
                          restart);
        if (st != MS_OK)
            code = fail(st);
    }
    if (ranks > 1)
        code = ms_par_bcast_int(code);
    if (code == 0 && !(command = join_argv(full_argc, full_argv)))
        code = fail(MS_ERROR(MS_ENOMEM, "out of memory"));
    if (code != 0) {
        ms_path_lock_release(&lock);
        ms_scenario_destroy(&sc);
        return code;
    }
    if (!quiet)
        warn_affinity(threads);
    ms_progress prog;
    ms_progress_init(&prog, "steps", quiet);
    if (restart)
        ms_progress_from(&prog, restart_at);
    install_signals();
    double targets[256];
    ms_run_opts op = {.out_path = out, .threads = (int)threads,
                      .check = check, .command = command,
                      .progress = ms_progress_update, .progress_ctx = &prog,
                      .stop = &stop_flag, .checkpoint_every = ckpt_every,
                      .checkpoint_path = ckpt, .restart_path = restart,
                      .distributed = ranks > 1};
    if (ms_scenario_target_count(sc) <= 256)
        op.targets_out = targets;
    ms_run_result res;
    st = ms_run(sc, &op, &res);
    ms_path_lock_release(&lock);
    if (st == MS_OK && res.n_targets && op.targets_out && rank == 0 &&
        (!quiet || check_targets))
        ms_targets_print(sc, targets, stdout);
    ms_progress_end(&prog);
    ms_free(command);
    ms_scenario_destroy(&sc);
    if (st == MS_OK && check_targets && res.n_missed) {
        if (rank == 0)
            fprintf(stderr, "marketsim: %d of %d targets missed "
                    "(--check-targets)\n", res.n_missed, res.n_targets);
        return 1;
    }
    if (rank != 0) /* rank 0 reports, but for this rank's own failures */
        return st == MS_OK ? 0 : fail(st);
    if (st == MS_EINTERRUPT && res.kept_partial) {
        fprintf(stderr, "marketsim: interrupted after %lld steps; %s.partial "
                "holds them (status 'interrupted'), beside the earlier %s, "
                "which is untouched; continue with: marketsim run --restart "
                "%s\n", (long long)res.steps_done, out, out, ckpt);
        return 1;
    }
    if (st == MS_EINTERRUPT) {
        fprintf(stderr, "marketsim: interrupted after %lld steps; %s holds "
                "them (status 'interrupted'); continue with: marketsim run "
                "--restart %s\n", (long long)res.steps_done, out, ckpt);
        return 1;
    }
    if (st != MS_OK) {
        code = fail(st);
        if (st == MS_ECHECK)
            fprintf(stderr, "marketsim: %s is kept with status "
                    "'check_failed' for inspection\n", out);
        return code;
    }
    if (!quiet) {
        double tot = 0;
        for (int i = 0; i < res.n_phases; i++)
            tot += res.phase_seconds[i];
        fprintf(stderr, "marketsim: %lld steps, %llu consumer agents, "
                "%.2f s; phases:", (long long)res.steps_done,
                (unsigned long long)res.consumers, res.wall_seconds);
        for (int i = 0; i < res.n_phases; i++)
            fprintf(stderr, " %s %.1f%%", res.phase_name[i],
                    tot > 0 ? 100 * res.phase_seconds[i] / tot : 0.0);
        fprintf(stderr, "\n");
        printf("results: %s\n", out);
        ms_status pst = ms_info_print(out, stdout, 1);
        if (pst != MS_OK)
            return fail(pst); /* the file is complete; only the summary failed */
        printf("(marketsim info %s for everything it holds)\n", out);
    }
    return 0;
}

static int cmd_validate(int argc, char **argv)
{
    if (want_help(argc, argv)) {
        fputs(validate_help, stdout);
        return 0;
    }
    const char *files[256], *sets[MAX_SETS];
    int nf = 0, n_sets = 0, quiet = 0;
    for (int i = 0; i < argc; i++) {
        if (!strcmp(argv[i], "--set")) {
            if (i + 1 >= argc)
                return usage_error("%s needs KEY=VALUE", argv[i]);
            if (n_sets >= MAX_SETS)
                return usage_error("too many %s options", argv[i]);
            sets[n_sets++] = argv[++i];
        } else if (!strcmp(argv[i], "-q") || !strcmp(argv[i], "--quiet")) {
            quiet = 1;
        } else if (argv[i][0] == '-' && argv[i][1]) {
            return usage_error("validate: unknown option %s", argv[i]);
        } else if (nf < 256) {
            files[nf++] = argv[i];
        }
    }
    if (!nf)
        return usage_error("%s", "validate: which scenario files?");
    int worst = 0;
    for (int i = 0; i < nf; i++) {
        ms_scenario *sc;
        ms_status st = ms_scenario_load(files[i], sets, n_sets, &sc);
        if (st != MS_OK) {
            int code = fail(st);
            if (code > worst)
                worst = code;
            continue;
        }
        char *yaml = NULL;
        st = check_loaded(files[i], sc);
        if (st == MS_OK)
            st = ms_scenario_to_yaml(sc, &yaml);
        ms_scenario_destroy(&sc);
        if (st != MS_OK) {
            int code = fail(st);
            if (code > worst)
                worst = code;
            continue;
        }
        if (!quiet)
            printf("%s%s", nf > 1 ? "---\n" : "", yaml);
        ms_free(yaml);
        fprintf(stderr, "%s: ok\n", files[i]);
    }
    return worst;
}

static int cmd_info(int argc, char **argv)
{
    if (want_help(argc, argv)) {
        fputs(info_help, stdout);
        return 0;
    }
    if (argc != 1)
        return usage_error("%s", "info: give one result file");
    if (regular_input(argv[0]))
        return 2;
    /* The file's names and texts go to the terminal escaped (a crafted
     * file could hold control characters): printed to memory first. */
    char *text = NULL;
    size_t len = 0;
    FILE *mem = open_memstream(&text, &len);
    if (!mem)
        return fail(MS_ERROR(MS_ENOMEM, "out of memory"));
    ms_status st = ms_info_print(argv[0], mem, 0);
    fclose(mem);
    if (text)
        put_safe(stdout, text);
    free(text);
    return st == MS_OK ? 0 : fail(st);
}

static int cmd_export(int argc, char **argv)
{
    if (want_help(argc, argv)) {
        fputs(export_help, stdout);
        return 0;
    }
    const char *file = NULL, *dir = NULL;
    for (int i = 0; i < argc; i++) {
        if (!strcmp(argv[i], "--csv")) {
            if (i + 1 >= argc)
                return usage_error("%s needs a folder, e.g. --csv results/csv",
                                   argv[i]);
            dir = argv[++i];
        } else {
            int rc = positional("export", "result file", argv[i], &file);
            if (rc)
                return rc;
        }
    }
    if (!file || !dir)
        return usage_error("%s", "export: give a result file and --csv DIR, "
                           "e.g. marketsim export results/default.h5 --csv "
                           "results/default-csv");
    if (regular_input(file))
        return 2;
    ms_status st = ms_path_check_dir("--csv", dir);
    if (st == MS_OK)
        st = ms_export_csv(file, dir, stdout);
    return st == MS_OK ? 0 : fail(st);
}

static int parse_shard(const char *v, int *i, int *n)
{
    char *end;
    long a = strtol(v ? v : "", &end, 10);
    if (!v || end == v || *end != '/')
        return 0;
    const char *q = end + 1;
    long b = strtol(q, &end, 10);
    if (end == q || *end || b < 1 || a < 1 || a > b || b > 1000000)
        return 0;
    *i = (int)a;
    *n = (int)b;
    return 1;
}

static int cmd_sweep(int argc, char **argv, int full_argc, char **full_argv)
{
    if (want_help(argc, argv)) {
        fputs(sweep_help, stdout);
        return 0;
    }
    const char *path = NULL;
    int resume = 0, dry = 0, si = 1, sn = 1;
    common_opts co = {0};
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i], *next = i + 1 < argc ? argv[i + 1] : NULL;
        int c = common_opt(argc, argv, &i, &co);
        if (c < 0)
            return 2;
        if (c)
            continue;
        if (!strcmp(a, "--resume")) {
            resume = 1;
        } else if (!strcmp(a, "--dry-run")) {
            dry = 1;
        } else if (!strcmp(a, "--shard")) {
            if (!parse_shard(next, &si, &sn))
                return usage_error("%s needs I/N with 1 <= I <= N, e.g. "
                                   "--shard 2/8", a);
            i++;
        } else if (positional("sweep", "sweep file", a, &path)) {
            return 2;
        }
    }
    const char *out = co.out;
    const int quiet = co.quiet;
    const long threads = co.threads;
    if (!path)
        return usage_error("%s", "sweep: which sweep file? e.g. marketsim "
                                 "sweep scenarios/sweeps/openness.yaml");
    if (resume && out && regular_input(out))
        return 2;
    ms_status st = ms_par_init(&full_argc, &full_argv);
    if (st != MS_OK)
        return fail(st);
    const int rank = ms_par_rank();
    ms_sweep *s;
    st = ms_sweep_load(path, &s);
    if (st != MS_OK) {
        int code = rank == 0 ? fail(st) : ms_status_exit_code(st);
        ms_par_finalize();
        return code;
    }
    if (rank == 0 && !quiet && !dry &&
        ms_sweep_points_checked(s) < ms_sweep_points(s))
        fprintf(stderr, "marketsim: checked points 0 to %lld of %lld before "
                "starting; a later point that would not start is recorded as "
                "a failed run (/runs/status 2, with its message)\n",
                (long long)ms_sweep_points_checked(s) - 1,
                (long long)ms_sweep_points(s));
    if (dry) {
        st = rank == 0 ? ms_sweep_describe(s, si, sn, stdout) : MS_OK;
        ms_sweep_destroy(&s);
        ms_par_finalize();
        return st == MS_OK ? 0 : fail(st);
    }
    char outbuf[4096];
    if (!out) {
        default_output(path, outbuf, sizeof outbuf);
        out = outbuf;
    }
    /* Rank 0 writes the file: it checks the path and becomes its one
     * writer before anything is created; the other ranks learn whether
     * that worked. */
    ms_path_lock *lock = NULL;
    if (rank == 0) {
        const char *inputs[] = {path, ms_sweep_scenario_file(s), NULL};
        static const char *const sweep_files[] = {"", ".partial", ".lock",
                                                  NULL};
        st = ms_path_check_output("-o", out, sweep_files, inputs);
        if (st == MS_OK && mkdir_parent(out) != 0)
            st = MS_ERROR(MS_EIO, "cannot create the folder of %s: %s", out,
                          strerror(errno));
        if (st == MS_OK)
            st = ms_path_lock_take("-o", out, &lock);
    }
    if (!ms_par_bcast_int(st == MS_OK)) {
        int code = rank == 0 ? fail(st) : 2;
        ms_sweep_destroy(&s);
        ms_par_finalize();
        return code;
    }
    char *command = join_argv(full_argc, full_argv);
    if (!command) {
        ms_path_lock_release(&lock);
        ms_sweep_destroy(&s);
        ms_par_finalize();
        return fail(MS_ERROR(MS_ENOMEM, "out of memory"));
    }
    if (!quiet && (rank != 0 || ms_par_size() == 1))
        warn_affinity(threads); /* rank 0 of several only hands out runs */
    ms_progress prog;
    ms_progress_init(&prog, "runs", quiet || rank != 0);
    install_signals();
    ms_sweep_opts op = {.out_path = out, .resume = resume, .shard_i = si,
                        .shard_n = sn, .threads = (int)threads,
                        .command = command, .progress = ms_progress_update,
                        .progress_ctx = &prog, .stop = &stop_flag};
    ms_sweep_result res;
    st = ms_sweep_execute(s, &op, &res);
    ms_path_lock_release(&lock);
    ms_progress_end(&prog);
    ms_free(command);
    ms_sweep_destroy(&s);
    ms_par_finalize();
    if (rank != 0)
        return ms_status_exit_code(st);
    if (st != MS_OK)
        return fail(st);
    if (!quiet)
        fprintf(stderr, "marketsim: %lld of %lld runs done here (%lld failed) "
                "in %.1f s with %d rank%s\n", (long long)res.done,
                (long long)res.todo, (long long)res.failed, res.wall_seconds,
                res.ranks, res.ranks > 1 ? "s" : "");
    printf("results: %s\n", out);
    if (res.interrupted) {
        fprintf(stderr, "marketsim: interrupted; the finished runs are in "
                "%s; continue with --resume\n", out);
        return 1;
    }
    if (res.failed > 0) {
        fprintf(stderr, "marketsim: %lld runs failed; their messages are in "
                "/runs/message (marketsim info %s)\n", (long long)res.failed,
                out);
        return 1;
    }
    return 0;
}

static int cmd_merge(int argc, char **argv)
{
    if (want_help(argc, argv)) {
        fputs(merge_help, stdout);
        return 0;
    }
    const char *out = NULL, *in[4097];
    int n = 0, quiet = 0;
    for (int i = 0; i < argc; i++) {
        if (!strcmp(argv[i], "-o") || !strcmp(argv[i], "--output")) {
            if (i + 1 >= argc)
                return usage_error("%s needs a file name", argv[i]);
            out = argv[++i];
        } else if (!strcmp(argv[i], "-q") || !strcmp(argv[i], "--quiet")) {
            quiet = 1;
        } else if (argv[i][0] == '-' && argv[i][1]) {
            return usage_error("merge: unknown option %s", argv[i]);
        } else if (n < 4096) {
            in[n++] = argv[i];
        }
    }
    if (!out || !n)
        return usage_error("%s", "merge: give the shard files and -o OUT.h5");
    for (int i = 0; i < n; i++)
        if (regular_input(in[i]))
            return 2;
    in[n] = NULL;
    static const char *const merge_files[] = {"", ".partial", ".lock", NULL};
    ms_path_lock *lock = NULL;
    ms_status st = ms_path_check_output("-o", out, merge_files, in);
    if (st == MS_OK)
        st = ms_path_lock_take("-o", out, &lock);
    ms_sweep_result res;
    if (st == MS_OK)
        st = ms_sweep_merge(in, n, out, &res);
    ms_path_lock_release(&lock);
    if (st != MS_OK)
        return fail(st);
    if (!quiet)
        printf("merged %d files into %s: %lld of %lld runs done, %lld "
               "failed\n", n, out, (long long)res.done, (long long)res.runs,
               (long long)res.failed);
    return 0;
}

static int cmd_analyze(int argc, char **argv)
{
    if (want_help(argc, argv)) {
        fputs(analyze_help, stdout);
        return 0;
    }
    ms_analyze_opts o;
    ms_analyze_defaults(&o);
    const char *path = NULL;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        const char *val = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--output")) {
            if (!val)
                return usage_error("%s needs an output name, e.g. adopters or "
                                   "adopters[CN,*]", a);
            if (o.n_select >= MS_ANALYZE_MAX_SEL)
                return usage_error("too many %s options", a);
            o.select[o.n_select++] = argv[++i];
        } else if (!strcmp(a, "--at")) {
            if (!val)
                return usage_error("%s needs years, e.g. --at 2030,2035", a);
            char buf[4096];
            snprintf(buf, sizeof buf, "%s", argv[++i]);
            char *save = NULL;
            for (char *t = strtok_r(buf, ",", &save); t;
                 t = strtok_r(NULL, ",", &save)) {
                char *end;
                errno = 0;
                double y = strtod(t, &end);
                if (end == t || *end || errno || !(y > -1e6 && y < 1e6))
                    return usage_error("--at needs years like 2030 or "
                                       "2030.5, separated by commas; got %s",
                                       argv[i]);
                if (o.n_at >= MS_ANALYZE_MAX_AT)
                    return usage_error("--at: at most 64 times (got %s)",
                                       argv[i]);
                o.at[o.n_at++] = y;
            }
        } else if (!strcmp(a, "--resamples")) {
            long n;
            if (!take_int(a, val, &n))
                return 2;
            if (n > 1000000)
                return usage_error("%s needs a whole number in [0, 1000000]",
                                   a);
            o.resamples = (int)n;
            i++;
        } else if (!strcmp(a, "--confidence")) {
            char *end;
            double c = val ? strtod(val, &end) : 0;
            if (!val || *end || !(c > 0 && c < 1))
                return usage_error("%s needs a level in (0, 1), e.g. 0.95", a);
            o.conf = c;
            i++;
        } else if (!strcmp(a, "--seed")) {
            char *end;
            errno = 0;
            unsigned long long v = val ? strtoull(val, &end, 10) : 0;
            if (!val || !isdigit((unsigned char)val[0]) || *end || errno)
                return usage_error("%s needs a whole number in [0, 2^64-1]", a);
            o.seed = v;
            i++;
        } else if (!strcmp(a, "-o") || !strcmp(a, "--write-to")) {
            if (!val)
                return usage_error("%s needs a file name", a);
            o.out_path = argv[++i];
        } else if (!strcmp(a, "--no-write")) {
            o.write = 0;
        } else if (!strcmp(a, "-q") || !strcmp(a, "--quiet")) {
            o.quiet = 1;
        } else if (positional("analyze", "sweep file", a, &path)) {
            return 2;
        }
    }
    if (!path)
        return usage_error("%s", "analyze: which sweep file? e.g. marketsim "
                           "analyze results/study.h5");
    if (regular_input(path))
        return 2;
    /* One writer at a time: a sweep still running (or another analyze)
     * holds the lock of the file. */
    ms_path_lock *lock = NULL, *lock2 = NULL;
    ms_status st = MS_OK;
    if (o.write)
        st = ms_path_lock_take("SWEEP.h5", path, &lock);
    if (st == MS_OK && o.write && o.out_path) {
        static const char *const files[] = {"", ".analyze.partial", ".lock",
                                            NULL};
        const char *in[2] = {path, NULL};
        st = ms_path_check_output("-o", o.out_path, files, in);
        if (st == MS_OK)
            st = ms_path_lock_take("-o", o.out_path, &lock2);
    }
    if (st == MS_OK)
        st = ms_analyze(path, &o, stdout);
    ms_path_lock_release(&lock2);
    ms_path_lock_release(&lock);
    return st == MS_OK ? 0 : fail(st);
}

static int cmd_calibrate(int argc, char **argv)
{
    if (want_help(argc, argv)) {
        fputs(calibrate_help, stdout);
        return 0;
    }
    const char *path = NULL, *json = NULL;
    ms_cal_free frees[MS_CAL_MAX_FREE];
    int n = 0, in_place = 0, no_fit = 0;
    long reps = 4, iters = 60, starts = 0, refine = 3;
    double level = 0.95;
    ms_cal_interval interval = MS_CAL_PROFILE;
    common_opts co = {0};
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i], *next = i + 1 < argc ? argv[i + 1] : NULL;
        int c = common_opt(argc, argv, &i, &co);
        if (c < 0)
            return 2;
        if (c)
            continue;
        if (!strcmp(a, "--free")) {
            if (!next)
                return usage_error("%s needs KEY=LO:HI", a);
            if (n >= MS_CAL_MAX_FREE)
                return usage_error("at most 16 %s parameters", a);
            ms_status st = ms_cal_parse_free(next, &frees[n++]);
            if (st != MS_OK)
                return fail(st);
            i++;
        } else if (!strcmp(a, "--reps")) {
            if (!take_int(a, next, &reps))
                return 2;
            if (reps < 2)
                return usage_error("%s: give 2 or more (each target is "
                                   "weighted by its variance across the "
                                   "replications)", a);
            i++;
        } else if (!strcmp(a, "--iters")) {
            if (!take_int(a, next, &iters))
                return 2;
            i++;
        } else if (!strcmp(a, "--starts") || !strcmp(a, "--refine")) {
            long *v = a[2] == 's' ? &starts : &refine;
            if (!take_int(a, next, v))
                return 2;
            if (*v < 1 || *v > 1000)
                return usage_error("%s: give 1 to 1000", a);
            i++;
        } else if (!strcmp(a, "--intervals")) {
            if (!next)
                return usage_error("%s needs profile, wald or none", a);
            if (!strcmp(next, "profile"))
                interval = MS_CAL_PROFILE;
            else if (!strcmp(next, "wald"))
                interval = MS_CAL_WALD;
            else if (!strcmp(next, "none"))
                interval = MS_CAL_NONE;
            else
                return usage_error("--intervals %s: give profile, wald or "
                                   "none", next);
            i++;
        } else if (!strcmp(a, "--level")) {
            char *end;
            if (next)
                level = strtod(next, &end);
            if (!next || end == next || *end || !(level > 0 && level < 1))
                return usage_error("%s: give a confidence level between 0 "
                                   "and 1, e.g. --level 0.95", a);
            i++;
        } else if (!strcmp(a, "--json")) {
            if (!next)
                return usage_error("%s needs a file name", a);
            json = next;
            i++;
        } else if (!strcmp(a, "--no-fit")) {
            no_fit = 1;
        } else if (!strcmp(a, "--in-place")) {
            in_place = 1;
        } else if (positional("calibrate", "scenario", a, &path)) {
            return 2;
        }
    }
    const char *out = co.out;
    const int quiet = co.quiet;
    const long threads = co.threads;
    if (!path || !n)
        return usage_error("%s", "calibrate: give a scenario and at least one "
                                 "--free KEY=LO:HI");
    if (no_fit && (out || in_place))
        return usage_error("%s", "calibrate --no-fit writes no scenario: drop "
                                 "-o and --in-place (use --json FILE)");
    char outbuf[4096];
    if (in_place) {
        out = path;
    } else if (!out) {
        size_t len = strlen(path);
        const char *dot = strrchr(path, '.');
        if (dot && (!strcmp(dot, ".yaml") || !strcmp(dot, ".yml")))
            len = (size_t)(dot - path);
        snprintf(outbuf, sizeof outbuf, "%.*s.calibrated.yaml", (int)len, path);
        out = outbuf;
    }
    const char *cal_inputs[] = {in_place ? NULL : path, NULL};
    if (!no_fit) {
        ms_status pst = ms_path_check_output(in_place ? "--in-place" : "-o",
                                             out, NULL, cal_inputs);
        if (pst != MS_OK)
            return fail(pst);
    }
    if (json) {
        const char *json_inputs[] = {path, NULL};
        ms_status pst = ms_path_check_output("--json", json, NULL, json_inputs);
        if (pst != MS_OK)
            return fail(pst);
    }
    ms_cal_opts o = {.reps = (int)reps, .max_iter = (int)iters,
                     .size_tol = 0.01, .threads = (int)threads, .quiet = quiet,
                     .log = stderr, .starts = (int)starts,
                     .refine = (int)refine, .interval = interval,
                     .level = level, .no_fit = no_fit};
    ms_cal_result res;
    install_signals();
    ms_status st = ms_calibrate(path, frees, n, &o, &res);
    if (st != MS_OK)
        return fail(st);
    ms_cal_print(stdout, frees, n, &res, &o);
    if (json)
        st = ms_cal_write_json(path, frees, n, &res, &o, json);
    if (st == MS_OK && !no_fit)
        st = ms_cal_write(path, frees, n, &res, &o, out);
    ms_cal_result_free(&res);
    if (st != MS_OK)
        return fail(st);
    if (json)
        printf("calibration record: %s\n", json);
    if (!no_fit)
        printf("calibrated scenario: %s\n", out);
    return 0;
}

static int cmd_params(int argc, char **argv)
{
    if (want_help(argc, argv)) {
        fputs(params_help, stdout);
        return 0;
    }
    int md = argc == 1 && !strcmp(argv[0], "--markdown");
    if (argc > 1 || (argc == 1 && !md))
        return usage_error("params: unknown argument %s", argv[0]);
    ms_params_print(stdout, md);
    return 0;
}

/* With MARKETSIM_ALLOC_REPORT set, say at exit how many allocations the
 * command made (the fault-injection test walks MARKETSIM_FAIL_ALLOC over
 * them) and how many bytes are still allocated (0 unless something
 * leaked). */
static void alloc_report(void)
{
    fprintf(stderr, "marketsim: %lu allocations, %zu bytes live at exit\n",
            ms_alloc_count(), ms_alloc_live_bytes());
}

static int dispatch(int argc, char **argv);

int main(int argc, char **argv)
{
    ms_error_install_gsl_handler();
    ms_alloc_init_from_env();
    int code = dispatch(argc, argv);
    if (getenv("MARKETSIM_ALLOC_REPORT"))
        alloc_report();
    return code;
}

static int dispatch(int argc, char **argv)
{
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") ||
        !strcmp(argv[1], "help")) {
        fputs(main_help, argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    if (!strcmp(argv[1], "--version")) {
        printf("marketsim %s (commit %s; MPI sweeps: %s)\n", MS_VERSION,
               MS_GIT_COMMIT, ms_par_available() ? "yes" : "no");
        return 0;
    }
    const char *cmd = argv[1];
    if (!strcmp(cmd, "run"))
        return cmd_run(argc - 2, argv + 2, argc, argv);
    if (!strcmp(cmd, "validate"))
        return cmd_validate(argc - 2, argv + 2);
    if (!strcmp(cmd, "info"))
        return cmd_info(argc - 2, argv + 2);
    if (!strcmp(cmd, "sweep"))
        return cmd_sweep(argc - 2, argv + 2, argc, argv);
    if (!strcmp(cmd, "merge"))
        return cmd_merge(argc - 2, argv + 2);
    if (!strcmp(cmd, "analyze"))
        return cmd_analyze(argc - 2, argv + 2);
    if (!strcmp(cmd, "calibrate"))
        return cmd_calibrate(argc - 2, argv + 2);
    if (!strcmp(cmd, "params"))
        return cmd_params(argc - 2, argv + 2);
    if (!strcmp(cmd, "export"))
        return cmd_export(argc - 2, argv + 2);
    return usage_error("unknown command '%s'", cmd);
}
