/*
 * killwrite.c: an LD_PRELOAD library for the kill tests of sweeps
 * (test_sweep_kill.sh). A process killed by SIGKILL keeps exactly the
 * writes that returned before it died, so stopping it just before its
 * N-th write to a regular file is a kill -9 at a chosen moment, without
 * timing: MS_KILL_AT_WRITE=N. MS_KILL_COUNT=FILE instead writes the
 * number of such writes to FILE at exit, to choose N from.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

/* The project builds with hidden visibility; these must be seen. */

static long writes, kill_at = -2;

static void before_write(int fd)
{
    if (kill_at == -2) {
        const char *e = getenv("MS_KILL_AT_WRITE");
        kill_at = e ? atol(e) : -1;
    }
    struct stat sb;
    if (fstat(fd, &sb) == 0 && S_ISREG(sb.st_mode) && ++writes == kill_at)
        raise(SIGKILL);
}

__attribute__((visibility("default"))) ssize_t write(int fd, const void *buf, size_t n)
{
    static ssize_t (*real)(int, const void *, size_t);
    if (!real)
        real = (ssize_t (*)(int, const void *, size_t))dlsym(RTLD_NEXT,
                                                             "write");
    before_write(fd);
    return real(fd, buf, n);
}

__attribute__((visibility("default"))) ssize_t pwrite(int fd, const void *buf, size_t n, off_t at)
{
    static ssize_t (*real)(int, const void *, size_t, off_t);
    if (!real)
        real = (ssize_t (*)(int, const void *, size_t, off_t))dlsym(
            RTLD_NEXT, "pwrite");
    before_write(fd);
    return real(fd, buf, n, at);
}

__attribute__((visibility("default"))) ssize_t pwrite64(int fd, const void *buf, size_t n, off64_t at)
{
    static ssize_t (*real)(int, const void *, size_t, off64_t);
    if (!real)
        real = (ssize_t (*)(int, const void *, size_t, off64_t))dlsym(
            RTLD_NEXT, "pwrite64");
    before_write(fd);
    return real(fd, buf, n, at);
}

__attribute__((destructor)) static void report(void)
{
    const char *path = getenv("MS_KILL_COUNT");
    if (!path)
        return;
    long n = writes;
    FILE *f = fopen(path, "w");
    if (f) {
        fprintf(f, "%ld\n", n);
        fclose(f);
    }
}
