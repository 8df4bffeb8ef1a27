/* graph/fts_query: the search grammar and its FTS5 / tsquery translations.
 * The FTS5 output is also run through a real in-memory FTS5 table, so a
 * translation that SQLite would reject fails here, not in a request. */
#include "graph/fts_query.h"
#include "tests/check.h"

#include <libpq-fe.h>
#include <sqlite3.h>
#include <stdlib.h>

static char fts5_out[2048], tsq_out[2048];

/* Returns 0 when text parsed; fills fts5_out/tsq_out. */
static int tr(const char *text, int prefix_last, pgr_err *err)
{
    pgr_fts_query q;
    if (pgr_fts_parse("search", text, prefix_last, &q, err) < 0)
        return -1;
    snprintf(fts5_out, sizeof fts5_out, "%s", q.fts5);
    snprintf(tsq_out, sizeof tsq_out, "%s", q.tsq);
    pgr_fts_free(&q);
    return 0;
}

static void test_translations(void)
{
    pgr_err err = {0};
    CHECK(tr("Graph Neural", 0, &err) == 0);
    CHECK_STR(fts5_out, "(\"graph\" AND \"neural\")");
    CHECK_STR(tsq_out, "('graph' & 'neural')");
    CHECK(tr("\"large language\" OR transformer*", 0, &err) == 0);
    CHECK_STR(fts5_out, "(\"large language\" OR \"transformer\"*)");
    CHECK_STR(tsq_out, "(('large' <-> 'language') | 'transformer':*)");
    CHECK(tr("a NOT (b OR c)", 0, &err) == 0);
    CHECK_STR(fts5_out, "(\"a\" NOT (\"b\" OR \"c\"))");
    CHECK_STR(tsq_out, "('a' & !('b' | 'c'))");
    CHECK(tr("GPT-4", 0, &err) == 0);
    CHECK_STR(fts5_out, "\"gpt 4\"");
    CHECK_STR(tsq_out, "('gpt' <-> '4')");
    CHECK(tr("john sm", 1, &err) == 0);
    CHECK_STR(fts5_out, "(\"john\" AND \"sm\"*)");
    CHECK_STR(tsq_out, "('john' & 'sm':*)");
    CHECK(tr("transformers -vision", 0, &err) == 0);
    CHECK_STR(fts5_out, "(\"transformers\" NOT \"vision\")");
    CHECK_STR(tsq_out, "('transformers' & !'vision')");
    CHECK(tr("state-of-the-art", 0, &err) == 0);
    CHECK_STR(fts5_out, "\"state of the art\"");
    /* lower-case operators are words, as in OpenAlex */
    CHECK(tr("cats and dogs", 0, &err) == 0);
    CHECK_STR(fts5_out, "(\"cats\" AND \"and\" AND \"dogs\")");
    /* SQL and FTS metacharacters become quoted words or vanish */
    CHECK(tr("x'; DROP TABLE works; --", 0, &err) == 0);
    CHECK_STR(fts5_out, "(\"x\" AND \"drop\" AND \"table\" AND \"works\")");
    CHECK(tr("title:foo ^bar NEAR(a b)", 0, &err) == 0);
    CHECK(strchr(tsq_out, ':') == NULL || strstr(tsq_out, "':*") != NULL);
}

static void test_errors(void)
{
    const char *bad[] = {"",      "   ",         "\"unclosed", "(a OR b",
                         "a OR",  "OR a",        "NOT a",      "a OR NOT b",
                         "a AND", "a)",          "()",         "\"\"",
                         "*",     "a NOT NOT b", "-a",         "((((((((((a))))))))))"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        pgr_err err = {0};
        CHECK_MSG(tr(bad[i], 0, &err) < 0, "accepted bad query [%s]", bad[i]);
        CHECK(err.code == PGR_EINVAL);
        CHECK_MSG(strncmp(err.msg, "search: ", 8) == 0, "message does not name the parameter: %s",
                  err.msg);
    }
    char big[1200];
    memset(big, 'a', sizeof big - 1);
    big[sizeof big - 1] = 0;
    pgr_err err = {0};
    CHECK(tr(big, 0, &err) < 0);
    char many[400] = "";
    for (int i = 0; i < 40; i++)
        strcat(many, "w ");
    CHECK(tr(many, 0, &err) < 0);
}

/* Every translation of a set of odd inputs must be accepted by real FTS5. */
static void test_fts5_accepts(void)
{
    sqlite3 *db = NULL;
    CHECK(sqlite3_open(":memory:", &db) == SQLITE_OK);
    CHECK(sqlite3_exec(db,
                       "CREATE VIRTUAL TABLE t USING fts5(title);"
                       "INSERT INTO t VALUES ('graph neural networks for gpt 4'),"
                       "('large language models'), ('cats and dogs');",
                       NULL, NULL, NULL) == SQLITE_OK);
    const char *qs[] = {"graph",
                        "gpt-4",
                        "\"large language\"",
                        "lang*",
                        "a NOT b",
                        "(x OR y) z",
                        "NEAR",
                        "near(a b)",
                        "col:umn",
                        "x'\";--",
                        "\xc3\xa9t\xc3\xa9",
                        "cats AND (dogs OR NOT)"};
    int matched = 0;
    for (size_t i = 0; i < sizeof qs / sizeof qs[0]; i++) {
        pgr_err err = {0};
        if (tr(qs[i], 0, &err) < 0)
            continue; /* rejected with a 400: fine */
        sqlite3_stmt *st = NULL;
        CHECK(sqlite3_prepare_v2(db, "SELECT count(*) FROM t WHERE t MATCH ?", -1, &st, NULL) ==
              SQLITE_OK);
        sqlite3_bind_text(st, 1, fts5_out, -1, SQLITE_TRANSIENT);
        int rc = sqlite3_step(st);
        CHECK_MSG(rc == SQLITE_ROW, "FTS5 rejected %s (from %s): %s", fts5_out, qs[i],
                  sqlite3_errmsg(db));
        matched += sqlite3_column_int(st, 0);
        sqlite3_finalize(st);
    }
    CHECK(matched >= 3); /* graph, gpt-4, "large language", lang* all hit */
    sqlite3_close(db);
}

/* The tsquery translations must be accepted by real PostgreSQL and match. */
static void test_tsquery_accepts(void)
{
    const char *url = getenv("PEERGRAPH_TEST_PG");
    if (!url || !*url)
        SKIP("PEERGRAPH_TEST_PG not set");
    PGconn *c = PQconnectdb(url);
    CHECK_MSG(PQstatus(c) == CONNECTION_OK, "%s", PQerrorMessage(c));
    const char *qs[] = {"graph",       "gpt-4",   "\"large language\"", "lang*", "a NOT b",
                        "(x OR y) z",  "x'\";--", "\xc3\xa9t\xc3\xa9",  "-a b",  "o'brien",
                        "back\\slash", "gra*"};
    int matched = 0;
    for (size_t i = 0; i < sizeof qs / sizeof qs[0]; i++) {
        pgr_err err = {0};
        if (tr(qs[i], 0, &err) < 0)
            continue;
        const char *params[1] = {tsq_out};
        PGresult *r = PQexecParams(c,
                                   "SELECT to_tsvector('simple', 'graph neural networks for "
                                   "gpt-4 and large language models') @@ to_tsquery('simple', $1)",
                                   1, NULL, params, NULL, NULL, 0);
        int ok = PQresultStatus(r) == PGRES_TUPLES_OK;
        if (ok)
            matched += PQgetvalue(r, 0, 0)[0] == 't';
        else
            fprintf(stderr, "    to_tsquery rejected %s (from %s): %s\n", tsq_out, qs[i],
                    PQerrorMessage(c));
        PQclear(r);
        if (!ok) {
            PQfinish(c);
            CHECK(ok);
        }
    }
    PQfinish(c);
    CHECK(matched >= 4); /* graph, gpt-4, "large language", lang*, gra* */
}

/* A stand-in for the store's folding: ü -> u, '-' splits, "the" vanishes. */
static void test_fold(const char *in, pgr_sb *out)
{
    if (!strcmp(in, "the"))
        return;
    for (const char *p = in; *p; p++) {
        if (!strncmp(p, "\xc3\xbc", 2)) {
            pgr_sb_putc(out, 'u');
            p++;
        } else {
            pgr_sb_putc(out, *p);
        }
    }
}

static void test_folding(void)
{
    pgr_err err = {0};
    pgr_fts_query q;
    CHECK(pgr_fts_parse_fold("q", "M\xc3\xbcller the lab*", 0, test_fold, &q, &err) == 0);
    CHECK_STR(q.fts5, "(\"muller\" AND \"lab\"*)");
    CHECK_STR(q.tsq, "('muller' & 'lab':*)");
    pgr_fts_free(&q);
    CHECK(pgr_fts_parse_fold("q", "the", 0, test_fold, &q, &err) < 0);
    CHECK(strstr(err.msg, "q: ") == err.msg);
}

int main(void)
{
    RUN(test_translations);
    RUN(test_errors);
    RUN(test_fts5_accepts);
    RUN(test_folding);
    RUN(test_tsquery_accepts);
    return check_summary("test_fts_query");
}
