/* Normalisation: Unicode folding, LaTeX folding, title and name keys, the
 * arXiv taxonomy and deterministic keyword topics (see normalize.h). */
#include "indexer/normalize.h"

#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

static int oom(pgr_err *err)
{
    return pgr_errf(err, PGR_ENOMEM, "out of memory while normalising");
}

static int is_ascii(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s >= 0x80)
            return 0;
    return 1;
}

/* Latin letters without a canonical decomposition, folded to their base so
 * that "Søren" and "Soren" (or "Łukasz" and "Lukasz") compare equal. Input
 * codepoints are already case folded. */
static const char *special_letter(utf8proc_int32_t c)
{
    switch (c) {
    case 0x00F8: return "o";  /* ø */
    case 0x0111: return "d";  /* đ */
    case 0x00F0: return "d";  /* ð */
    case 0x0142: return "l";  /* ł */
    case 0x00E6: return "ae"; /* æ */
    case 0x0153: return "oe"; /* œ */
    case 0x00FE: return "th"; /* þ */
    case 0x0131: return "i";  /* ı */
    case 0x0127: return "h";  /* ħ */
    case 0x0167: return "t";  /* ŧ */
    default: return NULL;
    }
}

int ix_fold(const char *s, pgr_sb *out, pgr_err *err)
{
    if (is_ascii(s)) { /* the common case: NFKC and case folding of ASCII is tolower */
        for (; *s; s++)
            pgr_sb_putc(out, (char)tolower((unsigned char)*s));
        return pgr_sb_ok(out) ? 0 : oom(err);
    }
    utf8proc_uint8_t *m = NULL;
    utf8proc_ssize_t n =
        utf8proc_map((const utf8proc_uint8_t *)s, 0, &m,
                     UTF8PROC_NULLTERM | UTF8PROC_STABLE | UTF8PROC_COMPAT | UTF8PROC_COMPOSE |
                         UTF8PROC_CASEFOLD | UTF8PROC_STRIPMARK | UTF8PROC_IGNORE |
                         UTF8PROC_LUMP);
    if (n < 0)
        return pgr_errf(err, PGR_EINVAL, "invalid UTF-8 (%s)", utf8proc_errmsg(n));
    for (utf8proc_ssize_t i = 0; i < n;) {
        utf8proc_int32_t c;
        utf8proc_ssize_t k = utf8proc_iterate(m + i, n - i, &c);
        if (k <= 0)
            break; /* cannot happen: utf8proc_map produced it */
        const char *sp = special_letter(c);
        if (sp)
            pgr_sb_puts(out, sp);
        else
            pgr_sb_append(out, (const char *)m + i, (size_t)k);
        i += k;
    }
    free(m);
    return pgr_sb_ok(out) ? 0 : oom(err);
}

/* ---- LaTeX ------------------------------------------------------------- */

static void put_cp(pgr_sb *out, utf8proc_int32_t c)
{
    utf8proc_uint8_t b[4];
    utf8proc_ssize_t n = utf8proc_encode_char(c, b);
    pgr_sb_append(out, (const char *)b, (size_t)n);
}

/* Combining mark of a one-character accent command (\" \' ...) or of a
 * letter accent command (\u \v \H \c \k \r \d \b \t), 0 when not an accent. */
static utf8proc_int32_t accent_mark(const char *name, size_t len)
{
    if (len != 1)
        return 0;
    switch (name[0]) {
    case '"': return 0x0308;
    case '\'': return 0x0301;
    case '`': return 0x0300;
    case '^': return 0x0302;
    case '~': return 0x0303;
    case '=': return 0x0304;
    case '.': return 0x0307;
    case 'u': return 0x0306;
    case 'v': return 0x030C;
    case 'H': return 0x030B;
    case 'c': return 0x0327;
    case 'k': return 0x0328;
    case 'r': return 0x030A;
    case 'd': return 0x0323;
    case 'b': return 0x0331;
    case 't': return 0x0361;
    default: return 0;
    }
}

struct latex_word {
    const char *name;
    const char *text;
};
/* Letter commands that stand for a character (no space is kept after them). */
static const struct latex_word latex_letters[] = {
    {"ss", "ß"}, {"o", "ø"},  {"O", "Ø"},  {"l", "ł"},  {"L", "Ł"}, {"ae", "æ"},
    {"AE", "Æ"}, {"oe", "œ"}, {"OE", "Œ"}, {"aa", "å"}, {"AA", "Å"}, {"i", "i"},
    {"j", "j"},  {"dh", "ð"}, {"DH", "Ð"}, {"th", "þ"}, {"TH", "Þ"},
};
/* Commands rendered as text. */
static const struct latex_word latex_symbols[] = {
    {"ldots", "..."}, {"dots", "..."}, {"cdots", "..."}, {"textendash", "–"},
    {"textemdash", "—"}, {"textquoteright", "'"}, {"textquoteleft", "'"},
    {"S", "§"},       {"P", "¶"},      {"copyright", "©"}, {"pounds", "£"},
    {"textasciitilde", "~"}, {"textbackslash", "\\"}, {"times", "×"}, {"pm", "±"},
    {"leq", "≤"},      {"le", "≤"},      {"geq", "≥"},      {"ge", "≥"},
    {"neq", "≠"},      {"ne", "≠"},      {"approx", "≈"},   {"sim", "~"},
    {"rightarrow", "→"}, {"to", "→"},    {"leftarrow", "←"}, {"infty", "∞"},
    {"cdot", "·"},     {"quad", " "},    {"qquad", " "},    {"newline", " "},
};
/* Formatting commands whose argument is the text: the command itself vanishes. */
static const char *const latex_formatting[] = {
    "textit", "textbf", "emph", "textrm", "texttt", "textsc", "textsf", "textup",
    "textnormal", "text", "textsl", "mathrm", "mathbf", "mathit", "mathcal", "mathbb",
    "mathsf", "mathtt", "mathfrak", "mathscr", "boldsymbol", "bm", "operatorname", "mbox",
    "hbox", "url", "underline", "uline", "it", "bf", "em", "rm", "sc", "tt", "sf", "sl",
    "small", "large", "Large", "normalsize", "footnotesize", "scriptsize", "tiny", "huge",
    "Huge", "displaystyle", "textstyle", "left", "right", "big", "Big", "bigl", "bigr",
    "Bigl", "Bigr", "mathop", "limits", "nolimits", "protect", "relax", "xspace",
};

static int word_eq(const char *name, size_t len, const char *w)
{
    return strlen(w) == len && !memcmp(name, w, len);
}

static int last_is_alnum(const pgr_sb *out)
{
    if (!out->len)
        return 0;
    unsigned char c = (unsigned char)out->data[out->len - 1];
    return isalnum(c) || c >= 0x80;
}

int ix_latex_fold(const char *s, pgr_sb *out, pgr_err *err)
{
    if (!strpbrk(s, "\\{}$`~'-")) { /* nothing LaTeX could mean: copy */
        pgr_sb_puts(out, s);
        return pgr_sb_ok(out) ? 0 : oom(err);
    }
    size_t start = out->len;
    int marks = 0;
    const char *p = s;
    while (*p) {
        char c = *p;
        if (c == '\\') {
            const char *name = p + 1;
            size_t len = 0;
            if (isalpha((unsigned char)*name)) {
                while (isalpha((unsigned char)name[len]))
                    len++;
            } else if (*name) {
                len = 1;
            } else {
                p++; /* trailing backslash: dropped */
                continue;
            }
            const char *after = name + len;
            int is_letter_cmd = isalpha((unsigned char)*name);
            utf8proc_int32_t mark = accent_mark(name, len);
            if (mark) {
                /* argument: {x}, {\i}, or a single character (after spaces for
                 * letter commands: "\v c") */
                const char *a = after;
                if (is_letter_cmd)
                    while (*a == ' ')
                        a++;
                if (is_letter_cmd && *a != '{' && !isalpha((unsigned char)*a)) {
                    /* "\u" not followed by an argument: not an accent */
                    pgr_sb_append(out, name, len);
                    p = after;
                    continue;
                }
                int braced = *a == '{';
                if (braced)
                    a++;
                while (braced && *a == ' ')
                    a++;
                const char *base = a;
                size_t blen = 0;
                if (*a == '\\' && (a[1] == 'i' || a[1] == 'j') && !isalpha((unsigned char)a[2])) {
                    base = a + 1; /* \i and \j: the dotless letters take the accent */
                    blen = 1;
                    a += 2;
                } else if (*a && *a != '}') {
                    utf8proc_int32_t cp;
                    utf8proc_ssize_t k =
                        utf8proc_iterate((const utf8proc_uint8_t *)a, -1, &cp);
                    if (k <= 0)
                        return pgr_errf(err, PGR_EINVAL, "invalid UTF-8 at byte %zu",
                                        (size_t)(a - s));
                    blen = (size_t)k;
                    a += k;
                }
                if (braced) {
                    while (*a == ' ')
                        a++;
                    if (*a == '}')
                        a++;
                }
                pgr_sb_append(out, base, blen);
                if (blen) {
                    put_cp(out, mark);
                    marks = 1;
                }
                p = a;
                continue;
            }
            if (!is_letter_cmd) {
                switch (*name) {
                case '{': case '}': case '$': case '&': case '%': case '#': case '_':
                    pgr_sb_putc(out, *name);
                    break;
                case '\\': case ' ': case ',': case ';': case ':':
                    pgr_sb_putc(out, ' ');
                    break;
                default: /* \- \/ \! and unknown symbols: nothing */
                    break;
                }
                p = after;
                continue;
            }
            int done = 0;
            for (size_t i = 0; !done && i < sizeof latex_letters / sizeof latex_letters[0]; i++)
                if (word_eq(name, len, latex_letters[i].name)) {
                    pgr_sb_puts(out, latex_letters[i].text);
                    /* TeX eats the space after a control word: "Stra\ss e" */
                    while (*after == ' ')
                        after++;
                    if (*after == '{' && after[1] == '}')
                        after += 2;
                    done = 1;
                }
            for (size_t i = 0; !done && i < sizeof latex_symbols / sizeof latex_symbols[0]; i++)
                if (word_eq(name, len, latex_symbols[i].name)) {
                    pgr_sb_puts(out, latex_symbols[i].text);
                    done = 1;
                }
            for (size_t i = 0;
                 !done && i < sizeof latex_formatting / sizeof latex_formatting[0]; i++)
                if (word_eq(name, len, latex_formatting[i])) {
                    while (*after == ' ')
                        after++;
                    done = 1;
                }
            if (!done) { /* \alpha -> alpha, \LaTeX -> LaTeX: the name is the text */
                if (last_is_alnum(out))
                    pgr_sb_putc(out, ' ');
                pgr_sb_append(out, name, len);
            }
            p = after;
            continue;
        }
        switch (c) {
        case '{': case '}': case '$':
            p++;
            continue;
        case '~':
            pgr_sb_putc(out, ' ');
            p++;
            continue;
        case '`':
            if (p[1] == '`') {
                pgr_sb_putc(out, '"');
                p += 2;
            } else {
                pgr_sb_putc(out, '\'');
                p++;
            }
            continue;
        case '\'':
            if (p[1] == '\'') {
                pgr_sb_putc(out, '"');
                p += 2;
            } else {
                pgr_sb_putc(out, '\'');
                p++;
            }
            continue;
        case '-':
            if (p[1] == '-' && p[2] == '-') {
                pgr_sb_puts(out, "—");
                p += 3;
            } else if (p[1] == '-') {
                pgr_sb_puts(out, "–");
                p += 2;
            } else {
                pgr_sb_putc(out, '-');
                p++;
            }
            continue;
        default:
            pgr_sb_putc(out, c);
            p++;
        }
    }
    if (!pgr_sb_ok(out))
        return oom(err);
    if (marks) { /* compose base letter + combining mark: "o" U+0308 -> "ö" */
        utf8proc_uint8_t *m = NULL;
        utf8proc_ssize_t n = utf8proc_map((const utf8proc_uint8_t *)out->data + start,
                                          (utf8proc_ssize_t)(out->len - start), &m,
                                          UTF8PROC_STABLE | UTF8PROC_COMPOSE);
        if (n < 0)
            return pgr_errf(err, PGR_EINVAL, "invalid UTF-8 (%s)", utf8proc_errmsg(n));
        out->len = start;
        out->data[start] = 0;
        pgr_sb_append(out, (const char *)m, (size_t)n);
        free(m);
        if (!pgr_sb_ok(out))
            return oom(err);
    }
    return 0;
}

/* ---- keys ------------------------------------------------------------- */

/* Is the codepoint a letter or a digit (Unicode categories L* and N*)? */
static int cp_is_alnum(utf8proc_int32_t c)
{
    if (c < 0x80)
        return isalnum(c);
    utf8proc_category_t cat = utf8proc_category(c);
    return (cat >= UTF8PROC_CATEGORY_LU && cat <= UTF8PROC_CATEGORY_LO) ||
           (cat >= UTF8PROC_CATEGORY_ND && cat <= UTF8PROC_CATEGORY_NO) ||
           cat == UTF8PROC_CATEGORY_MN || cat == UTF8PROC_CATEGORY_MC;
}

/* Appends the letters and digits of folded text with every other run replaced
 * by one space (no leading/trailing space). */
static void alnum_words(const char *f, size_t n, pgr_sb *out)
{
    int pending = 0;
    size_t start = out->len;
    for (size_t i = 0; i < n;) {
        utf8proc_int32_t c;
        utf8proc_ssize_t k =
            utf8proc_iterate((const utf8proc_uint8_t *)f + i, (utf8proc_ssize_t)(n - i), &c);
        if (k <= 0) {
            i++;
            continue;
        }
        if (cp_is_alnum(c)) {
            if (pending && out->len > start)
                pgr_sb_putc(out, ' ');
            pending = 0;
            pgr_sb_append(out, f + i, (size_t)k);
        } else {
            pending = 1;
        }
        i += (size_t)k;
    }
}

int ix_title_key(const char *s, pgr_sb *out, pgr_err *err)
{
    pgr_sb a = {0}, b = {0};
    int rc = -1;
    if (ix_latex_fold(s, &a, err) < 0)
        goto cleanup;
    if (ix_fold(a.data ? a.data : "", &b, err) < 0)
        goto cleanup;
    alnum_words(b.data ? b.data : "", b.len, out);
    if (!pgr_sb_ok(out)) {
        oom(err);
        goto cleanup;
    }
    rc = 0;
cleanup:
    pgr_sb_free(&a);
    pgr_sb_free(&b);
    return rc;
}

static const char *const name_suffixes[] = {"jr", "sr", "ii", "iii", "iv", "phd", "md"};
static const char *const name_particles[] = {"van", "von", "der", "den", "de", "del", "della",
                                            "di", "da", "dos", "das", "du", "la", "le",
                                            "ten", "ter", "bin", "ibn", "al", "el", "st"};

static int in_list(const char *w, size_t len, const char *const *list, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (word_eq(w, len, list[i]))
            return 1;
    return 0;
}

/* Splits a cleaned name part (letters, digits, spaces) into tokens. */
typedef struct {
    const char *p[32];
    size_t len[32];
    size_t n;
} tokens;

static void tokenize(const char *s, tokens *t)
{
    t->n = 0;
    while (*s) {
        while (*s == ' ')
            s++;
        if (!*s)
            break;
        const char *b = s;
        while (*s && *s != ' ')
            s++;
        if (t->n < 32) {
            t->p[t->n] = b;
            t->len[t->n] = (size_t)(s - b);
            t->n++;
        }
    }
}

/* Cleans one folded part of a name: '.' and other punctuation become spaces
 * except hyphens and apostrophes, which join ("run-ze" -> "runze"). */
static void clean_part(const char *s, size_t n, pgr_sb *out)
{
    for (size_t i = 0; i < n;) {
        utf8proc_int32_t c;
        utf8proc_ssize_t k =
            utf8proc_iterate((const utf8proc_uint8_t *)s + i, (utf8proc_ssize_t)(n - i), &c);
        if (k <= 0) {
            i++;
            continue;
        }
        if (cp_is_alnum(c))
            pgr_sb_append(out, s + i, (size_t)k);
        else if (c == '-' || c == '\'' || c == 0x2010 || c == 0x2019)
            ; /* joined */
        else
            pgr_sb_putc(out, ' ');
        i += (size_t)k;
    }
}

int ix_name_keys(const char *raw, pgr_sb *full, pgr_sb *initials, pgr_err *err)
{
    pgr_sb lx = {0}, f = {0}, given = {0}, family = {0};
    int rc = -1;
    if (ix_latex_fold(raw, &lx, err) < 0 || ix_fold(lx.data ? lx.data : "", &f, err) < 0)
        goto cleanup;
    const char *s = f.data ? f.data : "";
    /* comma form: "Family, Given[, Suffix]" unless the part after the first
     * comma is only a suffix ("John Smith, Jr.") */
    const char *c1 = strchr(s, ',');
    if (c1) {
        const char *rest = c1 + 1;
        const char *c2 = strchr(rest, ',');
        size_t rlen = c2 ? (size_t)(c2 - rest) : strlen(rest);
        pgr_sb tmp = {0};
        clean_part(rest, rlen, &tmp);
        tokens t;
        tokenize(tmp.data ? tmp.data : "", &t);
        int suffix_only = t.n == 1 && in_list(t.p[0], t.len[0], name_suffixes,
                                                 sizeof name_suffixes / sizeof name_suffixes[0]);
        int empty = t.n == 0;
        pgr_sb_free(&tmp);
        if (!suffix_only && !empty) {
            clean_part(s, (size_t)(c1 - s), &family);
            clean_part(rest, rlen, &given);
        } else {
            clean_part(s, (size_t)(c1 - s), &given); /* split below as "Given Family" */
        }
    } else {
        clean_part(s, strlen(s), &given);
    }
    if (!family.len) {
        /* "Given [particles] Family [Suffix]" */
        tokens t;
        tokenize(given.data ? given.data : "", &t);
        while (t.n > 1 && in_list(t.p[t.n - 1], t.len[t.n - 1], name_suffixes,
                                  sizeof name_suffixes / sizeof name_suffixes[0]))
            t.n--;
        size_t fam = t.n ? t.n - 1 : 0;
        while (fam > 1 && in_list(t.p[fam - 1], t.len[fam - 1], name_particles,
                                  sizeof name_particles / sizeof name_particles[0]))
            fam--;
        pgr_sb g2 = {0};
        for (size_t i = 0; i < t.n; i++) {
            pgr_sb *dst = i < fam ? &g2 : &family;
            if (dst->len)
                pgr_sb_putc(dst, ' ');
            pgr_sb_append(dst, t.p[i], t.len[i]);
        }
        pgr_sb_free(&given);
        given = g2;
    } else {
        /* drop suffixes in the comma form's family part ("Smith Jr, John") */
        tokens t;
        tokenize(family.data, &t);
        while (t.n > 1 && in_list(t.p[t.n - 1], t.len[t.n - 1], name_suffixes,
                                  sizeof name_suffixes / sizeof name_suffixes[0]))
            t.n--;
        pgr_sb f2 = {0};
        for (size_t i = 0; i < t.n; i++) {
            if (f2.len)
                pgr_sb_putc(&f2, ' ');
            pgr_sb_append(&f2, t.p[i], t.len[i]);
        }
        pgr_sb_free(&family);
        family = f2;
    }
    tokens gt, ft;
    tokenize(given.data ? given.data : "", &gt);
    tokenize(family.data ? family.data : "", &ft);
    if (full) {
        size_t before = full->len;
        for (size_t i = 0; i < gt.n; i++) {
            if (full->len > before)
                pgr_sb_putc(full, ' ');
            pgr_sb_append(full, gt.p[i], gt.len[i]);
        }
        for (size_t i = 0; i < ft.n; i++) {
            if (full->len > before)
                pgr_sb_putc(full, ' ');
            pgr_sb_append(full, ft.p[i], ft.len[i]);
        }
    }
    if (initials) {
        size_t before = initials->len;
        if (gt.n) {
            utf8proc_int32_t cp;
            utf8proc_ssize_t k = utf8proc_iterate((const utf8proc_uint8_t *)gt.p[0],
                                                  (utf8proc_ssize_t)gt.len[0], &cp);
            if (k > 0)
                pgr_sb_append(initials, gt.p[0], (size_t)k);
        }
        for (size_t i = 0; i < ft.n; i++) {
            if (initials->len > before)
                pgr_sb_putc(initials, ' ');
            pgr_sb_append(initials, ft.p[i], ft.len[i]);
        }
    }
    if ((full && !pgr_sb_ok(full)) || (initials && !pgr_sb_ok(initials)) || !pgr_sb_ok(&given) ||
        !pgr_sb_ok(&family)) {
        oom(err);
        goto cleanup;
    }
    rc = 0;
cleanup:
    pgr_sb_free(&lx);
    pgr_sb_free(&f);
    pgr_sb_free(&given);
    pgr_sb_free(&family);
    return rc;
}

/* ---- arXiv taxonomy ------------------------------------------------------ */

struct category {
    const char *code, *name;
};
/* The arXiv category taxonomy (arxiv.org/category_taxonomy), plus the archives
 * that have no subject classes and the legacy archives still found in old
 * metadata. Sorted by group as arXiv lists them. */
static const struct category categories[] = {
    {"cs.AI", "Artificial Intelligence"},
    {"cs.AR", "Hardware Architecture"},
    {"cs.CC", "Computational Complexity"},
    {"cs.CE", "Computational Engineering, Finance, and Science"},
    {"cs.CG", "Computational Geometry"},
    {"cs.CL", "Computation and Language"},
    {"cs.CR", "Cryptography and Security"},
    {"cs.CV", "Computer Vision and Pattern Recognition"},
    {"cs.CY", "Computers and Society"},
    {"cs.DB", "Databases"},
    {"cs.DC", "Distributed, Parallel, and Cluster Computing"},
    {"cs.DL", "Digital Libraries"},
    {"cs.DM", "Discrete Mathematics"},
    {"cs.DS", "Data Structures and Algorithms"},
    {"cs.ET", "Emerging Technologies"},
    {"cs.FL", "Formal Languages and Automata Theory"},
    {"cs.GL", "General Literature"},
    {"cs.GR", "Graphics"},
    {"cs.GT", "Computer Science and Game Theory"},
    {"cs.HC", "Human-Computer Interaction"},
    {"cs.IR", "Information Retrieval"},
    {"cs.IT", "Information Theory"},
    {"cs.LG", "Machine Learning"},
    {"cs.LO", "Logic in Computer Science"},
    {"cs.MA", "Multiagent Systems"},
    {"cs.MM", "Multimedia"},
    {"cs.MS", "Mathematical Software"},
    {"cs.NA", "Numerical Analysis"},
    {"cs.NE", "Neural and Evolutionary Computing"},
    {"cs.NI", "Networking and Internet Architecture"},
    {"cs.OH", "Other Computer Science"},
    {"cs.OS", "Operating Systems"},
    {"cs.PF", "Performance"},
    {"cs.PL", "Programming Languages"},
    {"cs.RO", "Robotics"},
    {"cs.SC", "Symbolic Computation"},
    {"cs.SD", "Sound"},
    {"cs.SE", "Software Engineering"},
    {"cs.SI", "Social and Information Networks"},
    {"cs.SY", "Systems and Control"},
    {"econ.EM", "Econometrics"},
    {"econ.GN", "General Economics"},
    {"econ.TH", "Theoretical Economics"},
    {"eess.AS", "Audio and Speech Processing"},
    {"eess.IV", "Image and Video Processing"},
    {"eess.SP", "Signal Processing"},
    {"eess.SY", "Systems and Control"},
    {"math.AC", "Commutative Algebra"},
    {"math.AG", "Algebraic Geometry"},
    {"math.AP", "Analysis of PDEs"},
    {"math.AT", "Algebraic Topology"},
    {"math.CA", "Classical Analysis and ODEs"},
    {"math.CO", "Combinatorics"},
    {"math.CT", "Category Theory"},
    {"math.CV", "Complex Variables"},
    {"math.DG", "Differential Geometry"},
    {"math.DS", "Dynamical Systems"},
    {"math.FA", "Functional Analysis"},
    {"math.GM", "General Mathematics"},
    {"math.GN", "General Topology"},
    {"math.GR", "Group Theory"},
    {"math.GT", "Geometric Topology"},
    {"math.HO", "History and Overview"},
    {"math.IT", "Information Theory"},
    {"math.KT", "K-Theory and Homology"},
    {"math.LO", "Logic"},
    {"math.MG", "Metric Geometry"},
    {"math.MP", "Mathematical Physics"},
    {"math.NA", "Numerical Analysis"},
    {"math.NT", "Number Theory"},
    {"math.OA", "Operator Algebras"},
    {"math.OC", "Optimization and Control"},
    {"math.PR", "Probability"},
    {"math.QA", "Quantum Algebra"},
    {"math.RA", "Rings and Algebras"},
    {"math.RT", "Representation Theory"},
    {"math.SG", "Symplectic Geometry"},
    {"math.SP", "Spectral Theory"},
    {"math.ST", "Statistics Theory"},
    {"astro-ph", "Astrophysics"},
    {"astro-ph.CO", "Cosmology and Nongalactic Astrophysics"},
    {"astro-ph.EP", "Earth and Planetary Astrophysics"},
    {"astro-ph.GA", "Astrophysics of Galaxies"},
    {"astro-ph.HE", "High Energy Astrophysical Phenomena"},
    {"astro-ph.IM", "Instrumentation and Methods for Astrophysics"},
    {"astro-ph.SR", "Solar and Stellar Astrophysics"},
    {"cond-mat", "Condensed Matter"},
    {"cond-mat.dis-nn", "Disordered Systems and Neural Networks"},
    {"cond-mat.mes-hall", "Mesoscale and Nanoscale Physics"},
    {"cond-mat.mtrl-sci", "Materials Science"},
    {"cond-mat.other", "Other Condensed Matter"},
    {"cond-mat.quant-gas", "Quantum Gases"},
    {"cond-mat.soft", "Soft Condensed Matter"},
    {"cond-mat.stat-mech", "Statistical Mechanics"},
    {"cond-mat.str-el", "Strongly Correlated Electrons"},
    {"cond-mat.supr-con", "Superconductivity"},
    {"gr-qc", "General Relativity and Quantum Cosmology"},
    {"hep-ex", "High Energy Physics - Experiment"},
    {"hep-lat", "High Energy Physics - Lattice"},
    {"hep-ph", "High Energy Physics - Phenomenology"},
    {"hep-th", "High Energy Physics - Theory"},
    {"math-ph", "Mathematical Physics"},
    {"nlin", "Nonlinear Sciences"},
    {"nlin.AO", "Adaptation and Self-Organizing Systems"},
    {"nlin.CD", "Chaotic Dynamics"},
    {"nlin.CG", "Cellular Automata and Lattice Gases"},
    {"nlin.PS", "Pattern Formation and Solitons"},
    {"nlin.SI", "Exactly Solvable and Integrable Systems"},
    {"nucl-ex", "Nuclear Experiment"},
    {"nucl-th", "Nuclear Theory"},
    {"physics", "Physics"},
    {"physics.acc-ph", "Accelerator Physics"},
    {"physics.ao-ph", "Atmospheric and Oceanic Physics"},
    {"physics.app-ph", "Applied Physics"},
    {"physics.atm-clus", "Atomic and Molecular Clusters"},
    {"physics.atom-ph", "Atomic Physics"},
    {"physics.bio-ph", "Biological Physics"},
    {"physics.chem-ph", "Chemical Physics"},
    {"physics.class-ph", "Classical Physics"},
    {"physics.comp-ph", "Computational Physics"},
    {"physics.data-an", "Data Analysis, Statistics and Probability"},
    {"physics.ed-ph", "Physics Education"},
    {"physics.flu-dyn", "Fluid Dynamics"},
    {"physics.gen-ph", "General Physics"},
    {"physics.geo-ph", "Geophysics"},
    {"physics.hist-ph", "History and Philosophy of Physics"},
    {"physics.ins-det", "Instrumentation and Detectors"},
    {"physics.med-ph", "Medical Physics"},
    {"physics.optics", "Optics"},
    {"physics.plasm-ph", "Plasma Physics"},
    {"physics.pop-ph", "Popular Physics"},
    {"physics.soc-ph", "Physics and Society"},
    {"physics.space-ph", "Space Physics"},
    {"quant-ph", "Quantum Physics"},
    {"q-bio", "Quantitative Biology"},
    {"q-bio.BM", "Biomolecules"},
    {"q-bio.CB", "Cell Behavior"},
    {"q-bio.GN", "Genomics"},
    {"q-bio.MN", "Molecular Networks"},
    {"q-bio.NC", "Neurons and Cognition"},
    {"q-bio.OT", "Other Quantitative Biology"},
    {"q-bio.PE", "Populations and Evolution"},
    {"q-bio.QM", "Quantitative Methods"},
    {"q-bio.SC", "Subcellular Processes"},
    {"q-bio.TO", "Tissues and Organs"},
    {"q-fin.CP", "Computational Finance"},
    {"q-fin.EC", "Economics"},
    {"q-fin.GN", "General Finance"},
    {"q-fin.MF", "Mathematical Finance"},
    {"q-fin.PM", "Portfolio Management"},
    {"q-fin.PR", "Pricing of Securities"},
    {"q-fin.RM", "Risk Management"},
    {"q-fin.ST", "Statistical Finance"},
    {"q-fin.TR", "Trading and Market Microstructure"},
    {"stat.AP", "Applications"},
    {"stat.CO", "Computation"},
    {"stat.ME", "Methodology"},
    {"stat.ML", "Machine Learning"},
    {"stat.OT", "Other Statistics"},
    {"stat.TH", "Statistics Theory"},
    /* legacy archives (merged into the ones above, still in old records) */
    {"acc-phys", "Accelerator Physics"},
    {"adap-org", "Adaptation, Noise, and Self-Organizing Systems"},
    {"alg-geom", "Algebraic Geometry"},
    {"ao-sci", "Atmospheric-Oceanic Sciences"},
    {"atom-ph", "Atomic, Molecular and Optical Physics"},
    {"bayes-an", "Bayesian Analysis"},
    {"chao-dyn", "Chaotic Dynamics"},
    {"chem-ph", "Chemical Physics"},
    {"cmp-lg", "Computation and Language"},
    {"comp-gas", "Cellular Automata and Lattice Gases"},
    {"dg-ga", "Differential Geometry"},
    {"funct-an", "Functional Analysis"},
    {"mtrl-th", "Materials Theory"},
    {"patt-sol", "Pattern Formation and Solitons"},
    {"plasm-ph", "Plasma Physics"},
    {"q-alg", "Quantum Algebra and Topology"},
    {"solv-int", "Exactly Solvable and Integrable Systems"},
    {"supr-con", "Superconductivity"},
};
#define N_CATEGORIES (sizeof categories / sizeof categories[0])

const char *ix_arxiv_category_name(const char *code)
{
    if (!code)
        return NULL;
    for (size_t i = 0; i < N_CATEGORIES; i++)
        if (!strcmp(categories[i].code, code))
            return categories[i].name;
    return NULL;
}

int ix_arxiv_category_at(size_t i, const char **code, const char **name)
{
    if (i >= N_CATEGORIES)
        return 0;
    *code = categories[i].code;
    *name = categories[i].name;
    return 1;
}

const char *ix_site_code_category(const char *code)
{
    /* Profile sites show the subject part of a cs.* category ("CL"); "ML" is
     * the one non-cs code they use (stat.ML). */
    if (!code || strlen(code) != 2 || !isalpha((unsigned char)code[0]) ||
        !isalpha((unsigned char)code[1]))
        return NULL;
    char up[3] = {(char)toupper((unsigned char)code[0]), (char)toupper((unsigned char)code[1]), 0};
    if (!strcmp(up, "ML"))
        return "stat.ML";
    for (size_t i = 0; i < N_CATEGORIES; i++)
        if (!strncmp(categories[i].code, "cs.", 3) && !strcmp(categories[i].code + 3, up))
            return categories[i].code;
    return NULL;
}
