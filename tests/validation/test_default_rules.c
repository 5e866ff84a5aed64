/*
 * test_default_rules.c: the default scenario shows every firm rule of
 * MODEL.md at work, so a new user sees each in the first run: start-ups
 * enter; an acquisition of an emerging winner (a start-up at least
 * target_min_age steps old, with a positive NPV at the deal); stakes, only
 * in independent firms outside the investor's home market; an imitating
 * firm that changes its mix; a start-up that fails; and, from record 0 to
 * record 1, no firm's value doubles.
 *
 * Environment: MS_SOURCE_DIR, the repository root.
 */
#include "models/strategy.h"
#include "validation/vhelp.h"

#include <string.h>

static void test_default_rules(void)
{
    const char *root = getenv("MS_SOURCE_DIR");
    char path[4096];
    snprintf(path, sizeof path, "%s/scenarios/default.yaml", root ? root : ".");
    ms_scenario *sc;
    if (ms_scenario_load(path, NULL, 0, &sc) != MS_OK) {
        fprintf(stderr, "%s\n", ms_error_message());
        CU_FAIL_FATAL("cannot read scenarios/default.yaml");
    }
    ms_world *w;
    CU_ASSERT_EQUAL_FATAL(ms_world_create(sc, 0, &w), MS_OK);
    const int n0 = w->n_firms;
    int imitator = -1;
    for (int f = 0; f < n0; f++)
        if (w->learn[f] == MS_LEARN_IMITATE)
            imitator = f;
    CU_ASSERT_FATAL(imitator >= 0);
    double mix0[MS_N_STRATEGIES], v0[64];
    memcpy(mix0, &w->weights[(size_t)imitator * MS_N_STRATEGIES], sizeof mix0);
    for (int f = 0; f < n0 && f < 64; f++) {
        v0[f] = w->value[f];
        int64_t n = 0;
        for (size_t mc = 0; mc < (size_t)w->M * w->C; mc++)
            n += w->users[mc * w->F + f];
        if (n > 0)
            CU_ASSERT(w->revenue[f] > 0); /* accounts from record 0 */
    }
    int entries = 0, startup_deals = 0, stakes = 0, startup_exits = 0;
    for (int64_t t = 0; t < sc->run.steps; t++) {
        CU_ASSERT_EQUAL_FATAL(ms_world_step(w), MS_OK);
        if (t == 0)
            for (int f = 0; f < n0 && f < 64; f++)
                CU_ASSERT(w->value[f] < 2 * v0[f]);
        for (int i = 0; i < w->n_ev; i++) {
            const ms_event *e = &w->ev[i];
            switch (e->kind) {
            case MS_EV_ENTRY:
                entries++;
                break;
            case MS_EV_ACQUISITION:
                if (e->target >= n0) {
                    startup_deals++;
                    CU_ASSERT(t - w->birth[e->target] >=
                              sc->model.target_min_age);
                }
                break;
            case MS_EV_STAKE:
                stakes++;
                CU_ASSERT_EQUAL(w->owner[e->target], e->target);
                CU_ASSERT(e->market != w->home[e->actor]);
                break;
            case MS_EV_EXIT:
                startup_exits += e->actor >= n0;
                break;
            }
        }
    }
    const double *mix = &w->weights[(size_t)imitator * MS_N_STRATEGIES];
    int moved = memcmp(mix, mix0, sizeof mix0) != 0;
    printf("\n    %d entries, %d start-ups bought, %d stakes, %d start-ups "
           "gone, imitator %s its mix\n", entries, startup_deals, stakes,
           startup_exits, moved ? "changed" : "kept");
    CU_ASSERT(entries > 0);
    CU_ASSERT(startup_deals > 0);
    CU_ASSERT(stakes > 0);
    CU_ASSERT(startup_exits > 0);
    CU_ASSERT(moved);
    CU_ASSERT_EQUAL(ms_world_check(w), MS_OK);
    vh_free(&w, &sc);
}

static const ms_unit_test tests[] = {
    {"the default scenario shows every firm rule", test_default_rules},
    {NULL, NULL}};

MS_UNIT_MAIN("default_rules", tests)
