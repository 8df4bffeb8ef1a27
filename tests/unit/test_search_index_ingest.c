/* The top-k search index across nightly ingests (issue 4; graph/search_topk.c,
 * pgr_search_index_update): a graph ingested without an index gets one, works
 * changed by later runs past the dirty limit (1024) send searches to ranking
 * every match until the index is refreshed, and after an incremental refresh
 * (short lists, so that floors, cut lists, new words and rewritten works all
 * occur) every query must return exactly the pages of ranking every match,
 * answered by the top-k path. The corpora are bench ingest's generator. */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "graph/graph.h"
#include "indexer/gen_arxiv.h"
#include "indexer/ingest.h"
#include "tests/check.h"
#include "tests/support/graphgen.h"
#include "tests/support/search_page.h"

static pgr_store *S;
static const char *URL;

static char *page(const char *search, int per_page, int pg)
{
    return search_page(S, search, per_page, pg, NULL, NULL, 0);
}

/* 0 differs, 1 same (ranked every match), 2 same and the top-k path answered */
static int same(const char *search, int per_page, int pg)
{
    long before = pgr_search_topk_answered(S);
    char *a = page(search, per_page, pg);
    long answered = pgr_search_topk_answered(S) - before;
    pgr_list_limits(S, 0, -1);
    char *b = page(search, per_page, pg);
    pgr_list_limits(S, 0, 0);
    int ok = a && b && !strcmp(a, b);
    if (!ok)
        fprintf(stderr, "    %s (per page %d, page %d): top-k\n      %.300s\n    every match\n"
                        "      %.300s\n",
                search, per_page, pg, a ? a : "(error)", b ? b : "(error)");
    free(a);
    free(b);
    return ok ? 1 + (answered > 0) : 0;
}

static const char *const queries[] = {
    "learning", "neural networks", "quantum OR entropy", "graph -neural", "\"dark matter\"",
    "trans*", "scal* attention", "okafor", "zyxwvut", "zyxwvut graph", "the", "kumar learning",
};
#define NQ (sizeof queries / sizeof queries[0])

/* every query, two page shapes: how many the top-k path answered (-1: a
 * page differed from ranking every match) */
static int all_same(const char *when)
{
    int answered = 0;
    for (size_t i = 0; i < NQ; i++)
        for (int shape = 0; shape < 2; shape++) {
            int r = shape ? same(queries[i], 7, 4) : same(queries[i], 20, 1);
            if (!r) {
                fprintf(stderr, "    %s: %s differs\n", when, queries[i]);
                return -1;
            }
            answered += r == 2;
        }
    if (getenv("VERBOSE"))
        fprintf(stderr, "    %s: top-k answered %d of %d\n", when, answered, (int)(2 * NQ));
    return answered;
}

/* one number read with plain SQLite (not through the store) */
static long raw_count(const char *sql)
{
    sqlite3 *db = NULL;
    long n = -1;
    sqlite3_stmt *st = NULL;
    if (sqlite3_open_v2(URL + 7, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
        sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
        n = (long)sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(db);
    return n;
}

static long dirty_count(void) { return raw_count("SELECT count(*) FROM search_dirty"); }

static int write_corpus(const char *path, uint64_t seed, size_t first, size_t n, int retitle)
{
    pgr_sb sb = {0};
    if (ix_gen_arxiv_sb(&sb, seed, first, n, IX_GEN_NAMES_SMALL) != 0)
        return -1;
    FILE *f = fopen(path, "w");
    if (!f) {
        pgr_sb_free(&sb);
        return -1;
    }
    /* retitle: the same papers (same arXiv ids) with a word no build saw
     * and more "graph" in their titles: rewritten works, a new word */
    for (const char *p = sb.data, *e; p && *p; p = e + 1) {
        e = strchr(p, '\n');
        if (!e)
            break;
        const char *t = retitle ? strstr(p, "\"title\":\"") : NULL;
        if (t && t < e) {
            t += 9;
            fwrite(p, 1, (size_t)(t - p), f);
            fputs("zyxwvut graph graph ", f);
            fwrite(t, 1, (size_t)(e - t + 1), f);
        } else {
            fwrite(p, 1, (size_t)(e - p + 1), f);
        }
    }
    pgr_sb_free(&sb);
    return fclose(f);
}

static int ingest(const char *path, int mode, pgr_search_update *su)
{
    ix_ingest_opts o = {.db = URL, .as_of = "2026-11-22", .quiet = 1, .no_summary = 1,
                        .no_keywords = 1, .search_index = mode, .search_out = su};
    char *paths[] = {(char *)path};
    return ix_ingest_paths(&o, paths, 1, NULL, NULL);
}

static void test_refresh_after_ingest(void)
{
    pgr_err err = {0};
    const char *why = NULL;
    char *url = gg_fresh_db(GG_SQLITE, "sidx", &why);
    if (!url)
        SKIP("%s", why);
    URL = url;
    const char *tmp = getenv("PEERGRAPH_TEST_TMP");
    char a[600], b[600], c[600], d[600], e[600];
    snprintf(a, sizeof a, "%s/sidx-%d-a.jsonl", tmp ? tmp : "/tmp", (int)getpid());
    snprintf(b, sizeof b, "%s/sidx-%d-b.jsonl", tmp ? tmp : "/tmp", (int)getpid());
    snprintf(c, sizeof c, "%s/sidx-%d-c.jsonl", tmp ? tmp : "/tmp", (int)getpid());
    snprintf(d, sizeof d, "%s/sidx-%d-d.jsonl", tmp ? tmp : "/tmp", (int)getpid());
    snprintf(e, sizeof e, "%s/sidx-%d-e.jsonl", tmp ? tmp : "/tmp", (int)getpid());
    CHECK(write_corpus(a, 1, 0, 1200, 0) == 0);
    CHECK(write_corpus(b, 1, 1200, 1100, 0) == 0); /* new papers */
    CHECK(write_corpus(c, 1, 0, 300, 1) == 0);     /* a's first 300, retitled */
    CHECK(write_corpus(d, 1, 2300, 40, 0) == 0);
    CHECK(write_corpus(e, 1, 2340, 40, 0) == 0);

    /* a graph that never had an index gets one from its first ingest */
    pgr_search_update su = {0};
    CHECK_INT(ingest(a, PGR_SEARCH_AUTO, &su), 0);
    CHECK_MSG(su.action == PGR_SEARCH_BUILT, "first ingest: %s",
              pgr_search_action_name(su.action));
    CHECK_INT(su.works, 1200);
    CHECK_INT(dirty_count(), 0);

    /* short lists (the build's length is kept for refreshes): floors and
     * cut lists on a small graph */
    CHECK_MSG(pgr_store_open(url, &S, &err) == 0, "%s", err.msg);
    pgr_search_index_params(S, 200, 4);
    CHECK_MSG(pgr_search_index_update(S, PGR_SEARCH_REBUILD, &su, &err) == 0, "%s", err.msg);
    CHECK_INT(su.action, PGR_SEARCH_REBUILT);
    CHECK_MSG(all_same("after the build") >= (int)NQ, "the top-k path answered too few");

    /* more than 1024 works changed and not refreshed: every search ranks all */
    CHECK_INT(ingest(b, PGR_SEARCH_SKIP, &su), 0);
    CHECK_INT(ingest(c, PGR_SEARCH_SKIP, &su), 0);
    CHECK_INT(su.action, PGR_SEARCH_SKIPPED);
    long changed = dirty_count();
    CHECK_MSG(changed > 1024 + 300, "changed works %ld", changed);
    CHECK_INT(su.changed, changed);
    CHECK_INT(all_same("1024+ changed works"), 0);

    /* the refresh (forced: auto would rebuild at this share) brings the
     * top-k path back, with the same answers as ranking every match */
    CHECK_INT(ingest(b, PGR_SEARCH_REFRESH, &su), 0); /* unchanged file: only the index */
    CHECK_MSG(su.action == PGR_SEARCH_REFRESHED, "refresh: %s", pgr_search_action_name(su.action));
    CHECK_INT(su.changed, changed);
    CHECK_INT(dirty_count(), 0);
    CHECK_MSG(all_same("after the refresh") >= (int)NQ, "the top-k path answered too few");
    CHECK_INT(same("zyxwvut", 20, 1), 2); /* a word the build never saw */
    char *top = page("zyxwvut graph", 1, 1);
    CHECK_MSG(top && strstr(top, "|300"), "zyxwvut graph: %s", top ? top : "-");
    free(top);

    /* the next night: the works refreshed since the build are a large share
     * of the graph (words rare at the build may be common now): auto rebuilds */
    CHECK_INT(ingest(d, PGR_SEARCH_AUTO, &su), 0);
    CHECK_MSG(su.action == PGR_SEARCH_REBUILT, "after a large refresh: %s",
              pgr_search_action_name(su.action));
    CHECK_INT(su.refreshed, changed);
    /* a small night: auto refreshes; new works' words count in the
     * document frequencies (count estimates) as in FTS5 */
    CHECK_INT(ingest(e, PGR_SEARCH_AUTO, &su), 0);
    CHECK_MSG(su.action == PGR_SEARCH_REFRESHED, "small ingest: %s (drift %g)",
              pgr_search_action_name(su.action), su.drift);
    CHECK(su.changed >= 40 && su.changed < 600);
    CHECK_INT(dirty_count(), 0);
    CHECK_INT(raw_count("SELECT df FROM search_lists WHERE term = 'learning'"),
              raw_count("SELECT count(*) FROM works_fts WHERE works_fts MATCH 'learning'"));
    CHECK_MSG(all_same("after a small refresh") >= (int)NQ, "the top-k path answered too few");
    /* nothing changed: nothing to do */
    CHECK_INT(ingest(e, PGR_SEARCH_AUTO, &su), 0);
    CHECK_INT(su.action, PGR_SEARCH_CURRENT);
    /* a large share changed: auto rebuilds, with the same answers */
    CHECK_INT(write_corpus(c, 1, 0, 900, 1), 0);
    CHECK_INT(ingest(c, PGR_SEARCH_AUTO, &su), 0);
    CHECK_MSG(su.action == PGR_SEARCH_REBUILT, "large ingest: %s",
              pgr_search_action_name(su.action));
    CHECK_MSG(all_same("after an auto rebuild") >= (int)NQ, "the top-k path answered too few");
    pgr_store_close(S);
    S = NULL;
    unlink(a);
    unlink(b);
    unlink(c);
    unlink(d);
    unlink(e);
    free(url);
}

int main(void)
{
    RUN(test_refresh_after_ingest);
    gg_cleanup();
    return check_summary("test_search_index_ingest");
}
