/* BibTeX (.bib files, as written by hand, by reference managers and by
 * Semantic Scholar's citationStyles): entries @TYPE{KEY, field = value, ...}
 * or @TYPE(KEY, ...), values in braces, in quotes, numbers or @string
 * macros joined with #; @string defines macros (names case-insensitive, the
 * month macros jan..dec predefined), @preamble and @comment are skipped, and
 * text outside entries is a comment (BibTeX's rules). Field values are
 * LaTeX: accents and symbols become UTF-8 through ix_latex_fold
 * (indexer/normalize.h), braces vanish, whitespace runs become one space.
 *
 * Names: the author field is split at top-level "and"; each name is
 * "First von Last", "von Last, First" or "von Last, Jr, First" (commas at
 * brace depth 0), or a braced "{Corporate Name}" kept whole; "others" is the
 * list's truncation mark, not an author. A list with no "and" whose one
 * comma separates two capitalised multi-word names ("Jean Laidé, Ben
 * Loaeb") is two authors joined by a comma by mistake, not "Last, First".
 *
 * A field crossref = {KEY} naming another entry of the file gives the entry
 * the fields it lacks from that one (its title as booktitle). */
#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "indexer/ids.h"
#include "indexer/ixjson.h"
#include "indexer/mdutil.h"
#include "indexer/metadata.h"
#include "indexer/normalize.h"

#define BIB_MAX_VALUE ((size_t)1 << 20)

static int at_entry_start(const char *p, const char *end)
{
    /* "@word{" / "@word (" */
    if (p >= end || *p != '@')
        return 0;
    p++;
    const char *w = p;
    while (p < end && isalpha((unsigned char)*p))
        p++;
    if (p == w)
        return 0;
    while (p < end && (*p == ' ' || *p == '\t'))
        p++;
    return p < end && (*p == '{' || *p == '(');
}

int ix_bibtex_detect(const char *data, size_t len)
{
    size_t at;
    char c = ix_first_byte(data, len, &at);
    const char *end = data + (len < (1u << 16) ? len : (1u << 16));
    if (c == '@' && at_entry_start(data + at, end))
        return 88;
    /* comment lines first: an entry at the start of a line */
    if (c != '%' && c != '@')
        return 0;
    for (const char *p = data + at; p < end; p++)
        if (*p == '\n' && p + 1 < end && at_entry_start(p + 1, end))
            return 80;
    return 0;
}

typedef struct bib_field {
    char *name;  /* lower case */
    char *value; /* LaTeX, macros expanded */
    long line;
} bib_field;

typedef struct bib_entry {
    char *type, *key; /* type lower case */
    long line;
    ix_vec fields;    /* bib_field */
} bib_entry;

typedef struct bib {
    pgr_arena *a;
    pgr_err *err;
    const char *s, *end, *p;
    long line;
    ix_vec macros;    /* bib_field (name, value) */
    ix_vec entries;   /* bib_entry */
    const char *ctx_key; /* for messages */
    const bib_entry **sorted; /* entries by key (case-insensitive), for crossref */
} bib;

static int fail(bib *b, long line, const char *fmt, const char *x)
{
    if (b->ctx_key)
        return pgr_errf(b->err, PGR_EINVAL, "line %ld: entry %.80s: %s%.80s", line, b->ctx_key,
                        fmt, x ? x : "");
    return pgr_errf(b->err, PGR_EINVAL, "line %ld: %s%.80s", line, fmt, x ? x : "");
}

static void skip_ws(bib *b)
{
    while (b->p < b->end && isspace((unsigned char)*b->p)) {
        if (*b->p == '\n')
            b->line++;
        b->p++;
    }
}

static char *ident(bib *b)
{
    const char *w = b->p;
    while (b->p < b->end && !isspace((unsigned char)*b->p) && !strchr("=,{}()\"#%'", *b->p))
        b->p++;
    if (b->p == w)
        return NULL;
    char *id = pgr_arena_printf(b->a, "%.*s", (int)(b->p - w), w);
    return id;
}

static void lower(char *s)
{
    for (; s && *s; s++)
        *s = (char)tolower((unsigned char)*s);
}

/* Appends the balanced {...} group at b->p (b->p at '{') without its outer
 * braces; or the "..." string (quotes at brace depth 0 end it). */
static int group(bib *b, pgr_sb *out, char close)
{
    long start = b->line;
    int depth = 0;
    b->p++;
    for (; b->p < b->end; b->p++) {
        char c = *b->p;
        if (c == '\n')
            b->line++;
        if (c == '\\' && b->p + 1 < b->end && (b->p[1] == '{' || b->p[1] == '}' ||
                                                b->p[1] == '"')) {
            pgr_sb_putc(out, c);
            pgr_sb_putc(out, *++b->p);
            continue;
        }
        if (c == '{')
            depth++;
        else if (c == '}' && depth == 0 && close == '}') {
            b->p++;
            return 0;
        } else if (c == '}' && depth-- == 0) {
            return fail(b, b->line, "unbalanced '}' in a quoted value", NULL);
        } else if (c == '"' && depth == 0 && close == '"') {
            b->p++;
            return 0;
        }
        pgr_sb_putc(out, c);
        if (out->len > BIB_MAX_VALUE)
            return fail(b, start, "value longer than 1 MiB", NULL);
    }
    return fail(b, start, close == '}' ? "unclosed '{' (value runs to the end of the file)"
                                       : "unclosed '\"' (value runs to the end of the file)",
                NULL);
}

static const char *macro(bib *b, const char *name)
{
    static const char *const months[12][2] = {
        {"jan", "January"}, {"feb", "February"}, {"mar", "March"},     {"apr", "April"},
        {"may", "May"},     {"jun", "June"},     {"jul", "July"},      {"aug", "August"},
        {"sep", "September"}, {"oct", "October"}, {"nov", "November"}, {"dec", "December"}};
    const bib_field *m = b->macros.items;
    for (size_t i = b->macros.n; i-- > 0;)
        if (!strcmp(m[i].name, name))
            return m[i].value;
    for (int i = 0; i < 12; i++)
        if (!strcmp(months[i][0], name))
            return months[i][1];
    return NULL;
}

/* value := part ('#' part)*; part := {...} | "..." | digits | macro */
static char *value(bib *b, const char *field)
{
    pgr_sb out = {0};
    char *res = NULL;
    for (;;) {
        skip_ws(b);
        if (b->p >= b->end) {
            fail(b, b->line, "file ends inside a value", NULL);
            goto done;
        }
        char c = *b->p;
        if (c == '{' || c == '"') {
            if (group(b, &out, c == '{' ? '}' : '"'))
                goto done;
        } else if (isdigit((unsigned char)c)) {
            while (b->p < b->end && isdigit((unsigned char)*b->p))
                pgr_sb_putc(&out, *b->p++);
        } else {
            long l = b->line;
            char *name = ident(b);
            if (!name) {
                fail(b, l, "expected a value for field ", field);
                goto done;
            }
            lower(name);
            const char *v = macro(b, name);
            if (!v) {
                char msg[160];
                snprintf(msg, sizeof msg, "field %.40s: undefined macro ", field);
                fail(b, l, msg, name);
                goto done;
            }
            pgr_sb_puts(&out, v);
        }
        if (out.len > BIB_MAX_VALUE) {
            fail(b, b->line, "value longer than 1 MiB in field ", field);
            goto done;
        }
        skip_ws(b);
        if (b->p < b->end && *b->p == '#') {
            b->p++;
            continue;
        }
        break;
    }
    if (!pgr_sb_ok(&out)) {
        pgr_errf(b->err, PGR_ENOMEM, "line %ld: out of memory", b->line);
        goto done;
    }
    res = pgr_arena_strdup(b->a, out.data ? out.data : "");
done:
    pgr_sb_free(&out);
    return res;
}

/* Skips a balanced {...} group (@comment, @preamble). */
static int skip_group(bib *b)
{
    pgr_sb junk = {0};
    int rc = group(b, &junk, '}');
    pgr_sb_free(&junk);
    return rc;
}

static int parse_string(bib *b, char close)
{
    skip_ws(b);
    long l = b->line;
    char *name = ident(b);
    if (!name)
        return fail(b, l, "@string without a name", NULL);
    lower(name);
    skip_ws(b);
    if (b->p >= b->end || *b->p != '=')
        return fail(b, b->line, "@string: expected '=' after ", name);
    b->p++;
    char *v = value(b, name);
    if (!v)
        return -1;
    skip_ws(b);
    if (b->p >= b->end || *b->p != close)
        return fail(b, b->line, "@string: expected the closing bracket after ", name);
    b->p++;
    bib_field *m = ix_vec_push(b->a, &b->macros, sizeof *m);
    if (!m)
        return pgr_errf(b->err, PGR_ENOMEM, "out of memory");
    m->name = name;
    m->value = v;
    m->line = l;
    return 0;
}

static int parse_entry(bib *b, char *type, char close, long line)
{
    skip_ws(b);
    const char *k = b->p;
    while (b->p < b->end && *b->p != ',' && *b->p != close && !isspace((unsigned char)*b->p))
        b->p++;
    if (b->p == k)
        return fail(b, line, "entry without a key", NULL);
    if (memchr(k, '{', (size_t)(b->p - k)))
        return fail(b, line, "a brace in the entry key ", pgr_arena_printf(b->a, "%.*s", (int)(b->p - k), k));
    bib_entry *e = ix_vec_push(b->a, &b->entries, sizeof *e);
    if (!e)
        return pgr_errf(b->err, PGR_ENOMEM, "out of memory");
    e->type = type;
    e->key = pgr_arena_printf(b->a, "%.*s", (int)(b->p - k), k);
    e->line = line;
    b->ctx_key = e->key;
    for (;;) {
        skip_ws(b);
        if (b->p < b->end && *b->p == close) {
            b->p++;
            break;
        }
        if (b->p >= b->end)
            return fail(b, line, "the file ends inside the entry (a '}' missing?)", NULL);
        if (*b->p != ',')
            return fail(b, b->line, "expected ',' or the end of the entry", NULL);
        b->p++;
        skip_ws(b);
        if (b->p < b->end && *b->p == close) { /* trailing comma */
            b->p++;
            break;
        }
        long fl = b->line;
        char *name = ident(b);
        if (!name)
            return fail(b, fl, "expected a field name", NULL);
        lower(name);
        skip_ws(b);
        if (b->p >= b->end || *b->p != '=')
            return fail(b, b->line, "expected '=' after field ", name);
        b->p++;
        char *v = value(b, name);
        if (!v)
            return -1;
        bib_field *f = ix_vec_push(b->a, &e->fields, sizeof *f);
        if (!f)
            return pgr_errf(b->err, PGR_ENOMEM, "out of memory");
        f->name = name;
        f->value = v;
        f->line = fl;
    }
    b->ctx_key = NULL;
    return 0;
}

static int parse_all(bib *b)
{
    while (b->p < b->end) {
        if (*b->p != '@') {
            if (*b->p == '\n')
                b->line++;
            b->p++;
            continue;
        }
        long line = b->line;
        if (!at_entry_start(b->p, b->end)) { /* "@" in comment text */
            b->p++;
            continue;
        }
        b->p++;
        char *type = ident(b);
        lower(type);
        skip_ws(b);
        char open = *b->p, close = open == '{' ? '}' : ')';
        if (!strcmp(type, "comment") || !strcmp(type, "preamble")) {
            if (open == '{') {
                if (skip_group(b))
                    return -1;
            } else { /* @comment(...): to the matching ')' */
                int depth = 0;
                for (b->p++; b->p < b->end; b->p++) {
                    if (*b->p == '\n')
                        b->line++;
                    if (*b->p == '(')
                        depth++;
                    else if (*b->p == ')' && depth-- == 0)
                        break;
                }
                if (b->p >= b->end)
                    return fail(b, line, "unclosed @", type);
                b->p++;
            }
            continue;
        }
        b->p++;
        if (!strcmp(type, "string")) {
            if (parse_string(b, close))
                return -1;
        } else if (parse_entry(b, type, close, line)) {
            return -1;
        }
    }
    return 0;
}

static const bib_field *field(const bib_entry *e, const char *name)
{
    const bib_field *f = e->fields.items;
    for (size_t i = 0; i < e->fields.n; i++)
        if (!strcmp(f[i].name, name))
            return &f[i];
    return NULL;
}

static int by_key(const void *x, const void *y)
{
    const bib_entry *const *a = x, *const *b = y;
    int c = strcasecmp((*a)->key, (*b)->key);
    return c ? c : ((*a)->line > (*b)->line) - ((*a)->line < (*b)->line);
}

static int key_cmp(const void *k, const void *y)
{
    const bib_entry *const *b = y;
    return strcasecmp(k, (*b)->key);
}

static const bib_entry *entry_by_key(const bib *b, const char *key)
{
    const bib_entry *const *e =
        bsearch(key, b->sorted, b->entries.n, sizeof *b->sorted, key_cmp);
    return e ? *e : NULL;
}

/* LaTeX -> UTF-8 text, whitespace squashed; NULL when empty. */
static const char *text(bib *b, const char *latex, long line)
{
    if (!latex)
        return NULL;
    pgr_sb sb = {0};
    const char *res = NULL;
    if (ix_latex_fold(latex, &sb, b->err) < 0) {
        pgr_err_prefix(b->err, "line %ld: entry %s", line, b->ctx_key ? b->ctx_key : "?");
    } else {
        res = ix_squash_ws(b->a, sb.data ? sb.data : "", sb.len);
        if (!res)
            res = "";
    }
    pgr_sb_free(&sb);
    return res;
}

/* Splits s at top-level occurrences of sep (" and " as a word: sep_and, or a
 * comma); pieces are trimmed arena copies. Returns the count, -1 on OOM. */
static long split_top(bib *b, const char *s, int sep_and, const char **out, size_t max)
{
    size_t n = 0;
    int depth = 0;
    const char *start = s;
    for (const char *p = s;; p++) {
        int cut = 0;
        size_t skip = 0;
        if (*p == '{')
            depth++;
        else if (*p == '}')
            depth--;
        else if (!*p)
            cut = 1;
        else if (depth == 0 && !sep_and && *p == ',')
            cut = 1, skip = 1;
        else if (depth == 0 && sep_and && isspace((unsigned char)*p) && !strncasecmp(p + 1, "and", 3) &&
                 p[4] && isspace((unsigned char)p[4]))
            cut = 1, skip = 5;
        if (!cut)
            continue;
        if (n >= max)
            return (long)max + 1;
        out[n++] = ix_trim_ws(b->a, start, (size_t)(p - start));
        if (!*p)
            break;
        p += skip - 1;
        start = p + 1;
    }
    return (long)n;
}

static int capitalised_words(const char *s)
{
    int words = 0;
    for (const char *p = s; *p;) {
        while (*p == ' ')
            p++;
        if (!*p)
            break;
        if (!(isupper((unsigned char)*p) || (unsigned char)*p >= 0xC0))
            return 0;
        words++;
        while (*p && *p != ' ')
            p++;
    }
    return words;
}

static int one_name(bib *b, const char *raw, long line, ix_vec *v)
{
    if (!raw || !*raw)
        return 0;
    ix_author_ref *r = ix_vec_push(b->a, v, sizeof *r);
    if (!r)
        return pgr_errf(b->err, PGR_ENOMEM, "out of memory");
    size_t n = strlen(raw);
    int corporate = raw[0] == '{' && raw[n - 1] == '}';
    if (corporate) { /* one group: "{Corporate Name}" */
        int depth = 0;
        for (size_t i = 0; i < n && corporate; i++) {
            depth += raw[i] == '{' ? 1 : raw[i] == '}' ? -1 : 0;
            if (depth == 0 && i + 1 < n)
                corporate = 0;
        }
    }
    r->raw_name = text(b, raw, line);
    if (!r->raw_name)
        return -1;
    const char *parts[4];
    long k = corporate ? 1 : split_top(b, raw, 0, parts, 3);
    if (k == 2 || k == 3) { /* "Last, First" / "Last, Jr, First" */
        const char *last = text(b, parts[0], line), *first = text(b, parts[k - 1], line);
        const char *jr = k == 3 ? text(b, parts[1], line) : NULL;
        if (!last || !first || (k == 3 && !jr))
            return -1;
        r->display_name = pgr_arena_printf(b->a, "%s%s%s%s%s", first, *first ? " " : "", last,
                                           jr && *jr ? " " : "", jr ? jr : "");
    } else {
        r->display_name = r->raw_name;
    }
    if (!*r->display_name)
        v->n--; /* nothing printable */
    return 0;
}

static int authors(bib *b, const bib_field *f, ix_work *w)
{
    if (!f)
        return 0;
    /* at most one name more than the words "and": the array is sized by
     * them, not by the cap (every entry's names stay in the arena) */
    size_t most = 1;
    for (const char *p = f->value; *p && most <= IX_MAX_AUTHORS; p++)
        most += isspace((unsigned char)*p) && !strncasecmp(p + 1, "and", 3) && p[4] &&
                isspace((unsigned char)p[4]);
    const char **names = pgr_arena_calloc(b->a, most + 1, sizeof *names);
    if (!names)
        return pgr_errf(b->err, PGR_ENOMEM, "out of memory");
    long k = split_top(b, f->value, 1, names, most > IX_MAX_AUTHORS ? IX_MAX_AUTHORS : most);
    if (k > IX_MAX_AUTHORS)
        return fail(b, f->line, "more than 20000 names in field ", f->name);
    ix_vec v = {0};
    for (long i = 0; i < k; i++) {
        if (!names[i])
            continue;
        if (!strcasecmp(names[i], "others")) {
            w->authors_truncated = "and others";
            continue;
        }
        /* "Jean Laid{\'e}, Ben Loaeb" with no "and": two names joined by a
         * comma, not "Last, First" */
        const char *halves[3];
        if (k == 1 && split_top(b, names[i], 0, halves, 2) == 2) {
            const char *l = text(b, halves[0], f->line), *r = text(b, halves[1], f->line);
            if (l && r && capitalised_words(l) >= 2 && capitalised_words(r) >= 2) {
                if (one_name(b, halves[0], f->line, &v) || one_name(b, halves[1], f->line, &v))
                    return -1;
                continue;
            }
        }
        if (one_name(b, names[i], f->line, &v))
            return -1;
    }
    w->authors = v.items;
    w->n_authors = v.n;
    return 0;
}

/* The value of a field, looking through a crossref'd entry. */
static const bib_field *get(const bib_entry *e, const bib_entry *parent, const char *name)
{
    const bib_field *f = field(e, name);
    if (!f && parent)
        f = field(parent, name);
    if (!f && parent && !strcmp(name, "booktitle"))
        f = field(parent, "title");
    return f;
}

static int build_work(bib *b, const bib_entry *e, long position, ix_work *w, int *skip)
{
    b->ctx_key = e->key;
    ix_work_init(w, e->line, position);
    w->type = e->type;
    const bib_field *cr = field(e, "crossref");
    const bib_entry *parent = cr ? entry_by_key(b, cr->value) : NULL;
    if (parent == e)
        parent = NULL;
    const bib_field *f = get(e, parent, "title");
    if (!f) {
        *skip = 1;
        return 0;
    }
    if (!(w->title = text(b, f->value, f->line)))
        return -1;
    if (!*w->title) {
        *skip = 1;
        return 0;
    }
    if ((f = get(e, parent, "year"))) {
        const char *y = text(b, f->value, f->line);
        if (!y)
            return -1;
        if (strlen(y) != 4 || strspn(y, "0123456789") != 4 || atoi(y) < 1000 || atoi(y) > 2100)
            return fail(b, f->line, "field year: not a year in 1000..2100: ", y);
        w->year = atoi(y);
    }
    if ((f = get(e, parent, "date"))) { /* biblatex */
        char d[11];
        const char *s = text(b, f->value, f->line);
        int y = s ? ix_parse_date(s, d) : -1;
        if (y < 1000)
            return fail(b, f->line, "field date: not a date: ", s);
        w->year = y;
        if (d[0])
            w->date = pgr_arena_strdup(b->a, d);
    }
    static const char *const venues[] = {"journal", "journaltitle", "booktitle", "school",
                                         "institution", "series"};
    for (size_t i = 0; i < sizeof venues / sizeof *venues && !w->venue; i++)
        if ((f = get(e, parent, venues[i])) && !(w->venue = text(b, f->value, f->line)))
            return -1;
    if ((f = field(e, "abstract")) && !(w->abstract = text(b, f->value, f->line)))
        return -1;
    if ((f = field(e, "doi"))) {
        const char *d = text(b, f->value, f->line);
        if (!d)
            return -1;
        if (*d && !(w->doi = ix_doi_canon_a(b->a, d)))
            return fail(b, f->line, "field doi: not a DOI: ", d);
    }
    const bib_field *ap = field(e, "archiveprefix");
    if (!ap)
        ap = field(e, "eprinttype");
    const bib_field *ep = field(e, "eprint");
    if (!ep)
        ep = field(e, "arxivid");
    int is_arxiv = (ap && !strcasecmp(ap->value, "arxiv")) || field(e, "arxivid") ||
                   (ep && !strncasecmp(ep->value, "arxiv:", 6));
    if (ep && is_arxiv) {
        const char *id = text(b, ep->value, ep->line);
        int ver = 0;
        if (!id)
            return -1;
        if (!(w->arxiv_id = ix_arxiv_canon_a(b->a, id, &ver)))
            return fail(b, ep->line, "field eprint: not an arXiv id: ", id);
        w->arxiv_version = ver;
    }
    if ((f = field(e, "url"))) { /* a doi.org / arxiv.org link */
        const char *u = text(b, f->value, f->line);
        if (!u)
            return -1;
        if (!w->doi && strstr(u, "doi.org/10."))
            w->doi = ix_doi_canon_a(b->a, u);
        int ver = 0;
        if (!w->arxiv_id && strstr(u, "arxiv.org/abs/") &&
            (w->arxiv_id = ix_arxiv_canon_a(b->a, u, &ver)))
            w->arxiv_version = ver;
    }
    if ((f = field(e, "pmid"))) {
        const char *p = text(b, f->value, f->line);
        if (!p)
            return -1;
        if (!*p || strlen(p) > 11 || strspn(p, "0123456789") != strlen(p))
            return fail(b, f->line, "field pmid: not a PubMed id: ", p);
        w->pmid = p;
    }
    if ((f = field(e, "note")) && !(w->comments = text(b, f->value, f->line)))
        return -1;
    return authors(b, field(e, "author"), w);
}

int ix_bibtex_parse(const ix_input *in, const ix_sink *sink, pgr_err *err)
{
    pgr_arena arena = {0};
    int rc = -1;
    bib b = {.a = &arena, .err = err, .s = in->data, .end = in->data + in->len,
             .p = in->data, .line = 1};
    pgr_err_clear(err);
    size_t bad;
    const char *nul = memchr(in->data, '\0', in->len);
    if (nul) {
        pgr_errf(err, PGR_EINVAL, "offset %zu: NUL byte in a BibTeX file", (size_t)(nul - in->data));
        goto cleanup;
    }
    if (!ix_utf8_valid(in->data, in->len, &bad)) {
        pgr_errf(err, PGR_EINVAL, "offset %zu: invalid UTF-8 (BibTeX files are read as UTF-8)",
                 bad);
        goto cleanup;
    }
    if (in->len >= 3 && !memcmp(in->data, "\xef\xbb\xbf", 3))
        b.p += 3;
    if (parse_all(&b))
        goto cleanup;
    bib_entry *es = b.entries.items;
    b.sorted = pgr_arena_calloc(&arena, b.entries.n + 1, sizeof *b.sorted);
    if (!b.sorted) {
        pgr_errf(err, PGR_ENOMEM, "out of memory");
        goto cleanup;
    }
    for (size_t i = 0; i < b.entries.n; i++)
        b.sorted[i] = &es[i];
    qsort(b.sorted, b.entries.n, sizeof *b.sorted, by_key);
    for (size_t i = 1; i < b.entries.n; i++)
        if (!strcasecmp(b.sorted[i]->key, b.sorted[i - 1]->key)) {
            pgr_errf(err, PGR_EINVAL, "line %ld: entry key %.80s repeated (first at line %ld)",
                     b.sorted[i]->line, b.sorted[i]->key, b.sorted[i - 1]->line);
            goto cleanup;
        }
    size_t untitled = 0;
    long position = 0;
    for (size_t i = 0; i < b.entries.n; i++) {
        ix_work w;
        int skip = 0;
        if (build_work(&b, &es[i], position + 1, &w, &skip))
            goto cleanup;
        if (skip) {
            untitled++;
            continue;
        }
        position++;
        if (sink->work && sink->work(sink->ctx, &w, err))
            goto cleanup;
    }
    if (!b.entries.n)
        ix_notice(err, "no entries");
    else if (untitled)
        ix_notice(err, "%ld work(s); %zu entr%s without a title skipped", position, untitled,
                  untitled == 1 ? "y" : "ies");
    rc = 0;
cleanup:
    if (rc && err->code == PGR_OK)
        pgr_errf(err, PGR_EINVAL, "offset 0: BibTeX input rejected");
    pgr_arena_free(&arena);
    return rc;
}
