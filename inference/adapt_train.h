#ifndef PEERGRAPH_ADAPT_TRAIN_H
#define PEERGRAPH_ADAPT_TRAIN_H
/* peergraph adapt --author ID | --changed: train researchers' adapters from
 * the graph, evaluate them on held-out works, store them (issue 9).
 *
 * For one author: the corpus (train_data.h); the base model's held-out loss;
 * an adapter trained in the requested mode (prefill = PreFT, or all) and, with
 * compare, one trained in the other mode on the same data and seed, for the
 * metrics only; the requested one is saved as
 *   <adapters_dir>/<author key>-<method>-<mode>-<data sha256 prefix>.pgad
 * and recorded in the adapters table with metrics JSON:
 *   {"data_sha256", "seed", "steps", "batch", "max_tokens", "lr", "targets",
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
    FILE *log; /* progress lines, or NULL */
} pgr_adapt_args;

void pgr_adapt_args_default(pgr_adapt_args *a);

/* One author (any id form). Writes the adapter file and row; *adapter_id the
 * new row (0 when the author has no work with an abstract: nothing trained,
 * returns 0 with a line in log). */
int pgr_adapt_author(pgr_store *s, const pgr_model *m, const char *model_sha256,
                     const pgr_tokenizer *tok, const char *author, const pgr_adapt_args *a,
                     pgr_id *adapter_id, pgr_err *err);

/* Is author's newest adapter of this method and base model trained on the
 * author's current data (metrics.data_sha256)? *yes 0 when they have none. */
int pgr_adapt_is_current(pgr_store *s, const char *author, int method, const char *model_sha256,
                         int *yes, pgr_err *err);

/* Every author from pgr_adapter_candidates whose data changed since their
 * latest adapter of this method and base model was trained (or who has
 * none). *n_trained: adapters written. Stops at the first error. */
int pgr_adapt_changed(pgr_store *s, const pgr_model *m, const char *model_sha256,
                      const pgr_tokenizer *tok, const pgr_adapt_args *a, int *n_trained,
                      pgr_err *err);

/* `peergraph bench adapt` (inference/bench_adapt.c): seconds per training step
 * and tokens/s on CPU. argv[0] = "adapt". 0, 1 on failure, 2 on usage. */
int adapt_bench_main(int argc, char **argv);

#endif
