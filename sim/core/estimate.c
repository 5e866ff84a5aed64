/*
 * estimate.c: what one run will need, before it runs (`marketsim run
 * --dry-run`): agents, memory per rank, and time per step for K ranks.
 *
 * Memory is counted from the layout: a rank holds its slice of the
 * consumers (innovativeness, a one-byte bucket code, and one choice of cw
 * bytes per category: 1 + C cw bytes each), the block table of all
 * consumers (every rank keeps it: sizeof(ms_block) and the block's
 * smallest and largest nu, two floats, per block of MS_BLOCK), and a
 * part that does not grow with consumers (firms, aggregates, the choice
 * tables, the threads' count arrays), measured by building a sample world.
 *
 * Time is measured, then scaled: a sample of the scenario with at most
 * MS_SAMPLE_AGENTS consumer agents (people_per_agent raised in proportion;
 * every rate per agent is the same) runs its first steps on this process
 * with the threads asked for. The consumer phase costs a time per agent
 * and step; the other phases a time per step that does not depend on
 * consumers. For K ranks a step is the consumer time of the largest slice,
 * plus the other phases (every rank runs them, replicated), plus one sum
 * of M * C * (F + 1) 64-bit integers over the ranks, modelled as a ring
 * allreduce: 2 log2(K) latencies of MS_NET_LATENCY plus twice the bytes
 * over MS_NET_BANDWIDTH. Work per agent grows with the events of a step
 * (adoption, churn, choice), so a sample from the start of the run is
 * what it says: the early steps.
 */
#include "marketsim/ms_run.h"

#include "core/world_int.h"
#include "marketsim/ms_alloc.h"

#include <math.h>
#include <omp.h>
#include <string.h>

#define MS_SAMPLE_AGENTS 200000.0
#define MS_SAMPLE_STEPS 12
#define MS_NET_LATENCY 2e-6    /* s per message: an InfiniBand-class link */
#define MS_NET_BANDWIDTH 1e10  /* bytes/s per link */

ms_status ms_run_estimate_cost(const ms_scenario *sc, int ranks, int threads,
                               ms_run_estimate *e)
{
    memset(e, 0, sizeof *e);
    if (ranks < 1)
        ranks = 1;
    const double ppa = sc->run.people_per_agent;
    double N = 0;
    for (int m = 0; m < sc->n_markets; m++)
        N += floor(sc->markets[m].population / ppa + 0.5);
    const int M = sc->n_markets, C = sc->n_categories;
    const int F = sc->n_firms + (int)sc->model.max_entrants;
    const int cw = F <= MS_CHOICE8_MAX ? 1 : 2;
    e->consumers = N;
    e->ranks = ranks;
    e->markets = M;
    e->categories = C;
    e->firm_slots = F;
    e->comm_ints = (double)M * C * (F + 1);
    /* The largest slice: N / K rounded up, plus at most a block. */
    double slice = ceil(N / ranks);
    if (ranks > 1)
        slice = fmin(N, slice + MS_BLOCK);
    e->consumers_per_rank = slice;
    e->bytes_per_consumer = 1.0 + (double)C * cw;
    e->bytes_per_block = (double)(sizeof(ms_block) + 2 * sizeof(float));

    /* The sample: the same scenario with fewer, larger agents. */
    ms_scenario tmp = *sc; /* shallow: shares the arrays, frees nothing */
    double scale = N > MS_SAMPLE_AGENTS ? N / MS_SAMPLE_AGENTS : 1;
    tmp.run.people_per_agent = ppa * scale;
    tmp.n_targets = 0;
    size_t before = ms_alloc_live_bytes();
    ms_alloc_reset_peak();
    ms_world *w;
    MS_CALL(ms_world_create(&tmp, threads, &w));
    double built = (double)(ms_alloc_peak_bytes() - before);
    const double Ns = w->N;
    e->sample_consumers = Ns;
    e->threads = w->n_threads;
    e->bytes_fixed = fmax(0, built - Ns * e->bytes_per_consumer -
                                 (double)w->n_blocks * e->bytes_per_block);
    int steps = (int)(sc->run.steps < MS_SAMPLE_STEPS ? sc->run.steps
                                                      : MS_SAMPLE_STEPS);
    ms_status st = MS_OK;
    for (int s = 0; s < steps && st == MS_OK; s++)
        st = ms_world_step(w);
    double cons = 0, other = 0;
    for (int i = 0; i < ms_world_phase_count(); i++) {
        double sec = ms_world_phase_seconds(w, i);
        if (!strcmp(ms_world_phase_name(i), "consumers"))
            cons += sec;
        else
            other += sec;
    }
    ms_world_destroy(&w);
    MS_CALL(st);
    e->sample_steps = steps;
    e->sec_per_agent_step = steps > 0 && Ns > 0 ? cons / (steps * Ns) : 0;
    e->sec_other_per_step = steps > 0 ? other / steps : 0;
    double bytes = e->comm_ints * 8;
    e->sec_comm_per_step =
        ranks > 1 ? 2 * ceil(log2(ranks)) * MS_NET_LATENCY +
                        2 * bytes / MS_NET_BANDWIDTH
                  : 0;
    e->net_latency = MS_NET_LATENCY;
    e->net_bandwidth = MS_NET_BANDWIDTH;
    e->blocks = ceil(N / MS_BLOCK) + M;
    e->block_size = MS_BLOCK;
    e->bytes_per_rank = e->bytes_fixed + slice * e->bytes_per_consumer +
                        e->blocks * e->bytes_per_block;
    e->sec_per_step = e->sec_per_agent_step * slice + e->sec_other_per_step +
                      e->sec_comm_per_step;
    e->steps = sc->run.steps;
    return MS_OK;
}
