/*
 * paths.c: the files a command writes, checked and locked before it
 * starts (see ms_paths.h).
 *
 * A result file is written as PATH.partial and renamed to PATH at the end;
 * rename() replaces whatever PATH is, so a PATH that is the input, a
 * device node or a folder's name has to be refused before anything is
 * written, not found out at the end. Files are compared by device and
 * inode, not by name, so that `./a.yaml`, a symbolic link and a hard link
 * to the input all count as the input.
 *
 * One writer per output: two runs with the same -o would write one
 * PATH.partial (and PATH.ckpt) at once and leave a corrupt file. The lock
 * is flock() on a file of its own, PATH.lock, on a descriptor that lives
 * as long as the writer: independent of HDF5's own locking (which HDF5
 * drops in single-writer mode, and HDF5_USE_FILE_LOCKING can turn off), of
 * the file being renamed under the writer, and released by the kernel
 * when the process dies, so a lock file a killed run leaves behind locks
 * nothing. The pid in it is for the message only.
 */
#define _GNU_SOURCE /* flock, O_CLOEXEC */
#include "marketsim/ms_paths.h"

#include "marketsim/ms_alloc.h"

#include <errno.h>
#include <fcntl.h>
#ifdef __linux__
#include <linux/fs.h> /* FICLONE */
#endif
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

/* Longest path accepted: room for the longest suffix (".ckpt.partial")
 * within PATH_MAX and the fixed buffers that hold derived names. */
#define MS_PATH_MAX (4096 - 32)

struct ms_path_lock {
    int fd;       /* flock()ed descriptor of `path` */
    char *path;   /* PATH.lock */
};

static const char *kind_of(mode_t m)
{
    return S_ISDIR(m)    ? "a folder"
           : S_ISFIFO(m) ? "a FIFO (named pipe)"
           : S_ISCHR(m)  ? "a character device"
           : S_ISBLK(m)  ? "a block device"
           : S_ISSOCK(m) ? "a socket"
                         : "not a regular file";
}

/* One name that will be written: `name` is path+suffix. */
static ms_status check_one(const char *opt, const char *path,
                           const char *name, int derived,
                           const char *const *inputs)
{
    struct stat st;
    if (stat(name, &st) != 0) {
        if (errno == ENOENT)
            return MS_OK;
        if (errno == ENOTDIR)
            return MS_ERROR(MS_EINPUT, "%s: error: a folder on the way to "
                            "it is a file; choose another %s", name, opt);
        return MS_ERROR(MS_EINPUT, "%s: error: cannot use it: %s; choose "
                        "another %s", name, strerror(errno), opt);
    }
    if (!S_ISREG(st.st_mode)) {
        if (!derived && S_ISDIR(st.st_mode))
            return MS_ERROR(MS_EINPUT, "%s: error: %s names a folder; give a "
                            "file name in it, e.g. %s %s/NAME.h5", name, opt,
                            opt, name);
        if (!derived)
            return MS_ERROR(MS_EINPUT, "%s: error: %s names %s, not a regular "
                            "file; marketsim writes only regular files "
                            "(writing would replace it): choose another %s",
                            name, opt, kind_of(st.st_mode), opt);
        return MS_ERROR(MS_EINPUT, "%s: error: marketsim writes this file "
                        "while it writes %s, but it is %s; remove it or "
                        "choose another %s", name, path, kind_of(st.st_mode),
                        opt);
    }
    for (int i = 0; inputs && inputs[i]; i++) {
        struct stat in;
        if (stat(inputs[i], &in) != 0)
            continue;
        if (in.st_dev == st.st_dev && in.st_ino == st.st_ino)
            return MS_ERROR(MS_EINPUT, "%s: error: %s%s is the input %s (the "
                            "same file%s); writing would destroy it: choose "
                            "another %s", name, derived ? "what marketsim "
                            "writes beside " : "", derived ? path : opt,
                            inputs[i], strcmp(inputs[i], name) ? ", by a "
                            "link or another name" : "", opt);
    }
    return MS_OK;
}

ms_status ms_path_check_output(const char *opt, const char *path,
                               const char *const *suffixes,
                               const char *const *inputs)
{
    if (!path || !path[0])
        return MS_ERROR(MS_EINPUT, "'': error: %s is an empty path; give a "
                        "file name, e.g. %s results/NAME.h5", opt, opt);
    size_t len = strlen(path);
    if (len > MS_PATH_MAX)
        return MS_ERROR(MS_EINPUT, "%.60s...: error: the path is too long "
                        "(%zu bytes; at most %d); choose a shorter %s", path,
                        len, MS_PATH_MAX, opt);
    if (path[len - 1] == '/')
        return MS_ERROR(MS_EINPUT, "%s: error: %s names a folder (it ends in "
                        "'/'); give a file name in it, e.g. %s %sNAME.h5",
                        path, opt, opt, path);
    static const char *const self[] = {"", NULL};
    if (!suffixes)
        suffixes = self;
    char name[MS_PATH_MAX + 64];
    for (int i = 0; suffixes[i]; i++) {
        snprintf(name, sizeof name, "%s%s", path, suffixes[i]);
        MS_CALL(check_one(opt, path, name, suffixes[i][0] != '\0', inputs));
    }
    return MS_OK;
}

ms_status ms_path_check_dir(const char *opt, const char *dir)
{
    if (!dir || !dir[0])
        return MS_ERROR(MS_EINPUT, "'': error: %s is an empty path; give a "
                        "folder, e.g. %s results/csv", opt, opt);
    if (strlen(dir) > MS_PATH_MAX)
        return MS_ERROR(MS_EINPUT, "%.60s...: error: the path is too long; "
                        "choose a shorter %s", dir, opt);
    struct stat st;
    if (stat(dir, &st) != 0) {
        if (errno == ENOENT)
            return MS_OK;
        return MS_ERROR(MS_EINPUT, "%s: error: cannot use it as a folder: "
                        "%s; choose another %s", dir, strerror(errno), opt);
    }
    if (!S_ISDIR(st.st_mode))
        return MS_ERROR(MS_EINPUT, "%s: error: %s needs a folder (new or "
                        "existing), but this is %s; choose another %s", dir,
                        opt, S_ISREG(st.st_mode) ? "a file"
                                                 : kind_of(st.st_mode), opt);
    return MS_OK;
}

/* The pid a lock file holds, or 0. */
static long holder(int fd)
{
    char buf[32];
    ssize_t n = pread(fd, buf, sizeof buf - 1, 0);
    if (n <= 0)
        return 0;
    buf[n] = '\0';
    long pid = strtol(buf, NULL, 10);
    return pid > 0 ? pid : 0;
}

ms_status ms_path_lock_take(const char *opt, const char *path,
                            ms_path_lock **out)
{
    *out = NULL;
    ms_path_lock *lk = ms_calloc(1, sizeof *lk);
    size_t n = strlen(path) + 6;
    char *name = ms_malloc(n);
    if (!lk || !name) {
        ms_free(lk);
        ms_free(name);
        return MS_ERROR(MS_ENOMEM, "out of memory");
    }
    snprintf(name, n, "%s.lock", path);
    /* The holder removes the lock file before it lets go of the lock, so
     * a lock won on a file that is no longer at `name` (opened just before
     * that) proves nothing: open the new one and try again. */
    for (int attempt = 0; attempt < 100; attempt++) {
        int fd = open(name, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW |
                                O_NONBLOCK, 0666);
        if (fd < 0) {
            int e = errno;
            ms_free(lk);
            ms_free(name);
            return MS_ERROR(MS_EIO, "%s: cannot create the result file (its "
                            "lock %s.lock first): %s; check that the folder "
                            "exists and is writable, or choose another %s",
                            path, path, strerror(e), opt);
        }
        struct stat a, b;
        if (fstat(fd, &a) != 0 || !S_ISREG(a.st_mode)) {
            close(fd);
            ms_free(lk);
            ms_free(name);
            return MS_ERROR(MS_EINPUT, "%s.lock: error: not a regular file; "
                            "it is where marketsim locks %s: remove it or "
                            "choose another %s", path, path, opt);
        }
        if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
            int e = errno;
            if (e == EWOULDBLOCK || e == EAGAIN) {
                long pid = holder(fd);
                close(fd);
                ms_free(lk);
                ms_free(name);
                char who[48] = "";
                if (pid)
                    snprintf(who, sizeof who, " (pid %ld)", pid);
                return MS_ERROR(MS_EINPUT, "%s: error: %s is being written by "
                                "another marketsim%s; wait for it or choose "
                                "another %s", path, path, who, opt);
            }
            /* No locks on this file system (some network ones): go on
             * without, as HDF5 does. */
        }
        if (stat(name, &b) != 0 || a.st_dev != b.st_dev ||
            a.st_ino != b.st_ino) {
            close(fd);
            continue;
        }
        char pid[32];
        int len = snprintf(pid, sizeof pid, "%ld\n", (long)getpid());
        if (ftruncate(fd, 0) != 0 || pwrite(fd, pid, (size_t)len, 0) != len) {
            /* Only the message of a second writer misses the pid. */
        }
        lk->fd = fd;
        lk->path = name;
        *out = lk;
        return MS_OK;
    }
    ms_free(lk);
    ms_free(name);
    return MS_ERROR(MS_EIO, "%s.lock: the lock file keeps changing "
                    "(another process removes it); choose another %s", path,
                    opt);
}

void ms_path_lock_release(ms_path_lock **lkp)
{
    if (!lkp || !*lkp)
        return;
    ms_path_lock *lk = *lkp;
    /* Remove the file while still holding the lock (see ms_path_lock_take). */
    unlink(lk->path);
    close(lk->fd);
    ms_free(lk->path);
    ms_free(lk);
    *lkp = NULL;
}

ms_status ms_path_copy(const char *from, const char *to, const char *if_full)
{
    int in = open(from, O_RDONLY | O_CLOEXEC);
    if (in < 0)
        return MS_ERROR(MS_EIO, "%s: cannot open: %s", from, strerror(errno));
    int out = open(to, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
    if (out < 0) {
        int e = errno;
        close(in);
        return MS_ERROR(MS_EIO, "%s: cannot create: %s", to, strerror(e));
    }
    int bad = 0;
#ifdef FICLONE
    if (ioctl(out, FICLONE, in) != 0)
#endif
    {
        char buf[1 << 16];
        ssize_t n;
        while (!bad && (n = read(in, buf, sizeof buf)) != 0) {
            if (n < 0) {
                bad = errno != EINTR;
                continue;
            }
            for (ssize_t at = 0; !bad && at < n;) {
                ssize_t w = write(out, buf + at, (size_t)(n - at));
                if (w < 0)
                    bad = errno != EINTR;
                else
                    at += w;
            }
        }
    }
    int e = errno;
    bad |= fsync(out) != 0;
    bad |= close(out) != 0;
    close(in);
    if (bad) {
        remove(to);
        int full = e == ENOSPC;
        return MS_ERROR(MS_EIO, "%s: cannot write a copy of %s: %s%s%s%s", to,
                        from, strerror(e ? e : errno),
                        full ? " (the disk is full)" : "",
                        full && if_full ? "; " : "",
                        full && if_full ? if_full : "");
    }
    return MS_OK;
}
