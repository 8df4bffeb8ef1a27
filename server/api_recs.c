/* GET /api/v1/authors/{id}/recommendations?kind=works|coauthors (see
 * api_recs.h for the method).
 *
 * The graph part runs on the HTTP pool thread like any graph endpoint. The
 * adapter part never does: the handler submits one prefill-only score
 * request per candidate text and per model (the researcher's adapter, and
 * the base model unless its score is cached), suspends, and the engine
 * thread's last on_done builds the answer and resumes the connection. A
 * full queue answers 503 + Retry-After, a passed deadline 504, as the
 * summary does; the graph endpoints are not involved and keep answering. */
#include "server/api_recs.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "inference/sched.h"
#include "inference/tokenizer.h"
#include "server/api.h"
#include "server/infer.h"

/* How far the graph search reaches: enough candidates for a page of ten
 * with room to re-rank, few enough queries for a profile page (about 25
 * list queries per request). */
enum {
    MAX_OWN = 200,       /* the author's works read (most cited first) */
    MAX_COAUTHORS = 15,  /* co-authors whose works / co-authors are read */
    COAUTHOR_WORKS = 40, /* works read per co-author */
    MAX_TOPICS = 5,      /* the author's topics searched */
    TOPIC_WORKS = 30,    /* works read per topic */
    MAX_RESCORE = 24,    /* candidates scored with the adapter at most */
    PREFIX_TOKENS = 48,  /* scoring prompt: the context part */
    SCORED_TOKENS = 64,  /* scoring prompt: the scored part */
};

/* Graph signal weights. A co-author in common is the strongest evidence
 * (people read and cite their collaborators' work); a citation from one of
 * the author's works is nearly as strong; a shared topic is weak on its own
 * (topics are broad) and counts at most three times; popularity only breaks
 * near-ties. */
#define W_COAUTHOR 1.0
#define W_CITED_BY_YOURS 0.8
#define W_TOPIC 0.5
#define W_POPULAR 0.1
#define W_SHARED_WORKS 0.2
/* For people a topic in common is weaker still: every prolific author of a
 * topic shares it, and three of them must not outweigh one co-author's
 * collaborator. */
#define W_TOPIC_PEOPLE 0.25
/* Adapter gain's weight in the fused score (in units of the best graph score). */
#define W_ADAPTER 0.5

/* ---- candidate list ------------------------------------------------------------ */
static recs_cand *cand_get(recs_list *l, const char *id)
{
    if (!l->index)
        l->index = json_object();
    json_t *at = json_object_get(l->index, id);
    if (at)
        return &l->v[json_integer_value(at)];
    if (strlen(id) >= sizeof l->v[0].id)
        return NULL; /* not a short key of ours */
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 64, bytes;
        if (!pgr_mul_ok(cap, sizeof *l->v, &bytes))
            return NULL;
        recs_cand *v = realloc(l->v, bytes);
        if (!v)
            return NULL;
        l->v = v, l->cap = cap;
    }
    recs_cand *c = &l->v[l->n];
    memset(c, 0, sizeof *c);
    snprintf(c->id, sizeof c->id, "%s", id);
    c->signals = json_object();
    c->info = json_object();
    if (!c->signals || !c->info ||
        json_object_set_new(l->index, id, json_integer((json_int_t)l->n)) != 0) {
        json_decref(c->signals);
        json_decref(c->info);
        return NULL;
    }
    l->n++;
    return c;
}

void recs_list_free(recs_list *l)
{
    for (size_t i = 0; i < l->n; i++) {
        json_decref(l->v[i].signals);
        json_decref(l->v[i].info);
    }
    free(l->v);
    json_decref(l->index);
    json_decref(l->exclude_note);
    memset(l, 0, sizeof *l);
}

/* Adds name to the string-array signal sig (once). */
static void sig_name(recs_cand *c, const char *sig, const char *name)
{
    if (!name)
        return;
    json_t *a = json_object_get(c->signals, sig);
    if (!a) {
        a = json_array();
        json_object_set_new(c->signals, sig, a);
    }
    size_t i;
    json_t *v;
    json_array_foreach(a, i, v) if (!strcmp(json_string_value(v), name)) return;
    json_array_append_new(a, json_string(name));
}

static void sig_count(recs_cand *c, const char *sig, json_int_t by)
{
    json_t *v = json_object_get(c->signals, sig);
    json_object_set_new(c->signals, sig, json_integer(json_integer_value(v) + by));
}

static double sig_len(const recs_cand *c, const char *sig)
{
    return (double)json_array_size(json_object_get(c->signals, sig));
}

static int cand_cmp(const void *a, const void *b)
{
    const recs_cand *x = a, *y = b;
    /* candidates scored by the adapter first: the re-ranked head */
    if ((x->gain_n > 0) != (y->gain_n > 0))
        return x->gain_n > 0 ? -1 : 1;
    if (x->score != y->score)
        return x->score < y->score ? 1 : -1;
    return strcmp(x->id, y->id);
}

static void reindex(recs_list *l)
{
    for (size_t i = 0; i < l->n; i++)
        json_object_set_new(l->index, l->v[i].id, json_integer((json_int_t)i));
}

void recs_fuse(recs_list *l)
{
    double best = 0, sum = 0, sq = 0;
    int n = 0;
    for (size_t i = 0; i < l->n; i++) {
        best = l->v[i].graph > best ? l->v[i].graph : best;
        if (l->v[i].gain_n > 0) {
            sum += l->v[i].gain;
            n++;
        }
    }
    double mean = n ? sum / n : 0;
    for (size_t i = 0; i < l->n; i++)
        if (l->v[i].gain_n > 0)
            sq += (l->v[i].gain - mean) * (l->v[i].gain - mean);
    double sd = n > 1 ? sqrt(sq / n) : 0;
    for (size_t i = 0; i < l->n; i++) {
        recs_cand *c = &l->v[i];
        c->score = best > 0 ? c->graph / best : 0;
        /* z-score of the gain among the scored: the adapter's view of which
         * candidates suit this researcher better than the others, on the
         * same scale whatever the texts' lengths; a spread under 1e-4 nats
         * per token is noise, not preference */
        if (c->gain_n > 0 && sd > 1e-4) {
            double z = (c->gain - mean) / sd;
            z = z > 2 ? 2 : z < -2 ? -2 : z;
            c->score += W_ADAPTER * z;
        }
    }
    if (l->n)
        qsort(l->v, l->n, sizeof *l->v, cand_cmp);
    reindex(l);
}

/* ---- graph queries ------------------------------------------------------------- */
static const char *const WORK_SEL[] = {
    "id",          "title",  "publication_year", "abstract",
    "authorships", "topics", "cited_by_count",   "referenced_works"};
#define N_WORK_SEL (sizeof WORK_SEL / sizeof WORK_SEL[0])

/* Works (or authors) whose field equals value, most cited first. */
static int list_by(pgr_store *st, pgr_entity e, const char *field, const char *value, int per_page,
                   const char *const *sel, size_t n_sel, json_t **results, pgr_err *err)
{
    const char *vals[1] = {value};
    pgr_filter f = {field, PGR_OP_EQ, vals, 1};
    pgr_sort so = {"cited_by_count", 1};
    pgr_query q = {0};
    q.entity = e;
    q.filters = &f;
    q.n_filters = 1;
    q.sorts = &so;
    q.n_sorts = 1;
    q.per_page = per_page;
    q.select = sel;
    q.n_select = n_sel;
    json_t *out = NULL;
    if (pgr_list(st, &q, &out, err) != 0)
        return -1;
    *results = json_incref(json_object_get(out, "results"));
    json_decref(out);
    if (!*results)
        return pgr_errf(err, PGR_EINTERNAL, "recommendations: list of %s by %s has no results",
                        pgr_entity_name(e), field);
    return 0;
}

/* Entities by id, 30 to a query (the store binds at most 40 values a query),
 * into by_id (id -> entity). */
static int fetch_ids(pgr_store *st, pgr_entity e, const char **ids, size_t n,
                     const char *const *sel, size_t n_sel, json_t *by_id, pgr_err *err)
{
    for (size_t at = 0; at < n; at += 30) {
        size_t k = n - at < 30 ? n - at : 30;
        pgr_filter f = {"id", PGR_OP_EQ, ids + at, k};
        pgr_query q = {0};
        q.entity = e;
        q.filters = &f;
        q.n_filters = 1;
        q.per_page = 30;
        q.select = sel;
        q.n_select = n_sel;
        json_t *out = NULL;
        if (pgr_list(st, &q, &out, err) != 0)
            return -1;
        size_t i;
        json_t *v;
        json_array_foreach(json_object_get(out, "results"), i, v)
        {
            const char *id = json_string_value(json_object_get(v, "id"));
            if (id)
                json_object_set(by_id, id, v);
        }
        json_decref(out);
    }
    return 0;
}

/* Details of the candidates not in details yet, into details. */
static int fetch_missing(pgr_store *st, pgr_entity e, const recs_list *l, const char *const *sel,
                         size_t n_sel, json_t *details, pgr_err *err)
{
    const char **ids = calloc(l->n + 1, sizeof *ids);
    if (!ids)
        return pgr_errf(err, PGR_ENOMEM, "recommendations: out of memory");
    size_t n = 0;
    for (size_t i = 0; i < l->n; i++)
        if (!json_object_get(details, l->v[i].id))
            ids[n++] = l->v[i].id;
    int rc = fetch_ids(st, e, ids, n, sel, n_sel, details, err);
    free(ids);
    return rc;
}

static const char *str_of(json_t *o, const char *k)
{
    return json_string_value(json_object_get(o, k));
}

/* Counts into tally[key] = {"n", "name"}. */
static void tally_add(json_t *tally, const char *key, const char *name)
{
    if (!key)
        return;
    json_t *t = json_object_get(tally, key);
    if (!t) {
        t = json_pack("{s:i, s:s}", "n", 0, "name", name ? name : key);
        json_object_set_new(tally, key, t);
    }
    json_object_set_new(t, "n", json_integer(json_integer_value(json_object_get(t, "n")) + 1));
}

/* The keys of tally with the largest n, at most max, as a new array. */
static json_t *tally_top(json_t *tally, size_t max)
{
    json_t *out = json_array();
    for (size_t k = 0; k < max; k++) {
        const char *best = NULL;
        json_int_t bn = 0;
        const char *key;
        json_t *t;
        json_object_foreach(tally, key, t)
        {
            json_int_t n = json_integer_value(json_object_get(t, "n"));
            int taken = 0;
            size_t i;
            json_t *v;
            json_array_foreach(out, i, v) taken |= !strcmp(json_string_value(v), key);
            if (!taken && (n > bn || (n == bn && best && strcmp(key, best) < 0))) {
                best = key;
                bn = n;
            }
        }
        if (!best)
            break;
        json_array_append_new(out, json_string(best));
    }
    return out;
}

/* What the author is known for, from their works that are not hidden. */
typedef struct profile {
    json_t *own;       /* all works credited to the author (results) */
    json_t *known;     /* id -> work, the works not hidden */
    json_t *coauthors; /* id -> {n, name}, from the known works */
    json_t *topics;    /* id -> {n, name} */
    json_t *cites;     /* work id -> {n, name}: cited by known works */
} profile;

static void profile_free(profile *p)
{
    json_decref(p->own);
    json_decref(p->known);
    json_decref(p->coauthors);
    json_decref(p->topics);
    json_decref(p->cites);
}

static int profile_read(pgr_store *st, const char *aid, const json_t *hidden, profile *p,
                        pgr_err *err)
{
    if (list_by(st, PGR_WORKS, "authorships.author.id", aid, MAX_OWN, WORK_SEL, N_WORK_SEL, &p->own,
                err) != 0)
        return -1;
    p->known = json_object();
    p->coauthors = json_object();
    p->topics = json_object();
    p->cites = json_object();
    size_t i, k;
    json_t *w, *v;
    json_array_foreach(p->own, i, w)
    {
        const char *wid = str_of(w, "id");
        if (!wid || (hidden && json_object_get(hidden, wid)))
            continue;
        json_object_set(p->known, wid, w);
        json_array_foreach(json_object_get(w, "authorships"), k, v)
        {
            json_t *a = json_object_get(v, "author");
            const char *id = str_of(a, "id");
            if (id && strcmp(id, aid))
                tally_add(p->coauthors, id, str_of(a, "display_name"));
        }
        json_array_foreach(json_object_get(w, "topics"), k, v)
            tally_add(p->topics, str_of(v, "id"), str_of(v, "display_name"));
        json_array_foreach(json_object_get(w, "referenced_works"), k, v)
            tally_add(p->cites, json_string_value(v), NULL);
    }
    return 0;
}

/* Works: candidates from the co-authors' works, the topics' most cited works
 * and the works the author's works cite; signals from each candidate's own
 * authors, topics and citations, whichever way it was found. */
static int rec_works(pgr_store *st, profile *p, recs_list *l, pgr_err *err)
{
    int rc = -1;
    json_t *top_co = tally_top(p->coauthors, MAX_COAUTHORS);
    json_t *top_t = tally_top(p->topics, MAX_TOPICS);
    json_t *details = json_object(), *res = NULL;
    size_t i, k;
    json_t *v, *w;
    /* the co-authors' works, then the topics' most cited works */
    for (int pass = 0; pass < 2; pass++) {
        json_t *from = pass ? top_t : top_co;
        json_array_foreach(from, i, v)
        {
            if (list_by(st, PGR_WORKS, pass ? "topics.id" : "authorships.author.id",
                        json_string_value(v), pass ? TOPIC_WORKS : COAUTHOR_WORKS, WORK_SEL,
                        N_WORK_SEL, &res, err) != 0)
                goto cleanup;
            json_array_foreach(res, k, w)
            {
                const char *id = str_of(w, "id");
                if (id && !json_object_get(p->known, id) && cand_get(l, id))
                    json_object_set(details, id, w);
            }
            json_decref(res);
            res = NULL;
        }
    }
    const char *key;
    json_object_foreach(p->cites, key, v) if (!json_object_get(p->known, key)) cand_get(l, key);
    /* the cited works not seen in a list yet */
    if (fetch_missing(st, PGR_WORKS, l, WORK_SEL, N_WORK_SEL, details, err) != 0)
        goto cleanup;
    for (size_t n = 0; n < l->n; n++) {
        recs_cand *c = &l->v[n];
        json_t *d = json_object_get(details, c->id);
        if (!d)
            continue; /* a dangling reference: no such work */
        json_array_foreach(json_object_get(d, "authorships"), k, v)
        {
            json_t *a = json_object_get(v, "author");
            const char *id = str_of(a, "id");
            if (id && json_object_get(p->coauthors, id))
                sig_name(c, "coauthors", str_of(a, "display_name"));
        }
        json_array_foreach(json_object_get(d, "topics"), k, v)
        {
            const char *id = str_of(v, "id");
            if (id && json_object_get(p->topics, id))
                sig_name(c, "shared_topics", str_of(v, "display_name"));
        }
        json_int_t by_yours =
            json_integer_value(json_object_get(json_object_get(p->cites, c->id), "n"));
        if (by_yours)
            sig_count(c, "cited_by_your_works", by_yours);
        json_int_t cites = json_integer_value(json_object_get(d, "cited_by_count"));
        json_object_set_new(c->signals, "cited_by_count", json_integer(cites));
        double topics = sig_len(c, "shared_topics");
        c->graph = W_COAUTHOR * sig_len(c, "coauthors") + W_TOPIC * (topics < 3 ? topics : 3) +
                   W_CITED_BY_YOURS * (double)by_yours +
                   W_POPULAR * log1p((double)(cites > 0 ? cites : 0));
        json_object_set(c->info, "title", json_object_get(d, "title"));
        json_object_set(c->info, "publication_year", json_object_get(d, "publication_year"));
        json_object_set(c->info, "cited_by_count", json_object_get(d, "cited_by_count"));
        json_object_set(c->info, "abstract", json_object_get(d, "abstract"));
    }
    rc = 0;
cleanup:
    json_decref(res);
    json_decref(details);
    json_decref(top_co);
    json_decref(top_t);
    return rc;
}

/* The candidate for the author of authorship x, unless that is the author
 * or an existing co-author (NULL). */
static recs_cand *person(recs_list *l, const profile *p, const char *aid, json_t *x)
{
    const char *id = str_of(json_object_get(x, "author"), "id");
    if (!id || !strcmp(id, aid) || json_object_get(p->coauthors, id))
        return NULL;
    return cand_get(l, id);
}

/* People: co-authors of co-authors, authors of the works the author's works
 * cite, authors of the most cited works in the author's topics (all through
 * works that are not hidden); never the author or an existing co-author. */
static int rec_coauthors(pgr_store *st, const char *aid, profile *p, const json_t *hidden,
                         recs_list *l, pgr_err *err)
{
    int rc = -1;
    json_t *top_co = tally_top(p->coauthors, MAX_COAUTHORS);
    json_t *top_t = tally_top(p->topics, MAX_TOPICS);
    json_t *details = json_object(), *res = NULL;
    static const char *const ASEL[] = {"id", "display_name", "works_count", "cited_by_count"};
    json_t *cited = NULL;
    const char **cited_ids = NULL;
    size_t i, k, m, n_cited;
    const char *key;
    json_t *v, *w, *x;
    json_array_foreach(top_co, i, v)
    {
        const char *cid = json_string_value(v);
        const char *cname = str_of(json_object_get(p->coauthors, cid), "name");
        if (list_by(st, PGR_WORKS, "authorships.author.id", cid, COAUTHOR_WORKS, WORK_SEL,
                    N_WORK_SEL, &res, err) != 0)
            goto cleanup;
        json_array_foreach(res, k, w)
        {
            const char *wid = str_of(w, "id");
            if (!wid || (hidden && json_object_get(hidden, wid)))
                continue; /* a held-out work is no evidence */
            json_array_foreach(json_object_get(w, "authorships"), m, x)
            {
                recs_cand *c = person(l, p, aid, x);
                if (c) {
                    sig_name(c, "via_coauthors", cname);
                    sig_count(c, "works_with_your_coauthors", 1);
                }
            }
        }
        json_decref(res);
        res = NULL;
    }
    /* the authors of the works the author's works cite */
    n_cited = json_object_size(p->cites);
    cited_ids = calloc(n_cited + 1, sizeof *cited_ids);
    cited = json_object();
    if (!cited_ids || !cited) {
        pgr_errf(err, PGR_ENOMEM, "recommendations: out of memory");
        goto cleanup;
    }
    n_cited = 0;
    json_object_foreach(p->cites, key, v) if (!json_object_get(p->known, key) &&
                                              !(hidden && json_object_get(hidden, key)))
        cited_ids[n_cited++] = key;
    if (fetch_ids(st, PGR_WORKS, cited_ids, n_cited, WORK_SEL, N_WORK_SEL, cited, err) != 0)
        goto cleanup;
    json_object_foreach(cited, key, w)
    {
        json_int_t times = json_integer_value(json_object_get(json_object_get(p->cites, key), "n"));
        json_array_foreach(json_object_get(w, "authorships"), m, x)
        {
            recs_cand *c = person(l, p, aid, x);
            if (c)
                sig_count(c, "cited_by_your_works", times);
        }
    }
    /* the authors of the most cited works in the author's topics */
    json_array_foreach(top_t, i, v)
    {
        const char *tname = str_of(json_object_get(p->topics, json_string_value(v)), "name");
        if (list_by(st, PGR_WORKS, "topics.id", json_string_value(v), TOPIC_WORKS, WORK_SEL,
                    N_WORK_SEL, &res, err) != 0)
            goto cleanup;
        json_array_foreach(res, k, w)
        {
            const char *wid = str_of(w, "id");
            if (!wid || (hidden && json_object_get(hidden, wid)))
                continue;
            json_array_foreach(json_object_get(w, "authorships"), m, x)
            {
                recs_cand *c = person(l, p, aid, x);
                if (c)
                    sig_name(c, "shared_topics", tname);
            }
        }
        json_decref(res);
        res = NULL;
    }
    if (fetch_missing(st, PGR_AUTHORS, l, ASEL, 4, details, err) != 0)
        goto cleanup;
    for (size_t n = 0; n < l->n; n++) {
        recs_cand *c = &l->v[n];
        json_t *d = json_object_get(details, c->id);
        if (!d)
            continue;
        double topics = sig_len(c, "shared_topics");
        json_int_t shared =
            json_integer_value(json_object_get(c->signals, "works_with_your_coauthors"));
        json_int_t by_yours =
            json_integer_value(json_object_get(c->signals, "cited_by_your_works"));
        c->graph = W_COAUTHOR * sig_len(c, "via_coauthors") +
                   W_SHARED_WORKS * log1p((double)shared) +
                   W_TOPIC_PEOPLE * (topics < 3 ? topics : 3) +
                   W_CITED_BY_YOURS * (double)(by_yours < 3 ? by_yours : 3);
        json_object_set(c->info, "display_name", json_object_get(d, "display_name"));
        json_object_set(c->info, "works_count", json_object_get(d, "works_count"));
        json_object_set(c->info, "cited_by_count", json_object_get(d, "cited_by_count"));
    }
    rc = 0;
cleanup:
    free(cited_ids);
    json_decref(cited);
    json_decref(res);
    json_decref(details);
    json_decref(top_co);
    json_decref(top_t);
    return rc;
}

int recs_graph(pgr_store *st, const char *aid, const recs_opts *o, recs_list *out, pgr_err *err)
{
    profile p = {0};
    int rc = -1;
    if (profile_read(st, aid, o->hidden, &p, err) != 0)
        goto cleanup;
    rc = o->kind == RECS_COAUTHORS ? rec_coauthors(st, aid, &p, o->hidden, out, err)
                                   : rec_works(st, &p, out, err);
    if (rc != 0)
        goto cleanup;
    json_decref(out->exclude_note);
    out->exclude_note = json_pack("{s:I, s:I}", "own_works", (json_int_t)json_object_size(p.known),
                                  "coauthors", (json_int_t)json_object_size(p.coauthors));
    recs_fuse(out); /* no gains yet: graph order */
cleanup:
    profile_free(&p);
    return rc;
}

/* ---- adapter scores ------------------------------------------------------------- */
/* The base model's score of a text does not depend on the researcher: keep
 * it (keyed by sha256(model + text)) so a second request scores only under
 * the adapter. */
enum { BASE_SLOTS = 1024 };
static struct {
    char key[65];
    double lp;
    int n;
} base_cache[BASE_SLOTS];
static pthread_mutex_t base_mu = PTHREAD_MUTEX_INITIALIZER;

static unsigned base_slot(const char *key)
{
    char head[9];
    memcpy(head, key, 8);
    head[8] = 0;
    return (unsigned)(strtoul(head, NULL, 16) % BASE_SLOTS);
}

static int base_get(const char *key, double *lp, int *n)
{
    int hit = 0;
    unsigned s = base_slot(key);
    pthread_mutex_lock(&base_mu);
    if (base_cache[s].n > 0 && !strcmp(base_cache[s].key, key)) {
        *lp = base_cache[s].lp;
        *n = base_cache[s].n;
        hit = 1;
    }
    pthread_mutex_unlock(&base_mu);
    return hit;
}

static void base_put(const char *key, double lp, int n)
{
    unsigned s = base_slot(key);
    pthread_mutex_lock(&base_mu);
    memcpy(base_cache[s].key, key, 65);
    base_cache[s].lp = lp;
    base_cache[s].n = n;
    pthread_mutex_unlock(&base_mu);
}

typedef struct score_job score_job;
typedef struct score_slot {
    score_job *j;
    int cand;  /* index into list.v */
    int which; /* 0 base, 1 adapter */
} score_slot;

struct score_job {
    pthread_mutex_t mu;
    srv_request *req;
    recs_list list;
    json_t *head;     /* the answer's fields besides results (owned) */
    infer_adapter ad; /* held until the last on_done */
    int per_page, k;
    double *lp;        /* (k, 2): log p sum, base and adapter */
    int *nsc;          /* (k, 2): tokens scored */
    char (*keys)[65];  /* (k): base cache keys */
    score_slot *slots; /* (2k) */
    int pending;       /* submitted and not done */
    int worst;         /* PGR_SCHED_* of the worst ending */
    char message[256];
    int answered; /* the handler answered (a submit failed): only count down */
    uint64_t t0;
};

static void job_free(score_job *j)
{
    recs_list_free(&j->list);
    json_decref(j->head);
    infer_adapter_release(&j->ad);
    free(j->lp);
    free(j->nsc);
    free(j->keys);
    free(j->slots);
    pthread_mutex_destroy(&j->mu);
    free(j);
}

/* The answer: head + the first per_page results, ids as URLs. */
static json_t *answer(srv_request *req, json_t *head, recs_list *l, int per_page)
{
    json_t *out = json_deep_copy(head), *results = json_array();
    for (size_t i = 0; i < l->n && i < (size_t)per_page; i++) {
        recs_cand *c = &l->v[i];
        json_t *r = json_deep_copy(c->info);
        json_object_del(r, "abstract"); /* the work's page has it; keeps answers small */
        json_object_set_new(r, "id", json_string(c->id));
        json_object_set_new(r, "score", json_real(c->score));
        json_object_set_new(r, "graph_score", json_real(c->graph));
        json_object_set_new(r, "adapter_gain", c->gain_n > 0 ? json_real(c->gain) : json_null());
        json_object_set(r, "signals", c->signals);
        json_array_append_new(results, r);
    }
    json_object_set_new(out, "results", results);
    json_t *meta = json_object_get(out, "meta");
    json_object_set_new(meta, "count", json_integer((json_int_t)l->n));
    json_object_set_new(meta, "per_page", json_integer(per_page));
    if (api_rewrite_ids(out, srv_public_url(req), 0) != 0) {
        json_decref(out);
        return NULL;
    }
    return out;
}

static void score_done(void *cb, const pgr_sched_result *r)
{
    score_slot *s = cb;
    score_job *j = s->j;
    pthread_mutex_lock(&j->mu);
    if (r->status == PGR_SCHED_DONE && r->n_scored > 0) {
        j->lp[s->cand * 2 + s->which] = r->logprob_sum;
        j->nsc[s->cand * 2 + s->which] = r->n_scored;
        if (s->which == 0)
            base_put(j->keys[s->cand], r->logprob_sum, r->n_scored);
    } else if (r->status != PGR_SCHED_DONE && r->status > j->worst) {
        j->worst = r->status;
        snprintf(j->message, sizeof j->message, "%s",
                 r->message && r->message[0] ? r->message : pgr_sched_status_name(r->status));
    }
    int left = --j->pending;
    int answered = j->answered;
    pthread_mutex_unlock(&j->mu);
    if (left)
        return;
    if (answered) {
        job_free(j);
        return;
    }
    srv_request *req = j->req;
    if (j->worst == PGR_SCHED_DEADLINE) {
        srv_reply_error(req, 504, "deadline_exceeded",
                        "scoring the candidates with the adapter took too long (%s)", j->message);
    } else if (j->worst != PGR_SCHED_DONE) {
        srv_add_header(req, "Retry-After", "5");
        srv_reply_error(req, 503, "inference_unavailable", "adapter scoring failed: %s",
                        j->message);
    } else {
        for (int i = 0; i < j->k; i++) {
            recs_cand *c = &j->list.v[i];
            int nb = j->nsc[i * 2], na = j->nsc[i * 2 + 1];
            if (nb > 0 && na > 0) {
                c->gain = j->lp[i * 2 + 1] / na - j->lp[i * 2] / nb;
                c->gain_n = na;
            }
        }
        recs_fuse(&j->list);
        json_object_set_new(json_object_get(j->head, "meta"), "scoring_ms",
                            json_real((double)(pgr_now_us() - j->t0) / 1e3));
        srv_reply_json(req, 200, answer(req, j->head, &j->list, j->per_page), 0);
    }
    srv_resume(req);
    job_free(j);
}

/* Prompt of candidate c for scoring: a context line, then the scored text
 * (the abstract, or the title when there is none; for people, their most
 * cited titles). Returns 0 with ids and *from (first scored position). */
static int score_prompt(const pgr_tokenizer *tok, const char *context, const char *text,
                        pgr_tokvec *ids, int *from, pgr_err *err)
{
    pgr_tokvec body = {0};
    int rc = -1;
    ids->n = 0;
    if (pgr_tok_encode(tok, context, strlen(context), PGR_TOK_ADD_BOS, ids, err) != 0 ||
        pgr_tok_encode(tok, text, strlen(text), 0, &body, err) != 0)
        goto cleanup;
    if (ids->n > PREFIX_TOKENS)
        ids->n = PREFIX_TOKENS;
    if (ids->n < 1 || body.n < 1) {
        pgr_errf(err, PGR_EINVAL, "recommendations: empty scoring text");
        goto cleanup;
    }
    *from = (int)ids->n;
    size_t take = body.n < SCORED_TOKENS ? body.n : SCORED_TOKENS;
    size_t need;
    if (!pgr_add_ok(ids->n, take, &need)) {
        pgr_errf(err, PGR_EINVAL, "recommendations: scoring prompt too long");
        goto cleanup;
    }
    if (need > ids->cap) {
        int32_t *v = realloc(ids->v, need * sizeof *v);
        if (!v) {
            pgr_errf(err, PGR_ENOMEM, "recommendations: out of memory");
            goto cleanup;
        }
        ids->v = v;
        ids->cap = need;
    }
    memcpy(ids->v + ids->n, body.v, take * sizeof *body.v);
    ids->n = need;
    rc = 0;
cleanup:
    pgr_tokvec_free(&body);
    return rc;
}

/* The texts to score: works by abstract or title; people by the titles of
 * their most cited works (read here, for the scored few only). */
static int score_texts(pgr_store *st, recs_list *l, int k, int kind, pgr_sb *ctx, pgr_sb *txt,
                       pgr_err *err)
{
    static const char *const TSEL[] = {"id", "title"};
    for (int i = 0; i < k; i++) {
        recs_cand *c = &l->v[i];
        pgr_sb_reset(&ctx[i]);
        pgr_sb_reset(&txt[i]);
        if (kind == RECS_WORKS) {
            const char *t = str_of(c->info, "title"), *a = str_of(c->info, "abstract");
            if (a && *a) {
                pgr_sb_printf(&ctx[i], "Title: %s\nAbstract:", t ? t : "");
                pgr_sb_printf(&txt[i], " %s", a);
            } else {
                pgr_sb_puts(&ctx[i], "Paper title:");
                pgr_sb_printf(&txt[i], " %s", t && *t ? t : c->id);
            }
        } else {
            json_t *res = NULL;
            if (list_by(st, PGR_WORKS, "authorships.author.id", c->id, 3, TSEL, 2, &res, err) != 0)
                return -1;
            pgr_sb_puts(&ctx[i], "Papers by one researcher:");
            size_t m;
            json_t *w;
            json_array_foreach(res, m, w) pgr_sb_printf(
                &txt[i], "%s %s", m ? ";" : "", str_of(w, "title") ? str_of(w, "title") : "");
            json_decref(res);
            if (!txt[i].len)
                pgr_sb_printf(&txt[i], " %s",
                              str_of(c->info, "display_name") ? str_of(c->info, "display_name")
                                                              : c->id);
        }
        if (!pgr_sb_ok(&ctx[i]) || !pgr_sb_ok(&txt[i]))
            return pgr_errf(err, PGR_ENOMEM, "recommendations: out of memory");
    }
    return 0;
}

/* ---- the handler ---------------------------------------------------------------- */
static int parse_params(srv_request *req, int *kind, int *per_page, int *want)
{
    static const char *const allowed[] = {"kind", "per_page", "per-page", "mode", "adapter", NULL};
    if (api_only_params(req, allowed) != 0)
        return -1;
    pgr_err err = {0};
    if (infer_adapter_want(srv_query_get(req, "mode"), srv_query_get(req, "adapter"), want, &err) !=
        0) {
        srv_reply_error(req, 400, "invalid_parameter", "%s", err.msg);
        return -1;
    }
    const char *k = srv_query_get(req, "kind");
    *kind = RECS_WORKS;
    if (k && !strcmp(k, "coauthors"))
        *kind = RECS_COAUTHORS;
    else if (k && strcmp(k, "works")) {
        srv_reply_error(req, 400, "invalid_parameter", "kind: '%.40s' is not works or coauthors",
                        k);
        return -1;
    }
    *per_page = 10;
    const char *pp = srv_query_get(req, "per_page");
    if (!pp)
        pp = srv_query_get(req, "per-page");
    if (pp) {
        char *end = NULL;
        long v = strtol(pp, &end, 10);
        if (!*pp || *end || v < 1 || v > 50 || pp[0] == '+' || pp[0] == ' ') {
            srv_reply_error(req, 400, "invalid_parameter",
                            "per_page: '%.40s' is not a whole number from 1 to 50", pp);
            return -1;
        }
        *per_page = (int)v;
    }
    return 0;
}

static void get_recommendations(srv_request *req)
{
    pgr_err err = {0};
    int kind, per_page, want, k = 0;
    if (parse_params(req, &kind, &per_page, &want) != 0)
        return;
    pgr_store *st = srv_store(req, &err);
    if (!st) {
        srv_add_header(req, "Retry-After", "5");
        srv_reply_error(req, 503, "database_unavailable", "%s", err.msg);
        return;
    }
    score_job *j = NULL;
    json_t *author = NULL;
    pgr_sb *ctx = NULL, *txt = NULL;
    pgr_tokvec ids = {0};
    recs_list list = {0};
    infer_adapter ad = {0};
    const char *raw = srv_param(req, "id");
    const char *norm = api_norm_id(srv_arena(req), srv_public_url(req), raw);
    static const char *const sel[] = {"id", "display_name"};
    uint64_t t0 = pgr_now_us();
    if (!norm || pgr_get(st, PGR_AUTHORS, norm, sel, 2, &author, &err) != 0) {
        srv_note_db_time(req, pgr_now_us() - t0);
        if (!norm || err.code == PGR_ENOTFOUND || err.code == PGR_EINVAL)
            srv_reply_error(req, 404, "not_found", "authors/%.200s: no such author",
                            raw ? raw : "");
        else
            srv_reply_internal(req, "recommendations: %s", err.msg);
        goto cleanup;
    }
    const char *aid = str_of(author, "id");
    recs_opts o = {kind, NULL};
    pgr_sched *sched = infer_sched();
    if (recs_graph(st, aid, &o, &list, &err) != 0 ||
        (sched && infer_adapter_acquire(st, infer_author_id(aid), want, &ad, &err) != 0)) {
        srv_note_db_time(req, pgr_now_us() - t0);
        srv_reply_internal(req, "recommendations: %s", err.msg);
        goto cleanup;
    }
    /* the graph's best candidates, at least a page of them, are re-ranked */
    k = 2 * per_page > 6 ? 2 * per_page : 6;
    k = k < MAX_RESCORE ? k : MAX_RESCORE;
    k = k < (int)list.n ? k : (int)list.n;
    int scoring = sched && ad.handle && k > 0;
    const char *why = !sched      ? "no model is loaded on this server"
                      : ad.handle ? "nothing to score"
                                  : ad.reason;
    json_t *head = json_pack(
        "{s:{s:s, s:s?}, s:s, s:s, s:s, s:o, s:o, s:{s:i, s:o}}", "author", "id", aid,
        "display_name", str_of(author, "display_name"), "kind",
        kind == RECS_WORKS ? "works" : "coauthors", "scored_by",
        scoring ? "graph+adapter" : "graph", "scoring_note",
        scoring ? "graph signals fused with the researcher's adapter (prefill-only score gain "
                  "over the base model)"
                : why,
        "adapter", infer_adapter_json(&ad), "model",
        sched ? json_string(infer_model_name()) : json_null(), "meta", "rescored", scoring ? k : 0,
        "excluded", json_incref(list.exclude_note));
    if (!head) {
        srv_reply_internal(req, "recommendations: out of memory");
        goto cleanup;
    }
    if (!scoring) {
        srv_note_db_time(req, pgr_now_us() - t0);
        srv_reply_json(req, 200, answer(req, head, &list, per_page), 0);
        json_decref(head);
        goto cleanup;
    }
    /* Score the best k graph candidates under the adapter (and the base
     * model where its score is not cached), all submitted at once so the
     * scheduler batches their prefill. */
    ctx = calloc((size_t)k, sizeof *ctx);
    txt = calloc((size_t)k, sizeof *txt);
    j = calloc(1, sizeof *j);
    if (j)
        pthread_mutex_init(&j->mu, NULL);
    if (!ctx || !txt || !j || !(j->lp = calloc((size_t)k * 2, sizeof *j->lp)) ||
        !(j->nsc = calloc((size_t)k * 2, sizeof *j->nsc)) ||
        !(j->keys = calloc((size_t)k, sizeof *j->keys)) ||
        !(j->slots = calloc((size_t)k * 2, sizeof *j->slots))) {
        json_decref(head);
        srv_reply_internal(req, "recommendations: out of memory");
        goto cleanup;
    }
    j->req = req;
    j->head = head;
    j->per_page = per_page;
    j->k = k;
    j->t0 = pgr_now_us();
    j->list = list;
    memset(&list, 0, sizeof list);
    j->ad = ad;
    memset(&ad, 0, sizeof ad);
    if (score_texts(st, &j->list, k, kind, ctx, txt, &err) != 0) {
        srv_note_db_time(req, pgr_now_us() - t0);
        srv_reply_internal(req, "recommendations: %s", err.msg);
        goto cleanup;
    }
    srv_note_db_time(req, pgr_now_us() - t0);
    uint64_t deadline = pgr_now_us() + (uint64_t)infer_deadline_s() * 1000000u;
    pthread_mutex_lock(&j->mu); /* callbacks wait until every request is in */
    uint64_t *sub = calloc((size_t)k * 2, sizeof *sub);
    int n_sub = 0, failed = 0;
    for (int i = 0; i < k && !failed; i++) {
        int from = 0;
        if (!sub || score_prompt(infer_tok(), ctx[i].data, txt[i].data, &ids, &from, &err) != 0) {
            failed = 1;
            break;
        }
        pgr_sb key = {0};
        pgr_sb_printf(&key, "%s\n%s\n%s", infer_model_sha256(), ctx[i].data, txt[i].data);
        pgr_sha256_hex(key.data ? key.data : "", key.len, j->keys[i]);
        pgr_sb_free(&key);
        double lp;
        int nb;
        int cached = base_get(j->keys[i], &lp, &nb);
        srv_note_cache("recs_base_score", cached);
        if (cached) {
            j->lp[i * 2] = lp;
            j->nsc[i * 2] = nb;
        }
        for (int which = cached ? 1 : 0; which < 2; which++) {
            score_slot *s = &j->slots[i * 2 + which];
            s->j = j;
            s->cand = i;
            s->which = which;
            pgr_sched_req q = {0};
            q.user = aid; /* fairness: one researcher's candidates share a turn */
            q.prompt = ids.v;
            q.n_prompt = ids.n;
            q.score = 1;
            q.score_from = from;
            pgr_sample_defaults(&q.sample);
            q.deadline_us = deadline;
            q.adapter = which ? j->ad.handle : NULL;
            q.mode = which ? j->ad.mode : PGR_SCHED_MODE_PREFILL;
            q.on_done = score_done;
            q.cb = s;
            if (pgr_sched_submit(sched, &q, &sub[n_sub], &err) != 0) {
                failed = 1;
                break;
            }
            n_sub++;
        }
    }
    j->pending = n_sub;
    if (failed) {
        for (int i = 0; i < n_sub; i++)
            pgr_sched_cancel(sched, sub[i]);
        j->answered = 1;
        if (err.code == PGR_EBUSY) {
            srv_add_header(req, "Retry-After", "2");
            srv_reply_error(req, 503, "inference_busy", "%s; try again shortly", err.msg);
        } else {
            srv_reply_internal(req, "recommendations: %s", err.msg);
        }
    } else {
        srv_suspend(req);
    }
    free(sub);
    int free_now = failed && n_sub == 0;
    pthread_mutex_unlock(&j->mu);
    if (!free_now)
        j = NULL; /* the last on_done frees it */
cleanup:
    if (j)
        job_free(j);
    if (ctx)
        for (int i = 0; i < k; i++)
            pgr_sb_free(&ctx[i]);
    if (txt)
        for (int i = 0; i < k; i++)
            pgr_sb_free(&txt[i]);
    free(ctx);
    free(txt);
    pgr_tokvec_free(&ids);
    recs_list_free(&list);
    infer_adapter_release(&ad);
    json_decref(author);
}

const srv_route recs_routes[] = {
    {"GET", "/api/v1/authors/{id}/recommendations", get_recommendations, "authors.recommendations",
     0, NULL},
    {NULL, NULL, NULL, NULL, 0, NULL},
};
