/*
 * ms_checkpoint.h: saving and restoring a run (core/checkpoint.c).
 */
#ifndef MS_CHECKPOINT_H
#define MS_CHECKPOINT_H

#include "marketsim/ms_error.h"
#include "marketsim/ms_world.h"

#include <stddef.h>
#include <stdint.h>

/* Write the world's state, and the run file's bytes so far, to path
 * (atomically). out_path is the run file the checkpoint continues;
 * wall_seconds the run's wall time so far (over all its restarts). */
ms_status ms_checkpoint_write(const char *path, const ms_world *w,
                              const void *runfile, size_t runfile_bytes,
                              const char *out_path, double wall_seconds);
/* What a checkpoint continues: its scenario (caller frees with ms_free),
 * its run file's path and the step it was taken at. */
ms_status ms_checkpoint_info(const char *path, char **scenario_yaml,
                             char *out_path, size_t out_size, int64_t *step);
/* Overwrite a freshly created world (same scenario) with the saved state;
 * return the run file's bytes (caller frees). */
ms_status ms_checkpoint_load(const char *path, ms_world *w, void **runfile,
                             size_t *runfile_bytes);
/* Remove the slice files a distributed run's checkpoint (manifest) at
 * path names; nothing for a checkpoint of one process. */
void ms_checkpoint_remove_slices(const char *path);
/* The wall time the run had taken when the checkpoint was written, s (0
 * for a checkpoint that does not say). */
double ms_checkpoint_wall(const char *path);

#endif
