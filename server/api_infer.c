/* The inference endpoints: GET /api/v1/authors/{id}/summary (JSON, or a
 * token stream with Accept: text/event-stream).
 *
 * Inference never runs on the HTTP pool threads: a handler reads the
 * author's works from the store, builds the prompt, submits it to the
 * scheduler (inference/sched.h) and suspends (JSON) or streams (SSE); the
 * engine thread's callbacks fill the reply and resume or wake the
 * connection. A full queue answers 503 with Retry-After; every request has
 * a deadline; a streaming client that goes away cancels its request.
 *
 * Summaries are cached in memory keyed by sha256(author data + adapter +
 * model), so a change to any of them misses the cache. */
#include "server/api_infer.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "graph/graph.h"
#include "inference/model.h"
#include "inference/sched.h"
#include "inference/tokenizer.h"

static struct {
    pgr_model *model;
    pgr_tokenizer *tok;
    pgr_sched *sched;
    char model_name[256];
    char model_sha[65]; /* sha256 of the model path + size: cache key part */
    unsigned deadline_s;
    pthread_mutex_t cache_mu;
} g = {.cache_mu = PTHREAD_MUTEX_INITIALIZER};

/* ---- the summary cache ------------------------------------------------------ */
enum { CACHE_SLOTS = 256 };
static struct {
    char key[65];
    char *text;
    int n_tokens;
} cache[CACHE_SLOTS];

/* The first 32 bits of the hex key pick the slot. */
static unsigned cache_slot(const char *key)
{
    char head[9];
    memcpy(head, key, 8);
    head[8] = 0;
    return (unsigned)(strtoul(head, NULL, 16) % CACHE_SLOTS);
}

static char *cache_get(const char *key, int *n_tokens)
{
    char *out = NULL;
    unsigned slot = cache_slot(key);
    pthread_mutex_lock(&g.cache_mu);
    if (cache[slot].text && strcmp(cache[slot].key, key) == 0) {
        out = strdup(cache[slot].text);
        *n_tokens = cache[slot].n_tokens;
    }
    pthread_mutex_unlock(&g.cache_mu);
    return out;
}

static void cache_put(const char *key, const char *text, int n_tokens)
{
    unsigned slot = cache_slot(key);
    char *copy = strdup(text);
    if (!copy)
        return;
    pthread_mutex_lock(&g.cache_mu);
    free(cache[slot].text);
    memcpy(cache[slot].key, key, 65);
    cache[slot].text = copy;
    cache[slot].n_tokens = n_tokens;
    pthread_mutex_unlock(&g.cache_mu);
}

/* ---- start and stop ------------------------------------------------------------- */
int infer_start(const char *model_path, const infer_config *ic, pgr_err *err)
{
    pgr_sched_cfg cfg;
    pgr_sched_cfg_defaults(&cfg);
    cfg.n_threads = ic->threads < 1 ? 1 : ic->threads;
    cfg.max_active = ic->max_active < 1 ? 1 : ic->max_active;
    cfg.max_queue = ic->max_queue;
    g.deadline_s = ic->deadline_s ? ic->deadline_s : 120;
    if (pgr_model_load(model_path, &g.model, err) != 0 ||
        pgr_tok_load(pgr_model_gguf(g.model), &g.tok, err) != 0 ||
        pgr_sched_new(g.model, g.tok, &cfg, &g.sched, err) != 0) {
        infer_stop();
        return -1;
    }
    const char *base = strrchr(model_path, '/');
    snprintf(g.model_name, sizeof g.model_name, "%s", base ? base + 1 : model_path);
    char id[512];
    int n = snprintf(id, sizeof id, "%s:%zu", g.model_name, pgr_model_weight_bytes(g.model));
    pgr_sha256_hex(id, (size_t)(n < (int)sizeof id ? n : (int)sizeof id - 1), g.model_sha);
    return 0;
}

void infer_stop(void)
{
    pgr_sched_free(g.sched); /* ends what is left through on_done (resumes) */
    g.sched = NULL;
    pgr_tok_free(g.tok);
    g.tok = NULL;
    pgr_model_free(g.model);
    g.model = NULL;
    for (int i = 0; i < CACHE_SLOTS; i++) {
        free(cache[i].text);
        cache[i].text = NULL;
    }
}

int infer_engine_get(infer_engine *out)
{
    if (!g.sched)
        return -1;
    out->sched = g.sched;
    out->tok = g.tok;
    out->model_name = g.model_name;
    out->model_sha = g.model_sha;
    out->deadline_s = g.deadline_s;
    return 0;
}

/* ---- a request in flight ---------------------------------------------------------- */
typedef struct job {
    pthread_mutex_t mu;
    srv_request *req;
    int sse;
    int refs;     /* engine + (SSE) the HTTP stream */
    int gone;     /* SSE: the response is over (done() ran) */
    int finished; /* on_done ran */
    uint64_t id;
    pgr_sb text; /* the answer so far */
    pgr_sb out;  /* SSE: event bytes not yet handed to the socket */
    size_t out_at;
    json_t *meta; /* author, model, adapter */
    char cache_key[65];
} job;

static void job_unref(job *j)
{
    pthread_mutex_lock(&j->mu);
    int left = --j->refs;
    pthread_mutex_unlock(&j->mu);
    if (left)
        return;
    pgr_sb_free(&j->text);
    pgr_sb_free(&j->out);
    json_decref(j->meta);
    pthread_mutex_destroy(&j->mu);
    free(j);
}

/* One SSE event with a JSON payload (data lines never hold raw newlines). */
static void sse_event(pgr_sb *out, const char *event, json_t *data)
{
    char *s = json_dumps(data, JSON_COMPACT | JSON_ENSURE_ASCII);
    if (s) {
        pgr_sb_printf(out, "event: %s\ndata: %s\n\n", event, s);
        free(s);
    }
    json_decref(data);
}

static int on_text(void *cb, const char *text, size_t len)
{
    job *j = cb;
    pthread_mutex_lock(&j->mu);
    pgr_sb_append(&j->text, text, len);
    int gone = j->gone;
    if (j->sse && !gone) {
        json_t *ev = json_object();
        json_object_set_new(ev, "text", json_stringn(text, len));
        sse_event(&j->out, "token", ev);
        srv_stream_wake(j->req);
    }
    pthread_mutex_unlock(&j->mu);
    return gone; /* the client left: stop generating */
}

static json_t *final_json(job *j, const pgr_sched_result *r)
{
    json_t *o = json_deep_copy(j->meta);
    json_object_set_new(o, "summary", json_stringn(j->text.data ? j->text.data : "", j->text.len));
    json_object_set_new(o, "cached", json_false());
    json_object_set_new(o, "finish_reason", json_string(pgr_sched_status_name(r->status)));
    json_object_set_new(o, "tokens",
                        json_pack("{s:i, s:i}", "prompt", r->n_prompt, "generated", r->n_gen));
    json_object_set_new(
        o, "timing_ms",
        json_pack("{s:f, s:f}", "queued", r->queued_us / 1e3, "generating", r->run_us / 1e3));
    return o;
}

static void on_done(void *cb, const pgr_sched_result *r)
{
    job *j = cb;
    if (r->status == PGR_SCHED_DONE && j->text.len)
        cache_put(j->cache_key, j->text.data, r->n_gen);
    pthread_mutex_lock(&j->mu);
    j->finished = 1;
    if (j->sse) {
        if (!j->gone) {
            sse_event(&j->out, r->status == PGR_SCHED_DONE ? "done" : "error", final_json(j, r));
            srv_stream_wake(j->req);
        }
    } else if (r->status == PGR_SCHED_DONE) {
        srv_reply_json(j->req, 200, final_json(j, r), 0);
        srv_resume(j->req);
    } else if (r->status == PGR_SCHED_DEADLINE) {
        srv_reply_error(j->req, 504, "deadline_exceeded",
                        "the summary took longer than %u s (%d tokens generated)", g.deadline_s,
                        r->n_gen);
        srv_resume(j->req);
    } else {
        srv_add_header(j->req, "Retry-After", "5");
        srv_reply_error(j->req, 503, "inference_unavailable", "inference failed: %s",
                        r->message[0] ? r->message : pgr_sched_status_name(r->status));
        srv_resume(j->req);
    }
    pthread_mutex_unlock(&j->mu);
    job_unref(j);
}

static long sse_read(void *cls, char *buf, size_t max)
{
    job *j = cls;
    long n = 0;
    pthread_mutex_lock(&j->mu);
    size_t avail = j->out.len - j->out_at;
    if (avail) {
        n = (long)(avail < max ? avail : max);
        memcpy(buf, j->out.data + j->out_at, (size_t)n);
        j->out_at += (size_t)n;
        if (j->out_at == j->out.len) {
            pgr_sb_reset(&j->out);
            j->out_at = 0;
        }
    } else if (j->finished) {
        n = SRV_STREAM_END;
    }
    pthread_mutex_unlock(&j->mu);
    return n;
}

static void sse_done(void *cls)
{
    job *j = cls;
    pthread_mutex_lock(&j->mu);
    j->gone = 1; /* no more wakes: req is about to go */
    int running = !j->finished;
    pthread_mutex_unlock(&j->mu);
    if (running)
        pgr_sched_cancel(g.sched, j->id);
    job_unref(j);
}

/* ---- the prompt -------------------------------------------------------------------- */
/* Up to max_works of the author's works (most cited first), abstracts cut to
 * abstract_chars, topics and co-authors: the researcher's own record. */
static void build_context(json_t *author, json_t *works, json_t *coauthors, int max_works,
                          int abstract_chars, pgr_sb *out)
{
    const char *name = json_string_value(json_object_get(author, "display_name"));
    pgr_sb_printf(out, "Researcher: %s\n", name ? name : "(unnamed)");
    json_t *topics = json_object_get(author, "topics");
    size_t i;
    json_t *v;
    if (json_array_size(topics)) {
        pgr_sb_printf(out, "Topics:");
        json_array_foreach(topics, i, v)
        {
            if (i >= 8)
                break;
            const char *t = json_string_value(json_object_get(v, "display_name"));
            if (t)
                pgr_sb_printf(out, "%s %s", i ? "," : "", t);
        }
        pgr_sb_printf(out, "\n");
    }
    if (json_array_size(coauthors)) {
        pgr_sb_printf(out, "Frequent co-authors:");
        json_array_foreach(coauthors, i, v)
        {
            const char *t = json_string_value(json_object_get(v, "display_name"));
            if (t)
                pgr_sb_printf(out, "%s %s", i ? "," : "", t);
        }
        pgr_sb_printf(out, "\n");
    }
    pgr_sb_printf(out, "Works:\n");
    json_array_foreach(works, i, v)
    {
        if ((int)i >= max_works)
            break;
        const char *t = json_string_value(json_object_get(v, "title"));
        const char *a = json_string_value(json_object_get(v, "abstract"));
        json_int_t y = json_integer_value(json_object_get(v, "publication_year"));
        pgr_sb_printf(out, "- %s", t ? t : "(untitled)");
        if (y)
            pgr_sb_printf(out, " (%lld)", (long long)y);
        if (a && *a) {
            size_t n = strlen(a);
            if (n > (size_t)abstract_chars) {
                n = (size_t)abstract_chars;
                while (n > 0 && ((unsigned char)a[n] & 0xC0) == 0x80)
                    n--; /* never cut a UTF-8 character in half */
            }
            pgr_sb_printf(out, ": %.*s%s", (int)n, a, n < strlen(a) ? "..." : "");
        }
        pgr_sb_printf(out, "\n");
    }
}

static const char SYSTEM[] = "You are a helpful assistant that writes short, factual summaries "
                             "of a researcher's work from their publication record.";

static void get_summary(srv_request *req)
{
    pgr_err err = {0};
    json_t *author = NULL, *works = NULL, *coauthors = NULL;
    pgr_sb ctx = {0}, user = {0};
    pgr_tokvec ids = {0};
    job *j = NULL;
    if (!g.sched) {
        const char *model = srv_model_path(req);
        srv_add_header(req, "Retry-After", "60"); /* API.md: a 503 says when to come back */
        srv_reply_error(req, 503, "inference_unavailable", "this server has no model loaded%s%s%s",
                        model[0] ? " (model " : "", model,
                        model[0] ? " is recorded, not loaded: start with --model)" : "");
        return;
    }
    const char *id = srv_param(req, "id");
    int max_tokens = 96;
    const char *mt = srv_query_get(req, "max_tokens");
    if (mt) {
        char *end;
        long v = strtol(mt, &end, 10);
        if (*end || end == mt || v < 1 || v > 512) {
            srv_reply_error(req, 400, "invalid_parameter", "max_tokens: '%s' is not in 1..512", mt);
            return;
        }
        max_tokens = (int)v;
    }
    pgr_store *st = srv_store(req, &err);
    if (!st) {
        srv_reply_error(req, 503, "database_unavailable", "%s", err.msg);
        return;
    }
    uint64_t t0 = pgr_now_us();
    static const char *const sel[] = {"id", "display_name", "topics"};
    if (pgr_get(st, PGR_AUTHORS, id, sel, 3, &author, &err) != 0) {
        srv_note_db_time(req, pgr_now_us() - t0);
        if (err.code == PGR_ENOTFOUND)
            srv_reply_error(req, 404, "not_found", "no author %s", id);
        else if (err.code == PGR_EINVAL)
            srv_reply_error(req, 400, "invalid_parameter", "%s", err.msg);
        else
            srv_reply_internal(req, "summary: %s", err.msg);
        goto cleanup;
    }
    const char *aid = json_string_value(json_object_get(author, "id"));
    if (pgr_author_works_text(st, aid, 20, &works, &err) != 0 ||
        pgr_author_coauthors(st, aid, 5, &coauthors, &err) != 0) {
        srv_note_db_time(req, pgr_now_us() - t0);
        srv_reply_internal(req, "summary: %s", err.msg);
        goto cleanup;
    }
    srv_note_db_time(req, pgr_now_us() - t0);
    /* Trim to the prompt budget: fewer works, shorter abstracts. */
    const int budget = 768; /* prompt tokens: keeps prefill short on CPU */
    static const int shapes[][2] = {{12, 600}, {8, 400}, {5, 250}, {3, 150}, {1, 100}, {0, 0}};
    for (size_t k = 0; k < sizeof shapes / sizeof shapes[0]; k++) {
        pgr_sb_reset(&ctx);
        pgr_sb_reset(&user);
        build_context(author, works, coauthors, shapes[k][0], shapes[k][1], &ctx);
        pgr_sb_printf(&user,
                      "%s\nWrite a summary (3 sentences) of this researcher's work: main themes, "
                      "methods and contributions.",
                      ctx.data ? ctx.data : "");
        ids.n = 0;
        if (pgr_tok_chat_encode(g.tok, SYSTEM, user.data, &ids, &err) != 0) {
            srv_reply_internal(req, "summary: %s", err.msg);
            goto cleanup;
        }
        if (ids.n <= (size_t)budget)
            break;
    }
    /* The cache key covers what the answer depends on: the prompt text (the
     * author's data), the adapter (none yet) and the model. */
    pgr_sb key = {0};
    pgr_sb_printf(&key, "%s\n%s\nadapter:none\nmax_tokens:%d\n", g.model_sha, user.data,
                  max_tokens);
    char hex[65];
    pgr_sha256_hex(key.data, key.len, hex);
    pgr_sb_free(&key);
    const char *dname = json_string_value(json_object_get(author, "display_name"));
    json_t *meta = json_pack("{s:s, s:s?, s:n, s:s, s:s}", "author", aid, "display_name", dname,
                             "adapter", "model", g.model_name, "adapter_note",
                             "this researcher has no adapter: base model");
    int sse = 0;
    const char *accept = srv_header(req, "Accept");
    if (accept && strstr(accept, "text/event-stream"))
        sse = 1;
    int cached_n = 0;
    char *cached = cache_get(hex, &cached_n);
    srv_note_cache("summary", cached != NULL);
    if (cached) {
        json_object_set_new(meta, "summary", json_string(cached));
        json_object_set_new(meta, "cached", json_true());
        json_object_set_new(meta, "finish_reason", json_string("done"));
        free(cached);
        if (sse) {
            pgr_sb ev = {0};
            sse_event(&ev, "done", meta);
            srv_reply_owned(req, 200, "text/event-stream", ev.data, ev.len, SRV_NO_GZIP);
        } else {
            srv_reply_json(req, 200, meta, 0);
        }
        goto cleanup;
    }
    j = calloc(1, sizeof *j);
    if (!j) {
        json_decref(meta);
        srv_reply_internal(req, "summary: out of memory");
        goto cleanup;
    }
    pthread_mutex_init(&j->mu, NULL);
    j->req = req;
    j->sse = sse;
    j->refs = 1 + sse;
    j->meta = meta;
    memcpy(j->cache_key, hex, sizeof hex);
    pgr_sched_req q = {0};
    q.user = aid;
    q.prompt = ids.v;
    q.n_prompt = ids.n;
    q.max_tokens = max_tokens;
    pgr_sample_defaults(&q.sample);
    q.deadline_us = pgr_now_us() + (uint64_t)g.deadline_s * 1000000u;
    q.mode = PGR_SCHED_MODE_PREFILL;
    q.on_text = on_text;
    q.on_done = on_done;
    q.cb = j;
    /* Hold the job's lock across submit: the engine may finish the request
     * before the handler has suspended or set up the stream. */
    pthread_mutex_lock(&j->mu);
    if (pgr_sched_submit(g.sched, &q, &j->id, &err) != 0) {
        pthread_mutex_unlock(&j->mu);
        j->refs = 1;
        job_unref(j);
        j = NULL;
        if (err.code == PGR_EBUSY) {
            srv_add_header(req, "Retry-After", "2");
            srv_reply_error(req, 503, "inference_busy", "%s; try again shortly", err.msg);
        } else {
            srv_reply_error(req, 400, "invalid_request", "%s", err.msg);
        }
        goto cleanup;
    }
    if (sse)
        srv_reply_stream(req, 200, "text/event-stream", sse_read, sse_done, j);
    else
        srv_suspend(req);
    pthread_mutex_unlock(&j->mu);
cleanup:
    json_decref(author);
    json_decref(works);
    json_decref(coauthors);
    pgr_sb_free(&ctx);
    pgr_sb_free(&user);
    pgr_tokvec_free(&ids);
}

const srv_route infer_routes[] = {
    {"GET", "/api/v1/authors/{id}/summary", get_summary, "authors.summary", 0, NULL},
    {NULL, NULL, NULL, NULL, 0, NULL},
};
