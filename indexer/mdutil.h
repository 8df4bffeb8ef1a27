#ifndef PEERGRAPH_MDUTIL_H
#define PEERGRAPH_MDUTIL_H
/* Small text helpers shared by the metadata parsers (arXiv, OpenAlex,
 * Semantic Scholar). Everything returned lives in the caller's arena. */
#include <stddef.h>

#include "graph/util.h"
#include "indexer/record.h"

/* Copy of s[0..n) with every run of whitespace (incl. the line wraps arXiv puts
 * in titles and author lists) turned into one space, ends trimmed. NULL when
 * the result is empty or on allocation failure (check *oom). */
const char *ix_squash_ws(pgr_arena *a, const char *s, size_t n);
/* Copy of s[0..n) with leading and trailing whitespace removed; inner text
 * (paragraphs, LaTeX) untouched. NULL when empty. */
const char *ix_trim_ws(pgr_arena *a, const char *s, size_t n);

/* "Mon, 2 Apr 2007 19:18:42 GMT" (RFC 822, the arXiv snapshot's version dates)
 * or ISO "2007-04-02..." -> "2007-04-02" and the year; -1 when unparseable or
 * the year is implausible. */
int ix_parse_any_date(const char *s, char date[11]);

/* Splits a space-separated arXiv category list ("hep-ph math.CO") into arXiv
 * topic refs. *out is arena memory; returns the count, or -1 on OOM. */
long ix_arxiv_categories(pgr_arena *a, const char *cats, ix_topic_ref **out);

/* A work with nothing given: numbers "not given" (score NAN, has_code -1,
 * cited_by_count -1), the place it starts (line) and its 1-based position. */
void ix_work_init(ix_work *w, long line, long position);

/* Growable array in an arena, for records whose element count is known only
 * at the end (authors of an XML record, references...). */
typedef struct ix_vec {
    void *items;
    size_t n, cap, elem;
} ix_vec;
/* Returns a zeroed slot at the end, or NULL on OOM / count overflow. */
void *ix_vec_push(pgr_arena *a, ix_vec *v, size_t elem);

/* Repairs text that was UTF-8 read as Latin-1 and re-encoded ("WÃ¼bben" for
 * "Wübben"): when every code point of s is below U+0100, some are >= U+0080,
 * and the Latin-1 bytes form valid UTF-8, returns that (malloc'd); else NULL.
 * Whole-document use only (the arXiv.py recordings have this defect). */
char *ix_fix_latin1_mojibake(const char *s, size_t n, size_t *out_n);

/* 1 when s[0..n) is valid UTF-8 (no overlongs, no surrogates); else 0 and
 * *bad = offset of the first invalid byte. */
int ix_utf8_valid(const char *s, size_t n, size_t *bad);

/* Skips a UTF-8 BOM and whitespace; returns the first significant byte or 0. */
char ix_first_byte(const char *data, size_t len, size_t *at);
/* memmem limited to the first `window` bytes. */
const char *ix_find(const char *data, size_t len, size_t window, const char *needle);

/* Splits a printed author list ("A. One, B. Two (MIT) and C. Three") at
 * top-level commas and " and ". Pieces are whitespace-squashed arena strings;
 * a trailing "(affiliation)" goes to affs[i] (else NULL). Returns the number of
 * pieces, max + 1 when there are more than max, -1 on OOM. names and affs
 * hold max entries. */
long ix_split_authors(pgr_arena *a, const char *s, const char **names, const char **affs,
                      size_t max);

/* Sets err to a non-error notice (code PGR_OK, message filled) for a parse
 * that succeeded but skipped something worth telling ("not a work/author:
 * skipped"). The ingest pipeline prints err->msg after a 0 return when it is
 * non-empty. */
void ix_notice(pgr_err *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
