/* Web pages: home, search, author profile, work, topic. Each handler asks
 * the store for a few whole lists (never one query per row), reshapes the
 * results into lean template data, and renders. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/infer.h"
#include "server/page_impl.h"

#define PROFILE_WORKS_PER_PAGE 50
#define SEARCH_PER_PAGE 20
#define SEARCH_FACET_TOP 1000 /* facets count the newest 1,000 matches */

/* Fields the work lists need: not abstract_inverted_index, references... */
static const char *const work_list_fields[] = {
    "id",       "display_name",      "publication_year", "publication_date", "type",
    "abstract", "authors_truncated", "cited_by_count",   "has_code",         "authorships",
    "topics",   "primary_location",
};
#define N_WORK_LIST_FIELDS (sizeof work_list_fields / sizeof work_list_fields[0])

/* Keys a partial reads must exist (null when unknown): a missing key would
 * resolve from an outer context, e.g. a work without a venue showing the
 * page's own field of that name. */
static void fill_nulls(json_t *o, const char *const *keys, size_t n)
{
    for (size_t i = 0; o && i < n; i++)
        if (!json_object_get(o, keys[i]))
            json_object_set_new(o, keys[i], json_null());
}
#define FILL_NULLS(o, ...)                                                                         \
    do {                                                                                           \
        static const char *const k_[] = {__VA_ARGS__};                                             \
        fill_nulls((o), k_, sizeof k_ / sizeof k_[0]);                                             \
    } while (0)

static const char *plural(long long n, const char *one, const char *many)
{
    return n == 1 ? one : many;
}

static const char *jstr(const json_t *o, const char *key)
{
    return json_string_value(json_object_get(o, key));
}

static long long jint(const json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);
    return json_is_number(v) ? (long long)json_number_value(v) : 0;
}

/* A positive page number from ?page=, 1 when absent; -1 when malformed. */
static int page_param(srv_request *req)
{
    const char *s = srv_query_get(req, "page");
    if (!s || !*s)
        return 1;
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || *end || v < 1 || v > 10000)
        return -1;
    return (int)v;
}

static json_t *base_data(const char *title, const char *q)
{
    return json_pack("{s:s, s:s}", "page_title", title, "q", q ? q : "");
}

static const char *site_name(const char *format)
{
    static const struct {
        const char *format, *name;
    } names[] = {
        {"researchgraph", "research-graph profile"},
        {"arxiv-profile", "arXiv-backed profile"},
        {"metrics-card", "metrics-card profile"},
        {"metrics-list", "metrics-list profile"},
        {"openalex", "OpenAlex"},
        {"s2", "Semantic Scholar"},
    };
    for (size_t i = 0; format && i < sizeof names / sizeof names[0]; i++)
        if (strcmp(format, names[i].format) == 0)
            return names[i].name;
    return format && *format ? format : "a source";
}

static const char *basename_of(const char *uri)
{
    const char *s = uri ? strrchr(uri, '/') : NULL;
    return s ? s + 1 : (uri ? uri : "");
}

/* One work for a list: title (or highlighted title), year, venue, authors
 * with the owner marked, topics, code flag, citations, abstract. */
static json_t *work_item(json_t *w, const char *owner, tmpl_trust *trust)
{
    const char *id = page_short_id(jstr(w, "id") ? jstr(w, "id") : "");
    json_t *authors = json_array();
    size_t i;
    json_t *a;
    json_array_foreach(json_object_get(w, "authorships"), i, a)
    {
        json_t *au = json_object_get(a, "author");
        const char *aid = page_short_id(jstr(au, "id") ? jstr(au, "id") : "");
        const char *name = jstr(au, "display_name");
        if (!name)
            name = jstr(a, "raw_author_name");
        /* built directly: json_pack parses its format per call, and a profile
         * page lists 50 works of several authors each */
        json_t *e = json_object();
        json_object_set_new_nocheck(e, "id", json_string(aid));
        json_object_set_new_nocheck(e, "name", json_string(name ? name : "?"));
        json_object_set_new_nocheck(e, "is_owner", json_boolean(owner && strcmp(aid, owner) == 0));
        json_object_set_new_nocheck(
            e, "last", json_boolean(i + 1 == json_array_size(json_object_get(w, "authorships"))));
        json_array_append_new(authors, e);
    }
    json_t *topics = json_array();
    json_t *t;
    json_array_foreach(json_object_get(w, "topics"), i, t)
    {
        const char *tid = jstr(t, "id"), *tn = jstr(t, "display_name");
        if (tid && tn) {
            json_t *e = json_object();
            json_object_set_new_nocheck(e, "id", json_string(page_short_id(tid)));
            json_object_set_new_nocheck(e, "name", json_string(tn));
            json_object_set_new_nocheck(e, "code", json_string(jstr(t, "code") ? jstr(t, "code") : ""));
            json_array_append_new(topics, e);
        }
    }
    json_t *loc = json_object_get(json_object_get(w, "primary_location"), "source");
    json_t *item = json_pack(
        "{s:s, s:s, s:o, s:o, s:s*, s:s*, s:s*, s:b, s:I, s:s*, s:s*}", "id", id, "title",
        jstr(w, "display_name") ? jstr(w, "display_name") : "(untitled)", "authors", authors,
        "topics", topics, "venue", jstr(loc, "display_name"), "date", jstr(w, "publication_date"),
        "type", jstr(w, "type"), "has_code", json_is_true(json_object_get(w, "has_code")),
        "cited_by_count", (json_int_t)jint(w, "cited_by_count"), "abstract", jstr(w, "abstract"),
        "authors_truncated", jstr(w, "authors_truncated"));
    if (!item)
        return NULL;
    if (jint(w, "publication_year") > 0)
        json_object_set_new(item, "year", json_integer(jint(w, "publication_year")));
    json_object_set_new(item, "cites_word",
                        json_string(plural(jint(w, "cited_by_count"), "citation", "citations")));
    FILL_NULLS(item, "venue", "date", "type", "abstract", "authors_truncated", "year", "title_html",
               "snippet_html");
    json_t *snip = json_object_get(w, "snippet");
    if (snip && trust) {
        if (jstr(snip, "title") && strstr(jstr(snip, "title"), PAGE_HL_OPEN))
            json_object_set_new(item, "title_html", page_snippet(trust, jstr(snip, "title")));
        if (jstr(snip, "abstract") && *jstr(snip, "abstract"))
            json_object_set_new(item, "snippet_html", page_snippet(trust, jstr(snip, "abstract")));
    }
    return item;
}

static json_t *work_items(json_t *results, const char *owner, tmpl_trust *trust)
{
    json_t *out = json_array();
    size_t i;
    json_t *w;
    json_array_foreach(results, i, w) json_array_append_new(out, work_item(w, owner, trust));
    return out;
}

/* A short id ("A12") of an entity, as the API's ids end. */
static json_t *short_id_json(pgr_entity e, pgr_id id)
{
    char k[32];
    snprintf(k, sizeof k, "%c%lld", pgr_entity_letter(e), (long long)id);
    return json_string(k);
}

static json_t *str_or_null(const char *v)
{
    return v ? json_string(v) : json_null();
}

/* work_item's fields from a brief row (the profile page's list): the same
 * values, without building the API's work object first. */
static json_t *brief_item(const pgr_work_brief *b, pgr_id owner)
{
    json_t *authors = json_array();
    for (size_t i = 0; i < b->n_authors; i++) {
        const pgr_brief_author *a = &b->authors[i];
        json_t *e = json_object();
        json_object_set_new_nocheck(e, "id", short_id_json(PGR_AUTHORS, a->id));
        json_object_set_new_nocheck(e, "name", json_string(a->name ? a->name : "?"));
        json_object_set_new_nocheck(e, "is_owner", json_boolean(a->id == owner));
        json_object_set_new_nocheck(e, "last", json_boolean(i + 1 == b->n_authors));
        json_array_append_new(authors, e);
    }
    json_t *topics = json_array();
    for (size_t i = 0; i < b->n_topics; i++) {
        const pgr_brief_topic *t = &b->topics[i];
        if (!t->name)
            continue;
        json_t *e = json_object();
        json_object_set_new_nocheck(e, "id", short_id_json(PGR_TOPICS, t->id));
        json_object_set_new_nocheck(e, "name", json_string(t->name));
        json_object_set_new_nocheck(e, "code", json_string(t->code ? t->code : ""));
        json_array_append_new(topics, e);
    }
    json_t *item = json_object();
    json_object_set_new_nocheck(item, "id", short_id_json(PGR_WORKS, b->id));
    json_object_set_new_nocheck(item, "title", json_string(b->title ? b->title : "(untitled)"));
    json_object_set_new_nocheck(item, "authors", authors);
    json_object_set_new_nocheck(item, "topics", topics);
    json_object_set_new_nocheck(item, "venue", str_or_null(b->venue));
    json_object_set_new_nocheck(item, "date", str_or_null(b->date));
    json_object_set_new_nocheck(item, "type", str_or_null(b->type));
    json_object_set_new_nocheck(item, "has_code", json_boolean(b->has_code));
    json_object_set_new_nocheck(item, "cited_by_count", json_integer(b->cited_by_count));
    json_object_set_new_nocheck(item, "abstract", str_or_null(b->abstract));
    json_object_set_new_nocheck(item, "authors_truncated", str_or_null(b->authors_truncated));
    json_object_set_new_nocheck(item, "year", b->year > 0 ? json_integer(b->year) : json_null());
    json_object_set_new_nocheck(
        item, "cites_word", json_string(plural(b->cited_by_count, "citation", "citations")));
    json_object_set_new_nocheck(item, "title_html", json_null());
    json_object_set_new_nocheck(item, "snippet_html", json_null());
    return item;
}

static json_t *author_items(json_t *results)
{
    json_t *out = json_array();
    size_t i;
    json_t *a;
    json_array_foreach(results, i, a)
    {
        json_t *inst = json_array_get(json_object_get(a, "last_known_institutions"), 0);
        json_t *e = json_pack("{s:s, s:s, s:I, s:I, s:I, s:s*}", "id",
                              page_short_id(jstr(a, "id") ? jstr(a, "id") : ""), "name",
                              jstr(a, "display_name") ? jstr(a, "display_name") : "?",
                              "works_count", (json_int_t)jint(a, "works_count"), "cited_by_count",
                              (json_int_t)jint(a, "cited_by_count"), "h_index",
                              (json_int_t)jint(json_object_get(a, "summary_stats"), "h_index"),
                              "affiliation", jstr(inst, "display_name"));
        json_object_set_new(e, "works_word",
                            json_string(plural(jint(a, "works_count"), "work", "works")));
        json_object_set_new(
            e, "cites_word",
            json_string(plural(jint(a, "cited_by_count"), "citation", "citations")));
        FILL_NULLS(e, "affiliation");
        json_array_append_new(out, e);
    }
    return out;
}

/* Runs a list query; on failure answers the error page and returns NULL. */
static json_t *run_list(srv_request *req, pgr_store *st, const pgr_query *q, const char *what)
{
    json_t *out = NULL;
    pgr_err err = {0};
    uint64_t t0 = pgr_now_us();
    int rc = pgr_list(st, q, &out, &err);
    srv_note_db_time(req, pgr_now_us() - t0);
    if (rc != 0) {
        page_store_error(req, &err, what);
        return NULL;
    }
    return out;
}

/* ---- home ---------------------------------------------------------------------- */

void page_home(srv_request *req)
{
    pgr_store *st = page_store(req);
    if (!st)
        return;
    static const char *const afields[] = {"id",
                                          "display_name",
                                          "works_count",
                                          "cited_by_count",
                                          "summary_stats",
                                          "last_known_institutions"};
    pgr_sort by_cites = {"cited_by_count", 1}, by_date = {"publication_date", 1};
    pgr_query qa = {.entity = PGR_AUTHORS,
                    .sorts = &by_cites,
                    .n_sorts = 1,
                    .per_page = 8,
                    .select = afields,
                    .n_select = 6};
    pgr_query qw = {.entity = PGR_WORKS,
                    .sorts = &by_date,
                    .n_sorts = 1,
                    .per_page = 8,
                    .select = work_list_fields,
                    .n_select = N_WORK_LIST_FIELDS};
    json_t *authors = NULL, *works = NULL, *stats = NULL;
    if (!(authors = run_list(req, st, &qa, "home: authors")) ||
        !(works = run_list(req, st, &qw, "home: works")))
        goto done;
    pgr_err err = {0};
    if (pgr_stats(st, &stats, &err) != 0) {
        page_store_error(req, &err, "home: stats");
        goto done;
    }
    json_t *d = base_data("peergraph: researchers and their papers", NULL);
    json_object_set_new(d, "top_authors", author_items(json_object_get(authors, "results")));
    json_object_set_new(d, "recent_works",
                        work_items(json_object_get(works, "results"), NULL, NULL));
    json_object_set(d, "stats", stats);
    page_render(req, 200, "home", d, NULL);
done:
    json_decref(authors);
    json_decref(works);
    json_decref(stats);
}

/* ---- search -------------------------------------------------------------------- */

/* Facet entries with links that keep the other parameters. */
static json_t *facet(json_t *groups, const char *param, const char *current, const char *q,
                     const char *year, const char *topic, const char *code)
{
    json_t *out = json_array();
    size_t i;
    json_t *g;
    json_array_foreach(groups, i, g)
    {
        const char *key = jstr(g, "key"), *label = jstr(g, "key_display_name");
        if (!key || !strcmp(key, "unknown") || !strcmp(key, "0") || !strcmp(key, "false"))
            continue;
        if (!strcmp(param, "has_code"))
            label = "has code";
        int on = current && strcmp(current, key) == 0;
        /* the link toggles this facet and keeps the others */
        const char *y = !strcmp(param, "year") ? (on ? NULL : key) : year;
        const char *t = !strcmp(param, "topic") ? (on ? NULL : key) : topic;
        const char *c = !strcmp(param, "has_code") ? (on ? NULL : key) : code;
        json_t *e = json_pack("{s:s, s:s, s:I, s:b, s:s, s:s*, s:s*, s:s*}", "key", key, "label",
                              label ? label : key, "count", (json_int_t)jint(g, "count"), "on", on,
                              "q", q, "year", y, "topic", t, "has_code", c);
        FILL_NULLS(e, "year", "topic", "has_code");
        json_array_append_new(out, e);
    }
    return out;
}

void page_search(srv_request *req)
{
    const char *q = srv_query_get(req, "q");
    const char *year = srv_query_get(req, "year"), *topic = srv_query_get(req, "topic");
    const char *code = srv_query_get(req, "has_code");
    if (year && !*year)
        year = NULL;
    if (topic && !*topic)
        topic = NULL;
    if (code && strcmp(code, "true") != 0)
        code = NULL;
    int page = page_param(req);
    if (page < 0) {
        page_error(req, 400, "Bad request", "page: want a number from 1 to 10000");
        return;
    }
    json_t *d = base_data(q && *q ? q : "Search", q);
    if (!q || !*q) {
        json_object_set_new(d, "empty", json_true());
        json_object_set_new(d, "page_title", json_string("Search"));
        page_render(req, 200, "search", d, NULL);
        return;
    }
    pgr_store *st = page_store(req);
    if (!st) {
        json_decref(d);
        return;
    }
    tmpl_trust trust_v = {0}, *trust = &trust_v;
    json_t *works = NULL, *authors = NULL, *topics = NULL, *facets = NULL;
    pgr_filter filters[3];
    size_t nf = 0;
    const char *yv[1] = {year}, *tv[1] = {topic}, *cv[1] = {"true"};
    if (year)
        filters[nf++] = (pgr_filter){"publication_year", PGR_OP_EQ, yv, 1};
    if (topic)
        filters[nf++] = (pgr_filter){"topics.id", PGR_OP_EQ, tv, 1};
    if (code)
        filters[nf++] = (pgr_filter){"has_code", PGR_OP_EQ, cv, 1};
    pgr_query qw = {.entity = PGR_WORKS,
                    .filters = filters,
                    .n_filters = nf,
                    .search = q,
                    .per_page = SEARCH_PER_PAGE,
                    .page = page,
                    .select = work_list_fields,
                    .n_select = N_WORK_LIST_FIELDS,
                    .hl_open = PAGE_HL_OPEN,
                    .hl_close = PAGE_HL_CLOSE};
    pgr_err err = {0};
    uint64_t t0 = pgr_now_us();
    int rc = pgr_list(st, &qw, &works, &err);
    srv_note_db_time(req, pgr_now_us() - t0);
    if (rc != 0 && err.code == PGR_EINVAL) {
        /* the query itself could not be read: say so on the search page */
        json_object_set_new(d, "query_error", json_string(err.msg));
        page_render(req, 400, "search", d, NULL);
        return;
    }
    if (rc != 0) {
        page_store_error(req, &err, "search: works");
        goto fail;
    }
    static const char *const afields[] = {"id",
                                          "display_name",
                                          "works_count",
                                          "cited_by_count",
                                          "summary_stats",
                                          "last_known_institutions"};
    pgr_query qa = {
        .entity = PGR_AUTHORS, .search = q, .per_page = 5, .select = afields, .n_select = 6};
    pgr_query qt = {.entity = PGR_TOPICS, .search = q, .per_page = 5};
    if (!(authors = run_list(req, st, &qa, "search: authors")) ||
        !(topics = run_list(req, st, &qt, "search: topics")))
        goto fail;
    /* facets count the search with the facets applied, over its newest
     * SEARCH_FACET_TOP matches: counting every match of a common word cost
     * hundreds of milliseconds; the page says when the counts are partial */
    t0 = pgr_now_us();
    rc = pgr_list_facets(st, &qw, SEARCH_FACET_TOP, &facets, &err);
    srv_note_db_time(req, pgr_now_us() - t0);
    if (rc != 0) {
        page_store_error(req, &err, "search: facets");
        goto fail;
    }
    long long count = jint(json_object_get(works, "meta"), "count");
    long long considered = jint(facets, "considered");
    if (considered >= SEARCH_FACET_TOP && count > considered) {
        char note[160];
        snprintf(note, sizeof note, "Counts among the %lld newest of %s%lld matches.", considered,
                 json_is_false(json_object_get(json_object_get(works, "meta"), "count_exact"))
                     ? "about "
                     : "",
                 count);
        json_object_set_new(d, "facet_note", json_string(note));
    }
    json_object_set_new(d, "results", work_items(json_object_get(works, "results"), NULL, trust));
    json_object_set_new(d, "count", json_integer(count));
    json_object_set_new(d, "authors", author_items(json_object_get(authors, "results")));
    json_t *tl = json_array();
    size_t i;
    json_t *t;
    json_array_foreach(json_object_get(topics, "results"), i, t) json_array_append_new(
        tl, json_pack("{s:s, s:s*, s:I}", "id", page_short_id(jstr(t, "id")), "name",
                      jstr(t, "display_name"), "works_count", (json_int_t)jint(t, "works_count")));
    json_object_set_new(d, "topics", tl);
    json_object_set_new(
        d, "facet_year",
        facet(json_object_get(facets, "publication_year"), "year", year, q, year, topic, code));
    json_object_set_new(
        d, "facet_topic",
        facet(json_object_get(facets, "topics.id"), "topic", topic, q, year, topic, code));
    json_object_set_new(
        d, "facet_code",
        facet(json_object_get(facets, "has_code"), "has_code", code, q, year, topic, code));
    json_object_set_new(d, "filtered", json_boolean(nf > 0));
    /* paging links keep the query and the facets */
    long long pages = (count + SEARCH_PER_PAGE - 1) / SEARCH_PER_PAGE;
    json_t *link = json_pack("{s:s, s:s*, s:s*, s:s*}", "q", q, "year", year, "topic", topic,
                             "has_code", code);
    FILL_NULLS(link, "year", "topic", "has_code");
    if (page > 1) {
        json_t *prev = json_deep_copy(link);
        json_object_set_new(prev, "page", json_integer(page - 1));
        json_object_set_new(d, "prev", prev);
    }
    if (page < pages) {
        json_t *next = json_deep_copy(link);
        json_object_set_new(next, "page", json_integer(page + 1));
        json_object_set_new(d, "next", next);
    }
    json_decref(link);
    json_object_set_new(d, "page", json_integer(page));
    if (pages > 1)
        json_object_set_new(d, "pages", json_integer(pages));
    json_object_set_new(d, "first",
                        json_integer(count ? (long long)(page - 1) * SEARCH_PER_PAGE + 1 : 0));
    long long last = (long long)page * SEARCH_PER_PAGE;
    json_object_set_new(d, "last", json_integer(last < count ? last : count));
    page_render(req, 200, "search", d, trust);
    d = NULL;
fail:
    json_decref(d);
    tmpl_trust_free(trust);
    json_decref(works);
    json_decref(authors);
    json_decref(topics);
    json_decref(facets);
}

/* ---- author profile ---------------------------------------------------------------- */

static const char *claim_label(const char *name)
{
    static const struct {
        const char *name, *label;
    } labels[] = {
        {"h_index", "h-index"},
        {"i10_index", "i10-index"},
        {"works_count", "works"},
        {"cited_by_count", "citations"},
        {"2yr_mean_citedness", "2-year mean citedness"},
        {"citations", "citations"},
        {"papers", "papers"},
        {"works", "works"},
        {"trust", "trust"},
        {"novelty", "novelty"},
        {"novelty_pct", "novelty"},
        {"ai_score", "AI score"},
        {"followers", "followers"},
        {"topics", "topics"},
        {"close_collaborators", "close collaborators"},
        {"verification_level", "verification level"},
        {"claimed", "claim status"},
    };
    for (size_t i = 0; i < sizeof labels / sizeof labels[0]; i++)
        if (strcmp(labels[i].name, name) == 0)
            return labels[i].label;
    return name;
}

/* An author record's institutions for the page: [{name, list, span}] where
 * span reads "2019-2023" or "2013, 2017-2018" (runs of consecutive years). */
static json_t *claim_institutions(json_t *sc)
{
    json_t *out = json_array();
    static const char *const lists[] = {"last_known_institutions", "affiliations"};
    for (int l = 0; l < 2; l++) {
        size_t i;
        json_t *inst;
        json_array_foreach(json_object_get(sc, lists[l]), i, inst)
        {
            char years[256] = "";
            size_t len = 0, j, n = json_array_size(json_object_get(inst, "years"));
            for (j = 0; j < n && len < sizeof years - 24;) {
                long long y0 = json_integer_value(json_array_get(json_object_get(inst, "years"), j));
                size_t k = j;
                while (k + 1 < n &&
                       json_integer_value(json_array_get(json_object_get(inst, "years"), k + 1)) ==
                           y0 + (long long)(k + 1 - j))
                    k++;
                int w = k > j ? snprintf(years + len, sizeof years - len, "%s%lld-%lld",
                                         len ? ", " : "", y0, y0 + (long long)(k - j))
                              : snprintf(years + len, sizeof years - len, "%s%lld", len ? ", " : "", y0);
                len += w > 0 ? (size_t)w : 0;
                j = k + 1;
            }
            json_t *e = json_pack("{s:s, s:s}", "name", jstr(inst, "display_name") ? jstr(inst, "display_name") : "(unnamed)",
                                  "list", l ? "affiliation" : "last known");
            if (len)
                json_object_set_new(e, "span", json_string(years));
            json_array_append_new(out, e);
        }
    }
    return out;
}

/* The topics an author record reported, its "topics" list first (with the
 * source's work counts), at most 12 on the page. */
#define CLAIM_TOPICS_SHOWN 12
static json_t *claim_topics(json_t *sc, json_t *e)
{
    json_t *out = json_array();
    size_t i, total = 0;
    json_t *t;
    const char *list = NULL;
    json_array_foreach(json_object_get(sc, "topics"), i, t)
    {
        /* OpenAlex's "topics" (with work counts) when given, else the first list */
        if (!list || (strcmp(list, "topics") && jstr(t, "list") && !strcmp(jstr(t, "list"), "topics")))
            list = jstr(t, "list");
    }
    json_array_foreach(json_object_get(sc, "topics"), i, t)
    {
        if (!list || !jstr(t, "list") || strcmp(list, jstr(t, "list")))
            continue;
        if (total++ >= CLAIM_TOPICS_SHOWN)
            continue;
        json_t *c = json_object_get(t, "count");
        json_t *item = json_pack("{s:s, s:s}", "name", jstr(t, "display_name") ? jstr(t, "display_name") : "",
                                 "id", page_short_id(jstr(t, "id") ? jstr(t, "id") : ""));
        if (json_is_integer(c))
            json_object_set_new(item, "count", json_integer(json_integer_value(c)));
        json_array_append_new(out, item);
    }
    if (total > CLAIM_TOPICS_SHOWN)
        json_object_set_new(e, "topics_more", json_integer((json_int_t)(total - CLAIM_TOPICS_SHOWN)));
    if (list)
        json_object_set_new(e, "topics_list", json_string(list));
    return out;
}

/* source_claims -> [{site, file, uri, capture_date, record, items[{label,
 * text}], per_year[{year, works, citations}], institutions, ids, homepage,
 * topics, owner}] */
static json_t *claims_data(json_t *author)
{
    json_t *out = json_array();
    size_t i;
    json_t *sc;
    json_array_foreach(json_object_get(author, "source_claims"), i, sc)
    {
        json_t *items = json_array();
        const char *k;
        json_t *v;
        json_object_foreach(json_object_get(sc, "claims"), k, v)
        {
            json_array_append_new(items,
                                  json_pack("{s:s, s:s, s:s}", "name", k, "label", claim_label(k),
                                            "text", jstr(v, "text") ? jstr(v, "text") : ""));
        }
        /* how the page's owner was decided, when this author owns it */
        json_t *own = NULL, *o;
        size_t j;
        json_array_foreach(json_object_get(author, "owner_of"), j,
                           o) if (jint(o, "source_id") == jint(sc, "source_id")) own = o;
        json_t *e = json_pack("{s:s, s:s, s:s*, s:s*, s:o, s:s*}", "site", site_name(jstr(sc, "format")),
                              "file", basename_of(jstr(sc, "uri")), "uri", jstr(sc, "uri"),
                              "capture_date", jstr(sc, "capture_date"), "items", items,
                              "record", jstr(sc, "record"));
        /* an author record's counts by year, newest first as the source lists them */
        json_t *years = json_array(), *y;
        size_t q;
        json_array_foreach(json_object_get(sc, "counts_by_year"), q, y)
        {
            json_t *w = json_object_get(y, "works_count"), *c = json_object_get(y, "cited_by_count");
            json_array_append_new(years, json_pack("{s:I, s:o, s:o}", "year", (json_int_t)jint(y, "year"),
                                                   "works", json_is_integer(w) ? json_integer(json_integer_value(w)) : json_string("–"),
                                                   "citations", json_is_integer(c) ? json_integer(json_integer_value(c)) : json_string("–")));
        }
        json_object_set_new(e, "per_year", years);
        json_object_set_new(e, "institutions", claim_institutions(sc));
        json_t *ids = json_array(), *id;
        json_array_foreach(json_object_get(sc, "ids"), q, id)
        {
            if (jstr(id, "kind") && strcmp(jstr(id, "kind"), "openalex")) /* the record's own id is shown already */
                json_array_append_new(ids, json_pack("{s:s, s:s}", "kind", jstr(id, "kind"), "value",
                                                     jstr(id, "value") ? jstr(id, "value") : ""));
        }
        json_object_set_new(e, "ids", ids);
        if (jstr(sc, "homepage"))
            json_object_set_new(e, "homepage", json_string(jstr(sc, "homepage")));
        json_object_set_new(e, "topics", claim_topics(sc, e));
        if (own) {
            char conf[32];
            snprintf(conf, sizeof conf, "%.0f%%",
                     100 * json_number_value(json_object_get(own, "confidence")));
            json_object_set_new(e, "owner",
                                json_pack("{s:s*, s:s, s:s*}", "method", jstr(own, "method"),
                                          "confidence", conf, "evidence", jstr(own, "evidence")));
        }
        json_array_append_new(out, e);
    }
    return out;
}

/* Counts by year with the gaps filled, for the chart and its table. */
static json_t *chart_data(json_t *cby)
{
    int lo = 0, hi = 0;
    size_t i;
    json_t *c;
    json_array_foreach(cby, i, c)
    {
        int y = (int)jint(c, "year");
        if (y < 1900 || y > 2200)
            continue;
        if (!lo || y < lo)
            lo = y;
        if (y > hi)
            hi = y;
    }
    json_t *years = json_array(), *works = json_array(), *cites = json_array(),
           *rows = json_array();
    if (lo && hi - lo > 80)
        lo = hi - 80;
    for (int y = lo; lo && y <= hi; y++) {
        long long w = 0, ci = 0;
        json_array_foreach(cby, i, c) if (jint(c, "year") == y)
        {
            w = jint(c, "works_count");
            ci = jint(c, "cited_by_count");
        }
        json_array_append_new(years, json_integer(y));
        json_array_append_new(works, json_integer(w));
        json_array_append_new(cites, json_integer(ci));
        json_array_append_new(rows, json_pack("{s:i, s:I, s:I}", "year", y, "works", (json_int_t)w,
                                              "citations", (json_int_t)ci));
    }
    return json_pack("{s:o, s:o, s:o, s:o}", "years", years, "works", works, "citations", cites,
                     "rows", rows);
}

static const char *node_href_prefix(const char *type)
{
    if (!strcmp(type, "work"))
        return "/works/";
    if (!strcmp(type, "author"))
        return "/authors/";
    if (!strcmp(type, "topic"))
        return "/topics/";
    return NULL; /* institutions have no page yet */
}

/* The neighbourhood for the graph view, from what the page already fetched
 * (its works, their authorships and topics, the top co-authors, the
 * institutions): no extra query. Same shape as pgr_author_graph's. */
#define GRAPH_MAX_WORKS 40
#define GRAPH_MAX_TOPICS 15
static void graph_add_node(json_t *g, json_t *seen, const char *id, const char *type,
                           const char *label)
{
    if (!id || !*id || json_object_get(seen, id))
        return;
    json_object_set_new(seen, id, json_true());
    json_t *n = json_object();
    json_object_set_new_nocheck(n, "id", json_string(id));
    json_object_set_new_nocheck(n, "type", json_string(type));
    json_object_set_new_nocheck(n, "label", json_string(label ? label : id));
    json_object_set_new_nocheck(n, "weight", json_integer(1));
    json_array_append_new(json_object_get(g, "nodes"), n);
}

static void graph_add_edge(json_t *g, const char *a, const char *b, const char *type)
{
    json_t *e = json_object();
    json_object_set_new_nocheck(e, "source", json_string(a));
    json_object_set_new_nocheck(e, "target", json_string(b));
    json_object_set_new_nocheck(e, "type", json_string(type));
    json_object_set_new_nocheck(e, "weight", json_integer(1));
    json_array_append_new(json_object_get(g, "edges"), e);
}

static json_t *build_graph(const char *self, pgr_id self_id, const char *name, json_t *author,
                           const pgr_work_brief *works, size_t n_works, json_t *co)
{
    json_t *g = json_pack("{s:[], s:[], s:b}", "nodes", "edges", "truncated", 0);
    json_t *seen = json_object(), *coset = json_object();
    size_t i, j, n_topics = 0;
    json_t *v;
    graph_add_node(g, seen, self, "author", name);
    json_array_foreach(co, i, v)
    {
        const char *cid = page_short_id(jstr(v, "id") ? jstr(v, "id") : "");
        graph_add_node(g, seen, cid, "author", jstr(v, "display_name"));
        json_object_set_new(coset, cid, json_true());
    }
    for (i = 0; i < n_works; i++) {
        if (i >= GRAPH_MAX_WORKS) {
            json_object_set_new(g, "truncated", json_true());
            break;
        }
        const pgr_work_brief *w = &works[i];
        char wid[32];
        snprintf(wid, sizeof wid, "W%lld", (long long)w->id);
        graph_add_node(g, seen, wid, "work", w->title);
        for (j = 0; j < w->n_authors; j++) {
            char aid[32];
            snprintf(aid, sizeof aid, "A%lld", (long long)w->authors[j].id);
            if (w->authors[j].id == self_id || json_object_get(coset, aid))
                graph_add_edge(g, aid, wid, "authorship");
        }
        for (j = 0; j < w->n_topics; j++) {
            char tid[32];
            snprintf(tid, sizeof tid, "T%lld", (long long)w->topics[j].id);
            if (!json_object_get(seen, tid) && n_topics >= GRAPH_MAX_TOPICS)
                continue;
            if (!json_object_get(seen, tid))
                n_topics++;
            graph_add_node(g, seen, tid, "topic", w->topics[j].name);
            graph_add_edge(g, wid, tid, "topic");
        }
    }
    json_array_foreach(json_object_get(author, "last_known_institutions"), i, v)
    {
        const char *iid = page_short_id(jstr(v, "id") ? jstr(v, "id") : "");
        graph_add_node(g, seen, iid, "institution", jstr(v, "display_name"));
        graph_add_edge(g, self, iid, "affiliation");
    }
    json_decref(seen);
    json_decref(coset);
    return g;
}

/* The graph for d3 (nodes with hrefs) and, for the no-JS list, grouped. */
static void graph_data(json_t *g, const char *self, json_t *d, tmpl_trust *trust)
{
    json_t *nodes = json_array(), *groups = json_object();
    size_t i;
    json_t *n;
    static const char *const kinds[] = {"author", "work", "topic", "institution"};
    static const char *const titles[] = {"Co-authors", "Works", "Topics", "Institutions"};
    for (size_t k = 0; k < 4; k++)
        json_object_set_new(groups, kinds[k], json_array());
    json_array_foreach(json_object_get(g, "nodes"), i, n)
    {
        const char *id = page_short_id(jstr(n, "id") ? jstr(n, "id") : "");
        const char *type = jstr(n, "type") ? jstr(n, "type") : "work";
        const char *pre = node_href_prefix(type);
        char href[160] = "";
        if (pre)
            snprintf(href, sizeof href, "%s%s", pre, id);
        int is_self = strcmp(id, self) == 0;
        json_t *label = json_object_get(n, "label");
        if (!json_is_string(label))
            label = json_null();
        json_t *o = json_object();
        json_object_set_new_nocheck(o, "id", json_string(id));
        json_object_set_new_nocheck(o, "type", json_string(type));
        json_object_set_nocheck(o, "label", label);
        json_object_set_new_nocheck(o, "href", json_string(href));
        json_object_set_new_nocheck(o, "weight",
                                    json_integer(jint(n, "weight") > 0 ? jint(n, "weight") : 1));
        json_object_set_new_nocheck(o, "self", json_boolean(is_self));
        json_array_append_new(nodes, o);
        json_t *arr = json_object_get(groups, type);
        if (arr && !is_self) {
            json_t *item = json_object();
            json_object_set_new_nocheck(item, "id", json_string(id));
            json_object_set_nocheck(item, "label", label);
            json_object_set_new_nocheck(item, "href", json_string(href));
            json_array_append_new(arr, item);
        }
    }
    json_t *edges = json_array(), *e;
    json_array_foreach(json_object_get(g, "edges"), i, e)
    {
        json_t *type = json_object_get(e, "type");
        json_t *o = json_object();
        json_object_set_new_nocheck(
            o, "source", json_string(page_short_id(jstr(e, "source") ? jstr(e, "source") : "")));
        json_object_set_new_nocheck(
            o, "target", json_string(page_short_id(jstr(e, "target") ? jstr(e, "target") : "")));
        json_object_set_nocheck(o, "type", json_is_string(type) ? type : json_null());
        json_array_append_new(edges, o);
    }
    json_t *gj = json_pack("{s:o, s:o}", "nodes", nodes, "edges", edges);
    json_object_set_new(d, "graph_json", page_json_script(trust, gj));
    json_object_set_new(d, "graph_nodes", json_integer((json_int_t)json_array_size(nodes)));
    json_decref(gj);
    json_t *list = json_array();
    for (size_t k = 0; k < 4; k++) {
        json_t *arr = json_object_get(groups, kinds[k]);
        if (json_array_size(arr))
            json_array_append_new(list, json_pack("{s:s, s:O}", "title", titles[k], "items", arr));
    }
    json_decref(groups);
    json_object_set_new(d, "graph_list", list);
}

void page_author(srv_request *req)
{
    const char *idp = srv_param(req, "id");
    const char *sort = srv_query_get(req, "sort");
    int page = page_param(req);
    if (page < 0) {
        page_error(req, 400, "Bad request", "page: want a number from 1 to 10000");
        return;
    }
    if (!sort || (strcmp(sort, "date") && strcmp(sort, "citations") && strcmp(sort, "title")))
        sort = "citations";
    pgr_store *st = page_store(req);
    if (!st)
        return;
    json_t *author = NULL, *co = NULL, *cby = NULL, *graph = NULL, *d = NULL;
    tmpl_trust trust_v = {0}, *trust = &trust_v;
    pgr_err err = {0};
    uint64_t t0 = pgr_now_us();
    /* a profile is read far more often than the graph changes */
    int64_t version = -1;
    const char *ckey = NULL;
    if (pgr_data_version(st, &version, &err) == 0)
        ckey = pgr_arena_printf(srv_arena(req), "page|author|%s|%s|%d", idp, sort, page);
    if (ckey && page_cached(req, ckey, version)) {
        srv_note_db_time(req, pgr_now_us() - t0);
        return;
    }
    /* every field the page shows but counts_by_year, which the works page
     * read below counts in its pass over the author's works */
    static const char *const author_fields[] = {
        "id",       "display_name", "display_name_alternatives", "last_known_institutions",
        "computed", "source_claims", "owner_of"};
    if (pgr_get(st, PGR_AUTHORS, idp, author_fields,
                sizeof author_fields / sizeof author_fields[0], &author, &err) != 0) {
        srv_note_db_time(req, pgr_now_us() - t0);
        if (err.code == PGR_ENOTFOUND || err.code == PGR_EINVAL)
            page_error(req, 404, "Author not found", "There is no author %s in this graph.", idp);
        else
            page_store_error(req, &err, "author");
        goto done;
    }
    const char *id = page_short_id(jstr(author, "id") ? jstr(author, "id") : idp);
    /* a merged or external id answers under the canonical key */
    pgr_sort srt = !strcmp(sort, "date")    ? (pgr_sort){"publication_date", 1}
                   : !strcmp(sort, "title") ? (pgr_sort){"display_name", 0}
                                            : (pgr_sort){"cited_by_count", 1};
    pgr_sort srt2[2] = {srt, {"publication_date", 1}};
    /* the works page from the author's authorships (pgr_list's author
     * filter, same order), read as plain rows: the list and the graph take
     * their fields from them without building API work objects */
    pgr_work_brief *briefs = NULL;
    size_t n_briefs = 0;
    int64_t count = 0;
    if (pgr_author_works_brief(st, id, srt2, strcmp(sort, "date") ? 2 : 1, page,
                               PROFILE_WORKS_PER_PAGE, srv_arena(req), &briefs, &n_briefs, &count,
                               &cby, &err) != 0 ||
        pgr_author_coauthors(st, id, 12, &co, &err) != 0) {
        srv_note_db_time(req, pgr_now_us() - t0);
        page_store_error(req, &err, "author page");
        goto done;
    }
    srv_note_db_time(req, pgr_now_us() - t0);

    const char *name = jstr(author, "display_name") ? jstr(author, "display_name") : id;
    d = base_data(name, NULL);
    json_object_set_new(d, "id", json_string(id));
    json_object_set_new(d, "name", json_string(name));
    json_t *alts = json_array(), *alt;
    size_t i;
    json_array_foreach(json_object_get(author, "display_name_alternatives"), i,
                       alt) if (json_is_string(alt) && strcmp(json_string_value(alt), name) != 0)
        json_array_append(alts, alt);
    json_object_set_new(d, "variants", alts);
    json_t *inst, *insts = json_array();
    json_array_foreach(json_object_get(author, "last_known_institutions"), i,
                       inst) if (jstr(inst, "display_name"))
        json_array_append_new(insts, json_string(jstr(inst, "display_name")));
    json_object_set_new(d, "affiliations", insts);

    json_t *comp = json_object_get(author, "computed");
    json_t *metrics =
        json_pack("[{s:s, s:I}, {s:s, s:I}, {s:s, s:I}, {s:s, s:I}, {s:s, s:I}]", "label", "Works",
                  "value", (json_int_t)jint(comp, "works_count"), "label", "Citations", "value",
                  (json_int_t)jint(comp, "cited_by_count"), "label", "h-index", "value",
                  (json_int_t)jint(comp, "h_index"), "label", "i10-index", "value",
                  (json_int_t)jint(comp, "i10_index"), "label", "Co-authors", "value",
                  (json_int_t)jint(comp, "coauthor_count"));
    json_object_set_new(d, "metrics", metrics);
    json_object_set_new(d, "claims", claims_data(author));

    json_t *topics = json_array(), *ts;
    json_array_foreach(json_object_get(comp, "topic_shares"), i, ts)
    {
        char pct[16];
        double share = json_number_value(json_object_get(ts, "share"));
        snprintf(pct, sizeof pct, "%.0f%%", 100 * (isfinite(share) ? share : 0));
        json_array_append_new(topics,
                              json_pack("{s:s, s:s*, s:I, s:s, s:i}", "id",
                                        page_short_id(jstr(ts, "id") ? jstr(ts, "id") : ""), "name",
                                        jstr(ts, "display_name"), "count",
                                        (json_int_t)jint(ts, "count"), "share", pct, "width",
                                        (int)lround(100 * (isfinite(share) ? share : 0))));
    }
    json_object_set_new(d, "topics", topics);

    json_t *collab = json_array(), *c;
    json_array_foreach(co, i, c) json_array_append_new(
        collab,
        json_pack("{s:s, s:s*, s:I, s:s}", "id", page_short_id(jstr(c, "id") ? jstr(c, "id") : ""),
                  "name", jstr(c, "display_name"), "count", (json_int_t)jint(c, "count"),
                  "works_word", plural(jint(c, "count"), "work", "works")));
    json_object_set_new(d, "collaborators", collab);
    /* the summary panel streams only when a model is loaded */
    json_object_set_new(d, "inference", json_boolean(infer_sched() != NULL));

    json_t *chart = chart_data(cby);
    json_object_set(d, "chart_rows", json_object_get(chart, "rows"));
    json_object_del(chart, "rows");
    json_object_set_new(d, "chart_json", page_json_script(trust, chart));
    json_object_set_new(d, "has_chart",
                        json_boolean(json_array_size(json_object_get(chart, "years")) > 0));
    json_decref(chart);

    /* id is the canonical short key, "A<n>" */
    pgr_id self_id = id[0] == 'A' ? strtoll(id + 1, NULL, 10) : 0;
    graph = build_graph(id, self_id, name, author, briefs, n_briefs, co);
    graph_data(graph, id, d, trust);

    json_t *items = json_array();
    for (size_t k = 0; k < n_briefs; k++)
        json_array_append_new(items, brief_item(&briefs[k], self_id));
    json_object_set_new(d, "works", items);
    json_object_set_new(d, "works_total", json_integer(count));
    json_object_set_new(d, "sort_citations", json_boolean(!strcmp(sort, "citations")));
    json_object_set_new(d, "sort_date", json_boolean(!strcmp(sort, "date")));
    json_object_set_new(d, "sort_title", json_boolean(!strcmp(sort, "title")));
    json_object_set_new(d, "sort", json_string(sort));
    long long pages = (count + PROFILE_WORKS_PER_PAGE - 1) / PROFILE_WORKS_PER_PAGE;
    if (page > 1)
        json_object_set_new(d, "prev_page", json_integer(page - 1));
    if (page < pages)
        json_object_set_new(d, "next_page", json_integer(page + 1));
    json_object_set_new(d, "page", json_integer(page));
    if (pages > 1)
        json_object_set_new(d, "pages", json_integer(pages));
    page_render_keep(req, "author", d, trust, ckey, version);
    d = NULL;
done:
    tmpl_trust_free(trust); /* a no-op after page_render */
    json_decref(d);
    json_decref(author);
    json_decref(cby);
    json_decref(co);
    json_decref(graph);
}

/* ---- work ----------------------------------------------------------------------- */

void page_work(srv_request *req)
{
    const char *idp = srv_param(req, "id");
    pgr_store *st = page_store(req);
    if (!st)
        return;
    json_t *w = NULL, *d = NULL;
    pgr_err err = {0};
    uint64_t t0 = pgr_now_us();
    if (pgr_get(st, PGR_WORKS, idp, NULL, 0, &w, &err) != 0) {
        srv_note_db_time(req, pgr_now_us() - t0);
        if (err.code == PGR_ENOTFOUND || err.code == PGR_EINVAL)
            page_error(req, 404, "Work not found", "There is no work %s in this graph.", idp);
        else
            page_store_error(req, &err, "work");
        return;
    }
    json_t *item = work_item(w, NULL, NULL);
    const char *title = jstr(item, "title");
    d = base_data(title, NULL);
    json_object_update(d, item);
    json_decref(item);
    json_t *ids = json_object_get(w, "ids");
    json_t *links = json_array();
    const char *ax = jstr(ids, "arxiv"), *doi = jstr(w, "doi") ? jstr(w, "doi") : jstr(ids, "doi");
    char url[600];
    if (ax) {
        const char *bare = strncmp(ax, "arxiv:", 6) == 0 ? ax + 6 : ax;
        const char *slash = strstr(bare, "arxiv.org/abs/");
        if (slash)
            bare = slash + 14;
        snprintf(url, sizeof url, "https://arxiv.org/abs/%s", bare);
        json_array_append_new(
            links, json_pack("{s:s, s:s, s:s}", "kind", "arXiv", "value", bare, "url", url));
    }
    if (doi) {
        const char *bare = strncmp(doi, "https://doi.org/", 16) == 0 ? doi + 16 : doi;
        pgr_sb u = {0};
        pgr_sb_puts(&u, "https://doi.org/");
        /* DOIs may hold any printable character: keep '/' readable, encode the rest */
        for (const char *p = bare; *p; p++) {
            if (*p == '/')
                pgr_sb_putc(&u, '/');
            else
                tmpl_escape_url(&u, p, 1);
        }
        if (pgr_sb_ok(&u))
            json_array_append_new(
                links, json_pack("{s:s, s:s, s:s}", "kind", "DOI", "value", bare, "url", u.data));
        pgr_sb_free(&u);
    }
    json_object_set_new(d, "links", links);
    json_object_set_new(d, "peergraph_id", json_string(jstr(d, "id")));

    /* references: titles of the resolved ones in one list query */
    json_t *refs = json_array(), *r;
    size_t i;
    json_t *rw = json_object_get(w, "referenced_works");
    size_t nref = json_array_size(rw);
    if (nref > 100)
        nref = 100;
    /* the store has no filter by a list of ids: one small get per reference,
     * bounded at 100 (references lists are short) */
    static const char *const rf[] = {"id", "display_name", "publication_year"};
    for (i = 0; i < nref; i++) {
        const char *rid = json_string_value(json_array_get(rw, i));
        json_t *one = NULL;
        pgr_err e2 = {0};
        if (rid && pgr_get(st, PGR_WORKS, page_short_id(rid), rf, 3, &one, &e2) == 0) {
            json_array_append_new(refs, json_pack("{s:s, s:s*, s:I}", "id", page_short_id(rid),
                                                  "title", jstr(one, "display_name"), "year",
                                                  (json_int_t)jint(one, "publication_year")));
            json_decref(one);
        }
    }
    json_array_foreach(json_object_get(w, "referenced_works_unresolved"), i,
                       r) if (json_is_string(r))
        json_array_append_new(refs, json_pack("{s:O}", "raw", r));
    json_object_set_new(d, "references", refs);
    /* the works in this graph whose references resolved to this one */
    {
        const char *wid = page_short_id(jstr(w, "id"));
        const char *const vals[] = {wid};
        pgr_filter f = {"cites", PGR_OP_EQ, vals, 1};
        pgr_sort by_cites = {"cited_by_count", 1};
        static const char *const cf[] = {"id", "display_name", "publication_year"};
        pgr_query q = {.entity = PGR_WORKS, .filters = &f, .n_filters = 1, .sorts = &by_cites,
                       .n_sorts = 1, .per_page = 50, .select = cf, .n_select = 3};
        json_t *citing = json_array(), *res = NULL, *one;
        pgr_err e3 = {0};
        if (wid && pgr_list(st, &q, &res, &e3) == 0) {
            json_array_foreach(json_object_get(res, "results"), i, one)
                json_array_append_new(citing,
                                      json_pack("{s:s, s:s*, s:I}", "id",
                                                page_short_id(jstr(one, "id")), "title",
                                                jstr(one, "display_name"), "year",
                                                (json_int_t)jint(one, "publication_year")));
            json_object_set_new(d, "citing_total",
                                json_integer(jint(json_object_get(res, "meta"), "count")));
            json_decref(res);
        }
        json_object_set_new(d, "citing", citing);
    }
    json_t *prov = json_array(), *p;
    json_array_foreach(json_object_get(w, "provenance"), i, p) json_array_append_new(
        prov, json_pack("{s:s, s:s, s:s*, s:s*}", "site", site_name(jstr(p, "format")), "file",
                        basename_of(jstr(p, "uri")), "uri", jstr(p, "uri"), "capture_date",
                        jstr(p, "capture_date")));
    json_object_set_new(d, "provenance", prov);
    json_t *cby = json_array(), *c;
    json_array_foreach(json_object_get(w, "counts_by_year"), i, c)
        json_array_append_new(cby, json_pack("{s:I, s:I}", "year", (json_int_t)jint(c, "year"),
                                             "count", (json_int_t)jint(c, "cited_by_count")));
    json_object_set_new(d, "citations_by_year", cby);
    srv_note_db_time(req, pgr_now_us() - t0);
    json_decref(w);
    page_render(req, 200, "work", d, NULL);
}

/* ---- topic ------------------------------------------------------------------------- */

void page_topic(srv_request *req)
{
    const char *idp = srv_param(req, "id");
    pgr_store *st = page_store(req);
    if (!st)
        return;
    json_t *t = NULL, *authors = NULL, *works = NULL;
    pgr_err err = {0};
    if (pgr_get(st, PGR_TOPICS, idp, NULL, 0, &t, &err) != 0) {
        if (err.code == PGR_ENOTFOUND || err.code == PGR_EINVAL)
            page_error(req, 404, "Topic not found", "There is no topic %s in this graph.", idp);
        else
            page_store_error(req, &err, "topic");
        return;
    }
    const char *id = page_short_id(jstr(t, "id") ? jstr(t, "id") : idp);
    const char *fv[1] = {id};
    pgr_filter f = {"topics.id", PGR_OP_EQ, fv, 1};
    pgr_sort by_date = {"publication_date", 1};
    /* top authors: who has the most works on the topic, in one grouped query
     * over the works (author-topic links may not be recorded for every source) */
    pgr_query qa = {.entity = PGR_WORKS,
                    .filters = &f,
                    .n_filters = 1,
                    .per_page = 1,
                    .group_by = "authorships.author.id"};
    pgr_query qw = {.entity = PGR_WORKS,
                    .filters = &f,
                    .n_filters = 1,
                    .sorts = &by_date,
                    .n_sorts = 1,
                    .per_page = 20,
                    .select = work_list_fields,
                    .n_select = N_WORK_LIST_FIELDS};
    if (!(authors = run_list(req, st, &qa, "topic: authors")) ||
        !(works = run_list(req, st, &qw, "topic: works")))
        goto done;
    const char *name = jstr(t, "display_name") ? jstr(t, "display_name") : id;
    json_t *d = base_data(name, NULL);
    json_object_set_new(d, "id", json_string(id));
    json_object_set_new(d, "name", json_string(name));
    json_object_set_new(d, "scheme", json_string(jstr(t, "scheme") ? jstr(t, "scheme") : ""));
    json_object_set_new(d, "code", json_string(jstr(t, "code") ? jstr(t, "code") : ""));
    json_object_set_new(d, "works_count", json_integer(jint(t, "works_count")));
    json_object_set_new(d, "cited_by_count", json_integer(jint(t, "cited_by_count")));
    json_t *top = json_array(), *g;
    size_t i;
    json_array_foreach(json_object_get(authors, "group_by"), i, g)
    {
        if (i >= 12)
            break;
        const char *key = jstr(g, "key");
        if (!key || !strcmp(key, "unknown"))
            continue;
        json_array_append_new(
            top, json_pack("{s:s, s:s, s:I, s:s}", "id", page_short_id(key), "name",
                           jstr(g, "key_display_name") ? jstr(g, "key_display_name") : key, "count",
                           (json_int_t)jint(g, "count"), "works_word",
                           plural(jint(g, "count"), "work", "works")));
    }
    json_object_set_new(d, "top_authors", top);
    json_object_set_new(d, "works", work_items(json_object_get(works, "results"), NULL, NULL));
    page_render(req, 200, "topic", d, NULL);
done:
    json_decref(t);
    json_decref(authors);
    json_decref(works);
}
