#ifndef PEERGRAPH_API_INFER_H
#define PEERGRAPH_API_INFER_H
/* Inference over HTTP: summaries (and recommendations) of an author, served
 * by the scheduler of inference/sched.h on its own engine thread. */
#include "inference/sched.h"
#include "inference/tokenizer.h"
#include "server/http.h"

typedef struct infer_config {
    int threads;         /* engine threads */
    int max_active;      /* sequences batched at once */
    int max_queue;       /* waiting requests before 503 + Retry-After */
    unsigned deadline_s; /* per request */
    size_t adapter_budget; /* bytes of adapters kept loaded (0 = 256 MiB) */
    const char *db_url;    /* the graph: adapter paths and the summary cache */
    const char *device;    /* NULL/"cpu" or "cuda" (--device) */
} infer_config;
/* Loads the model and starts the scheduler. Without a successful start the
 * routes answer 503 inference_unavailable. */
int infer_start(const char *model_path, const infer_config *ic, pgr_err *err);
/* Ends running requests (their connections get an answer) and frees the
 * engine. Call after srv_stop, before srv_free. Safe without infer_start. */
void infer_stop(void);

/* The running engine, for the other inference endpoints (the adapter scores
 * of server/api_recs.c). Returns 0 and fills out while a model is loaded,
 * -1 when none is. Everything is borrowed and valid until infer_stop (which
 * runs after the HTTP server has stopped). */
typedef struct infer_engine {
    pgr_sched *sched;
    const pgr_tokenizer *tok;
    const char *model_name; /* file name of the model */
    const char *model_sha;  /* hex: model identity for cache keys */
    unsigned deadline_s;    /* per request */
} infer_engine;
int infer_engine_get(infer_engine *out);

extern const srv_route infer_routes[];
#endif
