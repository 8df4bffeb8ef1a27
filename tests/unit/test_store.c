/* graph/store: the same suite against SQLite (a temp file) and PostgreSQL (a
 * fresh database in PEERGRAPH_TEST_PG). Expected answers come from the
 * generated graph's own facts (tests/support/graphgen.c), counted here. */
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "graph/graph.h"
#include "tests/check.h"
#include "tests/support/graphgen.h"

static int backend; /* GG_SQLITE or GG_PG for the test running */
static const char *bname(void) { return backend == GG_SQLITE ? "sqlite" : "postgres"; }

/* Opens a fresh, migrated store; SKIPs when the backend is unavailable. */
#define OPEN_FRESH(s, url, name)                                                             \
    do {                                                                                     \
        const char *why_ = NULL;                                                             \
        url = gg_fresh_db(backend, name, &why_);                                             \
        if (!url)                                                                            \
            SKIP("%s", why_);                                                                \
        pgr_err e_ = {0};                                                                    \
        if (pgr_store_open(url, &s, &e_) != 0) {                                             \
            free(url);                                                                       \
            CHECK_MSG(0, "open: %s", e_.msg);                                                \
        }                                                                                    \
    } while (0)

static json_t *get(pgr_store *s, pgr_entity e, const char *id)
{
    json_t *j = NULL;
    pgr_err err = {0};
    if (pgr_get(s, e, id, NULL, 0, &j, &err) != 0)
        fprintf(stderr, "    get %s: %s\n", id, err.msg);
    return j;
}

/* ---------------------------------------------------------------- */
static void test_migrate(void)
{
    pgr_store *s;
    char *url;
    pgr_err err = {0};
    OPEN_FRESH(s, url, "migrate");
    int v = 0, latest = pgr_schema_latest(bname());
    CHECK(latest >= 1);
    CHECK_INT(pgr_store_schema_version(s, &v, &err), 0);
    CHECK_INT(v, latest);
    CHECK_STR(pgr_store_backend(s), bname());
    pgr_store_close(s);
    /* re-running is a no-op */
    int from = -1, to = -1;
    CHECK_INT(pgr_migrate(url, &from, &to, &err), 0);
    CHECK_INT(from, latest);
    CHECK_INT(to, latest);
    /* a newer database is refused, by both open and migrate */
    char sql[160];
    snprintf(sql, sizeof sql,
             "INSERT INTO schema_version (version, name, applied_at) VALUES (%d, 'future', 'x')",
             latest + 1);
    CHECK_INT(gg_exec_raw(url, sql), 0);
    s = NULL;
    CHECK(pgr_store_open(url, &s, &err) != 0);
    CHECK(s == NULL);
    CHECK_INT(err.code, PGR_EVERSION);
    CHECK_MSG(strstr(err.msg, "newer") != NULL, "message: %s", err.msg);
    CHECK(pgr_migrate(url, NULL, NULL, &err) != 0);
    CHECK_INT(err.code, PGR_EVERSION);
    CHECK(pgr_store_open_nomigrate(url, &s, &err) != 0);
    free(url);
}

static void test_open_errors(void)
{
    pgr_store *s = NULL;
    pgr_err err = {0};
    CHECK(pgr_store_open("mysql://x", &s, &err) != 0);
    CHECK_INT(err.code, PGR_EINVAL);
    CHECK(strstr(err.msg, "mysql://x") != NULL);
    CHECK(pgr_store_open("sqlite:", &s, &err) != 0);
    CHECK(pgr_store_open("sqlite:/nonexistent-dir-pgr/x.db", &s, &err) != 0);
    CHECK_MSG(strstr(err.msg, "/nonexistent-dir-pgr/x.db") != NULL, "message: %s", err.msg);
    if (backend == GG_PG) {
        const char *base = getenv("PEERGRAPH_TEST_PG");
        if (!base || !*base)
            SKIP("PEERGRAPH_TEST_PG is not set");
        char url[512];
        snprintf(url, sizeof url, "%.*s/pgr_no_such_db", (int)(strrchr(base, '/') - base), base);
        CHECK(pgr_store_open(url, &s, &err) != 0);
        CHECK_MSG(strstr(err.msg, "pgr_no_such_db") != NULL, "message: %s", err.msg);
    }
    CHECK(s == NULL);
}

/* ---------------------------------------------------------------- */
static void test_work_identity(void)
{
    pgr_store *s;
    char *url;
    pgr_err err = {0};
    OPEN_FRESH(s, url, "identity");
    pgr_id src, w1, w2, w3, w4;
    int created = -1;
    pgr_source_doc d = {.uri = "a.txt", .format = "test", .sha256 = "aa", .capture_date = "2026-01-02"};
    CHECK_INT(pgr_source_upsert(s, &d, &src, &err), 0);
    pgr_work_rec a = {.title = "PreFT: Prefill-only Finetuning", .norm_title = "preft prefill only finetuning",
                      .year = 2026, .arxiv_id = "2605.14217", .cited_by_count = 3, .has_code = -1,
                      .score = NAN};
    CHECK_INT(pgr_work_upsert(s, src, 0, &a, &w1, &created, &err), 0);
    CHECK_INT(created, 1);
    /* same arXiv id: the same work, now with a DOI and more citations */
    pgr_work_rec b = {.title = "PreFT", .norm_title = "preft prefill only finetuning", .year = 2026,
                      .arxiv_id = "2605.14217", .doi = "10.1/preft", .cited_by_count = 9,
                      .has_code = 1, .score = NAN};
    CHECK_INT(pgr_work_upsert(s, src, 0, &b, &w2, &created, &err), 0);
    CHECK_INT(created, 0);
    CHECK_INT(w2, w1);
    /* DOI alone finds it; then title + year alone finds it */
    pgr_work_rec c = {.doi = "10.1/preft", .cited_by_count = 2, .has_code = -1, .score = NAN};
    CHECK_INT(pgr_work_upsert(s, src, 0, &c, &w3, &created, &err), 0);
    CHECK_INT(w3, w1);
    pgr_work_rec t = {.title = "x", .norm_title = "preft prefill only finetuning", .year = 2026,
                      .cited_by_count = -1, .has_code = -1, .score = NAN};
    CHECK_INT(pgr_work_upsert(s, src, 0, &t, &w4, &created, &err), 0);
    CHECK_INT(w4, w1);
    pgr_id f;
    CHECK_INT(pgr_work_find(s, PGR_KEY_DOI, "10.1/preft", &f, &err), 0);
    CHECK_INT(f, w1);
    CHECK_INT(pgr_work_find(s, PGR_KEY_ARXIV, "9999.00000", &f, &err), 0);
    CHECK_INT(f, 0);
    json_t *j = get(s, PGR_WORKS, "doi:10.1/PreFT");
    CHECK(j != NULL);
    CHECK_STR(json_string_value(json_object_get(j, "title")), "x"); /* given values overwrite */
    CHECK_INT(json_integer_value(json_object_get(j, "cited_by_count")), 9); /* the largest */
    CHECK(json_is_true(json_object_get(j, "has_code")));
    CHECK_STR(json_string_value(json_object_get(j, "doi")), "https://doi.org/10.1/preft");
    json_decref(j);
    j = get(s, PGR_WORKS, "https://doi.org/10.1/preft");
    CHECK(j != NULL);
    json_decref(j);
    /* a different work may not take an id another work has */
    pgr_work_rec other = {.title = "Other", .norm_title = "other", .year = 2020,
                          .cited_by_count = -1, .has_code = -1, .score = NAN};
    pgr_id wo;
    CHECK_INT(pgr_work_upsert(s, src, 0, &other, &wo, &created, &err), 0);
    CHECK(wo != w1);
    CHECK_INT(pgr_begin(s, &err), 0);
    other.doi = "10.1/preft";
    CHECK(pgr_work_upsert(s, src, wo, &other, &wo, &created, &err) != 0);
    CHECK_INT(err.code, PGR_ECONFLICT);
    /* the message names the backend and the statement */
    CHECK_MSG(strstr(err.msg, bname()) && strstr(err.msg, "work_update"), "message: %s", err.msg);
    CHECK_INT(pgr_rollback(s, &err), 0);
    /* errors on ids */
    CHECK(pgr_get(s, PGR_WORKS, "W999999", NULL, 0, &j, &err) != 0);
    CHECK_INT(err.code, PGR_ENOTFOUND);
    CHECK(pgr_get(s, PGR_WORKS, "'; DROP TABLE works; --", NULL, 0, &j, &err) != 0);
    CHECK_INT(err.code, PGR_EINVAL);
    CHECK(pgr_get(s, PGR_WORKS, "A1", NULL, 0, &j, &err) != 0);
    CHECK_INT(err.code, PGR_EINVAL);
    CHECK(pgr_get(s, PGR_WORKS, "arxiv:\xff\xfe", NULL, 0, &j, &err) != 0);
    CHECK_INT(err.code, PGR_EINVAL);
    pgr_store_close(s);
    free(url);
}

/* ---------------------------------------------------------------- */
static void test_provenance(void)
{
    pgr_store *s;
    char *url;
    pgr_err err = {0};
    OPEN_FRESH(s, url, "provenance");
    pgr_id s1, s2, shared, only1, a, b;
    pgr_source_doc d1 = {.uri = "one.txt", .sha256 = "11"}, d2 = {.uri = "two.txt", .sha256 = "22"};
    CHECK_INT(pgr_source_upsert(s, &d1, &s1, &err), 0);
    CHECK_INT(pgr_source_upsert(s, &d2, &s2, &err), 0);
    pgr_work_rec ws = {.title = "Shared", .norm_title = "shared", .year = 2024, .arxiv_id = "2401.00001",
                       .cited_by_count = -1, .has_code = -1, .score = NAN};
    pgr_work_rec w1 = {.title = "Only one", .norm_title = "only one", .year = 2024,
                       .cited_by_count = -1, .has_code = -1, .score = NAN};
    pgr_author_rec ar = {.display_name = "Ana García", .norm_name = "ana garcia"};
    pgr_author_rec br = {.display_name = "Li Wang", .norm_name = "li wang"};
    CHECK_INT(pgr_begin(s, &err), 0);
    CHECK_INT(pgr_work_upsert(s, s1, 0, &ws, &shared, NULL, &err), 0);
    CHECK_INT(pgr_work_upsert(s, s1, 0, &w1, &only1, NULL, &err), 0);
    CHECK_INT(pgr_author_upsert(s, s1, 0, &ar, &a, NULL, &err), 0);
    CHECK_INT(pgr_author_upsert(s, s1, 0, &br, &b, NULL, &err), 0);
    CHECK_INT(pgr_authorship_put(s, s1, shared, a, 1, "A. García", NULL, 0, &err), 0);
    CHECK_INT(pgr_authorship_put(s, s1, shared, b, 2, "Li Wang", NULL, 0, &err), 0);
    CHECK_INT(pgr_authorship_put(s, s1, only1, b, 1, "Li Wang", NULL, 0, &err), 0);
    CHECK_INT(pgr_claim_put(s, s1, a, "h_index", "h-index 3", 3, "2026-01-01", &err), 0);
    CHECK_INT(pgr_commit(s, &err), 0);
    CHECK_INT(pgr_begin(s, &err), 0); /* the second source asserts the shared work and A */
    CHECK_INT(pgr_work_upsert(s, s2, 0, &ws, &shared, NULL, &err), 0);
    CHECK_INT(pgr_author_upsert(s, s2, a, &ar, &a, NULL, &err), 0);
    CHECK_INT(pgr_authorship_put(s, s2, shared, a, 1, "Ana García", NULL, 0, &err), 0);
    CHECK_INT(pgr_metrics_recompute_dirty(s, &err), 0);
    CHECK_INT(pgr_commit(s, &err), 0);
    json_t *j = get(s, PGR_WORKS, "arxiv:2401.00001");
    CHECK(j);
    CHECK_INT(json_array_size(json_object_get(j, "provenance")), 2);
    CHECK_INT(json_array_size(json_object_get(j, "authorships")), 2);
    json_decref(j);
    /* source one changes: its facts go, the facts source two asserts stay */
    CHECK_INT(pgr_begin(s, &err), 0);
    CHECK_INT(pgr_source_delete_facts(s, s1, &err), 0);
    CHECK_INT(pgr_metrics_recompute_dirty(s, &err), 0);
    CHECK_INT(pgr_commit(s, &err), 0);
    j = get(s, PGR_WORKS, "arxiv:2401.00001");
    CHECK(j);
    json_t *as = json_object_get(j, "authorships");
    CHECK_INT(json_array_size(as), 1);
    CHECK_STR(json_string_value(json_object_get(json_array_get(as, 0), "raw_author_name")), "Ana García");
    CHECK_INT(json_array_size(json_object_get(j, "provenance")), 1);
    json_decref(j);
    char key[32];
    snprintf(key, sizeof key, "W%lld", (long long)only1);
    CHECK(pgr_get(s, PGR_WORKS, key, NULL, 0, &j, &err) != 0);
    CHECK_INT(err.code, PGR_ENOTFOUND);
    snprintf(key, sizeof key, "A%lld", (long long)b);
    CHECK(pgr_get(s, PGR_AUTHORS, key, NULL, 0, &j, &err) != 0); /* only source one named B */
    snprintf(key, sizeof key, "A%lld", (long long)a);
    j = get(s, PGR_AUTHORS, key);
    CHECK(j);
    CHECK_INT(json_array_size(json_object_get(j, "source_claims")), 0);
    CHECK_INT(json_integer_value(json_object_get(j, "works_count")), 1);
    json_decref(j);
    /* full text follows: the deleted work is not found, the kept one is */
    pgr_query q = {.entity = PGR_WORKS, .search = "only"};
    CHECK_INT(pgr_list(s, &q, &j, &err), 0);
    CHECK_INT(json_integer_value(json_object_get(json_object_get(j, "meta"), "count")), 0);
    json_decref(j);
    q.search = "shared garcia";
    CHECK_INT(pgr_list(s, &q, &j, &err), 0);
    CHECK_INT(json_integer_value(json_object_get(json_object_get(j, "meta"), "count")), 1);
    json_decref(j);
    pgr_id found;
    char sha[65];
    CHECK_INT(pgr_source_find(s, "two.txt", &found, sha, &err), 0);
    CHECK_INT(found, s2);
    CHECK_STR(sha, "22");
    pgr_store_close(s);
    free(url);
}

/* ---------------------------------------------------------------- */
static void test_merge(void)
{
    pgr_store *s;
    char *url;
    pgr_err err = {0};
    OPEN_FRESH(s, url, "merge");
    gg_graph g;
    gg_generate(&g, 60, 20, 7);
    CHECK_MSG(gg_load(s, &g, &err) == 0, "load: %s", err.msg);
    char k0[32], k1[32];
    snprintf(k0, sizeof k0, "A%lld", (long long)g.author_ids[0]);
    snprintf(k1, sizeof k1, "A%lld", (long long)g.author_ids[1]);
    json_t *before0 = get(s, PGR_AUTHORS, k0), *before1 = get(s, PGR_AUTHORS, k1);
    CHECK(before0 && before1);
    /* the expected union of works */
    int n0 = 0, n1 = 0, both = 0;
    for (int i = 0; i < g.n_works; i++) {
        int has0 = 0, has1 = 0;
        for (int k = 0; k < g.works[i].n_auth; k++) {
            has0 |= g.works[i].auth[k] == 0;
            has1 |= g.works[i].auth[k] == 1;
        }
        n0 += has0;
        n1 += has1;
        both += has0 && has1;
    }
    pgr_id m;
    CHECK_INT(pgr_author_merge(s, g.author_ids[0], g.author_ids[1], "same orcid", 0, &m, &err), 0);
    CHECK_INT(pgr_metrics_recompute_dirty(s, &err), 0);
    json_t *merged = get(s, PGR_AUTHORS, k1); /* reads of the merged id answer the kept author */
    CHECK(merged);
    CHECK_STR(json_string_value(json_object_get(merged, "id")), k0);
    CHECK_INT(json_integer_value(json_object_get(merged, "works_count")), n0 + n1 - both);
    CHECK_INT(json_array_size(json_object_get(merged, "merged_from")), 1);
    json_decref(merged);
    pgr_id cur;
    CHECK_INT(pgr_author_resolve(s, g.author_ids[1], &cur, &err), 0);
    CHECK_INT(cur, g.author_ids[0]);
    CHECK(pgr_author_merge(s, g.author_ids[0], g.author_ids[1], "again", 0, &m, &err) != 0);
    /* undo: both authors read exactly as before */
    CHECK_MSG(pgr_author_unmerge(s, m, &err) == 0, "unmerge: %s", err.msg);
    CHECK_INT(pgr_metrics_recompute_dirty(s, &err), 0);
    json_t *after0 = get(s, PGR_AUTHORS, k0), *after1 = get(s, PGR_AUTHORS, k1);
    CHECK(after0 && after1);
    char *b0 = json_dumps(before0, JSON_SORT_KEYS), *a0 = json_dumps(after0, JSON_SORT_KEYS);
    char *b1 = json_dumps(before1, JSON_SORT_KEYS), *a1 = json_dumps(after1, JSON_SORT_KEYS);
    int same0 = !strcmp(b0, a0), same1 = !strcmp(b1, a1);
    if (!same0)
        fprintf(stderr, "    before: %s\n    after:  %s\n", b0, a0);
    if (!same1)
        fprintf(stderr, "    before: %s\n    after:  %s\n", b1, a1);
    free(b0), free(a0), free(b1), free(a1);
    json_decref(before0), json_decref(before1), json_decref(after0), json_decref(after1);
    CHECK(same0 && same1);
    CHECK(pgr_author_unmerge(s, m, &err) != 0);
    gg_free(&g);
    pgr_store_close(s);
    free(url);
}

/* ---------------------------------------------------------------- */
static void test_metrics(void)
{
    pgr_store *s;
    char *url;
    pgr_err err = {0};
    OPEN_FRESH(s, url, "metrics");
    long cites[] = {10, 8, 5, 4, 3, 0};
    pgr_id src, a, b, w;
    pgr_source_doc d = {.uri = "m.txt", .sha256 = "00"};
    pgr_author_rec ar = {.display_name = "Olga Ivanova", .norm_name = "olga ivanova"};
    pgr_author_rec br = {.display_name = "Kofi Mensah", .norm_name = "kofi mensah"};
    CHECK_INT(pgr_begin(s, &err), 0);
    CHECK_INT(pgr_source_upsert(s, &d, &src, &err), 0);
    CHECK_INT(pgr_author_upsert(s, src, 0, &ar, &a, NULL, &err), 0);
    CHECK_INT(pgr_author_upsert(s, src, 0, &br, &b, NULL, &err), 0);
    pgr_id t;
    CHECK_INT(pgr_topic_upsert(s, "arxiv", "cs.CL", "Computation and Language", &t, &err), 0);
    for (int i = 0; i < 6; i++) {
        char title[32], norm[32];
        snprintf(title, sizeof title, "Paper %d", i);
        snprintf(norm, sizeof norm, "paper %d", i);
        pgr_work_rec wr = {.title = title, .norm_title = norm, .year = 2020 + i % 2,
                           .cited_by_count = cites[i], .has_code = -1, .score = NAN};
        CHECK_INT(pgr_work_upsert(s, src, 0, &wr, &w, NULL, &err), 0);
        CHECK_INT(pgr_authorship_put(s, src, w, a, 1, "O. Ivanova", NULL, 0, &err), 0);
        if (i < 2)
            CHECK_INT(pgr_authorship_put(s, src, w, b, 2, "K. Mensah", NULL, 0, &err), 0);
        if (i < 3)
            CHECK_INT(pgr_work_topic_put(s, src, w, t, NAN, &err), 0);
    }
    CHECK_INT(pgr_metrics_recompute_dirty(s, &err), 0);
    CHECK_INT(pgr_commit(s, &err), 0);
    char key[32];
    snprintf(key, sizeof key, "A%lld", (long long)a);
    json_t *j = get(s, PGR_AUTHORS, key);
    CHECK(j);
    json_t *c = json_object_get(j, "computed");
    CHECK_INT(json_integer_value(json_object_get(c, "works_count")), 6);
    CHECK_INT(json_integer_value(json_object_get(c, "cited_by_count")), 30);
    CHECK_INT(json_integer_value(json_object_get(c, "h_index")), 4);
    CHECK_INT(json_integer_value(json_object_get(c, "i10_index")), 1);
    CHECK_INT(json_integer_value(json_object_get(c, "coauthor_count")), 1);
    json_t *share = json_array_get(json_object_get(c, "topic_shares"), 0);
    CHECK_NEAR(json_real_value(json_object_get(share, "share")), 0.5, 1e-12);
    CHECK_INT(json_integer_value(json_object_get(json_object_get(j, "summary_stats"), "h_index")), 4);
    json_t *years = json_object_get(j, "counts_by_year");
    CHECK_INT(json_array_size(years), 2);
    CHECK_INT(json_integer_value(json_object_get(json_array_get(years, 0), "year")), 2021);
    CHECK_INT(json_integer_value(json_object_get(json_array_get(years, 0), "works_count")), 3);
    json_decref(j);
    json_t *co;
    CHECK_INT(pgr_author_coauthors(s, key, 0, &co, &err), 0);
    CHECK_INT(json_array_size(co), 1);
    CHECK_INT(json_integer_value(json_object_get(json_array_get(co, 0), "count")), 2);
    json_decref(co);
    snprintf(key, sizeof key, "T%lld", (long long)t);
    j = get(s, PGR_TOPICS, key);
    CHECK(j);
    CHECK_INT(json_integer_value(json_object_get(j, "works_count")), 3);
    CHECK_INT(json_integer_value(json_object_get(j, "cited_by_count")), 23);
    json_decref(j);
    j = get(s, PGR_TOPICS, "arxiv:cs.CL");
    CHECK(j);
    json_decref(j);
    pgr_store_close(s);
    free(url);
}

/* ---------------------------------------------------------------- */
static gg_graph G; /* loaded once per backend for the list tests */
static pgr_store *GS;
static char *GURL;

static int load_big(void)
{
    if (GS)
        return 0;
    const char *why;
    GURL = gg_fresh_db(backend, "lists", &why);
    if (!GURL)
        return 1;
    pgr_err err = {0};
    if (pgr_store_open(GURL, &GS, &err) != 0) {
        fprintf(stderr, "    open: %s\n", err.msg);
        return -1;
    }
    gg_generate(&G, 400, 150, 42);
    if (gg_load(GS, &G, &err) != 0) {
        fprintf(stderr, "    load: %s\n", err.msg);
        return -1;
    }
    return 0;
}

static void unload_big(void)
{
    pgr_store_close(GS);
    GS = NULL;
    free(GURL);
    GURL = NULL;
    gg_free(&G);
}

#define NEED_BIG()                                                                           \
    do {                                                                                     \
        int r_ = load_big();                                                                 \
        if (r_ > 0)                                                                          \
            SKIP("%s unavailable", bname());                                                 \
        CHECK(r_ == 0);                                                                      \
    } while (0)

static long count_of(const pgr_query *q, pgr_err *err)
{
    json_t *j;
    if (pgr_list(GS, q, &j, err) != 0) {
        fprintf(stderr, "    list: %s\n", err->msg);
        return -1;
    }
    long n = (long)json_integer_value(json_object_get(json_object_get(j, "meta"), "count"));
    json_decref(j);
    return n;
}

static void test_filters(void)
{
    NEED_BIG();
    pgr_err err = {0};
    /* publication_year range 2018..2020 and type */
    long want = 0, want_type = 0, want_code = 0, want_notcode = 0, want_cites = 0, want_auth = 0,
         want_topic = 0, want_or = 0;
    char akey[32], tkey[32];
    snprintf(akey, sizeof akey, "A%lld", (long long)G.author_ids[3]);
    snprintf(tkey, sizeof tkey, "T%lld", (long long)G.topic_ids[2]);
    for (int i = 0; i < G.n_works; i++) {
        gg_work *w = &G.works[i];
        want += w->year >= 2018 && w->year <= 2020;
        want_type += !strcmp(w->type, "article") && w->year >= 2018 && w->year <= 2020;
        want_code += w->has_code == 1;
        want_notcode += w->has_code != 1;
        want_cites += gg_expected_cites(&G, i) > 50;
        want_or += w->year == 2016 || w->year == 2024;
        for (int k = 0; k < w->n_auth; k++)
            want_auth += w->auth[k] == 3;
        for (int k = 0; k < w->n_topics; k++)
            want_topic += w->topics[k] == 2;
    }
    const char *range[] = {"2018", "2020"}, *article[] = {"article"}, *yes[] = {"true"},
               *fifty[] = {"50"}, *auth[] = {akey}, *topic[] = {tkey}, *years[] = {"2016", "2024"};
    pgr_filter f_range = {"publication_year", PGR_OP_RANGE, range, 2};
    pgr_filter f_two[] = {{"publication_year", PGR_OP_RANGE, range, 2}, {"type", PGR_OP_EQ, article, 1}};
    pgr_query q = {.entity = PGR_WORKS, .filters = &f_range, .n_filters = 1};
    CHECK_INT(count_of(&q, &err), want);
    q.filters = f_two;
    q.n_filters = 2;
    CHECK_INT(count_of(&q, &err), want_type);
    pgr_filter f = {"has_code", PGR_OP_EQ, yes, 1};
    q.filters = &f;
    q.n_filters = 1;
    CHECK_INT(count_of(&q, &err), want_code);
    f.op = PGR_OP_NE;
    CHECK_INT(count_of(&q, &err), want_notcode);
    f = (pgr_filter){"cited_by_count", PGR_OP_GT, fifty, 1};
    CHECK_INT(count_of(&q, &err), want_cites);
    f = (pgr_filter){"authorships.author.id", PGR_OP_EQ, auth, 1};
    CHECK_INT(count_of(&q, &err), want_auth);
    f = (pgr_filter){"topics.id", PGR_OP_EQ, topic, 1};
    CHECK_INT(count_of(&q, &err), want_topic);
    f = (pgr_filter){"publication_year", PGR_OP_EQ, years, 2};
    CHECK_INT(count_of(&q, &err), want_or);
    const char *ax[] = {G.works[5].arxiv};
    f = (pgr_filter){"ids.arxiv", PGR_OP_EQ, ax, 1};
    CHECK_INT(count_of(&q, &err), 1);
    const char *missing[] = {"A999999"};
    f = (pgr_filter){"authorships.author.id", PGR_OP_EQ, missing, 1};
    CHECK_INT(count_of(&q, &err), 0);
    /* authors: works_count range */
    long want_a = 0;
    for (int a = 0; a < G.n_authors; a++) {
        int n = 0;
        for (int i = 0; i < G.n_works; i++)
            for (int k = 0; k < G.works[i].n_auth; k++)
                n += G.works[i].auth[k] == a;
        want_a += n >= 10;
    }
    const char *ten[] = {"10", ""};
    f = (pgr_filter){"works_count", PGR_OP_RANGE, ten, 2};
    q.entity = PGR_AUTHORS;
    CHECK_INT(count_of(&q, &err), want_a);
}

static void test_bad_queries(void)
{
    NEED_BIG();
    pgr_err err = {0};
    json_t *j = NULL;
    pgr_query q = {.entity = PGR_WORKS, .per_page = 201};
    CHECK(pgr_list(GS, &q, &j, &err) != 0 && err.code == PGR_EINVAL);
    CHECK(strstr(err.msg, "per_page"));
    q.per_page = -1;
    CHECK(pgr_list(GS, &q, &j, &err) != 0 && err.code == PGR_EINVAL);
    q.per_page = 0;
    const char *v[] = {"x"}, *bad[] = {"12abc"};
    pgr_filter f = {"no_such_field", PGR_OP_EQ, v, 1};
    q.filters = &f;
    q.n_filters = 1;
    CHECK(pgr_list(GS, &q, &j, &err) != 0 && err.code == PGR_EINVAL);
    CHECK(strstr(err.msg, "no_such_field"));
    f = (pgr_filter){"publication_year", PGR_OP_EQ, bad, 1};
    CHECK(pgr_list(GS, &q, &j, &err) != 0 && err.code == PGR_EINVAL);
    CHECK(strstr(err.msg, "publication_year"));
    f = (pgr_filter){"type", PGR_OP_GT, v, 1};
    CHECK(pgr_list(GS, &q, &j, &err) != 0 && err.code == PGR_EINVAL);
    q.n_filters = 0;
    q.cursor = "not-a-cursor";
    CHECK(pgr_list(GS, &q, &j, &err) != 0 && err.code == PGR_EINVAL);
    CHECK(strstr(err.msg, "cursor"));
    q.cursor = "WzEsMl0"; /* base64 of [1,2]: a well-formed JSON, not ours */
    CHECK(pgr_list(GS, &q, &j, &err) != 0 && err.code == PGR_EINVAL);
    q.cursor = NULL;
    pgr_sort so = {"relevance_score", 1};
    q.sorts = &so;
    q.n_sorts = 1;
    CHECK(pgr_list(GS, &q, &j, &err) != 0 && err.code == PGR_EINVAL);
    so.field = "nope";
    CHECK(pgr_list(GS, &q, &j, &err) != 0 && err.code == PGR_EINVAL);
    q.n_sorts = 0;
    q.search = "\"unbalanced";
    CHECK(pgr_list(GS, &q, &j, &err) != 0 && err.code == PGR_EINVAL);
    q.search = "NOT graph";
    CHECK(pgr_list(GS, &q, &j, &err) != 0 && err.code == PGR_EINVAL);
    q.search = "x'; DROP TABLE works; --";
    CHECK_INT(pgr_list(GS, &q, &j, &err), 0); /* just words */
    json_decref(j);
    q.search = NULL;
    const char *sel[] = {"title", "bogus"};
    q.select = sel;
    q.n_select = 2;
    CHECK(pgr_list(GS, &q, &j, &err) != 0 && err.code == PGR_EINVAL);
    CHECK(strstr(err.msg, "bogus"));
    q.n_select = 1;
    CHECK_INT(pgr_list(GS, &q, &j, &err), 0);
    json_t *r0 = json_array_get(json_object_get(j, "results"), 0);
    CHECK_INT(json_object_size(r0), 1);
    CHECK(json_object_get(r0, "title") != NULL);
    json_decref(j);
    q.select = NULL;
    q.group_by = "nope";
    CHECK(pgr_list(GS, &q, &j, &err) != 0 && err.code == PGR_EINVAL);
}

/* Sorted keyset paging visits every matching row once, in order. */
static void test_cursor_paging(void)
{
    NEED_BIG();
    pgr_err err = {0};
    pgr_sort sorts[] = {{"cited_by_count", 1}};
    pgr_query q = {.entity = PGR_WORKS, .sorts = sorts, .n_sorts = 1, .per_page = 37, .cursor = "*"};
    char *seen = calloc((size_t)G.n_works + 1, 1);
    long total = 0, prev = LONG_MAX;
    int pages = 0, ordered = 1, dup = 0;
    char cursor[1024];
    for (;;) {
        json_t *j;
        CHECK_MSG(pgr_list(GS, &q, &j, &err) == 0, "list: %s", err.msg);
        json_t *res = json_object_get(j, "results"), *r;
        size_t i;
        json_array_foreach(res, i, r)
        {
            long c = (long)json_integer_value(json_object_get(r, "cited_by_count"));
            if (c > prev)
                ordered = 0;
            prev = c;
            long id = atol(json_string_value(json_object_get(r, "id")) + 1);
            for (int w = 0; w < G.n_works; w++)
                if (G.works[w].id == id) {
                    dup |= seen[w];
                    seen[w] = 1;
                }
            total++;
        }
        pages++;
        json_t *nc = json_object_get(json_object_get(j, "meta"), "next_cursor");
        if (!json_is_string(nc)) {
            json_decref(j);
            break;
        }
        snprintf(cursor, sizeof cursor, "%s", json_string_value(nc));
        q.cursor = cursor;
        json_decref(j);
        if (pages > 100)
            break;
    }
    free(seen);
    CHECK_INT(total, G.n_works);
    CHECK_INT(pages, (G.n_works + 36) / 37);
    CHECK(ordered);
    CHECK(!dup);
    /* page mode agrees with cursor mode on page 2 */
    pgr_query p = q;
    p.cursor = NULL;
    p.page = 2;
    json_t *j;
    CHECK_INT(pgr_list(GS, &p, &j, &err), 0);
    CHECK_INT(json_integer_value(json_object_get(json_object_get(j, "meta"), "page")), 2);
    CHECK_INT(json_array_size(json_object_get(j, "results")), 37);
    json_decref(j);
    /* a text sort key pages too */
    pgr_sort by_name[] = {{"display_name", 0}};
    pgr_query a = {.entity = PGR_AUTHORS, .sorts = by_name, .n_sorts = 1, .per_page = 50, .cursor = "*"};
    long n = 0;
    for (int guard = 0; guard < 20; guard++) {
        CHECK_INT(pgr_list(GS, &a, &j, &err), 0);
        n += (long)json_array_size(json_object_get(j, "results"));
        json_t *nc = json_object_get(json_object_get(j, "meta"), "next_cursor");
        if (!json_is_string(nc)) {
            json_decref(j);
            break;
        }
        snprintf(cursor, sizeof cursor, "%s", json_string_value(nc));
        a.cursor = cursor;
        json_decref(j);
    }
    CHECK_INT(n, G.n_authors);
}

static void test_search(void)
{
    NEED_BIG();
    pgr_err err = {0};
    /* brute force: works whose title or abstract contains the word "adapter"
     * (case-blind, as a whole word) or whose author is named "Wu" */
    long want = 0, want_phrase = 0;
    for (int i = 0; i < G.n_works; i++) {
        gg_work *w = &G.works[i];
        char hay[700];
        snprintf(hay, sizeof hay, " %s %s ", w->title, i % 4 ? w->abstract : "");
        int hit = strstr(hay, " adapter ") != NULL;
        for (int k = 0; k < w->n_auth; k++)
            hit |= strstr(G.author_names[w->auth[k]], " Wu") != NULL;
        want += hit;
        want_phrase += strstr(hay, " graph neural ") != NULL;
    }
    pgr_query q = {.entity = PGR_WORKS, .search = "Adapter OR wu", .per_page = 200,
                   .hl_open = "[", .hl_close = "]"};
    json_t *j;
    CHECK_MSG(pgr_list(GS, &q, &j, &err) == 0, "%s", err.msg);
    CHECK_INT(json_integer_value(json_object_get(json_object_get(j, "meta"), "count")), want);
    json_t *r0 = json_array_get(json_object_get(j, "results"), 0);
    CHECK(json_is_real(json_object_get(r0, "relevance_score")));
    json_t *snip = json_object_get(r0, "snippet");
    const char *st = json_string_value(json_object_get(snip, "title"));
    const char *sa = json_string_value(json_object_get(snip, "abstract"));
    CHECK_MSG((st && strstr(st, "[adapter]")) || (sa && strstr(sa, "[adapter]")) ||
                  json_object_get(r0, "authorships"),
              "snippet: %s / %s", st ? st : "-", sa ? sa : "-");
    /* relevance descending */
    double prev = INFINITY;
    size_t i;
    json_t *r;
    int ordered = 1;
    json_array_foreach(json_object_get(j, "results"), i, r)
    {
        double v = json_real_value(json_object_get(r, "relevance_score"));
        ordered &= v <= prev;
        prev = v;
    }
    CHECK(ordered);
    json_decref(j);
    q.search = "\"graph neural\"";
    CHECK_INT(count_of(&q, &err), want_phrase);
    /* NOT excludes, prefix extends */
    q.search = "graph";
    long g_all = count_of(&q, &err);
    q.search = "graph -neural";
    long g_not = count_of(&q, &err);
    q.search = "graph neural";
    long g_and = count_of(&q, &err);
    CHECK(g_all > 0);
    CHECK_INT(g_not + g_and, g_all);
    q.search = "gra*";
    CHECK(count_of(&q, &err) >= g_all);
    /* keyset paging over relevance (a float key) visits every hit once */
    {
        pgr_query c = {.entity = PGR_WORKS, .search = "graph", .per_page = 7, .cursor = "*"};
        char cur[1024];
        json_t *seen = json_object();
        long rows = 0;
        for (int page = 0; page < 200; page++) {
            json_t *pj;
            CHECK_MSG(pgr_list(GS, &c, &pj, &err) == 0, "%s", err.msg);
            size_t k;
            json_t *r;
            json_array_foreach(json_object_get(pj, "results"), k, r)
            {
                json_object_set(seen, json_string_value(json_object_get(r, "id")), json_true());
                rows++;
            }
            json_t *nc = json_object_get(json_object_get(pj, "meta"), "next_cursor");
            int more = json_is_string(nc);
            if (more)
                snprintf(cur, sizeof cur, "%s", json_string_value(nc));
            json_decref(pj);
            if (!more)
                break;
            c.cursor = cur;
        }
        CHECK_INT(rows, g_all);
        CHECK_INT(json_object_size(seen), g_all);
        json_decref(seen);
    }
    /* folding: "muller" finds "Müller" in titles and author names */
    q.search = "muller";
    long m1 = count_of(&q, &err);
    q.search = "MÜLLER";
    CHECK_INT(count_of(&q, &err), m1);
    CHECK(m1 > 0);
    /* authors by name and by variant ("Z. Wu" style variants exist for every 5th) */
    char first_initial[64];
    snprintf(first_initial, sizeof first_initial, "%s", G.author_names[0]);
    pgr_query qa = {.entity = PGR_AUTHORS, .search = first_initial};
    CHECK(count_of(&qa, &err) >= 1);
    const char *dn[] = {"zzzznotaname"};
    pgr_filter f = {"display_name.search", PGR_OP_EQ, dn, 1};
    qa.search = NULL;
    qa.filters = &f;
    qa.n_filters = 1;
    CHECK_INT(count_of(&qa, &err), 0);
    /* topics by name words */
    pgr_query qt = {.entity = PGR_TOPICS, .search = "machine learn"};
    CHECK_INT(count_of(&qt, &err), 2);
}

/* Lowered list bounds: the count beyond the cap is an estimate near the
 * truth, and the ranking is not changed by it (every match is ranked: the
 * same page as without the cap). */
static void test_bounded_lists(void)
{
    NEED_BIG();
    pgr_err err = {0};
    pgr_query q = {.entity = PGR_WORKS, .search = "graph", .per_page = 20,
                   .select = (const char *[]){"id", "relevance_score"}, .n_select = 2};
    long all = count_of(&q, &err);
    CHECK(all > 60);
    json_t *ja = NULL, *jw = NULL;
    CHECK_MSG(pgr_list(GS, &q, &ja, &err) == 0, "%s", err.msg);
    pgr_list_limits(GS, 50, 0);
    CHECK_MSG(pgr_list(GS, &q, &jw, &err) == 0, "%s", err.msg);
    json_t *m = jw ? json_object_get(jw, "meta") : NULL;
    if (jw && ja) {
        long est = (long)json_integer_value(json_object_get(m, "count"));
        CHECK(json_is_false(json_object_get(m, "count_exact")));
        CHECK_MSG(est >= all / 2 && est <= all * 2, "estimate %ld for %ld matches", est, all);
        CHECK(json_equal(json_object_get(ja, "results"), json_object_get(jw, "results")));
        CHECK_INT(json_array_size(json_object_get(jw, "results")), 20);
    }
    /* under the cap: exact */
    pgr_list_limits(GS, 100000, 0);
    json_decref(jw);
    jw = NULL;
    CHECK_MSG(pgr_list(GS, &q, &jw, &err) == 0, "%s", err.msg);
    m = jw ? json_object_get(jw, "meta") : NULL;
    CHECK(json_is_true(json_object_get(m, "count_exact")));
    CHECK_INT(json_integer_value(json_object_get(m, "count")), all);
    pgr_list_limits(GS, 0, 0);
    json_decref(ja);
    json_decref(jw);
}

static void test_autocomplete_and_groups(void)
{
    NEED_BIG();
    pgr_err err = {0};
    json_t *j;
    CHECK_INT(pgr_autocomplete(GS, PGR_WORKS, "transf", &j, &err), 0);
    CHECK(json_array_size(j) >= 1 && json_array_size(j) <= 10);
    long prev = LONG_MAX;
    size_t i;
    json_t *r;
    json_array_foreach(j, i, r)
    {
        long c = (long)json_integer_value(json_object_get(r, "cited_by_count"));
        CHECK(c <= prev);
        prev = c;
        CHECK(json_is_string(json_object_get(r, "display_name")));
    }
    json_decref(j);
    CHECK_INT(pgr_autocomplete(GS, PGR_AUTHORS, "zheng", &j, &err), 0);
    json_array_foreach(j, i, r)
    CHECK(strstr(json_string_value(json_object_get(r, "display_name")), "Zhengxuan") != NULL);
    json_decref(j);
    CHECK_INT(pgr_autocomplete(GS, PGR_TOPICS, "comp", &j, &err), 0);
    CHECK_INT(json_array_size(j), 2); /* Computation and Language, Computer Vision */
    json_decref(j);
    CHECK_INT(pgr_autocomplete(GS, PGR_WORKS, "\"((", &j, &err), 0);
    CHECK_INT(json_array_size(j), 0);
    json_decref(j);
    /* group_by year: counts add up to all works */
    pgr_query q = {.entity = PGR_WORKS, .group_by = "publication_year", .per_page = 1};
    CHECK_INT(pgr_list(GS, &q, &j, &err), 0);
    long sum = 0, unknown = 0, want_unknown = 0;
    json_array_foreach(json_object_get(j, "group_by"), i, r)
    {
        sum += (long)json_integer_value(json_object_get(r, "count"));
        if (!strcmp(json_string_value(json_object_get(r, "key")), "unknown"))
            unknown = (long)json_integer_value(json_object_get(r, "count"));
    }
    for (int w = 0; w < G.n_works; w++)
        want_unknown += G.works[w].year == 0;
    CHECK_INT(sum, G.n_works);
    CHECK_INT(unknown, want_unknown);
    CHECK_INT(json_integer_value(json_object_get(json_object_get(j, "meta"), "groups_count")),
              json_array_size(json_object_get(j, "group_by")));
    json_decref(j);
    q.group_by = "topics.id";
    CHECK_INT(pgr_list(GS, &q, &j, &err), 0);
    json_t *g0 = json_array_get(json_object_get(j, "group_by"), 0);
    CHECK(json_is_string(json_object_get(g0, "key_display_name")));
    json_decref(j);
}

/* A node key "W12" of a generated entity. */
static void gkey(char *buf, char letter, pgr_id id)
{
    snprintf(buf, 32, "%c%lld", letter, (long long)id);
}

static long node_weight(json_t *g, const char *key)
{
    size_t i;
    json_t *n;
    json_array_foreach(json_object_get(g, "nodes"), i, n) if (!strcmp(
        json_string_value(json_object_get(n, "id")), key)) return (long)
        json_integer_value(json_object_get(n, "weight"));
    return -1;
}

static size_t count_type(json_t *arr, const char *type)
{
    size_t i, c = 0;
    json_t *n;
    json_array_foreach(arr, i, n) c += !strcmp(json_string_value(json_object_get(n, "type")), type);
    return c;
}

/* Under the caps the graph is the whole neighbourhood: at depth 1 the
 * author's works, every author on them (weights: shared works), their topics
 * (weights: works), an authorship edge per row, a co-author edge per
 * co-author, a topic edge per work topic. Checked against the generator's
 * lists (depth 2 under the caps: test_graph_caps). */
static void test_graph(void)
{
    NEED_BIG();
    pgr_err err = {0};
    char key[32];
    int checked1 = 0;
    for (int a = 0; a < G.n_authors; a++) {
        long *shared = calloc((size_t)G.n_authors, sizeof *shared);
        long *tcount = calloc((size_t)G.n_topics, sizeof *tcount);
        int n_works = 0, rows = 0, wtopics = 0;
        for (int w = 0; w < G.n_works; w++) {
            int has = 0;
            for (int i = 0; i < G.works[w].n_auth; i++)
                has |= G.works[w].auth[i] == a;
            if (!has)
                continue;
            n_works++;
            rows += G.works[w].n_auth;
            for (int i = 0; i < G.works[w].n_auth; i++)
                shared[G.works[w].auth[i]]++;
            for (int t = 0; t < G.works[w].n_topics; t++)
                tcount[G.works[w].topics[t]]++;
            wtopics += G.works[w].n_topics;
        }
        int n_co = 0, n_top = 0;
        for (int b = 0; b < G.n_authors; b++)
            n_co += b != a && shared[b] > 0;
        for (int t = 0; t < G.n_topics; t++)
            n_top += tcount[t] > 0;
        /* depth 1 on every author under the caps (the first 12, for time) */
        if (n_works > 0 && n_works <= PGR_GRAPH_MAX_WORKS && n_co <= PGR_GRAPH_MAX_COAUTHORS &&
            n_top <= PGR_GRAPH_MAX_TOPICS && checked1 < 12) {
            checked1++;
            json_t *g;
            gkey(key, 'A', G.author_ids[a]);
            CHECK_INT(pgr_author_graph(GS, key, 1, 0, &g, &err), 0);
            json_t *nodes = json_object_get(g, "nodes"), *edges = json_object_get(g, "edges");
            CHECK_INT(count_type(nodes, "work"), n_works);
            CHECK_INT(count_type(nodes, "author"), n_co + 1);
            CHECK_INT(count_type(nodes, "topic"), n_top);
            CHECK_INT(count_type(edges, "authorship"), rows);
            CHECK_INT(count_type(edges, "coauthor"), n_co);
            CHECK_INT(count_type(edges, "topic"), wtopics);
            CHECK(!json_is_true(json_object_get(g, "truncated")));
            char k[32];
            for (int w = 0; w < G.n_works; w++)
                for (int i = 0; i < G.works[w].n_auth; i++)
                    if (G.works[w].auth[i] == a) {
                        gkey(k, 'W', G.works[w].id);
                        CHECK_INT(node_weight(g, k), 1);
                    }
            for (int b = 0; b < G.n_authors; b++)
                if (shared[b]) {
                    gkey(k, 'A', G.author_ids[b]);
                    CHECK_INT(node_weight(g, k), shared[b]);
                }
            for (int t = 0; t < G.n_topics; t++)
                if (tcount[t]) {
                    gkey(k, 'T', G.topic_ids[t]);
                    CHECK_INT(node_weight(g, k), tcount[t]);
                }
            json_decref(g);
        }
        free(shared);
        free(tcount);
    }
    CHECK(checked1 >= 5);
    /* every edge joins two nodes of the graph; max_nodes keeps the author */
    json_t *g2, *capped, *g1;
    gkey(key, 'A', G.author_ids[5]);
    CHECK_INT(pgr_author_graph(GS, key, 2, 0, &g2, &err), 0);
    json_t *ids = json_object();
    size_t i;
    json_t *n, *e;
    json_array_foreach(json_object_get(g2, "nodes"), i, n)
        json_object_set(ids, json_string_value(json_object_get(n, "id")), json_true());
    int dangling = 0;
    json_array_foreach(json_object_get(g2, "edges"), i, e)
        dangling += !json_object_get(ids, json_string_value(json_object_get(e, "source"))) ||
                    !json_object_get(ids, json_string_value(json_object_get(e, "target")));
    CHECK_INT(dangling, 0);
    json_decref(ids);
    CHECK_INT(pgr_author_graph(GS, key, 2, 10, &capped, &err), 0);
    CHECK_INT(json_array_size(json_object_get(capped, "nodes")), 10);
    CHECK(json_is_true(json_object_get(capped, "truncated")));
    CHECK(node_weight(capped, key) > 0);
    json_decref(capped);
    json_decref(g2);
    CHECK(pgr_author_graph(GS, key, 3, 0, &g1, &err) != 0);
}

/* The caps bind on an author with 150 works, 150 co-authors and 40 topics:
 * the most cited works, the co-authors sharing the most of them, the most
 * frequent topics (PGR_GRAPH_MAX_*); depth 2 expands at most PGR_GRAPH_EXPAND
 * co-authors with at most PGR_GRAPH_EXPAND_WORKS works each. */
static void test_graph_caps(void)
{
    pgr_store *s;
    char *url;
    pgr_err err = {0};
    OPEN_FRESH(s, url, "graphcap");
    pgr_id src, p, w, t[40];
    pgr_source_doc d = {.uri = "graphcap", .sha256 = "00"};
    pgr_author_rec pr = {.display_name = "Prolific Person", .norm_name = "prolific person"};
    CHECK_INT(pgr_begin(s, &err), 0);
    CHECK_INT(pgr_source_upsert(s, &d, &src, &err), 0);
    CHECK_INT(pgr_author_upsert(s, src, 0, &pr, &p, NULL, &err), 0);
    for (int i = 0; i < 40; i++) {
        char code[16], name[32];
        snprintf(code, sizeof code, "x.%02d", i);
        snprintf(name, sizeof name, "Topic %02d", i);
        CHECK_INT(pgr_topic_upsert(s, "arxiv", code, name, &t[i], &err), 0);
    }
    pgr_id co[150];
    for (int i = 0; i < 150; i++) {
        char title[64], norm[64], name[48], nname[48];
        snprintf(name, sizeof name, "Helper Number%03d", i);
        snprintf(nname, sizeof nname, "helper number%03d", i);
        pgr_author_rec cr = {.display_name = name, .norm_name = nname};
        CHECK_INT(pgr_author_upsert(s, src, 0, &cr, &co[i], NULL, &err), 0);
        snprintf(title, sizeof title, "Capped work %03d", i);
        snprintf(norm, sizeof norm, "capped work %03d", i);
        pgr_work_rec wr = {.title = title, .norm_title = norm, .year = 2000 + i % 20,
                           .cited_by_count = i, .score = NAN};
        CHECK_INT(pgr_work_upsert(s, src, 0, &wr, &w, NULL, &err), 0);
        CHECK_INT(pgr_authorship_put(s, src, w, p, 1, "P. Person", NULL, 0, &err), 0);
        CHECK_INT(pgr_authorship_put(s, src, w, co[i], 2, name, NULL, 0, &err), 0);
        CHECK_INT(pgr_work_topic_put(s, src, w, t[i % 40], 1.0, &err), 0);
        /* the co-authors expanded first have more works than an expansion takes */
        for (int j = 0; i >= 150 - PGR_GRAPH_MAX_WORKS && i < 150 - PGR_GRAPH_MAX_WORKS + 12 &&
                        j < PGR_GRAPH_EXPAND_WORKS + 5;
             j++) {
            snprintf(title, sizeof title, "Own work %03d-%02d", i, j);
            snprintf(norm, sizeof norm, "own work %03d-%02d", i, j);
            pgr_work_rec own = {.title = title, .norm_title = norm, .year = 2010, .score = NAN};
            CHECK_INT(pgr_work_upsert(s, src, 0, &own, &w, NULL, &err), 0);
            CHECK_INT(pgr_authorship_put(s, src, w, co[i], 1, name, NULL, 0, &err), 0);
        }
    }
    /* a small neighbourhood, nothing cut: X wrote x1 (X, Y), x2 (X, Y, Z),
     * x3 (X); Y also y1 (Y, U), y2 (Y, V, U); Z also z1 (Z, W) */
    static const char *const people[] = {"X", "Y", "Z", "U", "V", "W"};
    static const int8_t papers[6][4] = {{0, 1, -1}, {0, 1, 2, -1}, {0, -1},
                                        {1, 3, -1}, {1, 4, 3, -1}, {2, 5, -1}};
    pgr_id pid[6], wid[6];
    for (int i = 0; i < 6; i++) {
        char name[32], nname[32];
        snprintf(name, sizeof name, "Small %s", people[i]);
        snprintf(nname, sizeof nname, "small %c", people[i][0] - 'A' + 'a');
        pgr_author_rec r = {.display_name = name, .norm_name = nname};
        CHECK_INT(pgr_author_upsert(s, src, 0, &r, &pid[i], NULL, &err), 0);
    }
    for (int i = 0; i < 6; i++) {
        char title[32];
        snprintf(title, sizeof title, "small paper %d", i);
        pgr_work_rec wr = {.title = title, .norm_title = title, .year = 2020, .score = NAN};
        CHECK_INT(pgr_work_upsert(s, src, 0, &wr, &wid[i], NULL, &err), 0);
        for (int k = 0; papers[i][k] >= 0; k++)
            CHECK_INT(pgr_authorship_put(s, src, wid[i], pid[papers[i][k]], k + 1, "x", NULL, 0,
                                         &err),
                      0);
    }
    CHECK_INT(pgr_metrics_recompute_dirty(s, &err), 0);
    CHECK_INT(pgr_commit(s, &err), 0);
    char key[32];
    json_t *g;
    gkey(key, 'A', pid[0]);
    CHECK_INT(pgr_author_graph(s, key, 1, 0, &g, &err), 0);
    CHECK_INT(count_type(json_object_get(g, "nodes"), "author"), 3);
    CHECK_INT(count_type(json_object_get(g, "nodes"), "work"), 3);
    json_decref(g);
    CHECK_INT(pgr_author_graph(s, key, 2, 0, &g, &err), 0);
    CHECK_INT(count_type(json_object_get(g, "nodes"), "author"), 6);
    CHECK_INT(count_type(json_object_get(g, "nodes"), "work"), 6);
    CHECK(!json_is_true(json_object_get(g, "truncated")));
    {
        char k[32];
        for (int i = 0; i < 6; i++) {
            gkey(k, 'W', wid[i]);
            CHECK_MSG(node_weight(g, k) > 0, "depth 2 lacks paper %d", i);
            gkey(k, 'A', pid[i]);
            CHECK_MSG(node_weight(g, k) > 0, "depth 2 lacks %s", people[i]);
        }
        /* Y reached on x1, x2 from X, on x1, x2, y1, y2 from itself, on x2
         * from Z; x2 is a work of all three expansions */
        gkey(k, 'A', pid[1]);
        CHECK_INT(node_weight(g, k), 7);
        gkey(k, 'W', wid[1]);
        CHECK_INT(node_weight(g, k), 3);
    }
    json_decref(g);
    gkey(key, 'A', p);
    CHECK_INT(pgr_author_graph(s, key, 1, 0, &g, &err), 0);
    json_t *nodes = json_object_get(g, "nodes");
    CHECK_INT(count_type(nodes, "work"), PGR_GRAPH_MAX_WORKS);
    CHECK_INT(count_type(nodes, "author"), PGR_GRAPH_MAX_COAUTHORS + 1);
    CHECK_INT(count_type(nodes, "topic"), PGR_GRAPH_MAX_TOPICS);
    CHECK(json_is_true(json_object_get(g, "truncated")));
    /* the most cited: the last PGR_GRAPH_MAX_WORKS works */
    char lowest[32];
    snprintf(lowest, sizeof lowest, "Capped work %03d", 150 - PGR_GRAPH_MAX_WORKS);
    size_t i;
    json_t *n;
    int low = 0;
    json_array_foreach(nodes, i, n) if (!strcmp(json_string_value(json_object_get(n, "type")),
                                                "work")) low +=
        strcmp(json_string_value(json_object_get(n, "label")), lowest) < 0;
    CHECK_INT(low, 0);
    /* each kept co-author shares one kept work: 100 + 100 authorship edges */
    CHECK_INT(count_type(json_object_get(g, "edges"), "authorship"), 2 * PGR_GRAPH_MAX_WORKS);
    json_decref(g);
    CHECK_INT(pgr_author_graph(s, key, 2, 0, &g, &err), 0);
    nodes = json_object_get(g, "nodes");
    size_t works = count_type(nodes, "work");
    CHECK(works > PGR_GRAPH_MAX_WORKS);
    CHECK(works <= PGR_GRAPH_MAX_WORKS + PGR_GRAPH_EXPAND * PGR_GRAPH_EXPAND_WORKS);
    CHECK(json_is_true(json_object_get(g, "truncated")));
    json_decref(g);
    CHECK_INT(pgr_author_graph(s, key, 2, 25, &g, &err), 0);
    CHECK_INT(json_array_size(json_object_get(g, "nodes")), 25);
    CHECK(node_weight(g, key) > 0);
    json_decref(g);
    pgr_store_close(s);
    free(url);
}

/* Facets over the newest matches: with a bound above the matches they equal
 * group_by over every match; below it they count exactly the `top`
 * highest-id matches (checked against the generator's works). */
static void test_facets(void)
{
    NEED_BIG();
    pgr_err err = {0};
    static const char *const keys[] = {"publication_year", "topics.id", "has_code"};
    /* complete: equal to pgr_list's group_by, for a search and a filter */
    static const char *const cv[] = {"true"};
    pgr_filter code = {"has_code", PGR_OP_EQ, cv, 1};
    pgr_query qs[2] = {{.entity = PGR_WORKS, .search = "graph", .per_page = 1},
                       {.entity = PGR_WORKS, .filters = &code, .n_filters = 1, .per_page = 1}};
    for (int k = 0; k < 2; k++) {
        json_t *f = NULL;
        CHECK_INT(pgr_list_facets(GS, &qs[k], 100000, &f, &err), 0);
        CHECK(json_integer_value(json_object_get(f, "considered")) > 0);
        for (size_t i = 0; i < 3; i++) {
            pgr_query g = qs[k];
            g.group_by = keys[i];
            json_t *j = NULL;
            CHECK_INT(pgr_list(GS, &g, &j, &err), 0);
            /* the same groups and counts; order within equal counts may differ */
            json_t *want = json_object(), *e;
            size_t x;
            json_array_foreach(json_object_get(j, "group_by"), x, e)
                json_object_set(want, json_string_value(json_object_get(e, "key")),
                                json_object_get(e, "count"));
            json_t *got = json_object();
            json_array_foreach(json_object_get(f, keys[i]), x, e)
                json_object_set(got, json_string_value(json_object_get(e, "key")),
                                json_object_get(e, "count"));
            CHECK_MSG(json_equal(want, got), "facet %s of query %d differs from group_by",
                      keys[i], k);
            json_decref(want);
            json_decref(got);
            json_decref(j);
        }
        json_decref(f);
    }
    /* bounded: the 25 highest-id works with code, counted by year by hand */
    json_t *f = NULL;
    CHECK_INT(pgr_list_facets(GS, &qs[1], 25, &f, &err), 0);
    CHECK_INT(json_integer_value(json_object_get(f, "considered")), 25);
    long want_years[4000] = {0}, unknown = 0;
    int taken = 0;
    pgr_id last = INT64_MAX;
    while (taken < 25) { /* the next highest store id with code */
        int best = -1;
        for (int w = 0; w < G.n_works; w++)
            if (G.works[w].has_code == 1 && G.works[w].id < last &&
                (best < 0 || G.works[w].id > G.works[best].id))
                best = w;
        if (best < 0)
            break;
        last = G.works[best].id;
        taken++;
        if (G.works[best].year > 0 && G.works[best].year < 4000)
            want_years[G.works[best].year]++;
        else
            unknown++;
    }
    CHECK_INT(taken, 25);
    size_t x;
    json_t *e;
    long sum = 0;
    int bad = 0;
    json_array_foreach(json_object_get(f, "publication_year"), x, e)
    {
        const char *k = json_string_value(json_object_get(e, "key"));
        long c = (long)json_integer_value(json_object_get(e, "count"));
        sum += c;
        bad += !strcmp(k, "unknown") ? c != unknown : c != want_years[atoi(k)];
    }
    CHECK_INT(sum, 25);
    CHECK_INT(bad, 0);
    json_decref(f);
    CHECK(pgr_list_facets(GS, &qs[1], 0, &f, &err) != 0);
    pgr_query authors = {.entity = PGR_AUTHORS};
    CHECK(pgr_list_facets(GS, &authors, 10, &f, &err) != 0);
}

static int same_str(const char *a, const char *b)
{
    return (!a && !b) || (a && b && !strcmp(a, b));
}

/* The brief page equals the JSON page field by field: ids, order, title,
 * year, citations, venue, authors (id, name) and topics (id, name). */
static int brief_equals(const pgr_work_brief *b, size_t n, json_t *results)
{
    if (n != json_array_size(results))
        return 0;
    for (size_t i = 0; i < n; i++) {
        json_t *w = json_array_get(results, i);
        char id[32];
        snprintf(id, sizeof id, "W%lld", (long long)b[i].id);
        json_t *py = json_object_get(w, "publication_year");
        json_t *src = json_object_get(json_object_get(w, "primary_location"), "source");
        if (!same_str(id, json_string_value(json_object_get(w, "id"))) ||
            !same_str(b[i].title, json_string_value(json_object_get(w, "display_name"))) ||
            b[i].year != (json_is_integer(py) ? json_integer_value(py) : 0) ||
            b[i].cited_by_count != json_integer_value(json_object_get(w, "cited_by_count")) ||
            !same_str(b[i].venue, json_string_value(json_object_get(src, "display_name"))))
            return 0;
        json_t *as = json_object_get(w, "authorships"), *ts = json_object_get(w, "topics");
        if (b[i].n_authors != json_array_size(as) || b[i].n_topics != json_array_size(ts))
            return 0;
        for (size_t k = 0; k < b[i].n_authors; k++) {
            json_t *a = json_array_get(as, k), *au = json_object_get(a, "author");
            const char *name = json_string_value(json_object_get(au, "display_name"));
            snprintf(id, sizeof id, "A%lld", (long long)b[i].authors[k].id);
            if (!same_str(id, json_string_value(json_object_get(au, "id"))) ||
                !same_str(b[i].authors[k].name,
                          name ? name : json_string_value(json_object_get(a, "raw_author_name"))))
                return 0;
        }
        for (size_t k = 0; k < b[i].n_topics; k++) {
            json_t *t = json_array_get(ts, k);
            snprintf(id, sizeof id, "T%lld", (long long)b[i].topics[k].id);
            if (!same_str(id, json_string_value(json_object_get(t, "id"))) ||
                !same_str(b[i].topics[k].name,
                          json_string_value(json_object_get(t, "display_name"))))
                return 0;
        }
    }
    return 1;
}

/* The profile page's reads: an author's works page equals the list filtered
 * by the author (same order, fields and count, every sort, several pages),
 * and co-authors equal a brute-force count over the generated works. */
static void test_author_page_reads(void)
{
    NEED_BIG();
    pgr_err err = {0};
    static const pgr_sort by_cites[] = {{"cited_by_count", 1}, {"publication_date", 1}};
    static const pgr_sort by_date[] = {{"publication_date", 1}};
    static const pgr_sort by_title[] = {{"display_name", 0}, {"publication_date", 1}};
    static const struct {
        const pgr_sort *s;
        size_t n;
    } sorts[] = {{by_cites, 2}, {by_date, 1}, {by_title, 2}};
    static const char *const fields[] = {"id", "display_name", "publication_year",
                                         "cited_by_count", "authorships", "topics",
                                         "primary_location"};
    int compared = 0, mismatched = 0;
    long *shared = calloc((size_t)G.n_authors, sizeof *shared);
    CHECK(shared != NULL);
    for (int a = 0; a < G.n_authors && shared; a += 13) {
        char key[32];
        snprintf(key, sizeof key, "A%lld", (long long)G.author_ids[a]);
        for (size_t k = 0; k < sizeof sorts / sizeof sorts[0]; k++)
            for (int page = 1; page <= 3; page++) {
                const char *fv[1] = {key};
                pgr_filter f = {"authorships.author.id", PGR_OP_EQ, fv, 1};
                pgr_query q = {.entity = PGR_WORKS, .filters = &f, .n_filters = 1,
                               .sorts = sorts[k].s, .n_sorts = sorts[k].n, .per_page = 3,
                               .page = page, .select = fields, .n_select = 7};
                json_t *want = NULL, *got = NULL;
                CHECK_INT(pgr_list(GS, &q, &want, &err), 0);
                CHECK_INT(pgr_author_works(GS, key, sorts[k].s, sorts[k].n, page, 3, fields, 7,
                                           &got, &err),
                          0);
                compared++;
                /* the page's plain rows: the same page */
                pgr_arena arena = {0};
                pgr_work_brief *br = NULL;
                size_t nbr = 0;
                int64_t bcount = -1;
                json_t *cby = NULL, *full = NULL;
                CHECK_INT(pgr_author_works_brief(GS, key, sorts[k].s, sorts[k].n, page, 3, &arena,
                                                 &br, &nbr, &bcount, &cby, &err),
                          0);
                /* counts by year from the page's pass equal pgr_get's */
                CHECK_INT(pgr_get(GS, PGR_AUTHORS, key, NULL, 0, &full, &err), 0);
                CHECK(json_array_size(cby) > 0);
                if (!json_equal(cby, json_object_get(full, "counts_by_year"))) {
                    mismatched++;
                    fprintf(stderr, "    %s: counts_by_year differ\n", key);
                }
                json_decref(cby);
                json_decref(full);
                if (!brief_equals(br, nbr, json_object_get(got, "results")) ||
                    bcount != json_integer_value(
                                  json_object_get(json_object_get(got, "meta"), "count"))) {
                    mismatched++;
                    fprintf(stderr, "    %s sort %zu page %d: brief differs\n", key, k, page);
                }
                pgr_arena_free(&arena);
                if (!json_equal(json_object_get(want, "results"), json_object_get(got, "results")) ||
                    json_integer_value(json_object_get(json_object_get(want, "meta"), "count")) !=
                        json_integer_value(json_object_get(json_object_get(got, "meta"), "count"))) {
                    mismatched++;
                    fprintf(stderr, "    %s sort %zu page %d differs from pgr_list\n", key, k, page);
                }
                json_decref(want);
                json_decref(got);
            }
        /* co-authors: shared works counted from the generator's own lists */
        memset(shared, 0, (size_t)G.n_authors * sizeof *shared);
        long distinct = 0;
        for (int w = 0; w < G.n_works; w++) {
            int has = 0;
            for (int i = 0; i < G.works[w].n_auth; i++)
                has |= G.works[w].auth[i] == a;
            for (int i = 0; has && i < G.works[w].n_auth; i++)
                if (G.works[w].auth[i] != a)
                    distinct += shared[G.works[w].auth[i]]++ == 0;
        }
        json_t *all = NULL, *top = NULL;
        CHECK_INT(pgr_author_coauthors(GS, key, 0, &all, &err), 0);
        CHECK_INT(pgr_author_coauthors(GS, key, 3, &top, &err), 0);
        CHECK_INT(json_array_size(all), distinct);
        size_t i;
        json_t *c;
        long prev = LONG_MAX;
        json_array_foreach(all, i, c)
        {
            const char *id = json_string_value(json_object_get(c, "id"));
            long n = (long)json_integer_value(json_object_get(c, "count"));
            int idx = -1;
            for (int b = 0; b < G.n_authors && id; b++)
                if (G.author_ids[b] == atoll(id + 1))
                    idx = b;
            CHECK(idx >= 0 && shared[idx] == n);
            CHECK(n <= prev); /* most shared first */
            prev = n;
        }
        /* the top 3 are the first 3 of the whole list (ties cut by name alike) */
        CHECK_INT(json_array_size(top), distinct < 3 ? distinct : 3);
        for (i = 0; i < json_array_size(top); i++)
            CHECK(json_equal(json_array_get(top, i), json_array_get(all, i)));
        json_decref(all);
        json_decref(top);
    }
    free(shared);
    CHECK(compared > 30);
    CHECK_INT(mismatched, 0);
    json_t *j = NULL;
    CHECK(pgr_author_works(GS, "A999999", by_date, 1, 1, 10, NULL, 0, &j, &err) != 0);
    CHECK_INT(err.code, PGR_ENOTFOUND);
    static const pgr_sort bad[] = {{"works_count", 1}};
    CHECK(pgr_author_works(GS, "A1", bad, 1, 1, 10, NULL, 0, &j, &err) != 0);
    CHECK_INT(err.code, PGR_EINVAL);
    CHECK(pgr_author_works(GS, "A1", by_date, 1, 1, 0, NULL, 0, &j, &err) != 0);
    pgr_arena arena = {0};
    pgr_work_brief *br = NULL;
    size_t nbr = 0;
    int64_t bcount = 0;
    json_t *cby = NULL;
    CHECK(pgr_author_works_brief(GS, "A999999", by_date, 1, 1, 10, &arena, &br, &nbr, &bcount,
                                 &cby, &err) != 0);
    CHECK_INT(err.code, PGR_ENOTFOUND);
    CHECK(cby == NULL);
    CHECK(pgr_author_works_brief(GS, "A1", bad, 1, 1, 10, &arena, &br, &nbr, &bcount, NULL,
                                 &err) != 0);
    CHECK_INT(err.code, PGR_EINVAL);
    pgr_arena_free(&arena);
}

/* An author with 500 works reads in well under 10 ms. */
static void test_author_read_speed(void)
{
    pgr_store *s;
    char *url;
    pgr_err err = {0};
    OPEN_FRESH(s, url, "speed");
    pgr_id src, a, w;
    pgr_source_doc d = {.uri = "speed", .sha256 = "00"};
    pgr_author_rec ar = {.display_name = "Prolific Author", .norm_name = "prolific author"};
    CHECK_INT(pgr_begin(s, &err), 0);
    CHECK_INT(pgr_source_upsert(s, &d, &src, &err), 0);
    CHECK_INT(pgr_author_upsert(s, src, 0, &ar, &a, NULL, &err), 0);
    pgr_id t;
    CHECK_INT(pgr_topic_upsert(s, "arxiv", "cs.LG", "Machine Learning", &t, &err), 0);
    uint64_t t0 = pgr_now_us();
    for (int i = 0; i < 500; i++) {
        char title[64], norm[64];
        snprintf(title, sizeof title, "Work number %d on learning", i);
        snprintf(norm, sizeof norm, "work number %d on learning", i);
        pgr_work_rec wr = {.title = title, .norm_title = norm, .year = 2000 + i % 26,
                           .cited_by_count = i, .has_code = 1, .score = NAN,
                           .abstract = "An abstract of moderate length about learning."};
        CHECK_INT(pgr_work_upsert(s, src, 0, &wr, &w, NULL, &err), 0);
        CHECK_INT(pgr_authorship_put(s, src, w, a, 1, "P. Author", NULL, 0, &err), 0);
        CHECK_INT(pgr_work_topic_put(s, src, w, t, 1.0, &err), 0);
    }
    CHECK_INT(pgr_metrics_recompute_dirty(s, &err), 0);
    CHECK_INT(pgr_commit(s, &err), 0);
    uint64_t t1 = pgr_now_us();
    char key[32];
    snprintf(key, sizeof key, "A%lld", (long long)a);
    uint64_t best = UINT64_MAX;
    for (int r = 0; r < 7; r++) {
        uint64_t s0 = pgr_now_us();
        json_t *j = get(s, PGR_AUTHORS, key);
        uint64_t dt = pgr_now_us() - s0;
        CHECK(j);
        CHECK_INT(json_integer_value(json_object_get(j, "works_count")), 500);
        json_decref(j);
        if (dt < best)
            best = dt;
    }
    fprintf(stderr, "    %s: 500 works written in %.1f ms; author read best of 7: %.2f ms\n",
            bname(), (t1 - t0) / 1000.0, best / 1000.0);
    /* SQLite (the embedded default) must stay well under 10 ms. PostgreSQL
     * pays a loopback round trip per statement, which on these shared,
     * overloaded test machines alone can add up to 10 ms: its bound is loose. */
    uint64_t limit = backend == GG_SQLITE ? 10000 : 50000;
    CHECK_MSG(best < limit, "author read took %.2f ms", best / 1000.0);
    pgr_store_close(s);
    free(url);
}

/* ---------------------------------------------------------------- */
/* Killing the process in the middle of a write transaction leaves the
 * database as it was before that transaction. */
static void test_crash_in_transaction(void)
{
    pgr_store *s;
    char *url;
    pgr_err err = {0};
    OPEN_FRESH(s, url, "crash");
    pgr_id src, w;
    pgr_source_doc d = {.uri = "before", .sha256 = "00"};
    pgr_work_rec wr = {.title = "Committed", .norm_title = "committed", .year = 2020,
                       .cited_by_count = -1, .has_code = -1, .score = NAN};
    CHECK_INT(pgr_source_upsert(s, &d, &src, &err), 0);
    CHECK_INT(pgr_work_upsert(s, src, 0, &wr, &w, NULL, &err), 0);
    pgr_store_close(s);
    int fds[2];
    CHECK_INT(pipe(fds), 0);
    fflush(NULL);
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        close(fds[0]);
        pgr_store *c;
        pgr_err e2;
        if (pgr_store_open(url, &c, &e2) != 0 || pgr_begin(c, &e2) != 0)
            _exit(3);
        pgr_id cs, cw;
        pgr_source_doc cd = {.uri = "during", .sha256 = "11"};
        pgr_work_rec cr = {.title = "Uncommitted", .norm_title = "uncommitted", .year = 2021,
                           .cited_by_count = -1, .has_code = -1, .score = NAN};
        wr.title = "Changed";
        for (int i = 0; i < 200; i++) { /* enough writes to spill pages to the WAL */
            char t[32], n[32];
            snprintf(t, sizeof t, "Uncommitted %d", i);
            snprintf(n, sizeof n, "uncommitted %d", i);
            cr.title = t;
            cr.norm_title = n;
            if (pgr_source_upsert(c, &cd, &cs, &e2) != 0 || pgr_work_upsert(c, cs, 0, &cr, &cw, NULL, &e2) != 0)
                _exit(4);
        }
        if (pgr_work_upsert(c, cs, w, &wr, &cw, NULL, &e2) != 0)
            _exit(5);
        if (write(fds[1], "w", 1) != 1)
            _exit(6);
        for (;;)
            pause(); /* killed here, mid-transaction */
    }
    close(fds[1]);
    char byte = 0;
    ssize_t got = read(fds[0], &byte, 1);
    close(fds[0]);
    kill(pid, SIGKILL);
    int status;
    waitpid(pid, &status, 0);
    CHECK_MSG(got == 1 && byte == 'w', "child did not reach the write (status %d)", status);
    CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
    CHECK_INT(pgr_store_open(url, &s, &err), 0);
    json_t *j;
    pgr_query q = {.entity = PGR_WORKS};
    CHECK_INT(pgr_list(s, &q, &j, &err), 0);
    CHECK_INT(json_integer_value(json_object_get(json_object_get(j, "meta"), "count")), 1);
    json_decref(j);
    char key[32];
    snprintf(key, sizeof key, "W%lld", (long long)w);
    j = get(s, PGR_WORKS, key);
    CHECK(j);
    CHECK_STR(json_string_value(json_object_get(j, "title")), "Committed");
    json_decref(j);
    q.search = "uncommitted";
    CHECK_INT(pgr_list(s, &q, &j, &err), 0);
    CHECK_INT(json_integer_value(json_object_get(json_object_get(j, "meta"), "count")), 0);
    json_decref(j);
    pgr_id found;
    CHECK_INT(pgr_source_find(s, "during", &found, NULL, &err), 0);
    CHECK_INT(found, 0);
    /* and the store still writes */
    CHECK_INT(pgr_work_upsert(s, src, w, &wr, &w, NULL, &err), 0);
    pgr_store_close(s);
    free(url);
}

static void test_run_lock_and_version(void)
{
    pgr_store *s, *t;
    char *url;
    pgr_err err = {0};
    OPEN_FRESH(s, url, "lock");
    CHECK_INT(pgr_store_open(url, &t, &err), 0);
    CHECK_INT(pgr_run_lock(s, 0, &err), 0);
    CHECK(pgr_run_lock(t, 0, &err) != 0);
    CHECK_INT(err.code, PGR_EBUSY);
    pgr_run_unlock(s);
    CHECK_INT(pgr_run_lock(t, 0, &err), 0);
    pgr_run_unlock(t);
    int64_t v0, v1;
    CHECK_INT(pgr_data_version(s, &v0, &err), 0);
    pgr_id r;
    CHECK_INT(pgr_run_start(s, "test", &r, &err), 0);
    CHECK_INT(pgr_run_finish(s, r, "ok", "{\"files\":1}", &err), 0);
    pgr_id src;
    pgr_source_doc d = {.uri = "v", .sha256 = "00"};
    CHECK_INT(pgr_source_upsert(s, &d, &src, &err), 0);
    CHECK_INT(pgr_data_version(t, &v1, &err), 0);
    CHECK(v1 > v0);
    CHECK(pgr_commit(s, &err) != 0); /* no transaction */
    CHECK_INT(pgr_begin(s, &err), 0);
    CHECK(pgr_begin(s, &err) != 0); /* no nesting */
    CHECK_INT(pgr_rollback(s, &err), 0);
    pgr_adapter_rec ad = {.author = 0, .method = "lora", .mode = "prefill", .rank = 16, .path = "x"};
    pgr_id aid;
    CHECK(pgr_adapter_add(s, &ad, &aid, &err) != 0);
    json_t *st;
    CHECK_INT(pgr_stats(s, &st, &err), 0);
    CHECK_INT(json_integer_value(json_object_get(st, "source_documents")), 1);
    json_decref(st);
    pgr_store_close(t);
    pgr_store_close(s);
    free(url);
}

#define BOTH(fn)                                                                             \
    static void fn##_sqlite(void)                                                            \
    {                                                                                        \
        backend = GG_SQLITE;                                                                 \
        fn();                                                                                \
    }                                                                                        \
    static void fn##_postgres(void)                                                          \
    {                                                                                        \
        backend = GG_PG;                                                                     \
        fn();                                                                                \
    }
BOTH(test_migrate)
BOTH(test_open_errors)
BOTH(test_work_identity)
BOTH(test_provenance)
BOTH(test_merge)
BOTH(test_metrics)
BOTH(test_filters)
BOTH(test_bad_queries)
BOTH(test_cursor_paging)
BOTH(test_search)
BOTH(test_bounded_lists)
BOTH(test_autocomplete_and_groups)
BOTH(test_graph)
BOTH(test_facets)
BOTH(test_graph_caps)
BOTH(test_author_page_reads)
BOTH(test_author_read_speed)
BOTH(test_crash_in_transaction)
BOTH(test_run_lock_and_version)

int main(void)
{
#define SUITE(b)                                                                             \
    RUN(test_migrate_##b);                                                                   \
    RUN(test_open_errors_##b);                                                               \
    RUN(test_work_identity_##b);                                                             \
    RUN(test_provenance_##b);                                                                \
    RUN(test_merge_##b);                                                                     \
    RUN(test_metrics_##b);                                                                   \
    RUN(test_filters_##b);                                                                   \
    RUN(test_bad_queries_##b);                                                               \
    RUN(test_cursor_paging_##b);                                                             \
    RUN(test_search_##b);                                                                    \
    RUN(test_bounded_lists_##b);                                                             \
    RUN(test_autocomplete_and_groups_##b);                                                   \
    RUN(test_graph_##b);                                                                     \
    RUN(test_facets_##b);                                                                    \
    RUN(test_graph_caps_##b);                                                                \
    RUN(test_author_page_reads_##b);                                                         \
    unload_big();                                                                            \
    RUN(test_author_read_speed_##b);                                                         \
    RUN(test_crash_in_transaction_##b);                                                      \
    RUN(test_run_lock_and_version_##b);
    SUITE(sqlite)
    SUITE(postgres)
    gg_cleanup();
    return check_summary("test_store");
}
