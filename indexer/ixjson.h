#ifndef PEERGRAPH_IXJSON_H
#define PEERGRAPH_IXJSON_H
/* Guarded JSON for the metadata parsers (arXiv snapshot, OpenAlex, Semantic
 * Scholar, the arXiv Atom wrapper).
 *
 * Jansson already validates UTF-8, rejects "\u0000" and caps nesting at 2048;
 * we add a tighter nesting cap (IX_JSON_MAX_DEPTH, checked by a cheap pre-scan
 * so a "[[[[..." bomb never reaches the recursive parser) and a size cap, and
 * turn every failure into a pgr_err naming the line and byte offset.
 *
 * Field accessors treat a missing key and JSON null alike ("not given"); a
 * value of the wrong type or outside its plausible range is an error of the
 * record (the file is then rejected, as record.h asks for absurd input). */
#include <jansson.h>
#include <stddef.h>

#include "graph/util.h"

#define IX_JSON_MAX_DEPTH 64
#define IX_JSON_MAX_BYTES ((size_t)1 << 30) /* one document; a snapshot line is capped apart */

/* Where the current JSON document sits in the input file, for messages. */
typedef struct ix_jctx {
    pgr_err *err;
    long line;     /* 1-based line of the document's start in the file, 0 if n/a */
    size_t offset; /* byte offset of the document's start in the file */
    int failed;    /* set by accessors on the first type/range error */
} ix_jctx;

/* Parses buf[0..len) (need not be NUL-terminated) as one JSON value.
 * Returns a new reference, or NULL with c->err set ("line L: offset O: ...").
 * flags are Jansson decode flags (0 normally). */
json_t *ix_json_parse(ix_jctx *c, const char *buf, size_t len, size_t flags);

/* The nesting depth check on its own: 0 when buf nests at most max_depth deep,
 * else -1 with *where = offset of the bracket that went too deep. */
int ix_json_depth_ok(const char *buf, size_t len, int max_depth, size_t *where);

/* Fails the context with "line L: offset O: <message>" (first failure wins). */
int ix_jfail(ix_jctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* String field: NULL when absent, null, or empty/blank. Wrong type fails c. */
const char *ix_jstr(ix_jctx *c, json_t *o, const char *key);
/* Integer field in [min, max]; dflt when absent or null. Reals with an integral
 * value are accepted (some APIs emit 3.0); anything else fails c. */
long ix_jint(ix_jctx *c, json_t *o, const char *key, long min, long max, long dflt);
/* Number field in [min, max]; dflt (often NAN) when absent or null. */
double ix_jreal(ix_jctx *c, json_t *o, const char *key, double min, double max, double dflt);
/* A figure a source reports about an author (works count, h-index, ...):
 * an integer in [0, max] (ix_jcount; -1 when absent or null) or a number in
 * [0, max] (ix_jfigure; NAN when absent or null). Anything else (negative,
 * fractional, huge, a string, a non-finite value) fails c with a message that
 * starts with what and the key ("author A5: summary_stats." + "h_index"), so
 * it names the record and the field. */
long ix_jcount(ix_jctx *c, json_t *o, const char *key, long max, const char *what);
double ix_jfigure(ix_jctx *c, json_t *o, const char *key, double max, const char *what);
/* An ORCID iD as a source gives it ("https://orcid.org/0000-0001-6187-6610"
 * or bare): the bare form in a's memory; NULL when s is NULL. One that is not
 * an ORCID iD (form or check digit, ix_orcid_canon) fails c naming where: it
 * is identity evidence and must never merge the wrong people. */
const char *ix_jorcid(ix_jctx *c, pgr_arena *a, const char *s, const char *where);
/* Array / object field: NULL when absent or null; wrong type fails c. */
json_t *ix_jarr(ix_jctx *c, json_t *o, const char *key);
json_t *ix_jobj(ix_jctx *c, json_t *o, const char *key);

/* Checks a "YYYY-MM-DD" (or "YYYY-MM-DDThh..." / "YYYY") date with a
 * plausible year (1000..2100). Returns the year and copies the 10-char date
 * into date (NUL-terminated) when a full date is given, else date = "". */
int ix_parse_date(const char *s, char date[11]);

#endif
