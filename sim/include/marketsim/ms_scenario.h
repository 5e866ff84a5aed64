/*
 * ms_scenario.h: reading, checking and printing scenario files.
 *
 * A scenario is one YAML file with the sections run, model, output, markets,
 * categories and firms. One parameter table (ms_params_*) drives the reader,
 * `--set KEY=VALUE` overrides, `marketsim params` and the resolved copy of
 * the scenario written into every result file.
 */
#ifndef MS_SCENARIO_H
#define MS_SCENARIO_H

#include "marketsim/ms_error.h"

#include <stdio.h>

typedef struct ms_scenario ms_scenario;

/* Read and validate `path`, applying the `n_sets` overrides ("KEY=VALUE")
 * first. All problems found are reported in one MS_EINPUT message, one
 * "FILE:LINE:COL: error: ..." line each. */
ms_status ms_scenario_load(const char *path, const char *const *sets,
                           int n_sets, ms_scenario **out);
/* The same from text in memory (`src_name` appears in messages). */
ms_status ms_scenario_load_string(const char *text, const char *src_name,
                                  const char *const *sets, int n_sets,
                                  ms_scenario **out);
void ms_scenario_destroy(ms_scenario **s);
/* How many processes share the consumers of a run (the ranks of one
 * distributed run, default 1): loading checks that each one's slice fits
 * its memory. Set before ms_scenario_load. */
void ms_scenario_set_ranks(int ranks);
int ms_scenario_target_count(const ms_scenario *s);

/* The resolved scenario (every parameter, defaults filled in) as YAML that
 * reads back to the same scenario. Caller frees with ms_free. */
ms_status ms_scenario_to_yaml(const ms_scenario *s, char **out);

/* MS_OK if the resolved YAML reads back to the same scenario (it prints to
 * the very same text), as it must for a result file or checkpoint to
 * restart or repeat the run; else MS_EINPUT saying what does not read
 * back. `validate` and `run` check it before they start. */
ms_status ms_scenario_check_round_trip(const ms_scenario *s);

/* Check the targets' figure ids against the figure catalogue at
 * `catalogue` (seeds/figures.yaml: a `figures:` list of entries with an
 * `id`); MS_EINPUT with the scenario's FILE:LINE:COL for an unknown id or
 * a catalogue that cannot be read. */
ms_status ms_scenario_check_figures(const ms_scenario *s,
                                    const char *catalogue);

/* Print the parameter reference: plain text, or a Markdown table. */
void ms_params_print(FILE *f, int markdown);

#endif
