#ifndef PEERGRAPH_SCHED_H
#define PEERGRAPH_SCHED_H
/* The inference scheduler: one engine thread serving many requests with
 * continuous batching over one paged KV cache.
 *
 * Each step builds one batch: first one decode token for every request that
 * is generating, then prefill chunks of the requests still reading their
 * prompt, until the per-step token budget is spent (the prefill rotation
 * starts one request further each step, so a long prompt cannot starve the
 * others). New requests join at the next step. Admission from the queue is
 * fair by user (start-time fair queueing: each request's tag is one past the
 * later of the last admitted tag and its user's latest tag; smallest tag
 * first), so users take turns, a user with many requests cannot keep another
 * user's single request waiting, and no request waits forever. A request is
 * admitted only when the KV cache can hold its whole prompt + max_tokens,
 * so a running request never fails for want of blocks. The queue is
 * bounded (submit answers PGR_EBUSY when full: the HTTP layer's 503 +
 * Retry-After). A request past its deadline or cancelled ends at the next
 * step and its KV blocks return to the cache.
 *
 * Adapters: a request carries an opaque adapter handle (NULL = base model)
 * and a mode. The scheduler binds it to the request's sequence through the
 * pgr_sched_adapt callbacks (inference/adapter.h's pgr_adapter_set), and
 * runs a batch with no hooks at all when no token of it is adapted, which in
 * prefill mode is every decode step: one base-model batch for all users.
 *
 * Callbacks run on the engine thread and must not block for long; they may
 * call pgr_sched_cancel (but not submit or free). */
#include <stddef.h>
#include <stdint.h>

#include "graph/util.h"
#include "inference/model.h"
#include "inference/sample.h"
#include "inference/tokenizer.h"

typedef struct pgr_sched pgr_sched;

enum { PGR_SCHED_MODE_PREFILL = 0, PGR_SCHED_MODE_ALL = 1 };

/* How a request ended. */
enum {
    PGR_SCHED_DONE = 0,      /* end of generation, stop string or max_tokens */
    PGR_SCHED_CANCELLED = 1, /* pgr_sched_cancel, or on_text returned nonzero */
    PGR_SCHED_DEADLINE = 2,  /* deadline passed (queued or running) */
    PGR_SCHED_ERROR = 3,     /* forward failed, or the scheduler shut down */
};
const char *pgr_sched_status_name(int status); /* "done", "cancelled", ... */

typedef struct pgr_sched_result {
    int status;
    int n_prompt, n_gen;        /* prompt tokens, generated tokens */
    const int32_t *gen;         /* (n_gen) generated ids, borrowed during on_done */
    double logprob_sum;         /* score requests: sum of log p(token) over the scored span */
    int n_scored;               /* tokens scored */
    uint64_t queued_us, run_us; /* time waiting, time admitted */
    const char *message;        /* error text for PGR_SCHED_ERROR, else "" */
} pgr_sched_result;

typedef struct pgr_sched_req {
    const char *user;      /* fairness key (author id, client); NULL = "" (copied) */
    const int32_t *prompt; /* (n_prompt) ids, copied at submit */
    size_t n_prompt;
    int max_tokens; /* generated tokens at most (0 for score requests) */
    pgr_sample_cfg sample;
    const char *const *stops; /* stop strings (copied), n_stops of them */
    size_t n_stops;
    uint64_t deadline_us; /* absolute pgr_now_us() time; 0 = none */
    const void *adapter;  /* NULL = base; borrowed until on_done */
    int mode;             /* PGR_SCHED_MODE_* */
    /* Score request: no generation; sums log p(prompt[i] | prompt[<i]) for
     * i in [score_from, n_prompt) (score_from >= 1). */
    int score;
    int score_from;
    /* Benchmarks: an end-of-generation token does not end the request; it
     * counts as a generated token (its text is emitted like any other), so
     * the request generates exactly max_tokens unless a stop string,
     * cancellation or the deadline ends it. */
    int ignore_eos;
    /* Text as it comes: complete UTF-8 only, stop strings held back until
     * they cannot match. Return nonzero to cancel the request. May be NULL. */
    int (*on_text)(void *cb, const char *text, size_t len);
    /* Exactly once per accepted request, last. */
    void (*on_done)(void *cb, const pgr_sched_result *r);
    void *cb;
} pgr_sched_req;

/* Adapter binding (inference/adapter.h pgr_adapter_set glue). All NULL =
 * base model only (requests with an adapter are refused). */
typedef struct pgr_sched_adapt {
    int (*bind)(void *user, int seq, const void *adapter, int mode, int prompt_len, pgr_err *err);
    void (*unbind)(void *user, int seq);
    int (*active)(void *user, const pgr_batch *b); /* 1 if some token is adapted */
    pgr_hooks hooks;
    void *user;
} pgr_sched_adapt;

typedef struct pgr_sched_cfg {
    int n_threads;     /* engine threads (default 2) */
    const char *device; /* engine device: NULL or "cpu" (default), "cuda" (pgr_engine_new_on) */
    int step_tokens;   /* token budget per step (default 256) */
    int prefill_chunk; /* prompt tokens per request per step at most (default 128) */
    int max_active;    /* sequences in the batch at once (default 32) */
    int max_queue;     /* waiting requests at most (default 64) */
    int kv_blocks;     /* KV cache blocks (default 256) */
    int block_size;    /* positions per block (default 16) */
    pgr_sched_adapt adapt;
} pgr_sched_cfg;
void pgr_sched_cfg_defaults(pgr_sched_cfg *cfg);

/* Starts the engine thread. The model and tokenizer are borrowed (free
 * them after pgr_sched_free). tok may be NULL (benchmarks on random models
 * with no vocabulary: `bench gpu` G3): then no token ends generation before
 * max_tokens and on_text is never called; only the ids in on_done count. */
int pgr_sched_new(const pgr_model *m, const pgr_tokenizer *tok, const pgr_sched_cfg *cfg,
                  pgr_sched **out, pgr_err *err);
/* Stops the thread; requests still queued or running end with
 * PGR_SCHED_ERROR ("shutting down") through their on_done. NULL is fine. */
void pgr_sched_free(pgr_sched *s);

/* Queues a request; *id identifies it for pgr_sched_cancel. Returns 0, or
 * -1 with err: PGR_EBUSY when the queue is full, PGR_EINVAL when the
 * request can never run (empty prompt, longer than the context or the
 * whole cache, adapter without binding callbacks). on_done is called only
 * for accepted requests. */
int pgr_sched_submit(pgr_sched *s, const pgr_sched_req *req, uint64_t *id, pgr_err *err);
/* Asks the request to end (status CANCELLED) at the next step; unknown or
 * finished ids are ignored. Safe from any thread, callbacks included. */
void pgr_sched_cancel(pgr_sched *s, uint64_t id);

/* The scheduler's engine (benchmarks read its device counters:
 * pgr_engine_cuda). Valid until pgr_sched_free; use from other threads
 * only for read-only getters. */
pgr_engine *pgr_sched_engine(pgr_sched *s);

typedef struct pgr_sched_stats {
    int queued, active;
    int kv_free_blocks, kv_blocks;
    uint64_t steps, tokens, base_only_steps, completed, rejected;
} pgr_sched_stats;
void pgr_sched_stats_get(pgr_sched *s, pgr_sched_stats *out);
/* Waits until the scheduler is idle (nothing queued or running), or
 * timeout_us passes; returns 1 when idle (tests, benchmarks). */
int pgr_sched_wait_idle(pgr_sched *s, uint64_t timeout_us);

#endif
