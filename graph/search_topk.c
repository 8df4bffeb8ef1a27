/* Exact top-k search of works on SQLite (see store_impl.h, "top-k").
 *
 * Why: ranking a search by relevance with FTS5 scores every match, and a
 * common word matches a third of a million-work graph (hundreds of ms per
 * request). Here the best k are found by the threshold algorithm (Fagin's
 * TA) over impact-ordered lists, and the answer is the same as ranking every
 * match:
 *
 * - The index (pgr_search_index_build): for every term in more than
 *   TOPK_RARE works, the TOPK_LMAX works where the term weighs most, by its
 *   pgr_rank impact g(f, dl) (bm25's saturation, store_sqlite.c) computed
 *   with the corpus' mean row length A0 at build time, best first, plus the
 *   term's floor: the highest impact of a work left out of its list.
 *   Each entry also holds the work's hits of the term and its row length
 *   (ENTRY below), so that a work the lists account for is scored without
 *   reading its text (list_fdl).
 * - A query reads each term's list in order (sorted access); every work it
 *   meets is scored at once from its stored text, tokenized with the FTS5
 *   table's own tokenizer (random access): s_C, the sum over the query's
 *   phrases of g(phrase hits, dl), which is what pgr_rank computes and so an
 *   upper bound of it whatever the expression. A work not met yet scores at
 *   most T = sum over phrases of the lowest of its terms' next unread
 *   impacts (the floor when a list is read to its end), times
 *   lambda = max(1, A/A0) for the mean length A of now (g at A is at most
 *   g at A0 times A/A0 when A > A0).
 * - Candidates whose s_C can reach the current k-th result are verified by
 *   the caller's SQL (the request's filters and MATCH, pgr_rank's exact
 *   score): the scores returned are FTS5's own. It stops when the k-th
 *   verified score is above T and above every unverified candidate's s_C.
 * - Works written after the build (search_dirty, kept by the full-text
 *   writer) are scored from their text and are always candidates; their
 *   list entries are ignored. Terms in at most TOPK_RARE works have no
 *   list: their works come from FTS5 itself. When a bound cannot be proven
 *   within the budgets, the caller ranks every match (the same answer,
 *   slower). */
#include <math.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "graph/store_impl.h"

#define OOM(err) pgr_errf(err, PGR_ENOMEM, "out of memory")
#define TOPK_RARE 64      /* terms in at most this many works get no list */
#define TOPK_LMAX 16384   /* entries per list */
#define TOPK_MAX_TERMS 32 /* the query language's word limit */
#define TOPK_MAX_RARE_DOCS 4096
#define TOPK_MAX_DIRTY 1024
#define TOPK_MAX_RA 60000    /* works scored from their text per query */
#define TOPK_MAX_VERIFY 4096 /* works verified per query */
#define TOPK_FIRST_BATCH 32  /* list entries per term in the first round; doubles */
#define TOPK_READ_CHUNK 16   /* texts read between two updates of the k-th score */

/* A list entry: u32 work id, f32 impact at A0 (rounded up), u16 the work's
 * column-weighted hits f of the term, u16 its row length dl (ENTRY_NONE:
 * too large to hold). f and dl are what a query needs to score a work that
 * every list of its terms accounts for (entries, or complete lists it is not
 * in) without reading its text: the same arithmetic on the same integers.
 * Indexes built before (ENTRY_OLD bytes: id and impact) are read as they
 * are, every met work's text is read, and `ingest` rebuilds them. */
#define ENTRY 12
#define ENTRY_OLD 8
#define ENTRY_NONE 0xffff

static const double K1 = 1.2, B = 0.75;
/* works_fts columns title, abstract, authors: the weights store_query.c
 * gives pgr_rank */
static const double COL_W[3] = {10.0, 1.0, 4.0};

typedef struct pgr_topk {
    int state; /* 0 unknown, 1 no index, 2 index present */
    fts5_tokenizer tk;
    Fts5Tokenizer *tok;
    sqlite3_stmt *text; /* a work's three columns */
    sqlite3_stmt *q_term, *q_prefix, *q_rare, *q_info, *q_dirty, *q_totals, *q_df;
    /* a query's buffers, kept for the next one on this connection: fresh
     * allocations of this size cost page faults and heap consolidation
     * every request (a quarter of a one-word search's CPU) */
    struct topk_keep *keep;
} pgr_topk;

#define DB(s) ((sqlite3 *)(s)->conn)

/* g: pgr_rank's per-phrase term, f column-weighted hits, dl tokens in the row. */
static double impact(double f, double dl, double avgdl)
{
    double norm = K1 * (1 - B + B * dl / avgdl);
    return f * (K1 + 1) / (f + norm);
}

/* ---- the tokenizer of works_fts (schema/sqlite/001_graph.sql) ---- */
static int topk_init(pgr_store *s, pgr_err *err)
{
    if (s->topk && s->topk->tok)
        return 0;
    if (!s->topk && !(s->topk = calloc(1, sizeof *s->topk)))
        return OOM(err);
    fts5_api *api = pgr_sqlite_fts5(DB(s));
    void *ud = NULL;
    const char *args[] = {"remove_diacritics", "2"};
    if (!api || api->xFindTokenizer(api, "unicode61", &ud, &s->topk->tk) != SQLITE_OK ||
        s->topk->tk.xCreate(ud, args, 2, &s->topk->tok) != SQLITE_OK) {
        s->topk->tok = NULL;
        return pgr_errf(err, PGR_EDB, "search index: FTS5's unicode61 tokenizer is unavailable");
    }
    return 0;
}

static void keep_release(pgr_topk *t);

void pgr_topk_free(pgr_store *s)
{
    if (!s->topk)
        return;
    if (s->topk->tok)
        s->topk->tk.xDelete(s->topk->tok);
    sqlite3_finalize(s->topk->text);
    sqlite3_finalize(s->topk->q_term);
    sqlite3_finalize(s->topk->q_prefix);
    sqlite3_finalize(s->topk->q_rare);
    sqlite3_finalize(s->topk->q_info);
    sqlite3_finalize(s->topk->q_dirty);
    sqlite3_finalize(s->topk->q_totals);
    sqlite3_finalize(s->topk->q_df);
    keep_release(s->topk);
    free(s->topk);
    s->topk = NULL;
}

/* rows and tokens of works_fts: FTS5's "averages" record (id 1 of the data
 * table: varint row count, then a varint token total per column), the
 * figures pgr_rank reads through xRowCount and xColumnTotalSize. */
static int fts_totals(pgr_store *s, double *rows, double *tokens, pgr_err *err)
{
    sqlite3_stmt **pst = &s->topk->q_totals, *st;
    *rows = *tokens = 0;
    if (!*pst && sqlite3_prepare_v3(DB(s), "SELECT block FROM works_fts_data WHERE id = 1", -1,
                                    SQLITE_PREPARE_PERSISTENT, pst, NULL) != SQLITE_OK)
        return pgr_errf(err, PGR_EDB, "search index: %s", sqlite3_errmsg(DB(s)));
    st = *pst;
    if (sqlite3_step(st) == SQLITE_ROW) {
        const unsigned char *p = sqlite3_column_blob(st, 0);
        int n = sqlite3_column_bytes(st, 0), at = 0;
        for (int field = 0; field < 4 && at < n; field++) {
            uint64_t v = 0;
            int i = 0;
            /* SQLite's varint: 7 bits a byte, high bit = more, 9th byte whole */
            for (; i < 9 && at < n; i++) {
                unsigned char c = p[at++];
                if (i == 8) {
                    v = (v << 8) | c;
                    break;
                }
                v = (v << 7) | (c & 0x7f);
                if (!(c & 0x80))
                    break;
            }
            if (field == 0)
                *rows = (double)v;
            else
                *tokens += (double)v;
        }
    }
    sqlite3_reset(st);
    return 0;
}

/* ---- tokenizing a row ---- */
typedef struct qterm_t {
    const char *text;
    int len, prefix;
} qterm_t;

typedef struct qphrase {
    int n;                      /* terms */
    int term[TOPK_MAX_TERMS];   /* indexes into terms[] */
    int scored;                 /* 0: a NOT'd single phrase of a pure AND query */
} qphrase;

typedef struct tok_ctx {
    const qterm_t *terms;
    int n_terms;
    const qphrase *ph;
    int n_ph;
    int col, dl, pos;
    uint64_t ring[TOPK_MAX_TERMS]; /* term masks of the last tokens */
    double f[TOPK_MAX_TERMS];      /* per phrase: column-weighted hits */
} tok_ctx;

static int on_token(void *ctx, int tflags, const char *tok, int n, int start, int end)
{
    (void)start;
    (void)end;
    tok_ctx *c = ctx;
    if (tflags & FTS5_TOKEN_COLOCATED) /* not counted in FTS5's row size either */
        return SQLITE_OK;
    c->dl++;
    uint64_t mask = 0;
    for (int i = 0; i < c->n_terms; i++) {
        const qterm_t *t = &c->terms[i];
        if ((n == t->len || (t->prefix && n > t->len)) && !memcmp(tok, t->text, (size_t)t->len))
            mask |= 1ULL << i;
    }
    c->ring[c->pos % TOPK_MAX_TERMS] = mask;
    c->pos++;
    if (!mask)
        return SQLITE_OK;
    for (int p = 0; p < c->n_ph; p++) {
        const qphrase *ph = &c->ph[p];
        if (ph->n > c->pos)
            continue;
        int ok = 1;
        for (int j = 0; j < ph->n && ok; j++) {
            int at = c->pos - ph->n + j;
            ok = (c->ring[at % TOPK_MAX_TERMS] >> ph->term[j]) & 1;
        }
        if (ok)
            c->f[p] += COL_W[c->col];
    }
    return SQLITE_OK;
}

/* unicode61 on ASCII text: a token is a run of letters and digits, folded
 * to lower case; every other ASCII byte separates (fts5_tokenize.c's
 * aAsciiTokenChar). Text with other bytes goes to FTS5's tokenizer. Reading
 * a work's text is most of a search's time; this is 4x faster per row. */
static int ascii_tokenize(tok_ctx *c, const char *text, int n)
{
    char tok[64]; /* is_ascii checked that every token fits */
    int len = 0;
    for (int i = 0; i <= n; i++) {
        unsigned char ch = i < n ? (unsigned char)text[i] : ' ';
        int alnum = (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z');
        if (alnum && len < (int)sizeof tok) {
            tok[len++] = (char)(ch >= 'A' && ch <= 'Z' ? ch + 32 : ch);
            continue;
        }
        if (len)
            on_token(c, 0, tok, len, 0, 0);
        len = 0;
    }
    return SQLITE_OK;
}

/* ASCII, and no token longer than ascii_tokenize's buffer */
static int is_ascii(const char *text, int n)
{
    int run = 0;
    for (int i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)text[i];
        if (ch >= 0x80)
            return 0;
        run = (ch >= '0' && ch <= '9') || ((ch | 32) >= 'a' && (ch | 32) <= 'z') ? run + 1 : 0;
        if (run > 64)
            return 0;
    }
    return 1;
}

/* s_C of one work from its stored text; *found = 0 when it has no row. */
static int score_row(pgr_store *s, pgr_id id, tok_ctx *c, double avgdl, double *score,
                     int *found, pgr_err *err)
{
    pgr_topk *t = s->topk;
    if (!t->text && sqlite3_prepare_v3(DB(s),
                                       "SELECT c0, c1, c2 FROM works_fts_content WHERE id = ?1",
                                       -1, SQLITE_PREPARE_PERSISTENT, &t->text, NULL) != SQLITE_OK)
        return pgr_errf(err, PGR_EDB, "search: %s", sqlite3_errmsg(DB(s)));
    sqlite3_bind_int64(t->text, 1, id);
    int rc = sqlite3_step(t->text);
    *found = rc == SQLITE_ROW;
    *score = 0;
    if (rc == SQLITE_ROW) {
        c->dl = 0;
        for (int p = 0; p < c->n_ph; p++)
            c->f[p] = 0;
        for (int col = 0; col < 3; col++) {
            const char *text = (const char *)sqlite3_column_text(t->text, col);
            int n = sqlite3_column_bytes(t->text, col);
            c->col = col;
            c->pos = 0; /* phrases do not cross columns */
            if (text && n > 0 &&
                (is_ascii(text, n) ? ascii_tokenize(c, text, n)
                                   : t->tk.xTokenize(t->tok, c, FTS5_TOKENIZE_DOCUMENT, text, n,
                                                     on_token)) != SQLITE_OK)
                break;
        }
        /* in phrase order, as pgr_rank sums (its zero terms add nothing) */
        for (int p = 0; p < c->n_ph; p++)
            if (c->f[p] > 0 && c->ph[p].scored)
                *score += impact(c->f[p], c->dl, avgdl);
        rc = sqlite3_step(t->text);
    }
    sqlite3_reset(t->text);
    if (rc != SQLITE_DONE)
        return pgr_errf(err, PGR_EDB, "search: reading work %lld: %s", (long long)id,
                        sqlite3_errmsg(DB(s)));
    return 0;
}

/* ---- the index ---- */
/* since the build: works refreshed, and the highest work id covered (the
 * works above it are new: their words' document frequencies go up) */
#define REFRESHES_DDL                                                                           \
    "CREATE TABLE IF NOT EXISTS search_refreshes (id INTEGER PRIMARY KEY CHECK (id = 1), "      \
    "changed INTEGER NOT NULL, max_id INTEGER);"

static const char *const index_ddl =
    /* entry: bytes per list entry; an index of before the hit counts
     * (DEFAULT 8, also what a build of that code writes) is rebuilt by
     * the next `ingest --search-index auto` */
    "DROP TABLE IF EXISTS search_info;"
    "CREATE TABLE search_info (id INTEGER PRIMARY KEY CHECK (id = 1), "
    "rows REAL NOT NULL, tokens REAL NOT NULL, entry INTEGER NOT NULL DEFAULT 8);"
    "CREATE TABLE IF NOT EXISTS search_lists (term TEXT PRIMARY KEY, df INTEGER NOT NULL, "
    "floor REAL NOT NULL, list BLOB NOT NULL);"
    "CREATE TABLE IF NOT EXISTS search_dirty (id INTEGER PRIMARY KEY);"
    /* the build's list length: a refresh cuts lists back to it */
    "CREATE TABLE IF NOT EXISTS search_params (id INTEGER PRIMARY KEY CHECK (id = 1), "
    "list_len INTEGER NOT NULL, rare INTEGER NOT NULL);"
    "DELETE FROM search_lists; DELETE FROM search_dirty;"
    "DELETE FROM search_params;" REFRESHES_DDL "DELETE FROM search_refreshes;";

typedef struct bterm { /* a common term while building */
    char *text;
    int len;
    int64_t df;
    float *imp; /* min-heap on (imp, then higher doc first out) */
    uint32_t *doc;
    uint32_t *fdl; /* f | dl << 16, as the entry holds them */
    int n, cap;
    double floor;
    uint32_t stamp; /* last doc counted */
    double f;
} bterm;

typedef struct build_ctx {
    bterm *t;
    size_t n, hcap;
    int *hash; /* open addressing: index + 1, 0 empty */
    int col, dl;
    uint32_t doc;
    int *touched;
    size_t n_touched, cap_touched;
    int oom;
} build_ctx;

/* Appends word k to a pass's list of the words its current document holds
 * (the build's and the refresh's counting alike); -1 out of memory. */
static int touched_push(int **v, size_t *n, size_t *cap, int k)
{
    if (*n == *cap) {
        size_t c = *cap ? *cap * 2 : 64;
        int *nv = realloc(*v, c * sizeof *nv);
        if (!nv)
            return -1;
        *v = nv;
        *cap = c;
    }
    (*v)[(*n)++] = k;
    return 0;
}

static int find_term(const build_ctx *b, const char *p, int n)
{
    for (size_t i = pgr_fnv1a(p, (size_t)n) & (b->hcap - 1);; i = (i + 1) & (b->hcap - 1)) {
        int k = b->hash[i];
        if (!k)
            return -1;
        if (b->t[k - 1].len == n && !memcmp(b->t[k - 1].text, p, (size_t)n))
            return k - 1;
    }
}

static int on_build_token(void *ctx, int tflags, const char *tok, int n, int start, int end)
{
    (void)start;
    (void)end;
    build_ctx *b = ctx;
    if (tflags & FTS5_TOKEN_COLOCATED)
        return SQLITE_OK;
    b->dl++;
    int k = find_term(b, tok, n);
    if (k < 0)
        return SQLITE_OK;
    bterm *t = &b->t[k];
    if (t->stamp != b->doc) {
        if (touched_push(&b->touched, &b->n_touched, &b->cap_touched, k) != 0) {
            b->oom = 1;
            return SQLITE_NOMEM;
        }
        t->stamp = b->doc;
        t->f = 0;
    }
    t->f += COL_W[b->col];
    return SQLITE_OK;
}

/* heap order: lower impact first; among equals the higher doc leaves first */
static int heap_less(const bterm *t, int i, int j)
{
    return t->imp[i] < t->imp[j] || (t->imp[i] == t->imp[j] && t->doc[i] > t->doc[j]);
}

static void heap_swap(bterm *t, int i, int j)
{
    float fi = t->imp[i];
    uint32_t di = t->doc[i], xi = t->fdl[i];
    t->imp[i] = t->imp[j];
    t->doc[i] = t->doc[j];
    t->fdl[i] = t->fdl[j];
    t->imp[j] = fi;
    t->doc[j] = di;
    t->fdl[j] = xi;
}

static void heap_down(bterm *t, int i)
{
    for (;;) {
        int l = 2 * i + 1, r = l + 1, m = i;
        if (l < t->n && heap_less(t, l, m))
            m = l;
        if (r < t->n && heap_less(t, r, m))
            m = r;
        if (m == i)
            return;
        heap_swap(t, i, m);
        i = m;
    }
}

/* impacts are stored as floats rounded up: a stored bound never undershoots */
static float up_float(double x)
{
    float f = (float)x;
    return (double)f < x ? nextafterf(f, INFINITY) : f;
}

/* f and dl as an entry holds them */
static uint32_t pack_fdl(double f, int dl)
{
    uint32_t fi = f >= 0 && f < ENTRY_NONE && f == floor(f) ? (uint32_t)f : ENTRY_NONE;
    uint32_t di = dl >= 0 && dl < ENTRY_NONE ? (uint32_t)dl : ENTRY_NONE;
    return fi | di << 16;
}

static void put_entry(unsigned char *e, uint32_t doc, float imp, uint32_t fdl)
{
    uint16_t f = (uint16_t)(fdl & 0xffff), dl = (uint16_t)(fdl >> 16);
    memcpy(e, &doc, 4);
    memcpy(e + 4, &imp, 4);
    memcpy(e + 8, &f, 2);
    memcpy(e + 10, &dl, 2);
}

static int heap_push(bterm *t, float imp, uint32_t doc, uint32_t fdl)
{
    if (t->n < t->cap) {
        int i = t->n++;
        t->imp[i] = imp;
        t->doc[i] = doc;
        t->fdl[i] = fdl;
        while (i > 0 && heap_less(t, i, (i - 1) / 2)) {
            heap_swap(t, i, (i - 1) / 2);
            i = (i - 1) / 2;
        }
        return 0;
    }
    if (imp <= t->imp[0]) {
        if (imp > t->floor)
            t->floor = imp;
        return 0;
    }
    if (t->imp[0] > t->floor)
        t->floor = t->imp[0];
    t->imp[0] = imp;
    t->doc[0] = doc;
    t->fdl[0] = fdl;
    heap_down(t, 0);
    return 0;
}

static int cmp_entry_desc(const void *a, const void *b)
{
    const unsigned char *x = a, *y = b;
    float fx, fy;
    uint32_t dx, dy;
    memcpy(&dx, x, 4);
    memcpy(&fx, x + 4, 4);
    memcpy(&dy, y, 4);
    memcpy(&fy, y + 4, 4);
    if (fx != fy)
        return fx > fy ? -1 : 1;
    return dx < dy ? -1 : dx > dy;
}

static int sq(pgr_store *s, int rc, const char *what, pgr_err *err)
{
    if (rc == SQLITE_OK || rc == SQLITE_ROW || rc == SQLITE_DONE)
        return 0;
    return pgr_errf(err, PGR_EDB, "search index: %s: %s", what, sqlite3_errmsg(DB(s)));
}

static int build(pgr_store *s, pgr_err *err)
{
    build_ctx b = {0};
    sqlite3_stmt *st = NULL, *ins = NULL;
    unsigned char *blob = NULL;
    int rc = -1;
    double rows = 0, tokens = 0;
    if (topk_init(s, err) != 0 || s->be->exec(s, "search_index_ddl", index_ddl, err) != 0 ||
        /* one b-tree per term: a read of a term's doclist is one seek */
        s->be->exec(s, "search_index_optimize",
                    "INSERT INTO works_fts (works_fts) VALUES ('optimize')", err) != 0 ||
        fts_totals(s, &rows, &tokens, err) != 0)
        goto cleanup;
    if (rows < 1 || tokens < 1) {
        rc = 0; /* no works: no lists, every query falls back to FTS5 */
        goto info;
    }
    const double avgdl = tokens / rows;
    /* the common terms and their document frequencies */
    if (s->be->exec(s, "search_index_vocab",
                    "CREATE VIRTUAL TABLE IF NOT EXISTS temp.pgr_works_vocab USING "
                    "fts5vocab(main, works_fts, row)",
                    err) != 0)
        goto cleanup;
    /* every term: the rare ones are written at once with an empty list (a
     * query takes their works from FTS5), so that a query knows every term
     * of the build without walking FTS5's vocabulary */
    if (sq(s, sqlite3_prepare_v2(DB(s), "SELECT term, doc FROM temp.pgr_works_vocab", -1, &st,
                                 NULL),
           "vocabulary", err) ||
        sq(s, sqlite3_prepare_v2(DB(s), "INSERT INTO search_lists (term, df, floor, list) "
                                        "VALUES (?1, ?2, 0, x'')",
                                 -1, &ins, NULL),
           "vocabulary", err))
        goto cleanup;
    const int rare = s->topk_rare > 0 ? s->topk_rare : TOPK_RARE;
    const int lmax = s->topk_list_len > 0 ? s->topk_list_len : TOPK_LMAX;
    size_t cap = 0;
    int r;
    while ((r = sqlite3_step(st)) == SQLITE_ROW) {
        if (sqlite3_column_int64(st, 1) <= rare) {
            sqlite3_bind_text(ins, 1, (const char *)sqlite3_column_text(st, 0),
                              sqlite3_column_bytes(st, 0), SQLITE_TRANSIENT);
            sqlite3_bind_int64(ins, 2, sqlite3_column_int64(st, 1));
            int w = sqlite3_step(ins);
            sqlite3_reset(ins);
            if (sq(s, w, "vocabulary", err))
                goto cleanup;
            continue;
        }
        if (b.n == cap) {
            cap = cap ? cap * 2 : 256;
            bterm *v = realloc(b.t, cap * sizeof *v);
            if (!v) {
                OOM(err);
                goto cleanup;
            }
            b.t = v;
        }
        bterm *t = &b.t[b.n];
        memset(t, 0, sizeof *t);
        t->len = sqlite3_column_bytes(st, 0);
        t->df = sqlite3_column_int64(st, 1);
        t->text = malloc((size_t)t->len + 1);
        if (!t->text) {
            OOM(err);
            goto cleanup;
        }
        memcpy(t->text, sqlite3_column_text(st, 0), (size_t)t->len);
        t->text[t->len] = 0;
        t->cap = t->df < lmax ? (int)t->df : lmax;
        t->imp = malloc((size_t)t->cap * sizeof *t->imp);
        t->doc = malloc((size_t)t->cap * sizeof *t->doc);
        t->fdl = malloc((size_t)t->cap * sizeof *t->fdl);
        b.n++;
        if (!t->imp || !t->doc || !t->fdl) {
            OOM(err);
            goto cleanup;
        }
    }
    if (sq(s, r, "vocabulary", err))
        goto cleanup;
    sqlite3_finalize(st);
    st = NULL;
    for (b.hcap = 16; b.hcap < 2 * b.n + 2; b.hcap *= 2)
        ;
    if (!(b.hash = calloc(b.hcap, sizeof *b.hash))) {
        OOM(err);
        goto cleanup;
    }
    for (size_t i = 0; i < b.n; i++) {
        size_t h = pgr_fnv1a(b.t[i].text, (size_t)b.t[i].len) & (b.hcap - 1);
        while (b.hash[h])
            h = (h + 1) & (b.hcap - 1);
        b.hash[h] = (int)i + 1;
    }
    /* one pass over the rows, in id order */
    if (sq(s, sqlite3_prepare_v2(DB(s), "SELECT id, c0, c1, c2 FROM works_fts_content ORDER BY id",
                                 -1, &st, NULL),
           "rows", err))
        goto cleanup;
    while ((r = sqlite3_step(st)) == SQLITE_ROW) {
        sqlite3_int64 id = sqlite3_column_int64(st, 0);
        if (id <= 0 || id > (sqlite3_int64)UINT32_MAX) {
            pgr_errf(err, PGR_EINVAL, "search index: work id %lld does not fit 32 bits",
                     (long long)id);
            goto cleanup;
        }
        b.doc = (uint32_t)id;
        b.dl = 0;
        b.n_touched = 0;
        for (int col = 0; col < 3; col++) {
            const char *text = (const char *)sqlite3_column_text(st, col + 1);
            int n = sqlite3_column_bytes(st, col + 1);
            b.col = col;
            if (text && n > 0)
                s->topk->tk.xTokenize(s->topk->tok, &b, FTS5_TOKENIZE_DOCUMENT, text, n,
                                      on_build_token);
            if (b.oom) {
                OOM(err);
                goto cleanup;
            }
        }
        for (size_t i = 0; i < b.n_touched; i++) {
            bterm *t = &b.t[b.touched[i]];
            heap_push(t, up_float(impact(t->f, b.dl, avgdl)), b.doc, pack_fdl(t->f, b.dl));
        }
    }
    if (sq(s, r, "rows", err))
        goto cleanup;
    sqlite3_finalize(st);
    st = NULL;
    if (sq(s, sqlite3_prepare_v2(DB(s), "INSERT INTO search_lists (term, df, floor, list) "
                                        "VALUES (?1, ?2, ?3, ?4)",
                                 -1, &st, NULL),
           "lists", err))
        goto cleanup;
    for (size_t i = 0; i < b.n; i++) {
        bterm *t = &b.t[i];
        unsigned char *v = realloc(blob, (size_t)(t->n ? t->n : 1) * ENTRY);
        if (!v) {
            OOM(err);
            goto cleanup;
        }
        blob = v;
        for (int k = 0; k < t->n; k++)
            put_entry(blob + ENTRY * k, t->doc[k], t->imp[k], t->fdl[k]);
        qsort(blob, (size_t)t->n, ENTRY, cmp_entry_desc);
        sqlite3_bind_text(st, 1, t->text, t->len, SQLITE_STATIC);
        sqlite3_bind_int64(st, 2, t->df);
        sqlite3_bind_double(st, 3, t->floor);
        sqlite3_bind_blob(st, 4, blob, t->n * ENTRY, SQLITE_STATIC);
        r = sqlite3_step(st);
        sqlite3_reset(st);
        if (sq(s, r, "lists", err))
            goto cleanup;
    }
    sqlite3_finalize(st);
    st = NULL;
info:
    if (sq(s, sqlite3_prepare_v2(DB(s), "INSERT INTO search_info (id, rows, tokens, entry) "
                                        "VALUES (1, ?1, ?2, ?3)",
                                 -1, &st, NULL),
           "info", err))
        goto cleanup;
    sqlite3_bind_double(st, 1, rows);
    sqlite3_bind_double(st, 2, tokens);
    sqlite3_bind_int(st, 3, ENTRY);
    if (sq(s, sqlite3_step(st), "info", err))
        goto cleanup;
    sqlite3_finalize(st);
    st = NULL;
    if (sq(s, sqlite3_prepare_v2(DB(s), "INSERT INTO search_params (id, list_len, rare) "
                                        "VALUES (1, ?1, ?2)",
                                 -1, &st, NULL),
           "params", err))
        goto cleanup;
    sqlite3_bind_int(st, 1, s->topk_list_len > 0 ? s->topk_list_len : TOPK_LMAX);
    sqlite3_bind_int(st, 2, s->topk_rare > 0 ? s->topk_rare : TOPK_RARE);
    if (sq(s, sqlite3_step(st), "params", err) ||
        s->be->exec(s, "search_index_refreshes",
                    "INSERT INTO search_refreshes (id, changed, max_id) "
                    "SELECT 1, 0, max(id) FROM works_fts_content",
                    err) != 0)
        goto cleanup;
    s->topk->state = 2;
    s->wrote = 1;
    rc = 0;
cleanup:
    sqlite3_finalize(st);
    sqlite3_finalize(ins);
    for (size_t i = 0; i < b.n; i++) {
        free(b.t[i].text);
        free(b.t[i].imp);
        free(b.t[i].doc);
        free(b.t[i].fdl);
    }
    free(b.t);
    free(b.hash);
    free(b.touched);
    free(blob);
    return rc;
}

void pgr_search_index_params(pgr_store *s, int list_len, int rare)
{
    s->topk_list_len = list_len > 0 && list_len <= 1 << 24 ? list_len : 0;
    s->topk_rare = rare > 0 && rare <= TOPK_MAX_RARE_DOCS ? rare : 0;
}

long pgr_search_topk_answered(const pgr_store *s) { return s->topk_answered; }
long pgr_search_topk_listed(const pgr_store *s) { return s->topk_listed; }

int pgr_search_index_build(pgr_store *s, pgr_err *err)
{
    if (strcmp(s->be->name, "sqlite") != 0)
        return 0; /* PostgreSQL ranks with its GIN index and ts_rank */
    int own;
    if (pgr_tx_enter(s, &own, err) != 0)
        return -1;
    return pgr_tx_leave(s, own, build(s, err), err);
}

/* Is there an index whose lists must learn of rewritten works? */
static int index_state(pgr_store *s, pgr_err *err)
{
    if (s->topk && s->topk->state)
        return s->topk->state;
    if (!s->topk && !(s->topk = calloc(1, sizeof *s->topk)))
        return OOM(err);
    sqlite3_stmt *st = NULL;
    if (sq(s, sqlite3_prepare_v2(DB(s), "SELECT 1 FROM sqlite_master WHERE name = 'search_info'",
                                 -1, &st, NULL),
           "lookup", err))
        return -1;
    s->topk->state = sqlite3_step(st) == SQLITE_ROW ? 2 : 1;
    sqlite3_finalize(st);
    return s->topk->state;
}

int pgr_topk_dirty(pgr_store *s, pgr_id work, pgr_err *err)
{
    if (strcmp(s->be->name, "sqlite") != 0)
        return 0;
    int state = index_state(s, err);
    if (state != 2)
        return state < 0 ? -1 : 0;
    pgr_stmt *st = pgr_st_dyn(s, "search_dirty",
                              "INSERT INTO search_dirty (id) VALUES ($1) ON CONFLICT DO NOTHING", err);
    if (!st)
        return -1;
    pgr_bind_int(st, 1, work);
    return pgr_exec_st(st, err);
}

/* The build's rows and tokens (its mean row length A0) and bytes per list
 * entry; all 0 when the index has no info row. */
static int read_info(pgr_store *s, double *rows0, double *tokens0, int *esz, pgr_err *err)
{
    pgr_topk *t = s->topk;
    sqlite3_stmt *st = t->q_info, *own = NULL;
    *rows0 = *tokens0 = 0;
    *esz = 0;
    if (!st && sqlite3_prepare_v3(DB(s), "SELECT rows, tokens, entry FROM search_info", -1,
                                  SQLITE_PREPARE_PERSISTENT, &t->q_info, NULL) == SQLITE_OK)
        st = t->q_info;
    /* an index of before the entry column: not kept prepared, so that a
     * rebuild by another process is seen */
    if (!st && sq(s, sqlite3_prepare_v2(DB(s), "SELECT rows, tokens, 8 FROM search_info", -1,
                                        &own, NULL),
                  "info", err))
        return -1;
    if (!st)
        st = own;
    int r = sqlite3_step(st);
    if (r == SQLITE_ROW) {
        *rows0 = sqlite3_column_double(st, 0);
        *tokens0 = sqlite3_column_double(st, 1);
        *esz = sqlite3_column_int(st, 2);
        r = sqlite3_step(st);
    }
    sqlite3_reset(st);
    sqlite3_finalize(own);
    if (sq(s, r, "info", err))
        return -1;
    if (*esz != ENTRY && *esz != ENTRY_OLD && *rows0 > 0)
        return pgr_errf(err, PGR_EDB, "search index: %d bytes per list entry (this peergraph "
                                      "reads %d or %d): rebuild it (peergraph ingest "
                                      "--search-index rebuild)",
                        *esz, ENTRY_OLD, ENTRY);
    return 0;
}

/* ---- a query ---- */
typedef struct tlist { /* one stored list being read */
    int term;
    unsigned char *e; /* entries: u32 doc, f32 impact */
    int n, pos;
    double floor;
    /* every entry by doc (open addressing; doc 0 = empty): a work met in
     * another list learns its impact here, or that it is at most the floor */
    uint32_t *hdoc;
    uint32_t *hidx; /* the entry's index in e */
    size_t hcap;            /* 0: no table built for this query */
    size_t ecap, hbuf;      /* allocated: entry bytes, table slots */
} tlist;

typedef struct cand {
    pgr_id id;
    double sc; /* an upper bound of the exact score: from the lists' impacts
                * until the text is read (state 3), then s_C, inflated */
    int verified; /* 0 scored, not verified; 1 matches (score exact); 2 does
                   * not match; 3 not scored yet */
    double score;
} cand;

/* Queries whose match and score this file computes exactly as FTS5 does:
 * AND of phrases (NOT'd single phrases allowed) and flat OR of phrases. In
 * those, a matching row's phrases are reported by FTS5 exactly when the row
 * holds them; with OR above AND, or NOT in an OR query, a phrase's iterator
 * may stand elsewhere (its hits not counted), so FTS5 scores those. */
enum { Q_FTS5 = 0, Q_AND, Q_OR };

typedef struct topk_run {
    pgr_store *s;
    tok_ctx tc;
    double avgdl, lambda;
    tlist lists[4 * TOPK_MAX_TERMS];
    int n_lists;
    cand *c;
    size_t n_c, cap_c;
    /* ids seen: open addressing on id, value = index + 1 */
    size_t *seen;
    size_t seen_cap;
    pgr_idset dirty;
    size_t n_ra, n_verified;
    size_t n_listed; /* works scored from the lists' hit counts, not their text */
    int esz;         /* bytes per list entry (ENTRY, or ENTRY_OLD: no hit counts) */
    int list_scoring; /* every phrase one word: the lists may score works */
    int kind; /* Q_* */
    const pgr_topk_after *after;
    pgr_id *batch, *bok;
    double *bscore, *ok_scores;
    size_t cap_ok;
} topk_run;

struct topk_keep {
    topk_run r; /* only its buffers and their sizes */
};

/* Takes the kept buffers (lists, candidates, table, batches) into r. */
static void keep_take(pgr_topk *t, topk_run *r)
{
    if (!t->keep)
        return;
    topk_run *k = &t->keep->r;
    for (size_t i = 0; i < sizeof r->lists / sizeof r->lists[0]; i++) {
        tlist *l = &r->lists[i], *kl = &k->lists[i];
        l->e = kl->e;
        l->ecap = kl->ecap;
        l->hdoc = kl->hdoc;
        l->hidx = kl->hidx;
        l->hbuf = kl->hbuf;
    }
    r->c = k->c;
    r->cap_c = k->cap_c;
    r->seen = k->seen;
    r->seen_cap = k->seen_cap;
    if (r->seen)
        memset(r->seen, 0, r->seen_cap * sizeof *r->seen);
    r->batch = k->batch;
    r->bok = k->bok;
    r->bscore = k->bscore;
    r->ok_scores = k->ok_scores;
    r->cap_ok = k->cap_ok;
    free(t->keep);
    t->keep = NULL;
}

static void keep_free(topk_run *r);

/* Gives r's buffers back for the next query (or frees them). */
static void keep_give(pgr_topk *t, topk_run *r)
{
    if (!t->keep && (t->keep = calloc(1, sizeof *t->keep))) {
        t->keep->r = *r;
        return;
    }
    keep_free(r);
}

static void keep_release(pgr_topk *t)
{
    if (!t->keep)
        return;
    keep_free(&t->keep->r);
    free(t->keep);
    t->keep = NULL;
}

static void keep_free(topk_run *r)
{
    for (size_t i = 0; i < sizeof r->lists / sizeof r->lists[0]; i++) {
        free(r->lists[i].e);
        free(r->lists[i].hdoc);
        free(r->lists[i].hidx);
    }
    free(r->c);
    free(r->seen);
    free(r->batch);
    free(r->bok);
    free(r->bscore);
    free(r->ok_scores);
}

#define INFLATE(x) ((x) * (1 + 1e-9) + 1e-12)

static size_t *seen_slot(topk_run *r, pgr_id id)
{
    size_t i = ((uint64_t)id * 0x9e3779b97f4a7c15ULL) >> 20;
    for (i &= r->seen_cap - 1;; i = (i + 1) & (r->seen_cap - 1))
        if (!r->seen[i] || r->c[r->seen[i] - 1].id == id)
            return &r->seen[i];
}

static int seen_grow(topk_run *r)
{
    size_t cap = r->seen_cap ? r->seen_cap * 2 : 1024;
    size_t *old = r->seen, old_cap = r->seen_cap;
    if (!(r->seen = calloc(cap, sizeof *r->seen))) {
        r->seen = old;
        return -1;
    }
    r->seen_cap = cap;
    for (size_t i = 0; i < old_cap; i++)
        if (old[i])
            *seen_slot(r, r->c[old[i] - 1].id) = old[i];
    free(old);
    return 0;
}

static int list_hash(tlist *l, int esz)
{
    size_t cap = 16;
    while (cap < 2 * (size_t)l->n + 2)
        cap *= 2;
    if (cap > l->hbuf) {
        uint32_t *d = realloc(l->hdoc, cap * sizeof *d);
        if (d)
            l->hdoc = d;
        uint32_t *f = d ? realloc(l->hidx, cap * sizeof *f) : NULL;
        if (f)
            l->hidx = f;
        if (!d || !f)
            return -1;
        l->hbuf = cap;
    }
    l->hcap = cap;
    memset(l->hdoc, 0, cap * sizeof *l->hdoc);
    for (int i = 0; i < l->n; i++) {
        uint32_t d;
        memcpy(&d, l->e + (size_t)esz * i, 4);
        size_t h = (d * 0x9e3779b1u) & (cap - 1);
        while (l->hdoc[h] && l->hdoc[h] != d)
            h = (h + 1) & (cap - 1);
        l->hdoc[h] = d;
        l->hidx[h] = (uint32_t)i;
    }
    return 0;
}

/* The most work d can score by the lists alone: in each list its impact
 * (list `known`: known_imp), or the list's floor when it is not in it. */
static double bound_with(const topk_run *r, uint32_t d, int unseen, int known, double known_imp);

/* A scored candidate (s_C = sc, the phrases' hits in r->tc.f): for the
 * queries decided here, whether it matches and its exact score. */
static void judge(topk_run *r, cand *c, double sc, int found)
{
    c->sc = INFLATE(sc);
    c->score = sc;
    c->verified = found ? 0 : 2;
    if (found && r->kind != Q_FTS5) {
        /* the match, decided here; the caller's SQL checks only filters */
        int match = r->kind == Q_AND;
        for (int p = 0; p < r->tc.n_ph; p++) {
            int has = r->tc.f[p] > 0;
            if (r->kind == Q_OR)
                match |= has;
            else
                match &= r->tc.ph[p].scored ? has : !has;
        }
        const pgr_topk_after *a = r->after;
        if (a && !(sc < a->score || (sc == a->score && c->id > a->id)))
            match = 0; /* at or before the cursor */
        if (!match)
            c->verified = 2;
    }
}

/* Reads a candidate's text and judges it. */
static int score_cand(topk_run *r, cand *c, pgr_err *err)
{
    double sc = 0;
    int found = 0;
    if (score_row(r->s, c->id, &r->tc, r->avgdl, &sc, &found, err) != 0)
        return -1;
    r->n_ra++;
    judge(r, c, sc, found);
    return 0;
}

/* Work d's hits of every phrase (into r->tc.f) and its row length from the
 * lists alone, when they account for it: in each list of the query either
 * its entry (list `known`: entry known_pos) or, when it is not in it, a
 * complete list (floor 0: every work holding that word is listed). A word
 * with no list (rare, or new since the build) is not in d: its works were
 * all met, and read, before the lists. Entries of a work are written
 * together from one text (build, refresh), so they agree on dl and the
 * hits are those score_row counts: integer sums of the column weights.
 * 1 = known. */
static int list_fdl(topk_run *r, uint32_t d, int known, int known_pos, int *dl)
{
    double ft[TOPK_MAX_TERMS] = {0};
    int len = -1;
    for (int i = 0; i < r->n_lists; i++) {
        const tlist *l = &r->lists[i];
        long pos = -1;
        if (i == known) {
            pos = known_pos;
        } else if (l->hcap) {
            size_t h = (d * 0x9e3779b1u) & (l->hcap - 1);
            while (l->hdoc[h] && l->hdoc[h] != d)
                h = (h + 1) & (l->hcap - 1);
            if (l->hdoc[h] == d)
                pos = l->hidx[h];
        }
        if (pos < 0) {
            if (l->floor > 0)
                return 0; /* below the floor, or absent: not known */
            continue;
        }
        uint16_t f, n;
        memcpy(&f, l->e + (size_t)ENTRY * pos + 8, 2);
        memcpy(&n, l->e + (size_t)ENTRY * pos + 10, 2);
        if (f == ENTRY_NONE || n == ENTRY_NONE || (len >= 0 && len != n))
            return 0;
        len = n;
        ft[l->term] += f;
    }
    if (len < 0)
        return 0;
    for (int p = 0; p < r->tc.n_ph; p++)
        r->tc.f[p] = ft[r->tc.ph[p].term[0]];
    *dl = len;
    return 1;
}

/* Makes a work a candidate (once). ub < 0: read its text now (rewritten
 * works, works of rare terms); else ub bounds its score until it is read. */
static int meet(topk_run *r, pgr_id id, double ub, pgr_err *err)
{
    if (2 * (r->n_c + 1) > r->seen_cap && seen_grow(r) != 0)
        return OOM(err);
    size_t *slot = seen_slot(r, id);
    if (*slot)
        return 0;
    if (r->n_c == r->cap_c) {
        size_t cap = r->cap_c ? r->cap_c * 2 : 256;
        cand *v = realloc(r->c, cap * sizeof *v);
        if (!v)
            return OOM(err);
        r->c = v;
        r->cap_c = cap;
    }
    cand *c = &r->c[r->n_c];
    *c = (cand){.id = id, .sc = INFLATE(ub), .verified = 3};
    *slot = ++r->n_c;
    return ub < 0 ? score_cand(r, c, err) : 0;
}

/* Meets work d at entry pos of list i in sorted access: scored from the
 * lists when they account for it, else bounded by them until its text is
 * read. */
static int meet_listed(topk_run *r, uint32_t d, int i, int pos, pgr_err *err)
{
    if (2 * (r->n_c + 1) > r->seen_cap && seen_grow(r) != 0)
        return OOM(err);
    if (*seen_slot(r, d))
        return 0;
    int dl = 0;
    if (r->list_scoring && list_fdl(r, d, i, pos, &dl)) {
        if (meet(r, d, 0, err) != 0)
            return -1;
        double sc = 0;
        /* score_row's sum, in phrase order */
        for (int p = 0; p < r->tc.n_ph; p++)
            if (r->tc.f[p] > 0 && r->tc.ph[p].scored)
                sc += impact(r->tc.f[p], dl, r->avgdl);
        judge(r, &r->c[r->n_c - 1], sc, 1);
        r->n_listed++;
        return 0;
    }
    float imp;
    memcpy(&imp, r->lists[i].e + (size_t)r->esz * pos + 4, 4);
    return meet(r, d, bound_with(r, d, 0, i, imp), err);
}

/* FTS5 query-tokenizer callback: appends a term to the phrase being parsed
 * (each phrase word is its own term: one may be a prefix, another not). */
typedef struct qparse {
    qterm_t *terms;
    int n_terms;
    char *buf;
    size_t used, cap;
    qphrase *x;
    int fail;
} qparse;

static int on_query_token(void *ctx, int tflags, const char *tok, int n, int start, int end)
{
    (void)start;
    (void)end;
    qparse *q = ctx;
    if (tflags & FTS5_TOKEN_COLOCATED)
        return SQLITE_OK;
    if (q->n_terms >= TOPK_MAX_TERMS || q->x->n >= TOPK_MAX_TERMS || n <= 0 ||
        q->used + (size_t)n + 1 > q->cap) {
        q->fail = 1;
        return SQLITE_OK;
    }
    char *copy = q->buf + q->used;
    memcpy(copy, tok, (size_t)n);
    copy[n] = 0;
    q->used += (size_t)n + 1;
    qterm_t *t = &q->terms[q->n_terms];
    t->text = copy;
    t->len = n;
    t->prefix = 0;
    q->x->term[q->x->n++] = q->n_terms++;
    return SQLITE_OK;
}

/* The query's phrases and terms, from the FTS5 expression pgr_fts_parse
 * wrote: "a" AND ("b" OR "c"*) NOT "d". 0 = usable, 1 = not ours (anything
 * else: column filters, NEAR, more terms than the masks hold). A phrase
 * right after NOT in a query without OR holds no hits in a matching row (it
 * adds nothing to the score); any other NOT'd phrase may (FTS5 reports a
 * phrase's hits in any row where its own iterator stands), so it counts. */
static int parse_query(pgr_store *s, const char *fts5, qparse *q, qphrase *ph, int *n_ph,
                       int *kind)
{
    int neg_next = 0, has_or = strstr(fts5, " OR ") != NULL;
    *n_ph = 0;
    if (kind) {
        int has_and = strstr(fts5, " AND ") != NULL, has_not = strstr(fts5, " NOT ") != NULL;
        *kind = !has_or ? (strstr(fts5, "NOT (") ? Q_FTS5 : Q_AND)
                        : (!has_and && !has_not ? Q_OR : Q_FTS5);
    }
    for (const char *p = fts5; *p;) {
        if (*p == ' ' || *p == '(' || *p == ')') {
            if (*p == '(')
                neg_next = 0;
            p++;
        } else if (!strncmp(p, "AND ", 4)) {
            p += 4;
        } else if (!strncmp(p, "OR ", 3)) {
            p += 3;
        } else if (!strncmp(p, "NOT ", 4)) {
            neg_next = 1;
            p += 4;
        } else if (*p == '"') {
            const char *e = strchr(p + 1, '"'); /* pgr_fts_parse quotes no quote */
            if (!e || *n_ph >= TOPK_MAX_TERMS)
                return 1;
            int prefix = e[1] == '*';
            qphrase *x = &ph[(*n_ph)++];
            x->n = 0;
            x->scored = !(neg_next && !has_or);
            neg_next = 0;
            q->x = x;
            if (s->topk->tk.xTokenize(s->topk->tok, q,
                                      FTS5_TOKENIZE_QUERY | (prefix ? FTS5_TOKENIZE_PREFIX : 0),
                                      p + 1, (int)(e - p - 1), on_query_token) != SQLITE_OK ||
                q->fail)
                return 1;
            if (x->n == 0) /* FTS5 drops an empty phrase */
                (*n_ph)--;
            else if (prefix)
                q->terms[x->term[x->n - 1]].prefix = 1;
            p = e + 1 + prefix;
        } else {
            return 1;
        }
    }
    return *n_ph ? 0 : 1;
}

/* Loads the lists of term t (a prefix: of every term of the build it
 * starts). A rare term's works (no list) are met at once, from FTS5; a term
 * the build did not see is only in works written since (met already).
 * 1 = too many works or lists. */
static int load_term(topk_run *r, const qterm_t *t, int ti, size_t *rare_docs, pgr_err *err)
{
    pgr_topk *k = r->s->topk;
    char hi[1024];
    int rc = 0, step;
    if (t->len + 1 > (int)sizeof hi)
        return 1;
    /* the first string after every one starting with the prefix (bytewise) */
    memcpy(hi, t->text, (size_t)t->len);
    int hl = t->len;
    while (hl > 0 && (unsigned char)hi[hl - 1] == 0xff)
        hl--;
    if (t->prefix && hl == 0)
        return 1;
    if (t->prefix)
        hi[hl - 1] = (char)((unsigned char)hi[hl - 1] + 1);
    sqlite3_stmt **pst = t->prefix ? &k->q_prefix : &k->q_term;
    if (!*pst &&
        sq(r->s, sqlite3_prepare_v3(DB(r->s),
                                    t->prefix ? "SELECT term, floor, list FROM search_lists WHERE "
                                                "term >= ?1 AND term < ?2"
                                              : "SELECT term, floor, list FROM search_lists WHERE "
                                                "term = ?1",
                                    -1, SQLITE_PREPARE_PERSISTENT, pst, NULL),
           "lists", err))
        return -1;
    if (!k->q_rare &&
        sq(r->s, sqlite3_prepare_v3(DB(r->s), "SELECT rowid FROM works_fts WHERE works_fts MATCH ?1",
                                    -1, SQLITE_PREPARE_PERSISTENT, &k->q_rare, NULL),
           "rare", err))
        return -1;
    sqlite3_stmt *st = *pst;
    sqlite3_bind_text(st, 1, t->text, t->len, SQLITE_STATIC);
    if (t->prefix)
        sqlite3_bind_text(st, 2, hi, hl, SQLITE_STATIC);
    pgr_sb m = {0};
    while (rc == 0 && (step = sqlite3_step(st)) == SQLITE_ROW) {
        int bytes = sqlite3_column_bytes(st, 2);
        if (bytes == 0) {
            /* rare: its works straight from FTS5 */
            pgr_sb_reset(&m);
            pgr_sb_putc(&m, '"');
            pgr_sb_append(&m, (const char *)sqlite3_column_text(st, 0),
                          (size_t)sqlite3_column_bytes(st, 0));
            pgr_sb_putc(&m, '"');
            if (!pgr_sb_ok(&m)) {
                rc = OOM(err);
                break;
            }
            sqlite3_bind_text(k->q_rare, 1, m.data, (int)m.len, SQLITE_STATIC);
            int s2;
            while (rc == 0 && (s2 = sqlite3_step(k->q_rare)) == SQLITE_ROW) {
                if (++*rare_docs > TOPK_MAX_RARE_DOCS)
                    rc = 1;
                else
                    rc = meet(r, sqlite3_column_int64(k->q_rare, 0), -1, err);
            }
            if (rc == 0 && s2 != SQLITE_DONE)
                rc = sq(r->s, s2, "rare", err);
            sqlite3_reset(k->q_rare);
            continue;
        }
        if (r->n_lists >= (int)(sizeof r->lists / sizeof r->lists[0])) {
            rc = 1;
            break;
        }
        tlist *l = &r->lists[r->n_lists];
        l->term = ti;
        if (bytes % r->esz) {
            rc = pgr_errf(err, PGR_EDB, "search index: the list of \"%s\" is %d bytes, not "
                                        "entries of %d", (const char *)sqlite3_column_text(st, 0),
                          bytes, r->esz);
            break;
        }
        l->n = bytes / r->esz;
        l->pos = 0;
        l->floor = sqlite3_column_double(st, 1);
        if ((size_t)bytes > l->ecap) {
            unsigned char *v = realloc(l->e, (size_t)bytes);
            if (!v) {
                rc = OOM(err);
                break;
            }
            l->e = v;
            l->ecap = (size_t)bytes;
        }
        memcpy(l->e, sqlite3_column_blob(st, 2), (size_t)bytes);
        r->n_lists++;
    }
    if (rc == 0 && step != SQLITE_DONE)
        rc = sq(r->s, step, "lists", err);
    sqlite3_reset(st);
    pgr_sb_free(&m);
    return rc;
}

/* unseen: a work not met yet, bounded by each list's next unread impact */
static double bound_with(const topk_run *r, uint32_t d, int unseen, int known, double known_imp)
{
    /* a prefix term has a list per term it starts, and its hits add up in
     * one phrase: with u_t bounding g(f_t, dl) for the same row,
     * f_t <= n u_t / (K1 + 1 - u_t) (n: the row's length norm), so
     * g(sum f_t) <= (K1 + 1) C / (C + 1) with C = sum u_t / (K1 + 1 - u_t),
     * whatever n is; tighter than the sum of the u_t */
    double term_ub[TOPK_MAX_TERMS] = {0}, term_c[TOPK_MAX_TERMS] = {0};
    for (int i = 0; i < r->n_lists; i++) {
        const tlist *l = &r->lists[i];
        double next = l->floor;
        if (unseen) {
            if (l->pos < l->n) {
                float f;
                memcpy(&f, l->e + (size_t)r->esz * l->pos + 4, 4);
                next = f;
            }
        } else if (i == known) {
            next = known_imp;
        } else if (l->hcap) {
            size_t h = (d * 0x9e3779b1u) & (l->hcap - 1);
            while (l->hdoc[h] && l->hdoc[h] != d)
                h = (h + 1) & (l->hcap - 1);
            if (l->hdoc[h] == d) {
                float f;
                memcpy(&f, l->e + (size_t)r->esz * l->hidx[h] + 4, 4);
                next = f;
            }
        }
        double u = next * r->lambda;
        term_ub[l->term] += u;
        term_c[l->term] = u < K1 + 1 && term_c[l->term] < INFINITY
                              ? term_c[l->term] + u / (K1 + 1 - u)
                              : INFINITY;
    }
    for (int t = 0; t < TOPK_MAX_TERMS; t++) {
        double sat = term_c[t] < INFINITY ? (K1 + 1) * term_c[t] / (term_c[t] + 1) : INFINITY;
        if (sat < term_ub[t])
            term_ub[t] = sat;
    }
    double t = 0;
    for (int p = 0; p < r->tc.n_ph; p++) {
        if (!r->tc.ph[p].scored)
            continue;
        double m = INFINITY;
        for (int j = 0; j < r->tc.ph[p].n; j++)
            if (term_ub[r->tc.ph[p].term[j]] < m)
                m = term_ub[r->tc.ph[p].term[j]];
        /* every work holding this phrase has been met (its lists are read
         * to a zero floor, or it has none: rare or new words): in an AND
         * query no other work can match */
        if (m <= 0 && r->kind == Q_AND)
            return INFLATE(0);
        t += m;
    }
    return INFLATE(t);
}

/* T: the most a work not met yet can score. */
static double bound_unseen(const topk_run *r) { return bound_with(r, 0, 1, -1, 0); }

static int cmp_double_desc(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x > y ? -1 : x < y;
}

static int cmp_verified(const void *a, const void *b)
{
    const cand *x = a, *y = b;
    if (x->verified != y->verified)
        return x->verified == 1 ? -1 : y->verified == 1 ? 1 : 0;
    if (x->score != y->score)
        return x->score > y->score ? -1 : 1;
    return x->id < y->id ? -1 : x->id > y->id;
}

int pgr_topk_works(pgr_store *s, const char *fts5, size_t k, const pgr_topk_after *after,
                   pgr_topk_verify verify, void *vctx, pgr_id *ids, double *scores, size_t *n_out,
                   pgr_err *err)
{
    *n_out = 0;
    if (strcmp(s->be->name, "sqlite") != 0 || k == 0 || s->topk_off)
        return 0;
    int state = index_state(s, err);
    if (state != 2)
        return state < 0 ? -1 : 0;
    if (topk_init(s, err) != 0)
        return -1;
    topk_run r = {.s = s};
    qterm_t terms[TOPK_MAX_TERMS];
    qphrase ph[TOPK_MAX_TERMS];
    char buf[2048];
    qparse q = {.terms = terms, .buf = buf, .cap = sizeof buf};
    int n_ph = 0, rc = 0;
    if (parse_query(s, fts5, &q, ph, &n_ph, &r.kind) != 0)
        return 0;
    r.after = after;
    r.tc.terms = terms;
    r.tc.n_terms = q.n_terms;
    r.tc.ph = ph;
    r.tc.n_ph = n_ph;
    /* the mean row length now and at the build */
    double rows0 = 0, tokens0 = 0, rows = 0, tokens = 0;
    pgr_topk *tk = s->topk;
    if (read_info(s, &rows0, &tokens0, &r.esz, err) != 0 ||
        fts_totals(s, &rows, &tokens, err) != 0)
        return -1;
    r.list_scoring = r.esz == ENTRY;
    for (int p = 0; p < n_ph; p++)
        r.list_scoring &= ph[p].n == 1; /* a phrase's hits need positions */
    if (rows0 < 1 || tokens0 < 1 || rows < 1 || tokens < 1)
        return 0;
    r.avgdl = tokens / rows;
    r.lambda = r.avgdl > tokens0 / rows0 ? r.avgdl / (tokens0 / rows0) : 1.0;
    keep_take(tk, &r); /* given back at the end, whatever happens */
    /* works rewritten since the build: met first, their list entries skipped */
    if (!tk->q_dirty &&
        sq(s, sqlite3_prepare_v3(DB(s), "SELECT id FROM search_dirty LIMIT ?1", -1,
                                 SQLITE_PREPARE_PERSISTENT, &tk->q_dirty, NULL),
           "dirty", err))
        return -1;
    sqlite3_bind_int(tk->q_dirty, 1, TOPK_MAX_DIRTY + 1);
    while (sqlite3_step(tk->q_dirty) == SQLITE_ROW)
        if (pgr_idset_add(&r.dirty, sqlite3_column_int64(tk->q_dirty, 0)) != 0) {
            rc = OOM(err);
            break;
        }
    sqlite3_reset(tk->q_dirty);
    if (rc == 0 && r.dirty.n > TOPK_MAX_DIRTY)
        rc = 1;
    pgr_idset_sort(&r.dirty);
    for (size_t i = 0; rc == 0 && i < r.dirty.n; i++)
        rc = meet(&r, r.dirty.v[i], -1, err);
    size_t rare_docs = 0;
    for (int i = 0; rc == 0 && i < q.n_terms; i++)
        rc = load_term(&r, &terms[i], i, &rare_docs, err);
    for (int i = 0; rc == 0 && r.n_lists > 1 && i < r.n_lists; i++)
        if (list_hash(&r.lists[i], r.esz) != 0)
            rc = OOM(err);
    if (rc == 0 && !r.batch &&
        (!(r.batch = malloc(TOPK_MAX_VERIFY * sizeof *r.batch)) ||
         !(r.bscore = malloc(TOPK_MAX_VERIFY * sizeof *r.bscore)) ||
         !(r.bok = malloc(TOPK_MAX_VERIFY * sizeof *r.bok))))
        rc = OOM(err);
    pgr_id *batch = r.batch, *bok = r.bok;
    double *bscore = r.bscore;
    int step_n = TOPK_FIRST_BATCH, done = 0;
    while (rc == 0 && !done) {
        /* sorted access: the next step_n entries of every list */
        int more = 0;
        for (int i = 0; rc == 0 && i < r.n_lists; i++) {
            tlist *l = &r.lists[i];
            int end = l->pos + step_n < l->n ? l->pos + step_n : l->n;
            for (; rc == 0 && l->pos < end; l->pos++) {
                uint32_t d;
                memcpy(&d, l->e + (size_t)r.esz * l->pos, 4);
                if (!r.dirty.n || !pgr_idset_has(&r.dirty, d))
                    rc = meet_listed(&r, d, i, l->pos, err);
            }
            more |= l->pos < l->n;
        }
        if (rc != 0)
            break;
        if (r.n_ra > TOPK_MAX_RA) {
            rc = 1;
            break;
        }
        step_n *= 2;
        double T = bound_unseen(&r);
        /* verify what can still reach the k best: first everything above T
         * (and the k-th verified), then decide */
        for (;;) {
            double theta = -INFINITY;
            size_t n_ok = 0;
            if (r.n_c > r.cap_ok) {
                double *v = realloc(r.ok_scores, r.n_c * sizeof *v);
                if (!v) {
                    rc = OOM(err);
                    break;
                }
                r.ok_scores = v;
                r.cap_ok = r.n_c;
            }
            for (size_t i = 0; i < r.n_c; i++)
                if (r.c[i].verified == 1)
                    r.ok_scores[n_ok++] = r.c[i].score;
            if (n_ok >= k) {
                qsort(r.ok_scores, n_ok, sizeof *r.ok_scores, cmp_double_desc);
                theta = r.ok_scores[k - 1];
            }
            double need = theta > T ? theta : T;
            /* first read the texts of those the lists cannot rule out: the
             * TOPK_READ_CHUNK with the highest bounds, then theta again,
             * so that a text whose bound the results soon pass is not read
             * (reading every one above this round's need read twice as many) */
            int scored = 0;
            size_t pick[TOPK_READ_CHUNK], n_pick = 0;
            for (size_t i = 0; i < r.n_c; i++) {
                if (r.c[i].verified != 3 || !(r.c[i].sc >= need))
                    continue;
                /* pick: the best bounds so far, highest first */
                size_t at = n_pick < TOPK_READ_CHUNK ? n_pick++ : TOPK_READ_CHUNK;
                if (at == TOPK_READ_CHUNK && !(r.c[i].sc > r.c[pick[at - 1]].sc))
                    continue;
                if (at == TOPK_READ_CHUNK)
                    at--;
                while (at > 0 && r.c[pick[at - 1]].sc < r.c[i].sc) {
                    pick[at] = pick[at - 1];
                    at--;
                }
                pick[at] = i;
            }
            for (size_t j = 0; rc == 0 && j < n_pick; j++) {
                rc = score_cand(&r, &r.c[pick[j]], err);
                scored = 1;
            }
            if (rc != 0 || r.n_ra > TOPK_MAX_RA) {
                rc = rc ? rc : 1;
                break;
            }
            size_t nb = 0;
            for (size_t i = 0; i < r.n_c && nb < TOPK_MAX_VERIFY; i++)
                if (r.c[i].verified == 0 && r.c[i].sc >= need)
                    batch[nb++] = r.c[i].id;
            if (nb == 0) {
                if (scored)
                    continue; /* theta may have moved */
                if (n_ok >= k && theta > T)
                    done = 1;
                break;
            }
            if (r.kind == Q_FTS5 && r.n_verified + nb > TOPK_MAX_VERIFY) {
                rc = 1;
                break;
            }
            size_t n_match = 0;
            int full = r.kind == Q_FTS5;
            if (verify(vctx, full, batch, nb, bok, bscore, &n_match, err) != 0) {
                rc = -1;
                break;
            }
            r.n_verified += nb;
            for (size_t i = 0; i < nb; i++)
                r.c[*seen_slot(&r, batch[i]) - 1].verified = 2;
            for (size_t i = 0; i < n_match; i++) {
                size_t *slot = seen_slot(&r, bok[i]);
                if (*slot) {
                    r.c[*slot - 1].verified = 1;
                    if (full) /* FTS5's score; else ours, computed as pgr_rank does */
                        r.c[*slot - 1].score = bscore[i];
                }
            }
        }
        if (rc != 0 || done)
            break;
        if (!more) {
            /* every list read to its end: what is left is bounded by the
             * floors; nothing above them unverified (the loop above) */
            if (T <= INFLATE(0))
                done = 1; /* complete lists: every match was met */
            else
                rc = 1; /* unlisted works may score up to T: not provable */
        }
    }
    if (rc == 0 && done) {
        if (r.n_c) /* (qsort's array may not be NULL, even empty) */
            qsort(r.c, r.n_c, sizeof *r.c, cmp_verified);
        size_t n = 0;
        while (n < r.n_c && n < k && r.c[n].verified == 1) {
            ids[n] = r.c[n].id;
            scores[n] = r.c[n].score;
            n++;
        }
        *n_out = n;
        s->topk_answered++;
        s->topk_listed += (long)r.n_listed;
        if (getenv("PGR_TOPK_TRACE"))
            fprintf(stderr,
                    "topk: %s: k=%zu lists=%d met=%zu listed=%zu verified=%zu depth=%d -> %zu\n",
                    fts5, k, r.n_lists, r.n_ra, r.n_listed, r.n_verified, step_n / 2, n);
    } else if (rc == 1 && getenv("PGR_TOPK_TRACE")) {
        fprintf(stderr, "topk: %s: k=%zu fallback (met=%zu verified=%zu)\n", fts5, k, r.n_ra,
                r.n_verified);
    }
    pgr_idset_free(&r.dirty);
    keep_give(s->topk, &r);
    if (rc < 0)
        return -1;
    return rc == 0 && done ? 1 : 0;
}

/* A works search's match count estimated from the index's document
 * frequencies, terms taken as independent, and what counting exactly would
 * cost: FTS5 reads the doclists of an AND up to its rarest phrase's, of an
 * OR all of them, and a prefix phrase's merged list of every term it starts
 * whatever the LIMIT. The caller estimates where counting would read many
 * rows (a common word is in a third of the works). 1 = *est and *cost set,
 * 0 = no estimate. */
int pgr_topk_count_estimate(pgr_store *s, const char *fts5, int64_t *est, int64_t *cost,
                            pgr_err *err)
{
    if (strcmp(s->be->name, "sqlite") != 0 || s->topk_off)
        return 0;
    int state = index_state(s, err);
    if (state != 2)
        return state < 0 ? -1 : 0;
    if (topk_init(s, err) != 0)
        return -1;
    qterm_t terms[TOPK_MAX_TERMS];
    qphrase ph[TOPK_MAX_TERMS];
    char buf[2048];
    qparse q = {.terms = terms, .buf = buf, .cap = sizeof buf};
    int n_ph = 0, kind = Q_FTS5;
    if (parse_query(s, fts5, &q, ph, &n_ph, &kind) != 0 || kind == Q_FTS5)
        return 0;
    double rows = 0, tokens = 0;
    if (fts_totals(s, &rows, &tokens, err) != 0)
        return -1;
    if (rows < 1)
        return 0;
    pgr_topk *k = s->topk;
    if (!k->q_df &&
        sq(s, sqlite3_prepare_v3(DB(s), "SELECT df FROM search_lists WHERE term >= ?1 AND term < ?2",
                                 -1, SQLITE_PREPARE_PERSISTENT, &k->q_df, NULL),
           "count", err))
        return -1;
    /* the share of works each phrase is in */
    double share_all = 1, none_all = 1, rows_and = INFINITY, rows_or = 0, rows_prefix = 0;
    for (int p = 0; p < n_ph; p++) {
        if (ph[p].n != 1)
            return 0; /* a phrase of several words: no frequency to go by */
        const qterm_t *t = &terms[ph[p].term[0]];
        char hi[1024];
        if (t->len + 2 > (int)sizeof hi)
            return 0;
        memcpy(hi, t->text, (size_t)t->len);
        int hl = t->len;
        if (t->prefix) {
            while (hl > 0 && (unsigned char)hi[hl - 1] == 0xff)
                hl--;
            if (hl == 0)
                return 0;
            hi[hl - 1] = (char)((unsigned char)hi[hl - 1] + 1);
        } else {
            hi[hl++] = 0; /* the term itself: [t, t "\0") */
        }
        sqlite3_bind_text(k->q_df, 1, t->text, t->len, SQLITE_STATIC);
        sqlite3_bind_text(k->q_df, 2, hi, hl, SQLITE_STATIC);
        double absent = 1, dfs = 0;
        int step;
        while ((step = sqlite3_step(k->q_df)) == SQLITE_ROW) {
            double df = (double)sqlite3_column_int64(k->q_df, 0);
            absent *= df >= rows ? 0 : 1 - df / rows;
            dfs += df;
        }
        rows_or += dfs;
        if (ph[p].scored && dfs < rows_and)
            rows_and = dfs;
        if (t->prefix && dfs > rows_prefix)
            rows_prefix = dfs;
        sqlite3_reset(k->q_df);
        if (sq(s, step, "count", err))
            return -1;
        if (kind == Q_OR)
            none_all *= absent;
        else if (ph[p].scored)
            share_all *= 1 - absent;
        else
            share_all *= absent;
    }
    double e = rows * (kind == Q_OR ? 1 - none_all : share_all);
    double c = kind == Q_OR ? rows_or : rows_and < INFINITY ? rows_and : 0;
    if (rows_prefix > c)
        c = rows_prefix;
    *est = (int64_t)(e + 0.5);
    *cost = (int64_t)c;
    return 1;
}

/* ---- bringing the index up to date (pgr_search_index_update) ----
 * Why incremental: a nightly ingest changes a few thousand works of a
 * graph of a million; a rebuild reads every text (minutes), a refresh only
 * the changed ones and the lists of their words. What keeps it exact (the
 * query's invariants, see the top of this file): every list is sorted best
 * first and no entry is under its floor; a work not in a term's list and
 * not dirty weighs at most the floor there; every word of the graph has a
 * row (an empty list: its works come from FTS5). So a changed work's
 * entries are replaced by its impacts now (at the build's mean length A0,
 * like every other entry), those not above the floor are left out, a list
 * longer than the build's length is cut back and the floor raised to the
 * best entry cut, and a word the build did not see gets an empty list. An
 * entry of a word the work no longer holds may stay: its stored impact
 * overstates the true one (0), which only makes the work a candidate that
 * its text then rules out. */
typedef struct rterm { /* a word of the changed works' texts */
    char *text;
    int len;
    uint32_t stamp; /* last doc counted */
    double f;
    uint32_t *doc; /* (doc, impact at A0, f | dl << 16), in doc order */
    float *imp;
    uint32_t *fdl;
    int n, cap;
    int n_new; /* of those, works new since the last build or refresh */
} rterm;

typedef struct refresh_ctx {
    rterm *t;
    size_t n, cap;
    int *hash; /* open addressing: index + 1, 0 empty */
    size_t hcap;
    int col, dl;
    uint32_t doc;
    int *touched;
    size_t n_touched, cap_touched;
    int oom;
} refresh_ctx;

static int refresh_rehash(refresh_ctx *c)
{
    size_t cap = c->hcap ? c->hcap * 2 : 1024;
    int *h = calloc(cap, sizeof *h);
    if (!h)
        return -1;
    for (size_t i = 0; i < c->n; i++) {
        size_t j = pgr_fnv1a(c->t[i].text, (size_t)c->t[i].len) & (cap - 1);
        while (h[j])
            j = (j + 1) & (cap - 1);
        h[j] = (int)i + 1;
    }
    free(c->hash);
    c->hash = h;
    c->hcap = cap;
    return 0;
}

/* the index of word p[0..n), added when new; -1 out of memory */
static int refresh_term(refresh_ctx *c, const char *p, int n)
{
    if (2 * (c->n + 1) > c->hcap && refresh_rehash(c) != 0)
        return -1;
    size_t j = pgr_fnv1a(p, (size_t)n) & (c->hcap - 1);
    for (; c->hash[j]; j = (j + 1) & (c->hcap - 1)) {
        const rterm *t = &c->t[c->hash[j] - 1];
        if (t->len == n && !memcmp(t->text, p, (size_t)n))
            return c->hash[j] - 1;
    }
    if (c->n == c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 1024;
        rterm *v = realloc(c->t, cap * sizeof *v);
        if (!v)
            return -1;
        c->t = v;
        c->cap = cap;
    }
    rterm *t = &c->t[c->n];
    memset(t, 0, sizeof *t);
    if (!(t->text = malloc((size_t)n + 1)))
        return -1;
    memcpy(t->text, p, (size_t)n);
    t->text[n] = 0;
    t->len = n;
    c->hash[j] = (int)++c->n;
    return (int)c->n - 1;
}

static int on_refresh_token(void *ctx, int tflags, const char *tok, int n, int start, int end)
{
    (void)start;
    (void)end;
    refresh_ctx *c = ctx;
    if (tflags & FTS5_TOKEN_COLOCATED) /* as the build and FTS5's row size */
        return SQLITE_OK;
    c->dl++;
    if (n <= 0)
        return SQLITE_OK;
    int k = refresh_term(c, tok, n);
    if (k < 0) {
        c->oom = 1;
        return SQLITE_NOMEM;
    }
    rterm *t = &c->t[k];
    if (t->stamp != c->doc) {
        if (touched_push(&c->touched, &c->n_touched, &c->cap_touched, k) != 0) {
            c->oom = 1;
            return SQLITE_NOMEM;
        }
        t->stamp = c->doc;
        t->f = 0;
    }
    t->f += COL_W[c->col];
    return SQLITE_OK;
}

static int rterm_push(rterm *t, uint32_t doc, float imp, uint32_t fdl)
{
    if (t->n == t->cap) {
        int cap = t->cap ? t->cap * 2 : 4;
        uint32_t *d = realloc(t->doc, (size_t)cap * sizeof *d);
        if (d)
            t->doc = d;
        float *f = d ? realloc(t->imp, (size_t)cap * sizeof *f) : NULL;
        if (f)
            t->imp = f;
        uint32_t *x = f ? realloc(t->fdl, (size_t)cap * sizeof *x) : NULL;
        if (x)
            t->fdl = x;
        if (!d || !f || !x)
            return -1;
        t->cap = cap;
    }
    t->doc[t->n] = doc;
    t->imp[t->n] = imp;
    t->fdl[t->n] = fdl;
    t->n++;
    return 0;
}

/* One word's list: the changed works' entries out, their new ones in. */
static int refresh_list(pgr_store *s, sqlite3_stmt *upd, const rterm *t, const pgr_idset *dirty,
                        double floor, const unsigned char *old, int bytes, int lmax, int esz,
                        unsigned char **buf, size_t *buf_cap, pgr_err *err)
{
    if (bytes % esz)
        return pgr_errf(err, PGR_EDB, "search index: the list of \"%s\" is %d bytes, not "
                                      "entries of %d", t->text, bytes, esz);
    size_t n_old = (size_t)bytes / (size_t)esz,
           need = (n_old + (size_t)t->n) * (size_t)esz + ENTRY;
    if (need > *buf_cap) {
        unsigned char *v = realloc(*buf, need);
        if (!v)
            return OOM(err);
        *buf = v;
        *buf_cap = need;
    }
    unsigned char *e = *buf;
    size_t n = 0;
    int changed = 0;
    for (size_t i = 0; i < n_old; i++) {
        uint32_t d;
        memcpy(&d, old + (size_t)esz * i, 4);
        if (pgr_idset_has(dirty, d)) {
            changed = 1;
            continue;
        }
        memcpy(e + (size_t)esz * n++, old + (size_t)esz * i, (size_t)esz);
    }
    for (int i = 0; i < t->n; i++) {
        if (!(t->imp[i] > floor))
            continue; /* it weighs at most the floor: it stays out */
        if (esz == ENTRY) {
            put_entry(e + (size_t)esz * n, t->doc[i], t->imp[i], t->fdl[i]);
        } else {
            memcpy(e + (size_t)esz * n, &t->doc[i], 4);
            memcpy(e + (size_t)esz * n + 4, &t->imp[i], 4);
        }
        n++;
        changed = 1;
    }
    if (!changed)
        return 0;
    if (n > 1)
        qsort(e, n, (size_t)esz, cmp_entry_desc);
    if (lmax > 0 && n > (size_t)lmax) {
        float cut; /* the best entry cut: every work left out weighs at most that */
        memcpy(&cut, e + (size_t)esz * (size_t)lmax + 4, 4);
        if (cut > floor)
            floor = cut;
        n = (size_t)lmax;
    }
    sqlite3_bind_double(upd, 1, floor);
    sqlite3_bind_blob(upd, 2, e, (int)(n * (size_t)esz), SQLITE_STATIC);
    sqlite3_bind_text(upd, 3, t->text, t->len, SQLITE_STATIC);
    int r = sqlite3_step(upd);
    sqlite3_reset(upd);
    return sq(s, r, "refresh", err);
}

static int refresh(pgr_store *s, double rows0, double tokens0, int esz, pgr_err *err)
{
    refresh_ctx c = {0};
    pgr_idset dirty = {0};
    sqlite3_stmt *st = NULL, *text = NULL, *get = NULL, *upd = NULL, *add = NULL, *dfs = NULL;
    unsigned char *buf = NULL, *old = NULL;
    size_t buf_cap = 0, old_cap = 0;
    int rc = -1, r, lmax = TOPK_LMAX;
    const double avgdl0 = tokens0 / rows0;
    sqlite3_int64 max_id = -1; /* -1: unknown (an index of before search_refreshes) */
    if (topk_init(s, err) != 0 ||
        s->be->exec(s, "search_index_refreshes", REFRESHES_DDL, err) != 0)
        return -1;
    if (sqlite3_prepare_v2(DB(s), "SELECT max_id FROM search_refreshes", -1, &st, NULL) ==
        SQLITE_OK) {
        if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_type(st, 0) == SQLITE_INTEGER)
            max_id = sqlite3_column_int64(st, 0);
        sqlite3_finalize(st);
    }
    st = NULL;
    /* the build's list length (an index of before search_params: the default) */
    if (sqlite3_prepare_v2(DB(s), "SELECT list_len FROM search_params", -1, &st, NULL) ==
        SQLITE_OK) {
        if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_int(st, 0) > 0)
            lmax = sqlite3_column_int(st, 0);
        sqlite3_finalize(st);
    }
    st = NULL;
    if (sq(s, sqlite3_prepare_v2(DB(s), "SELECT id FROM search_dirty", -1, &st, NULL), "dirty",
           err))
        goto cleanup;
    while ((r = sqlite3_step(st)) == SQLITE_ROW)
        if (pgr_idset_add(&dirty, sqlite3_column_int64(st, 0)) != 0) {
            OOM(err);
            goto cleanup;
        }
    if (sq(s, r, "dirty", err))
        goto cleanup;
    sqlite3_finalize(st);
    st = NULL;
    pgr_idset_sort(&dirty);
    /* the changed works' words and impacts, from their text as it is now */
    if (sq(s, sqlite3_prepare_v2(DB(s), "SELECT c0, c1, c2 FROM works_fts_content WHERE id = ?1",
                                 -1, &text, NULL),
           "rows", err))
        goto cleanup;
    for (size_t i = 0; i < dirty.n; i++) {
        pgr_id id = dirty.v[i];
        if (id <= 0 || id > (pgr_id)UINT32_MAX) {
            pgr_errf(err, PGR_EINVAL, "search index: work id %lld does not fit 32 bits",
                     (long long)id);
            goto cleanup;
        }
        sqlite3_bind_int64(text, 1, id);
        r = sqlite3_step(text);
        if (r == SQLITE_ROW) { /* no row: deleted, its entries just go */
            c.doc = (uint32_t)id;
            c.dl = 0;
            c.n_touched = 0;
            for (int col = 0; col < 3; col++) {
                const char *x = (const char *)sqlite3_column_text(text, col);
                int n = sqlite3_column_bytes(text, col);
                c.col = col;
                if (x && n > 0)
                    s->topk->tk.xTokenize(s->topk->tok, &c, FTS5_TOKENIZE_DOCUMENT, x, n,
                                          on_refresh_token);
                if (c.oom) {
                    OOM(err);
                    goto cleanup;
                }
            }
            for (size_t j = 0; j < c.n_touched; j++) {
                rterm *t = &c.t[c.touched[j]];
                if (rterm_push(t, c.doc, up_float(impact(t->f, c.dl, avgdl0)),
                               pack_fdl(t->f, c.dl)) != 0) {
                    OOM(err);
                    goto cleanup;
                }
                t->n_new += max_id >= 0 && id > max_id;
            }
            r = sqlite3_step(text);
        }
        sqlite3_reset(text);
        if (sq(s, r, "rows", err))
            goto cleanup;
    }
    /* The changed works' entries in lists of words their texts no longer
     * hold (or of works deleted): a query scores a work from its entries'
     * hit counts (list_fdl), so no entry may outlive the text it counted.
     * Every list holding a changed work joins the words rewritten below
     * (with no new entries when the work lost the word). One read of every
     * list, about the size of the index (tens of MB at a million works). */
    if (esz == ENTRY && dirty.n) {
        sqlite3_finalize(st);
        st = NULL;
        if (sq(s, sqlite3_prepare_v2(DB(s), "SELECT term, list FROM search_lists", -1, &st, NULL),
               "refresh", err))
            goto cleanup;
        while ((r = sqlite3_step(st)) == SQLITE_ROW) {
            const unsigned char *e = sqlite3_column_blob(st, 1);
            int bytes = sqlite3_column_bytes(st, 1);
            for (int i = 0; e && i + ENTRY <= bytes; i += ENTRY) {
                uint32_t d;
                memcpy(&d, e + i, 4);
                if (!pgr_idset_has(&dirty, d))
                    continue;
                if (refresh_term(&c, (const char *)sqlite3_column_text(st, 0),
                                 sqlite3_column_bytes(st, 0)) < 0) {
                    OOM(err);
                    goto cleanup;
                }
                break;
            }
        }
        if (sq(s, r, "refresh", err))
            goto cleanup;
        sqlite3_finalize(st);
        st = NULL;
    }
    /* each word's row: its list rewritten, or an empty list for a new word */
    if (sq(s, sqlite3_prepare_v2(DB(s), "SELECT floor, list FROM search_lists WHERE term = ?1",
                                 -1, &get, NULL),
           "refresh", err) ||
        sq(s, sqlite3_prepare_v2(DB(s), "UPDATE search_lists SET floor = ?1, list = ?2 "
                                        "WHERE term = ?3",
                                 -1, &upd, NULL),
           "refresh", err) ||
        sq(s, sqlite3_prepare_v2(DB(s), "INSERT INTO search_lists (term, df, floor, list) "
                                        "VALUES (?1, ?2, 0, x'')",
                                 -1, &add, NULL),
           "refresh", err) ||
        sq(s, sqlite3_prepare_v2(DB(s), "UPDATE search_lists SET df = df + ?1 WHERE term = ?2",
                                 -1, &dfs, NULL),
           "refresh", err))
        goto cleanup;
    for (size_t i = 0; i < c.n; i++) {
        const rterm *t = &c.t[i];
        sqlite3_bind_text(get, 1, t->text, t->len, SQLITE_STATIC);
        r = sqlite3_step(get);
        if (r == SQLITE_ROW) {
            /* (term is the key: one row) copied out before the row is rewritten */
            int bytes = sqlite3_column_bytes(get, 1);
            double floor = sqlite3_column_double(get, 0);
            if ((size_t)bytes > old_cap) {
                unsigned char *v = realloc(old, (size_t)bytes);
                if (!v) {
                    sqlite3_reset(get);
                    OOM(err);
                    goto cleanup;
                }
                old = v;
                old_cap = (size_t)bytes;
            }
            if (bytes > 0)
                memcpy(old, sqlite3_column_blob(get, 1), (size_t)bytes);
            sqlite3_reset(get);
            r = SQLITE_DONE;
            /* an empty list: a word without one, its works come from FTS5 */
            if (bytes > 0 && refresh_list(s, upd, t, &dirty, floor, old, bytes, lmax, esz, &buf,
                                          &buf_cap, err) != 0)
                goto cleanup;
            /* document frequencies (the count estimates): the new works' words;
             * a rewritten work's words are taken as unchanged */
            if (t->n_new > 0) {
                sqlite3_bind_int(dfs, 1, t->n_new);
                sqlite3_bind_text(dfs, 2, t->text, t->len, SQLITE_STATIC);
                int w = sqlite3_step(dfs);
                sqlite3_reset(dfs);
                if (sq(s, w, "refresh", err))
                    goto cleanup;
            }
        } else if (r == SQLITE_DONE) {
            /* a word the build did not see: a query must learn that it is
             * in works other than the dirty ones (they will not be) */
            sqlite3_bind_text(add, 1, t->text, t->len, SQLITE_STATIC);
            sqlite3_bind_int64(add, 2, t->n);
            int w = sqlite3_step(add);
            sqlite3_reset(add);
            if (sq(s, w, "refresh", err)) {
                sqlite3_reset(get);
                goto cleanup;
            }
        }
        sqlite3_reset(get);
        if (sq(s, r, "refresh", err))
            goto cleanup;
    }
    if (s->be->exec(s, "search_index_clean", "DELETE FROM search_dirty", err) != 0)
        goto cleanup;
    sqlite3_finalize(st);
    if (sq(s, sqlite3_prepare_v2(DB(s), "INSERT INTO search_refreshes (id, changed, max_id) "
                                        "SELECT 1, ?1, max(id) FROM works_fts_content WHERE true "
                                        "ON CONFLICT (id) DO UPDATE SET changed = changed + ?1, "
                                        "max_id = excluded.max_id",
                                 -1, &st, NULL),
           "refresh", err))
        goto cleanup;
    sqlite3_bind_int64(st, 1, (sqlite3_int64)dirty.n);
    if (sq(s, sqlite3_step(st), "refresh", err))
        goto cleanup;
    s->wrote = 1;
    rc = 0;
cleanup:
    sqlite3_finalize(st);
    sqlite3_finalize(text);
    sqlite3_finalize(get);
    sqlite3_finalize(upd);
    sqlite3_finalize(add);
    sqlite3_finalize(dfs);
    for (size_t i = 0; i < c.n; i++) {
        free(c.t[i].text);
        free(c.t[i].doc);
        free(c.t[i].imp);
        free(c.t[i].fdl);
    }
    free(c.t);
    free(c.hash);
    free(c.touched);
    free(buf);
    free(old);
    pgr_idset_free(&dirty);
    return rc;
}

const char *pgr_search_action_name(int action)
{
    switch (action) {
    case PGR_SEARCH_CURRENT: return "current";
    case PGR_SEARCH_SKIPPED: return "skipped";
    case PGR_SEARCH_EMPTY: return "none (no works)";
    case PGR_SEARCH_REFRESHED: return "refreshed";
    case PGR_SEARCH_BUILT: return "built";
    case PGR_SEARCH_REBUILT: return "rebuilt";
    default: return "not used (PostgreSQL)";
    }
}

/* the mean row length may grow this much since the build before a rebuild:
 * a query scales every bound by A/A0, and the best scores of a common word
 * lie close together, so a little looseness reads many more texts (on a
 * 100k-work graph, the H2-like mix read 1.9x the texts at 1.01, 18x at
 * 1.02, 49x at 1.04; docs/benchmarks.md) */
#define TOPK_DRIFT 1.01

/* A build with the last build's list length and rare limit, unless this
 * connection was given its own (pgr_search_index_params). */
static int build_again(pgr_store *s, int state, pgr_err *err)
{
    int len = s->topk_list_len, rare = s->topk_rare, rc;
    sqlite3_stmt *st = NULL;
    if (state == 2 && !len && !rare &&
        sqlite3_prepare_v2(DB(s), "SELECT list_len, rare FROM search_params", -1, &st, NULL) ==
            SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW)
        pgr_search_index_params(s, sqlite3_column_int(st, 0), sqlite3_column_int(st, 1));
    sqlite3_finalize(st);
    rc = build(s, err);
    s->topk_list_len = len;
    s->topk_rare = rare;
    return rc;
}

static int update(pgr_store *s, int mode, pgr_search_update *o, pgr_err *err)
{
    double rows = 0, tokens = 0, rows0 = 0, tokens0 = 0, r0 = 0, t0 = 0;
    int esz = ENTRY;
    int state = index_state(s, err);
    if (state < 0 || topk_init(s, err) != 0 || fts_totals(s, &rows, &tokens, err) != 0)
        return -1;
    o->works = (long)rows;
    if (state == 2) {
        sqlite3_stmt *st = NULL;
        if (sq(s, sqlite3_prepare_v2(DB(s), "SELECT rows, tokens, (SELECT count(*) FROM "
                                            "search_dirty) FROM search_info",
                                     -1, &st, NULL),
               "info", err))
            return -1;
        int r = sqlite3_step(st);
        if (r == SQLITE_ROW) {
            rows0 = sqlite3_column_double(st, 0);
            tokens0 = sqlite3_column_double(st, 1);
            o->changed = (long)sqlite3_column_int64(st, 2);
        }
        sqlite3_finalize(st);
        if (r != SQLITE_ROW && r != SQLITE_DONE)
            return sq(s, r, "info", err);
        /* works refreshed since the build (none recorded before search_refreshes) */
        if (sqlite3_prepare_v2(DB(s), "SELECT changed FROM search_refreshes", -1, &st, NULL) ==
            SQLITE_OK) {
            if (sqlite3_step(st) == SQLITE_ROW)
                o->refreshed = (long)sqlite3_column_int64(st, 0);
            sqlite3_finalize(st);
        }
    }
    if (state == 2 && read_info(s, &r0, &t0, &esz, err) != 0)
        return -1;
    /* an index built over no works has no mean length to refresh with */
    int usable = state == 2 && rows0 >= 1 && tokens0 >= 1;
    /* lists of before the hit counts: rebuilt once (queries read every met
     * work's text with them) */
    if (usable && mode == PGR_SEARCH_AUTO && esz != ENTRY) {
        o->action = PGR_SEARCH_REBUILT;
        return build_again(s, state, err);
    }
    if (mode == PGR_SEARCH_SKIP) {
        o->action = PGR_SEARCH_SKIPPED;
        return 0;
    }
    if (mode == PGR_SEARCH_REBUILD || !usable) {
        if (!usable && (rows < 1 || tokens < 1) && mode != PGR_SEARCH_REBUILD) {
            o->action = PGR_SEARCH_EMPTY;
            return 0;
        }
        o->action = usable ? PGR_SEARCH_REBUILT : PGR_SEARCH_BUILT;
        return build_again(s, state, err);
    }
    if (o->changed == 0) {
        o->action = PGR_SEARCH_CURRENT;
        return 0;
    }
    double drift = rows >= 1 ? (tokens / rows) / (tokens0 / rows0) : 1;
    /* refreshed works since the build count too: their words' lists are
     * exact, but a word that was rare then has no list however common it
     * got (its works come from FTS5, up to a budget), and counts of a
     * rewritten work's words are not updated */
    o->drift = drift;
    if (mode == PGR_SEARCH_AUTO &&
        ((double)(o->changed + o->refreshed) > PGR_SEARCH_REBUILD_SHARE * rows ||
         drift > TOPK_DRIFT)) {
        o->action = PGR_SEARCH_REBUILT;
        return build_again(s, state, err);
    }
    o->action = PGR_SEARCH_REFRESHED;
    return refresh(s, rows0, tokens0, esz, err);
}

int pgr_search_index_update(pgr_store *s, int mode, pgr_search_update *out, pgr_err *err)
{
    pgr_search_update o = {0};
    uint64_t t0 = pgr_now_us();
    int rc = 0;
    if (strcmp(s->be->name, "sqlite") == 0) {
        int own;
        if (pgr_tx_enter(s, &own, err) != 0)
            return -1;
        rc = pgr_tx_leave(s, own, update(s, mode, &o, err), err);
    }
    o.seconds = (double)(pgr_now_us() - t0) / 1e6;
    if (out)
        *out = o;
    return rc;
}
