/* The top-k search path (graph/search_topk.c) against ranking every match:
 * on a generated graph (bench gen's generator) with short lists, so that
 * floors, truncated lists, rare terms and rewritten works all occur, every
 * query must return exactly the pages (ids, order, relevance_score) that
 * ranking every match returns, and the top-k path must have answered. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "graph/graph.h"
#include "server/api_gen.h"
#include "tests/check.h"
#include "tests/support/graphgen.h"
#include "tests/support/search_page.h"

static pgr_store *S;

/* One list request as "id:score id:score ... |next_cursor|count". */
static char *page(const char *search, int per_page, int pg, const char *cursor,
                  const pgr_filter *f, size_t nf)
{
    return search_page(S, search, per_page, pg, cursor, f, nf);
}

/* The same request on both paths; 1 when identical. */
static int same(const char *search, int per_page, int pg, const pgr_filter *f, size_t nf)
{
    long before = pgr_search_topk_answered(S);
    char *a = page(search, per_page, pg, NULL, f, nf);
    long answered = pgr_search_topk_answered(S) - before;
    pgr_list_limits(S, 0, -1);
    char *b = page(search, per_page, pg, NULL, f, nf);
    pgr_list_limits(S, 0, 0);
    int ok = a && b && !strcmp(a, b);
    if (!ok)
        fprintf(stderr, "    %s (per page %d, page %d): top-k\n      %.400s\n    every match\n"
                        "      %.400s\n",
                search, per_page, pg, a ? a : "(error)", b ? b : "(error)");
    if (getenv("VERBOSE"))
        fprintf(stderr, "    %s p%d: %s\n", search, pg, answered ? "top-k" : "ranked all");
    free(a);
    free(b);
    return ok ? 1 + (int)answered : 0; /* 2: the top-k path answered */
}

static const char *const queries[] = {
    "graph",
    "neural network",
    "transformer OR attention",
    "graph -neural",
    "\"language model\"",
    "token*",
    "scal* graph",
    "(graph OR sparse) NOT (neural AND network)",
    "sparse attention OR kernel",
    "okafor",
    "graph graph",
    "zzzznotaword",
};

static void test_same_as_ranking_all(void)
{
    pgr_err err = {0};
    const char *why = NULL;
    char *url = gg_fresh_db(GG_SQLITE, "topk", &why);
    if (!url)
        SKIP("%s", why);
    CHECK_MSG(pgr_store_open(url, &S, &err) == 0, "%s", err.msg);
    /* lists of 400 among ~1000 works per common word, words in <= 8 works unlisted */
    pgr_search_index_params(S, 400, 8);
    api_gen_opts o = {.works = 3000, .authors = 900, .seed = 7};
    CHECK_MSG(api_gen_graph(S, &o, &err) == 0, "%s", err.msg);
    int answered = 0, n = 0;
    for (size_t i = 0; i < sizeof queries / sizeof queries[0]; i++) {
        int r = same(queries[i], 20, 1, NULL, 0);
        CHECK_MSG(r, "query %s", queries[i]);
        answered += r == 2;
        n++;
        r = same(queries[i], 7, 3, NULL, 0); /* a later page: k = 22 */
        CHECK_MSG(r, "query %s, page 3", queries[i]);
        answered += r == 2;
    }
    /* the single words, AND, OR, NOT, phrase and prefix queries above are all
     * the path's to answer; a budget may send one to ranking all, not most */
    CHECK_MSG(answered >= n, "top-k answered %d of %d requests", answered, 2 * n);
    /* works met in every list were scored from the entries' hit counts */
    CHECK_MSG(pgr_search_topk_listed(S) > 100, "%ld works scored from the lists",
              pgr_search_topk_listed(S));
    /* filters and NOT work through the verifying SQL */
    const char *years[] = {"2020"};
    pgr_filter fy = {"publication_year", PGR_OP_EQ, years, 1};
    CHECK(same("graph", 20, 1, &fy, 1));
    CHECK(same("neural network", 10, 2, &fy, 1));
    /* cursor paging over relevance: the same pages on both paths */
    {
        char cur_a[512] = "*", cur_b[512] = "*";
        for (int p = 0; p < 4; p++) {
            char *a = page("graph neural", 9, 0, cur_a, NULL, 0);
            pgr_list_limits(S, 0, -1);
            char *b = page("graph neural", 9, 0, cur_b, NULL, 0);
            pgr_list_limits(S, 0, 0);
            CHECK_MSG(a && b && !strcmp(a, b), "cursor page %d:\n  %s\n  %s", p, a ? a : "-",
                      b ? b : "-");
            const char *c = a ? strchr(a, '|') : NULL;
            if (c) {
                snprintf(cur_a, sizeof cur_a, "%.*s", (int)(strchr(c + 1, '|') - c - 1), c + 1);
                snprintf(cur_b, sizeof cur_b, "%s", cur_a);
            }
            free(a);
            free(b);
        }
    }
    /* a prefix search's count beyond the cap is estimated from the index
     * (FTS5 would merge every term's list first): near the exact count */
    {
        pgr_query q = {.entity = PGR_WORKS, .search = "token*", .per_page = 5};
        json_t *j = NULL;
        CHECK_MSG(pgr_list(S, &q, &j, &err) == 0, "%s", err.msg);
        long exact = (long)json_integer_value(json_object_get(json_object_get(j, "meta"), "count"));
        CHECK(json_is_true(json_object_get(json_object_get(j, "meta"), "count_exact")));
        json_decref(j);
        pgr_list_limits(S, 50, 0);
        CHECK_MSG(pgr_list(S, &q, &j, &err) == 0, "%s", err.msg);
        json_t *m = json_object_get(j, "meta");
        long est = (long)json_integer_value(json_object_get(m, "count"));
        CHECK(json_is_false(json_object_get(m, "count_exact")));
        CHECK_MSG(exact > 100 && est > exact * 2 / 3 && est < exact * 3 / 2,
                  "token*: estimate %ld, exact %ld", est, exact);
        json_decref(j);
        pgr_list_limits(S, 0, 0);
    }
    /* a rewritten work: its old list entries are stale, a new word has no
     * list; both paths must still agree, and the work leads "graph" */
    /* (the CJK word: a text FTS5's tokenizer reads, not the ASCII path) */
    pgr_work_rec w = {.title = "Graph graph graph zyxwvut \xe5\x9b\xb3\xe5\xbd\xa2",
                      .norm_title = "graph graph graph zyxwvut",
                      .year = 2021, .abstract = "graph", .cited_by_count = -1, .has_code = -1,
                      .score = NAN};
    pgr_id got = 0;
    CHECK_MSG(pgr_begin(S, &err) == 0 && pgr_work_upsert(S, 0, 5, &w, &got, NULL, &err) == 0 &&
                  pgr_commit(S, &err) == 0,
              "%s", err.msg);
    CHECK_INT(got, 5);
    for (size_t i = 0; i < sizeof queries / sizeof queries[0]; i++)
        CHECK_MSG(same(queries[i], 20, 1, NULL, 0), "after a rewrite: %s", queries[i]);
    CHECK_INT(same("zyxwvut", 20, 1, NULL, 0), 2);
    CHECK_INT(same("\xe5\x9b\xb3\xe5\xbd\xa2 graph", 20, 1, NULL, 0), 2);
    char *top = page("graph", 1, 1, NULL, NULL, 0);
    CHECK_MSG(top && !strncmp(top, "W5:", 3), "graph's best: %s", top ? top : "-");
    free(top);
    /* a rebuild takes the rewrite into the lists */
    CHECK_MSG(pgr_search_index_build(S, &err) == 0, "%s", err.msg);
    for (size_t i = 0; i < sizeof queries / sizeof queries[0]; i++)
        CHECK_MSG(same(queries[i], 20, 1, NULL, 0), "after the rebuild: %s", queries[i]);
    /* W5 loses "graph" (and gains "neural"), then a refresh: its entry in
     * graph's list, whose hit counts would score it there, must go although
     * its new text never names the word */
    pgr_work_rec w2 = {.title = "Zyxwvut neural", .norm_title = "zyxwvut neural",
                       .year = 2021, .abstract = "network", .cited_by_count = -1,
                       .has_code = -1, .score = NAN};
    pgr_search_update su = {0};
    CHECK_MSG(pgr_begin(S, &err) == 0 && pgr_work_upsert(S, 0, 5, &w2, &got, NULL, &err) == 0 &&
                  pgr_commit(S, &err) == 0 &&
                  pgr_search_index_update(S, PGR_SEARCH_REFRESH, &su, &err) == 0,
              "%s", err.msg);
    CHECK_INT(su.action, PGR_SEARCH_REFRESHED);
    long listed = pgr_search_topk_listed(S);
    for (size_t i = 0; i < sizeof queries / sizeof queries[0]; i++)
        CHECK_MSG(same(queries[i], 20, 1, NULL, 0), "after the refresh: %s", queries[i]);
    CHECK(pgr_search_topk_listed(S) > listed);
    top = page("graph", 1, 1, NULL, NULL, 0);
    CHECK_MSG(top && strncmp(top, "W5:", 3) != 0, "graph's best: %s", top ? top : "-");
    free(top);
    /* the same record again: its text is the same, so neither an FTS5
     * rewrite nor a dirty mark (an author merge marks every work of both
     * authors, most of whose texts stay); a changed text is still marked */
    CHECK_MSG(pgr_begin(S, &err) == 0 && pgr_work_upsert(S, 0, 5, &w2, &got, NULL, &err) == 0 &&
                  pgr_commit(S, &err) == 0 &&
                  pgr_search_index_update(S, PGR_SEARCH_SKIP, &su, &err) == 0,
              "%s", err.msg);
    CHECK_INT(su.changed, 0);
    CHECK_MSG(pgr_begin(S, &err) == 0 && pgr_work_upsert(S, 0, 5, &w, &got, NULL, &err) == 0 &&
                  pgr_commit(S, &err) == 0 &&
                  pgr_search_index_update(S, PGR_SEARCH_SKIP, &su, &err) == 0,
              "%s", err.msg);
    CHECK_INT(su.changed, 1);
    CHECK_MSG(same("graph", 20, 1, NULL, 0), "after the rewrite back");
    pgr_store_close(S);
    S = NULL;
    free(url);
}

int main(void)
{
    RUN(test_same_as_ranking_all);
    gg_cleanup();
    return check_summary("test_search_topk");
}
