/* libFuzzer target: the JSON API's list parameters (api_parse_list, with the
 * search grammar behind it), id normalisation and id rewriting. Input: a
 * query string "a=b&c=d" (no percent-decoding; the HTTP core has done that),
 * first byte picks the entity. Must never crash, leak or read out of bounds. */
#include <stdlib.h>
#include <string.h>

#include "server/api.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > 8192)
        return 0;
    pgr_entity e = (pgr_entity)(data[0] % PGR_N_ENTITIES);
    char *s = malloc(size);
    if (!s)
        return 0;
    memcpy(s, data + 1, size - 1);
    s[size - 1] = '\0';
    srv_kv kv[32];
    size_t n = 0;
    char *save = NULL;
    for (char *tok = strtok_r(s, "&", &save); tok && n < 32; tok = strtok_r(NULL, "&", &save)) {
        char *eq = strchr(tok, '=');
        kv[n].name = tok;
        kv[n].value = "";
        if (eq) {
            *eq = '\0';
            kv[n].value = eq + 1;
        }
        n++;
    }
    pgr_arena a = {0};
    pgr_query q;
    pgr_err err = {0};
    (void)api_parse_list(&a, "http://h:1", e, kv, n, &q, &err);
    for (size_t i = 0; i < n; i++) {
        const char *id = api_norm_id(&a, "http://h:1", kv[i].value);
        json_t *j = json_pack("{s:s?,s:[s?],s:[{s:s?}]}", "id", id, "referenced_works", id,
                              "group_by", "key", kv[i].name);
        if (j) {
            (void)api_rewrite_ids(j, "http://h:1", 1);
            json_decref(j);
        }
    }
    pgr_arena_free(&a);
    free(s);
    return 0;
}
