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

/* ---- ranking: pgr_rank(fts_table, weight per column...) ----
 * FTS5's bm25 with every phrase's IDF taken as 1. bm25() computes the IDF by
 * walking each phrase's whole doclist once per query: on a million works a
 * common word costs tens of milliseconds before the first row is ranked,
 * whatever LIMIT or rowid window the query has. Without it a query ranks
 * only the rows it visits. For one phrase the order is bm25's (its IDF is
 * the same for every row); for several, a rare word no longer outweighs a
 * common one, which is how PostgreSQL's ts_rank (the other backend) ranks
 * too. k1 = 1.2, b = 0.75 as bm25(). */
typedef struct rank_aux {
    double avgdl; /* mean tokens per row, all columns */
    int n_phrase;
    double freq[]; /* per phrase: column-weighted hits in the current row */
} rank_aux;

static void pgr_rank(const Fts5ExtensionApi *api, Fts5Context *fts, sqlite3_context *ctx,
                     int n_val, sqlite3_value **vals)
{
    rank_aux *aux = api->xGetAuxdata(fts, 0);
    if (!aux) {
        int np = api->xPhraseCount(fts);
        sqlite3_int64 rows = 0, tokens = 0;
        aux = sqlite3_malloc64(sizeof *aux + (sqlite3_uint64)(np > 0 ? np : 1) * sizeof(double));
        if (!aux) {
            sqlite3_result_error_nomem(ctx);
            return;
        }
        aux->n_phrase = np;
        if (api->xRowCount(fts, &rows) != SQLITE_OK ||
            api->xColumnTotalSize(fts, -1, &tokens) != SQLITE_OK)
            rows = 0;
        aux->avgdl = rows > 0 && tokens > 0 ? (double)tokens / (double)rows : 1.0;
        if (api->xSetAuxdata(fts, aux, sqlite3_free) != SQLITE_OK) { /* freed by it */
            sqlite3_result_error_nomem(ctx);
            return;
        }
    }
    for (int i = 0; i < aux->n_phrase; i++)
        aux->freq[i] = 0;
    int n_inst = 0, dl = 0;
    if (api->xInstCount(fts, &n_inst) != SQLITE_OK ||
        api->xColumnSize(fts, -1, &dl) != SQLITE_OK) {
        sqlite3_result_error(ctx, "pgr_rank: reading the row's hits failed", -1);
        return;
    }
    for (int i = 0; i < n_inst; i++) {
        int phrase, col, off;
        if (api->xInst(fts, i, &phrase, &col, &off) != SQLITE_OK || phrase < 0 ||
            phrase >= aux->n_phrase)
            continue;
        aux->freq[phrase] += col < n_val ? sqlite3_value_double(vals[col]) : 1.0;
    }
    const double k1 = 1.2, b = 0.75;
    double norm = k1 * (1 - b + b * (double)dl / aux->avgdl), score = 0;
    for (int i = 0; i < aux->n_phrase; i++)
        score += aux->freq[i] * (k1 + 1) / (aux->freq[i] + norm);
    sqlite3_result_double(ctx, score);
}

fts5_api *pgr_sqlite_fts5(void *sqlite_db)
{
    fts5_api *api = NULL;
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(sqlite_db, "SELECT fts5(?1)", -1, &st, NULL) != SQLITE_OK)
        return NULL;
    sqlite3_bind_pointer(st, 1, (void *)&api, "fts5_api_ptr", NULL);
    sqlite3_step(st);
    sqlite3_finalize(st);
    return api && api->iVersion >= 2 ? api : NULL;
}

/* Registers pgr_rank with this connection's FTS5. */
static int register_rank(sqlite3 *db)
{
    fts5_api *api = pgr_sqlite_fts5(db);
    if (!api)
        return -1;
    return api->xCreateFunction(api, "pgr_rank", NULL, pgr_rank, NULL) == SQLITE_OK ? 0 : -1;
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
    if (register_rank(db) != 0) {
        pgr_errf(err, PGR_EDB, "sqlite: %s: this SQLite has no FTS5 to register pgr_rank with",
                 path);
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
