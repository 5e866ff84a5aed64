/*
 * progress.c: see progress.h. Redrawn at most 10 times a second on a
 * terminal; every 5 seconds as a line when stderr is a file or a pipe
 * (batch jobs), so logs stay short.
 */
#include "cli/progress.h"

#include <omp.h>
#include <stdio.h>
#include <unistd.h>

void ms_progress_init(ms_progress *p, const char *what, int quiet)
{
    p->what = what;
    p->quiet = quiet;
    p->tty = isatty(2);
    p->start = p->last = omp_get_wtime();
    p->last_done = 0;
    p->drawn = 0;
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
    double gap = p->tty ? 0.1 : 5.0;
    if (!final && now - p->last < gap)
        return;
    if (final && !p->tty && now - p->start < gap)
        return; /* short work: no line at all */
    double el = now - p->start;
    double rate = el > 0 ? (double)done / el : 0;
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
        fprintf(stderr, "marketsim: %lld/%lld %s (%.0f%%), %.1f %s/s, ETA %s\n",
                (long long)done, (long long)total, p->what, 100 * frac, rate,
                p->what, eta);
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
