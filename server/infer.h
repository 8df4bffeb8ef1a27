#ifndef PEERGRAPH_INFER_H
#define PEERGRAPH_INFER_H
/* What the endpoints that use the model share (summaries in api_infer.c,
 * recommendations in api_recs.c): the scheduler, the tokenizer, the model's
 * identity, and each author's adapter.
 *
 * Everything here is valid between a successful infer_start and infer_stop
 * (server/api_infer.h); without a model the getters return NULL / "".
 *
 * An author's adapter is their current row of the graph's adapters table for
 * the loaded model (pgr_adapter_current: the newest row whose
 * base_model_sha256 is the model's sha256; written by `peergraph adapt
 * --register` and by the trainer, `peergraph adapt --author`). Its path is
 * absolute, or relative to the SQLite database's directory (to the server's
 * working directory with PostgreSQL). It is used only when the file loads
 * and validates; otherwise (or with no row for this model) the request runs
 * on the base model and `reason` says why. Adapters come from the registry
 * (inference/adapter.h: memory budget --adapter-budget, LRU), loaded on the
 * caller's thread, so a request never waits on another author's load. */
#include <jansson.h>

#include "graph/graph.h"
#include "inference/model.h"
#include "inference/sched.h"
#include "inference/tokenizer.h"

pgr_sched *infer_sched(void);
const pgr_tokenizer *infer_tok(void);
const pgr_model *infer_model(void);
const char *infer_model_name(void);   /* file name of the GGUF */
const char *infer_model_sha256(void); /* sha256 hex of the GGUF file */
unsigned infer_deadline_s(void);      /* --infer-deadline: seconds per request */

/* Which adapter a request wants. */
enum {
    INFER_AD_DEFAULT = -1, /* the author's adapter in prefill mode (PreFT) */
    INFER_AD_NONE = -2,    /* the base model (?adapter=none, for comparisons) */
    /* PGR_SCHED_MODE_PREFILL / PGR_SCHED_MODE_ALL: the author's adapter in that mode */
};
/* Parses ?mode=prefill|all and ?adapter=none (either may be NULL) into *want.
 * PGR_EINVAL with a message naming the parameter (a 400). */
int infer_adapter_want(const char *mode_param, const char *adapter_param, int *want,
                       pgr_err *err);

typedef struct infer_adapter {
    const void *handle; /* pgr_sched_req.adapter (NULL = base model) */
    int mode;           /* pgr_sched_req.mode */
    pgr_id id;          /* adapters.id; 0 = none used */
    char method[16];    /* "lora" | "loreft" | "direft"; "" when none */
    /* Identity for cache keys: "none", or "adapter:<id>:<bytes>:<mtime>:<mode>",
     * so a rewritten file or another mode misses the cache. */
    char ident[160];
    char reason[384]; /* why the base model is used; "" when adapted */
} infer_adapter;

/* Looks up the author's adapter (st: the caller's store) and holds a
 * registry reference on it until infer_adapter_release. Returns 0 (out
 * filled; out->handle NULL with a reason when the base model is used), or -1
 * with err for a database failure. Thread-safe. */
int infer_adapter_acquire(pgr_store *st, pgr_id author, int want, infer_adapter *out,
                          pgr_err *err);
/* Drops the reference (after the scheduler's on_done). Any thread; a zeroed or
 * base-model infer_adapter is fine. */
void infer_adapter_release(infer_adapter *a);
/* {"id", "method", "mode"}, or JSON null when none is used (new reference). */
json_t *infer_adapter_json(const infer_adapter *a);
/* "A12" -> 12; 0 when not an author key. */
pgr_id infer_author_id(const char *key);

#endif
