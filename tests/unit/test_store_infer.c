/* graph/store_infer.c on both backends: adapter registration (once per path,
 * newest row first in pgr_adapter_list) and the summary cache (a hit only
 * when author, data, adapter and model all match; a put for new data prunes
 * the author's older rows of that adapter and model; data_version stays). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "graph/graph.h"
#include "tests/check.h"
#include "tests/support/graphgen.h"

static int backend;

static pgr_id add_author(pgr_store *s, const char *name)
{
    pgr_err err = {0};
    pgr_id src = 0, id = 0;
    char uri[64];
    snprintf(uri, sizeof uri, "test:%s", name);
    pgr_source_doc d = {uri, "test", "00", "2026-11-22", 0};
    pgr_author_rec a = {name, name, NULL, NULL, NULL};
    int created = 0;
    if (pgr_source_upsert(s, &d, &src, &err) != 0 ||
        pgr_author_upsert(s, src, 0, &a, &id, &created, &err) != 0)
        fprintf(stderr, "    add_author %s: %s\n", name, err.msg);
    return id;
}

static void test_register(pgr_store *s)
{
    pgr_err err = {0};
    pgr_id a = add_author(s, "ada lovelace");
    CHECK(a > 0);
    pgr_adapter_rec rec = {a, "lora", "prefill", 8, "/x/a.pgad", "abc", NULL};
    pgr_id id1 = 0, id2 = 0, id3 = 0;
    int created = -1;
    CHECK_INT(pgr_adapter_register(s, &rec, &id1, &created, &err), 0);
    CHECK(id1 > 0);
    CHECK_INT(created, 1);
    CHECK_INT(pgr_adapter_register(s, &rec, &id2, &created, &err), 0);
    CHECK(id2 == id1);
    CHECK_INT(created, 0);
    rec.path = "/x/b.pgad";
    rec.method = "loreft";
    CHECK_INT(pgr_adapter_register(s, &rec, &id3, NULL, &err), 0);
    CHECK(id3 > id1);
    json_t *list = NULL;
    CHECK_INT(pgr_adapter_list(s, a, &list, &err), 0);
    CHECK_INT((int)json_array_size(list), 2);
    json_t *newest = json_array_get(list, 0);
    CHECK(json_integer_value(json_object_get(newest, "id")) == id3);
    CHECK_STR(json_string_value(json_object_get(newest, "method")), "loreft");
    CHECK_STR(json_string_value(json_object_get(newest, "path")), "/x/b.pgad");
    CHECK_STR(json_string_value(json_object_get(newest, "base_model_sha256")), "abc");
    CHECK_INT((int)json_integer_value(json_object_get(newest, "rank")), 8);
    json_decref(list);
    rec.path = NULL;
    CHECK(pgr_adapter_register(s, &rec, &id1, NULL, &err) != 0);
    CHECK_INT(err.code, PGR_EINVAL);
}

static int cached(pgr_store *s, pgr_id a, const char *data, const char *ad, const char *model,
                  char **text)
{
    pgr_err err = {0};
    pgr_summary_key k = {a, data, ad, model};
    int n = 0;
    int rc = pgr_summary_get(s, &k, text, &n, &err);
    if (rc != 0 && err.code != PGR_ENOTFOUND)
        fprintf(stderr, "    summary_get: %s\n", err.msg);
    return rc == 0 ? n : -1;
}

static void test_summary_cache(pgr_store *s)
{
    pgr_err err = {0};
    pgr_id a = add_author(s, "grace hopper"), b = add_author(s, "alan turing");
    int64_t v0 = 0, v1 = 0;
    CHECK_INT(pgr_data_version(s, &v0, &err), 0);
    pgr_summary_key k = {a, "d1", "none", "m1"};
    char *t = NULL;
    CHECK_INT(cached(s, a, "d1", "none", "m1", &t), -1);
    CHECK_INT(pgr_summary_put(s, &k, "first summary", 7, &err), 0);
    CHECK_INT(pgr_data_version(s, &v1, &err), 0);
    CHECK(v0 == v1); /* a cache write is no change to the graph */
    CHECK_INT(cached(s, a, "d1", "none", "m1", &t), 7);
    CHECK_STR(t, "first summary");
    free(t);
    /* every part of the key matters */
    CHECK_INT(cached(s, a, "d2", "none", "m1", &t), -1);
    CHECK_INT(cached(s, a, "d1", "adapter:1", "m1", &t), -1);
    CHECK_INT(cached(s, a, "d1", "none", "m2", &t), -1);
    CHECK_INT(cached(s, b, "d1", "none", "m1", &t), -1);
    /* the same key replaces */
    CHECK_INT(pgr_summary_put(s, &k, "second", 3, &err), 0);
    CHECK_INT(cached(s, a, "d1", "none", "m1", &t), 3);
    CHECK_STR(t, "second");
    free(t);
    /* another adapter keeps its own row; new data prunes the old row of the
     * same adapter and model only */
    pgr_summary_key ka = {a, "d1", "adapter:1", "m1"};
    CHECK_INT(pgr_summary_put(s, &ka, "adapted", 4, &err), 0);
    pgr_summary_key k2 = {a, "d2", "none", "m1"};
    CHECK_INT(pgr_summary_put(s, &k2, "new data", 5, &err), 0);
    CHECK_INT(cached(s, a, "d1", "none", "m1", &t), -1);
    CHECK_INT(cached(s, a, "d2", "none", "m1", &t), 5);
    free(t);
    CHECK_INT(cached(s, a, "d1", "adapter:1", "m1", &t), 4);
    free(t);
    pgr_summary_key bad = {a, NULL, "none", "m1"};
    CHECK(pgr_summary_put(s, &bad, "x", 1, &err) != 0);
    CHECK_INT(err.code, PGR_EINVAL);
}

static void run_backend(int b, const char *name)
{
    backend = b;
    const char *why = NULL;
    char *url = gg_fresh_db(backend, "store_infer", &why);
    if (!url) {
        SKIP("%s", why);
    }
    pgr_store *s = NULL;
    pgr_err err = {0};
    if (pgr_store_open(url, &s, &err) != 0) {
        free(url);
        CHECK_MSG(0, "open %s: %s", name, err.msg);
        return;
    }
    test_register(s);
    test_summary_cache(s);
    pgr_store_close(s);
    free(url);
}

static void test_sqlite(void) { run_backend(GG_SQLITE, "sqlite"); }
static void test_postgres(void) { run_backend(GG_PG, "postgres"); }

int main(void)
{
    RUN(test_sqlite);
    RUN(test_postgres);
    gg_cleanup();
    return check_summary("test_store_infer");
}
