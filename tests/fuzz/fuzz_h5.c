/*
 * fuzz_h5.c: libFuzzer target for the readers of HDF5 files: `info`,
 * `merge` and the checkpoint reader of `run --restart`.
 *
 * The first byte of an input picks the reader (its value mod 3), the rest
 * is an HDF5 file image, opened from memory (H5LTopen_file_image, through
 * the image hook of io/ms_h5read.h), never written to disk:
 *
 *   0  info:    ms_info_print of the image as a run or sweep file
 *   1  merge:   ms_sweep_merge of a real first shard (shard 1/2 of a tiny
 *               sweep, made at start-up) with the image as the second
 *   2  restart: the checkpoint reader: its scenario, a world built from
 *               it, then ms_checkpoint_load of the image
 *
 * Each must accept the input or refuse it with MS_EINPUT (a `FILE:
 * error:` message) or MS_ENOMEM, never crash, and give back the memory it
 * took.
 *
 * Seeds: run with MS_FUZZ_H5_SEEDS=DIR, the target writes one seed per
 * reader into DIR (a run file, shard 2/2 of the sweep, a checkpoint taken
 * at step 2 of tests/data/tiny.yaml, each behind its selector byte) and
 * exits; tests/fuzz/run-fuzz.sh does this before fuzzing, so the seeds
 * always come from the build being fuzzed (a checkpoint continues only
 * with the build that wrote it).
 */
#include "core/ms_checkpoint.h"
#include "io/ms_h5read.h"
#include "marketsim/ms_alloc.h"
#include "marketsim/ms_error.h"
#include "marketsim/ms_info.h"
#include "marketsim/ms_run.h"
#include "marketsim/ms_scenario.h"
#include "marketsim/ms_sweep.h"
#include "marketsim/ms_world.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifndef MS_FUZZ_TINY
#error "MS_FUZZ_TINY: the scenario the seeds are made from"
#endif

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char dir[256];          /* scratch folder of this process */
static char shard1[300];       /* the real first shard for merge */
static char merged[300];       /* where merge writes (removed each time) */
static FILE *devnull;

static void die(const char *what)
{
    fprintf(stderr, "fuzz_h5: %s: %s\n", what, ms_error_message());
    exit(1);
}

static void stop_at_2(void *ctx, int64_t done, int64_t total)
{
    (void)total;
    if (done >= 2)
        *(volatile sig_atomic_t *)ctx = 1;
}

static void make_sweep(void)
{
    char sw[300], text[1024], p2[300];
    snprintf(sw, sizeof sw, "%s/sw.yaml", dir);
    snprintf(text, sizeof text,
             "scenario: %s\nseed: 3\nreplications: 2\n"
             "parameters:\n  markets.CN.openness: [0.2, 0.8]\n"
             "outputs: [adopters, users]\nset: {run.steps: 3}\n",
             MS_FUZZ_TINY);
    FILE *f = fopen(sw, "w");
    if (!f || fputs(text, f) < 0 || fclose(f) != 0)
        die("cannot write the sweep file");
    snprintf(shard1, sizeof shard1, "%s/s1.h5", dir);
    snprintf(p2, sizeof p2, "%s/s2.h5", dir);
    for (int i = 1; i <= 2; i++) {
        ms_sweep *s;
        if (ms_sweep_load(sw, &s) != MS_OK)
            die("cannot load the sweep");
        ms_sweep_opts o = {0};
        o.out_path = i == 1 ? shard1 : p2;
        o.shard_i = i;
        o.shard_n = 2;
        o.threads = 1;
        o.command = "fuzz_h5";
        ms_sweep_result r;
        if (ms_sweep_execute(s, &o, &r) != MS_OK)
            die("cannot run the sweep");
        ms_sweep_destroy(&s);
    }
}

/* A run file and a checkpoint of tiny.yaml stopped after step 2. */
static void make_run(char *run, char *ckpt, size_t size)
{
    snprintf(run, size, "%s/run.h5", dir);
    snprintf(ckpt, size, "%s/run.h5.ckpt", dir);
    ms_scenario *sc;
    const char *sets[] = {"run.steps=6"};
    if (ms_scenario_load(MS_FUZZ_TINY, sets, 1, &sc) != MS_OK)
        die("cannot load the scenario");
    volatile sig_atomic_t stop = 0;
    ms_run_opts op = {0};
    op.out_path = run;
    op.threads = 1;
    op.command = "fuzz_h5";
    op.checkpoint_every = 1;
    op.checkpoint_path = ckpt;
    op.progress = stop_at_2;
    op.progress_ctx = (void *)&stop;
    op.stop = &stop;
    ms_run_result res;
    if (ms_run(sc, &op, &res) != MS_EINTERRUPT)
        die("the seed run was not stopped after step 2");
    ms_error_clear();
    ms_scenario_destroy(&sc);
}

static void write_seed(const char *seeds, const char *name, int sel,
                       const char *from)
{
    FILE *in = fopen(from, "rb");
    char path[600];
    snprintf(path, sizeof path, "%s/%s", seeds, name);
    FILE *out = fopen(path, "wb");
    if (!in || !out)
        die("cannot write a seed");
    fputc(sel, out);
    char buf[65536];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, in)) > 0)
        fwrite(buf, 1, n, out);
    fclose(in);
    if (fclose(out) != 0)
        die("cannot write a seed");
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    const char *tmp = getenv("TMPDIR");
    snprintf(dir, sizeof dir, "%s/ms_fuzz_h5.XXXXXX", tmp ? tmp : "/tmp");
    if (!mkdtemp(dir))
        die("cannot make a scratch folder");
    snprintf(merged, sizeof merged, "%s/merged.h5", dir);
    devnull = fopen("/dev/null", "w");
    make_sweep();
    const char *seeds = getenv("MS_FUZZ_H5_SEEDS");
    if (seeds) {
        char run[300], ckpt[300], s2[300];
        make_run(run, ckpt, sizeof run);
        snprintf(s2, sizeof s2, "%s/s2.h5", dir);
        if (access(run, F_OK) != 0) /* an interrupted run kept aside */
            snprintf(run + strlen(run), 300 - strlen(run), ".partial");
        write_seed(seeds, "info-run", 0, run);
        write_seed(seeds, "info-sweep", 0, shard1);
        write_seed(seeds, "merge-shard", 1, s2);
        write_seed(seeds, "restart-ckpt", 2, ckpt);
        exit(0);
    }
    return 0;
}

static void clean_merged(void)
{
    char p[320];
    remove(merged);
    snprintf(p, sizeof p, "%s.partial", merged);
    remove(p);
}

static ms_status restart_reader(const char *name)
{
    ms_scenario *sc = NULL;
    char out[4096];
    int64_t step;
    ms_status st = ms_run_checkpoint_scenario(name, &sc, out, sizeof out,
                                              &step);
    if (st != MS_OK)
        return st;
    ms_world *w = NULL;
    st = ms_world_create(sc, 1, &w);
    void *bytes = NULL;
    size_t n = 0;
    if (st == MS_OK)
        st = ms_checkpoint_load(name, w, &bytes, &n);
    ms_free(bytes);
    ms_world_destroy(&w);
    ms_scenario_destroy(&sc);
    return st;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    int sel = data[0] % 3;
    static const char *const names[3] = {"fuzz-run.h5", "fuzz-shard.h5",
                                         "fuzz.ckpt"};
    const char *name = names[sel];
    size_t live = ms_alloc_live_bytes();
    ms_h5r_set_image(name, data + 1, size - 1);
    ms_status st;
    if (sel == 0) {
        st = ms_info_print(name, devnull, 0);
    } else if (sel == 1) {
        const char *inputs[2] = {shard1, name};
        ms_sweep_result r;
        clean_merged();
        st = ms_sweep_merge(inputs, 2, merged, &r);
        clean_merged();
    } else {
        st = restart_reader(name);
    }
    ms_h5r_set_image(NULL, NULL, 0);
    if (st != MS_OK &&
        (!(st == MS_EINPUT || st == MS_ENOMEM) ||
         (st == MS_EINPUT && !strstr(ms_error_message(), ": error: ")))) {
        fprintf(stderr, "fuzz_h5: reader %d refused with status %d and "
                "message '%s'\n", sel, (int)st, ms_error_message());
        abort();
    }
    ms_error_clear();
    if (ms_alloc_live_bytes() != live) {
        fprintf(stderr, "fuzz_h5: reader %d: %zu bytes live before, %zu "
                "after\n", sel, live, ms_alloc_live_bytes());
        abort();
    }
    return 0;
}
