/*
 * progress.h: progress of long work on stderr: a bar with rate and ETA on a
 * terminal, a plain line every few seconds otherwise (every
 * MARKETSIM_PROGRESS_SECONDS if set), nothing when quiet. Rates count the
 * work this process did (not what a restarted run had done before).
 */
#ifndef MS_PROGRESS_H
#define MS_PROGRESS_H

#include <stdint.h>

typedef struct ms_progress {
    const char *what;      /* "steps", "runs" */
    int tty, quiet;
    double start, last;
    double gap;            /* seconds between lines when not a terminal */
    int64_t last_done;
    int64_t base;          /* done before this process began (a restart) */
    int drawn;
} ms_progress;

void ms_progress_init(ms_progress *p, const char *what, int quiet);
/* Work already done when this process began (a run continued from a
 * checkpoint): the rate and ETA count only what this process does. */
void ms_progress_from(ms_progress *p, int64_t base);
void ms_progress_update(void *p, int64_t done, int64_t total);
void ms_progress_end(ms_progress *p);

#endif
