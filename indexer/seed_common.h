#ifndef PEERGRAPH_SEED_COMMON_H
#define PEERGRAPH_SEED_COMMON_H
/* Shared machinery of the four profile-page parsers (indexer/seed_*.c):
 * a validated line view of the page, dates with and without a year, personal
 * names, comma-separated author lists, the title/author splitter of the
 * compact metrics list, claims, and the owner decision.
 *
 * Ownership: everything returned here lives in the caller's arena (sd_page.arena)
 * or points into the input buffer; nothing is freed separately. */
#include <stddef.h>
#include <stdint.h>

#include "graph/util.h"
#include "indexer/record.h"

/* Hard limits: a profile page is a few hundred KB; anything far beyond is not
 * a page of these sites and is rejected before any work is done. */
#define SD_MAX_INPUT (16u * 1024u * 1024u)
#define SD_MAX_LINE (256u * 1024u)
#define SD_MAX_ENTRIES 20000
#define SD_MAX_AUTHORS 2000 /* per entry */

typedef struct sd_line {
    const char *s; /* into the input; trimmed of surrounding blanks and '\r' */
    size_t len;
    long no; /* 1-based line number */
} sd_line;

typedef struct sd_page {
    const ix_input *in;
    pgr_arena *arena;
    sd_line *lines;
    size_t n_lines;
} sd_page;

/* Validates the page (non-empty, no NUL or control bytes, valid UTF-8, no line
 * over SD_MAX_LINE, size under SD_MAX_INPUT) and splits it into lines. A UTF-8
 * byte-order mark is skipped. Errors are "line N: ...". */
int sd_page_load(sd_page *pg, const ix_input *in, pgr_arena *arena, pgr_err *err);
/* Index of the next non-blank line at or after i, or n_lines. */
size_t sd_next_nonblank(const sd_page *pg, size_t i);
int sd_line_is(const sd_line *l, const char *lit);
int sd_starts(const char *s, size_t len, const char *lit);
int sd_ends(const char *s, size_t len, const char *lit);

/* ---- cheap detection helpers: no allocation, bounded scan of the head ---- */
/* Number of lines among the first max_lines equal (after trimming) to lit. */
int sd_detect_has_line(const char *data, size_t len, size_t max_lines, const char *lit);
/* Calls fn on each trimmed line among the first max_lines; stops when fn
 * returns non-zero and returns that value (0 when none did). */
int sd_detect_lines(const char *data, size_t len, size_t max_lines,
                    int (*fn)(const char *s, size_t n, void *ctx), void *ctx);

/* ---- numbers ---- */
/* Parses an unsigned decimal integer filling all of s[0..len) (commas as
 * thousands separators allowed), at most 1e12. Returns 0 ok, -1 otherwise. */
int sd_parse_count(const char *s, size_t len, long *out);
/* Parses a plain decimal "68.6" filling s[0..len); -1 when not one. */
int sd_parse_decimal(const char *s, size_t len, double *out);

/* ---- dates ---- */
/* Month name at s ("Jan", "January", "Sept", ...): 1..12 and its length. */
int sd_month_at(const char *s, size_t len, size_t *used);
/* Parses "May 14, 2026" or "Feb 12" (no year: *y = 0) at the start of s;
 * returns the bytes used (0 when there is no date there). */
size_t sd_parse_month_day_year(const char *s, size_t len, int *y, int *m, int *d);
int sd_valid_ymd(int y, int m, int d);
/* A date shown without its year is the latest such date not after the
 * capture date ("Mar 25" captured 2026-11-22 -> 2026; "Dec 30" -> 2025;
 * "Feb 29" -> the latest leap year). -1 when capture is not YYYY-MM-DD. */
int sd_resolve_year(const char *capture, int m, int d, int *y);
int sd_capture_ok(const char *capture);

/* ---- names ---- */
/* A personal name as these sites print it: 2-4 space-separated tokens, each a
 * capitalised word ("Run-Ze", "Hernández-Orallo", "McDonald", "O'Brien"), an
 * initial ("J."), a lowercase particle inside ("van", "de"), or a suffix
 * ("Jr."). relaxed also accepts one-token names and all-caps tokens.
 * Returns a quality >= 0 (higher is more name-like), or -1 when not a name. */
double sd_name_quality(const char *s, size_t len, int relaxed);
/* Comparison key: the builder's full person key (ix_name_keys: folded,
 * dots dropped, hyphens joined).
 * Returns an arena string, or NULL on allocation failure. */
char *sd_name_key(pgr_arena *a, const char *s, size_t len);

/* Character and token classes used by the name checks and the splitter. */
enum { SD_CH_OTHER, SD_CH_UPPER, SD_CH_LOWER, SD_CH_MARK };
enum {
    SD_TK_BAD,
    SD_TK_WORD,
    SD_TK_INITIAL,
    SD_TK_INITIAL_NODOT,
    SD_TK_PARTICLE,
    SD_TK_SUFFIX,
    SD_TK_CAPS
};
int sd_cp_class(int32_t cp);
/* Code point at s[i] and its byte length in *n (1 and -1 for a bad byte). */
int32_t sd_cp_at(const char *s, size_t len, size_t i, size_t *n);
/* Class of one space-free token as part of a personal name (SD_TK_*). */
int sd_token_class(const char *s, size_t len);

/* ---- author lists ---- */
typedef struct sd_authors {
    ix_author_ref *refs;
    size_t n;
    const char *truncated;   /* "et al.", "+2", or NULL when the list is complete */
    const char *affiliation; /* "pku" from "... et al. · pku", or NULL */
} sd_authors;

/* Parses "A One, B Two, C Three et al. · aff" filling s[0..len). Names are
 * raw (as printed). Returns the mean name quality (>= 0) or -1 when the
 * text is not such a list. The affiliation, when printed, is attached to the
 * first author (the site prints one institution: the lead's). */
double sd_parse_author_list(pgr_arena *a, const char *s, size_t len, int relaxed, sd_authors *out);

/* Normalised names (sd_name_key) -> dense index 0..n-1, open addressing in
 * the arena: lookups stay O(1) on hostile pages with thousands of entries.
 * Used as the splitter's evidence and as the owner decision's tally. */
typedef struct sd_nameset {
    char **keys;    /* keys[i] is the i-th distinct name key */
    size_t n, cap;  /* cap: capacity of keys */
    size_t *slots;  /* hash table of index + 1 (0 = empty) */
    size_t n_slots; /* power of two, >= 2 * cap */
} sd_nameset;
/* Adds the name (no-op when present); *index (may be NULL) receives its
 * index. -1 on allocation failure. */
int sd_nameset_add_key(pgr_arena *a, sd_nameset *set, const char *key, size_t *index);
int sd_nameset_add(pgr_arena *a, sd_nameset *set, const char *s, size_t len);
/* Index of a key, or -1 when absent. */
long sd_nameset_find_key(const sd_nameset *set, const char *key);
int sd_nameset_has(pgr_arena *a, const sd_nameset *set, const char *s, size_t len);

/* ---- the "TitleAuthor One, Author Two et al." splitter (seed_split.c) ---- */
typedef struct sd_split {
    size_t title_len;  /* title = line[0..title_len) (trailing blanks removed) */
    size_t author_off; /* authors = line[author_off..len) */
    sd_authors authors;
    double score;
    double margin;    /* best score minus the runner-up's (INFINITY if unique) */
    int n_candidates; /* candidate split points that parsed */
} sd_split;
/* Returns 0 and fills out, or -1 when no split point gives a title and a
 * parseable author list. known may be NULL. */
int sd_split_title_authors(pgr_arena *a, const char *line, size_t len, const sd_nameset *known,
                           sd_split *out);

/* ---- claims ---- */
typedef struct sd_claims {
    ix_claim items[24];
    size_t n;
} sd_claims;
void sd_claim(sd_claims *c, const char *name, const char *text, double value);

/* ---- owner decision ---- */
typedef struct sd_entry_view {
    const ix_author_ref *authors;
    size_t n;
    int truncated; /* the list is cut ("et al.", "+N"): a hidden author is possible */
} sd_entry_view;

/* Decides p->owner_name/method/confidence/runner_up/evidence.
 * header_owner: the name the page prints for its owner, or NULL.
 * Override (in->owner_override) wins; then the header; else the author
 * consistent with every entry (visible, or hidden by a truncated list), most
 * frequent first. Returns -1 only on allocation failure. */
int sd_decide_owner(pgr_arena *a, const ix_input *in, const char *header_owner,
                    const sd_entry_view *entries, size_t n_entries, ix_profile *p, pgr_err *err);

/* What a parser read from one page, handed to sd_finish. */
typedef struct sd_result {
    const char *site;         /* ix_profile.site */
    const char *header_owner; /* the name the page prints for its owner, or NULL */
    const char *affiliation;  /* header affiliation, or NULL */
    const char *category;     /* header category code, or NULL */
    const sd_claims *claims;
    const ix_work *works;
    const sd_entry_view *views; /* one per work: its author list for the owner decision */
    size_t n;
} sd_result;

/* Decides the owner (sd_decide_owner), then emits the profile and the works
 * through the sink, stopping at the first sink error (its message is kept,
 * prefixed by the entry's line). */
int sd_finish(pgr_arena *a, const ix_input *in, const sd_result *r, const ix_sink *sink,
              pgr_err *err);

/* Arena allocation failure message, as a pgr_errf return. */
int sd_oom(pgr_err *err);

/* ---- the four formats (registered in indexer/formats.c) ---- */
int seed_researchgraph_detect(const char *data, size_t len);
int seed_researchgraph_parse(const ix_input *in, const ix_sink *sink, pgr_err *err);
int seed_arxivprofile_detect(const char *data, size_t len);
int seed_arxivprofile_parse(const ix_input *in, const ix_sink *sink, pgr_err *err);
int seed_metricscard_detect(const char *data, size_t len);
int seed_metricscard_parse(const ix_input *in, const ix_sink *sink, pgr_err *err);
int seed_metricslist_detect(const char *data, size_t len);
int seed_metricslist_parse(const ix_input *in, const ix_sink *sink, pgr_err *err);

#endif
