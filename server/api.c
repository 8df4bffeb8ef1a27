/* JSON API handlers: /api/v1/{works,authors,topics,sources,institutions},
 * entity by id, autocomplete, co-authors, the author graph. (The summary and
 * recommendations endpoints are the inference modules'.) Parameters are parsed in
 * api_params.c; the store (graph/graph.h) does the querying. */
#include <stdlib.h>
#include <string.h>

#include "server/api.h"

static const pgr_entity ent_works = PGR_WORKS, ent_authors = PGR_AUTHORS, ent_topics = PGR_TOPICS,
                        ent_sources = PGR_SOURCES, ent_institutions = PGR_INSTITUTIONS;

static pgr_entity route_entity(srv_request *req)
{
    return *(const pgr_entity *)srv_route_cls(req);
}

/* Answers a store failure: bad parameters are the client's (400), unknown ids
 * 404, a busy database 503, anything else ours (500, logged). */
static void reply_store_error(srv_request *req, const pgr_err *err)
{
    switch (err->code) {
    case PGR_EINVAL:
        srv_reply_error(req, 400, "invalid_parameter", "%s", err->msg);
        break;
    case PGR_ENOTFOUND:
        srv_reply_error(req, 404, "not_found", "%s", err->msg);
        break;
    case PGR_EBUSY:
        srv_add_header(req, "Retry-After", "1");
        srv_reply_error(req, 503, "database_busy", "%s", err->msg);
        break;
    default:
        /* A connection-level failure leaves the handle unusable; the next
         * request on this thread reopens it. */
        if (err->code == PGR_EDB)
            srv_store_reset(req);
        srv_reply_internal(req, "%s", err->msg);
        break;
    }
}

/* This thread's store, or NULL after answering 503. */
static pgr_store *store_or_503(srv_request *req)
{
    pgr_err err = {0};
    pgr_store *st = srv_store(req, &err);
    if (!st) {
        srv_add_header(req, "Retry-After", "5");
        srv_reply_error(req, 503, "database_unavailable", "the graph database is unavailable: %s",
                        err.msg);
    }
    return st;
}

/* Refuses parameters outside allowed (plus OpenAlex's courtesy parameters
 * mailto and api_key, which clients send everywhere). Returns 0 when all
 * are known, else answers 400 naming the first unknown one. */
static int only_params(srv_request *req, const char *const *allowed)
{
    size_t n;
    const srv_kv *kv = srv_query(req, &n);
    for (size_t i = 0; i < n; i++) {
        int ok = !strcmp(kv[i].name, "mailto") || !strcmp(kv[i].name, "api_key");
        for (const char *const *a = allowed; *a && !ok; a++)
            ok = !strcmp(*a, kv[i].name);
        if (!ok) {
            pgr_sb known = {0};
            for (const char *const *a = allowed; *a; a++)
                pgr_sb_printf(&known, "%s%s", a == allowed ? "" : ", ", *a);
            srv_reply_error(req, 400, "invalid_parameter", "unknown parameter '%.60s' (known: %s)",
                            kv[i].name, known.data && *known.data ? known.data : "none");
            pgr_sb_free(&known);
            return -1;
        }
        for (size_t j = 0; j < i; j++)
            if (!strcmp(kv[j].name, kv[i].name)) {
                srv_reply_error(req, 400, "invalid_parameter", "%s: given more than once",
                                kv[i].name);
                return -1;
            }
    }
    return 0;
}

int api_only_params(srv_request *req, const char *const *allowed)
{
    return only_params(req, allowed);
}

/* Adds the store time to the request and returns it in milliseconds. */
static long db_time(srv_request *req, uint64_t t0)
{
    uint64_t dt = pgr_now_us() - t0;
    srv_note_db_time(req, dt);
    return (long)(dt / 1000);
}

/* Sends a store result after turning short keys into id URLs. */
static void reply_result(srv_request *req, json_t *out, int keys_are_ids, unsigned flags)
{
    if (api_rewrite_ids(out, srv_public_url(req), keys_are_ids) < 0) {
        json_decref(out);
        srv_reply_internal(req, "out of memory rewriting ids");
        return;
    }
    srv_reply_json(req, 200, out, flags);
}

/* Fills in the meta fields OpenAlex clients read, whichever the store set. */
static void complete_meta(json_t *out, long ms, int per_page, int page, int cursor_mode)
{
    json_t *meta = json_object_get(out, "meta");
    if (!json_is_object(meta)) {
        meta = json_object();
        json_object_set_new(out, "meta", meta);
    }
    json_object_set_new(meta, "db_response_time_ms", json_integer(ms));
    if (!json_object_get(meta, "count"))
        json_object_set_new(
            meta, "count",
            json_integer((json_int_t)json_array_size(json_object_get(out, "results"))));
    if (!json_object_get(meta, "per_page"))
        json_object_set_new(meta, "per_page", json_integer(per_page));
    if (!json_object_get(meta, "page"))
        json_object_set_new(meta, "page", cursor_mode ? json_null() : json_integer(page));
    if (!json_object_get(meta, "next_cursor"))
        json_object_set_new(meta, "next_cursor", json_null());
    if (!json_object_get(meta, "groups_count"))
        json_object_set_new(meta, "groups_count", json_null());
    if (!json_is_array(json_object_get(out, "results")))
        json_object_set_new(out, "results", json_array());
}

/* ---- the search results cache (api_cache.c) ----
 * A search costs milliseconds of ranking and page assembly; the same
 * searches come again and again (a popular query, a page reloaded), and
 * the graph changes only when an ingest commits. So a list request with a
 * search is cached under its normalised form, served while the graph's data
 * version is unchanged (any commit that writes bumps it, on both backends,
 * whichever process wrote). PGR_SEARCH_CACHE=off turns it off: what a search
 * itself costs (docs/benchmarks.md, H2). */
static int search_cache_on(void)
{
    static int on = -1; /* read once; every thread reads the same value */
    if (on < 0) {
        const char *v = getenv("PGR_SEARCH_CACHE");
        on = !(v && (!strcmp(v, "off") || !strcmp(v, "0")));
    }
    return on;
}

static int has_search(const pgr_query *q)
{
    if (q->search && *q->search)
        return 1;
    for (size_t i = 0; i < q->n_filters; i++) {
        size_t l = strlen(q->filters[i].field);
        if (l > 7 && !strcmp(q->filters[i].field + l - 7, ".search"))
            return 1;
    }
    return 0;
}

static int cmp_kv_name(const void *a, const void *b)
{
    const srv_kv *x = *(const srv_kv *const *)a, *y = *(const srv_kv *const *)b;
    int c = strcmp(x->name, y->name);
    return c ? c : strcmp(x->value, y->value);
}

/* The request as a cache key: entity, the public URL the ids are written
 * with, and the parameters sorted by name, each as length:name=length:value
 * (unambiguous whatever the bytes), per_page spelt one way, mailto and
 * api_key (which change nothing) left out. NULL: not cached. */
static const char *api_search_key(srv_request *req, pgr_entity e, const srv_kv *kv, size_t n)
{
    if (n > 32)
        return NULL;
    const srv_kv *v[32];
    for (size_t i = 0; i < n; i++)
        v[i] = &kv[i];
    qsort(v, n, sizeof *v, cmp_kv_name);
    pgr_sb k = {0};
    pgr_sb_printf(&k, "%c|%s", pgr_entity_letter(e), srv_public_url(req));
    for (size_t i = 0; i < n; i++) {
        const char *name = !strcmp(v[i]->name, "per_page") ? "per-page" : v[i]->name;
        if (!strcmp(name, "mailto") || !strcmp(name, "api_key"))
            continue;
        pgr_sb_printf(&k, "|%zu:%s=%zu:%s", strlen(name), name, strlen(v[i]->value),
                      v[i]->value);
    }
    const char *key = pgr_sb_ok(&k) ? pgr_arena_strdup(srv_arena(req), k.data) : NULL;
    pgr_sb_free(&k);
    return key;
}

/* A cached body says the store took no time: db_response_time_ms of the
 * request that built it becomes 0 (in place: the body only shrinks). */
static void zero_db_time(char *body, size_t *len)
{
    static const char tag[] = "\"db_response_time_ms\":";
    char *p = strstr(body, tag);
    if (!p)
        return;
    p += sizeof tag - 1;
    char *end = p;
    while (*end >= '0' && *end <= '9')
        end++;
    if (end == p)
        return;
    *p = '0';
    memmove(p + 1, end, *len - (size_t)(end - body) + 1);
    *len -= (size_t)(end - p) - 1;
}

/* GET /api/v1/{entities} */
static void list_entities(srv_request *req)
{
    pgr_entity e = route_entity(req);
    size_t n;
    const srv_kv *kv = srv_query(req, &n);
    pgr_query q;
    pgr_err err = {0};
    if (api_parse_list(srv_arena(req), srv_public_url(req), e, kv, n, &q, &err) < 0) {
        reply_store_error(req, &err);
        return;
    }
    pgr_store *st = store_or_503(req);
    if (!st)
        return;
    /* the version is read before the list: a write committing in between
     * leaves newer results under an older version, never the reverse */
    int64_t version = -1;
    const char *ckey = NULL;
    if (search_cache_on() && has_search(&q)) {
        uint64_t t0 = pgr_now_us();
        if (pgr_data_version(st, &version, &err) == 0)
            ckey = api_search_key(req, e, kv, n);
        db_time(req, t0);
    }
    if (ckey) {
        size_t len = 0;
        char *body = api_search_cache_get(ckey, version, &len);
        srv_note_cache("api_search", body != NULL);
        if (body) {
            zero_db_time(body, &len);
            srv_reply_owned(req, 200, "application/json", body, len, 0);
            return;
        }
    }
    json_t *out = NULL;
    uint64_t t0 = pgr_now_us();
    int rc = pgr_list(st, &q, &out, &err);
    long ms = db_time(req, t0);
    if (rc < 0) {
        reply_store_error(req, &err);
        return;
    }
    complete_meta(out, ms, q.per_page, q.page ? q.page : 1, q.cursor != NULL);
    size_t gl = q.group_by ? strlen(q.group_by) : 0;
    if (!ckey) {
        reply_result(req, out, gl > 3 && !strcmp(q.group_by + gl - 3, ".id"), 0);
        return;
    }
    char *body = NULL;
    if (api_rewrite_ids(out, srv_public_url(req), gl > 3 && !strcmp(q.group_by + gl - 3, ".id")) < 0 ||
        !(body = json_dumps(out, JSON_COMPACT))) {
        json_decref(out);
        srv_reply_internal(req, "out of memory building the list");
        return;
    }
    json_decref(out);
    api_search_cache_put(ckey, version, body, strlen(body));
    srv_reply_owned(req, 200, "application/json", body, strlen(body), 0);
}

/* Resolves the {id} of the route into the entity's short key, answering
 * 404 (unknown or impossible id) itself. Returns NULL after replying. */
static const char *resolve_key(srv_request *req, pgr_store *st, pgr_entity e)
{
    const char *raw = srv_param(req, "id");
    const char *id = api_norm_id(srv_arena(req), srv_public_url(req), raw);
    pgr_err err = {0};
    pgr_id num = 0;
    if (!id) {
        srv_reply_error(req, 404, "not_found", "%s: empty id", pgr_entity_name(e));
        return NULL;
    }
    uint64_t t0 = pgr_now_us();
    int rc = pgr_resolve_id(st, e, id, &num, &err);
    db_time(req, t0);
    if (rc < 0 && (err.code == PGR_EINVAL || err.code == PGR_ENOTFOUND)) {
        /* As OpenAlex: an id that cannot name anything is as absent as one
         * that names nothing. */
        srv_reply_error(req, 404, "not_found", "%s/%.200s: %s", pgr_entity_name(e), raw,
                        err.code == PGR_EINVAL ? "not an id of this entity" : "no such entity");
        return NULL;
    }
    if (rc < 0) {
        reply_store_error(req, &err);
        return NULL;
    }
    return pgr_arena_printf(srv_arena(req), "%c%lld", pgr_entity_letter(e), (long long)num);
}

/* GET /api/v1/{entities}/{id...}: served from the entity cache while the
 * graph's data version is unchanged (one cheap query instead of several). */
static void get_entity(srv_request *req)
{
    static const char *const allowed[] = {"select", NULL};
    pgr_entity e = route_entity(req);
    if (only_params(req, allowed) < 0)
        return;
    pgr_query sel = {0};
    pgr_err err = {0};
    const char *select = srv_query_get(req, "select");
    if (select) {
        srv_kv kv = {"select", select};
        if (api_parse_list(srv_arena(req), srv_public_url(req), e, &kv, 1, &sel, &err) < 0) {
            reply_store_error(req, &err);
            return;
        }
    }
    pgr_store *st = store_or_503(req);
    if (!st)
        return;
    int64_t version = -1;
    const char *ckey = NULL;
    uint64_t t0 = pgr_now_us();
    if (pgr_data_version(st, &version, &err) == 0)
        ckey = pgr_arena_printf(srv_arena(req), "%c|%s|%s", pgr_entity_letter(e),
                                srv_param(req, "id"), select ? select : "");
    db_time(req, t0);
    if (ckey) {
        size_t len = 0;
        char etag[65];
        char *body = api_cache_get(ckey, version, &len, etag);
        srv_note_cache("api_entity", body != NULL);
        if (body) {
            srv_reply_etag(req, etag);
            srv_reply_owned(req, 200, "application/json", body, len, SRV_ETAG);
            return;
        }
    }
    const char *key = resolve_key(req, st, e);
    if (!key)
        return;
    json_t *out = NULL;
    t0 = pgr_now_us();
    int rc = pgr_get(st, e, key, sel.select, sel.n_select, &out, &err);
    db_time(req, t0);
    if (rc < 0) {
        reply_store_error(req, &err);
        return;
    }
    char *body = NULL;
    if (api_rewrite_ids(out, srv_public_url(req), 0) < 0 ||
        !(body = json_dumps(out, JSON_COMPACT))) {
        json_decref(out);
        srv_reply_internal(req, "out of memory building %s", pgr_entity_name(e));
        return;
    }
    json_decref(out);
    if (ckey)
        api_cache_put(ckey, version, body, strlen(body));
    srv_reply_owned(req, 200, "application/json", body, strlen(body), SRV_ETAG);
}

/* GET /api/v1/autocomplete/{entity}?q= */
static void autocomplete(srv_request *req)
{
    static const char *const allowed[] = {"q", "per-page", "per_page", NULL};
    if (only_params(req, allowed) < 0)
        return;
    const char *name = srv_param(req, "entity");
    int e = pgr_entity_parse(name);
    if (e != PGR_WORKS && e != PGR_AUTHORS && e != PGR_TOPICS && e != PGR_SOURCES &&
        e != PGR_INSTITUTIONS) {
        srv_reply_error(req, 404, "not_found",
                        "autocomplete/%.60s: no such entity (works, authors, topics, sources, "
                        "institutions)",
                        name);
        return;
    }
    const char *q = srv_query_get(req, "q");
    if (!q || !*q) {
        srv_reply_error(req, 400, "invalid_parameter", "q: required (the text to complete)");
        return;
    }
    if (strlen(q) > 200) {
        srv_reply_error(req, 400, "invalid_parameter", "q: longer than 200 bytes");
        return;
    }
    int limit = 10;
    const char *pp = srv_query_get(req, "per-page");
    if (!pp)
        pp = srv_query_get(req, "per_page");
    if (pp) {
        char *end = NULL;
        long v = strtol(pp, &end, 10);
        if (!*pp || *end || v < 1 || v > 200) {
            srv_reply_error(req, 400, "invalid_parameter",
                            "per-page: '%.40s' is not a whole number from 1 to 200", pp);
            return;
        }
        limit = v < 10 ? (int)v : 10;
    }
    pgr_store *st = store_or_503(req);
    if (!st)
        return;
    json_t *results = NULL;
    pgr_err err = {0};
    uint64_t t0 = pgr_now_us();
    int rc = pgr_autocomplete(st, (pgr_entity)e, q, &results, &err);
    long ms = db_time(req, t0);
    if (rc < 0) {
        reply_store_error(req, &err);
        return;
    }
    while (json_array_size(results) > (size_t)limit)
        json_array_remove(results, json_array_size(results) - 1);
    json_t *out = json_pack("{s:{s:I,s:I,s:i,s:i},s:o}", "meta", "count",
                            (json_int_t)json_array_size(results), "db_response_time_ms",
                            (json_int_t)ms, "page", 1, "per_page", limit, "results", results);
    if (!out) {
        srv_reply_internal(req, "out of memory building the autocomplete answer");
        return;
    }
    reply_result(req, out, 0, 0);
}

/* GET /api/v1/authors/{id}/coauthors: every co-author, paged like a list. */
static void coauthors(srv_request *req)
{
    static const char *const allowed[] = {"per-page", "per_page", "page", NULL};
    if (only_params(req, allowed) < 0)
        return;
    pgr_query pq;
    pgr_err err = {0};
    size_t n;
    const srv_kv *kv = srv_query(req, &n);
    if (api_parse_list(srv_arena(req), srv_public_url(req), PGR_AUTHORS, kv, n, &pq, &err) < 0) {
        reply_store_error(req, &err);
        return;
    }
    pgr_store *st = store_or_503(req);
    if (!st)
        return;
    const char *key = resolve_key(req, st, PGR_AUTHORS);
    if (!key)
        return;
    json_t *all = NULL;
    uint64_t t0 = pgr_now_us();
    int rc = pgr_author_coauthors(st, key, 0, &all, &err);
    long ms = db_time(req, t0);
    if (rc < 0) {
        reply_store_error(req, &err);
        return;
    }
    int page = pq.page ? pq.page : 1;
    size_t from = (size_t)(page - 1) * (size_t)pq.per_page;
    json_t *results = json_array();
    for (size_t i = from; i < json_array_size(all) && i < from + (size_t)pq.per_page; i++)
        json_array_append(results, json_array_get(all, i));
    json_t *out =
        json_pack("{s:{s:I,s:I,s:i,s:i,s:n,s:n},s:o}", "meta", "count",
                  (json_int_t)json_array_size(all), "db_response_time_ms", (json_int_t)ms, "page",
                  page, "per_page", pq.per_page, "next_cursor", "groups_count", "results", results);
    json_decref(all);
    if (!out) {
        srv_reply_internal(req, "out of memory building the co-author list");
        return;
    }
    reply_result(req, out, 0, SRV_ETAG);
}

/* GET /api/v1/authors/{id}/graph?depth=1|2&max_nodes=N */
static void author_graph(srv_request *req)
{
    static const char *const allowed[] = {"depth", "max_nodes", NULL};
    if (only_params(req, allowed) < 0)
        return;
    int depth = 1, max_nodes = 0;
    const char *d = srv_query_get(req, "depth");
    if (d) {
        if (strcmp(d, "1") && strcmp(d, "2")) {
            srv_reply_error(req, 400, "invalid_parameter", "depth: '%.40s' is not 1 or 2", d);
            return;
        }
        depth = d[0] - '0';
    }
    const char *m = srv_query_get(req, "max_nodes");
    if (m) {
        char *end = NULL;
        long v = strtol(m, &end, 10);
        if (!*m || *end || v < 1 || v > 5000 || m[0] == '+' || m[0] == ' ') {
            srv_reply_error(req, 400, "invalid_parameter",
                            "max_nodes: '%.40s' is not a whole number from 1 to 5000", m);
            return;
        }
        max_nodes = (int)v;
    }
    pgr_store *st = store_or_503(req);
    if (!st)
        return;
    const char *key = resolve_key(req, st, PGR_AUTHORS);
    if (!key)
        return;
    json_t *out = NULL;
    pgr_err err = {0};
    uint64_t t0 = pgr_now_us();
    int rc = pgr_author_graph(st, key, depth, max_nodes, &out, &err);
    db_time(req, t0);
    if (rc < 0) {
        reply_store_error(req, &err);
        return;
    }
    reply_result(req, out, 0, SRV_ETAG);
}

const srv_route api_routes[] = {
    {"GET", "/api/v1/works", list_entities, "api.works.list", 0, (void *)&ent_works},
    {"GET", "/api/v1/works/{id...}", get_entity, "api.works.get", 0, (void *)&ent_works},
    {"GET", "/api/v1/authors", list_entities, "api.authors.list", 0, (void *)&ent_authors},
    {"GET", "/api/v1/authors/{id...}", get_entity, "api.authors.get", 0, (void *)&ent_authors},
    {"GET", "/api/v1/authors/{id}/coauthors", coauthors, "api.authors.coauthors", 0, NULL},
    {"GET", "/api/v1/authors/{id}/graph", author_graph, "api.authors.graph", 0, NULL},
    {"GET", "/api/v1/topics", list_entities, "api.topics.list", 0, (void *)&ent_topics},
    {"GET", "/api/v1/topics/{id...}", get_entity, "api.topics.get", 0, (void *)&ent_topics},
    {"GET", "/api/v1/sources", list_entities, "api.sources.list", 0, (void *)&ent_sources},
    {"GET", "/api/v1/sources/{id...}", get_entity, "api.sources.get", 0, (void *)&ent_sources},
    {"GET", "/api/v1/institutions", list_entities, "api.institutions.list", 0,
     (void *)&ent_institutions},
    {"GET", "/api/v1/institutions/{id...}", get_entity, "api.institutions.get", 0,
     (void *)&ent_institutions},
    {"GET", "/api/v1/autocomplete/{entity}", autocomplete, "api.autocomplete", 0, NULL},
    {NULL, NULL, NULL, NULL, 0, NULL},
};
