/* Queued writes and client-side ids on PostgreSQL (graph/store_pg.c,
 * pgr_exec_queued, store_write.c next_id): a queued write is seen by the
 * next read of the same transaction, a failing one is reported (naming its
 * statement and the input place it was queued at, pgr_set_place) at that
 * read or at commit and the transaction rolls back whole, and the ids
 * handed out by the client leave the identity sequences where nextval would
 * have. SQLite runs the same calls at once; both answer alike. */
#include <libpq-fe.h>
#include <unistd.h>

#include "graph/graph.h"
#include "tests/check.h"
#include "tests/support/graphgen.h"

static char *url_; /* this test's database (gg_fresh_db) */

/* Opens a store on a fresh PostgreSQL database of the test's own; skips
 * without PEERGRAPH_TEST_PG. */
#define OPEN_PG(name, s, err)                                                              \
    do {                                                                                   \
        const char *why_ = NULL;                                                           \
        free(url_);                                                                        \
        if (!(url_ = gg_fresh_db(GG_PG, name, &why_)))                                     \
            SKIP("%s", why_);                                                              \
        CHECK_MSG(pgr_store_open(url_, &(s), &(err)) == 0, "open: %s", (err).msg);        \
    } while (0)

/* One integer from a SQL query on the test database (-1 on error). */
static long long pg_int(const char *sql)
{
    PGconn *c = PQconnectdb(url_);
    PGresult *r = PQexec(c, sql);
    long long v = PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1 &&
                          !PQgetisnull(r, 0, 0)
                      ? atoll(PQgetvalue(r, 0, 0))
                      : -1;
    PQclear(r);
    PQfinish(c);
    return v;
}

static int new_author(pgr_store *s, const char *name, pgr_id *id)
{
    pgr_author_rec a = {.display_name = name, .norm_name = name};
    return pgr_author_upsert(s, 0, 0, &a, id, NULL, NULL);
}

static void test_queued_write_seen_by_next_read(void)
{
    pgr_store *s = NULL;
    pgr_err err = {0};
    OPEN_PG("queue_read", s, err);
    CHECK_INT(pgr_begin(s, &err), 0);
    pgr_id a1 = 0, a2 = 0;
    CHECK_INT(new_author(s, "ada lovelace", &a1), 0);
    CHECK_INT(new_author(s, "alan turing", &a2), 0);
    CHECK(a1 > 0 && a2 == a1 + 1); /* ids handed out by the client, in order */
    /* queued: a variant under another name, then a read that must see it */
    CHECK_INT(pgr_author_add_variant(s, 0, a2, "A. Lovelace", "a lovelace", &err), 0);
    pgr_id *ids = NULL;
    size_t n = 0;
    CHECK_INT(pgr_author_candidates(s, "a lovelace", &ids, &n, &err), 0);
    CHECK_INT(n, 1);
    CHECK_INT(ids[0], a2);
    free(ids);
    CHECK_INT(pgr_commit(s, &err), 0);
    /* the sequence stands where nextval for each insert would have left it */
    CHECK_INT(pg_int("SELECT nextval(pg_get_serial_sequence('authors', 'id'))"), a2 + 1);
    CHECK_INT(pg_int("SELECT COUNT(*) FROM authors"), 2);
    /* the next transaction continues after the sequence's value */
    pgr_id a3 = 0;
    CHECK_INT(new_author(s, "grace hopper", &a3), 0);
    CHECK_INT(a3, a2 + 2);
    pgr_store_close(s);
}

static void test_failed_queued_write_reported_and_rolled_back(void)
{
    pgr_store *s = NULL;
    pgr_err err = {0};
    OPEN_PG("queue_fail", s, err);
    CHECK_INT(pgr_begin(s, &err), 0);
    pgr_id a = 0;
    CHECK_INT(new_author(s, "ada lovelace", &a), 0);
    /* an authorship of a work that does not exist: a foreign key violation
     * the server only sees when the queue goes out; it is queued while the
     * input is at line 6 and its result comes back while it is at line 9 */
    pgr_set_place(s, "line 6");
    int put = pgr_authorship_put(s, 0, 987654, a, 1, "Ada", NULL, 0, &err);
    pgr_set_place(s, "line 7");
    CHECK_INT(put == 0 ? pgr_author_add_variant(s, 0, a, "A. Lovelace", "a lovelace", &err) : put,
              0);
    pgr_set_place(s, "line 9");
    pgr_id w = 0;
    int read = put == 0 ? pgr_work_find(s, PGR_KEY_ARXIV, "2001.00001", &w, &err) : put;
    CHECK_INT(read, -1);
    CHECK_MSG(strstr(err.msg, "authorship_put") != NULL, "error names the write: %s", err.msg);
    /* and the place it was queued at, not the place current by then */
    CHECK_MSG(!strncmp(err.msg, "line 6: ", 8), "error names line 6 first: %s", err.msg);
    CHECK_MSG(!strstr(err.msg, "line 9") && !strstr(err.msg, "line 7"), "%s", err.msg);
    CHECK_INT(pgr_rollback(s, NULL), 0);
    CHECK_INT(pg_int("SELECT COUNT(*) FROM authors"), 0);
    /* the store goes on working */
    pgr_err e2 = {0};
    CHECK_INT(pgr_begin(s, &e2), 0);
    CHECK_INT(new_author(s, "alan turing", &a), 0);
    CHECK_INT(pgr_commit(s, &e2), 0);
    CHECK_INT(pg_int("SELECT COUNT(*) FROM authors"), 1);
    pgr_store_close(s);
}

/* A queued write that fails only when commit sends the queue still names the
 * place it was queued at; writes queued with no place name none. */
static void test_failed_queued_write_at_commit_names_its_place(void)
{
    pgr_store *s = NULL;
    pgr_err err = {0};
    OPEN_PG("queue_commit", s, err);
    CHECK_INT(pgr_begin(s, &err), 0);
    pgr_id a = 0;
    CHECK_INT(new_author(s, "ada lovelace", &a), 0);
    pgr_set_place(s, "line 1: record 3");
    CHECK_INT(pgr_authorship_put(s, 0, 987654, a, 1, "Ada", NULL, 0, &err), 0);
    pgr_set_place(s, "line 1: record 4");
    CHECK_INT(pgr_author_add_variant(s, 0, a, "A. Lovelace", "a lovelace", &err), 0);
    pgr_set_place(s, NULL);
    CHECK_INT(pgr_commit(s, &err), -1);
    CHECK_MSG(!strncmp(err.msg, "line 1: record 3: postgres: authorship_put", 42), "%s", err.msg);
    CHECK_INT(pgr_rollback(s, NULL), 0);
    CHECK_INT(pg_int("SELECT COUNT(*) FROM authors"), 0);
    /* no place set: the error says the write and no place */
    CHECK_INT(pgr_begin(s, &err), 0);
    CHECK_INT(new_author(s, "alan turing", &a), 0);
    CHECK_INT(pgr_authorship_put(s, 0, 987654, a, 1, "Alan", NULL, 0, &err), 0);
    CHECK_INT(pgr_commit(s, &err), -1);
    CHECK_MSG(!strncmp(err.msg, "postgres: authorship_put", 24), "%s", err.msg);
    CHECK_INT(pgr_rollback(s, NULL), 0);
    pgr_store_close(s);
}

int main(void)
{
    RUN(test_queued_write_seen_by_next_read);
    RUN(test_failed_queued_write_reported_and_rolled_back);
    RUN(test_failed_queued_write_at_commit_names_its_place);
    gg_cleanup();
    free(url_);
    return check_summary("test_store_queue");
}
