/* arXiv snapshot parser (indexer/arxiv_snapshot.c) and the benchmark
 * generator (indexer/gen_arxiv.c). Expected values are read off
 * tests/data/arxiv/snapshot_sample.jsonl. */
#include "indexer/gen_arxiv.h"
#include "tests/check.h"
#include "tests/unit/mdsink.h"

static const ix_format *snap(void)
{
    return ix_format_by_name("arxiv-snapshot");
}

static void test_sample_fields(void)
{
    md_sink s;
    pgr_err err;
    int rc = md_parse_file("arxiv-snapshot", "arxiv/snapshot_sample.jsonl", &s, &err);
    CHECK_MSG(rc == 0, "parse failed: %s", err.msg);
    CHECK_INT(s.n_works, 3);
    const ix_work *w = &s.works[0];
    CHECK_STR(w->arxiv_id, "0704.0001");
    CHECK_INT(w->arxiv_version, 2);
    CHECK_STR(
        w->title,
        "Calculation of prompt diphoton production cross sections at Tevatron and LHC energies");
    CHECK(!strncmp(w->abstract, "A fully differential calculation", 32));
    CHECK(w->abstract[strlen(w->abstract) - 1] == '.');  /* trailing newline trimmed */
    CHECK(strstr(w->abstract, "is\npresented") != NULL); /* inner text as written */
    CHECK_INT(w->n_authors, 4);
    CHECK_STR(w->authors[0].display_name, "C. Balázs");
    CHECK_STR(w->authors[0].raw_name, "C. Bal\\'azs"); /* printed spelling, LaTeX kept */
    CHECK_STR(w->authors[3].display_name, "C. -P. Yuan");
    CHECK_STR(w->authors[3].raw_name, "C.-P. Yuan");
    CHECK_STR(w->doi, "10.1103/physrevd.76.013009");
    CHECK_STR(w->date, "2007-04-02");
    CHECK_INT(w->year, 2007);
    CHECK_STR(w->journal_ref, "Phys.Rev.D76:013009,2007");
    CHECK_STR(w->comments, "37 pages, 15 figures; published version");
    CHECK_INT(w->n_topics, 1);
    CHECK_STR(w->topics[0].scheme, "arxiv");
    CHECK_STR(w->topics[0].code, "hep-ph");
    CHECK_STR(w->type, "preprint");
    CHECK_STR(w->venue, "arXiv");
    CHECK_INT(w->line, 1);
    CHECK_INT(w->cited_by_count, -1);

    w = &s.works[1];
    CHECK_STR(w->arxiv_id, "0704.0002");
    CHECK_STR(w->date, "2007-03-31");
    CHECK_STR(w->comments, "To appear in Graphs and Combinatorics"); /* wrap squashed */
    CHECK(strstr(w->abstract, "$(k,\\ell)$-pebble game") != NULL);
    CHECK_INT(w->n_authors, 2);
    CHECK_STR(w->authors[1].raw_name, "Louis Theran");
    CHECK(w->doi == NULL);
    CHECK_INT(w->n_topics, 2);
    CHECK_STR(w->topics[1].code, "cs.CG");
    CHECK_INT(w->line, 2);

    w = &s.works[2];
    CHECK_STR(w->arxiv_id, "hep-th/9901001");
    CHECK_INT(w->arxiv_version, 3);
    CHECK_STR(w->doi, "10.1088/1126-6708/1999/01/001");
    CHECK_STR(w->title, "Old-style identifier with $\\mathcal{N}=4$ in the title");
    CHECK_INT(w->n_authors, 3);
    CHECK_STR(w->authors[0].display_name, "J. de Boer");
    CHECK_STR(w->authors[0].affiliation, "Amsterdam");
    CHECK_STR(w->authors[1].display_name, "K. Hosomichi Jr.");
    CHECK_STR(w->authors[2].display_name, "ZEUS Collaboration");
    md_free(&s);
}

static int parse_str(const char *text, md_sink *s, pgr_err *err)
{
    return md_parse_buf(snap(), "t.jsonl", text, strlen(text), s, err);
}

#define GOOD_HEAD                                                                                  \
    "{\"id\":\"2605.14217\",\"title\":\"T\",\"authors_parsed\":[[\"Wu\",\"Zhengxuan\",\"\"]]"

static void test_rejects_bad_input(void)
{
    static const struct {
        const char *text, *want;
    } cases[] = {
        {GOOD_HEAD "}\n{\"id\":\"2605.1", "line 2: offset"}, /* truncated */
        {GOOD_HEAD
         ",\"versions\":[{\"version\":\"v1\",\"created\":\"Mon, 2 Apr 99999 1:1:1 GMT\"}]}\n",
         "bad date"}, /* absurd year */
        {GOOD_HEAD ",\"update_date\":\"99999-01-01\"}\n", "update_date"},
        {GOOD_HEAD ",\"versions\":[{\"version\":\"v-1\"}]}\n", "bad version"},
        {GOOD_HEAD ",\"title\":1e308}\n", "expected a string"},
        {"{\"id\":\"not an id\",\"title\":\"T\",\"authors_parsed\":[]}\n",
         "not an arXiv identifier"},
        {"{\"title\":\"T\",\"authors_parsed\":[]}\n", "\"id\" missing"},
        {GOOD_HEAD ",\"abstract\":\"\xff\xfe\"}\n", "invalid JSON"}, /* bad UTF-8 */
        {GOOD_HEAD "}\n[1,2]\n", "line 2"},
        {"\n\n", "no records"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        md_sink s;
        pgr_err err;
        int rc = parse_str(cases[i].text, &s, &err);
        md_free(&s);
        CHECK_MSG(rc == -1, "case %zu accepted", i);
        CHECK_MSG(strstr(err.msg, cases[i].want) != NULL, "case %zu: \"%s\" lacks \"%s\"", i,
                  err.msg, cases[i].want);
    }
}

static void test_rejects_bombs_and_binary(void)
{
    md_sink s;
    pgr_err err;
    /* 100k nested arrays: stopped by the depth pre-scan, not the stack. */
    size_t n = 100000;
    char *bomb = malloc(n + 64);
    strcpy(bomb, "{\"id\":\"2605.14217\",\"x\":");
    size_t k = strlen(bomb);
    memset(bomb + k, '[', n);
    bomb[k + n] = '\0';
    CHECK_INT(md_parse_buf(snap(), "b", bomb, k + n, &s, &err), -1);
    md_free(&s);
    free(bomb);
    CHECK(strstr(err.msg, "nested too deeply") != NULL);
    CHECK(strstr(err.msg, "line 1: offset 86:") != NULL); /* the 64th [, 65th level */

    const char bin[] = "{\"id\":\"2605.14217\"\0\x01\x02}\n";
    CHECK_INT(md_parse_buf(snap(), "b", bin, sizeof bin - 1, &s, &err), -1);
    md_free(&s);
    CHECK(strstr(err.msg, "NUL byte") != NULL);

    /* A line over the limit is refused before parsing. */
    size_t big = IX_SNAPSHOT_MAX_LINE + 10;
    char *huge = malloc(big + 1);
    memset(huge, ' ', big);
    huge[0] = '{';
    huge[big] = '\0';
    CHECK_INT(md_parse_buf(snap(), "h", huge, big, &s, &err), -1);
    md_free(&s);
    free(huge);
    CHECK(strstr(err.msg, "exceeds") != NULL);
}

static void test_detect(void)
{
    size_t len;
    char *d = md_read("arxiv/snapshot_sample.jsonl", &len);
    CHECK(d != NULL);
    CHECK_INT(snap()->detect(d, len), 90);
    const ix_format *f = ix_format_detect(d, len);
    free(d);
    CHECK(f && !strcmp(f->name, "arxiv-snapshot"));
    CHECK_INT(snap()->detect("Zhengxuan Wu\nStanford\n", 21), 0);
    CHECK_INT(snap()->detect("{\"results\":[]}", 14), 0);
}

/* The profile pages (plain text) are never taken for a metadata format, and
 * the metadata detectors all score 0 on them. */
static void test_no_collision_with_seed_pages(void)
{
    static const char *const seeds[] = {
        "seeds/000_d3c4f35904570651.txt", "seeds/001_a913e99828b9320d.txt",
        "seeds/002_fcb58e6391e25be6.txt", "seeds/003_9aac860f5a5de2fd.txt",
        "seeds/004_048387b8d4aff427.txt"};
    static const char *const mine[] = {"arxiv-snapshot", "arxiv-oai", "arxiv-atom", "openalex",
                                       "s2"};
    for (size_t i = 0; i < sizeof seeds / sizeof *seeds; i++) {
        size_t len;
        char *d = md_read(seeds[i], &len);
        if (!d)
            SKIP("tests/data/%s missing", seeds[i]);
        for (size_t k = 0; k < sizeof mine / sizeof *mine; k++)
            CHECK_MSG(ix_format_by_name(mine[k])->detect(d, len) == 0, "%s scores %s", seeds[i],
                      mine[k]);
        free(d);
    }
}

static void generator_shape(ix_gen_names names)
{
    pgr_sb a = {0}, b = {0}, c = {0};
    CHECK_INT(ix_gen_arxiv_sb(&a, 42, 0, 500, names), 0);
    CHECK_INT(ix_gen_arxiv_sb(&b, 42, 0, 250, names), 0);
    CHECK_INT(ix_gen_arxiv_sb(&b, 42, 250, 250, names), 0);
    CHECK_INT(ix_gen_arxiv_sb(&c, 43, 0, 500, names), 0);
    CHECK(a.len == b.len && !memcmp(a.data, b.data, a.len)); /* deterministic, splittable */
    CHECK(a.len != c.len || memcmp(a.data, c.data, a.len));  /* the seed matters */

    md_sink s;
    pgr_err err;
    CHECK_INT(snap()->detect(a.data, a.len), 90);
    int rc = md_parse_buf(snap(), "gen", a.data, a.len, &s, &err);
    CHECK_MSG(rc == 0, "generated corpus rejected: %s", err.msg);
    CHECK_INT(s.total_works, 500);
    /* Field-length shape over the first 64 records. */
    size_t title_words = 0, abs_words = 0, authors = 0;
    for (size_t i = 0; i < s.n_works; i++) {
        const ix_work *w = &s.works[i];
        CHECK(w->n_authors >= 1 && w->n_authors <= 15);
        CHECK(w->n_topics >= 1 && w->n_topics <= 4);
        CHECK(w->arxiv_version >= 1 && w->arxiv_version <= 5);
        CHECK(w->year >= 2007);
        authors += w->n_authors;
        for (const char *p = w->title; *p; p++)
            title_words += *p == ' ';
        title_words++;
        size_t aw = 1;
        for (const char *p = w->abstract; *p; p++)
            aw += *p == ' ' || *p == '\n';
        CHECK_MSG(aw >= 100 && aw <= 260, "abstract of %zu words", aw);
        abs_words += aw;
    }
    double tw = (double)title_words / s.n_works, aw = (double)abs_words / s.n_works;
    CHECK_MSG(tw > 7 && tw < 14, "mean title words %.1f", tw);
    CHECK_MSG(aw > 150 && aw < 200, "mean abstract words %.1f", aw);
    CHECK_STR(s.works[0].arxiv_id, "0704.00001");
    /* Records are independent: no two share a title or a DOI. */
    for (size_t i = 0; i < s.n_works; i++)
        for (size_t k = i + 1; k < s.n_works; k++) {
            CHECK_MSG(strcmp(s.works[i].title, s.works[k].title), "records %zu and %zu share a title",
                      i, k);
            CHECK_MSG(!s.works[i].doi || !s.works[k].doi || strcmp(s.works[i].doi, s.works[k].doi),
                      "records %zu and %zu share a DOI", i, k);
        }
    /* Real snapshot lines average ~1.5-1.9 KB, abstracts ~1.1 KB. */
    double line = (double)a.len / 500;
    CHECK_MSG(line > 1400 && line < 2400, "mean line of %.0f bytes", line);
    md_free(&s);
    pgr_sb_free(&a);
    pgr_sb_free(&b);
    pgr_sb_free(&c);
}

static void test_generator(void)
{
    generator_shape(IX_GEN_NAMES_ARXIV);
    generator_shape(IX_GEN_NAMES_SMALL);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* How often each author name string recurs in n records: distinct names,
 * names printed once, and the most printed name's count. */
static void name_recurrence(ix_gen_names names, size_t n, size_t *distinct, size_t *once,
                            size_t *top, size_t *slots)
{
    pgr_sb a = {0};
    CHECK_INT(ix_gen_arxiv_sb(&a, 7, 0, n, names), 0);
    /* every ["family","given",""] of authors_parsed, as "family\x1fgiven"
     * (the generator writes no escapes in names) */
    size_t cap = 0, k = 0;
    for (const char *p = a.data; (p = strstr(p, "\",\"\"]")); p++)
        cap++;
    char **all = calloc(cap ? cap : 1, sizeof *all);
    for (const char *p = a.data; p && (p = strstr(p, "\"authors_parsed\":[")); ) {
        p += 18;
        while (*p == '[' || *p == ',') {
            if (*p == ',') {
                p++;
                continue;
            }
            const char *f = p + 2, *fe = strchr(f, '"');
            const char *g = fe + 3, *ge = strchr(g, '"');
            if (k < cap) {
                all[k] = malloc((size_t)(ge - f) + 1);
                snprintf(all[k], (size_t)(ge - f) + 1, "%.*s\x1f%.*s", (int)(fe - f), f,
                         (int)(ge - g), g);
                k++;
            }
            p = strchr(ge, ']') + 1;
        }
    }
    qsort(all, k, sizeof *all, cmp_str);
    *distinct = *once = *top = 0;
    *slots = k;
    for (size_t i = 0; i < k;) {
        size_t e = i + 1;
        while (e < k && !strcmp(all[e], all[i]))
            e++;
        (*distinct)++;
        *once += e - i == 1;
        if (e - i > *top)
            *top = e - i;
        i = e;
    }
    for (size_t i = 0; i < k; i++)
        free(all[i]);
    free(all);
    pgr_sb_free(&a);
}

/* The default corpus has a realistic spread of author names (most printed
 * once, a few prolific people); the small one is the identity stress case
 * (1,900 names, each printed many times). */
static void test_generator_names(void)
{
    size_t distinct, once, top, slots;
    name_recurrence(IX_GEN_NAMES_ARXIV, 2000, &distinct, &once, &top, &slots);
    CHECK_MSG(distinct * 10 > slots * 6, "arxiv: %zu distinct names in %zu authorships", distinct,
              slots);
    CHECK_MSG(once * 2 > distinct, "arxiv: %zu of %zu names printed once", once, distinct);
    CHECK_MSG(top >= 5 && top < 200, "arxiv: the most printed name %zu times", top);
    name_recurrence(IX_GEN_NAMES_SMALL, 2000, &distinct, &once, &top, &slots);
    CHECK_MSG(distinct <= 1900 && distinct * 3 < slots, "small: %zu distinct names in %zu",
              distinct, slots);
    ix_gen_names m;
    CHECK_INT(ix_gen_names_parse("small", &m), 0);
    CHECK_INT(m, IX_GEN_NAMES_SMALL);
    CHECK_INT(ix_gen_names_parse("arxiv", &m), 0);
    CHECK_INT(m, IX_GEN_NAMES_ARXIV);
    CHECK_INT(ix_gen_names_parse("big", &m), -1);
}

int main(void)
{
    RUN(test_sample_fields);
    RUN(test_rejects_bad_input);
    RUN(test_rejects_bombs_and_binary);
    RUN(test_detect);
    RUN(test_no_collision_with_seed_pages);
    RUN(test_generator);
    RUN(test_generator_names);
    return check_summary("test_arxiv_snapshot");
}
