/*
 * vhelp.h: helpers for validation tests: build a world from scenario text,
 * step it, read its counts.
 */
#ifndef MS_VHELP_H
#define MS_VHELP_H

#include "core/world_int.h"
#include "marketsim/ms_alloc.h"
#include "unit/unit.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

/* A world from printf-formatted scenario text; aborts the test on error. */
static inline ms_world *vh_world(ms_scenario **sc, const char *fmt, ...)
{
    static char text[16384];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    if (ms_scenario_load_string(text, "<test>", NULL, 0, sc) != MS_OK) {
        fprintf(stderr, "scenario error: %s\n", ms_error_message());
        exit(3);
    }
    ms_world *w;
    if (ms_world_create(*sc, 0, &w) != MS_OK) {
        fprintf(stderr, "world error: %s\n", ms_error_message());
        exit(3);
    }
    return w;
}

static inline void vh_step(ms_world *w)
{
    if (ms_world_step(w) != MS_OK) {
        fprintf(stderr, "step error: %s\n", ms_error_message());
        exit(3);
    }
}

static inline void vh_free(ms_world **w, ms_scenario **sc)
{
    ms_world_destroy(w);
    ms_scenario_destroy(sc);
}

/* Users of firm f in (m, c) as a share of adopters. */
static inline double vh_share(const ms_world *w, int f, int m, int c)
{
    size_t mc = (size_t)m * w->C + c;
    return w->adopters[mc] ? (double)w->users[mc * w->F + f] /
                                 (double)w->adopters[mc]
                           : 0;
}

#endif
