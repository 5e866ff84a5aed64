/*
 * test_paths.c: output paths checked before writing and the one-writer
 * lock (sim/base/paths.c). The command-line side, with real runs and
 * concurrent processes, is tests/integration/test_output_paths.sh.
 */
#define _GNU_SOURCE /* mkdtemp */
#include "unit/unit.h"

#include "marketsim/ms_alloc.h"
#include "marketsim/ms_error.h"
#include "marketsim/ms_paths.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char dir[64];

static void path_in(char *buf, size_t n, const char *name)
{
    snprintf(buf, n, "%s/%s", dir, name);
}

static void touch(const char *p)
{
    FILE *f = fopen(p, "w");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    fputs("x\n", f);
    fclose(f);
}

/* Refused with MS_EINPUT and a message that contains `want`. */
static void refused(ms_status st, const char *want)
{
    CU_ASSERT_EQUAL(st, MS_EINPUT);
    if (!strstr(ms_error_message(), want))
        printf("\n    message '%s' lacks '%s'\n", ms_error_message(), want);
    CU_ASSERT_PTR_NOT_NULL(strstr(ms_error_message(), want));
    CU_ASSERT_PTR_NOT_NULL(strstr(ms_error_message(), ": error: "));
}

static void test_check_output(void)
{
    char in[128], lnk[128], hard[128], out[128], sub[128], name[160];
    path_in(in, sizeof in, "in.yaml");
    path_in(lnk, sizeof lnk, "link.yaml");
    path_in(hard, sizeof hard, "hard.yaml");
    path_in(out, sizeof out, "out.h5");
    path_in(sub, sizeof sub, "sub");
    touch(in);
    CU_ASSERT_EQUAL_FATAL(symlink("in.yaml", lnk), 0);
    CU_ASSERT_EQUAL_FATAL(link(in, hard), 0);
    CU_ASSERT_EQUAL_FATAL(mkdir(sub, 0777), 0);
    const char *inputs[] = {in, NULL};
    const char *const all[] = {"", ".partial", ".ckpt", NULL};

    /* A new file, and an existing regular file that is not an input. */
    CU_ASSERT_EQUAL(ms_path_check_output("-o", out, all, inputs), MS_OK);
    touch(out);
    CU_ASSERT_EQUAL(ms_path_check_output("-o", out, all, inputs), MS_OK);
    CU_ASSERT_EQUAL(ms_path_check_output("-o", out, NULL, NULL), MS_OK);

    refused(ms_path_check_output("-o", in, all, inputs), "is the input");
    refused(ms_path_check_output("-o", lnk, all, inputs), "by a link");
    refused(ms_path_check_output("-o", hard, all, inputs), "by a link");
    refused(ms_path_check_output("-o", "", all, inputs), "empty path");
    refused(ms_path_check_output("-o", sub, all, inputs), "names a folder");
    snprintf(name, sizeof name, "%s/", sub);
    refused(ms_path_check_output("-o", name, all, inputs), "ends in '/'");
    refused(ms_path_check_output("-o", "/dev/null", all, inputs),
            "character device");
    char fifo[128];
    path_in(fifo, sizeof fifo, "fifo");
    CU_ASSERT_EQUAL_FATAL(mkfifo(fifo, 0666), 0);
    refused(ms_path_check_output("-o", fifo, all, inputs), "FIFO");

    /* A file written beside the output: a folder, or the input. */
    snprintf(name, sizeof name, "%s.ckpt", out);
    CU_ASSERT_EQUAL_FATAL(mkdir(name, 0777), 0);
    refused(ms_path_check_output("-o", out, all, inputs), "it is a folder");
    CU_ASSERT_EQUAL(ms_path_check_output("-o", out, NULL, inputs), MS_OK);
    rmdir(name);
    snprintf(name, sizeof name, "%s.partial", out);
    CU_ASSERT_EQUAL_FATAL(symlink("in.yaml", name), 0);
    refused(ms_path_check_output("-o", out, all, inputs), "beside");
    unlink(name);

    /* A parent that is a file. */
    snprintf(name, sizeof name, "%s/x.h5", in);
    refused(ms_path_check_output("-o", name, NULL, NULL), "is a file");

    /* Long paths are refused, not cut. */
    char *longp = ms_malloc(5000);
    CU_ASSERT_PTR_NOT_NULL_FATAL(longp);
    memset(longp, 'a', 4999);
    longp[4999] = '\0';
    refused(ms_path_check_output("-o", longp, NULL, NULL), "too long");
    ms_free(longp);

    /* Nothing was created by any check. */
    snprintf(name, sizeof name, "%s.partial", out);
    CU_ASSERT_NOT_EQUAL(access(name, F_OK), 0);
    snprintf(name, sizeof name, "%s.lock", out);
    CU_ASSERT_NOT_EQUAL(access(name, F_OK), 0);

    CU_ASSERT_EQUAL(ms_path_check_dir("--csv", sub), MS_OK);
    snprintf(name, sizeof name, "%s/new", dir);
    CU_ASSERT_EQUAL(ms_path_check_dir("--csv", name), MS_OK);
    refused(ms_path_check_dir("--csv", in), "needs a folder");
    refused(ms_path_check_dir("--csv", ""), "empty path");

    unlink(fifo);
    unlink(lnk);
    unlink(hard);
    unlink(in);
    unlink(out);
    rmdir(sub);
}

static void test_lock(void)
{
    char out[128], lockp[160], pid[32];
    path_in(out, sizeof out, "locked.h5");
    snprintf(lockp, sizeof lockp, "%s.lock", out);
    ms_path_lock *a = NULL, *b = NULL;
    CU_ASSERT_EQUAL_FATAL(ms_path_lock_take("-o", out, &a), MS_OK);
    CU_ASSERT_PTR_NOT_NULL(a);
    /* The lock file holds our pid. */
    FILE *f = fopen(lockp, "r");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    CU_ASSERT_PTR_NOT_NULL(fgets(pid, sizeof pid, f));
    fclose(f);
    CU_ASSERT_EQUAL(atol(pid), (long)getpid());
    /* A second taker (another open file description: flock conflicts
     * even within one process) is refused, naming the holder. */
    char want[64];
    snprintf(want, sizeof want, "another marketsim (pid %ld)",
             (long)getpid());
    refused(ms_path_lock_take("-o", out, &b), want);
    CU_ASSERT_PTR_NULL(b);
    CU_ASSERT_PTR_NOT_NULL(strstr(ms_error_message(), "choose another -o"));
    /* Released: the file is gone and the lock can be taken again. */
    ms_path_lock_release(&a);
    CU_ASSERT_PTR_NULL(a);
    CU_ASSERT_NOT_EQUAL(access(lockp, F_OK), 0);
    ms_path_lock_release(&a); /* NULL is fine */
    /* A lock file left behind by a dead writer locks nothing. */
    touch(lockp);
    CU_ASSERT_EQUAL(ms_path_lock_take("-o", out, &b), MS_OK);
    ms_path_lock_release(&b);
    CU_ASSERT_NOT_EQUAL(access(lockp, F_OK), 0);
    /* A lock file that is a folder is refused. */
    CU_ASSERT_EQUAL_FATAL(mkdir(lockp, 0777), 0);
    CU_ASSERT_NOT_EQUAL(ms_path_lock_take("-o", out, &b), MS_OK);
    CU_ASSERT_PTR_NULL(b);
    rmdir(lockp);
    /* Out of memory: an error, nothing held. */
    ms_alloc_fail_at(1, 0);
    CU_ASSERT_EQUAL(ms_path_lock_take("-o", out, &b), MS_ENOMEM);
    ms_alloc_fail_at(0, 0);
    CU_ASSERT_PTR_NULL(b);
    CU_ASSERT_NOT_EQUAL(access(lockp, F_OK), 0);
}

static int setup(void)
{
    snprintf(dir, sizeof dir, "/tmp/ms_test_paths.XXXXXX");
    return mkdtemp(dir) ? 0 : 1;
}

static void run_check(void)
{
    if (setup() == 0)
        test_check_output();
    else
        CU_FAIL("mkdtemp");
}

static void run_lock(void)
{
    test_lock();
    rmdir(dir);
}

static const ms_unit_test tests[] = {
    {"output paths refused before writing", run_check},
    {"one writer per output", run_lock},
    {NULL, NULL}};

MS_UNIT_MAIN("paths", tests)
