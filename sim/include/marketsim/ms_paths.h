/*
 * ms_paths.h: the files a command writes, checked and locked before it
 * starts (sim/base/paths.c; the rules are in docs/OUTPUT.md).
 */
#ifndef MS_PATHS_H
#define MS_PATHS_H

#include "marketsim/ms_error.h"

/* Check that `path`, and path+suffix for every suffix of `suffixes`
 * (NULL-terminated; "" is the path itself), can be written as a regular
 * file: the path is not empty, does not end in '/', is not too long, and
 * each name is absent or a regular file (not a folder, device, FIFO,
 * socket) that is none of `inputs` (NULL-terminated: compared as files,
 * by device and inode, so symbolic and hard links to an input count as
 * the input). `opt` names the option in messages ("-o", "--csv").
 * Creates nothing. MS_EINPUT with a `PATH: error:` message that says how
 * to fix it. */
ms_status ms_path_check_output(const char *opt, const char *path,
                               const char *const *suffixes,
                               const char *const *inputs);

/* Check that `dir` can be a folder of output files: not empty, and absent
 * or a folder (not a file, device, FIFO or socket). Creates nothing. */
ms_status ms_path_check_dir(const char *opt, const char *dir);

typedef struct ms_path_lock ms_path_lock;

/* Become the one writer of `path`: take an exclusive lock on PATH.lock
 * (created if missing; it holds the writer's pid), held until
 * ms_path_lock_release or the process ends (the kernel drops it on a
 * crash, so a lock file left behind by a killed run locks nothing). Another process
 * holding it: MS_EINPUT, "PATH: error: PATH is being written by another
 * marketsim (pid N); ...". `opt` names the option to change ("-o"). */
ms_status ms_path_lock_take(const char *opt, const char *path,
                            ms_path_lock **out);
/* Release the lock and remove PATH.lock; accepts NULL, sets *lk = NULL. */
void ms_path_lock_release(ms_path_lock **lk);

/* Copy the file `from` to `to` (created or truncated) and put the copy on
 * the disk (fsync): a clone where the file system shares blocks (btrfs,
 * XFS), else bytes. On failure `to` is removed: MS_EIO, with `if_full`
 * (may be NULL) added to the message when the disk is full. */
ms_status ms_path_copy(const char *from, const char *to, const char *if_full);

#endif
