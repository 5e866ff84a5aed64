/*
 * progress.c: see progress.h. Redrawn at most 10 times a second on a
 * terminal; every 5 seconds as a line when stderr is a file or a pipe
 * (batch jobs), so logs stay short.
 */
#include "cli/progress.h"

#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

void ms_progress_init(ms_progress *p, const char *what, int quiet)
{
    p->what = what;
    p->quiet = quiet;
    p->tty = isatty(2);
    /* MARKETSIM_PROGRESS_SECONDS: seconds between lines when stderr is not
     * a terminal (default 5; 0 prints a line per step). */
    const char *e = getenv("MARKETSIM_PROGRESS_SECONDS");
    char *end = NULL;
    double g = e ? strtod(e, &end) : -1;
    p->gap = (e && end != e && g >= 0) ? g : 5.0;
    p->start = p->last = omp_get_wtime();
    p->last_done = 0;
    p->base = 0;
    p->drawn = 0;
}

void ms_progress_from(ms_progress *p, int64_t base)
{
    p->base = base > 0 ? base : 0;
    p->last_done = p->base;
}

static void fmt_time(char *buf, size_t size, double s)
{
    if (s < 0 || s != s)
        snprintf(buf, size, "?");
    else if (s < 100)
        snprintf(buf, size, "%.0fs", s);
    else if (s < 6000)
        snprintf(buf, size, "%.0fm%02.0fs", s / 60 - 0.5, s - 60 * (int)(s / 60));
    else
        snprintf(buf, size, "%.1fh", s / 3600);
}

void ms_progress_update(void *vp, int64_t done, int64_t total)
{
    ms_progress *p = vp;
    if (p->quiet)
        return;
    double now = omp_get_wtime();
    int final = done >= total;
    double gap = p->tty ? 0.1 : p->gap;
    if (!final && now - p->last < gap)
        return;
    if (final && !p->tty && now - p->start < gap && gap > 0)
        return; /* short work: no line at all */
    double el = now - p->start;
    double rate = el > 0 ? (double)(done - p->base) / el : 0;
    char eta[32];
    fmt_time(eta, sizeof eta, rate > 0 ? (double)(total - done) / rate : -1);
    double frac = total > 0 ? (double)done / (double)total : 1;
    if (p->tty) {
        char bar[31];
        int n = (int)(frac * 30);
        for (int i = 0; i < 30; i++)
            bar[i] = i < n ? '#' : '.';
        bar[30] = '\0';
        fprintf(stderr, "\r[%s] %3.0f%% %lld/%lld %s  %.1f %s/s  ETA %s ",
                bar, 100 * frac, (long long)done, (long long)total, p->what,
                rate, p->what, eta);
        p->drawn = 1;
    } else {
        char here[64] = "";
        if (p->base > 0)
            snprintf(here, sizeof here, ", %lld in this process",
                     (long long)(done - p->base));
        fprintf(stderr, "marketsim: %lld/%lld %s (%.0f%%)%s, %.1f %s/s, ETA "
                "%s\n", (long long)done, (long long)total, p->what,
                100 * frac, here, rate, p->what, eta);
    }
    fflush(stderr);
    p->last = now;
    p->last_done = done;
}

void ms_progress_end(ms_progress *p)
{
    if (p->drawn && p->tty && !p->quiet) {
        fprintf(stderr, "\n");
        p->drawn = 0;
    }
}
