/* See search_page.h. */
#include "tests/support/search_page.h"

#include <stdio.h>

char *search_page(pgr_store *s, const char *search, int per_page, int pg, const char *cursor,
                  const pgr_filter *f, size_t nf)
{
    pgr_query q = {.entity = PGR_WORKS, .search = search, .per_page = per_page, .page = pg,
                   .cursor = cursor, .filters = f, .n_filters = nf,
                   .select = (const char *[]){"id", "relevance_score"}, .n_select = 2};
    json_t *j = NULL;
    pgr_err err = {0};
    if (pgr_list(s, &q, &j, &err) != 0) {
        fprintf(stderr, "    list %s: %s\n", search, err.msg);
        return NULL;
    }
    pgr_sb sb = {0};
    size_t i;
    json_t *r;
    json_array_foreach(json_object_get(j, "results"), i, r)
        pgr_sb_printf(&sb, "%s:%.17g ", json_string_value(json_object_get(r, "id")),
                      json_real_value(json_object_get(r, "relevance_score")));
    json_t *m = json_object_get(j, "meta");
    json_t *nc = json_object_get(m, "next_cursor");
    pgr_sb_printf(&sb, "|%s|%lld", json_is_string(nc) ? json_string_value(nc) : "-",
                  (long long)json_integer_value(json_object_get(m, "count")));
    json_decref(j);
    return sb.data;
}
