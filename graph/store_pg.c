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

/* Queued writes (pgr_exec_queued: pg_queue below), in s->pend. */
#define PEND_CHUNK 512 /* statements a pipeline round: their results stay far
                        * below a socket buffer, so sending all of them before
                        * reading cannot leave both ends blocked */
typedef struct pend_entry {
    pgr_stmt *st;
    int n;
    size_t off[PGR_MAX_PARAMS]; /* into buf; (size_t)-1 = NULL */
    size_t place;               /* s->place when it was queued: into buf; -1 = none */
} pend_entry;
typedef struct pg_pend {
    pend_entry *e;
    size_t n, cap;
    pgr_sb buf;        /* the parameters' text and the places, NUL-terminated */
    size_t last_place; /* the place the last entry copied (shared while it holds); -1 = none */
} pg_pend;
#define PEND(s) ((pg_pend *)(s)->pend)
static int pend_flush(pgr_store *s, pgr_stmt **sts, int n, pgr_err *err);
static void pend_clear(pgr_store *s);
static void pend_free(pgr_store *s);
#define RUN_LOCK_KEY "7263002"

static void quiet_notices(void *arg, const char *msg)
{
    (void)arg;
    (void)msg; /* "extension already exists" and the like: not errors */
}

/* place: where the failed statement came from (s->place, or a queued
 * write's own). */
static int pg_result_err_at(pgr_store *s, pgr_err *err, const char *place, const char *name,
                            PGresult *res)
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
    return pgr_db_err_at(s, err, code, place, name, msg);
}

static int pg_result_err(pgr_store *s, pgr_err *err, const char *name, PGresult *res)
{
    return pg_result_err_at(s, err, s->place, name, res);
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
    pend_free(s);
    if (s->conn)
        PQfinish(CONN(s));
    s->conn = NULL;
}

static int pg_exec(pgr_store *s, const char *name, const char *sql, pgr_err *err)
{
    if (s->pend && PEND(s)->n) {
        /* ROLLBACK drops them; anything else runs after them */
        if (!strcmp(sql, "ROLLBACK"))
            pend_clear(s);
        else if (pend_flush(s, NULL, 0, err) != 0)
            return -1;
    }
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

/* The statement's parameters as text (values point into bufs or its own
 * strings), prepared on the server the first time; -1 with err. */
static int pg_bind(pgr_stmt *st, Oid *types, const char **values, char (*bufs)[32],
                   pgr_err *err)
{
    pg_params(st, types, values, bufs);
    return pg_ensure_prepared(st, types, err);
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
    if (!st->h && s->pend && PEND(s)->n) { /* pending writes first, same round trip */
        if (pend_flush(s, &st, 1, err) != 0)
            return -1;
    } else if (!st->h) { /* first step: execute */
        Oid types[PGR_MAX_PARAMS];
        const char *values[PGR_MAX_PARAMS];
        char bufs[PGR_MAX_PARAMS][32];
        if (pg_bind(st, types, values, bufs, err) != 0)
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

/* ---- writes whose results nobody reads (pgr_exec_queued) ----
 * They wait in s->pend, parameters copied, and go to the server in one
 * pipeline with the next statement whose answer is needed (or at commit, or
 * every 8 * PEND_CHUNK): a write costs no round trip of its own. The server
 * runs them in order before that statement, so every read sees every earlier
 * write. A failing write is reported at the next round trip, naming its
 * statement and the input place it was queued at (pgr_set_place), which is
 * not the place current by then; the transaction is then aborted, as after
 * any failed write. */

static const char *pend_place(const pg_pend *pd, const pend_entry *e)
{
    return e->place == (size_t)-1 ? NULL : pd->buf.data + e->place;
}

static void pend_clear(pgr_store *s)
{
    if (!s->pend)
        return;
    PEND(s)->n = 0;
    PEND(s)->last_place = (size_t)-1;
    pgr_sb_reset(&PEND(s)->buf);
}

static void pend_free(pgr_store *s)
{
    if (!s->pend)
        return;
    free(PEND(s)->e);
    pgr_sb_free(&PEND(s)->buf);
    free(s->pend);
    s->pend = NULL;
}

/* Sends the pending writes [*from, *from + PEND_CHUNK) (none when from is
 * NULL) and then sts[0..n) in one pipeline, and reads every result: those of
 * sts go to the statements (read with step as usual); a failed write or
 * statement makes it -1 (an error drains the pipeline all the same). */
static int pg_pipeline(pgr_store *s, size_t *from, pgr_stmt **sts, int n, pgr_err *err)
{
    PGconn *c = CONN(s);
    pg_pend *pd = PEND(s);
    size_t first = from ? *from : 0;
    size_t last = from ? (pd->n - first > PEND_CHUNK ? first + PEND_CHUNK : pd->n) : first;
    Oid types[PGR_MAX_PARAMS];
    const char *values[PGR_MAX_PARAMS];
    char bufs[PGR_MAX_PARAMS][32];
    for (int i = 0; i < n; i++) {
        if (pg_bind(sts[i], types, values, bufs, err) != 0)
            return -1;
    }
    if (!PQenterPipelineMode(c))
        return pgr_db_err(s, err, PGR_EDB, "pipeline", PQerrorMessage(c));
    int rc = 0, sent = 0;
    size_t sent_p = 0;
    for (size_t k = first; rc == 0 && k < last; k++) {
        const pend_entry *e = &pd->e[k];
        for (int i = 0; i < e->n; i++)
            values[i] = e->off[i] == (size_t)-1 ? NULL : pd->buf.data + e->off[i];
        if (!PQsendQueryPrepared(c, e->st->pg_name, e->n, values, NULL, NULL, 0))
            rc = pgr_db_err_at(s, err, PGR_EDB, pend_place(pd, e), e->st->name,
                               PQerrorMessage(c));
        else
            sent_p++;
    }
    for (; rc == 0 && sent < n; sent++) {
        pg_params(sts[sent], types, values, bufs);
        if (!PQsendQueryPrepared(c, sts[sent]->pg_name, sts[sent]->n_params, values, NULL, NULL,
                                 0)) {
            rc = pgr_db_err(s, err, PGR_EDB, sts[sent]->name, PQerrorMessage(c));
            break;
        }
    }
    if (!PQpipelineSync(c) && rc == 0)
        rc = pgr_db_err(s, err, PGR_EDB, "pipeline", PQerrorMessage(c));
    for (size_t k = 0; k < sent_p + (size_t)sent; k++) {
        int is_st = k >= sent_p;
        pgr_stmt *st = is_st ? sts[k - sent_p] : pd->e[first + k].st;
        /* a queued write names the place it was queued at */
        const char *place = is_st ? s->place : pend_place(pd, &pd->e[first + k]);
        PGresult *r = PQgetResult(c);
        if (!r) {
            if (rc == 0)
                rc = pgr_db_err_at(s, err, PGR_EDB, place, st->name, PQerrorMessage(c));
            continue;
        }
        if (is_st && rc == 0) {
            if (pg_take(st, r, err) != 0)
                rc = -1;
        } else {
            ExecStatusType t = PQresultStatus(r);
            if (rc == 0 && t != PGRES_COMMAND_OK && t != PGRES_TUPLES_OK)
                rc = pg_result_err_at(s, err, place, st->name, r);
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
    if (from)
        *from = last;
    return rc;
}

/* Sends every pending write, in rounds of PEND_CHUNK; sts[0..n) (may be
 * none) go in the last round. */
static int pend_flush(pgr_store *s, pgr_stmt **sts, int n, pgr_err *err)
{
    size_t from = 0;
    int rc = 0;
    while (rc == 0 && s->pend && from < PEND(s)->n) {
        int with = PEND(s)->n - from <= PEND_CHUNK ? n : 0;
        rc = pg_pipeline(s, &from, sts, with, err);
        if (with)
            n = 0;
    }
    pend_clear(s);
    if (rc == 0 && n)
        rc = pg_pipeline(s, NULL, sts, n, err);
    return rc;
}

static int pg_queue(pgr_stmt *st, pgr_err *err)
{
    pgr_store *s = st->s;
    if (!s->pend) {
        if (!(s->pend = calloc(1, sizeof(pg_pend))))
            return pgr_errf(err, PGR_ENOMEM, "postgres: %s: out of memory", st->name);
        PEND(s)->last_place = (size_t)-1;
    }
    pg_pend *pd = PEND(s);
    Oid types[PGR_MAX_PARAMS];
    const char *values[PGR_MAX_PARAMS];
    char bufs[PGR_MAX_PARAMS][32];
    if (pg_bind(st, types, values, bufs, err) != 0)
        return -1;
    if (pd->n == pd->cap) {
        size_t cap = pd->cap ? pd->cap * 2 : 1024;
        pend_entry *ne = realloc(pd->e, cap * sizeof *ne);
        if (!ne)
            return pgr_errf(err, PGR_ENOMEM, "postgres: %s: out of memory", st->name);
        pd->e = ne;
        pd->cap = cap;
    }
    pend_entry *e = &pd->e[pd->n];
    e->st = st;
    e->n = st->n_params;
    for (int i = 0; i < st->n_params; i++) {
        e->off[i] = (size_t)-1;
        if (values[i]) {
            e->off[i] = pd->buf.len;
            pgr_sb_append(&pd->buf, values[i], strlen(values[i]) + 1);
        }
    }
    /* the place, copied once for the run of writes made at it */
    e->place = (size_t)-1;
    if (s->place[0]) {
        if (pd->last_place == (size_t)-1 || !pd->buf.data ||
            strcmp(pd->buf.data + pd->last_place, s->place)) {
            pd->last_place = pd->buf.len;
            pgr_sb_append(&pd->buf, s->place, strlen(s->place) + 1);
        }
        e->place = pd->last_place;
    }
    if (!pgr_sb_ok(&pd->buf))
        return pgr_errf(err, PGR_ENOMEM, "postgres: %s: out of memory", st->name);
    pd->n++;
    /* a long stretch of writes without a read: send them, memory stays bounded */
    return pd->n >= 8 * PEND_CHUNK ? pend_flush(s, NULL, 0, err) : 0;
}

/* One round trip for n statements (and the pending writes before them). */
static int pg_batch(pgr_stmt **sts, int n, pgr_err *err)
{
    return pend_flush(sts[0]->s, sts, n, err);
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
    .queue = pg_queue,
};
