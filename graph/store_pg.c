/* The PostgreSQL backend (libpq): one connection, named server-side prepared
 * statements (prepared on first use with the parameter types of that first
 * call), text-format results. Full text lives in tsvector columns. */
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "graph/store_impl.h"

/* Dialect statements (the rest are shared: store_sql.h). The tsvector input
 * is text the store already folded (pgr_fold), so the 'simple' configuration
 * sees exactly the tokens SQLite's FTS5 sees. Weights: title A, authors B,
 * abstract C. */
static const char *const pg_sql[ST_COUNT] = {
    [ST_FTS_WORK_DEL] = "UPDATE works SET tsv = NULL WHERE id = $1",
    [ST_FTS_WORK_PUT] = "UPDATE works SET tsv = setweight(to_tsvector('simple', $2), 'A') || "
                        "setweight(to_tsvector('simple', $4), 'B') || "
                        "setweight(to_tsvector('simple', $3), 'C') WHERE id = $1",
    [ST_FTS_AUTHOR_DEL] = "UPDATE authors SET tsv = NULL WHERE id = $1",
    [ST_FTS_AUTHOR_PUT] = "UPDATE authors SET tsv = to_tsvector('simple', $2) WHERE id = $1",
};

#define CONN(s) ((PGconn *)(s)->conn)
#define RUN_LOCK_KEY "7263002"

static void quiet_notices(void *arg, const char *msg)
{
    (void)arg;
    (void)msg; /* "extension already exists" and the like: not errors */
}

static int pg_result_err(pgr_store *s, pgr_err *err, const char *name, PGresult *res)
{
    int code = PGR_EDB;
    const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    if (state && !strcmp(state, "23505"))
        code = PGR_ECONFLICT;
    else if (state && (!strcmp(state, "40P01") || !strcmp(state, "55P03") ||
                       !strcmp(state, "40001")))
        code = PGR_EBUSY;
    const char *msg = res ? PQresultErrorMessage(res) : NULL;
    if (!msg || !*msg)
        msg = PQerrorMessage(CONN(s));
    return pgr_db_err(s, err, code, name, msg);
}

static int pg_connect(pgr_store *s, const char *url, pgr_err *err)
{
    PGconn *c = PQconnectdb(url);
    if (!c)
        return pgr_errf(err, PGR_ENOMEM, "postgres: connect: out of memory");
    if (PQstatus(c) != CONNECTION_OK) {
        char m[900];
        snprintf(m, sizeof m, "%s", PQerrorMessage(c));
        size_t n = strlen(m);
        while (n && (m[n - 1] == '\n' || m[n - 1] == ' '))
            m[--n] = '\0';
        PQfinish(c);
        return pgr_errf(err, PGR_EIO, "postgres: connect: %s", m);
    }
    PQsetNoticeProcessor(c, quiet_notices, NULL);
    s->conn = c;
    PGresult *r = PQexec(c, "SET client_min_messages = warning; SET TIME ZONE 'UTC'");
    int ok = PQresultStatus(r) == PGRES_COMMAND_OK;
    if (!ok)
        pg_result_err(s, err, "connect_settings", r);
    PQclear(r);
    return ok ? 0 : -1;
}

static void pg_disconnect(pgr_store *s)
{
    if (s->conn)
        PQfinish(CONN(s));
    s->conn = NULL;
}

static int pg_exec(pgr_store *s, const char *name, const char *sql, pgr_err *err)
{
    PGresult *r = PQexec(CONN(s), sql);
    ExecStatusType t = PQresultStatus(r);
    int rc = 0;
    if (t != PGRES_COMMAND_OK && t != PGRES_TUPLES_OK)
        rc = pg_result_err(s, err, name, r);
    PQclear(r);
    return rc;
}

/* Preparing waits for the first execution, which knows the parameter types. */
static int pg_prepare(pgr_stmt *st, pgr_err *err)
{
    (void)err;
    snprintf(st->pg_name, sizeof st->pg_name, "pgr%d", ++st->s->pg_counter);
    st->prepared = 0;
    st->row = -1;
    return 0;
}

static void pg_finalize(pgr_stmt *st)
{
    if (st->h)
        PQclear(st->h);
    st->h = NULL;
    if (st->prepared && st->s->conn) {
        char sql[64];
        snprintf(sql, sizeof sql, "DEALLOCATE %s", st->pg_name);
        PGresult *r = PQexec(CONN(st->s), sql);
        PQclear(r);
    }
}

/* Parameters as libpq wants them: text values and, for the first prepare,
 * their types. bufs holds the formatted numbers. */
static void pg_params(const pgr_stmt *st, Oid *types, const char **values,
                      char (*bufs)[32])
{
    for (int i = 0; i < st->n_params; i++) {
        const pgr_param *p = &st->p[i];
        switch (p->type) {
        case PT_INT:
            types[i] = 20; /* int8 */
            snprintf(bufs[i], sizeof bufs[i], "%lld", (long long)p->i);
            values[i] = bufs[i];
            break;
        case PT_DOUBLE:
            types[i] = 701; /* float8 */
            snprintf(bufs[i], sizeof bufs[i], "%.17g", p->d);
            values[i] = bufs[i];
            break;
        case PT_TEXT:
            types[i] = 25; /* text */
            values[i] = p->s;
            break;
        default:
            types[i] = 0; /* inferred by the server */
            values[i] = NULL;
            break;
        }
    }
}

static int pg_ensure_prepared(pgr_stmt *st, const Oid *types, pgr_err *err)
{
    if (st->prepared)
        return 0;
    PGresult *r = PQprepare(CONN(st->s), st->pg_name, st->sql, st->n_params, types);
    int ok = PQresultStatus(r) == PGRES_COMMAND_OK;
    if (!ok)
        pg_result_err(st->s, err, st->name, r);
    PQclear(r);
    if (!ok)
        return -1;
    st->prepared = 1;
    return 0;
}

/* Takes a finished execution's result into st; -1 (err set) if it failed. */
static int pg_take(pgr_stmt *st, PGresult *r, pgr_err *err)
{
    ExecStatusType t = PQresultStatus(r);
    if (t == PGRES_TUPLES_OK) {
        st->n_rows = PQntuples(r);
        st->changes = 0;
    } else if (t == PGRES_COMMAND_OK) {
        st->n_rows = 0;
        st->changes = atoll(PQcmdTuples(r));
    } else {
        pg_result_err(st->s, err, st->name, r);
        PQclear(r);
        return -1;
    }
    st->h = r;
    st->row = -1;
    return 0;
}

static int pg_step(pgr_stmt *st, pgr_err *err)
{
    pgr_store *s = st->s;
    if (!st->h) { /* first step: execute */
        Oid types[PGR_MAX_PARAMS];
        const char *values[PGR_MAX_PARAMS];
        char bufs[PGR_MAX_PARAMS][32];
        pg_params(st, types, values, bufs);
        if (pg_ensure_prepared(st, types, err) != 0)
            return -1;
        PGresult *r = PQexecPrepared(CONN(s), st->pg_name, st->n_params, values, NULL, NULL, 0);
        if (pg_take(st, r, err) != 0)
            return -1;
    }
    if (st->row + 1 < st->n_rows) {
        st->row++;
        return 1;
    }
    return 0;
}

/* One round trip for n statements: libpq's pipeline mode sends them all,
 * then every result is read (an error still drains the pipeline). */
static int pg_batch(pgr_stmt **sts, int n, pgr_err *err)
{
    PGconn *c = CONN(sts[0]->s);
    Oid types[PGR_MAX_PARAMS];
    const char *values[PGR_MAX_PARAMS];
    char bufs[PGR_MAX_PARAMS][32];
    for (int i = 0; i < n; i++) {
        pg_params(sts[i], types, values, bufs);
        if (pg_ensure_prepared(sts[i], types, err) != 0)
            return -1;
    }
    if (!PQenterPipelineMode(c))
        return pgr_db_err(sts[0]->s, err, PGR_EDB, "batch", PQerrorMessage(c));
    int sent = 0, rc = 0;
    for (; sent < n; sent++) {
        pg_params(sts[sent], types, values, bufs);
        if (!PQsendQueryPrepared(c, sts[sent]->pg_name, sts[sent]->n_params, values, NULL, NULL,
                                 0)) {
            rc = pgr_db_err(sts[0]->s, err, PGR_EDB, sts[sent]->name, PQerrorMessage(c));
            break;
        }
    }
    if (!PQpipelineSync(c) && rc == 0)
        rc = pgr_db_err(sts[0]->s, err, PGR_EDB, "batch", PQerrorMessage(c));
    for (int i = 0; i < sent; i++) {
        PGresult *r = PQgetResult(c);
        if (!r) {
            if (rc == 0)
                rc = pgr_db_err(sts[i]->s, err, PGR_EDB, sts[i]->name, PQerrorMessage(c));
            continue;
        }
        if (rc == 0) {
            if (pg_take(sts[i], r, err) != 0)
                rc = -1;
        } else {
            PQclear(r);
        }
        PGresult *end;
        while ((end = PQgetResult(c)) != NULL) /* the NULL that ends this query */
            PQclear(end);
    }
    PGresult *r;
    while ((r = PQgetResult(c)) != NULL) { /* up to the sync point */
        ExecStatusType t = PQresultStatus(r);
        PQclear(r);
        if (t == PGRES_PIPELINE_SYNC)
            break;
    }
    /* leave pipeline mode; should results remain, drain them first */
    for (int tries = 0; !PQexitPipelineMode(c) && tries < 16; tries++) {
        PGresult *x = PQgetResult(c);
        PQclear(x);
    }
    return rc;
}

static void pg_reset(pgr_stmt *st)
{
    if (st->h)
        PQclear(st->h);
    st->h = NULL;
    st->row = -1;
    st->n_rows = 0;
}

static int pg_col_null(pgr_stmt *st, int col) { return PQgetisnull(st->h, st->row, col); }
static int64_t pg_col_int(pgr_stmt *st, int col)
{
    const char *v = PQgetvalue(st->h, st->row, col);
    return v ? strtoll(v, NULL, 10) : 0;
}
static double pg_col_double(pgr_stmt *st, int col)
{
    const char *v = PQgetvalue(st->h, st->row, col);
    return v ? strtod(v, NULL) : 0;
}
static const char *pg_col_text(pgr_stmt *st, int col)
{
    if (PQgetisnull(st->h, st->row, col))
        return NULL;
    return PQgetvalue(st->h, st->row, col);
}

/* The run lock is a session advisory lock: it dies with the connection. */
static int pg_run_lock(pgr_store *s, int wait, pgr_err *err)
{
    if (s->pg_locked)
        return 0;
    PGresult *r = PQexec(CONN(s), wait ? "SELECT 'x', 't' FROM (SELECT pg_advisory_lock(" RUN_LOCK_KEY ")) l"
                                       : "SELECT 'x', pg_try_advisory_lock(" RUN_LOCK_KEY ")");
    int rc = 0;
    if (PQresultStatus(r) != PGRES_TUPLES_OK)
        rc = pg_result_err(s, err, "run_lock", r);
    else if (strcmp(PQgetvalue(r, 0, 1), "t") != 0)
        rc = pgr_errf(err, PGR_EBUSY, "postgres: another ingest run holds the run lock");
    else
        s->pg_locked = 1;
    PQclear(r);
    return rc;
}

static void pg_run_unlock(pgr_store *s)
{
    if (!s->pg_locked || !s->conn)
        return;
    PGresult *r = PQexec(CONN(s), "SELECT pg_advisory_unlock(" RUN_LOCK_KEY ")");
    PQclear(r);
    s->pg_locked = 0;
}

const pgr_backend pgr_backend_postgres = {
    .name = "postgres",
    .sql = pg_sql,
    .connect = pg_connect,
    .disconnect = pg_disconnect,
    .exec = pg_exec,
    .prepare = pg_prepare,
    .finalize = pg_finalize,
    .step = pg_step,
    .reset = pg_reset,
    .col_null = pg_col_null,
    .col_int = pg_col_int,
    .col_double = pg_col_double,
    .col_text = pg_col_text,
    .run_lock = pg_run_lock,
    .run_unlock = pg_run_unlock,
    .begin_sql = "BEGIN",
    .batch = pg_batch,
};
