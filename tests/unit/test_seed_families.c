/* Round-trip property tests of the four profile-page families: pages that
 * tests/support/pagegen.c renders the way the sites render the seeds, with
 * the truth of every entry, are detected and parsed through the same entry
 * points ingest uses (ix_format_detect, then the format's parse), and every
 * field is compared with the truth. A mismatch prints the world seed, the
 * family, the entry and the field.
 *
 * Two splits are undecidable from the page alone in some cases (documented
 * in docs/profile-pages.md): the space-separated author line of the arXiv
 * profile when it holds a name of three plain words ("Ann Wu Juan Carlos
 * Niebles": "Ann Wu" + "Juan Carlos Niebles" or "Ann Wu Juan" + "Carlos
 * Niebles"), and the owner of a page without a name when the printed lists
 * leave two people equally consistent. Those entries are counted apart and
 * their accuracy is asserted against a documented floor; every other field
 * must be exact.
 *
 * Then a few generated pages of one owner are ingested end to end into a
 * fresh SQLite database: the owner decision is stored, a paper shown on
 * several pages is one work, and truncated lists are source facts
 * (works.authors_truncated), never authors. */
#include <math.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "graph/util.h"
#include "indexer/ingest.h"
#include "indexer/record.h"
#include "tests/check.h"
#include "tests/support/graphgen.h"
#include "tests/support/pagegen.h"
#include "tests/unit/mdsink.h"

/* ---- what the parser emits: works through the metadata tests' copying
 * sink (tests/unit/mdsink.h), the profile here ---- */
typedef struct got {
    md_sink md; /* works: md.works[0 .. md.n_works) */
    int n_profiles;
    char *owner, *affiliation, *category;
    int method;
    struct {
        char *name;
        double value;
    } claims[32];
    size_t n_claims;
} got;

static char *gdup(got *g, const char *s)
{
    return s ? pgr_arena_strdup(&g->md.a, s) : NULL;
}

static int on_profile(void *ctx, const ix_profile *p, pgr_err *err)
{
    got *g = ctx;
    (void)err;
    g->n_profiles++;
    g->owner = gdup(g, p->owner_name);
    g->affiliation = gdup(g, p->affiliation);
    g->category = gdup(g, p->category);
    g->method = (int)p->method;
    for (size_t i = 0; i < p->n_claims && g->n_claims < 32; i++, g->n_claims++) {
        g->claims[g->n_claims].name = gdup(g, p->claims[i].name);
        g->claims[g->n_claims].value = p->claims[i].value;
    }
    return 0;
}

static double claim_value(const got *g, const char *name)
{
    for (size_t i = 0; i < g->n_claims; i++)
        if (!strcmp(g->claims[i].name, name))
            return g->claims[i].value;
    return NAN;
}

/* ---- field accounting ---- */
enum {
    F_DETECT, F_PARSE, F_COUNT, F_OWNER, F_METHOD, F_HEADER, F_CLAIMS, F_TITLE, F_ABSTRACT,
    F_AUTHORS, F_TRUNCATED, F_AFFIL, F_DATE, F_YEAR, F_CATEGORY, F_CODE, F_SCORE, F_ARXIV,
    F_CITES, F_RANK, F_TYPE, F_VENUE, F_NFIELDS
};
static const char *const field_name[F_NFIELDS] = {
    "detect", "parse",  "entries",  "owner",     "method", "header", "claims", "title",
    "abstract", "authors", "truncated", "affiliation", "date", "year", "category", "code",
    "score",  "arxiv",  "cites",    "rank",      "type",   "venue"};

typedef struct tally {
    long total[F_NFIELDS], wrong[F_NFIELDS];
    long pages, entries;
    /* undecidable by construction: counted apart (see the top of this file) */
    long amb_total, amb_wrong;         /* undecidable author lines / title splits */
    long owner_amb_total, owner_amb_wrong; /* unnamed pages whose lists do not single out the owner */
    long printed;                      /* mismatches printed so far */
} tally;

static tally T[PG_NFAMILIES];

static void note(tally *t, int field, int ok, uint64_t seed, int family, int entry,
                 const char *fmt, ...) __attribute__((format(printf, 7, 8)));
static void note(tally *t, int field, int ok, uint64_t seed, int family, int entry,
                 const char *fmt, ...)
{
    t->total[field]++;
    if (ok)
        return;
    t->wrong[field]++;
    if (t->printed++ < 12 || getenv("PAGEGEN_VERBOSE")) {
        va_list ap;
        fprintf(stderr, "    seed %llu %s entry %d %s: ", (unsigned long long)seed,
                pg_family_format(family), entry, field_name[field]);
        va_start(ap, fmt);
        vfprintf(stderr, fmt, ap);
        va_end(ap);
        fputc('\n', stderr);
    }
}

static int str_eq(const char *a, const char *b)
{
    return (a ? a : "")[0] == 0 ? (b ? b : "")[0] == 0 : b && !strcmp(a, b);
}

/* Name shapes, counted from the generator's own names (not with the
 * parser's functions): plain words are capitalised words, not initials
 * ("J.", "J"), lowercase particles or suffixes. */
static int is_suffix(const char *t, size_t n)
{
    static const char *const sfx[] = {"Jr.", "Sr.", "II", "III", "IV"};
    for (size_t i = 0; i < sizeof sfx / sizeof sfx[0]; i++)
        if (strlen(sfx[i]) == n && !memcmp(t, sfx[i], n))
            return 1;
    return 0;
}

static int is_initial(const char *t, size_t n)
{
    size_t c = 1; /* one letter, maybe two bytes, maybe a dot */
    while (c < n && ((unsigned char)t[c] & 0xC0) == 0x80)
        c++;
    return c == n || (c + 1 == n && t[c] == '.');
}

static int plain_words(const char *name, int *leading_initial)
{
    int plain = 0, first = 1;
    *leading_initial = 0;
    for (const char *t = name; *t;) {
        size_t n = strcspn(t, " ");
        if (first)
            *leading_initial = is_initial(t, n);
        if (!(t[0] >= 'a' && t[0] <= 'z') && !is_initial(t, n) && !is_suffix(t, n))
            plain++;
        first = 0;
        t += n;
        while (*t == ' ')
            t++;
    }
    return plain;
}

/* The arXiv profile prints authors separated by single spaces. A line is
 * decidable from its characters when every name is a given name and a family
 * name (any middle initials, particles or suffix between or after): names of
 * three or more plain words ("Juan Carlos Niebles") and names that start with
 * initials ("N. Haddad", which could as well be "N. Haddad Shwai") can trade
 * words with their neighbours, and the parser falls back on a prior of name
 * shapes (indexer/seed_arxivprofile.c). */
static int arxiv_line_ambiguous(const pg_entry *e)
{
    for (int a = 0; a < e->n_printed; a++) {
        int lead, plain = plain_words(e->p->authors[a], &lead);
        if (plain >= 3 || lead)
            return 1;
    }
    return 0;
}

/* The compact list glues the title to the authors. When the title ends in a
 * capital letter and the first author's given name is all capitals ("MS
 * MARCO" + "TJ Nguyen" = "MS MARCOTJ Nguyen"), no character says where the
 * acronym ends (MARCO|TJ, MARC|OTJ, ...). */
static int list_split_ambiguous(const pg_entry *e)
{
    const char *t = e->p->title, *a = e->p->authors[0];
    size_t tl = strlen(t), n = strcspn(a, " ");
    int caps = n >= 2;
    unsigned char last;
    for (size_t i = 0; i < n; i++)
        caps &= a[i] >= 'A' && a[i] <= 'Z';
    while (tl > 0 && ((unsigned char)t[tl - 1] & 0xC0) == 0x80)
        tl--; /* start of the last character */
    last = tl ? (unsigned char)t[tl - 1] : 0;
    return caps && ((last >= 'A' && last <= 'Z') || last >= 0xC0);
}

/* How many entries print a name, and with how many it is consistent
 * (printed, or possibly hidden by a truncated list). */
static void name_counts(const pg_page *pg, const char *nm, long *cons, long *vis)
{
    *cons = *vis = 0;
    for (int j = 0; j < pg->n; j++) {
        int v = 0;
        for (int b = 0; b < pg->e[j].n_printed; b++)
            v |= !strcmp(pg->e[j].p->authors[b], nm);
        *vis += v;
        *cons += v || pg->e[j].truncated[0];
    }
}

/* The documented rule for a page without a name: the candidate consistent
 * with most entries, then printed on most. Returns 1 when the owner alone
 * leads; 0 when another name ties with it or leads (the printed lists cannot
 * tell them apart), with the leaders' counts in *bc, *bv. */
static int owner_decidable(const pg_page *pg, long *bc, long *bv)
{
    long oc, ov;
    int alone = 1;
    name_counts(pg, pg->owner, &oc, &ov);
    *bc = oc;
    *bv = ov;
    for (int i = 0; i < pg->n; i++)
        for (int a = 0; a < pg->e[i].n_printed; a++) {
            const char *nm = pg->e[i].p->authors[a];
            long c, v;
            if (!strcmp(nm, pg->owner))
                continue;
            name_counts(pg, nm, &c, &v);
            if (c > oc || (c == oc && v >= ov))
                alone = 0;
            if (c > *bc || (c == *bc && v > *bv)) {
                *bc = c;
                *bv = v;
            }
        }
    return alone;
}

static int parse_page(const pg_page *pg, got *g, pgr_err *err, const char **fmt)
{
    const ix_format *f = ix_format_detect(pg->text, pg->len);
    ix_input in = {0};
    ix_sink sink;
    memset(g, 0, sizeof *g);
    md_init(&g->md, &sink);
    sink.ctx = g; /* got starts with its md_sink */
    sink.profile = on_profile;
    memset(err, 0, sizeof *err);
    *fmt = f ? f->name : NULL;
    if (!f)
        return pgr_errf(err, PGR_EINVAL, "no format detected");
    in.path = "generated";
    in.data = pg->text;
    in.len = pg->len;
    snprintf(in.capture_date, sizeof in.capture_date, "%s", pg->capture);
    return f->parse(&in, &sink, err);
}

static long wrong_sum(const tally *t)
{
    long n = 0;
    for (int k = 0; k < F_NFIELDS; k++)
        n += t->wrong[k];
    return n;
}

/* PAGEGEN_DUMP=DIR: a page with a wrong field is written there, to look at
 * and to feed the fuzz corpora (tests/fuzz/corpus/seed_*). */
static void dump_if_wrong(const pg_page *pg, uint64_t seed, long wrong_before)
{
    const char *dir = getenv("PAGEGEN_DUMP");
    char path[512];
    FILE *f;
    if (!dir || wrong_sum(&T[pg->family]) == wrong_before)
        return;
    snprintf(path, sizeof path, "%s/pagegen-%llu-%s.txt", dir, (unsigned long long)seed,
             pg_family_format(pg->family));
    if ((f = fopen(path, "w")) != NULL) {
        fwrite(pg->text, 1, pg->len, f);
        fclose(f);
    }
}

static void check_page(const pg_page *pg, uint64_t seed)
{
    int fam = pg->family;
    tally *t = &T[fam];
    got g;
    pgr_err err;
    const char *fmt;
    int rc = parse_page(pg, &g, &err, &fmt);
    long wrong_before = wrong_sum(t);
    t->pages++;
    note(t, F_DETECT, fmt && !strcmp(fmt, pg_family_format(fam)), seed, fam, 0, "detected %s",
         fmt ? fmt : "(none)");
    note(t, F_PARSE, rc == 0, seed, fam, 0, "%s", err.msg);
    if (rc != 0) {
        dump_if_wrong(pg, seed, wrong_before);
        md_free(&g.md);
        return;
    }
    note(t, F_COUNT, g.md.total_works == (size_t)pg->n, seed, fam, 0,
         "%zu entries, expected %d", g.md.total_works, pg->n);
    {
        long bc = 0, bv = 0;
        if (pg->header_owner || owner_decidable(pg, &bc, &bv)) {
            note(t, F_OWNER, str_eq(g.owner, pg->owner), seed, fam, 0,
                 "\"%s\", expected \"%s\"", g.owner ? g.owner : "(null)", pg->owner);
        } else {
            /* a tie the lists cannot break: the parser must still pick one
             * of the leaders by the rule */
            long c = -1, v = -1;
            if (g.owner)
                name_counts(pg, g.owner, &c, &v);
            t->owner_amb_total++;
            t->owner_amb_wrong += !str_eq(g.owner, pg->owner);
            note(t, F_OWNER, c == bc && v == bv, seed, fam, 0,
                 "\"%s\" (consistent with %ld, printed on %ld) is not a leader (%ld, %ld)",
                 g.owner ? g.owner : "(null)", c, v, bc, bv);
        }
    }
    note(t, F_METHOD, g.method == (pg->header_owner ? IX_OWNER_HEADER : IX_OWNER_INFERRED), seed,
         fam, 0, "method %d", g.method);
    note(t, F_HEADER,
         str_eq(g.affiliation, pg->affiliation) && str_eq(g.category, pg->category), seed, fam,
         0, "affiliation \"%s\" category \"%s\", expected \"%s\" \"%s\"",
         g.affiliation ? g.affiliation : "", g.category ? g.category : "", pg->affiliation,
         pg->category);
    {
        static const struct {
            const char *name;
            size_t off;
        } cl[] = {{"h_index", offsetof(pg_page, h_index)},
                  {"citations", offsetof(pg_page, citations)},
                  {"papers", offsetof(pg_page, papers)},
                  {"trust", offsetof(pg_page, trust)},
                  {"verification_level", offsetof(pg_page, level)},
                  {"claimed", offsetof(pg_page, claimed)},
                  {"works", offsetof(pg_page, works)},
                  {"followers", offsetof(pg_page, followers)},
                  {"topics", offsetof(pg_page, topics)},
                  {"close_collaborators", offsetof(pg_page, collaborators)},
                  {"novelty_pct", offsetof(pg_page, novelty)},
                  {"ai_score", offsetof(pg_page, ai_score)}};
        for (size_t k = 0; k < sizeof cl / sizeof cl[0]; k++) {
            long want = *(const long *)((const char *)pg + cl[k].off);
            double v = claim_value(&g, cl[k].name);
            note(t, F_CLAIMS, want < 0 ? isnan(v) : v == (double)want, seed, fam, 0,
                 "%s = %g, expected %ld", cl[k].name, v, want);
        }
    }
    for (size_t i = 0; i < g.md.n_works && i < (size_t)pg->n; i++) {
        const pg_entry *e = &pg->e[i];
        const pg_paper *p = e->p;
        const ix_work *w = &g.md.works[i];
        const char *topic = w->n_topics ? w->topics[0].code : NULL;
        const char *aff = w->n_authors ? w->authors[0].affiliation : NULL;
        int ent = (int)i + 1, authors_ok = w->n_authors == (size_t)e->n_printed, amb = 0;
        char date[16];
        t->entries++;
        if (!(fam == PG_METRICSLIST && list_split_ambiguous(e)))
            note(t, F_TITLE, str_eq(w->title, p->title), seed, fam, ent,
                 "\"%s\", expected \"%s\"", w->title, p->title);
        note(t, F_ABSTRACT, str_eq(w->abstract, p->abstract), seed, fam, ent, "%.40s...",
             w->abstract ? w->abstract : "(none)");
        for (size_t a = 0; authors_ok && a < w->n_authors; a++)
            authors_ok = !strcmp(w->authors[a].raw_name, p->authors[a]);
        if (fam == PG_ARXIVPROFILE)
            amb = arxiv_line_ambiguous(e);
        if (fam == PG_METRICSLIST)
            amb = list_split_ambiguous(e);
        if (amb) {
            t->amb_total++;
            t->amb_wrong += !authors_ok || !str_eq(w->title, p->title);
            if (getenv("PAGEGEN_AMBIGUOUS") && (!authors_ok || !str_eq(w->title, p->title))) {
                fprintf(stderr, "    undecidable seed %llu %s entry %d:", (unsigned long long)seed,
                        pg_family_format(fam), ent);
                for (size_t a = 0; a < w->n_authors; a++)
                    fprintf(stderr, "%s%s", a ? "; " : " ", w->authors[a].raw_name);
                fprintf(stderr, " | expected");
                for (int a = 0; a < e->n_printed; a++)
                    fprintf(stderr, "%s%s", a ? "; " : " ", p->authors[a]);
                fputc('\n', stderr);
            }
        } else if (fam != PG_RESEARCHGRAPH) {
            pgr_sb want = {0}, have = {0};
            for (int a = 0; a < e->n_printed; a++)
                pgr_sb_printf(&want, "%s%s", a ? "; " : "", p->authors[a]);
            for (size_t a = 0; a < w->n_authors; a++)
                pgr_sb_printf(&have, "%s%s", a ? "; " : "", w->authors[a].raw_name);
            note(t, F_AUTHORS, authors_ok, seed, fam, ent, "\"%s\", expected \"%s\"",
                 have.data ? have.data : "", want.data ? want.data : "");
            pgr_sb_free(&want);
            pgr_sb_free(&have);
        } else {
            note(t, F_AUTHORS, w->n_authors == 0, seed, fam, ent, "%zu authors on a page "
                 "that prints none", w->n_authors);
        }
        note(t, F_TRUNCATED, str_eq(w->authors_truncated, e->truncated), seed, fam, ent,
             "\"%s\", expected \"%s\"", w->authors_truncated ? w->authors_truncated : "",
             e->truncated);
        if (fam == PG_METRICSCARD || fam == PG_METRICSLIST)
            note(t, F_AFFIL, str_eq(aff, p->affiliation), seed, fam, ent,
                 "\"%s\", expected \"%s\"", aff ? aff : "", p->affiliation);
        snprintf(date, sizeof date, "%04d-%02d-%02d", p->y, p->m, p->d);
        if (fam == PG_RESEARCHGRAPH) {
            note(t, F_DATE, w->date == NULL, seed, fam, ent, "date %s on a year-only page",
                 w->date);
            note(t, F_TYPE, str_eq(w->type, p->kind), seed, fam, ent, "\"%s\", expected \"%s\"",
                 w->type ? w->type : "", p->kind);
            note(t, F_VENUE, str_eq(w->venue, p->venue), seed, fam, ent,
                 "\"%s\", expected \"%s\"", w->venue ? w->venue : "", p->venue);
        } else {
            note(t, F_DATE, str_eq(w->date, date), seed, fam, ent, "%s, expected %s (%s)",
                 w->date ? w->date : "(none)", date,
                 e->year_printed ? "year printed" : "no year printed");
        }
        note(t, F_YEAR, w->year == p->y, seed, fam, ent, "%d, expected %d", w->year, p->y);
        if (fam == PG_METRICSCARD || fam == PG_METRICSLIST) {
            note(t, F_CATEGORY, str_eq(topic, p->cat), seed, fam, ent, "\"%s\", expected %s",
                 topic ? topic : "", p->cat);
            note(t, F_CODE, w->has_code == p->has_code, seed, fam, ent, "%d, expected %d",
                 w->has_code, p->has_code);
            note(t, F_SCORE,
                 isnan(e->score) ? isnan(w->score) : fabs(w->score - e->score) < 1e-9, seed,
                 fam, ent, "%g, expected %g", w->score, e->score);
            note(t, F_RANK, w->position == ent, seed, fam, ent, "%ld", w->position);
        }
        if (fam == PG_ARXIVPROFILE) {
            note(t, F_ARXIV, str_eq(w->arxiv_id, p->arxiv) && w->arxiv_version == p->version,
                 seed, fam, ent, "%sv%d, expected %sv%d", w->arxiv_id ? w->arxiv_id : "",
                 w->arxiv_version, p->arxiv, p->version);
            note(t, F_CITES, w->cited_by_count == p->cites, seed, fam, ent, "%ld, expected %ld",
                 w->cited_by_count, p->cites);
            note(t, F_RANK, w->position == e->rank, seed, fam, ent, "%ld, expected %ld",
                 w->position, e->rank);
        }
    }
    dump_if_wrong(pg, seed, wrong_before);
    md_free(&g.md);
}

/* Pages per family: enough for every name shape and title ending to occur
 * many times and the rare undecidable splits to show up (about 1 list entry
 * in 300); under a second in the release build, about 4 s under the
 * sanitizers. */
#define N_WORLDS 250

static void report(void)
{
    for (int f = 0; f < PG_NFAMILIES; f++) {
        tally *t = &T[f];
        long all = 0, bad = 0;
        for (int k = 0; k < F_NFIELDS; k++) {
            all += t->total[k];
            bad += t->wrong[k];
        }
        fprintf(stderr, "    %-13s %ld pages, %ld entries, %ld field checks, %.4f%% exact",
                pg_family_format(f), t->pages, t->entries, all,
                all ? 100.0 * (double)(all - bad) / (double)all : 100.0);
        for (int k = 0; k < F_NFIELDS; k++)
            if (t->wrong[k])
                fprintf(stderr, "; %s %ld/%ld wrong", field_name[k], t->wrong[k], t->total[k]);
        if (t->amb_total)
            fprintf(stderr, "; undecidable splits %ld/%ld right", t->amb_total - t->amb_wrong,
                    t->amb_total);
        if (t->owner_amb_total)
            fprintf(stderr, "; owner not singled out by the lists on %ld pages (%ld picked "
                    "anyway)", t->owner_amb_total, t->owner_amb_total - t->owner_amb_wrong);
        fputc('\n', stderr);
    }
}

static void test_round_trip(void)
{
    memset(T, 0, sizeof T);
    for (uint64_t s = 1; s <= N_WORLDS; s++) {
        pg_world w;
        CHECK(pg_world_make(&w, s, 60 + (int)(s % 61)) == 0);
        for (int f = 0; f < PG_NFAMILIES; f++) {
            pg_page pg;
            /* 1..60 entries, half of the pages short */
            int n = (s + (uint64_t)f) % 2 ? 1 + (int)((s * 7 + (uint64_t)f * 13) % 12)
                                          : 1 + (int)((s * 31 + (uint64_t)f * 17) % 60);
            CHECK(pg_page_make(&pg, &w, f, s, n) == 0);
            check_page(&pg, s);
            pg_page_free(&pg);
        }
        pg_world_free(&w);
    }
    report();
    for (int f = 0; f < PG_NFAMILIES; f++)
        for (int k = 0; k < F_NFIELDS; k++)
            CHECK_MSG(T[f].wrong[k] == 0, "%s: %s wrong on %ld of %ld", pg_family_format(f),
                      field_name[k], T[f].wrong[k], T[f].total[k]);
    /* The undecidable cases occur, and the parser's prior gets at least the
     * floors of docs/profile-pages.md right on them. */
    for (int f = 0; f < PG_NFAMILIES; f++) {
        const tally *t = &T[f];
        double floor = f == PG_ARXIVPROFILE ? 0.55 : f == PG_METRICSLIST ? 0.50 : 1.0;
        CHECK_MSG(f == PG_RESEARCHGRAPH || f == PG_METRICSCARD || t->amb_total > 0,
                  "%s: no undecidable split generated", pg_family_format(f));
        CHECK_MSG((double)(t->amb_total - t->amb_wrong) >= floor * (double)t->amb_total,
                  "%s: %ld of %ld undecidable splits right, under the %.0f%% floor",
                  pg_family_format(f), t->amb_total - t->amb_wrong, t->amb_total, 100 * floor);
    }
}

/* ---- end to end: generated pages of one owner into a real SQLite graph ---- */

/* One number from the database (plain SQLite, not the store), with up to two
 * text parameters; -1 on error. */
static long sql_long(const char *path, const char *sql, const char *p1, const char *p2)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    long n = -1;
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
        sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK) {
        if (p1)
            sqlite3_bind_text(st, 1, p1, -1, SQLITE_STATIC);
        if (p2)
            sqlite3_bind_text(st, 2, p2, -1, SQLITE_STATIC);
        int rc = sqlite3_step(st);
        if (rc == SQLITE_ROW)
            n = sqlite3_column_type(st, 0) == SQLITE_NULL ? -2 : (long)sqlite3_column_int64(st, 0);
        else if (rc == SQLITE_DONE)
            n = -3; /* no row */
    }
    sqlite3_finalize(st);
    sqlite3_close(db);
    return n;
}

/* A page of the family whose owner the printed lists single out (the
 * inferred families retry seeds until they do: the tie case is tested
 * above). */
static int decidable_page(pg_page *pg, const pg_world *w, int family, uint64_t seed, int n)
{
    for (uint64_t k = 0; k < 50; k++) {
        long bc, bv;
        if (pg_page_make(pg, w, family, seed * 100 + k, n) != 0)
            return -1;
        if (pg->header_owner || owner_decidable(pg, &bc, &bv))
            return 0;
        pg_page_free(pg);
    }
    return -1;
}

#define E2E_PAGES 5

static void test_ingest_end_to_end(void)
{
    static const int fam[E2E_PAGES] = {PG_RESEARCHGRAPH, PG_ARXIVPROFILE, PG_METRICSCARD,
                                       PG_METRICSLIST, PG_METRICSLIST};
    static const int n_ent[E2E_PAGES] = {14, 12, 18, 20, 9};
    const char *tmp = getenv("PEERGRAPH_TEST_TMP");
    long n_papers = 0, n_undecidable = 0;
    for (uint64_t ws = 3; ws <= 9; ws += 3) {
        pg_world w;
        pg_page pages[E2E_PAGES];
        char paths[E2E_PAGES][600];
        const char *why = NULL;
        char *url = gg_fresh_db(GG_SQLITE, "pagegen", &why);
        if (!url)
            SKIP("%s", why);
        const char *db = url + 7;
        CHECK(pg_world_make(&w, ws, 40) == 0);
        for (int k = 0; k < E2E_PAGES; k++) {
            CHECK(decidable_page(&pages[k], &w, fam[k], ws * 10 + (uint64_t)k, n_ent[k]) == 0);
            snprintf(paths[k], sizeof paths[k], "%s/pagegen-%d-%llu-%d.txt",
                     tmp && *tmp ? tmp : "/tmp", (int)getpid(), (unsigned long long)ws, k);
            FILE *f = fopen(paths[k], "w");
            CHECK(f != NULL);
            CHECK(fwrite(pages[k].text, 1, pages[k].len, f) == pages[k].len);
            CHECK(fclose(f) == 0);
            /* each page with its own capture date, as cron ingests them */
            ix_ingest_opts o = {.db = url, .as_of = pages[k].capture, .quiet = 1,
                                .no_summary = 1, .no_keywords = 1,
                                .search_index = PGR_SEARCH_SKIP};
            char *one[] = {paths[k]};
            CHECK_MSG(ix_ingest_paths(&o, one, 1, NULL, NULL) == 0, "world %llu page %d (%s)",
                      (unsigned long long)ws, k, pg_family_format(fam[k]));
        }
        /* the owner: one person, owner of every page, decided as the page allows */
        long owner_id = sql_long(db,
                                 "SELECT DISTINCT COALESCE(a.merged_into, a.id) FROM authorships s "
                                 "JOIN authors a ON a.id = s.author_id WHERE s.raw_name = ?1",
                                 w.owner, NULL);
        CHECK_MSG(owner_id > 0, "owner %s not found (%ld)", w.owner, owner_id);
        for (int k = 0; k < E2E_PAGES; k++) {
            char like[650];
            snprintf(like, sizeof like, "%%%s", strrchr(paths[k], '/'));
            CHECK_INT(sql_long(db,
                               "SELECT COALESCE(a.merged_into, a.id) FROM ownership o JOIN "
                               "source_docs d ON d.id = o.source_id JOIN authors a ON a.id = "
                               "o.author_id WHERE d.uri LIKE ?1",
                               like, NULL),
                      owner_id);
            CHECK_INT(sql_long(db,
                               "SELECT COUNT(*) FROM ownership o JOIN source_docs d ON d.id = "
                               "o.source_id WHERE d.uri LIKE ?1 AND o.method = ?2 AND "
                               "o.confidence > 0 AND o.evidence <> ''",
                               like, pages[k].header_owner ? "header" : "inferred"),
                      1);
            /* the page's figures are its claims, kept with the capture date */
            {
                const pg_page *pg = &pages[k];
                const long fig[] = {pg->h_index, pg->citations, pg->papers, pg->trust,
                                    pg->level, pg->claimed, pg->works, pg->followers,
                                    pg->topics, pg->collaborators, pg->novelty, pg->ai_score};
                long want = 0;
                for (size_t c = 0; c < sizeof fig / sizeof fig[0]; c++)
                    want += fig[c] >= 0;
                CHECK_INT(sql_long(db,
                                   "SELECT COUNT(*) FROM claims c JOIN source_docs d ON d.id = "
                                   "c.source_id WHERE d.uri LIKE ?1 AND c.capture_date = ?2 "
                                   "AND c.author_id = (SELECT author_id FROM ownership WHERE "
                                   "source_id = d.id)",
                                   like, pg->capture),
                          want);
            }
        }
        /* papers: one work each, however many pages show it; truncation is a
         * fact of the work, the printed names its authors */
        {
            long distinct = 0;
            for (int i = 0; i < w.n_papers; i++) {
                const pg_paper *p = &w.papers[i];
                int shown = 0, max_printed = 0, owner_printed = 0, undecidable = 0;
                const char *cut = NULL;
                for (int k = 0; k < E2E_PAGES; k++)
                    for (int e = 0; e < pages[k].n; e++) {
                        const pg_entry *en = &pages[k].e[e];
                        if (en->p != p)
                            continue;
                        shown = 1;
                        if (en->n_printed > max_printed)
                            max_printed = en->n_printed;
                        owner_printed |= p->owner_pos < en->n_printed;
                        if (en->truncated[0])
                            cut = en->truncated;
                        undecidable |= fam[k] == PG_ARXIVPROFILE && arxiv_line_ambiguous(en);
                    }
                if (!shown) {
                    CHECK_INT(sql_long(db, "SELECT COUNT(*) FROM works WHERE title = ?1",
                                       p->title, NULL),
                              0);
                    continue;
                }
                distinct++;
                n_papers++;
                CHECK_MSG(sql_long(db, "SELECT COUNT(*) FROM works WHERE title = ?1", p->title,
                                   NULL) == 1,
                          "world %llu: \"%s\" is not one work", (unsigned long long)ws,
                          p->title);
                CHECK_MSG(sql_long(db,
                                   "SELECT COUNT(*) FROM works WHERE title = ?1 AND "
                                   "authors_truncated IS NOT NULL",
                                   p->title, NULL) == (cut != NULL),
                          "world %llu: \"%s\" truncated: expected %s", (unsigned long long)ws,
                          p->title, cut ? cut : "none");
                /* an undecidable arXiv line may be read otherwise than the
                 * same list on a metrics page: both readings are kept (the
                 * builder does not reconcile author lists across sources) */
                if (undecidable) {
                    n_undecidable++;
                    continue;
                }
                /* the printed names (a prefix of the list on every page), plus
                 * the owner where no page prints it */
                CHECK_MSG(sql_long(db,
                                   "SELECT COUNT(*) FROM authorships s JOIN works w ON w.id = "
                                   "s.work_id WHERE w.title = ?1",
                                   p->title, NULL) == max_printed + !owner_printed,
                          "world %llu: \"%s\": %ld authorships, expected %d",
                          (unsigned long long)ws, p->title,
                          sql_long(db,
                                   "SELECT COUNT(*) FROM authorships s JOIN works w ON w.id = "
                                   "s.work_id WHERE w.title = ?1",
                                   p->title, NULL),
                          max_printed + !owner_printed);
                for (int a = 0; a < max_printed; a++) {
                    /* one person per printed name; similar names stay apart */
                    long id = sql_long(db,
                                       "SELECT COUNT(DISTINCT COALESCE(a.merged_into, a.id)) "
                                       "FROM authorships s JOIN authors a ON a.id = "
                                       "s.author_id WHERE s.raw_name = ?1",
                                       p->authors[a], NULL);
                    CHECK_MSG(id == 1, "world %llu: \"%s\" is %ld people",
                              (unsigned long long)ws, p->authors[a], id);
                    if (strcmp(p->authors[a], w.owner))
                        CHECK_INT(sql_long(db,
                                           "SELECT COUNT(*) FROM authorships s JOIN authors a "
                                           "ON a.id = s.author_id WHERE s.raw_name = ?1 AND "
                                           "COALESCE(a.merged_into, a.id) = "
                                           "(SELECT COALESCE(b.merged_into, b.id) FROM "
                                           "authorships t JOIN authors b ON b.id = t.author_id "
                                           "WHERE t.raw_name = ?2 LIMIT 1)",
                                           p->authors[a], w.owner),
                                  0);
                }
            }
            CHECK_INT(sql_long(db, "SELECT COUNT(*) FROM works", NULL, NULL), distinct);
        }
        /* cut markers are never names */
        CHECK_INT(sql_long(db,
                           "SELECT COUNT(*) FROM author_names WHERE name LIKE '%et al%' OR "
                           "name LIKE '+%' OR name GLOB '*[0-9]*'",
                           NULL, NULL),
                  0);
        for (int k = 0; k < E2E_PAGES; k++) {
            if (!getenv("PAGEGEN_KEEP")) /* the pages and the database, to look at */
                unlink(paths[k]);
            pg_page_free(&pages[k]);
        }
        pg_world_free(&w);
        if (!getenv("PAGEGEN_KEEP"))
            unlink(db);
        free(url);
    }
    fprintf(stderr, "    end to end: 3 owners, %d pages each, %ld papers (%ld with an "
                    "undecidable arXiv author line: authorships not compared)\n",
            E2E_PAGES, n_papers, n_undecidable);
}

int main(void)
{
    RUN(test_round_trip);
    RUN(test_ingest_end_to_end);
    return check_summary("test_seed_families");
}
