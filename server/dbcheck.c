/* The /healthz database check until graph/ provides pgr_store: it talks to
 * the database directly so that health reflects the real backend today.
 * When the store lands, cmd_serve switches srv_config.db_ping to a check
 * through the thread's store and this file goes away. */
#include <libpq-fe.h>
#include <sqlite3.h>
#include <string.h>

#include "server/builtin.h"

static int ping_sqlite(const char *path, pgr_err *err)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    int rc = -1;
    /* read-only and never creating: a health check must not make a new empty database */
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
        pgr_errf(err, PGR_EDB, "sqlite %s: %s", path, db ? sqlite3_errmsg(db) : "out of memory");
        goto cleanup;
    }
    sqlite3_busy_timeout(db, 2000);
    if (sqlite3_prepare_v2(db, "SELECT count(*) FROM sqlite_schema", -1, &st, NULL) != SQLITE_OK ||
        sqlite3_step(st) != SQLITE_ROW) {
        pgr_errf(err, PGR_EDB, "sqlite %s: %s", path, sqlite3_errmsg(db));
        goto cleanup;
    }
    rc = 0;
cleanup:
    sqlite3_finalize(st);
    sqlite3_close(db);
    return rc;
}

static int ping_postgres(const char *url, pgr_err *err)
{
    const char *keys[] = {"dbname", "connect_timeout", NULL};
    const char *vals[] = {url, "3", NULL};
    PGconn *c = PQconnectdbParams(keys, vals, 1);
    PGresult *res = NULL;
    int rc = -1;
    if (!c || PQstatus(c) != CONNECTION_OK) {
        pgr_errf(err, PGR_EDB, "postgres: connection failed: %s",
                 c ? PQerrorMessage(c) : "out of memory");
        goto cleanup;
    }
    res = PQexec(c, "SELECT 1");
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        pgr_errf(err, PGR_EDB, "postgres: SELECT 1: %s", PQerrorMessage(c));
        goto cleanup;
    }
    rc = 0;
cleanup:
    PQclear(res);
    PQfinish(c);
    /* libpq messages end with a newline: drop it for the JSON message */
    size_t n = strlen(err->msg);
    while (rc && n && (err->msg[n - 1] == '\n' || err->msg[n - 1] == ' '))
        err->msg[--n] = 0;
    return rc;
}

int srv_db_ping_direct(srv_request *req, const char *db_url, pgr_err *err)
{
    (void)req;
    if (!db_url)
        return pgr_errf(err, PGR_EINVAL, "no --db URL");
    if (!strncmp(db_url, "sqlite:", 7))
        return ping_sqlite(db_url + 7, err);
    if (!strncmp(db_url, "postgres://", 11) || !strncmp(db_url, "postgresql://", 13))
        return ping_postgres(db_url, err);
    return pgr_errf(err, PGR_EINVAL, "--db: unknown URL scheme (want sqlite:PATH or postgres://...)");
}
