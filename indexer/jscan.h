#ifndef PEERGRAPH_JSCAN_H
#define PEERGRAPH_JSCAN_H
/* A small, strict JSON reader for the hot path (the arXiv snapshot's millions
 * of lines). Jansson builds hash tables and reads byte by byte through a
 * callback; on snapshot lines that caps a core at ~15-25k records/s, below
 * what the ingest benchmark needs end to end. This reader builds a flat tree
 * in the caller's arena in one pass: strings decoded and NUL-terminated,
 * arrays and objects as contiguous child arrays, objects looked up linearly
 * (snapshot objects have ~14 keys).
 *
 * Strict RFC 8259: UTF-8 validated (no overlongs, no surrogates), control
 * characters in strings rejected, "\u0000" rejected (strings stay C strings),
 * lone surrogate escapes rejected, numbers by the grammar and finite, nesting
 * capped, nothing but whitespace after the value. Errors give the byte offset
 * within the buffer. */
#include <stddef.h>
#include <stdint.h>

#include "graph/util.h"

typedef enum { JV_NULL, JV_FALSE, JV_TRUE, JV_NUM, JV_STR, JV_ARR, JV_OBJ } jv_type;

typedef struct jv {
    uint32_t type; /* jv_type */
    uint32_t n;    /* string: byte length; array: items; object: members */
    union {
        const char *s;    /* JV_STR: decoded, NUL-terminated (arena) */
        double num;       /* JV_NUM */
        struct jv *items; /* JV_ARR: n values; JV_OBJ: 2n (key, value) pairs */
    } u;
} jv;

/* Scratch reused across documents (the container stack); zero-initialise. */
typedef struct jscan {
    jv *stack;
    size_t n, cap;
    int max_depth;       /* 0 = 64 */
    size_t err_off;      /* on failure: byte offset in the buffer */
    const char *err_msg; /* on failure: static text */
} jscan;

/* Parses buf[0..len) into *out, allocating from a. Returns 0 or -1 (see
 * s->err_off / s->err_msg; -1 with err_msg "out of memory" on OOM). */
int jscan_parse(jscan *s, pgr_arena *a, const char *buf, size_t len, jv *out);
void jscan_free(jscan *s);

/* Member of an object by key (the last one when a key repeats, as Jansson), NULL when absent or
 * when o is not an object. */
const jv *jv_get(const jv *o, const char *key);
static inline const jv *jv_at(const jv *a, size_t i)
{
    return a && a->type == JV_ARR && i < a->n ? &a->u.items[i] : NULL;
}

#endif
