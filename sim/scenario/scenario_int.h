/*
 * scenario_int.h: the body of ms_scenario and the parameter table types.
 *
 * An ms_scenario is plain resolved data: every parameter has its value
 * (defaults filled in, names turned into indices, cultural distances
 * computed). The engine reads it at setup and never changes it.
 */
#ifndef MS_SCENARIO_INT_H
#define MS_SCENARIO_INT_H

#include "marketsim/ms_scenario.h"

#include <stddef.h>
#include <stdint.h>

#define MS_NAME_MAX 64
#define MS_MAX_MARKETS 64
#define MS_MAX_CATEGORIES 16
#define MS_MAX_FIRMS 65000      /* firm ids must fit the uint16 consumer state */
#define MS_CHOICE8_MAX 252      /* firm capacity that fits one-byte choices
                                   (core/world_int.h) */
#define MS_N_STRATEGIES 4

/* Strategies, in the order firms carry them out in a step. */
enum { MS_ST_EXPERIMENT, MS_ST_LOCALIZE, MS_ST_ACQUIRE, MS_ST_INVEST };
extern const char *const ms_strategy_names[MS_N_STRATEGIES];

/* How a firm chooses its strategy mix (MODEL.md section 7). */
enum { MS_LEARN_FIXED, MS_LEARN_ROTH_EREV, MS_LEARN_IMITATE };

typedef struct ms_run_spec {
    int64_t steps;              /* steps to simulate */
    double dt;                  /* years per step */
    uint64_t seed;              /* key of every random stream */
    double people_per_agent;    /* people one consumer agent stands for */
    double start_year;          /* calendar year of t = 0 (labels only) */
} ms_run_spec;

typedef struct ms_model_spec {
    double lambda;              /* weight of the foreignness penalty (utils per unit CD) */
    double sigma_nu;            /* sd of log innovativeness (nu lognormal, mean 1) */
    double eta;                 /* utility bonus of the firm whose host app one uses */
    double iota;                /* weight of a partner's users in the network share */
    double revenue_multiple;    /* firm value per USD of annual revenue */
    double var_pdi, var_idv, var_mas, var_uai; /* Hofstede variances (Kogut-Singh) */
    /* entry and exit */
    int64_t exit_patience;      /* steps of negative cash before a group head exits */
    int64_t divest_patience;    /* steps of operating loss before an owner closes a subsidiary */
    double entry_rate;          /* start-ups per market and category per year */
    double entry_gap;           /* utils below the best local quality */
    double entry_sd;            /* utils: sd of the entrant's quality draw */
    double entry_cash;          /* USD a start-up begins with */
    double entry_beta;          /* budget rate of start-ups, per year */
    int64_t max_entrants;       /* room kept for start-ups over the run */
    /* experiment */
    double w0;                  /* utils: draw width per unit boldness */
    double cost_experiment;     /* USD per experiment */
    double live_share;          /* share of a failure users see, per boldness */
    double zeta;                /* imitation intensity per experiment */
    double theta;               /* share of the quality gap imitation closes */
    double p_launch;            /* chance one experiment launches a format */
    double launch_gap;          /* utils: new format below the host app */
    double rho;                 /* utils of host quality lost per prominence */
    /* localize */
    double k_L;                 /* localization efficiency */
    double c_L;                 /* USD per person of full localization */
    double L0;                  /* localization right after organic entry */
    /* acquire */
    double weak_share;          /* a group is weak in a market below this */
    double premium;             /* acquisition premium over value */
    double synergy;             /* integration value per util of quality lead */
    int64_t target_min_age;     /* steps: youngest acquisition target */
    double target_min_share;    /* least adopter share of an emerging winner */
    double gamma_int;           /* per year: quality integration of subsidiaries */
    double deal_churn;          /* chance a target's user re-evaluates at the deal */
    /* invest */
    double stake;               /* sigma: share bought in one investment */
    double psi;                 /* per year: mentoring per unit of stake */
    double payout;              /* share of profit paid out as dividends */
    /* learning */
    int64_t strategy_period;    /* steps between learning updates */
    double re_phi, re_eps;      /* Roth-Erev forgetting and experimentation */
    double m_imit, m_noise;     /* imitation chance and noise sd */
} ms_model_spec;

typedef struct ms_output_spec {
    int64_t every;              /* write state every this many steps */
    char **datasets;            /* names kept, or NULL for all */
    int n_datasets;
} ms_output_spec;

typedef struct ms_market_spec {
    char *name;
    double population;          /* people */
    double openness;            /* [0,1]; 0 closed to foreign entry */
    int foreign_acquisitions;   /* foreign firms may buy local ones */
    double hhi_max, dhhi_max;   /* antitrust thresholds on group HHI (0..1) */
    double pdi, idv, mas, uai;  /* Hofstede scores (NaN: not given) */
    double presence_cost;       /* F_m: USD per year for each firm present */
    double entry_cost;          /* USD to enter organically (before openness) */
    double *distance;           /* [M] explicit cultural distance (NaN: from scores) */
} ms_market_spec;

typedef struct ms_category_spec {
    char *name;
    double p, q;                /* Bass innovation, imitation (per year) */
    double gamma;               /* network weight in utility */
    double churn;               /* chi: re-evaluation rate (per year) */
    double switching_cost;      /* k_sw, utils */
    int host;                   /* category that hosts this format, or -1 */
    double p_feature;           /* adoption rate per year added by full featuring */
    double unit_cost;           /* v_c: USD per user per year */
    double *arpu;               /* [M] USD per user per year */
    double *ceiling;            /* [M] kappa: share of people who can adopt */
    double *gmv;                /* [M] USD of merchandise per user per year (0: n/a) */
    double *initial_adopters;   /* [M] share of potential adopters at t = 0 */
} ms_category_spec;

typedef struct ms_firm_spec {
    char *name;
    int home;                   /* market index */
    double cash;                /* W at t = 0, USD */
    double monetization;        /* mu: share of arpu captured */
    double *quality;            /* [C] log-quality a; NaN: does not offer */
    double *present;            /* [M] 1 where present at t = 0 (home always) */
    double *localization;       /* [M] L at t = 0 (1 at home) */
    double prominence;          /* pi_f: how prominently launched formats are featured */
    double *launched;           /* [C] 1 for hosted formats launched at t = 0 */
    double *weights;            /* [MS_N_STRATEGIES] strategy mix, on the simplex */
    double beta;                /* budget rate per year */
    double boldness;            /* b: width of experiments, exposure of failures */
    int learning;               /* MS_LEARN_* */
} ms_firm_spec;

struct ms_ynode;

/* Targets: figures of the seed documents a scenario should reproduce
 * (sim/scenario/targets.c reads them, sim/core/targets.c evaluates). */
enum {
    MS_M_COUNT,         /* people using (market, category[, firm group]) */
    MS_M_SHARE,         /* firm group's share of users, or adopters/population */
    MS_M_REVENUE,       /* revenue per year of a firm group (or all firms) */
    MS_M_GMV,           /* merchandise value per year */
    MS_M_ABROAD_SHARE,  /* share of a group's revenue earned abroad */
    MS_M_GROWTH,        /* (x(to) - x(from)) / x(from) of a measure */
    MS_M_RATIO,         /* numerator / denominator */
    MS_M_COUNT_KINDS
};
extern const char *const ms_measure_names[MS_M_COUNT_KINDS];

typedef struct ms_measure {
    int kind;                    /* MS_M_* */
    int market, category, firm;  /* -1: all markets / all categories / none */
    double time;                 /* calendar year; NaN: the end of the run */
    double from, to;             /* growth: years */
    struct ms_measure *a, *b;    /* growth: a; ratio: a / b */
} ms_measure;

typedef struct ms_target {
    char *figure;                /* id in seeds/figures.yaml */
    int figure_line, figure_col; /* where the id is in the scenario (0: --set) */
    char *description;           /* or NULL */
    ms_measure m;
    double expected, tolerance;  /* in the measure's unit; NaN for a bound */
    double lo, hi;               /* accepted range: expected -+ tolerance, or
                                    the bounds min / max (-inf / inf if absent) */
    double scale;                /* calibration: distance counted as 1 (the
                                    tolerance, or half the bound's size) */
} ms_target;

/* 1 if a simulated value meets the target (NaN: never). */
int ms_target_pass(const ms_target *t, double sim);

struct ms_scenario {
    char *source;               /* file name it was read from */
    char *description;          /* free text, or NULL */
    ms_run_spec run;
    ms_model_spec model;
    ms_output_spec output;
    int n_markets, n_categories, n_firms;
    ms_market_spec *markets;
    ms_category_spec *categories;
    ms_firm_spec *firms;
    double *cd;                 /* [M*M] cultural distance CD(h, m) */
    int n_targets;
    ms_target *targets;
};

/* Read the `targets` list; problems go to diag(ctx, node, message). */
void ms_targets_read(ms_scenario *s, const struct ms_ynode *node,
                     void (*diag)(void *ctx, const struct ms_ynode *at,
                                  const char *msg),
                     void *ctx, int *oom);
void ms_targets_free(ms_scenario *s);
/* Append the targets as YAML to a growing buffer via put(ctx, text). */
void ms_targets_emit(const ms_scenario *s, void (*put)(void *ctx,
                                                       const char *text),
                     void *ctx);
/* Write s as a YAML double-quoted scalar that reads back unchanged. */
void ms_yaml_put_quoted(void (*put)(void *ctx, const char *text), void *ctx,
                        const char *s);
/* Write s plain when it reads back as the same text (a name such as
 * cn_gmv_2020), else double-quoted (ms_yaml_put_quoted). */
void ms_yaml_put_scalar(void (*put)(void *ctx, const char *text), void *ctx,
                        const char *s);
/* Unit of a measure's value ("people", "USD/year", "1"). */
const char *ms_measure_unit(const ms_measure *m);
/* One-line description, e.g. "gmv(CN, live_commerce) at 2020". */
void ms_measure_text(const ms_scenario *s, const ms_measure *m, char *buf,
                     size_t size);

/* Bytes of memory this process may use: the machine's, or less under a
 * ulimit or cgroup limit; 0 if unknown. */
double ms_scenario_usable_memory(void);

/* ---- the parameter table ---- */

typedef enum {
    MS_SEC_RUN,
    MS_SEC_MODEL,
    MS_SEC_OUTPUT,
    MS_SEC_MARKET,
    MS_SEC_CATEGORY,
    MS_SEC_FIRM,
    MS_SEC_COUNT
} ms_section;

typedef enum {
    MS_P_REAL,          /* double */
    MS_P_INT,           /* int64_t */
    MS_P_SEED,          /* uint64_t */
    MS_P_BOOL,          /* int */
    MS_P_MARKET,        /* int: market name -> index */
    MS_P_CATEGORY,      /* int: category name -> index, or -1 for none */
    MS_P_BY_MARKET,     /* double *[M]: a number for all, or {market: number} */
    MS_P_BY_CATEGORY,   /* double *[C]: {category: number}, NaN where absent */
    MS_P_MARKET_SET,    /* double *[M]: list of market names -> 1/0 */
    MS_P_CATEGORY_SET,  /* double *[C]: list of category names -> 1/0 */
    MS_P_BY_STRATEGY,   /* double *[4]: {strategy: weight}, absent ones 0 */
    MS_P_ENUM,          /* int: index of the value in `choices` */
    MS_P_NAME_LIST      /* char **, with count in the next int field */
} ms_ptype;

enum {
    MS_PF_REQUIRED = 1,  /* no default: must be given */
    MS_PF_LO_OPEN = 2,   /* lower bound excluded */
    MS_PF_HI_OPEN = 4,   /* upper bound excluded */
    MS_PF_NAN_OK = 8     /* default NaN means "not given" */
};

typedef struct ms_param {
    ms_section section;
    const char *name;
    ms_ptype type;
    double def;
    double lo, hi;
    unsigned flags;
    const char *unit;
    size_t offset;
    const char *help;
    const char *choices;  /* MS_P_ENUM: "a|b|c" */
} ms_param;

/* Names of the output datasets output.datasets may list (scenario.c); the
 * output table (core/output.c) checks that it writes only these. */
extern const char *const ms_output_names[];

extern const ms_param ms_param_table[];
extern const int ms_param_count;
const char *ms_section_name(ms_section s);
const char *ms_section_path(ms_section s); /* "run", "markets.<name>", ... */

#endif
