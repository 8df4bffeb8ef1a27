/* The inference endpoints: GET /api/v1/authors/{id}/summary (JSON, or a
 * token stream with Accept: text/event-stream), and the shared inference
 * state of server/infer.h (scheduler, tokenizer, model identity, authors'
 * adapters).
 *
 * Inference never runs on the HTTP pool threads: a handler reads the
 * author's works from the store, builds the prompt, looks up the author's
 * adapter, submits it to the scheduler (inference/sched.h) and suspends
 * (JSON) or streams (SSE); the engine thread's callbacks fill the reply and
 * resume or wake the connection. A full queue answers 503 with Retry-After;
 * every request has a deadline; a streaming client that goes away cancels
 * its request.
 *
 * Summaries are cached in the graph (table summaries, schema 003) under
 * sha256(prompt + settings), the adapter's identity and the model's sha256,
 * so a change to any of them misses and a restart keeps them. A small
 * in-memory table in front answers repeats without a query and covers the
 * moment before the store write lands: the engine thread hands finished
 * summaries to a writer thread (it must not wait on the database). */
#include "server/api_infer.h"

#include <errno.h>
#include <stdarg.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "graph/graph.h"
#include "inference/adapter.h"
#include "inference/model.h"
#include "inference/sched.h"
#include "inference/tokenizer.h"
#include "server/infer.h"

/* A finished summary waiting for the writer thread. */
typedef struct pending_put {
    struct pending_put *next;
    pgr_id author;
    char data_sha[65], model_sha[65], ident[160];
    int n_tokens;
    char *text;
} pending_put;

static struct {
    pgr_model *model;
    pgr_tokenizer *tok;
    pgr_sched *sched;
    pgr_adapter_reg *reg;
    pgr_adapter_set *aset;
    char model_name[256];
    char model_sha[65]; /* sha256 of the GGUF file */
    char db_dir[PATH_MAX]; /* where relative adapter paths start ("" = cwd) */
    unsigned deadline_s;
    pthread_mutex_t cache_mu;
    /* the summary writer */
    char *db_url;
    pthread_t writer;
    int writer_on, writer_stop;
    pthread_mutex_t put_mu;
    pthread_cond_t put_cv;
    pending_put *puts, **puts_tail;
} g = {.cache_mu = PTHREAD_MUTEX_INITIALIZER,
       .put_mu = PTHREAD_MUTEX_INITIALIZER,
       .put_cv = PTHREAD_COND_INITIALIZER};

pgr_sched *infer_sched(void) { return g.sched; }
const pgr_tokenizer *infer_tok(void) { return g.tok; }
const pgr_model *infer_model(void) { return g.model; }
const char *infer_model_name(void) { return g.model_name; }
const char *infer_model_sha256(void) { return g.model_sha; }
unsigned infer_deadline_s(void) { return g.deadline_s; }

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

/* ---- the summary writer ---------------------------------------------------------- */
/* Writes finished summaries into the graph on its own connection, so the
 * engine thread never waits on the database. A failed write is only logged:
 * the summary is regenerated next time. */
static void *writer_main(void *arg)
{
    (void)arg;
    pgr_store *st = NULL;
    pthread_mutex_lock(&g.put_mu);
    for (;;) {
        while (!g.puts && !g.writer_stop)
            pthread_cond_wait(&g.put_cv, &g.put_mu);
        pending_put *p = g.puts;
        if (!p)
            break; /* stopping, and nothing left */
        g.puts = p->next;
        if (!g.puts)
            g.puts_tail = &g.puts;
        pthread_mutex_unlock(&g.put_mu);
        pgr_err err = {0};
        if (!st && pgr_store_open(g.db_url, &st, &err) != 0)
            st = NULL;
        pgr_summary_key k = {p->author, p->data_sha, p->ident, p->model_sha};
        if (!st || pgr_summary_put(st, &k, p->text, p->n_tokens, &err) != 0) {
            fprintf(stderr, "peergraph serve: summary cache: %s\n", err.msg);
            pgr_store_close(st); /* reconnect for the next one */
            st = NULL;
        }
        free(p->text);
        free(p);
        pthread_mutex_lock(&g.put_mu);
    }
    pthread_mutex_unlock(&g.put_mu);
    pgr_store_close(st);
    return NULL;
}

static void writer_queue(pgr_id author, const char *data_sha, const char *ident,
                         const char *text, int n_tokens)
{
    if (!g.writer_on)
        return;
    pending_put *p = calloc(1, sizeof *p);
    if (!p || !(p->text = strdup(text))) {
        free(p);
        return;
    }
    p->author = author;
    snprintf(p->data_sha, sizeof p->data_sha, "%s", data_sha);
    snprintf(p->model_sha, sizeof p->model_sha, "%s", g.model_sha);
    snprintf(p->ident, sizeof p->ident, "%s", ident);
    p->n_tokens = n_tokens;
    pthread_mutex_lock(&g.put_mu);
    *g.puts_tail = p;
    g.puts_tail = &p->next;
    pthread_cond_signal(&g.put_cv);
    pthread_mutex_unlock(&g.put_mu);
}

/* ---- adapter binding (the scheduler's callbacks over the adapter set) ---------------- */
static int ad_bind(void *user, int seq, const void *adapter, int mode, int prompt_len,
                   pgr_err *err)
{
    /* PGR_SCHED_MODE_* and PGR_AD_* agree: prefill 0, all 1 */
    return pgr_adapter_set_bind(user, seq, adapter, mode == PGR_SCHED_MODE_ALL ? PGR_AD_ALL
                                                                                : PGR_AD_PREFILL,
                                prompt_len, err);
}
static void ad_unbind(void *user, int seq) { pgr_adapter_set_unbind(user, seq); }
static int ad_active(void *user, const pgr_batch *b) { return pgr_adapter_set_active(user, b); }

/* ---- start and stop ------------------------------------------------------------- */
int infer_start(const char *model_path, const infer_config *ic, pgr_err *err)
{
    pgr_sched_cfg cfg;
    pgr_sched_cfg_defaults(&cfg);
    cfg.n_threads = ic->threads < 1 ? 1 : ic->threads;
    cfg.device = ic->device;
    cfg.max_active = ic->max_active < 1 ? 1 : ic->max_active;
    cfg.max_queue = ic->max_queue;
    g.deadline_s = ic->deadline_s ? ic->deadline_s : 120;
    size_t budget = ic->adapter_budget ? ic->adapter_budget : (size_t)256 << 20;
    if (pgr_model_load(model_path, &g.model, err) != 0 ||
        pgr_model_sha256(g.model, g.model_sha, err) != 0 ||
        pgr_tok_load(pgr_model_gguf(g.model), &g.tok, err) != 0 ||
        pgr_adapter_reg_new(g.model, g.model_sha, budget, &g.reg, err) != 0 ||
        pgr_adapter_set_new(g.model, cfg.max_active, &g.aset, err) != 0)
        goto fail;
    cfg.adapt.bind = ad_bind;
    cfg.adapt.unbind = ad_unbind;
    cfg.adapt.active = ad_active;
    pgr_adapter_set_hooks(g.aset, &cfg.adapt.hooks);
    cfg.adapt.user = g.aset;
    if (pgr_sched_new(g.model, g.tok, &cfg, &g.sched, err) != 0)
        goto fail;
    const char *base = strrchr(model_path, '/');
    snprintf(g.model_name, sizeof g.model_name, "%s", base ? base + 1 : model_path);
    /* Relative adapter paths start at the SQLite file's directory. */
    g.db_dir[0] = 0;
    if (ic->db_url && strncmp(ic->db_url, "sqlite:", 7) == 0) {
        const char *path = ic->db_url + 7;
        const char *slash = strrchr(path, '/');
        if (slash && (size_t)(slash - path) < sizeof g.db_dir)
            snprintf(g.db_dir, sizeof g.db_dir, "%.*s", (int)(slash - path), path);
        if (slash == path)
            snprintf(g.db_dir, sizeof g.db_dir, "/");
    }
    g.puts = NULL;
    g.puts_tail = &g.puts;
    g.writer_stop = 0;
    if (ic->db_url && (g.db_url = strdup(ic->db_url)) &&
        pthread_create(&g.writer, NULL, writer_main, NULL) == 0)
        g.writer_on = 1;
    return 0;
fail:
    infer_stop();
    return -1;
}

void infer_stop(void)
{
    pgr_sched_free(g.sched); /* ends what is left through on_done (resumes) */
    g.sched = NULL;
    if (g.writer_on) { /* after the scheduler: the last summaries are queued */
        pthread_mutex_lock(&g.put_mu);
        g.writer_stop = 1;
        pthread_cond_signal(&g.put_cv);
        pthread_mutex_unlock(&g.put_mu);
        pthread_join(g.writer, NULL);
        g.writer_on = 0;
    }
    free(g.db_url);
    g.db_url = NULL;
    pgr_adapter_set_free(g.aset);
    g.aset = NULL;
    pgr_adapter_reg_free(g.reg);
    g.reg = NULL;
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

/* ---- authors' adapters (server/infer.h) ------------------------------------------- */
pgr_id infer_author_id(const char *key)
{
    if (!key || key[0] != 'A' || key[1] < '1' || key[1] > '9')
        return 0;
    char *end;
    errno = 0;
    long long v = strtoll(key + 1, &end, 10);
    return errno || *end || v <= 0 ? 0 : (pgr_id)v;
}

int infer_adapter_want(const char *mode_param, const char *adapter_param, int *want,
                       pgr_err *err)
{
    *want = INFER_AD_DEFAULT;
    if (mode_param) {
        if (strcmp(mode_param, "prefill") == 0)
            *want = PGR_SCHED_MODE_PREFILL;
        else if (strcmp(mode_param, "all") == 0)
            *want = PGR_SCHED_MODE_ALL;
        else
            return pgr_errf(err, PGR_EINVAL, "mode: '%.40s' is not prefill or all", mode_param);
    }
    if (adapter_param) {
        if (strcmp(adapter_param, "none") != 0)
            return pgr_errf(err, PGR_EINVAL,
                            "adapter: '%.40s' is not none (leave it out for the author's own)",
                            adapter_param);
        *want = INFER_AD_NONE;
    }
    return 0;
}

static void base_because(infer_adapter *a, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void base_because(infer_adapter *a, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(a->reason, sizeof a->reason, fmt, ap);
    va_end(ap);
    a->handle = NULL;
    a->id = 0;
    a->method[0] = 0;
    a->mode = PGR_SCHED_MODE_PREFILL;
    snprintf(a->ident, sizeof a->ident, "none");
}

int infer_adapter_acquire(pgr_store *st, pgr_id author, int want, infer_adapter *out,
                          pgr_err *err)
{
    json_t *row = NULL, *other = NULL;
    int rc = -1;
    memset(out, 0, sizeof *out);
    if (want == INFER_AD_NONE) {
        base_because(out, "adapter=none: base model, as asked");
        return 0;
    }
    if (!g.reg) {
        base_because(out, "no model loaded");
        return 0;
    }
    /* the newest row made for the loaded model (a retrain adds a row) */
    if (pgr_adapter_current(st, author, g.model_sha, &row, &other, err) != 0)
        return -1;
    if (!row && !other) {
        base_because(out, "this researcher has no adapter: base model");
        rc = 0;
        goto cleanup;
    }
    if (!row) {
        const char *sha = json_string_value(json_object_get(other, "base_model_sha256"));
        base_because(out,
                     "adapter %lld was made for base model %.12s, this server runs %.12s: base "
                     "model",
                     (long long)json_integer_value(json_object_get(other, "id")),
                     sha && *sha ? sha : "(unrecorded)", g.model_sha);
        rc = 0;
        goto cleanup;
    }
    json_int_t id = json_integer_value(json_object_get(row, "id"));
    const char *path = json_string_value(json_object_get(row, "path"));
    char full[PATH_MAX + 256];
    if (!path || !*path) {
        base_because(out, "adapter %lld has no path: base model", (long long)id);
        rc = 0;
        goto cleanup;
    }
    if (path[0] == '/' || !g.db_dir[0])
        snprintf(full, sizeof full, "%s", path);
    else
        snprintf(full, sizeof full, "%s/%s", g.db_dir, path);
    struct stat sb;
    if (stat(full, &sb) != 0) {
        base_because(out, "adapter %lld: %s: %s: base model", (long long)id, full,
                     strerror(errno));
        rc = 0;
        goto cleanup;
    }
    const pgr_adapter *ad = NULL;
    pgr_err lerr = {0};
    if (pgr_adapter_reg_acquire(g.reg, full, &ad, &lerr) != 0) {
        base_because(out, "adapter %lld: %s: base model", (long long)id, lerr.msg);
        rc = 0;
        goto cleanup;
    }
    out->handle = ad;
    out->id = (pgr_id)id;
    out->mode = want == PGR_SCHED_MODE_ALL ? PGR_SCHED_MODE_ALL : PGR_SCHED_MODE_PREFILL;
    snprintf(out->method, sizeof out->method, "%s", pgr_adapter_method_name(ad->spec.method));
    snprintf(out->ident, sizeof out->ident, "adapter:%lld:%lld:%lld.%09ld:%s", (long long)id,
             (long long)sb.st_size, (long long)sb.st_mtim.tv_sec, (long)sb.st_mtim.tv_nsec,
             out->mode == PGR_SCHED_MODE_ALL ? "all" : "prefill");
    rc = 0;
cleanup:
    json_decref(row);
    json_decref(other);
    return rc;
}

void infer_adapter_release(infer_adapter *a)
{
    if (a->handle && g.reg)
        pgr_adapter_reg_release(g.reg, a->handle);
    a->handle = NULL;
}

json_t *infer_adapter_json(const infer_adapter *a)
{
    if (!a->handle && !a->id)
        return json_null();
    return json_pack("{s:I, s:s, s:s}", "id", (json_int_t)a->id, "method", a->method, "mode",
                     a->mode == PGR_SCHED_MODE_ALL ? "all" : "prefill");
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
    char cache_key[65]; /* the in-memory table's key */
    char data_sha[65];  /* the store's key parts (with ad.ident, g.model_sha) */
    pgr_id author;
    infer_adapter ad; /* held until on_done */
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
    if (r->status == PGR_SCHED_DONE && j->text.len) {
        cache_put(j->cache_key, j->text.data, r->n_gen);
        writer_queue(j->author, j->data_sha, j->ad.ident, j->text.data, r->n_gen);
    }
    infer_adapter_release(&j->ad); /* the scheduler is done with it */
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
    infer_adapter ad = {0};
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
    int want;
    if (infer_adapter_want(srv_query_get(req, "mode"), srv_query_get(req, "adapter"), &want,
                           &err) != 0) {
        srv_reply_error(req, 400, "invalid_parameter", "%s", err.msg);
        return;
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
    /* The answer depends on the prompt (the author's data), the settings,
     * the adapter and the model: the cache is keyed by all of them. */
    char data_sha[65], hex[65];
    {
        pgr_sb key = {0};
        pgr_sb_printf(&key, "%s\n%s\nmax_tokens:%d\n", SYSTEM, user.data, max_tokens);
        pgr_sha256_hex(key.data, key.len, data_sha);
        pgr_sb_free(&key);
    }
    pgr_id author_id = infer_author_id(aid);
    t0 = pgr_now_us();
    int arc = infer_adapter_acquire(st, author_id, want, &ad, &err);
    srv_note_db_time(req, pgr_now_us() - t0);
    if (arc != 0) {
        srv_reply_internal(req, "summary: %s", err.msg);
        goto cleanup;
    }
    {
        pgr_sb key = {0};
        pgr_sb_printf(&key, "%s\n%s\n%s\n", data_sha, ad.ident, g.model_sha);
        pgr_sha256_hex(key.data, key.len, hex);
        pgr_sb_free(&key);
    }
    const char *dname = json_string_value(json_object_get(author, "display_name"));
    json_t *meta = json_pack("{s:s, s:s?, s:o, s:s}", "author", aid, "display_name", dname,
                             "adapter", infer_adapter_json(&ad), "model", g.model_name);
    if (ad.reason[0])
        json_object_set_new(meta, "adapter_note", json_string(ad.reason));
    int sse = 0;
    const char *accept = srv_header(req, "Accept");
    if (accept && strstr(accept, "text/event-stream"))
        sse = 1;
    int cached_n = 0;
    char *cached = cache_get(hex, &cached_n);
    if (!cached && author_id) { /* not in memory: the graph's cache (survives restarts) */
        pgr_summary_key k = {author_id, data_sha, ad.ident, g.model_sha};
        pgr_err cerr = {0};
        t0 = pgr_now_us();
        if (pgr_summary_get(st, &k, &cached, &cached_n, &cerr) == 0)
            cache_put(hex, cached, cached_n);
        else if (cerr.code != PGR_ENOTFOUND)
            fprintf(stderr, "peergraph serve: summary cache: %s\n", cerr.msg);
        srv_note_db_time(req, pgr_now_us() - t0);
    }
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
    memcpy(j->data_sha, data_sha, sizeof data_sha);
    j->author = author_id;
    j->ad = ad; /* the job holds the adapter now; on_done releases it */
    memset(&ad, 0, sizeof ad);
    pgr_sched_req q = {0};
    q.user = aid;
    q.prompt = ids.v;
    q.n_prompt = ids.n;
    q.max_tokens = max_tokens;
    pgr_sample_defaults(&q.sample);
    q.deadline_us = pgr_now_us() + (uint64_t)g.deadline_s * 1000000u;
    q.adapter = j->ad.handle;
    q.mode = j->ad.mode;
    q.on_text = on_text;
    q.on_done = on_done;
    q.cb = j;
    /* Hold the job's lock across submit: the engine may finish the request
     * before the handler has suspended or set up the stream. */
    pthread_mutex_lock(&j->mu);
    if (pgr_sched_submit(g.sched, &q, &j->id, &err) != 0) {
        pthread_mutex_unlock(&j->mu);
        infer_adapter_release(&j->ad); /* not accepted: no on_done */
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
    infer_adapter_release(&ad);
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
