/*
 * fuzz_set.c: libFuzzer target for `--set KEY=VALUE`.
 *
 * The first line of the input (up to '\n' or a NUL byte) is one --set
 * argument, applied to the fixed valid scenario tests/fuzz/set_base.yaml
 * through ms_scenario_load_string(text, name, sets, 1, &sc): the path is
 * walked and created in the YAML tree (ms_ytree_set), the value is parsed
 * as YAML, and the result is validated like a file. As in fuzz_scenario, a
 * scenario that loads must round-trip through its resolved YAML to the
 * same text, and every input must give back the memory it took.
 *
 * The base scenario's path is compiled in (MS_FUZZ_SET_BASE) and read
 * once, at start-up.
 */
#include "marketsim/ms_alloc.h"
#include "marketsim/ms_error.h"
#include "marketsim/ms_scenario.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef MS_FUZZ_SET_BASE
#error "MS_FUZZ_SET_BASE: path of tests/fuzz/set_base.yaml"
#endif

#define SRC "set_base.yaml"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char *base_text;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    FILE *f = fopen(MS_FUZZ_SET_BASE, "rb");
    if (!f) {
        perror(MS_FUZZ_SET_BASE);
        abort();
    }
    static char buf[1 << 16];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    base_text = buf;
    /* The base must load, or every input would only test the refusal. */
    ms_scenario *sc = NULL;
    if (ms_scenario_load_string(base_text, SRC, NULL, 0, &sc) != MS_OK) {
        fprintf(stderr, "fuzz_set: %s does not load:\n%s\n",
                MS_FUZZ_SET_BASE, ms_error_message());
        abort();
    }
    ms_scenario_destroy(&sc);
    return 0;
}

static void check_live(size_t before)
{
    if (ms_alloc_live_bytes() != before) {
        fprintf(stderr, "fuzz_set: %zu bytes live before, %zu after\n",
                before, ms_alloc_live_bytes());
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t len = 0;
    while (len < size && data[len] != '\n' && data[len] != '\0')
        len++;
    char *arg = malloc(len + 1);
    if (!arg)
        return 0;
    memcpy(arg, data, len);
    arg[len] = '\0';
    const char *sets[1] = {arg};

    size_t live = ms_alloc_live_bytes();
    ms_scenario *sc = NULL;
    ms_status st = ms_scenario_load_string(base_text, SRC, sets, 1, &sc);
    if (st != MS_OK) {
        /* A bad --set is bad usage (no '=') or bad input, never more. */
        if (sc || (st != MS_EINPUT && st != MS_EUSAGE && st != MS_ENOMEM) ||
            !ms_error_message()[0]) {
            fprintf(stderr, "fuzz_set: --set '%s' refused with status %d, "
                    "message '%s'\n", arg, (int)st, ms_error_message());
            abort();
        }
        ms_error_clear();
        free(arg);
        check_live(live);
        return 0;
    }

    char *yaml1 = NULL, *yaml2 = NULL;
    ms_scenario *again = NULL;
    if (ms_scenario_to_yaml(sc, &yaml1) != MS_OK) {
        fprintf(stderr, "fuzz_set: to_yaml failed: %s\n", ms_error_message());
        abort();
    }
    if (ms_scenario_load_string(yaml1, SRC, NULL, 0, &again) != MS_OK) {
        fprintf(stderr, "fuzz_set: after --set '%s' the resolved YAML does "
                "not load again:\n%s\n--- resolved YAML:\n%s\n", arg,
                ms_error_message(), yaml1);
        abort();
    }
    if (ms_scenario_to_yaml(again, &yaml2) != MS_OK) {
        fprintf(stderr, "fuzz_set: to_yaml (2) failed: %s\n",
                ms_error_message());
        abort();
    }
    if (strcmp(yaml1, yaml2) != 0) {
        fprintf(stderr, "fuzz_set: after --set '%s' the round trip changed "
                "the scenario\n--- first:\n%s\n--- again:\n%s\n", arg, yaml1,
                yaml2);
        abort();
    }
    ms_free(yaml1);
    ms_free(yaml2);
    ms_scenario_destroy(&again);
    ms_scenario_destroy(&sc);
    ms_error_clear();
    free(arg);
    check_live(live);
    return 0;
}
