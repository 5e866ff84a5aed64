/*
 * fuzz_sweep.c: libFuzzer target for the sweep reader.
 *
 * The input is a sweep file's text, read by ms_sweep_load_string as if it
 * were scenarios/sweeps/fuzz.yaml, so that `scenario: ../default.yaml` (the
 * seeds of scenarios/sweeps/) finds the default scenario. The reader loads
 * that scenario, applies `set`, lays out the design and checks up to 10000
 * of its points against the scenario. A sweep it accepts must have runs;
 * one it refuses must say why, with the status of bad input or out of
 * memory. Every input gives back the memory it took. (The --dry-run text,
 * ms_sweep_describe, is left out: it builds the base scenario's world,
 * which `set: {run.people_per_agent: 1}` makes gigabytes large.)
 *
 * The scenario path comes from the input, so an input could name any file;
 * inputs naming a path under dev/, proc/ or sys/ are skipped, so the
 * fuzzer never reads /dev/zero or a terminal.
 */
#include "marketsim/ms_alloc.h"
#include "marketsim/ms_error.h"
#include "marketsim/ms_sweep.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef MS_FUZZ_SWEEP_PATH
#error "MS_FUZZ_SWEEP_PATH: where the sweep text is taken to be"
#endif

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int names_device(const char *text)
{
    return strstr(text, "dev/") || strstr(text, "proc/") ||
           strstr(text, "sys/");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    if (names_device(text)) {
        free(text);
        return 0;
    }
    size_t live = ms_alloc_live_bytes();
    ms_sweep *s = NULL;
    ms_status st = ms_sweep_load_string(text, MS_FUZZ_SWEEP_PATH, &s);
    free(text);
    if (st != MS_OK) {
        if (s || (st != MS_EINPUT && st != MS_ENOMEM) ||
            !ms_error_message()[0]) {
            fprintf(stderr, "fuzz_sweep: refused with status %d, message "
                    "'%s', sweep %p\n", (int)st, ms_error_message(),
                    (void *)s);
            abort();
        }
    } else {
        if (ms_sweep_run_count(s) < 1) {
            fprintf(stderr, "fuzz_sweep: accepted with %lld runs\n",
                    (long long)ms_sweep_run_count(s));
            abort();
        }
        ms_sweep_destroy(&s);
    }
    ms_error_clear();
    if (ms_alloc_live_bytes() != live) {
        fprintf(stderr, "fuzz_sweep: %zu bytes live before, %zu after\n",
                live, ms_alloc_live_bytes());
        abort();
    }
    return 0;
}
