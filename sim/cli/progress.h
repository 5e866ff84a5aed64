/*
 * progress.h: progress of long work on stderr: a bar with rate and ETA on a
 * terminal, a plain line every few seconds otherwise, nothing when quiet.
 */
#ifndef MS_PROGRESS_H
#define MS_PROGRESS_H

#include <stdint.h>

typedef struct ms_progress {
    const char *what;      /* "steps", "runs" */
    int tty, quiet;
    double start, last;
    int64_t last_done;
    int drawn;
} ms_progress;

void ms_progress_init(ms_progress *p, const char *what, int quiet);
void ms_progress_update(void *p, int64_t done, int64_t total);
void ms_progress_end(ms_progress *p);

#endif
