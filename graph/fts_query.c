/* The search query language: tokenizer, recursive-descent parser, and two
 * emitters (FTS5 MATCH and PostgreSQL to_tsquery). See fts_query.h. */
#include "graph/fts_query.h"

#include <stdlib.h>
#include <string.h>

#define MAX_QUERY_BYTES 1000
#define MAX_WORDS 32
#define MAX_DEPTH 8

enum tok_kind { T_WORD, T_AND, T_OR, T_NOT, T_LPAREN, T_RPAREN, T_END };

typedef struct tok {
    enum tok_kind kind;
    size_t off;   /* byte offset in the query, for messages */
    char **words; /* T_WORD: one word, or several = a phrase */
    int n_words;
    int prefix; /* last word is a prefix */
} tok;

enum node_kind { N_TERM, N_AND, N_OR, N_NOT };

typedef struct node {
    enum node_kind kind;
    const tok *term;    /* N_TERM */
    struct node **kids; /* N_AND, N_OR; N_NOT has one */
    int n_kids;
} node;

typedef struct parser {
    pgr_arena arena;
    const char *param;
    tok *toks;
    int n_toks, pos, n_words;
    pgr_fts_fold fold;
    pgr_err *err;
} parser;

static int is_word_byte(unsigned char c)
{
    return c >= 0x80 || (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static int is_space(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

/* Appends one word (lower-cased ASCII) to t's phrase. */
static int add_word(parser *p, tok *t, const char *w0, size_t n)
{
    if (++p->n_words > MAX_WORDS)
        return pgr_errf(p->err, PGR_EINVAL, "%s: more than %d words", p->param, MAX_WORDS);
    char **nw = pgr_arena_calloc(&p->arena, (size_t)t->n_words + 1, sizeof *nw);
    char *w = pgr_arena_strndup(&p->arena, w0, n);
    if (!nw || !w)
        return pgr_errf(p->err, PGR_ENOMEM, "%s: out of memory", p->param);
    for (char *c = w; *c; c++)
        if (*c >= 'A' && *c <= 'Z')
            *c = (char)(*c - 'A' + 'a');
    if (t->n_words)
        memcpy(nw, t->words, (size_t)t->n_words * sizeof *nw);
    nw[t->n_words++] = w;
    t->words = nw;
    return 0;
}

/* Calls fn on each run of word bytes in s[0..n). */
static int each_run(parser *p, tok *t, const char *s, size_t n,
                    int (*fn)(parser *, tok *, const char *, size_t))
{
    size_t i = 0;
    while (i < n) {
        while (i < n && !is_word_byte((unsigned char)s[i]))
            i++;
        size_t start = i;
        while (i < n && is_word_byte((unsigned char)s[i]))
            i++;
        if (i > start && fn(p, t, s + start, i - start) < 0)
            return -1;
    }
    return 0;
}

/* One raw word through the store's folding (which may drop it or split it:
 * "Müller" -> "muller", "naïve-ish" -> "naive ish"). */
static int add_folded(parser *p, tok *t, const char *w, size_t n)
{
    char *raw = pgr_arena_strndup(&p->arena, w, n);
    pgr_sb f = {0};
    if (!raw)
        return pgr_errf(p->err, PGR_ENOMEM, "%s: out of memory", p->param);
    p->fold(raw, &f);
    int rc = pgr_sb_ok(&f) ? 0 : pgr_errf(p->err, PGR_ENOMEM, "%s: out of memory", p->param);
    if (rc == 0 && f.data)
        rc = each_run(p, t, f.data, f.len, add_word);
    pgr_sb_free(&f);
    return rc;
}

/* Splits s[0..n) into words at every non-word byte, appending them to t.
 * Returns 0, or -1 when over the word limit or out of memory. */
static int split_words(parser *p, tok *t, const char *s, size_t n)
{
    return each_run(p, t, s, n, p->fold ? add_folded : add_word);
}

static tok *push_tok(parser *p, enum tok_kind kind, size_t off)
{
    /* Tokens never outnumber bytes + 1, so the array was sized up front. */
    tok *t = &p->toks[p->n_toks++];
    memset(t, 0, sizeof *t);
    t->kind = kind;
    t->off = off;
    return t;
}

static int tokenize(parser *p, const char *q, size_t n)
{
    p->toks = pgr_arena_calloc(&p->arena, n + 1, sizeof *p->toks);
    if (!p->toks)
        return pgr_errf(p->err, PGR_ENOMEM, "%s: out of memory", p->param);
    size_t i = 0;
    while (i < n) {
        unsigned char c = (unsigned char)q[i];
        if (is_space(c)) {
            i++;
        } else if (c == '-' && i + 1 < n &&
                   (is_word_byte((unsigned char)q[i + 1]) || q[i + 1] == '"' || q[i + 1] == '(') &&
                   (i == 0 || is_space((unsigned char)q[i - 1]) || q[i - 1] == '(')) {
            /* "-word" at the start of a word is NOT word (web-search habit);
             * inside a word ("GPT-4") the hyphen only joins a phrase. */
            push_tok(p, T_NOT, i);
            i++;
        } else if (c == '(' || c == ')') {
            push_tok(p, c == '(' ? T_LPAREN : T_RPAREN, i);
            i++;
        } else if (c == '"') {
            size_t start = ++i;
            while (i < n && q[i] != '"')
                i++;
            if (i >= n)
                return pgr_errf(p->err, PGR_EINVAL, "%s: unbalanced quote at offset %zu", p->param,
                                start - 1);
            tok *t = push_tok(p, T_WORD, start - 1);
            if (split_words(p, t, q + start, i - start) < 0)
                return -1;
            if (!t->n_words)
                return pgr_errf(p->err, PGR_EINVAL,
                                "%s: empty phrase at offset %zu (a phrase needs a word)", p->param,
                                start - 1);
            i++; /* the closing quote */
            if (i < n && q[i] == '*') {
                t->prefix = 1;
                i++;
            }
        } else {
            size_t start = i;
            while (i < n && !is_space((unsigned char)q[i]) && q[i] != '(' && q[i] != ')' &&
                   q[i] != '"')
                i++;
            size_t len = i - start;
            if (len == 3 && !memcmp(q + start, "AND", 3)) {
                push_tok(p, T_AND, start);
            } else if (len == 2 && !memcmp(q + start, "OR", 2)) {
                push_tok(p, T_OR, start);
            } else if (len == 3 && !memcmp(q + start, "NOT", 3)) {
                push_tok(p, T_NOT, start);
            } else {
                int prefix = q[i - 1] == '*';
                tok t = {.kind = T_WORD, .off = start, .prefix = prefix};
                if (split_words(p, &t, q + start, len) < 0)
                    return -1;
                if (!t.n_words) {
                    /* Punctuation alone ("-", "&") carries nothing to search
                     * for; a lone "*" is a mistake worth naming. */
                    if (prefix)
                        return pgr_errf(p->err, PGR_EINVAL,
                                        "%s: '*' at offset %zu must follow a word", p->param,
                                        i - 1);
                    continue;
                }
                *push_tok(p, T_WORD, start) = t;
            }
        }
    }
    push_tok(p, T_END, n);
    return 0;
}

static const tok *peek(parser *p)
{
    return &p->toks[p->pos];
}

static node *new_node(parser *p, enum node_kind kind)
{
    node *nd = pgr_arena_alloc(&p->arena, sizeof *nd);
    if (!nd)
        pgr_errf(p->err, PGR_ENOMEM, "%s: out of memory", p->param);
    else
        nd->kind = kind;
    return nd;
}

static int add_kid(parser *p, node *parent, node *kid)
{
    node **nk = pgr_arena_calloc(&p->arena, (size_t)parent->n_kids + 1, sizeof *nk);
    if (!nk)
        return pgr_errf(p->err, PGR_ENOMEM, "%s: out of memory", p->param);
    if (parent->n_kids)
        memcpy(nk, parent->kids, (size_t)parent->n_kids * sizeof *nk);
    nk[parent->n_kids++] = kid;
    parent->kids = nk;
    return 0;
}

static const char *tok_name(const tok *t)
{
    switch (t->kind) {
    case T_AND:
        return "AND";
    case T_OR:
        return "OR";
    case T_NOT:
        return "NOT";
    case T_LPAREN:
        return "'('";
    case T_RPAREN:
        return "')'";
    case T_END:
        return "end of query";
    default:
        return "word";
    }
}

static node *parse_or(parser *p, int depth);

static node *parse_primary(parser *p, int depth)
{
    const tok *t = peek(p);
    if (t->kind == T_WORD) {
        p->pos++;
        node *nd = new_node(p, N_TERM);
        if (nd)
            nd->term = t;
        return nd;
    }
    if (t->kind == T_LPAREN) {
        if (depth >= MAX_DEPTH) {
            pgr_errf(p->err, PGR_EINVAL, "%s: parentheses nested deeper than %d at offset %zu",
                     p->param, MAX_DEPTH, t->off);
            return NULL;
        }
        p->pos++;
        node *inner = parse_or(p, depth + 1);
        if (!inner)
            return NULL;
        if (peek(p)->kind != T_RPAREN) {
            pgr_errf(p->err, PGR_EINVAL, "%s: unbalanced '(' at offset %zu", p->param, t->off);
            return NULL;
        }
        p->pos++;
        return inner;
    }
    pgr_errf(p->err, PGR_EINVAL, "%s: expected a word, phrase or '(' at offset %zu, found %s",
             p->param, t->off, tok_name(t));
    return NULL;
}

static node *parse_unary(parser *p, int depth)
{
    if (peek(p)->kind == T_NOT) {
        p->pos++;
        if (peek(p)->kind == T_NOT) {
            pgr_errf(p->err, PGR_EINVAL, "%s: NOT NOT at offset %zu", p->param, peek(p)->off);
            return NULL;
        }
        node *kid = parse_primary(p, depth);
        node *nd = kid ? new_node(p, N_NOT) : NULL;
        if (!nd || add_kid(p, nd, kid) < 0)
            return NULL;
        return nd;
    }
    return parse_primary(p, depth);
}

static node *parse_and(parser *p, int depth)
{
    node *group = new_node(p, N_AND);
    if (!group)
        return NULL;
    size_t start = peek(p)->off;
    int positives = 0;
    for (;;) {
        node *kid = parse_unary(p, depth);
        if (!kid || add_kid(p, group, kid) < 0)
            return NULL;
        positives += kid->kind != N_NOT;
        enum tok_kind k = peek(p)->kind;
        if (k == T_AND) {
            p->pos++;
            continue;
        }
        if (k == T_WORD || k == T_NOT || k == T_LPAREN)
            continue; /* adjacency is AND */
        break;
    }
    if (!positives) {
        pgr_errf(p->err, PGR_EINVAL,
                 "%s: the group at offset %zu only excludes (NOT needs a term to exclude from)",
                 p->param, start);
        return NULL;
    }
    return group->n_kids == 1 ? group->kids[0] : group;
}

static node *parse_or(parser *p, int depth)
{
    node *first = parse_and(p, depth);
    if (!first || peek(p)->kind != T_OR)
        return first;
    node *nd = new_node(p, N_OR);
    if (!nd || add_kid(p, nd, first) < 0)
        return NULL;
    while (peek(p)->kind == T_OR) {
        p->pos++;
        node *kid = parse_and(p, depth);
        if (!kid || add_kid(p, nd, kid) < 0)
            return NULL;
    }
    return nd;
}

/* ---- emitters ---- */

static void emit_fts5(pgr_sb *sb, const node *nd)
{
    switch (nd->kind) {
    case N_TERM:
        pgr_sb_putc(sb, '"');
        for (int i = 0; i < nd->term->n_words; i++) {
            if (i)
                pgr_sb_putc(sb, ' ');
            pgr_sb_puts(sb, nd->term->words[i]);
        }
        pgr_sb_putc(sb, '"');
        if (nd->term->prefix)
            pgr_sb_putc(sb, '*');
        break;
    case N_OR:
        pgr_sb_putc(sb, '(');
        for (int i = 0; i < nd->n_kids; i++) {
            if (i)
                pgr_sb_puts(sb, " OR ");
            emit_fts5(sb, nd->kids[i]);
        }
        pgr_sb_putc(sb, ')');
        break;
    case N_AND: {
        /* FTS5's NOT is binary ("a NOT b"), so the positives go first and
         * each exclusion follows. */
        pgr_sb_putc(sb, '(');
        int first = 1;
        for (int i = 0; i < nd->n_kids; i++) {
            if (nd->kids[i]->kind == N_NOT)
                continue;
            if (!first)
                pgr_sb_puts(sb, " AND ");
            first = 0;
            emit_fts5(sb, nd->kids[i]);
        }
        for (int i = 0; i < nd->n_kids; i++) {
            if (nd->kids[i]->kind != N_NOT)
                continue;
            pgr_sb_puts(sb, " NOT ");
            emit_fts5(sb, nd->kids[i]->kids[0]);
        }
        pgr_sb_putc(sb, ')');
        break;
    }
    case N_NOT: /* only reachable at top level, which parse_and forbids */
        break;
    }
}

static void emit_tsq(pgr_sb *sb, const node *nd)
{
    switch (nd->kind) {
    case N_TERM:
        if (nd->term->n_words > 1)
            pgr_sb_putc(sb, '(');
        for (int i = 0; i < nd->term->n_words; i++) {
            if (i)
                pgr_sb_puts(sb, " <-> ");
            pgr_sb_printf(sb, "'%s'", nd->term->words[i]);
        }
        if (nd->term->prefix)
            pgr_sb_puts(sb, ":*");
        if (nd->term->n_words > 1)
            pgr_sb_putc(sb, ')');
        break;
    case N_OR:
    case N_AND:
        pgr_sb_putc(sb, '(');
        for (int i = 0; i < nd->n_kids; i++) {
            if (i)
                pgr_sb_puts(sb, nd->kind == N_OR ? " | " : " & ");
            emit_tsq(sb, nd->kids[i]);
        }
        pgr_sb_putc(sb, ')');
        break;
    case N_NOT:
        pgr_sb_putc(sb, '!');
        emit_tsq(sb, nd->kids[0]);
        break;
    }
}

int pgr_fts_parse(const char *param, const char *text, int prefix_last, pgr_fts_query *out,
                  pgr_err *err)
{
    return pgr_fts_parse_fold(param, text, prefix_last, NULL, out, err);
}

int pgr_fts_parse_fold(const char *param, const char *text, int prefix_last, pgr_fts_fold fold,
                       pgr_fts_query *out, pgr_err *err)
{
    int rc = -1;
    parser p = {.param = param, .err = err, .fold = fold};
    pgr_sb fts = {0}, tsq = {0};
    memset(out, 0, sizeof *out);
    size_t n = strlen(text);
    if (n > MAX_QUERY_BYTES) {
        pgr_errf(err, PGR_EINVAL, "%s: longer than %d bytes", param, MAX_QUERY_BYTES);
        goto cleanup;
    }
    if (tokenize(&p, text, n) < 0)
        goto cleanup;
    if (p.toks[0].kind == T_END) {
        pgr_errf(err, PGR_EINVAL, "%s: no word to search for", param);
        goto cleanup;
    }
    if (prefix_last) {
        for (int i = p.n_toks - 1; i >= 0; i--)
            if (p.toks[i].kind == T_WORD) {
                p.toks[i].prefix = 1;
                break;
            }
    }
    node *root = parse_or(&p, 0);
    if (!root)
        goto cleanup;
    if (peek(&p)->kind != T_END) {
        pgr_errf(err, PGR_EINVAL, "%s: unexpected %s at offset %zu", param, tok_name(peek(&p)),
                 peek(&p)->off);
        goto cleanup;
    }
    emit_fts5(&fts, root);
    emit_tsq(&tsq, root);
    if (!pgr_sb_ok(&fts) || !pgr_sb_ok(&tsq)) {
        pgr_errf(err, PGR_ENOMEM, "%s: out of memory", param);
        goto cleanup;
    }
    out->fts5 = pgr_sb_steal(&fts);
    out->tsq = pgr_sb_steal(&tsq);
    out->n_words = p.n_words;
    rc = 0;
cleanup:
    pgr_sb_free(&fts);
    pgr_sb_free(&tsq);
    pgr_arena_free(&p.arena);
    return rc;
}

void pgr_fts_free(pgr_fts_query *q)
{
    free(q->fts5);
    free(q->tsq);
    q->fts5 = q->tsq = NULL;
}
