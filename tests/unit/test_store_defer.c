/* pgr_defer_indexes: the secondary indexes a large load drops inside its
 * transaction come back exactly (same CREATE INDEX text) on commit, and a
 * rollback restores them with the data; PostgreSQL is left alone. */
#include <sqlite3.h>
#include <unistd.h>

#include "graph/graph.h"
#include "tests/check.h"
#include "tests/support/graphgen.h"

static char path[256];

/* Number of indexes and the text of works_year and provenance_source, read
 * by a separate connection (the committed state). */
static int index_state(char *sql_year, size_t n_year)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    int count = -1;
    sql_year[0] = '\0';
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK)
        goto done;
    if (sqlite3_prepare_v2(db, "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND "
                               "sql IS NOT NULL ORDER BY name",
                           -1, &st, NULL) != SQLITE_OK)
        goto done;
    count = 0;
    while (sqlite3_step(st) == SQLITE_ROW) {
        count++;
        if (!strcmp((const char *)sqlite3_column_text(st, 0), "works_year"))
            snprintf(sql_year, n_year, "%s", (const char *)sqlite3_column_text(st, 1));
    }
done:
    sqlite3_finalize(st);
    sqlite3_close(db);
    return count;
}

static pgr_store *fresh(void)
{
    snprintf(path, sizeof path, "%s/pgr_defer_%d.db",
             getenv("PEERGRAPH_TEST_TMP") ? getenv("PEERGRAPH_TEST_TMP") : "/tmp", (int)getpid());
    unlink(path);
    char url[300];
    snprintf(url, sizeof url, "sqlite:%s", path);
    pgr_store *s = NULL;
    pgr_err err = {0};
    if (pgr_store_open(url, &s, &err) != 0) {
        fprintf(stderr, "    open: %s\n", err.msg);
        return NULL;
    }
    return s;
}

static int add_work(pgr_store *s, const char *title, int year, pgr_id *id)
{
    pgr_work_rec w = {.title = title, .norm_title = title, .year = year, .cited_by_count = -1,
                      .has_code = -1, .score = NAN};
    return pgr_work_upsert(s, 0, 0, &w, id, NULL, NULL);
}

static void test_rollback_restores(void)
{
    pgr_store *s = fresh();
    CHECK(s);
    char year_sql[256], after[256];
    int before = index_state(year_sql, sizeof year_sql);
    CHECK(before > 10);
    CHECK(strstr(year_sql, "works(year, id)") != NULL);
    pgr_err err = {0};
    int n = 0;
    CHECK_INT(pgr_defer_indexes(s, &n, &err), -1); /* outside a transaction */
    CHECK_INT(err.code, PGR_EINVAL);
    CHECK_INT(pgr_begin(s, NULL), 0);
    CHECK_INT(pgr_defer_indexes(s, &n, &err), 0);
    CHECK_INT(n, 11);
    pgr_id id = 0;
    CHECK_INT(add_work(s, "a paper", 2020, &id), 0);
    CHECK_INT(pgr_rollback(s, NULL), 0);
    CHECK_INT(index_state(after, sizeof after), before);
    CHECK_STR(after, year_sql);
    pgr_store_close(s);
    unlink(path);
}

static void test_commit_recreates(void)
{
    pgr_store *s = fresh();
    CHECK(s);
    char year_sql[256], after[256];
    int before = index_state(year_sql, sizeof year_sql);
    pgr_err err = {0};
    int n = 0;
    CHECK_INT(pgr_begin(s, NULL), 0);
    CHECK_INT(pgr_defer_indexes(s, &n, &err), 0);
    CHECK_INT(n, 11);
    int again = -1;
    CHECK_INT(pgr_defer_indexes(s, &again, &err), 0); /* once per transaction */
    CHECK_INT(again, 0);
    pgr_id id = 0;
    for (int i = 0; i < 50; i++) {
        char t[32];
        snprintf(t, sizeof t, "paper %d", i);
        CHECK_INT(add_work(s, t, 2000 + i % 7, &id), 0);
    }
    CHECK_INT(pgr_commit(s, &err), 0);
    CHECK_INT(index_state(after, sizeof after), before);
    CHECK_STR(after, year_sql);
    /* the rebuilt index holds every row: an indexed count answers 50 */
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    CHECK(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK);
    CHECK(sqlite3_prepare_v2(db, "SELECT COUNT(*) FROM works INDEXED BY works_year WHERE year > 0",
                             -1, &st, NULL) == SQLITE_OK);
    CHECK(sqlite3_step(st) == SQLITE_ROW);
    CHECK_INT(sqlite3_column_int(st, 0), 50);
    sqlite3_finalize(st);
    sqlite3_close(db);
    /* the metrics set: four indexes, back at commit */
    CHECK_INT(pgr_begin(s, NULL), 0);
    CHECK_INT(pgr_defer_metric_indexes(s, &n, &err), 0);
    CHECK_INT(n, 4);
    CHECK_INT(pgr_commit(s, &err), 0);
    CHECK_INT(index_state(after, sizeof after), before);
    int64_t works = 0, authors = -1;
    CHECK_INT(pgr_graph_size(s, &works, &authors, &err), 0);
    CHECK_INT(works, 50);
    CHECK_INT(authors, 0);
    pgr_store_close(s);
    unlink(path);
}

static void test_postgres_is_left_alone(void)
{
    const char *why = NULL;
    char *url = gg_fresh_db(GG_PG, "defer", &why); /* a database of its own */
    if (!url)
        SKIP("%s", why);
    pgr_store *s = NULL;
    pgr_err err = {0};
    int n = -1, opened = pgr_store_open(url, &s, &err) == 0;
    if (opened && pgr_begin(s, NULL) == 0) {
        if (pgr_defer_indexes(s, &n, &err) != 0)
            n = -2;
        pgr_rollback(s, NULL);
    }
    pgr_store_close(s);
    CHECK_MSG(opened, "open %s: %s", url, err.msg);
    CHECK_INT(n, 0);
    free(url);
}

int main(void)
{
    RUN(test_rollback_restores);
    RUN(test_commit_recreates);
    RUN(test_postgres_is_left_alone);
    gg_cleanup();
    return check_summary("test_store_defer");
}
