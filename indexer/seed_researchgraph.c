/* The "research graph" profile page family (format "researchgraph"):
 *
 *   Researcher profile
 *   Zhengxuan Wu                                   owner
 *   Zhengxuan Wu contributes to ...                 bio (ignored)
 *   ResearcherAffiliation not importedOpen to collaborate
 *   Trust snapshot / Quick read
 *   Trust 21 - EmergingVerification L1Unclaimed author
 *   7works / 0followers / 6topics / 4close collaborators
 *   ... navigation text ...
 *   Published work
 *   7 published item(s)
 *   preprint2026arXiv                               kind, year, venue
 *   Title
 *   Abstract                                        optional
 *
 * Entries carry no authors: the owner is their (hidden) author. */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "indexer/seed_common.h"

/* "preprint2026arXiv": a lowercase kind, a year, then the venue. */
static int parse_entry_head(const char *s, size_t len, const char **kind, size_t *kl, int *year,
                            const char **venue, size_t *vl)
{
    size_t i = 0;
    int y;
    if (len < 7 || len > 160)
        return -1;
    while (i < len && (islower((unsigned char)s[i]) || s[i] == '-' || s[i] == '_'))
        i++;
    if (i < 3 || i > 40 || i + 4 > len)
        return -1;
    for (size_t j = i; j < i + 4; j++)
        if (!isdigit((unsigned char)s[j]))
            return -1;
    y = (s[i] - '0') * 1000 + (s[i + 1] - '0') * 100 + (s[i + 2] - '0') * 10 + (s[i + 3] - '0');
    if (y < 1800 || y > 2200)
        return -1;
    /* The venue follows the year with no separator, and venue names may
     * start with digits ("proceedings-article20212021 IEEE/CVF International
     * Conference ..."): the year is the first four digits. A venue must hold
     * a letter; a blank right after the year is not this layout. */
    if (i + 4 < len) {
        int letter = 0;
        if (s[i + 4] == ' ')
            return -1;
        for (size_t j = i + 4; j < len && !letter; j++)
            letter = isalpha((unsigned char)s[j]) || ((unsigned char)s[j] & 0x80);
        if (!letter)
            return -1;
    }
    *kind = s;
    *kl = i;
    *year = y;
    *venue = s + i + 4;
    *vl = len - i - 4;
    return 0;
}

static int is_entry_head(const sd_line *l)
{
    const char *k, *v;
    size_t kl, vl;
    int y;
    return parse_entry_head(l->s, l->len, &k, &kl, &y, &v, &vl) == 0;
}

/* "Trust 21 - EmergingVerification L1Unclaimed author" */
static int parse_trust(pgr_arena *a, const sd_line *l, sd_claims *c)
{
    const char *s = l->s, *ver, *p;
    size_t n = l->len;
    long trust;
    size_t i = 6;
    if (!sd_starts(s, n, "Trust "))
        return 0;
    while (i < n && isdigit((unsigned char)s[i]))
        i++;
    if (i == 6)
        return 0; /* "Trust snapshot": a heading, not the figure */
    if (sd_parse_count(s + 6, i - 6, &trust) != 0)
        return -1;
    ver = memmem(s, n, "Verification ", 13);
    if (!ver)
        ver = s + n;
    sd_claim(c, "trust", pgr_arena_strndup(a, s, (size_t)(ver - s)), (double)trust);
    if (ver < s + n) {
        const char *lv = ver + 13;
        size_t j = 0, rest = (size_t)(s + n - lv);
        long level = -1;
        while (j < rest && !isspace((unsigned char)lv[j]) &&
               !(j > 0 && isupper((unsigned char)lv[j]) && j + 1 < rest &&
                 islower((unsigned char)lv[j + 1])))
            j++;
        if (j >= 2 && (lv[0] == 'L' || lv[0] == 'l'))
            sd_parse_count(lv + 1, j - 1, &level);
        sd_claim(c, "verification_level", pgr_arena_strndup(a, lv, j),
                 level >= 0 ? (double)level : NAN);
        p = lv + j;
        while (p < s + n && *p == ' ')
            p++;
        if (p < s + n) {
            size_t pl = (size_t)(s + n - p);
            double v = NAN;
            if (sd_starts(p, pl, "Unclaimed"))
                v = 0;
            else if (sd_starts(p, pl, "Claimed"))
                v = 1;
            sd_claim(c, "claimed", pgr_arena_strndup(a, p, pl), v);
        }
    }
    return 1;
}

/* "7works", "0followers", "6topics", "4close collaborators" */
static int parse_count_claim(pgr_arena *a, const sd_line *l, sd_claims *c)
{
    static const struct {
        const char *suffix, *name;
    } k[] = {{"works", "works"},
             {"followers", "followers"},
             {"topics", "topics"},
             {"close collaborators", "close_collaborators"}};
    for (size_t i = 0; i < sizeof k / sizeof k[0]; i++) {
        size_t sl = strlen(k[i].suffix);
        long v;
        if (l->len > sl && sd_ends(l->s, l->len, k[i].suffix) &&
            sd_parse_count(l->s, l->len - sl, &v) == 0) {
            for (size_t j = 0; j < c->n; j++)
                if (!strcmp(c->items[j].name, k[i].name))
                    return 1; /* first occurrence (the quick read) wins */
            sd_claim(c, k[i].name, pgr_arena_strndup(a, l->s, l->len - sl), (double)v);
            return 1;
        }
    }
    return 0;
}

/* "ResearcherAffiliation not importedOpen to collaborate": role, affiliation,
 * availability glued together. Returns the affiliation or NULL. */
static const char *parse_role_line(pgr_arena *a, const sd_line *l, int *is_role)
{
    static const char *const roles[] = {"Independent researcher",
                                        "Researcher",
                                        "PhD student",
                                        "Student",
                                        "Professor",
                                        "Postdoc",
                                        "Engineer",
                                        "Scientist",
                                        NULL};
    static const char *const avail[] = {"Not open to collaborate", "Open to collaborate",
                                        "Open to collaboration", NULL};
    const char *s = l->s;
    size_t n = l->len;
    int role = 0, av = 0;
    *is_role = 0;
    for (const char *const *r = roles; *r; r++)
        if (sd_starts(s, n, *r)) {
            s += strlen(*r);
            n -= strlen(*r);
            role = 1;
            break;
        }
    for (const char *const *v = avail; *v; v++)
        if (sd_ends(s, n, *v)) {
            n -= strlen(*v);
            av = 1;
            break;
        }
    /* The page glues role, affiliation and availability: "ResearcherStanford
     * University" has no blank after the role ("Researcher profile" does). */
    /* An affiliation may start in lowercase ("imec", "eBay Research"): then
     * only the availability at the end tells the role line from prose
     * ("Researchers in ..."). */
    if (!role || n == 0 ||
        !(isupper((unsigned char)s[0]) || ((unsigned char)s[0] & 0x80) ||
          (av && islower((unsigned char)s[0]))))
        return NULL;
    if (!av && (n > 200 || s[n - 1] == '.'))
        return NULL; /* prose, not the role line */
    *is_role = 1;
    while (n && *s == ' ') {
        s++;
        n--;
    }
    while (n && s[n - 1] == ' ')
        n--;
    if (n == 0 || (n == 24 && !memcmp(s, "Affiliation not imported", 24)))
        return NULL;
    return pgr_arena_strndup(a, s, n);
}

int seed_researchgraph_parse(const ix_input *in, const ix_sink *sink, pgr_err *err)
{
    pgr_arena arena = {0};
    sd_page pg;
    sd_claims claims = {0};
    const char *owner = NULL, *affiliation = NULL;
    long stated = -1, stated_line = 0;
    size_t i, n_ent = 0;
    ix_work *works = NULL;
    sd_entry_view *views = NULL;
    int rc = -1, in_list = 0;

    if (sd_page_load(&pg, in, &arena, err) != 0)
        goto cleanup;
    i = sd_next_nonblank(&pg, 0);
    if (!sd_line_is(&pg.lines[i], "Researcher profile")) {
        pgr_errf(err, PGR_EINVAL, "line %ld: expected \"Researcher profile\"", pg.lines[i].no);
        goto cleanup;
    }
    i = sd_next_nonblank(&pg, i + 1);
    if (i >= pg.n_lines || sd_name_quality(pg.lines[i].s, pg.lines[i].len, 1) < 0) {
        pgr_errf(err, PGR_EINVAL,
                 "line %ld: expected the researcher's name after \"Researcher profile\"",
                 i < pg.n_lines ? pg.lines[i].no : pg.lines[pg.n_lines - 1].no);
        goto cleanup;
    }
    owner = pgr_arena_strndup(&arena, pg.lines[i].s, pg.lines[i].len);

    works = pgr_arena_calloc(&arena, pg.n_lines / 2 + 1, sizeof *works);
    views = pgr_arena_calloc(&arena, pg.n_lines / 2 + 1, sizeof *views);
    if (!owner || !works || !views) {
        sd_oom(err);
        goto cleanup;
    }
    for (i = sd_next_nonblank(&pg, i + 1); i < pg.n_lines; i = sd_next_nonblank(&pg, i + 1)) {
        const sd_line *l = &pg.lines[i];
        if (!in_list) {
            int r, is_role;
            const char *aff;
            if (sd_line_is(l, "Published work")) {
                in_list = 1;
                continue;
            }
            if ((r = parse_trust(&arena, l, &claims)) < 0) {
                pgr_errf(err, PGR_EINVAL, "line %ld: unreadable trust line", l->no);
                goto cleanup;
            }
            if (r || parse_count_claim(&arena, l, &claims))
                continue;
            aff = parse_role_line(&arena, l, &is_role);
            if (is_role)
                affiliation = aff;
            continue; /* navigation and prose */
        }
        if (stated < 0 && n_ent == 0 && sd_ends(l->s, l->len, " published item(s)")) {
            if (sd_parse_count(l->s, l->len - 18, &stated) != 0) {
                pgr_errf(err, PGR_EINVAL, "line %ld: unreadable item count", l->no);
                goto cleanup;
            }
            stated_line = l->no;
            continue;
        }
        if (stated >= 0 && (long)n_ent == stated)
            break; /* all announced items read: what follows is page furniture */
        {
            const char *kind, *venue;
            size_t kl, vl, t, nx;
            int year;
            ix_work *w = &works[n_ent];
            if (parse_entry_head(l->s, l->len, &kind, &kl, &year, &venue, &vl) != 0) {
                pgr_errf(
                    err, PGR_EINVAL,
                    "line %ld: expected an entry header like \"preprint2026arXiv\", got \"%.*s\"",
                    l->no, (int)(l->len > 60 ? 60 : l->len), l->s);
                goto cleanup;
            }
            t = sd_next_nonblank(&pg, i + 1);
            if (t >= pg.n_lines || is_entry_head(&pg.lines[t])) {
                pgr_errf(err, PGR_EINVAL, "line %ld: entry truncated: header without a title",
                         l->no);
                goto cleanup;
            }
            w->type = pgr_arena_strndup(&arena, kind, kl);
            w->venue = vl ? pgr_arena_strndup(&arena, venue, vl) : NULL;
            w->year = year;
            w->title = pgr_arena_strndup(&arena, pg.lines[t].s, pg.lines[t].len);
            w->has_code = -1;
            w->score = NAN;
            w->cited_by_count = -1;
            w->position = (long)n_ent + 1;
            w->line = l->no;
            nx = sd_next_nonblank(&pg, t + 1);
            if (nx < pg.n_lines && !is_entry_head(&pg.lines[nx])) {
                w->abstract = pgr_arena_strndup(&arena, pg.lines[nx].s, pg.lines[nx].len);
                if (!w->abstract) {
                    sd_oom(err);
                    goto cleanup;
                }
                t = nx;
            }
            if (!w->type || !w->title || (vl && !w->venue)) {
                sd_oom(err);
                goto cleanup;
            }
            n_ent++;
            i = t;
        }
    }
    if (!in_list) {
        pgr_errf(err, PGR_EINVAL, "line %ld: no \"Published work\" section (truncated page?)",
                 pg.lines[pg.n_lines - 1].no);
        goto cleanup;
    }
    if (stated >= 0 && (long)n_ent != stated) {
        pgr_errf(err, PGR_EINVAL, "line %ld: the page announces %ld items but %zu follow%s",
                 stated_line, stated, n_ent, (long)n_ent < stated ? " (truncated page?)" : "");
        goto cleanup;
    }
    for (size_t k = 0; k < n_ent; k++)
        views[k].truncated = 1; /* no author list at all: the owner is hidden */
    {
        sd_result r = {"researchgraph", owner, affiliation, NULL, &claims, works, views, n_ent};
        rc = sd_finish(&arena, in, &r, sink, err);
    }

cleanup:
    pgr_arena_free(&arena);
    return rc;
}

static int det_fn(const char *s, size_t n, void *ctx)
{
    int *score = ctx;
    if (n == 18 && !memcmp(s, "Researcher profile", 18))
        *score += 40;
    else if (n == 14 && !memcmp(s, "Trust snapshot", 14))
        *score += 20;
    else if (n == 14 && !memcmp(s, "Published work", 14))
        *score += 15;
    else if (sd_starts(s, n, "Trust ") && memmem(s, n, "Verification", 12))
        *score += 20;
    else if (sd_ends(s, n, " published item(s)"))
        *score += 5;
    return 0;
}

int seed_researchgraph_detect(const char *data, size_t len)
{
    int score = 0;
    sd_detect_lines(data, len, 200, det_fn, &score);
    return score > 95 ? 95 : score < 40 ? 0 : score;
}
