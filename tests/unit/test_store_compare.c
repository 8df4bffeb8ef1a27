/* graph/store: the same generated graph loaded into SQLite and PostgreSQL
 * answers every read query with the same JSON. Allowed differences, and only
 * these: relevance_score values (bm25 vs ts_rank) and so the order of search
 * results, compared as sets, and the cursors of relevance-sorted lists. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "graph/graph.h"
#include "tests/check.h"
#include "tests/support/graphgen.h"

static pgr_store *S[2];
static char *URL[2];
static gg_graph G[2];
static int ready = 2; /* 2: not set up yet; 0 ok; 1 skipped; -1 failed */
static long compared, differed;

/* Drops relevance_score everywhere; sorts search results by id. */
static void normalise(json_t *j, int search)
{
    if (json_is_object(j)) {
        json_object_del(j, "relevance_score");
        const char *k;
        json_t *v;
        json_object_foreach(j, k, v)
        normalise(v, search);
        if (search) {
            json_t *meta = json_object_get(j, "meta");
            if (meta)
                json_object_set_new(meta, "next_cursor", json_null());
            json_t *res = json_object_get(j, "results");
            size_t n = json_array_size(res);
            for (size_t i = 1; i < n; i++) /* insertion sort by the numeric id */
                for (size_t m = i; m > 0; m--) {
                    json_t *a = json_array_get(res, m - 1), *b = json_array_get(res, m);
                    const char *ia = json_string_value(json_object_get(a, "id"));
                    const char *ib = json_string_value(json_object_get(b, "id"));
                    if (!ia || !ib || atol(ia + 1) <= atol(ib + 1))
                        break;
                    json_incref(a);
                    json_array_set(res, m - 1, b);
                    json_array_set_new(res, m, a);
                }
        }
    } else if (json_is_array(j)) {
        size_t i;
        json_t *v;
        json_array_foreach(j, i, v)
        normalise(v, search);
    }
}

/* Compares two answers; prints the first difference. */
static int same(const char *what, json_t *a, json_t *b, int search)
{
    compared++;
    if (!a || !b) {
        fprintf(stderr, "    %s: %s answered nothing\n", what, !a ? "sqlite" : "postgres");
        differed++;
        return 0;
    }
    normalise(a, search);
    normalise(b, search);
    if (json_equal(a, b))
        return 1;
    char *x = json_dumps(a, JSON_SORT_KEYS | JSON_COMPACT);
    char *y = json_dumps(b, JSON_SORT_KEYS | JSON_COMPACT);
    size_t i = 0;
    while (x && y && x[i] && x[i] == y[i])
        i++;
    size_t from = i > 80 ? i - 80 : 0;
    fprintf(stderr, "    %s differs at byte %zu:\n      sqlite:   %.200s\n      postgres: %.200s\n",
            what, i, x ? x + from : "", y ? y + from : "");
    free(x);
    free(y);
    differed++;
    return 0;
}

static int setup(void)
{
    if (ready != 2)
        return ready;
    ready = -1;
    pgr_err err = {0};
    for (int b = 0; b < 2; b++) {
        const char *why = NULL;
        URL[b] = gg_fresh_db(b, "compare", &why);
        if (!URL[b]) {
            fprintf(stderr, "    skipped: %s\n", why);
            return ready = 1;
        }
        if (pgr_store_open(URL[b], &S[b], &err) != 0) {
            fprintf(stderr, "    open %s: %s\n", URL[b], err.msg);
            return -1;
        }
        gg_generate(&G[b], 300, 120, 1234);
        if (gg_load(S[b], &G[b], &err) != 0) {
            fprintf(stderr, "    load: %s\n", err.msg);
            return -1;
        }
    }
    return ready = 0;
}

#define NEED()                                                                               \
    do {                                                                                     \
        int r_ = setup();                                                                    \
        if (r_ > 0)                                                                          \
            SKIP("PostgreSQL unavailable");                                                  \
        CHECK(r_ == 0);                                                                      \
    } while (0)

static void cmp_get(pgr_entity e, const char *id, long *bad)
{
    json_t *a = NULL, *b = NULL;
    pgr_err ea = {0}, eb = {0};
    int ra = pgr_get(S[0], e, id, NULL, 0, &a, &ea), rb = pgr_get(S[1], e, id, NULL, 0, &b, &eb);
    char what[64];
    snprintf(what, sizeof what, "get %s", id);
    if (ra != rb || (ra && ea.code != eb.code)) {
        fprintf(stderr, "    %s: sqlite %d (%s), postgres %d (%s)\n", what, ra, ea.msg, rb, eb.msg);
        (*bad)++;
    } else if (ra == 0 && !same(what, a, b, 0)) {
        (*bad)++;
    }
    json_decref(a);
    json_decref(b);
}

static void test_entities(void)
{
    NEED();
    long bad = 0;
    char id[32];
    for (int i = 0; i < G[0].n_works; i++) {
        snprintf(id, sizeof id, "W%lld", (long long)G[0].works[i].id);
        cmp_get(PGR_WORKS, id, &bad);
    }
    for (int a = 0; a < G[0].n_authors; a++) {
        snprintf(id, sizeof id, "A%lld", (long long)G[0].author_ids[a]);
        cmp_get(PGR_AUTHORS, id, &bad);
    }
    for (int t = 1; t <= 9; t++) { /* T9 does not exist: both say so */
        snprintf(id, sizeof id, "T%d", t);
        cmp_get(PGR_TOPICS, id, &bad);
    }
    for (int v = 1; v <= 4; v++) {
        snprintf(id, sizeof id, "S%d", v);
        cmp_get(PGR_SOURCES, id, &bad);
    }
    cmp_get(PGR_INSTITUTIONS, "I1", &bad);
    cmp_get(PGR_INSTITUTIONS, "ror:https://ror.org/00f54p054", &bad);
    cmp_get(PGR_WORKS, "doi:10.1234/gg.3", &bad);
    cmp_get(PGR_WORKS, "arxiv:2602.00001", &bad);
    cmp_get(PGR_AUTHORS, "orcid:0000-0002-0007-000X", &bad);
    cmp_get(PGR_TOPICS, "arxiv:cs.CL", &bad);
    cmp_get(PGR_WORKS, "W0", &bad);
    CHECK_INT(bad, 0);
}

typedef struct lq {
    pgr_query q;
    const char *what;
} lq;

/* Runs q on both; in cursor mode follows next_cursor to the end. */
static long cmp_list(const char *what, pgr_query q)
{
    long bad = 0;
    int search = q.search != NULL;
    for (int f = 0; f < (int)q.n_filters; f++)
        search |= strstr(q.filters[f].field, ".search") != NULL && q.entity <= PGR_AUTHORS;
    char cur[2][1024];
    for (int page = 0; page < 30; page++) {
        json_t *r[2] = {NULL, NULL};
        pgr_err e[2] = {{0}, {0}};
        int rc[2];
        pgr_query qq[2] = {q, q};
        if (q.cursor && page > 0) {
            qq[0].cursor = cur[0];
            qq[1].cursor = cur[1];
        }
        for (int b = 0; b < 2; b++)
            rc[b] = pgr_list(S[b], &qq[b], &r[b], &e[b]);
        char w[160];
        snprintf(w, sizeof w, "%s (page %d)", what, page + 1);
        if (rc[0] != rc[1] || (rc[0] && e[0].code != e[1].code)) {
            fprintf(stderr, "    %s: sqlite %d (%s), postgres %d (%s)\n", w, rc[0], e[0].msg, rc[1], e[1].msg);
            bad++;
            break;
        }
        if (rc[0]) /* both refused alike */
            break;
        int more = 0;
        for (int b = 0; b < 2; b++) {
            json_t *nc = json_object_get(json_object_get(r[b], "meta"), "next_cursor");
            if (json_is_string(nc)) {
                snprintf(cur[b], sizeof cur[b], "%s", json_string_value(nc));
                more++;
            }
        }
        /* ranking differs between bm25 and ts_rank: when a search matches
         * more rows than one page holds, which rows make the page differs too,
         * so only the counts are compared */
        if (search && json_integer_value(json_object_get(json_object_get(r[0], "meta"), "count")) >
                          (json_int_t)json_array_size(json_object_get(r[0], "results"))) {
            json_object_set_new(r[0], "results", json_array());
            json_object_set_new(r[1], "results", json_array());
        }
        if (!same(w, r[0], r[1], search))
            bad++;
        json_decref(r[0]);
        json_decref(r[1]);
        if (!q.cursor || more == 0)
            break;
        if (more != 2) {
            fprintf(stderr, "    %s: only one backend has a next page\n", w);
            bad++;
            break;
        }
    }
    return bad;
}

static void test_lists(void)
{
    NEED();
    long bad = 0;
    const char *yr[] = {"2017", "2022"}, *art[] = {"article", "preprint"}, *yes[] = {"true"},
               *c20[] = {"20"}, *a3[] = {"A3", "A7"}, *t2[] = {"T2"}, *s1[] = {"S1"},
               *d1[] = {"2019-01-01"}, *i1[] = {"I1"}, *w5[] = {"5", ""}, *sch[] = {"arxiv"};
    pgr_filter f_year = {"publication_year", PGR_OP_RANGE, yr, 2};
    pgr_filter f_type = {"type", PGR_OP_EQ, art, 2};
    pgr_filter f_nottype = {"type", PGR_OP_NE, art, 1};
    pgr_filter f_code = {"has_code", PGR_OP_EQ, yes, 1};
    pgr_filter f_cites = {"cited_by_count", PGR_OP_GT, c20, 1};
    pgr_filter f_auth = {"authorships.author.id", PGR_OP_EQ, a3, 2};
    pgr_filter f_topic = {"topics.id", PGR_OP_EQ, t2, 1};
    pgr_filter f_venue = {"primary_location.source.id", PGR_OP_EQ, s1, 1};
    pgr_filter f_from = {"from_publication_date", PGR_OP_EQ, d1, 1};
    pgr_filter f_inst = {"authorships.institutions.id", PGR_OP_EQ, i1, 1};
    pgr_filter f_many[] = {f_year, f_type, f_cites};
    pgr_filter fa_works = {"works_count", PGR_OP_RANGE, w5, 2};
    pgr_filter fa_topic = {"topics.id", PGR_OP_EQ, t2, 1};
    pgr_filter fa_inst = {"last_known_institutions.id", PGR_OP_EQ, i1, 1};
    pgr_filter ft_scheme = {"scheme", PGR_OP_EQ, sch, 1};
    pgr_filter *work_filters[] = {NULL, &f_year, &f_type, &f_nottype, &f_code, &f_cites, &f_auth,
                                  &f_topic, &f_venue, &f_from, &f_inst};
    static const char *const wsorts[] = {"cited_by_count", "publication_date", "publication_year",
                                         "display_name"};
    /* whole entities are compared by test_entities; here order and paging */
    static const char *const slim[] = {"id", "cited_by_count", "publication_date", "display_name"};
    for (size_t f = 0; f < sizeof work_filters / sizeof work_filters[0]; f++)
        for (size_t so = 0; so < 4; so++)
            for (int desc = 0; desc < 2; desc++) {
                pgr_sort s = {wsorts[so], desc};
                pgr_query q = {.entity = PGR_WORKS, .filters = work_filters[f],
                               .n_filters = work_filters[f] ? 1 : 0, .sorts = &s, .n_sorts = 1,
                               .per_page = 120, .cursor = "*", .select = slim, .n_select = 4};
                char what[160];
                snprintf(what, sizeof what, "works filter=%s sort=%s%s",
                         work_filters[f] ? work_filters[f]->field : "-", wsorts[so], desc ? ":desc" : "");
                bad += cmp_list(what, q);
            }
    pgr_sort two[] = {{"publication_year", 1}, {"cited_by_count", 0}};
    pgr_query q = {.entity = PGR_WORKS, .filters = f_many, .n_filters = 3, .sorts = two,
                   .n_sorts = 2, .per_page = 7, .cursor = "*"};
    bad += cmp_list("works three filters, two sorts", q);
    q.cursor = NULL;
    q.page = 2;
    bad += cmp_list("works page 2", q);
    const char *sel[] = {"id", "title", "authorships"};
    pgr_query qs = {.entity = PGR_WORKS, .select = sel, .n_select = 3, .per_page = 50, .page = 3};
    bad += cmp_list("works select", qs);
    static const char *const groups[] = {"publication_year", "type", "has_code", "topics.id",
                                         "authorships.author.id", "primary_location.source.id"};
    for (size_t gi = 0; gi < 6; gi++) {
        pgr_query g = {.entity = PGR_WORKS, .group_by = groups[gi], .filters = &f_year,
                       .n_filters = 1, .per_page = 5};
        bad += cmp_list(groups[gi], g);
    }
    /* authors, topics, sources, institutions */
    pgr_filter *author_filters[] = {NULL, &fa_works, &fa_topic, &fa_inst};
    static const char *const asorts[] = {"works_count", "cited_by_count", "display_name",
                                         "summary_stats.h_index"};
    for (size_t f = 0; f < 4; f++)
        for (size_t so = 0; so < 4; so++) {
            pgr_sort s = {asorts[so], so != 2};
            static const char *const aslim[] = {"id", "works_count", "cited_by_count", "display_name",
                                                "summary_stats"};
            pgr_query a = {.entity = PGR_AUTHORS, .filters = author_filters[f],
                           .n_filters = author_filters[f] ? 1 : 0, .sorts = &s, .n_sorts = 1,
                           .per_page = 25, .cursor = "*", .select = aslim, .n_select = 5};
            char what[160];
            snprintf(what, sizeof what, "authors filter=%s sort=%s",
                     author_filters[f] ? author_filters[f]->field : "-", asorts[so]);
            bad += cmp_list(what, a);
        }
    pgr_query ag = {.entity = PGR_AUTHORS, .group_by = "topics.id"};
    bad += cmp_list("authors group_by topics", ag);
    for (int e = PGR_TOPICS; e < PGR_N_ENTITIES; e++) {
        pgr_sort s = {"works_count", 1};
        pgr_query t = {.entity = (pgr_entity)e, .sorts = &s, .n_sorts = 1, .per_page = 3, .cursor = "*"};
        bad += cmp_list(pgr_entity_name((pgr_entity)e), t);
    }
    pgr_query ts = {.entity = PGR_TOPICS, .filters = &ft_scheme, .n_filters = 1, .group_by = "scheme"};
    bad += cmp_list("topics scheme", ts);
    CHECK_INT(bad, 0);
}

static void test_search(void)
{
    NEED();
    long bad = 0;
    static const char *const queries[] = {"graph", "graph neural", "\"neural network\"",
                                          "adapter OR diffusion", "attention -sparse", "trans*",
                                          "(graph OR token) AND memory", "muller", "NAÏVE",
                                          "wu", "zhengxuan", "nothingmatchesthis", "\"unbalanced",
                                          "NOT alone"};
    for (size_t i = 0; i < sizeof queries / sizeof queries[0]; i++) {
        pgr_query q = {.entity = PGR_WORKS, .search = queries[i], .per_page = 200,
                       .hl_open = "<b>", .hl_close = "</b>"};
        bad += cmp_list(queries[i], q);
        pgr_query a = {.entity = PGR_AUTHORS, .search = queries[i], .per_page = 200};
        bad += cmp_list(queries[i], a);
        pgr_query t = {.entity = PGR_TOPICS, .search = queries[i], .per_page = 200};
        bad += cmp_list(queries[i], t);
    }
    /* a search with a non-relevance sort is fully ordered: compared exactly */
    pgr_sort s = {"cited_by_count", 1};
    pgr_query q = {.entity = PGR_WORKS, .search = "graph", .sorts = &s, .n_sorts = 1,
                   .per_page = 10, .cursor = "*"};
    json_t *r[2];
    pgr_err e;
    CHECK_INT(pgr_list(S[0], &q, &r[0], &e), 0);
    CHECK_INT(pgr_list(S[1], &q, &r[1], &e), 0);
    json_t *ids[2] = {json_array(), json_array()};
    for (int b = 0; b < 2; b++) {
        size_t i;
        json_t *v;
        json_array_foreach(json_object_get(r[b], "results"), i, v)
        json_array_append(ids[b], json_object_get(v, "id"));
    }
    CHECK(json_equal(ids[0], ids[1]));
    json_decref(ids[0]), json_decref(ids[1]), json_decref(r[0]), json_decref(r[1]);
    CHECK_INT(bad, 0);
}

static void test_extras(void)
{
    NEED();
    long bad = 0;
    static const char *const prefixes[] = {"gr", "neural net", "mü", "zh", "a", "comp", "st", "x"};
    for (size_t i = 0; i < sizeof prefixes / sizeof prefixes[0]; i++)
        for (int e = 0; e < PGR_N_ENTITIES; e++) {
            json_t *r[2] = {NULL, NULL};
            pgr_err err;
            pgr_autocomplete(S[0], (pgr_entity)e, prefixes[i], &r[0], &err);
            pgr_autocomplete(S[1], (pgr_entity)e, prefixes[i], &r[1], &err);
            char what[96];
            snprintf(what, sizeof what, "autocomplete %s %s", pgr_entity_name((pgr_entity)e), prefixes[i]);
            bad += !same(what, r[0], r[1], 0);
            json_decref(r[0]), json_decref(r[1]);
        }
    for (int a = 0; a < G[0].n_authors; a += 9) {
        char id[32];
        snprintf(id, sizeof id, "A%lld", (long long)G[0].author_ids[a]);
        json_t *r[2] = {NULL, NULL};
        pgr_err err;
        for (int b = 0; b < 2; b++)
            pgr_author_coauthors(S[b], id, 0, &r[b], &err);
        bad += !same("coauthors", r[0], r[1], 0);
        json_decref(r[0]), json_decref(r[1]);
        for (int depth = 1; depth <= 2; depth++) {
            for (int b = 0; b < 2; b++)
                pgr_author_graph(S[b], id, depth, 60, &r[b], &err);
            bad += !same("graph", r[0], r[1], 0);
            json_decref(r[0]), json_decref(r[1]);
        }
        for (int b = 0; b < 2; b++)
            pgr_counts_by_year(S[b], PGR_AUTHORS, id, &r[b], &err);
        bad += !same("counts_by_year", r[0], r[1], 0);
        json_decref(r[0]), json_decref(r[1]);
        for (int b = 0; b < 2; b++)
            pgr_author_works_text(S[b], id, 5, &r[b], &err);
        bad += !same("works_text", r[0], r[1], 0);
        json_decref(r[0]), json_decref(r[1]);
    }
    json_t *r[2];
    pgr_err err;
    for (int b = 0; b < 2; b++)
        pgr_stats(S[b], &r[b], &err);
    bad += !same("stats", r[0], r[1], 0);
    json_decref(r[0]), json_decref(r[1]);
    CHECK_INT(bad, 0);
}

/* The same changes on both sides (a merge, a second source, its deletion)
 * leave both answering alike. */
static void test_after_changes(void)
{
    NEED();
    pgr_err err = {0};
    for (int b = 0; b < 2; b++) {
        pgr_id m, src, w;
        CHECK_MSG(pgr_author_merge(S[b], G[b].author_ids[2], G[b].author_ids[3], "test", 0, &m, &err) == 0,
                  "merge: %s", err.msg);
        pgr_source_doc d = {.uri = "second", .sha256 = "22"};
        CHECK_INT(pgr_begin(S[b], &err), 0);
        CHECK_INT(pgr_source_upsert(S[b], &d, &src, &err), 0);
        pgr_work_rec wr = {.arxiv_id = G[b].works[10].arxiv, .abstract = "A second source's abstract",
                           .cited_by_count = 999, .has_code = 1, .score = 0.25};
        CHECK_INT(pgr_work_upsert(S[b], src, 0, &wr, &w, NULL, &err), 0);
        pgr_work_rec nw = {.title = "Only in the second source", .norm_title = "only in the second source",
                           .year = 2026, .cited_by_count = 1, .has_code = -1, .score = 0.0};
        CHECK_INT(pgr_work_upsert(S[b], src, 0, &nw, &w, NULL, &err), 0);
        CHECK_INT(pgr_authorship_put(S[b], src, w, G[b].author_ids[2], 1, "Second Name", NULL, 0, &err), 0);
        CHECK_INT(pgr_metrics_recompute_dirty(S[b], &err), 0);
        CHECK_INT(pgr_commit(S[b], &err), 0);
        CHECK_INT(pgr_source_delete_facts(S[b], G[b].src, &err), 0);
        CHECK_INT(pgr_metrics_recompute(S[b], NULL, 0, &err), 0);
    }
    long bad = 0;
    char id[32];
    for (int i = 0; i < G[0].n_works + 1; i++) {
        snprintf(id, sizeof id, "W%d", i + 1);
        cmp_get(PGR_WORKS, id, &bad);
    }
    for (int a = 0; a < G[0].n_authors; a++) {
        snprintf(id, sizeof id, "A%lld", (long long)G[0].author_ids[a]);
        cmp_get(PGR_AUTHORS, id, &bad);
    }
    pgr_query q = {.entity = PGR_WORKS, .search = "second", .per_page = 10};
    bad += cmp_list("search after changes", q);
    CHECK_INT(bad, 0);
}

int main(void)
{
    uint64_t t0 = pgr_now_us();
#define TIMED(fn)                                                                            \
    RUN(fn);                                                                                 \
    fprintf(stderr, "    %s: %.1f s\n", #fn, (pgr_now_us() - t0) / 1e6);                      \
    t0 = pgr_now_us();
    TIMED(test_entities)
    TIMED(test_lists)
    TIMED(test_search)
    TIMED(test_extras)
    TIMED(test_after_changes)
    fprintf(stderr, "    %ld answers compared, %ld differed\n", compared, differed);
    for (int b = 0; b < 2; b++) {
        pgr_store_close(S[b]);
        free(URL[b]);
        gg_free(&G[b]);
    }
    gg_cleanup();
    return check_summary("test_store_compare");
}
