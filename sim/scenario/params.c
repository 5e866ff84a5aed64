/*
 * params.c: the parameter table.
 *
 * Every parameter of a scenario is one row here: where it lives, its type,
 * default, bounds, unit and meaning. The reader (scenario.c), `--set`,
 * `marketsim params`, docs/PARAMETERS.md and the resolved scenario written
 * into result files all come from this one table (Redis's config.c works
 * the same way). Adding a parameter is one row plus one struct field.
 */
#include "scenario/scenario_int.h"

#include <math.h>
#include <stddef.h>

#define RUN(f) offsetof(ms_run_spec, f)
#define MOD(f) offsetof(ms_model_spec, f)
#define OUT(f) offsetof(ms_output_spec, f)
#define MKT(f) offsetof(ms_market_spec, f)
#define CAT(f) offsetof(ms_category_spec, f)
#define FRM(f) offsetof(ms_firm_spec, f)
#define INF HUGE_VAL
/* Upper bound of the USD-per-user rates (arpu, unit_cost, gmv). Unbounded,
 * 1e308 USD per user overflowed revenue and cash to infinity in the first
 * step; at most 1e9, a year of the largest world (64 markets of 1e11
 * people, 16 categories) stays below 1e25 USD. */
#define MONEY_PER_USER 1e9

const char *const ms_strategy_names[MS_N_STRATEGIES] = {
    "experiment", "localize", "acquire", "invest"};

/* Only the MS_P_ENUM rows give `choices`; the others leave it NULL. */
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

const ms_param ms_param_table[] = {
    /* run */
    {MS_SEC_RUN, "steps", MS_P_INT, 120, 1, 1e7, 0, "steps", RUN(steps),
     "number of steps to simulate"},
    {MS_SEC_RUN, "dt", MS_P_REAL, 1.0 / 12, 0, 1, MS_PF_LO_OPEN, "years",
     RUN(dt), "length of a step (1/12 is a month; fractions like 1/52 allowed)"},
    {MS_SEC_RUN, "seed", MS_P_SEED, 1, 0, 18446744073709551615.0, 0, "-",
     RUN(seed), "key of every random stream: same seed, same results"},
    {MS_SEC_RUN, "people_per_agent", MS_P_REAL, 1000, 0, INF, MS_PF_LO_OPEN,
     "people", RUN(people_per_agent),
     "people one consumer agent stands for; a market has "
     "round(population / people_per_agent) agents"},
    {MS_SEC_RUN, "start_year", MS_P_REAL, 2020, -1e4, 1e4, 0, "year",
     RUN(start_year), "calendar year at t = 0 (only labels the time axis)"},

    /* model */
    {MS_SEC_MODEL, "lambda", MS_P_REAL, 1, 0, 100, 0, "utils",
     MOD(lambda), "weight of the foreignness penalty per unit of cultural "
     "distance: utility loses lambda * phi_i * CD * (1 - L)"},
    {MS_SEC_MODEL, "sigma_nu", MS_P_REAL, 0.5, 0, 5, 0, "-", MOD(sigma_nu),
     "sd of log innovativeness: nu_i = exp(sigma_nu z - sigma_nu^2 / 2), "
     "z standard normal, so nu has mean 1"},
    {MS_SEC_MODEL, "eta", MS_P_REAL, 0.5, -20, 20, 0, "utils", MOD(eta),
     "utility bonus for the firm whose host app the consumer already uses"},
    {MS_SEC_MODEL, "iota", MS_P_REAL, 0.5, 0, 1, 0, "-", MOD(iota),
     "weight of a partner's users in a firm's network share "
     "(interoperability)"},
    {MS_SEC_MODEL, "revenue_multiple", MS_P_REAL, 5, 0, 1000, 0,
     "years", MOD(revenue_multiple),
     "firm value per USD of annualized revenue: V = multiple * R/dt + W + "
     "stakes"},
    {MS_SEC_MODEL, "var_pdi", MS_P_REAL, 463.4, 0, INF, MS_PF_LO_OPEN, "-",
     MOD(var_pdi), "variance of Hofstede power distance (Kogut-Singh)"},
    {MS_SEC_MODEL, "var_idv", MS_P_REAL, 562.8, 0, INF, MS_PF_LO_OPEN, "-",
     MOD(var_idv), "variance of Hofstede individualism (Kogut-Singh)"},
    {MS_SEC_MODEL, "var_mas", MS_P_REAL, 375.6, 0, INF, MS_PF_LO_OPEN, "-",
     MOD(var_mas), "variance of Hofstede masculinity (Kogut-Singh)"},
    {MS_SEC_MODEL, "var_uai", MS_P_REAL, 541.4, 0, INF, MS_PF_LO_OPEN, "-",
     MOD(var_uai), "variance of Hofstede uncertainty avoidance "
     "(Kogut-Singh)"},
    {MS_SEC_MODEL, "exit_patience", MS_P_INT, 6, 1, 1e6, 0, "steps",
     MOD(exit_patience), "a group head with negative cash this many steps "
     "in a row leaves every market (subsidiaries never exit for cash)"},
    {MS_SEC_MODEL, "divest_patience", MS_P_INT, 24, 1, 1e6, 0, "steps",
     MOD(divest_patience), "an owner closes a subsidiary whose operating "
     "profit has been negative this many steps in a row"},
    {MS_SEC_MODEL, "entry_rate", MS_P_REAL, 0, 0, 1000, 0, "1/year",
     MOD(entry_rate), "local start-ups per market and category: "
     "Poisson(entry_rate * dt) each step"},
    {MS_SEC_MODEL, "entry_gap", MS_P_REAL, 0.5, -50, 50, 0, "utils",
     MOD(entry_gap), "a start-up's quality: best local quality minus "
     "entry_gap plus a normal draw of sd entry_sd"},
    {MS_SEC_MODEL, "entry_sd", MS_P_REAL, 0.3, 0, 50, 0, "utils",
     MOD(entry_sd), "sd of the start-up's quality draw"},
    {MS_SEC_MODEL, "entry_cash", MS_P_REAL, 1e7, 0, 1e15, 0, "USD",
     MOD(entry_cash), "W_entry: cash a start-up begins with"},
    {MS_SEC_MODEL, "entry_beta", MS_P_REAL, 0, 0, 100, 0, "1/year",
     MOD(entry_beta), "budget rate of start-ups (their mix is equal "
     "weights, fixed)"},
    {MS_SEC_MODEL, "max_entrants", MS_P_INT, 200, 0, 60000, 0, "firms",
     MOD(max_entrants), "room for start-ups over the run; entries beyond "
     "it are dropped and counted in the output"},
    {MS_SEC_MODEL, "w0", MS_P_REAL, 0.15, 0, 50, 0, "utils", MOD(w0),
     "experiment draws are w * (2 Beta(3,3) - 1) with w = w0 * boldness"},
    {MS_SEC_MODEL, "cost_experiment", MS_P_REAL, 5e7, 0, 1e15,
     MS_PF_LO_OPEN, "USD", MOD(cost_experiment),
     "cost of one experiment: Poisson(budget / cost) experiments a step"},
    {MS_SEC_MODEL, "live_share", MS_P_REAL, 0.2, 0, 1, 0, "-",
     MOD(live_share), "exposure = boldness * live_share: how much of a "
     "failed experiment the firm's users feel in that step"},
    {MS_SEC_MODEL, "zeta", MS_P_REAL, 0.1, 0, 100, 0, "-", MOD(zeta),
     "imitation: chance 1 - exp(-zeta * experiments) a step of closing part "
     "of the gap to the best quality in the firm's markets"},
    {MS_SEC_MODEL, "theta", MS_P_REAL, 0.3, 0, 1, 0, "-", MOD(theta),
     "share of the quality gap one imitation closes"},
    {MS_SEC_MODEL, "p_launch", MS_P_REAL, 0.2, 0, 1, 0, "-", MOD(p_launch),
     "chance that one experiment launches a hosted format not yet launched"},
    {MS_SEC_MODEL, "launch_gap", MS_P_REAL, 0.5, -50, 50, 0, "utils",
     MOD(launch_gap), "a newly launched format starts at the host app's "
     "quality minus this (when the firm did not offer it before)"},
    {MS_SEC_MODEL, "rho", MS_P_REAL, 0.1, 0, 50, 0, "utils", MOD(rho),
     "clutter: host app quality lost per unit of prominence of each "
     "featured format"},
    {MS_SEC_MODEL, "k_L", MS_P_REAL, 1, 0, 1000, 0, "-", MOD(k_L),
     "localization: L += (1 - L)(1 - exp(-k_L * spend / (population * "
     "c_L)))"},
    {MS_SEC_MODEL, "c_L", MS_P_REAL, 1, 0, 1e9, MS_PF_LO_OPEN, "USD/person",
     MOD(c_L), "cost per person of full localization"},
    {MS_SEC_MODEL, "L0", MS_P_REAL, 0.1, 0, 1, 0, "-", MOD(L0),
     "localization right after organic entry into a market"},
    {MS_SEC_MODEL, "weak_share", MS_P_REAL, 0.1, 0, 1, 0, "-",
     MOD(weak_share), "a group is weak in a market (or market and "
     "category) where its user share is below this: acquisition and "
     "investment targets are there"},
    {MS_SEC_MODEL, "premium", MS_P_REAL, 0.3, 0, 100, 0, "-",
     MOD(premium), "acquisition price = (1 + premium) * target value"},
    {MS_SEC_MODEL, "synergy", MS_P_REAL, 1, 0, 100, 0, "1/util",
     MOD(synergy), "NPV of a deal = (exp(synergy * lead) - 1 - premium) * "
     "target value, lead = the acquirer's user-weighted quality lead over "
     "the target; only deals with NPV > 0 happen"},
    {MS_SEC_MODEL, "target_min_age", MS_P_INT, 12, 0, 1e6, 0, "steps",
     MOD(target_min_age), "an acquisition target (an emerging winner) is "
     "at least this old (scenario firms count as established)"},
    {MS_SEC_MODEL, "target_min_share", MS_P_REAL, 0.05, 0, 1, 0, "-",
     MOD(target_min_share), "an emerging winner holds at least this share "
     "of the adopters of some category in its home market"},
    {MS_SEC_MODEL, "gamma_int", MS_P_REAL, 2, 0, 1000, 0, "1/year",
     MOD(gamma_int), "integration: a subsidiary closes 1 - exp(-gamma_int "
     "dt) of its quality gap to its owner each step"},
    {MS_SEC_MODEL, "deal_churn", MS_P_REAL, 0.3, 0, 1, 0, "-",
     MOD(deal_churn), "chance each user of an acquired firm re-evaluates "
     "at the deal"},
    {MS_SEC_MODEL, "stake", MS_P_REAL, 0.2, 0, 1, MS_PF_LO_OPEN, "-",
     MOD(stake), "sigma: share of the target one investment buys, for "
     "sigma * its value"},
    {MS_SEC_MODEL, "psi", MS_P_REAL, 0.6, 0, 1000, 0, "1/year", MOD(psi),
     "mentoring: a partner closes 1 - exp(-psi sigma dt) of its quality gap "
     "to the investor each step"},
    {MS_SEC_MODEL, "payout", MS_P_REAL, 0.5, 0, 1, 0, "-", MOD(payout),
     "dividends: a firm pays sigma * payout * max(profit, 0) to each "
     "stakeholder each step"},
    {MS_SEC_MODEL, "strategy_period", MS_P_INT, 12, 1, 1e6, 0, "steps",
     MOD(strategy_period), "steps between updates of learning firms' "
     "strategy mix"},
    {MS_SEC_MODEL, "re_phi", MS_P_REAL, 0.1, 0, 1, 0, "-", MOD(re_phi),
     "Roth-Erev forgetting: q <- (1 - re_phi) q + E"},
    {MS_SEC_MODEL, "re_eps", MS_P_REAL, 0.2, 0, 1, 0, "-", MOD(re_eps),
     "Roth-Erev experimentation: the allocation used gets r (1 - re_eps), "
     "the others r re_eps / (K - 1)"},
    {MS_SEC_MODEL, "m_imit", MS_P_REAL, 0.3, 0, 1, 0, "-", MOD(m_imit),
     "imitate: chance a period of copying the mix of the fastest-growing "
     "firm from the same home market"},
    {MS_SEC_MODEL, "m_noise", MS_P_REAL, 0.05, 0, 10, 0, "-",
     MOD(m_noise), "imitate: sd of the normal noise added to each copied "
     "weight (then clipped at 0 and renormalized)"},

    /* output */
    {MS_SEC_OUTPUT, "every", MS_P_INT, 1, 1, 1e7, 0, "steps", OUT(every),
     "write the state every this many steps (the last step is always "
     "written)"},
    {MS_SEC_OUTPUT, "datasets", MS_P_NAME_LIST, NAN, 0, 0, MS_PF_NAN_OK, "-",
     OUT(datasets), "datasets to keep, e.g. [adopters, users, cash]; all "
     "when not given (see docs/OUTPUT.md for the names)"},

    /* markets.<name> */
    {MS_SEC_MARKET, "population", MS_P_REAL, NAN, 0, 1e11, MS_PF_REQUIRED,
     "people", MKT(population), "people living in the market"},
    {MS_SEC_MARKET, "openness", MS_P_REAL, 1, 0, 1, 0, "-", MKT(openness),
     "0 closed to foreign firms, 1 open; entry cost is divided by it"},
    {MS_SEC_MARKET, "foreign_acquisitions", MS_P_BOOL, 1, 0, 1, 0, "-",
     MKT(foreign_acquisitions),
     "whether foreign firms may acquire local firms"},
    {MS_SEC_MARKET, "hhi_max", MS_P_REAL, 0.25, 0, 1, 0, "-", MKT(hhi_max),
     "antitrust: a deal is blocked if it pushes the market's group HHI "
     "above hhi_max with a rise above dhhi_max"},
    {MS_SEC_MARKET, "dhhi_max", MS_P_REAL, 0.01, 0, 1, 0, "-", MKT(dhhi_max),
     "antitrust: largest allowed rise of the group HHI from a deal that ends "
     "above hhi_max"},
    {MS_SEC_MARKET, "pdi", MS_P_REAL, NAN, 0, 120, MS_PF_NAN_OK, "score",
     MKT(pdi), "Hofstede power distance"},
    {MS_SEC_MARKET, "idv", MS_P_REAL, NAN, 0, 120, MS_PF_NAN_OK, "score",
     MKT(idv), "Hofstede individualism"},
    {MS_SEC_MARKET, "mas", MS_P_REAL, NAN, 0, 120, MS_PF_NAN_OK, "score",
     MKT(mas), "Hofstede masculinity"},
    {MS_SEC_MARKET, "uai", MS_P_REAL, NAN, 0, 120, MS_PF_NAN_OK, "score",
     MKT(uai), "Hofstede uncertainty avoidance"},
    {MS_SEC_MARKET, "presence_cost", MS_P_REAL, 0, 0, 1e15, 0, "USD/year",
     MKT(presence_cost), "F_m: fixed cost of being present in the market"},
    {MS_SEC_MARKET, "entry_cost", MS_P_REAL, 1e8, 0, 1e15, 0, "USD",
     MKT(entry_cost), "cost of organic entry; a firm pays entry_cost / "
     "openness (closed markets cannot be entered)"},
    {MS_SEC_MARKET, "distance", MS_P_BY_MARKET, NAN, 0, 100, MS_PF_NAN_OK,
     "-", MKT(distance),
     "explicit cultural distance to other markets, e.g. {US: 3.23}; "
     "overrides the Kogut-Singh index of the Hofstede scores; symmetric"},

    /* categories.<name> */
    {MS_SEC_CATEGORY, "p", MS_P_REAL, 0.03, 0, 100, 0, "1/year", CAT(p),
     "Bass innovation rate"},
    {MS_SEC_CATEGORY, "q", MS_P_REAL, 0.38, 0, 100, 0, "1/year", CAT(q),
     "Bass imitation rate"},
    {MS_SEC_CATEGORY, "gamma", MS_P_REAL, 1, 0, 100, 0, "utils",
     CAT(gamma), "network weight: utility gains gamma * network share"},
    {MS_SEC_CATEGORY, "churn", MS_P_REAL, 0.5, 0, 1e6, 0, "1/year",
     CAT(churn), "chi: rate at which an adopter re-evaluates its firm"},
    {MS_SEC_CATEGORY, "switching_cost", MS_P_REAL, 0, 0, 100, 0, "utils",
     CAT(switching_cost), "k_sw: subtracted from every firm but the current "
     "one when re-evaluating"},
    {MS_SEC_CATEGORY, "host", MS_P_CATEGORY, -1, 0, 0, 0, "-", CAT(host),
     "category whose app can feature this format (live commerce is hosted "
     "by e-commerce), or none"},
    {MS_SEC_CATEGORY, "p_feature", MS_P_REAL, 0, 0, 100, 0, "1/year",
     CAT(p_feature), "adoption rate added for users of a host app that "
     "features the format with prominence 1"},
    {MS_SEC_CATEGORY, "unit_cost", MS_P_REAL, 0, 0, MONEY_PER_USER, 0,
     "USD/user/year", CAT(unit_cost), "v_c: cost of serving one user"},
    {MS_SEC_CATEGORY, "arpu", MS_P_BY_MARKET, 0, 0, MONEY_PER_USER, 0,
     "USD/user/year",
     CAT(arpu), "revenue per user: one number for all markets, or "
     "{market: number}"},
    {MS_SEC_CATEGORY, "ceiling", MS_P_BY_MARKET, 1, 0, 1, MS_PF_LO_OPEN, "-",
     CAT(ceiling), "kappa: share of the population that can ever adopt"},
    {MS_SEC_CATEGORY, "gmv", MS_P_BY_MARKET, 0, 0, MONEY_PER_USER, 0,
     "USD/user/year",
     CAT(gmv), "merchandise value per user (commerce categories; 0: none)"},
    {MS_SEC_CATEGORY, "initial_adopters", MS_P_BY_MARKET, 0, 0, 1, 0, "-",
     CAT(initial_adopters), "share of potential adopters using the category "
     "at t = 0; they pick firms by the logit without network effects"},

    /* firms.<name> */
    {MS_SEC_FIRM, "home", MS_P_MARKET, NAN, 0, 0, MS_PF_REQUIRED, "-",
     FRM(home), "home market (where L = 1 always)"},
    {MS_SEC_FIRM, "cash", MS_P_REAL, 1e8, -1e15, 1e15, 0, "USD", FRM(cash),
     "W: cash at t = 0"},
    {MS_SEC_FIRM, "monetization", MS_P_REAL, 1, 0, 1, 0, "-",
     FRM(monetization), "mu: share of arpu the firm captures"},
    {MS_SEC_FIRM, "quality", MS_P_BY_CATEGORY, NAN, -50, 50, MS_PF_REQUIRED,
     "utils", FRM(quality), "log-quality a per category it offers, e.g. "
     "{ecommerce: 1.0}; the firm offers exactly these categories"},
    {MS_SEC_FIRM, "markets", MS_P_MARKET_SET, 0, 0, 0, 0, "-",
     FRM(present), "markets where it is present at t = 0 (home is always "
     "included)"},
    {MS_SEC_FIRM, "localization", MS_P_BY_MARKET, 0, 0, 1, 0, "-",
     FRM(localization), "L at t = 0 per market, in [0,1]; 1 at home"},
    {MS_SEC_FIRM, "prominence", MS_P_REAL, 0.05, 0, 1, 0, "-",
     FRM(prominence), "pi_f: how prominently it features launched formats "
     "(1: the middle of the front page, 0.05: buried in a subpage)"},
    {MS_SEC_FIRM, "launched", MS_P_CATEGORY_SET, 0, 0, 0, 0, "-",
     FRM(launched), "hosted formats it has launched (and features) at t = 0 "
     "in every market where it serves the host"},
    {MS_SEC_FIRM, "strategy", MS_P_BY_STRATEGY, 0.25, 0, 1, 0, "-",
     FRM(weights), "strategy mix w on the simplex, e.g. {experiment: 0.5, "
     "localize: 0.5}; strategies left out get 0; equal when not given"},
    {MS_SEC_FIRM, "beta", MS_P_REAL, 0, 0, 100, 0, "1/year", FRM(beta),
     "budget rate: a step spends 1 - exp(-beta dt) of positive cash on "
     "strategies (0: a static firm)"},
    {MS_SEC_FIRM, "boldness", MS_P_REAL, 1, 0, 100, 0, "-", FRM(boldness),
     "b: width of experiments (w = w0 b) and exposure of failures to users"},
    {MS_SEC_FIRM, "learning", MS_P_ENUM, 0, 0, 0, 0, "-", FRM(learning),
     "how the mix changes: fixed, roth_erev (reinforcement over ten "
     "allocations) or imitate (copy the fastest-growing peer)", 
     "fixed|roth_erev|imitate"},
};

const int ms_param_count = (int)(sizeof ms_param_table / sizeof ms_param_table[0]);

const char *ms_section_name(ms_section s)
{
    static const char *names[] = {"run", "model", "output",
                                  "markets", "categories", "firms"};
    return s < MS_SEC_COUNT ? names[s] : "?";
}

const char *ms_section_path(ms_section s)
{
    static const char *paths[] = {"run", "model", "output", "markets.<name>",
                                  "categories.<name>", "firms.<name>"};
    return s < MS_SEC_COUNT ? paths[s] : "?";
}
