/* The SQLite backend: one sqlite3 connection in WAL mode with foreign keys on
 * and a busy timeout; FTS5 tables for search. Only the connection, statement
 * mechanics and the dialect statements live here. */
#include <errno.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "graph/store_impl.h"

/* Dialect statements (the rest are shared: store_sql.h). */
static const char *const sqlite_sql[ST_COUNT] = {
    [ST_FTS_WORK_DEL] = "DELETE FROM works_fts WHERE rowid = $1",
    [ST_FTS_WORK_PUT] = "INSERT INTO works_fts (rowid, title, abstract, authors) "
                        "VALUES ($1, $2, $3, $4)",
    [ST_FTS_AUTHOR_DEL] = "DELETE FROM authors_fts WHERE rowid = $1",
    [ST_FTS_AUTHOR_PUT] = "INSERT INTO authors_fts (rowid, names) VALUES ($1, $2)",
};

#define DB(s) ((sqlite3 *)(s)->conn)

static int sq_err(pgr_store *s, pgr_err *err, const char *name, int rc)
{
    int code = PGR_EDB;
    int ext = sqlite3_extended_errcode(DB(s));
    if (ext == SQLITE_CONSTRAINT_UNIQUE || ext == SQLITE_CONSTRAINT_PRIMARYKEY)
        code = PGR_ECONFLICT;
    else if ((rc & 0xff) == SQLITE_BUSY || (rc & 0xff) == SQLITE_LOCKED)
        code = PGR_EBUSY;
    return pgr_db_err(s, err, code, name, sqlite3_errmsg(DB(s)));
}

static int sq_connect(pgr_store *s, const char *path, pgr_err *err)
{
    sqlite3 *db = NULL;
    s->path = strdup(path);
    if (!s->path)
        return pgr_errf(err, PGR_ENOMEM, "out of memory");
    int rc = sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                             NULL);
    if (rc != SQLITE_OK) {
        pgr_errf(err, rc == SQLITE_CANTOPEN ? PGR_EIO : PGR_EDB, "sqlite: open %s: %s", path,
                 db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
        sqlite3_close(db);
        return -1;
    }
    s->conn = db;
    sqlite3_extended_result_codes(db, 1);
    sqlite3_busy_timeout(db, 10000);
    /* WAL: readers never block the writer; synchronous=NORMAL is durable
     * against a killed process (only power loss may drop the last commits). */
    char *msg = NULL;
    rc = sqlite3_exec(db,
                      "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;"
                      " PRAGMA temp_store=MEMORY; PRAGMA cache_size=-65536;",
                      NULL, NULL, &msg);
    if (rc != SQLITE_OK) {
        pgr_errf(err, PGR_EDB, "sqlite: pragmas on %s: %s", path, msg ? msg : sqlite3_errstr(rc));
        sqlite3_free(msg);
        sqlite3_close(db);
        s->conn = NULL;
        return -1;
    }
    return 0;
}

static void sq_disconnect(pgr_store *s)
{
    if (s->conn)
        sqlite3_close(DB(s));
    s->conn = NULL;
}

static int sq_exec(pgr_store *s, const char *name, const char *sql, pgr_err *err)
{
    char *msg = NULL;
    int rc = sqlite3_exec(DB(s), sql, NULL, NULL, &msg);
    if (rc != SQLITE_OK) {
        int code = ((rc & 0xff) == SQLITE_BUSY) ? PGR_EBUSY : PGR_EDB;
        pgr_db_err(s, err, code, name, msg ? msg : sqlite3_errstr(rc));
        sqlite3_free(msg);
        return -1;
    }
    return 0;
}

static int sq_prepare(pgr_stmt *st, pgr_err *err)
{
    char *sql = pgr_sql_to_sqlite(st->sql);
    if (!sql)
        return pgr_errf(err, PGR_ENOMEM, "sqlite: %s: out of memory", st->name);
    sqlite3_stmt *h = NULL;
    int rc = sqlite3_prepare_v3(DB(st->s), sql, -1, SQLITE_PREPARE_PERSISTENT, &h, NULL);
    free(sql);
    if (rc != SQLITE_OK)
        return sq_err(st->s, err, st->name, rc);
    st->h = h;
    return 0;
}

static void sq_finalize(pgr_stmt *st)
{
    sqlite3_finalize(st->h);
    st->h = NULL;
}

static int sq_step(pgr_stmt *st, pgr_err *err)
{
    sqlite3_stmt *h = st->h;
    if (!st->row) { /* first step: bind */
        int n = sqlite3_bind_parameter_count(h);
        for (int i = 0; i < st->n_params && i < n; i++) {
            const pgr_param *p = &st->p[i];
            int rc = SQLITE_OK;
            switch (p->type) {
            case PT_INT: rc = sqlite3_bind_int64(h, i + 1, p->i); break;
            case PT_DOUBLE: rc = sqlite3_bind_double(h, i + 1, p->d); break;
            case PT_TEXT: rc = sqlite3_bind_text(h, i + 1, p->s, -1, SQLITE_STATIC); break;
            default: rc = sqlite3_bind_null(h, i + 1); break;
            }
            if (rc != SQLITE_OK)
                return sq_err(st->s, err, st->name, rc);
        }
        st->row = 1;
    }
    int rc = sqlite3_step(h);
    if (rc == SQLITE_ROW)
        return 1;
    if (rc == SQLITE_DONE) {
        st->changes = sqlite3_changes64(DB(st->s));
        return 0;
    }
    sq_err(st->s, err, st->name, rc);
    sqlite3_reset(h);
    return -1;
}

static void sq_reset(pgr_stmt *st)
{
    sqlite3_reset(st->h);
    sqlite3_clear_bindings(st->h);
    st->row = 0;
}

static int sq_col_null(pgr_stmt *st, int col)
{
    return sqlite3_column_type(st->h, col) == SQLITE_NULL;
}
static int64_t sq_col_int(pgr_stmt *st, int col) { return sqlite3_column_int64(st->h, col); }
static double sq_col_double(pgr_stmt *st, int col) { return sqlite3_column_double(st->h, col); }
static const char *sq_col_text(pgr_stmt *st, int col)
{
    return (const char *)sqlite3_column_text(st->h, col);
}

/* The run lock is an flock on PATH.lock: it dies with the process. */
static int sq_run_lock(pgr_store *s, int wait, pgr_err *err)
{
    if (s->lock_fd >= 0)
        return 0;
    pgr_sb sb = {0};
    pgr_sb_printf(&sb, "%s.lock", s->path);
    if (!pgr_sb_ok(&sb)) {
        pgr_sb_free(&sb);
        return pgr_errf(err, PGR_ENOMEM, "out of memory");
    }
    int fd = open(sb.data, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) {
        pgr_errf(err, PGR_EIO, "sqlite: run lock %s: %s", sb.data, strerror(errno));
        pgr_sb_free(&sb);
        return -1;
    }
    if (flock(fd, LOCK_EX | (wait ? 0 : LOCK_NB)) != 0) {
        int e = errno;
        close(fd);
        if (e == EWOULDBLOCK)
            pgr_errf(err, PGR_EBUSY, "sqlite: %s: another ingest run holds the lock %s",
                     s->path, sb.data);
        else
            pgr_errf(err, PGR_EIO, "sqlite: run lock %s: %s", sb.data, strerror(e));
        pgr_sb_free(&sb);
        return -1;
    }
    pgr_sb_free(&sb);
    s->lock_fd = fd;
    return 0;
}

static void sq_run_unlock(pgr_store *s)
{
    if (s->lock_fd >= 0) {
        flock(s->lock_fd, LOCK_UN);
        close(s->lock_fd);
        s->lock_fd = -1;
    }
}

const pgr_backend pgr_backend_sqlite = {
    .name = "sqlite",
    .sql = sqlite_sql,
    .connect = sq_connect,
    .disconnect = sq_disconnect,
    .exec = sq_exec,
    .prepare = sq_prepare,
    .finalize = sq_finalize,
    .step = sq_step,
    .reset = sq_reset,
    .col_null = sq_col_null,
    .col_int = sq_col_int,
    .col_double = sq_col_double,
    .col_text = sq_col_text,
    .run_lock = sq_run_lock,
    .run_unlock = sq_run_unlock,
    .begin_sql = "BEGIN IMMEDIATE",
};
