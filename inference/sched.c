/* The inference scheduler (see sched.h): queue, fair admission, continuous
 * batching with chunked prefill under a token budget, cancellation and
 * deadlines, all on one engine thread. */
#include "inference/sched.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct sreq {
    struct sreq *next;
    uint64_t id;
    char *user;
    int32_t *tok; /* (cap) prompt then generated ids */
    size_t n_prompt, n_tok, cap;
    int max_tokens;
    pgr_sampler *smp;
    char **stops;
    size_t n_stops;
    pgr_stopper stop;
    pgr_utf8_stream u8;
    uint64_t deadline, t_submit, t_admit;
    const void *adapter;
    int mode, score, score_from;
    int ignore_eos;
    int (*on_text)(void *cb, const char *text, size_t len);
    void (*on_done)(void *cb, const pgr_sched_result *r);
    void *cb;
    int seq;      /* KV sequence once admitted, else -1 */
    size_t n_fed; /* ids already in the KV cache */
    int reserve;  /* KV blocks reserved for prompt + max_tokens */
    uint64_t tag; /* fair-queueing tag: admission order across users */
    int cancel;   /* under s->mu */
    int status;   /* final status once ended, -1 while live */
    double lp;
    int n_scored;
    char msg[1100];
} sreq;

struct pgr_sched {
    const pgr_model *m;
    const pgr_tokenizer *tok;
    pgr_sched_cfg cfg;
    int vocab;
    pgr_engine *eng;
    pgr_kv *kv;
    pthread_t th;
    int started;
    pthread_mutex_t mu;
    pthread_cond_t work, idle;
    int stop;
    sreq *queue; /* arrival order */
    int n_queue;
    sreq *active; /* admitted, in admission order */
    int n_active;
    int reserved; /* blocks reserved by active requests */
    int kv_free;  /* free blocks after the last step (the cache is the engine thread's) */
    uint64_t next_id;
    uint64_t rr;    /* prefill rotation */
    uint64_t vtime; /* tag of the last admitted request */
    int n_ending;   /* requests taken off the lists, on_done not yet called */
    pgr_sched_stats st;
    /* step scratch (engine thread) */
    int32_t *b_tok, *b_seq, *b_pos;
    uint8_t *b_want;
    sreq **b_owner; /* (step_tokens) request of each batch token */
    float *logits;  /* (step_tokens, vocab) */
    int32_t *ids;   /* (step_tokens) greedy ids from a GPU engine (pgr_forward_greedy) */
    pgr_sb text;
};

const char *pgr_sched_status_name(int status)
{
    switch (status) {
    case PGR_SCHED_DONE:
        return "done";
    case PGR_SCHED_CANCELLED:
        return "cancelled";
    case PGR_SCHED_DEADLINE:
        return "deadline";
    case PGR_SCHED_ERROR:
        return "error";
    default:
        return "unknown";
    }
}

void pgr_sched_cfg_defaults(pgr_sched_cfg *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->n_threads = 2;
    cfg->step_tokens = 256;
    cfg->prefill_chunk = 128;
    cfg->max_active = 32;
    cfg->max_queue = 64;
    cfg->kv_blocks = 256; /* 4096 positions: ~90 MiB for SmolLM2-135M */
    cfg->block_size = 16;
}

static void sreq_free(sreq *r)
{
    if (!r)
        return;
    free(r->user);
    free(r->tok);
    pgr_sampler_free(r->smp);
    for (size_t i = 0; i < r->n_stops; i++)
        free(r->stops[i]);
    free(r->stops);
    pgr_stop_free(&r->stop);
    free(r);
}

static int blocks_for(const pgr_sched *s, size_t n)
{
    return (int)((n + (size_t)s->cfg.block_size - 1) / (size_t)s->cfg.block_size);
}

/* Ends r (engine thread, without the lock): frees its sequence, reports. */
static void finish(pgr_sched *s, sreq *r, int status)
{
    if (r->seq >= 0) {
        if (s->cfg.adapt.unbind)
            s->cfg.adapt.unbind(s->cfg.adapt.user, r->seq);
        pgr_kv_seq_close(s->kv, r->seq);
        r->seq = -1;
    }
    uint64_t now = pgr_now_us();
    pgr_sched_result res = {0};
    res.status = status;
    res.n_prompt = (int)r->n_prompt;
    res.n_gen = (int)(r->n_tok - r->n_prompt);
    res.gen = r->tok + r->n_prompt;
    res.logprob_sum = r->lp;
    res.n_scored = r->n_scored;
    res.queued_us = (r->t_admit ? r->t_admit : now) - r->t_submit;
    res.run_us = r->t_admit ? now - r->t_admit : 0;
    res.message = r->msg;
    if (r->on_done)
        r->on_done(r->cb, &res);
    sreq_free(r);
}

/* Unlinks r from a singly linked list. */
static void unlink_req(sreq **head, sreq *r)
{
    for (sreq **p = head; *p; p = &(*p)->next)
        if (*p == r) {
            *p = r->next;
            r->next = NULL;
            return;
        }
}

/* Under the lock: moves ended requests (cancelled, past deadline) to *done,
 * then admits waiting requests fairly while sequences and blocks allow. */
static void admit(pgr_sched *s, sreq **done, uint64_t now)
{
    for (sreq **p = &s->queue; *p;) {
        sreq *r = *p;
        int st = r->cancel                             ? PGR_SCHED_CANCELLED
                 : (r->deadline && now >= r->deadline) ? PGR_SCHED_DEADLINE
                                                       : -1;
        if (st >= 0) {
            *p = r->next;
            r->status = st;
            r->next = *done;
            *done = r;
            s->n_queue--;
            s->n_ending++;
            continue;
        }
        p = &r->next;
    }
    for (sreq **p = &s->active; *p;) {
        sreq *r = *p;
        int st = r->cancel                             ? PGR_SCHED_CANCELLED
                 : (r->deadline && now >= r->deadline) ? PGR_SCHED_DEADLINE
                                                       : -1;
        if (st >= 0) {
            *p = r->next;
            r->status = st;
            r->next = *done;
            *done = r;
            s->n_active--;
            s->reserved -= r->reserve;
            s->n_ending++;
            continue;
        }
        p = &r->next;
    }
    while (s->queue && s->n_active < s->cfg.max_active) {
        /* Smallest tag first (oldest among equals): users take turns. */
        sreq *best = NULL;
        for (sreq *r = s->queue; r; r = r->next) {
            if (s->reserved + r->reserve > s->cfg.kv_blocks)
                continue;
            if (!best || r->tag < best->tag)
                best = r;
        }
        if (!best)
            break;
        pgr_err err = {0};
        int seq = pgr_kv_seq_open(s->kv, &err);
        if (seq < 0)
            break;
        unlink_req(&s->queue, best);
        s->n_queue--;
        if (best->tag > s->vtime)
            s->vtime = best->tag;
        best->seq = seq;
        best->t_admit = now;
        if (s->cfg.adapt.bind && s->cfg.adapt.bind(s->cfg.adapt.user, seq, best->adapter,
                                                   best->mode, (int)best->n_prompt, &err) != 0) {
            snprintf(best->msg, sizeof best->msg, "adapter: %s", err.msg);
            best->status = PGR_SCHED_ERROR;
            best->next = *done;
            *done = best;
            s->n_ending++;
            continue;
        }
        s->reserved += best->reserve;
        s->n_active++;
        sreq **tail = &s->active;
        while (*tail)
            tail = &(*tail)->next;
        *tail = best;
    }
}

/* Emits text through the UTF-8 stream and the stop strings; returns 1 when
 * the request should end (stop string, or the callback cancelled). */
static int emit(pgr_sched *s, sreq *r, const char *bytes, size_t n, int final)
{
    pgr_sb_reset(&s->text);
    if (bytes && n)
        pgr_utf8_stream_feed(&r->u8, bytes, n, &s->text);
    if (final)
        pgr_utf8_stream_flush(&r->u8, &s->text);
    const char *show;
    size_t len;
    pgr_stop_feed(&r->stop, s->text.data ? s->text.data : "", s->text.len, &show, &len);
    int stopped = r->stop.stopped;
    int cancel = 0;
    if (len && r->on_text)
        cancel = r->on_text(r->cb, show, len) != 0;
    if (final && !stopped && !cancel) {
        pgr_stop_finish(&r->stop, &show, &len);
        if (len && r->on_text)
            cancel = r->on_text(r->cb, show, len) != 0;
    }
    if (cancel)
        return 2;
    return stopped;
}

/* log p(target) from one logits row. */
static double logprob(const float *row, int vocab, int32_t target)
{
    float mx = row[0];
    for (int i = 1; i < vocab; i++)
        if (row[i] > mx)
            mx = row[i];
    double sum = 0;
    for (int i = 0; i < vocab; i++)
        sum += exp((double)row[i] - mx);
    return (double)row[target] - mx - log(sum);
}

/* One step: builds the batch from the active requests, runs it, consumes
 * logits. Requests that end are moved to *done. Engine thread, no lock
 * (the active list is changed only by this thread, under the lock). */
static void step(pgr_sched *s, sreq **done)
{
    int n = 0, budget = s->cfg.step_tokens;
    /* Decode tokens first: one each, so generation keeps its pace. */
    for (sreq *r = s->active; r && n < budget; r = r->next) {
        if (r->score || r->n_fed < r->n_prompt)
            continue;
        s->b_tok[n] = r->tok[r->n_tok - 1];
        s->b_seq[n] = r->seq;
        s->b_pos[n] = (int32_t)(r->n_tok - 1);
        s->b_want[n] = 1;
        s->b_owner[n] = r;
        n++;
    }
    /* Prefill chunks, starting one request further every step. */
    int n_pre = 0;
    for (sreq *r = s->active; r; r = r->next)
        n_pre += r->n_fed < r->n_prompt;
    if (n_pre) {
        int skip = (int)(s->rr++ % (uint64_t)n_pre);
        for (int pass = 0; pass < 2 && n < budget; pass++) {
            int k = 0;
            for (sreq *r = s->active; r && n < budget; r = r->next) {
                if (r->n_fed >= r->n_prompt)
                    continue;
                int idx = k++;
                if ((pass == 0) != (idx >= skip))
                    continue;
                size_t chunk = r->n_prompt - r->n_fed;
                if (chunk > (size_t)s->cfg.prefill_chunk)
                    chunk = (size_t)s->cfg.prefill_chunk;
                if (chunk > (size_t)(budget - n))
                    chunk = (size_t)(budget - n);
                for (size_t i = 0; i < chunk; i++) {
                    size_t p = r->n_fed + i;
                    s->b_tok[n] = r->tok[p];
                    s->b_seq[n] = r->seq;
                    s->b_pos[n] = (int32_t)p;
                    /* Scores need the row before each scored token; generation
                     * needs the prompt's last row. */
                    s->b_want[n] = r->score
                                       ? (p + 1 >= (size_t)r->score_from && p + 1 < r->n_prompt)
                                       : (p + 1 == r->n_prompt);
                    s->b_owner[n] = r;
                    n++;
                }
            }
        }
    }
    if (n == 0)
        return;
    pgr_batch b = {n, s->b_tok, s->b_seq, s->b_pos, s->b_want};
    int adapted = s->cfg.adapt.active && s->cfg.adapt.active(s->cfg.adapt.user, &b);
    pgr_engine_set_hooks(s->eng, adapted ? &s->cfg.adapt.hooks : NULL);
    pgr_err err = {0};
    /* On a GPU, when every wanted row is a greedy generation, the argmax is
     * taken on the device and only ids come back (a 256-token decode step
     * of an 8B model would copy 131 MB of logits otherwise). */
    int ids_only = pgr_engine_cuda(s->eng) != NULL;
    for (int i = 0; ids_only && i < n; i++)
        if (s->b_want[i] && (s->b_owner[i]->score || !pgr_sampler_is_greedy(s->b_owner[i]->smp)))
            ids_only = 0;
    int frc = ids_only ? pgr_forward_greedy(s->eng, s->kv, &b, s->ids, &err)
                       : pgr_forward(s->eng, s->kv, &b, s->logits, &err);
    pthread_mutex_lock(&s->mu);
    s->st.steps++;
    s->st.tokens += (uint64_t)n;
    s->st.base_only_steps += !adapted;
    s->kv_free = pgr_kv_free_blocks(s->kv);
    pthread_mutex_unlock(&s->mu);
    /* Consume rows in batch order; a request's rows are consecutive. */
    int row = 0;
    for (int i = 0; i < n; i++) {
        sreq *r = s->b_owner[i];
        if (frc != 0) {
            if (r->status < 0) {
                snprintf(r->msg, sizeof r->msg, "forward: %s", err.msg);
                r->status = PGR_SCHED_ERROR;
            }
            continue;
        }
        r->n_fed++;
        if (!s->b_want[i])
            goto ended_check;
        const float *lrow = ids_only ? NULL : s->logits + (size_t)row * (size_t)s->vocab;
        const int32_t greedy_id = ids_only ? s->ids[row] : -1;
        row++;
        if (r->status >= 0)
            continue;
        if (r->score) {
            r->lp += logprob(lrow, s->vocab, r->tok[s->b_pos[i] + 1]);
            r->n_scored++;
        } else {
            int32_t next = ids_only ? greedy_id : pgr_sample(r->smp, (float *)lrow, r->tok, r->n_tok);
            r->tok[r->n_tok++] = next;
            int gen = (int)(r->n_tok - r->n_prompt);
            if (!r->ignore_eos && s->tok && pgr_tok_is_eog(s->tok, next)) {
                r->n_tok--; /* the end token is not part of the answer */
                emit(s, r, NULL, 0, 1);
                r->status = PGR_SCHED_DONE;
                continue;
            }
            size_t plen = 0;
            const char *piece = s->tok ? pgr_tok_piece(s->tok, next, 0, &plen) : NULL;
            int last = gen >= r->max_tokens;
            int e = emit(s, r, piece, piece ? plen : 0, last);
            if (e == 2)
                r->status = PGR_SCHED_CANCELLED;
            else if (e || last)
                r->status = PGR_SCHED_DONE;
        }
    ended_check:
        if (r->status < 0 && r->score && r->n_fed == r->n_prompt)
            r->status = PGR_SCHED_DONE;
    }
    /* Move the ended ones out. */
    pthread_mutex_lock(&s->mu);
    for (sreq **p = &s->active; *p;) {
        sreq *r = *p;
        if (r->status >= 0) {
            *p = r->next;
            s->n_active--;
            s->reserved -= r->reserve;
            r->next = *done;
            *done = r;
            s->n_ending++;
            continue;
        }
        p = &r->next;
    }
    pthread_mutex_unlock(&s->mu);
}

static void finish_list(pgr_sched *s, sreq *done)
{
    while (done) {
        sreq *next = done->next;
        finish(s, done, done->status);
        pthread_mutex_lock(&s->mu);
        s->st.completed++;
        s->n_ending--;
        s->kv_free = pgr_kv_free_blocks(s->kv);
        pthread_mutex_unlock(&s->mu);
        done = next;
    }
}

static void *engine_main(void *arg)
{
    pgr_sched *s = arg;
    pthread_mutex_lock(&s->mu);
    for (;;) {
        while (!s->stop && !s->queue && !s->active) {
            pthread_cond_broadcast(&s->idle);
            pthread_cond_wait(&s->work, &s->mu);
        }
        if (s->stop)
            break;
        sreq *done = NULL;
        admit(s, &done, pgr_now_us());
        pthread_mutex_unlock(&s->mu);
        finish_list(s, done);
        done = NULL;
        step(s, &done);
        finish_list(s, done);
        pthread_mutex_lock(&s->mu);
    }
    pthread_mutex_unlock(&s->mu);
    return NULL;
}

int pgr_sched_new(const pgr_model *m, const pgr_tokenizer *tok, const pgr_sched_cfg *cfg_in,
                  pgr_sched **out, pgr_err *err)
{
    *out = NULL;
    pgr_sched *s = calloc(1, sizeof *s);
    if (!s)
        return pgr_errf(err, PGR_ENOMEM, "scheduler: out of memory");
    pgr_sched_cfg_defaults(&s->cfg);
    if (cfg_in)
        s->cfg = *cfg_in;
    pgr_sched_cfg *c = &s->cfg;
    const pgr_model_cfg *mc = pgr_model_config(m);
    if (c->n_threads < 1 || c->step_tokens < 1 || c->prefill_chunk < 1 || c->max_active < 1 ||
        c->max_queue < 0 || c->block_size < 1 || c->kv_blocks < 1 || c->kv_blocks > 1 << 22 ||
        c->step_tokens > 65536 || c->max_active > 4096) {
        free(s);
        return pgr_errf(err, PGR_EINVAL, "scheduler: bad configuration");
    }
    s->m = m;
    s->tok = tok;
    s->vocab = mc->vocab;
    s->next_id = 1;
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->work, NULL);
    pthread_cond_init(&s->idle, NULL);
    size_t nt = (size_t)c->step_tokens;
    s->b_tok = malloc(nt * sizeof(int32_t));
    s->b_seq = malloc(nt * sizeof(int32_t));
    s->b_pos = malloc(nt * sizeof(int32_t));
    s->b_want = malloc(nt);
    s->b_owner = malloc(nt * sizeof(sreq *));
    s->logits = malloc(nt * (size_t)s->vocab * sizeof(float));
    s->ids = malloc(nt * sizeof(int32_t));
    if (!s->b_tok || !s->b_seq || !s->b_pos || !s->b_want || !s->b_owner || !s->logits ||
        !s->ids) {
        pgr_errf(err, PGR_ENOMEM, "scheduler: out of memory for a %d-token step", c->step_tokens);
        goto fail;
    }
    if (pgr_engine_new_on(m, c->device, c->n_threads, &s->eng, err) ||
        pgr_kv_new(m, c->kv_blocks, c->block_size, c->max_active, &s->kv, err))
        goto fail;
    s->kv_free = pgr_kv_free_blocks(s->kv);
    if (pthread_create(&s->th, NULL, engine_main, s) != 0) {
        pgr_errf(err, PGR_EINTERNAL, "scheduler: cannot start the engine thread");
        goto fail;
    }
    s->started = 1;
    *out = s;
    return 0;
fail:
    pgr_sched_free(s);
    return -1;
}

void pgr_sched_free(pgr_sched *s)
{
    if (!s)
        return;
    if (s->started) {
        pthread_mutex_lock(&s->mu);
        s->stop = 1;
        pthread_cond_broadcast(&s->work);
        pthread_mutex_unlock(&s->mu);
        pthread_join(s->th, NULL);
    }
    /* The engine thread is gone: end what is left. */
    sreq *left = NULL;
    sreq **lists[2] = {&s->queue, &s->active};
    for (int l = 0; l < 2; l++)
        while (*lists[l]) {
            sreq *r = *lists[l];
            *lists[l] = r->next;
            snprintf(r->msg, sizeof r->msg, "the inference scheduler is shutting down");
            r->status = PGR_SCHED_ERROR;
            r->next = left;
            left = r;
        }
    s->n_queue = s->n_active = 0;
    finish_list(s, left);
    pgr_kv_free(s->kv);
    pgr_engine_free(s->eng);
    free(s->b_tok);
    free(s->b_seq);
    free(s->b_pos);
    free(s->b_want);
    free(s->ids);
    free(s->b_owner);
    free(s->logits);
    pgr_sb_free(&s->text);
    pthread_cond_destroy(&s->work);
    pthread_cond_destroy(&s->idle);
    pthread_mutex_destroy(&s->mu);
    free(s);
}

int pgr_sched_submit(pgr_sched *s, const pgr_sched_req *q, uint64_t *id, pgr_err *err)
{
    const pgr_model_cfg *mc = pgr_model_config(s->m);
    if (!q->prompt || q->n_prompt == 0)
        return pgr_errf(err, PGR_EINVAL, "inference request: empty prompt");
    if (q->max_tokens < 0 || q->max_tokens > mc->ctx_len || q->n_prompt > (size_t)mc->ctx_len ||
        q->n_prompt + (size_t)q->max_tokens > (size_t)mc->ctx_len)
        return pgr_errf(err, PGR_EINVAL,
                        "inference request: prompt (%zu tokens) + max_tokens %d exceed the context "
                        "of %d",
                        q->n_prompt, q->max_tokens, mc->ctx_len);
    if (q->score && (q->score_from < 1 || (size_t)q->score_from >= q->n_prompt))
        return pgr_errf(err, PGR_EINVAL, "inference request: score_from %d outside [1, %zu)",
                        q->score_from, q->n_prompt);
    if (!q->score && q->max_tokens < 1)
        return pgr_errf(err, PGR_EINVAL, "inference request: max_tokens must be >= 1");
    if (q->adapter && !s->cfg.adapt.bind)
        return pgr_errf(err, PGR_EINVAL, "inference request: adapters are not enabled");
    if (q->mode != PGR_SCHED_MODE_PREFILL && q->mode != PGR_SCHED_MODE_ALL)
        return pgr_errf(err, PGR_EINVAL, "inference request: unknown mode %d", q->mode);
    for (size_t i = 0; i < q->n_prompt; i++)
        if (q->prompt[i] < 0 || q->prompt[i] >= mc->vocab)
            return pgr_errf(err, PGR_EINVAL, "inference request: token %zu out of range", i);
    if (q->n_stops > 16)
        return pgr_errf(err, PGR_EINVAL, "inference request: at most 16 stop strings");
    sreq *r = calloc(1, sizeof *r);
    if (!r)
        return pgr_errf(err, PGR_ENOMEM, "inference request: out of memory");
    r->seq = -1;
    r->status = -1;
    r->cap = q->n_prompt + (size_t)q->max_tokens;
    r->reserve = blocks_for(s, r->cap);
    if (r->reserve > s->cfg.kv_blocks) {
        free(r);
        return pgr_errf(err, PGR_EINVAL, "inference request: needs %d KV blocks, the cache has %d",
                        blocks_for(s, q->n_prompt + (size_t)q->max_tokens), s->cfg.kv_blocks);
    }
    r->user = strdup(q->user ? q->user : "");
    r->tok = malloc(r->cap * sizeof(int32_t));
    r->smp = pgr_sampler_new(&q->sample, s->vocab);
    r->stops = calloc(q->n_stops + 1, sizeof(char *));
    int oom = !r->user || !r->tok || !r->smp || !r->stops;
    for (size_t i = 0; !oom && i < q->n_stops; i++) {
        r->stops[i] = strdup(q->stops[i] ? q->stops[i] : "");
        oom = !r->stops[i];
        r->n_stops = i + 1;
    }
    pgr_stop_init(&r->stop, (const char *const *)r->stops, r->n_stops);
    if (oom) {
        sreq_free(r);
        return pgr_errf(err, PGR_ENOMEM, "inference request: out of memory");
    }
    memcpy(r->tok, q->prompt, q->n_prompt * sizeof(int32_t));
    r->n_prompt = r->n_tok = q->n_prompt;
    r->max_tokens = q->max_tokens;
    r->deadline = q->deadline_us;
    r->adapter = q->adapter;
    r->mode = q->mode;
    r->score = q->score;
    r->score_from = q->score_from;
    r->ignore_eos = q->ignore_eos;
    r->on_text = q->on_text;
    r->on_done = q->on_done;
    r->cb = q->cb;
    r->t_submit = pgr_now_us();
    pthread_mutex_lock(&s->mu);
    if (s->n_queue >= s->cfg.max_queue || s->stop) {
        s->st.rejected++;
        pthread_mutex_unlock(&s->mu);
        sreq_free(r);
        return pgr_errf(err, PGR_EBUSY, "inference queue is full (%d waiting)", s->cfg.max_queue);
    }
    r->id = s->next_id++;
    /* Start-time fair queueing: one past the later of the last admitted tag
     * and this user's latest tag, so each user's requests interleave with
     * everyone else's and a newcomer never waits behind a backlog. */
    uint64_t last = s->vtime;
    for (int l = 0; l < 2; l++)
        for (sreq *o = l ? s->active : s->queue; o; o = o->next)
            if (o->tag > last && strcmp(o->user, r->user) == 0)
                last = o->tag;
    r->tag = last + 1;
    sreq **tail = &s->queue;
    while (*tail)
        tail = &(*tail)->next;
    *tail = r;
    s->n_queue++;
    if (id)
        *id = r->id;
    pthread_cond_signal(&s->work);
    pthread_mutex_unlock(&s->mu);
    return 0;
}

void pgr_sched_cancel(pgr_sched *s, uint64_t id)
{
    /* Callbacks run on the engine thread without the lock, so taking it here
     * is safe from them too. */
    pthread_mutex_lock(&s->mu);
    for (int l = 0; l < 2; l++)
        for (sreq *r = l ? s->active : s->queue; r; r = r->next)
            if (r->id == id)
                r->cancel = 1;
    pthread_cond_signal(&s->work);
    pthread_mutex_unlock(&s->mu);
}

pgr_engine *pgr_sched_engine(pgr_sched *s)
{
    return s->eng;
}

void pgr_sched_stats_get(pgr_sched *s, pgr_sched_stats *out)
{
    pthread_mutex_lock(&s->mu);
    *out = s->st;
    out->queued = s->n_queue;
    out->active = s->n_active;
    out->kv_blocks = s->cfg.kv_blocks;
    out->kv_free_blocks = s->kv_free;
    pthread_mutex_unlock(&s->mu);
}

int pgr_sched_wait_idle(pgr_sched *s, uint64_t timeout_us)
{
    uint64_t end = pgr_now_us() + timeout_us;
    pthread_mutex_lock(&s->mu);
    while (s->queue || s->active || s->n_ending) {
        uint64_t now = pgr_now_us();
        if (now >= end)
            break;
        pthread_mutex_unlock(&s->mu);
        struct timespec ts = {0, 2000000};
        nanosleep(&ts, NULL);
        pthread_mutex_lock(&s->mu);
    }
    int idle = !s->queue && !s->active && !s->n_ending;
    pthread_mutex_unlock(&s->mu);
    return idle;
}
