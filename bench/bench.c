/*
 * bench.c: the harness behind `make bench`.
 *
 *   msbench SCENARIO [--set KEY=VALUE]... [--reps R] [--scale] [--big]
 *           [--marketsim PATH] [--peer COMMAND]
 *
 * Times the step loop alone (setup and output excluded) with 1 and with 2
 * threads, alternating the two R times (default 3) so both see the same
 * machine load, and reports the medians: consumer-category-steps per
 * second, the speed-up from 1 to 2 threads, and memory per consumer
 * (consumer state, engine bytes from the allocation counter, and the
 * growth of the peak resident set while the world is built).
 *
 * --scale   also: time per consumer-category-step as N grows (1e5, 1e6,
 *           1e7 consumers; 1e8 with --big) and as the churn rate grows
 *           (0.1 to 5 per year), 2 threads, so that cost per event rather
 *           than per agent shows.
 * --peer    whole processes, one thread each, alternated R times:
 *           `PATH run SCENARIO --threads 1` (PATH from --marketsim) against
 *           COMMAND (run by /bin/sh), and the median ratio of their wall
 *           times. For example the numpy implementation of the benchmark's
 *           model: --peer '/usr/bin/python3 numpy_consumers.py 1e6 120 1'.
 *           When COMMAND prints "consumer-category-steps/s: X" (its own
 *           stepping loop, as that peer does), the step loop's throughputs
 *           of this run are also given as multiples of X.
 * The machine may be shared: ratios measured in one run are what to read.
 */
#include "core/world_int.h"

#include "marketsim/ms_alloc.h"
#include "marketsim/ms_scenario.h"
#include "marketsim/ms_world.h"

#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>

static double cpu_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static long peak_rss_kb(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double run_once(const ms_scenario *sc, int threads, double *phase,
                       int *np)
{
    ms_world *w;
    if (ms_world_create(sc, threads, &w) != MS_OK) {
        fprintf(stderr, "msbench: %s\n", ms_error_message());
        exit(1);
    }
    double t0 = omp_get_wtime(), c0 = cpu_now();
    for (int64_t s = 0; s < sc->run.steps; s++)
        if (ms_world_step(w) != MS_OK) {
            fprintf(stderr, "msbench: %s\n", ms_error_message());
            exit(1);
        }
    double t = omp_get_wtime() - t0;
    if (getenv("MSBENCH_CPU"))
        fprintf(stderr, "cpu %.3f s wall %.3f s (%d threads)\n",
                cpu_now() - c0, t, threads);
    *np = ms_world_phase_count();
    for (int i = 0; i < *np; i++)
        phase[i] = ms_world_phase_seconds(w, i);
    ms_world_destroy(&w);
    return t;
}

/* Step-loop seconds of the scenario with extra settings, 2 threads. */
static double timed(const char *path, const char **sets, int n_sets,
                    const char *extra1, const char *extra2, double *N)
{
    const char *all[64];
    int n = 0;
    for (int i = 0; i < n_sets; i++)
        all[n++] = sets[i];
    if (extra1)
        all[n++] = extra1;
    if (extra2)
        all[n++] = extra2;
    ms_scenario *sc;
    if (ms_scenario_load(path, all, n, &sc) != MS_OK) {
        fprintf(stderr, "%s\n", ms_error_message());
        exit(2);
    }
    double ph[16];
    int np;
    ms_world *w;
    if (ms_world_create(sc, 2, &w) != MS_OK) {
        fprintf(stderr, "msbench: %s\n", ms_error_message());
        exit(1);
    }
    *N = (double)ms_world_consumers(w) * sc->n_categories *
         (double)sc->run.steps;
    ms_world_destroy(&w);
    double t = run_once(sc, 2, ph, &np);
    ms_scenario_destroy(&sc);
    return t;
}

/* How time grows with N and with the churn rate (2 threads). */
static void scaling(const char *path, const char **sets, int n_sets,
                    const ms_scenario *sc, int big)
{
    double pop = 0;
    for (int m = 0; m < sc->n_markets; m++)
        pop += sc->markets[m].population;
    printf("scaling with N (2 threads, one run each)\n");
    const double Ns[] = {1e5, 1e6, 1e7, 1e8};
    for (int k = 0; k < (big ? 4 : 3); k++) {
        char ppa[64];
        snprintf(ppa, sizeof ppa, "run.people_per_agent=%.17g", pop / Ns[k]);
        double work, t = timed(path, sets, n_sets, ppa, NULL, &work);
        printf("  N %8.0e  %8.3f s  %.3g consumer-category-steps/s  %.2f ns "
               "each\n", Ns[k], t, work / t, 1e9 * t / work);
    }
    printf("scaling with the churn rate (every category; 2 threads)\n");
    const double chi[] = {0.1, 0.5, 1, 2, 5};
    for (int k = 0; k < 5; k++) {
        char set[64 * 8], *sp = set;
        const char *ex[8];
        int ne = 0;
        for (int c = 0; c < sc->n_categories && c < 2; c++) {
            snprintf(sp, 64, "categories.%s.churn=%g", sc->categories[c].name,
                     chi[k]);
            ex[ne++] = sp;
            sp += 64;
        }
        double work, t = timed(path, sets, n_sets, ne > 0 ? ex[0] : NULL,
                               ne > 1 ? ex[1] : NULL, &work);
        /* Re-evaluations per consumer-category-step once most have
         * adopted: 1 - exp(-chi dt). */
        printf("  churn %4.1f/yr (%.4f per step)  %8.3f s  %.3g "
               "consumer-category-steps/s  %.2f ns each\n", chi[k],
               -expm1(-chi[k] * sc->run.dt), t, work / t, 1e9 * t / work);
    }
}

/* Wall time of a command (run by /bin/sh; a failure ends msbench),
 * whose output is read: *rate gets the number after
 * "consumer-category-steps/s:" in it (the throughput of the peer's own
 * stepping loop, as the numpy peer prints it), or NaN. */
static double wall_of_rate(const char *cmd, double *rate)
{
    double t0 = omp_get_wtime();
    FILE *p = popen(cmd, "r");
    if (!p) {
        fprintf(stderr, "msbench: cannot run `%s`\n", cmd);
        exit(1);
    }
    char line[1024];
    *rate = NAN;
    while (fgets(line, sizeof line, p)) {
        const char *at = strstr(line, "consumer-category-steps/s:");
        if (at)
            *rate = strtod(at + strlen("consumer-category-steps/s:"), NULL);
    }
    int rc = pclose(p);
    double t = omp_get_wtime() - t0;
    if (rc == -1 || !WIFEXITED(rc) || WEXITSTATUS(rc) != 0) {
        fprintf(stderr, "msbench: `%s` failed (status %d)\n", cmd, rc);
        exit(1);
    }
    return t;
}

/* Whole processes, one thread each, alternated: marketsim and a peer.
 * loop1 and loop2: this run's step-loop throughputs with 1 and 2 threads,
 * set against the peer's own loop when it prints one. */
static void versus_peer(const char *msbin, const char *path,
                        const char **sets, int n_sets, const char *peer,
                        int reps, double loop1, double loop2)
{
    char cmd[8192];
    int o = snprintf(cmd, sizeof cmd, "rm -f /tmp/msbench_peer_$$.h5; '%s' "
                     "run '%s' --threads 1 -q -o /tmp/msbench_peer_$$.h5",
                     msbin, path);
    for (int i = 0; i < n_sets && o < (int)sizeof cmd - 256; i++)
        o += snprintf(cmd + o, sizeof cmd - (size_t)o, " --set '%s'",
                      sets[i]);
    snprintf(cmd + o, sizeof cmd - (size_t)o,
             " >/dev/null && rm -f /tmp/msbench_peer_$$.h5");
    double tm[64], tp[64], ratio[64], rate[64];
    int nrate = 0;
    for (int r = 0; r < reps; r++) {
        double pr;
        tm[r] = wall_of_rate(cmd, &pr);
        tp[r] = wall_of_rate(peer, &pr);
        ratio[r] = tp[r] / tm[r];
        if (pr > 0)
            rate[nrate++] = pr;
    }
    qsort(tm, (size_t)reps, sizeof *tm, cmp);
    qsort(tp, (size_t)reps, sizeof *tp, cmp);
    qsort(ratio, (size_t)reps, sizeof *ratio, cmp);
    qsort(rate, (size_t)nrate, sizeof *rate, cmp);
    printf("whole process, 1 thread, %d alternating pairs\n", reps);
    printf("  marketsim %.3f s, peer %.3f s (medians); the peer takes %.2fx "
           "as long (median of the pairs' ratios; range %.2f-%.2f)\n",
           tm[reps / 2], tp[reps / 2], ratio[reps / 2], ratio[0],
           ratio[reps - 1]);
    if (nrate > 0) {
        const double pl = rate[nrate / 2];
        printf("stepping loops: the peer's %.3g consumer-category-steps/s "
               "(median of %d); marketsim's is %.2fx that with 2 threads, "
               "%.2fx with 1\n", pl, nrate, loop2 / pl, loop1 / pl);
    }
    printf("  peer: %s\n", peer);
}

int main(int argc, char **argv)
{
    const char *path = NULL, *sets[64], *peer = NULL, *msbin = NULL;
    int n_sets = 0, reps = 3, scale = 0, big = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--set") && i + 1 < argc && n_sets < 56)
            sets[n_sets++] = argv[++i];
        else if (!strcmp(argv[i], "--reps") && i + 1 < argc)
            reps = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--scale"))
            scale = 1;
        else if (!strcmp(argv[i], "--big"))
            scale = big = 1;
        else if (!strcmp(argv[i], "--peer") && i + 1 < argc)
            peer = argv[++i];
        else if (!strcmp(argv[i], "--marketsim") && i + 1 < argc)
            msbin = argv[++i];
        else
            path = argv[i];
    }
    if (!path || reps < 1 || (peer && !msbin)) {
        fprintf(stderr, "usage: msbench SCENARIO [--set KEY=VALUE]... "
                "[--reps R] [--scale] [--big] [--marketsim PATH --peer "
                "COMMAND]\n");
        return 2;
    }
    ms_scenario *sc;
    if (ms_scenario_load(path, sets, n_sets, &sc) != MS_OK) {
        fprintf(stderr, "%s\n", ms_error_message());
        return 2;
    }
    /* Memory: build one world and measure. */
    long rss0 = peak_rss_kb();
    size_t live0 = ms_alloc_live_bytes();
    ms_alloc_reset_peak();
    ms_world *w;
    if (ms_world_create(sc, 2, &w) != MS_OK) {
        fprintf(stderr, "msbench: %s\n", ms_error_message());
        return 1;
    }
    double N = (double)ms_world_consumers(w);
    int C = sc->n_categories;
    double engine = (double)(ms_alloc_peak_bytes() - live0);
    double consumer_state =
        N * (double)sizeof *w->nuq + (double)ms_choice_bytes(w);
    ms_world_destroy(&w);
    long rss1 = peak_rss_kb();

    double t1[64], t2[64], ph1[16] = {0}, ph2[16] = {0}, tmp[16];
    int np = 0;
    if (reps > 64)
        reps = 64;
    for (int r = 0; r < reps; r++) {
        t1[r] = run_once(sc, 1, tmp, &np);
        for (int i = 0; i < np; i++) ph1[i] += tmp[i] / reps;
        t2[r] = run_once(sc, 2, tmp, &np);
        for (int i = 0; i < np; i++) ph2[i] += tmp[i] / reps;
    }
    qsort(t1, (size_t)reps, sizeof *t1, cmp);
    qsort(t2, (size_t)reps, sizeof *t2, cmp);
    double m1 = t1[reps / 2], m2 = t2[reps / 2];
    double work = N * C * (double)sc->run.steps;
    printf("benchmark        %s\n", path);
    printf("consumers        %.0f (x %d categories x %lld steps)\n", N, C,
           (long long)sc->run.steps);
    printf("step loop        1 thread %.3f s, 2 threads %.3f s (median of "
           "%d)\n", m1, m2, reps);
    printf("throughput       %.3g consumer-category-steps/s with 2 threads "
           "(%.3g with 1)\n", work / m2, work / m1);
    printf("speed-up 1->2    %.2f\n", m1 / m2);
    printf("bytes/consumer   %.1f consumer state, %.1f all engine memory, "
           "%.1f peak RSS growth\n", consumer_state / N, engine / N,
           (double)(rss1 - rss0) * 1024.0 / N);
    double tot = 0;
    for (int i = 0; i < np; i++)
        tot += ph2[i];
    printf("phases (2 thr)  ");
    for (int i = 0; i < np; i++)
        printf(" %s %.1f%%", ms_world_phase_name(i),
               tot > 0 ? 100 * ph2[i] / tot : 0);
    printf("\n");
    if (scale)
        scaling(path, sets, n_sets, sc, big);
    if (peer)
        versus_peer(msbin, path, sets, n_sets, peer, reps, work / m1,
                    work / m2);
    ms_scenario_destroy(&sc);
    return 0;
}
