#ifndef PEERGRAPH_ADAPT_TRAIN_H
#define PEERGRAPH_ADAPT_TRAIN_H
/* peergraph adapt --author ID | --changed: train researchers' adapters from
 * the graph, evaluate them on held-out works, store them (issue 9).
 *
 * For one author: the corpus (train_data.h); the base model's held-out loss;
 * an adapter trained in the requested mode (prefill = PreFT, or all) and, with
 * compare, one trained in the other mode on the same data and seed, for the
 * metrics only; the requested one is saved as
 *   <adapters_dir>/<author key>-<method>-<mode>-<file sha256, 16 hex>.pgad
 * (named by its content: no retrain rewrites a file an older row describes)
 * and recorded in a new row of the adapters table, which makes it the
 * author's current adapter for this base model (pgr_adapter_current; older
 * rows stay, as provenance), with metrics JSON:
 *   {"data_sha256", "adapter_sha256", "seed", "steps", "batch", "max_tokens", "lr", "targets",
 *    "layers", "positions", "works_train": [keys], "works_heldout": [keys],
 *    "train_sequences", "heldout_sequences", "heldout_tokens",
 *    "heldout_loss": {"base", "<mode>", ["<other mode>"]} (nats per token),
 *    "train_loss": {"first", "last"}, "seconds", "train_tokens_per_s"}. */
#include <stdint.h>
#include <stdio.h>

#include "graph/graph.h"
#include "inference/adapter.h"
#include "inference/model.h"
#include "inference/tokenizer.h"

typedef struct pgr_adapt_args {
    const char *db_url;
    const char *adapters_dir; /* NULL: next to a sqlite db (<dir>/adapters), else ./adapters */
    int method;               /* PGR_AD_LORA | PGR_AD_LOREFT | PGR_AD_DIREFT */
    int mode;                 /* PGR_AD_PREFILL | PGR_AD_ALL */
    int compare;              /* also train the other mode (metrics only) */
    int rank;
    const char *targets;   /* LoRA; NULL = all seven projections */
    const char *layers;    /* NULL = all */
    const char *positions; /* ReFT; NULL = f7+l7 */
    int steps, batch, max_tok, n_threads;
    float lr;     /* 0 = the method's default */
    int max_eval; /* held-out sequences evaluated, 0 = all (tests keep it small) */
    uint64_t seed;
    int dry_run; /* --changed: say whom it would train, train nobody */
    const char *device; /* NULL or "cpu", or "cuda" (pgr_trainer_new_on) */
    FILE *log;   /* progress lines, or NULL */
} pgr_adapt_args;

void pgr_adapt_args_default(pgr_adapt_args *a);

/* One author (any id form). Writes the adapter file and row; *adapter_id the
 * new row (0 when the author has no work with an abstract: nothing trained,
 * returns 0 with a line in log). */
int pgr_adapt_author(pgr_store *s, const pgr_model *m, const char *model_sha256,
                     const pgr_tokenizer *tok, const char *author, const pgr_adapt_args *a,
                     pgr_id *adapter_id, pgr_err *err);

/* Where an author stands for `--changed`, against their current adapter for
 * this base model (pgr_adapter_current):
 *   NONE       no adapter for this base model (train)
 *   STALE      trained on other data than the author's works now: metrics
 *              data_sha256 != pgr_train_data_sha256 (train)
 *   CURRENT    trained on the author's works as they are (skip)
 *   UNTRAINED  registered by hand (adapt --register, imports): no training
 *              record to compare with; --changed leaves it alone (skip)
 * Method and mode do not matter: an adapter trained with another method on
 * the same data is current (a deliberate choice is not undone nightly). */
enum { PGR_ADAPT_NONE, PGR_ADAPT_STALE, PGR_ADAPT_CURRENT, PGR_ADAPT_UNTRAINED };
const char *pgr_adapt_state_name(int state); /* "none", "changed", "current", "untrained" */
/* author: any id form (merged ids resolve). *adapter_id: the current row, 0
 * for NONE (may be NULL). */
int pgr_adapt_state(pgr_store *s, const char *author, const char *model_sha256, int *state,
                    pgr_id *adapter_id, pgr_err *err);

/* Every author from pgr_adapter_candidates (page owners, adapter holders)
 * in state NONE or STALE is trained (with dry_run: only listed). One log line
 * per candidate: "peergraph adapt: A12: <state>: <why>[: training|: would
 * train]". *n_trained: adapters written (dry run: authors it would train).
 * Stops at the first error. */
int pgr_adapt_changed(pgr_store *s, const pgr_model *m, const char *model_sha256,
                      const pgr_tokenizer *tok, const pgr_adapt_args *a, int *n_trained,
                      pgr_err *err);

/* `peergraph bench adapt` (inference/bench_adapt.c): seconds per training step
 * and tokens/s on CPU, or on the GPU with --device cuda. argv[0] = "adapt".
 * 0, 1 on failure, 2 on usage (and for --device cuda without a device). */
int adapt_bench_main(int argc, char **argv);

#endif
