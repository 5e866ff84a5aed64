/*
 * ms_world.h: the simulated world and its step loop.
 *
 * A world is created from a validated scenario (which it borrows: keep the
 * scenario alive until the world is destroyed), allocates everything it will
 * ever need up front, and advances one step at a time through the phases of
 * MODEL.md section 2. Nothing is allocated inside a step.
 */
#ifndef MS_WORLD_H
#define MS_WORLD_H

#include "marketsim/ms_error.h"
#include "marketsim/ms_scenario.h"

#include <stddef.h>
#include <stdint.h>

typedef struct ms_world ms_world;

/* Create the world at t = 0. `seed` overrides the scenario's run.seed
 * when `override_seed` is set. Uses up to `threads` OpenMP threads
 * (0: the OpenMP default); results do not depend on the number. */
ms_status ms_world_create(const ms_scenario *sc, int threads,
                          ms_world **out);
/* The same world as rank `rank` of `ranks` of one distributed run holds:
 * its own slice of the consumers (ms_world_slice), every firm, market and
 * aggregate. Collective: every rank of the run calls it, and each step,
 * together. ranks = 1 is ms_world_create. */
ms_status ms_world_create_slice(const ms_scenario *sc, int threads, int rank,
                                int ranks, ms_world **out);
/* Consumers [*lo, *hi) that rank r of R holds. */
void ms_world_slice(const ms_world *w, int r, int R, size_t *lo, size_t *hi);
void ms_world_destroy(ms_world **w);

/* Advance one step. */
ms_status ms_world_step(ms_world *w);
int64_t ms_world_step_count(const ms_world *w);

/* Verify the invariants of MODEL.md section 9; MS_ECHECK with a message
 * naming the first one that fails. */
ms_status ms_world_check(const ms_world *w);

/* Named phase timers: number, name and accumulated seconds of phase i. */
int ms_world_phase_count(void);
const char *ms_world_phase_name(int i);
double ms_world_phase_seconds(const ms_world *w, int i);

/* Consumer agents in the world, and bytes of engine state per consumer. */
uint64_t ms_world_consumers(const ms_world *w);

#endif
