/*
 * fuzz_scenario.c: libFuzzer target for the scenario reader.
 *
 * The input is a scenario text. If ms_scenario_load_string accepts it, the
 * resolved YAML (ms_scenario_to_yaml) must load again and print to the very
 * same text: that is what every result file stores, and a run must be
 * reproducible from it. A broken round trip calls abort(), so libFuzzer
 * keeps the input as a crash. Everything else (memory errors, leaks,
 * undefined behaviour) is caught by ASan, LSan and UBSan.
 *
 * The text ends at the first NUL byte (ms_scenario_load_string takes a C
 * string); NUL bytes in files are the file reader's business
 * (tests/data/bad/77_binary.yaml).
 *
 * Build and run: tests/fuzz/run-fuzz.sh SECONDS.
 */
#include "marketsim/ms_alloc.h"
#include "marketsim/ms_error.h"
#include "marketsim/ms_scenario.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SRC "fuzz.yaml"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The allocation wrapper's count of live bytes is back where it was. */
static void check_live(size_t before)
{
    if (ms_alloc_live_bytes() != before) {
        fprintf(stderr, "fuzz_scenario: %zu bytes live before, %zu after\n",
                before, ms_alloc_live_bytes());
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* Every input must give back all it allocated. */
    size_t live = ms_alloc_live_bytes();
    char *text = malloc(size + 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';

    ms_scenario *sc = NULL;
    ms_status st = ms_scenario_load_string(text, SRC, NULL, 0, &sc);
    free(text);
    if (st != MS_OK) {
        /* Refused: a message, a status of bad input or out of memory, and
         * nothing returned. */
        if (sc || (st != MS_EINPUT && st != MS_ENOMEM) ||
            !ms_error_message()[0]) {
            fprintf(stderr, "fuzz_scenario: refused with status %d, "
                    "message '%s', scenario %p\n", (int)st,
                    ms_error_message(), (void *)sc);
            abort();
        }
        ms_error_clear();
        check_live(live);
        return 0;
    }

    char *yaml1 = NULL, *yaml2 = NULL;
    ms_scenario *again = NULL;
    if (ms_scenario_to_yaml(sc, &yaml1) != MS_OK) {
        fprintf(stderr, "fuzz_scenario: to_yaml failed: %s\n",
                ms_error_message());
        abort();
    }
    st = ms_scenario_load_string(yaml1, SRC, NULL, 0, &again);
    if (st != MS_OK) {
        fprintf(stderr, "fuzz_scenario: the resolved YAML does not load "
                "again:\n%s\n--- resolved YAML:\n%s\n", ms_error_message(),
                yaml1);
        abort();
    }
    if (ms_scenario_to_yaml(again, &yaml2) != MS_OK) {
        fprintf(stderr, "fuzz_scenario: to_yaml (2) failed: %s\n",
                ms_error_message());
        abort();
    }
    if (strcmp(yaml1, yaml2) != 0) {
        fprintf(stderr, "fuzz_scenario: the round trip changed the "
                "scenario\n--- first:\n%s\n--- again:\n%s\n", yaml1, yaml2);
        abort();
    }
    ms_free(yaml1);
    ms_free(yaml2);
    ms_scenario_destroy(&again);
    ms_scenario_destroy(&sc);
    ms_error_clear();
    check_live(live);
    return 0;
}
