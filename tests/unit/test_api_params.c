/* server/api_params: OpenAlex list parameters -> pgr_query, id forms,
 * id URLs in responses. */
#include "server/api.h"
#include "tests/check.h"

#define BASE "http://127.0.0.1:8080"

static pgr_arena arena;
static pgr_err err;

/* Parses "a=1&b=2" (already decoded: no escapes in these tests). */
static int parse(pgr_entity e, const char *qs, pgr_query *q)
{
    srv_kv kv[16];
    size_t n = 0;
    char *copy = pgr_arena_strdup(&arena, qs);
    for (char *tok = strtok(copy, "&"); tok && n < 16; tok = strtok(NULL, "&")) {
        char *eq = strchr(tok, '=');
        kv[n].name = tok;
        kv[n].value = "";
        if (eq) {
            *eq = '\0';
            kv[n].value = eq + 1;
        }
        n++;
    }
    pgr_err_clear(&err);
    return api_parse_list(&arena, BASE, e, kv, n, q, &err);
}

static void test_defaults_and_paging(void)
{
    pgr_query q;
    CHECK(parse(PGR_WORKS, "", &q) == 0);
    CHECK_INT(q.per_page, 25);
    CHECK(q.cursor == NULL && q.search == NULL && q.n_filters == 0);
    CHECK(parse(PGR_WORKS, "per-page=200&cursor=*", &q) == 0);
    CHECK_INT(q.per_page, 200);
    CHECK_STR(q.cursor, "*");
    CHECK(parse(PGR_WORKS, "per_page=7&page=3", &q) == 0);
    CHECK_INT(q.per_page, 7);
    CHECK_INT(q.page, 3);
    const char *bad[] = {"per-page=0",
                         "per-page=201",
                         "per-page=-1",
                         "per-page=99999999999999999999",
                         "per-page=abc",
                         "per-page=",
                         "per-page=1.5",
                         "per-page=1&per_page=2",
                         "page=0",
                         "page=100&per-page=200",
                         "page=1&cursor=*",
                         "cursor=",
                         "bogus=1",
                         "filter=a&filter=b",
                         "sort=nope",
                         "sort=relevance_score",
                         "sort=cited_by_count:up",
                         "group_by=title",
                         "select=authorships.author",
                         "select=id&group_by=type"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        CHECK_MSG(parse(PGR_WORKS, bad[i], &q) < 0, "accepted %s", bad[i]);
        CHECK(err.code == PGR_EINVAL);
    }
    /* the message names the parameter */
    CHECK(parse(PGR_WORKS, "bogus=1", &q) < 0);
    CHECK(strstr(err.msg, "bogus") != NULL);
    CHECK(parse(PGR_WORKS, "per-page=0", &q) < 0);
    CHECK(strstr(err.msg, "per-page") != NULL);
}

static void test_filters(void)
{
    pgr_query q;
    CHECK(parse(PGR_WORKS,
                "filter=publication_year:2020-2023,type:article|preprint,has_code:true,"
                "cited_by_count:>10,authorships.author.id:" BASE "/A5,doi:https://doi.org/10.1/ABC",
                &q) == 0);
    CHECK_INT(q.n_filters, 6);
    CHECK_STR(q.filters[0].field, "publication_year");
    CHECK_INT(q.filters[0].op, PGR_OP_RANGE);
    CHECK_STR(q.filters[0].values[0], "2020");
    CHECK_STR(q.filters[0].values[1], "2023");
    CHECK_INT(q.filters[1].op, PGR_OP_EQ);
    CHECK_INT(q.filters[1].n_values, 2);
    CHECK_STR(q.filters[1].values[1], "preprint");
    CHECK_INT(q.filters[3].op, PGR_OP_GT);
    CHECK_STR(q.filters[3].values[0], "10");
    CHECK_STR(q.filters[4].values[0], "A5");
    CHECK_STR(q.filters[5].field, "doi");
    CHECK_STR(q.filters[5].values[0], "10.1/abc");
    /* negation, aliases, AND inside a key ('+' decodes to a space) */
    CHECK(parse(PGR_WORKS, "filter=type:!article,openalex_id:W1|w2,author.id:A1 A2", &q) == 0);
    CHECK_INT(q.n_filters, 4);
    CHECK_INT(q.filters[0].op, PGR_OP_NE);
    CHECK_STR(q.filters[1].field, "id"); /* this API's own ids */
    CHECK_STR(q.filters[1].values[1], "W2");
    CHECK_STR(q.filters[2].field, "authorships.author.id");
    CHECK_STR(q.filters[3].values[0], "A2");
    CHECK(parse(PGR_WORKS, "filter=openalex_id:https://openalex.org/W2741809807", &q) == 0);
    CHECK_STR(q.filters[0].field, "ids.openalex"); /* OpenAlex's ids */
    CHECK_STR(q.filters[0].values[0], "W2741809807");
    CHECK(parse(PGR_WORKS, "filter=openalex_id:W1|https://openalex.org/W2", &q) < 0);
    CHECK(parse(PGR_WORKS, "filter=openalex_id:banana", &q) < 0);
    CHECK(parse(PGR_WORKS, "filter=from_publication_date:2020-01-01", &q) == 0);
    CHECK(parse(PGR_WORKS, "filter=from_publication_date:2020", &q) < 0);
    /* title.search goes into the full-text search; relevance sort allowed */
    CHECK(parse(PGR_WORKS, "filter=title.search:graph&search=neural&sort=relevance_score:desc",
                &q) == 0);
    CHECK_STR(q.search, "(neural) (graph)");
    CHECK_INT(q.n_sorts, 1);
    CHECK(q.sorts[0].desc == 1);
    CHECK(parse(PGR_AUTHORS, "filter=display_name.search:smith,works_count:5-", &q) == 0);
    CHECK_STR(q.filters[0].field, "display_name.search");
    CHECK_INT(q.filters[1].op, PGR_OP_RANGE);
    CHECK_STR(q.filters[1].values[1], "");
    const char *bad[] = {"filter=nokey",
                         "filter=year:2020",
                         "filter=publication_year:20x0",
                         "filter=publication_year:2023-2020",
                         "filter=publication_year:-",
                         "filter=publication_year:1-2-3",
                         "filter=publication_year:!<5",
                         "filter=has_code:yes",
                         "filter=type:",
                         "filter=type:a||b",
                         "filter=title.search:\"unclosed",
                         "filter=doi:notadoi",
                         "filter=publication_year:2020;DROP TABLE works",
                         "search=(a OR"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        CHECK_MSG(parse(PGR_WORKS, bad[i], &q) < 0, "accepted %s", bad[i]);
        CHECK_MSG(strncmp(err.msg, "filter", 6) == 0 || strncmp(err.msg, "search", 6) == 0,
                  "message does not name the parameter: %s", err.msg);
    }
    /* display_name.search is an author filter, not a works one (there it is
     * a title search) */
    CHECK(parse(PGR_WORKS, "filter=display_name.search:graph", &q) == 0);
    CHECK_STR(q.search, "(graph)");
    CHECK(parse(PGR_AUTHORS, "filter=publication_year:2020", &q) < 0);
}

static void test_norm_id(void)
{
    CHECK_STR(api_norm_id(&arena, BASE, "W12"), "W12");
    CHECK_STR(api_norm_id(&arena, BASE, "w12"), "W12");
    CHECK_STR(api_norm_id(&arena, BASE, BASE "/A5"), "A5");
    CHECK_STR(api_norm_id(&arena, BASE, "https://other.example/T3"), "T3");
    CHECK_STR(api_norm_id(&arena, BASE, "https://doi.org/10.1/ABC"), "doi:10.1/abc");
    CHECK_STR(api_norm_id(&arena, BASE, "DOI:10.1/X"), "doi:10.1/x");
    CHECK_STR(api_norm_id(&arena, BASE, "10.1/x"), "doi:10.1/x");
    CHECK_STR(api_norm_id(&arena, BASE, "https://arxiv.org/abs/2605.14217"), "arxiv:2605.14217");
    CHECK_STR(api_norm_id(&arena, BASE, "https://openalex.org/W2741809807"),
              "openalex:W2741809807");
    CHECK_STR(api_norm_id(&arena, BASE, "arxiv:2605.14217"), "arxiv:2605.14217");
    CHECK_STR(api_norm_id(&arena, BASE, "W0"), "W0"); /* not a key: the store refuses it */
    CHECK(api_norm_id(&arena, BASE, "") == NULL);
}

static void test_rewrite(void)
{
    json_t *j =
        json_pack("{s:s,s:[{s:{s:s,s:s}}],s:[s,s],s:{s:s},s:[{s:s,s:i}]}", "id", "W1",
                  "authorships", "author", "id", "A2", "display_name", "W3", "referenced_works",
                  "W4", "not-a-key", "ids", "openalex", "W9", "group_by", "key", "A7", "count", 3);
    CHECK(api_rewrite_ids(j, BASE, 1) == 0);
    CHECK_STR(json_string_value(json_object_get(j, "id")), BASE "/W1");
    json_t *au = json_object_get(json_array_get(json_object_get(j, "authorships"), 0), "author");
    CHECK_STR(json_string_value(json_object_get(au, "id")), BASE "/A2");
    CHECK_STR(json_string_value(json_object_get(au, "display_name")), "W3");
    /* "source" holding an object (primary_location) is walked into */
    json_t *loc = json_pack("{s:{s:s}}", "source", "id", "S4");
    CHECK(api_rewrite_ids(loc, BASE, 0) == 0);
    CHECK_STR(json_string_value(json_object_get(json_object_get(loc, "source"), "id")), BASE "/S4");
    json_decref(loc);
    json_t *refs = json_object_get(j, "referenced_works");
    CHECK_STR(json_string_value(json_array_get(refs, 0)), BASE "/W4");
    CHECK_STR(json_string_value(json_array_get(refs, 1)), "not-a-key");
    CHECK_STR(json_string_value(json_object_get(json_object_get(j, "ids"), "openalex")), "W9");
    json_t *g = json_array_get(json_object_get(j, "group_by"), 0);
    CHECK_STR(json_string_value(json_object_get(g, "key")), BASE "/A7");
    json_decref(j);
    /* without keys_are_ids, group keys ("2020", "article") stay */
    j = json_pack("{s:[{s:s}]}", "group_by", "key", "T5");
    CHECK(api_rewrite_ids(j, BASE, 0) == 0);
    CHECK_STR(json_string_value(
                  json_object_get(json_array_get(json_object_get(j, "group_by"), 0), "key")),
              "T5");
    json_decref(j);
}

static void test_cache(void)
{
    size_t len = 0;
    char etag[65], want[65];
    api_cache_put("A|A1|", 7, "{\"id\":1}", 8);
    char *b = api_cache_get("A|A1|", 7, &len, etag);
    CHECK(b != NULL);
    CHECK_INT(len, 8);
    CHECK_STR(b, "{\"id\":1}");
    /* the body's SHA-256, hashed when it was kept */
    pgr_sha256_hex("{\"id\":1}", 8, want);
    CHECK_STR(etag, want);
    free(b);
    /* another data version, another key: misses */
    CHECK(api_cache_get("A|A1|", 8, &len, etag) == NULL);
    CHECK(api_cache_get("A|A2|", 7, &len, etag) == NULL);
    /* replaced in place */
    api_cache_put("A|A1|", 8, "{}", 2);
    b = api_cache_get("A|A1|", 8, &len, etag);
    CHECK(b && len == 2);
    free(b);
    /* too big to keep */
    char *big = calloc(300 * 1024, 1);
    CHECK(big != NULL);
    memset(big, 'x', 300 * 1024 - 1);
    api_cache_put("A|big|", 8, big, strlen(big));
    free(big);
    CHECK(api_cache_get("A|big|", 8, &len, etag) == NULL);
    api_cache_clear();
    CHECK(api_cache_get("A|A1|", 8, &len, etag) == NULL);
}

int main(void)
{
    RUN(test_defaults_and_paging);
    RUN(test_filters);
    RUN(test_norm_id);
    RUN(test_rewrite);
    RUN(test_cache);
    pgr_arena_free(&arena);
    return check_summary("test_api_params");
}
