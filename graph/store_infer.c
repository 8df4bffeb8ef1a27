/* Store functions for inference: adapter registration shared by
 * `peergraph adapt` and the trainer, and the summary cache (schema
 * 003_summaries.sql). Written once for both backends. */
#include <string.h>

#include "graph/graph.h"
#include "graph/store_impl.h"

int pgr_adapter_register(pgr_store *s, const pgr_adapter_rec *a, pgr_id *id, int *created,
                         pgr_err *err)
{
    *id = 0;
    if (created)
        *created = 0;
    if (a->author <= 0 || !a->path)
        return pgr_errf(err, PGR_EINVAL, "adapter_register: author and path are required");
    int own, rc = -1;
    if (pgr_tx_enter(s, &own, err) != 0)
        return -1;
    pgr_stmt *st = pgr_st(s, ST_ADAPTER_FIND_PATH, err);
    if (st) {
        pgr_bind_int(st, 1, a->author);
        pgr_bind_text(st, 2, a->path);
        rc = pgr_query_id(st, id, err);
    }
    if (rc == 0 && *id == 0) { /* nested: pgr_adapter_add joins our transaction */
        rc = pgr_adapter_add(s, a, id, err);
        if (rc == 0 && created)
            *created = 1;
    }
    return pgr_tx_leave(s, own, rc, err);
}

int pgr_adapter_current(pgr_store *s, pgr_id author, const char *model_sha256, json_t **row,
                        json_t **other, pgr_err *err)
{
    json_t *list;
    *row = NULL;
    if (other)
        *other = NULL;
    if (!model_sha256)
        return pgr_errf(err, PGR_EINVAL, "adapter_current: model_sha256 is required");
    if (pgr_adapter_list(s, author, &list, err) != 0)
        return -1;
    size_t i;
    json_t *r;
    json_array_foreach(list, i, r) /* newest first */
    {
        const char *sha = json_string_value(json_object_get(r, "base_model_sha256"));
        const int mine = sha && strcmp(sha, model_sha256) == 0;
        if (mine && !*row)
            *row = json_incref(r);
        else if (!mine && other && !*other)
            *other = json_incref(r);
    }
    json_decref(list);
    return 0;
}

static int key_check(const pgr_summary_key *k, const char *where, pgr_err *err)
{
    if (k->author <= 0 || !k->data_sha256 || !k->adapter || !k->model_sha256)
        return pgr_errf(err, PGR_EINVAL, "%s: author, data, adapter and model are required",
                        where);
    return 0;
}

int pgr_summary_get(pgr_store *s, const pgr_summary_key *k, char **text, int *n_tokens,
                    pgr_err *err)
{
    *text = NULL;
    if (n_tokens)
        *n_tokens = 0;
    if (key_check(k, "summary_get", err) != 0)
        return -1;
    pgr_stmt *st = pgr_st(s, ST_SUMMARY_GET, err);
    if (!st)
        return -1;
    pgr_bind_int(st, 1, k->author);
    pgr_bind_text(st, 2, k->data_sha256);
    pgr_bind_text(st, 3, k->adapter);
    pgr_bind_text(st, 4, k->model_sha256);
    int rc = pgr_step(st, err);
    if (rc == 1) {
        const char *t = pgr_col_text(st, 0);
        *text = strdup(t ? t : "");
        if (n_tokens)
            *n_tokens = (int)pgr_col_int(st, 1);
        if (!*text)
            rc = pgr_errf(err, PGR_ENOMEM, "summary_get: out of memory");
    }
    pgr_reset(st);
    if (rc < 0)
        return -1;
    if (rc == 0)
        return pgr_errf(err, PGR_ENOTFOUND, "summary_get: no cached summary");
    return 0;
}

/* Not a change to the graph: data_version (and with it the server's ETags)
 * stays as it is, so s->wrote is left alone. */
int pgr_summary_put(pgr_store *s, const pgr_summary_key *k, const char *text, int n_tokens,
                    pgr_err *err)
{
    if (key_check(k, "summary_put", err) != 0)
        return -1;
    if (!text)
        return pgr_errf(err, PGR_EINVAL, "summary_put: no text");
    char now[32];
    pgr_now_iso(now);
    int own, rc = -1;
    if (pgr_tx_enter(s, &own, err) != 0)
        return -1;
    pgr_stmt *st = pgr_st(s, ST_SUMMARY_PRUNE, err);
    if (st) {
        pgr_bind_int(st, 1, k->author);
        pgr_bind_text(st, 2, k->adapter);
        pgr_bind_text(st, 3, k->model_sha256);
        pgr_bind_text(st, 4, k->data_sha256);
        rc = pgr_exec_st(st, err);
    }
    if (rc == 0) {
        rc = -1;
        if ((st = pgr_st(s, ST_SUMMARY_PUT, err))) {
            pgr_bind_int(st, 1, k->author);
            pgr_bind_text(st, 2, k->data_sha256);
            pgr_bind_text(st, 3, k->adapter);
            pgr_bind_text(st, 4, k->model_sha256);
            pgr_bind_text(st, 5, text);
            pgr_bind_int(st, 6, n_tokens);
            pgr_bind_text(st, 7, now);
            rc = pgr_exec_st(st, err);
        }
    }
    return pgr_tx_leave(s, own, rc, err);
}
