/*
 * bench.c: the harness behind `make bench`.
 *
 *   msbench SCENARIO [--set KEY=VALUE]... [--reps R]
 *
 * Times the step loop alone (setup and output excluded) with 1 and with 2
 * threads, alternating the two R times (default 3) so both see the same
 * machine load, and reports the medians: consumer-category-steps per
 * second, the speed-up from 1 to 2 threads, and memory per consumer
 * (engine bytes from the allocation counter, and the growth of the peak
 * resident set while the world is built).
 */
#include "core/world_int.h"

#include "marketsim/ms_alloc.h"
#include "marketsim/ms_scenario.h"
#include "marketsim/ms_world.h"

#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
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

int main(int argc, char **argv)
{
    const char *path = NULL, *sets[64];
    int n_sets = 0, reps = 3;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--set") && i + 1 < argc)
            sets[n_sets++] = argv[++i];
        else if (!strcmp(argv[i], "--reps") && i + 1 < argc)
            reps = atoi(argv[++i]);
        else
            path = argv[i];
    }
    if (!path || reps < 1) {
        fprintf(stderr, "usage: msbench SCENARIO [--set KEY=VALUE]... "
                "[--reps R]\n");
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
    double consumer_state = N * (2 * sizeof(float) + C * sizeof(uint16_t));
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
    ms_scenario_destroy(&sc);
    return 0;
}
