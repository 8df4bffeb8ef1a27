/* libFuzzer target: differential test of jscan (indexer/jscan.c) against
 * Jansson. Both must accept or reject the same documents, and on acceptance
 * build the same tree. Known, intended differences are excluded: nesting
 * past jscan's 64 levels, and integers too big for Jansson's json_int_t
 * (jscan reads every number as a double), and a raw NUL byte, where Jansson
 * stops reading (jscan must reject it). Duplicate keys: both keep the last. */
#include <jansson.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "indexer/ixjson.h"
#include "indexer/jscan.h"

static void same(const jv *a, json_t *b)
{
    switch (a->type) {
    case JV_NULL:
        if (!json_is_null(b))
            abort();
        break;
    case JV_TRUE:
        if (!json_is_true(b))
            abort();
        break;
    case JV_FALSE:
        if (!json_is_false(b))
            abort();
        break;
    case JV_NUM:
        if (!json_is_number(b) || !(fabs(a->u.num - json_number_value(b)) <= 1e-9 * fabs(a->u.num)))
            abort();
        break;
    case JV_STR:
        if (!json_is_string(b) || json_string_length(b) != a->n ||
            memcmp(json_string_value(b), a->u.s, a->n) || a->u.s[a->n] != '\0')
            abort();
        break;
    case JV_ARR:
        if (!json_is_array(b) || json_array_size(b) != a->n)
            abort();
        for (uint32_t i = 0; i < a->n; i++)
            same(&a->u.items[i], json_array_get(b, i));
        break;
    case JV_OBJ:
        if (!json_is_object(b))
            abort();
        for (uint32_t i = 0; i < a->n; i++) {
            const jv *k = &a->u.items[2 * i];
            /* Keys with NUL cannot be looked up by name; jscan rejects them anyway. */
            json_t *v = json_object_get(b, k->u.s);
            if (!v)
                abort();
            same(jv_get(a, k->u.s), v); /* last duplicate on both sides */
        }
        break;
    default:
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *buf = (const char *)data;
    if (ix_json_depth_ok(buf, size, 64, NULL))
        return 0;
    pgr_arena a = {0};
    jscan s = {0};
    jv v;
    int ok1 = jscan_parse(&s, &a, buf, size, &v) == 0;
    json_error_t je;
    json_t *j = json_loadb(buf, size, JSON_DECODE_ANY, &je);
    int ok2 = j != NULL;
    if (!ok2 && (strstr(je.text, "too big") || json_error_code(&je) == json_error_numeric_overflow))
        goto done; /* big integers: jscan keeps them as doubles */
    if (!ok1 && !strcmp(s.err_msg, "number too long"))
        goto done; /* a documented limit (4 KiB of digits) */
    if (memchr(buf, '\0', size)) {
        /* A raw NUL is never valid JSON; Jansson stops reading at it. */
        if (ok1)
            abort();
        goto done;
    }
    if (ok1 != ok2)
        abort();
    if (ok1)
        same(&v, j);
done:
    json_decref(j);
    jscan_free(&s);
    pgr_arena_free(&a);
    return 0;
}
