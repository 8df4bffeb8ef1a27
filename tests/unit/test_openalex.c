/* OpenAlex parser (indexer/openalex.c) and the gzip helper (indexer/inflate.c).
 * Expected values are read off tests/data/fixtures/openalex (real API answers)
 * and tests/data/openalex (hand-made from the docs, see its README). */
#include <zlib.h>

#include "indexer/inflate.h"
#include "tests/check.h"
#include "tests/unit/mdsink.h"

static void test_author_object(void)
{
    md_sink s;
    pgr_err err;
    CHECK_MSG(md_parse_file("openalex", "fixtures/openalex/A5023888391.json", &s, &err) == 0, "%s",
              err.msg);
    CHECK_INT(s.n_works, 0);
    CHECK_INT(s.n_authors, 1);
    const ix_author *a = &s.authors[0];
    CHECK_STR(a->display_name, "Jason Priem");
    CHECK_STR(a->openalex_id, "A5023888391");
    CHECK_STR(a->orcid, "0000-0001-6187-6610");
    CHECK_INT(a->works_count, 62);
    CHECK_INT(a->cited_by_count, 3890);
    CHECK_INT(a->h_index, 17);
    CHECK_INT(a->i10_index, 20);
    CHECK_INT(a->n_alternatives, 2);
    CHECK_STR(a->alternatives[0], "Priem Jason");
    CHECK_STR(a->affiliation, "OurResearch");
    CHECK_STR(a->institution_ror, "02nr0ka47");
    CHECK_INT(a->n_counts_by_year, 14); /* 2012-2025, although the docs say 10 years */
    CHECK_INT(a->counts_by_year[0].year, 2025);
    CHECK_INT(a->counts_by_year[0].works_count, 0);
    CHECK_INT(a->counts_by_year[0].cited_by_count, 80);
    CHECK_INT(a->counts_by_year[13].year, 2012);
    CHECK_INT(a->counts_by_year[13].works_count, 10);
    /* the source's figures as given, nothing derived: topics carry counts,
     * topic_share its values, x_concepts their 0..100 scores */
    CHECK_INT(a->n_topics, 25);
    CHECK_STR(a->topics[0].scheme, "openalex");
    CHECK_STR(a->topics[0].code, "T10102");
    CHECK_STR(a->topics[0].name, "scientometrics and bibliometrics research");
    CHECK_INT(a->topics[0].count, 23);
    CHECK(isnan(a->topics[0].score));
    CHECK_STR(a->topics[0].field, "Decision Sciences");
    CHECK_STR(a->topics[24].code, "T11704");
    CHECK_INT(a->topics[24].count, 1);
    CHECK_INT(a->n_topic_share, 25);
    CHECK_STR(a->topic_share[0].code, "T13976");
    CHECK_NEAR(a->topic_share[0].score, 0.0003116, 1e-12);
    CHECK_INT(a->topic_share[0].count, -1);
    CHECK_INT(a->n_concepts, 19);
    CHECK_STR(a->concepts[0].code, "C41008148");
    CHECK_STR(a->concepts[0].name, "Computer science");
    CHECK_NEAR(a->concepts[0].score, 95.2, 1e-9);
    /* summary_stats.2yr_mean_citedness, the record's date, its ids in the
     * object's order (the ORCID canonical), last known institutions and the
     * affiliations with their years as the file lists them */
    CHECK_NEAR(a->mean_citedness_2yr, 6.0, 0);
    CHECK_STR(a->updated_date, "2025-06-08T21:53:07.725446");
    CHECK_STR(a->updated_day, "2025-06-08");
    CHECK_INT(a->n_ids, 3);
    CHECK_STR(a->ids[0].kind, "openalex");
    CHECK_STR(a->ids[0].value, "https://openalex.org/A5023888391");
    CHECK_STR(a->ids[1].kind, "orcid");
    CHECK_STR(a->ids[1].value, "0000-0001-6187-6610");
    CHECK_STR(a->ids[2].kind, "scopus");
    CHECK(strstr(a->ids[2].value, "authorID=36455008000") != NULL);
    CHECK_INT(a->n_last_known, 1);
    CHECK_STR(a->last_known[0].name, "OurResearch");
    CHECK_STR(a->last_known[0].ror, "https://ror.org/02nr0ka47");
    CHECK_STR(a->last_known[0].openalex_id, "I4200000001");
    CHECK_INT(a->n_affiliations, 8);
    CHECK_STR(a->affiliations[0].name, "OurResearch");
    CHECK_INT(a->affiliations[0].n_years, 4);
    CHECK_INT(a->affiliations[0].years[0], 2023);
    CHECK_INT(a->affiliations[0].years[3], 2019);
    CHECK_STR(a->affiliations[4].name, "University of North Carolina at Chapel Hill");
    CHECK_INT(a->affiliations[4].n_years, 5);
    CHECK_STR(a->affiliations[7].name, "University of Florida");
    CHECK_INT(a->affiliations[7].years[0], 2008);
    md_free(&s);
}

static void test_tombstone_and_other_entities(void)
{
    static const char *const files[] = {"A5317838346", "S137773608",  "I27837315",
                                        "C71924100",   "F4320332161", "P4310319965",
                                        "cardiac-imaging"};
    static const char *const want[] = {"\"Deleted Author\" tombstone A5317838346",
                                       "source https://openalex.org/S137773608 \"Nature\"",
                                       "institution",
                                       "concept",
                                       "funder",
                                       "publisher",
                                       "keyword https://openalex.org/keywords/cardiac-imaging"};
    for (size_t i = 0; i < sizeof files / sizeof *files; i++) {
        char rel[128];
        snprintf(rel, sizeof rel, "fixtures/openalex/%s.json", files[i]);
        md_sink s;
        pgr_err err;
        int rc = md_parse_file("openalex", rel, &s, &err);
        CHECK_MSG(rc == 0, "%s: %s", files[i], err.msg);
        CHECK_INT(s.n_works + s.n_authors + s.n_topics, 0);
        CHECK_INT(err.code, PGR_OK);
        CHECK_MSG(strstr(err.msg, want[i]) && strstr(err.msg, "not a work/author: skipped"),
                  "%s: notice \"%s\"", files[i], err.msg);
        md_free(&s);
    }
}

/* A topic object is read: id, name, description, subfield/field/domain. */
static void test_topic_object(void)
{
    md_sink s;
    pgr_err err;
    CHECK_MSG(md_parse_file("openalex", "fixtures/openalex/T11636.json", &s, &err) == 0, "%s",
              err.msg);
    CHECK_INT(s.n_works + s.n_authors, 0);
    CHECK_INT(s.n_topics, 1);
    const ix_topic_ref *t = &s.topics[0];
    CHECK_STR(t->scheme, "openalex");
    CHECK_STR(t->code, "T11636");
    CHECK_STR(t->name, "Artificial Intelligence in Healthcare and Education");
    CHECK(t->description && !strncmp(t->description, "This cluster of papers explores", 31));
    CHECK_STR(t->subfield, "Health Informatics");
    CHECK_STR(t->field, "Medicine");
    CHECK_STR(t->domain, "Health Sciences");
    CHECK(isnan(t->score));
    md_free(&s);
}

static void check_state_of_oa(const ix_work *w)
{
    CHECK_STR(w->openalex_id, "W2741809807");
    CHECK_STR(w->doi, "10.7717/peerj.4375");
    CHECK_STR(w->pmid, "29456894");
    CHECK_STR(w->title, "The state of OA: a large-scale analysis of the prevalence and impact of "
                        "Open Access articles");
    CHECK_INT(w->year, 2018);
    CHECK_STR(w->date, "2018-02-13");
    CHECK_STR(w->type, "article");
    CHECK_STR(w->venue, "PeerJ");
    CHECK_STR(w->language, "en");
    CHECK_INT(w->cited_by_count, 1197);
    CHECK(w->authors_truncated == NULL);
    CHECK_INT(w->n_authors, 3);
    CHECK_STR(w->authors[0].display_name, "Heather Piwowar");
    CHECK_STR(w->authors[0].openalex_id, "A5048491430");
    CHECK_STR(w->authors[0].orcid, "0000-0003-1613-5981");
    CHECK_STR(w->authors[0].affiliation, "Impactstory, Sanford, NC, USA"); /* raw string */
    CHECK_STR(w->authors[1].raw_name, "Priem, Jason");
    CHECK_STR(w->authors[1].display_name, "Jason Priem");
    CHECK_STR(w->authors[1].affiliation, "OurResearch"); /* institution when no raw string */
    CHECK_STR(w->authors[2].raw_name, "Stefanie Haustein");
    CHECK(strstr(w->authors[2].affiliation, "; Observatoire des Sciences") != NULL);
    CHECK_STR(w->abstract, "Despite growing interest in Open Access (OA) to scholarly literature, "
                           "there is an unmet need in evidence $\\alpha$ studies.");
    CHECK_INT(w->n_references, 3);
    CHECK_STR(w->references[0], "openalex:W1491283306");
    CHECK_STR(w->references[2], "openalex:W2033263384");
    CHECK_INT(w->n_counts_by_year, 3);
    CHECK_INT(w->counts_by_year[1].year, 2024);
    CHECK_INT(w->counts_by_year[1].cited_by_count, 127);
    CHECK_INT(w->counts_by_year[1].works_count, -1);
    CHECK_INT(w->n_topics, 2);
    CHECK_STR(w->topics[0].code, "T13607");
    CHECK_STR(w->topics[0].name, "Academic Publishing and Open Access");
    CHECK_NEAR(w->topics[0].score, 0.9998, 1e-9);
    /* the work's topics carry their place in OpenAlex's hierarchy where given */
    CHECK_STR(w->topics[0].subfield, "Library and Information Sciences");
    CHECK_STR(w->topics[0].field, "Social Sciences");
    CHECK_STR(w->topics[0].domain, "Social Sciences");
    CHECK(w->arxiv_id == NULL);
}

static void test_work_object(void)
{
    md_sink s;
    pgr_err err;
    CHECK_MSG(md_parse_file("openalex", "openalex/work_W2741809807.json", &s, &err) == 0, "%s",
              err.msg);
    CHECK_INT(s.n_works, 1);
    check_state_of_oa(&s.works[0]);
    md_free(&s);
}

static void test_list_page(void)
{
    md_sink s;
    pgr_err err;
    CHECK_MSG(md_parse_file("openalex", "openalex/list_page_works.json", &s, &err) == 0, "%s",
              err.msg);
    CHECK_INT(s.n_works, 2);
    check_state_of_oa(&s.works[0]);
    CHECK_INT(s.works[0].position, 26); /* page 2 of 25 per page */
    const ix_work *w = &s.works[1];
    CHECK_INT(w->position, 27);
    CHECK_STR(w->arxiv_id, "2605.00001"); /* from the 10.48550/arXiv DOI */
    CHECK_STR(w->doi, "10.48550/arxiv.2605.00001");
    CHECK_STR(w->authors_truncated, "et al.");
    CHECK(w->abstract == NULL);
    CHECK_STR(w->authors[0].affiliation, "Stanford University");
    CHECK_STR(w->references[0], "openalex:W2741809807");
    md_free(&s);
}

static void test_snapshot_lines_plain_and_gzip(void)
{
    size_t plen, glen;
    char *plain = md_read("openalex/snapshot_part.jsonl", &plen);
    char *gz = md_read("openalex/snapshot_part.jsonl.gz", &glen);
    CHECK(plain && gz);
    CHECK(ix_is_gzip(gz, glen));
    CHECK(!ix_is_gzip(plain, plen));
    char *out = NULL;
    size_t olen = 0;
    pgr_err err;
    CHECK_MSG(ix_gunzip(gz, glen, IX_GUNZIP_DEFAULT_CAP, &out, &olen, &err) == 0, "%s", err.msg);
    CHECK_INT(olen, plen);
    CHECK(!memcmp(out, plain, plen));
    CHECK(out[olen] == '\0');
    const ix_format *f = ix_format_detect(out, olen);
    CHECK(f && !strcmp(f->name, "openalex"));
    md_sink s;
    CHECK_MSG(md_parse_buf(f, "part", out, olen, &s, &err) == 0, "%s", err.msg);
    CHECK_INT(s.n_works, 2);
    CHECK_INT(s.n_authors, 1);
    CHECK_INT(s.works[0].line, 1);
    CHECK_INT(s.works[1].line, 5);
    CHECK_STR(s.works[1].openalex_id, "W4399000001");
    CHECK_STR(s.authors[0].openalex_id, "A5023888391");
    CHECK_INT(s.n_topics, 1); /* line 3: T11636 */
    CHECK_STR(s.topics[0].code, "T11636");
    /* the tombstone (line 4) is the one entity skipped */
    CHECK(strstr(err.msg, "\"Deleted Author\" tombstone A5317838346") != NULL);
    md_free(&s);
    /* A cap below the real size is a bomb: refused with the offset. */
    free(out);
    out = NULL;
    CHECK_INT(ix_gunzip(gz, glen, 1000, &out, &olen, &err), -1);
    CHECK(out == NULL);
    CHECK(strstr(err.msg, "limit") != NULL);
    /* Truncated gzip. */
    CHECK_INT(ix_gunzip(gz, glen / 2, IX_GUNZIP_DEFAULT_CAP, &out, &olen, &err), -1);
    CHECK(strstr(err.msg, "truncated") != NULL);
    /* Corrupt deflate data. */
    char *bad = malloc(glen);
    memcpy(bad, gz, glen);
    memset(bad + 20, 0xff, 40);
    CHECK_INT(ix_gunzip(bad, glen, IX_GUNZIP_DEFAULT_CAP, &out, &olen, &err), -1);
    CHECK(strstr(err.msg, "offset") != NULL);
    free(bad);
    free(plain);
    free(gz);
}

static void test_gzip_bomb_and_members(void)
{
    /* 64 MiB of zeros compress to ~64 KiB; a 1 MiB cap must stop it early. */
    size_t n = 64u << 20;
    char *zeros = calloc(1, n);
    uLongf clen = compressBound(n) + 64;
    unsigned char *gz = malloc(clen);
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    CHECK(deflateInit2(&zs, 9, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY) == Z_OK);
    zs.next_in = (Bytef *)zeros;
    zs.avail_in = (uInt)n;
    zs.next_out = gz;
    zs.avail_out = (uInt)clen;
    CHECK(deflate(&zs, Z_FINISH) == Z_STREAM_END);
    size_t glen = zs.total_out;
    deflateEnd(&zs);
    char *out = NULL;
    size_t olen;
    pgr_err err;
    CHECK_INT(ix_gunzip((char *)gz, glen, 1u << 20, &out, &olen, &err), -1);
    CHECK(strstr(err.msg, "limit (bomb?)") != NULL);
    /* Two concatenated members inflate to both payloads. */
    unsigned char *two = malloc(2 * glen);
    memcpy(two, gz, glen);
    memcpy(two + glen, gz, glen);
    CHECK_INT(ix_gunzip((char *)two, 2 * glen, IX_GUNZIP_DEFAULT_CAP, &out, &olen, &err), 0);
    CHECK_INT(olen, 2 * n);
    free(out);
    free(two);
    free(gz);
    free(zeros);
}

static void test_rejects(void)
{
    static const struct {
        const char *text, *want;
    } cases[] = {
        {"{\"id\":\"https://openalex.org/W1\",\"title\":\"T\",\"publication_year\":99999}",
         "publication_year"},
        {"{\"id\":\"https://openalex.org/W1\",\"title\":\"T\",\"cited_by_count\":-5}",
         "cited_by_count"},
        {"{\"id\":\"https://openalex.org/W1\",\"title\":\"T\",\"cited_by_count\":1e308}",
         "cited_by_count"},
        {"{\"id\":\"https://openalex.org/W1\",\"title\":\"T\",\"abstract_inverted_index\":"
         "{\"a\":[99999999]}}",
         "bad position"},
        {"{\"id\":\"https://openalex.org/W1\",\"title\":\"T\",\"referenced_works\":[\"x\"]}",
         "not a work id"},
        {"{\"id\":\"https://openalex.org/A1\",\"display_name\":\"X\",\"summary_stats\":"
         "{\"h_index\":-1}}",
         "h_index"},
        {"{\"id\":\"https://openalex.org/"
         "W1\",\"title\":\"T\",\"counts_by_year\":[{\"year\":99999}]}",
         "year"},
        {"{\"meta\":{},\"results\":[{\"id\":\"https://openalex.org/W1\",\"title\":\"T\"},",
         "invalid JSON"},
        {"{\"id\":\"https://openalex.org/W1\",\"title\":\"T\"}\n{\"id\":\"https://openalex.org/"
         "W2\"",
         "line 2"},
        {"{\"error\":\"Invalid query parameters error.\",\"message\":\"filter is not valid\"}",
         "OpenAlex API error"},
        {"{\"id\":\"https://openalex.org/W1\",\"title\":\"T\",\"doi\":\"not-a-doi\"}", "not a DOI"},
        /* an author record's figures: negative, huge, fractional, not numbers */
        {"{\"id\":\"https://openalex.org/A7\",\"display_name\":\"X\",\"works_count\":-3}",
         "author A7: works_count: -3 is out of range"},
        {"{\"id\":\"https://openalex.org/A7\",\"display_name\":\"X\",\"cited_by_count\":1e300}",
         "author A7: cited_by_count: 1e+300 is not an integer"},
        {"{\"id\":\"https://openalex.org/A7\",\"display_name\":\"X\",\"summary_stats\":"
         "{\"i10_index\":2.5}}",
         "author A7: summary_stats.i10_index: 2.5 is not an integer"},
        {"{\"id\":\"https://openalex.org/A7\",\"display_name\":\"X\",\"summary_stats\":"
         "{\"2yr_mean_citedness\":\"NaN\"}}",
         "author A7: summary_stats.2yr_mean_citedness: expected a number"},
        {"{\"id\":\"https://openalex.org/A7\",\"display_name\":\"X\",\"summary_stats\":"
         "{\"2yr_mean_citedness\":-0.5}}",
         "2yr_mean_citedness: -0.5 is out of range"},
        {"{\"id\":\"https://openalex.org/A7\",\"display_name\":\"X\",\"summary_stats\":"
         "{\"h_index\":\"17\"}}",
         "summary_stats.h_index: expected a number"},
        {"{\"id\":\"https://openalex.org/A7\",\"display_name\":\"X\",\"summary_stats\":"
         "{\"h_index\":NaN}}",
         "invalid JSON"},
        {"{\"id\":\"https://openalex.org/A7\",\"display_name\":\"X\",\"counts_by_year\":"
         "[{\"year\":2020,\"works_count\":1},{\"year\":2020,\"works_count\":2}]}",
         "counts_by_year[1]: year 2020 listed twice"},
        {"{\"id\":\"https://openalex.org/A7\",\"display_name\":\"X\",\"counts_by_year\":"
         "[{\"year\":2020,\"cited_by_count\":-1}]}",
         "cited_by_count"},
        {"{\"id\":\"https://openalex.org/A7\",\"display_name\":\"X\",\"orcid\":"
         "\"https://orcid.org/0000-0001-6187-6611\"}",
         "author A7: orcid: \"https://orcid.org/0000-0001-6187-6611\" is not an ORCID iD"},
        {"{\"id\":\"https://openalex.org/A7\",\"display_name\":\"X\",\"ids\":{\"orcid\":"
         "\"0000-0001-6187-661\"}}",
         "author A7: ids.orcid"},
        {"{\"id\":\"https://openalex.org/A7\",\"display_name\":\"X\",\"ids\":{\"scopus\":"
         "[1]}}",
         "author A7: ids.scopus: expected an id string"},
        {"{\"id\":\"https://openalex.org/A7\",\"display_name\":\"X\",\"ids\":{\"<b>\":\"1\"}}",
         "is not an id kind"},
        {"{\"id\":\"https://openalex.org/A7\",\"display_name\":\"X\",\"affiliations\":"
         "[{\"institution\":{\"display_name\":\"U\"},\"years\":[\"2020\"]}]}",
         "author A7: affiliations[0].years[0]: not a year"},
        {"{\"id\":\"https://openalex.org/A7\",\"display_name\":\"X\",\"affiliations\":"
         "[{\"institution\":{\"display_name\":\"U\"},\"years\":[2020,2020]}]}",
         "affiliations[0].years[1]: 2020 listed twice"},
        {"{\"id\":\"https://openalex.org/A7\",\"display_name\":\"X\",\"last_known_institutions\":"
         "[{\"display_name\":\"U\",\"ror\":\"https://ror.org/xx\"}]}",
         "last_known_institutions[0].ror"},
        {"{\"id\":\"https://openalex.org/A7\",\"display_name\":\"X\",\"last_known_institutions\":"
         "[{\"display_name\":\"U\",\"id\":\"https://openalex.org/W5\"}]}",
         "is not an OpenAlex institution id"},
        {"{\"id\":\"https://openalex.org/A7\",\"display_name\":\"X\",\"updated_date\":\"soon\"}",
         "author A7: updated_date: bad date"},
        {"{\"id\":\"https://openalex.org/W1\",\"title\":\"T\",\"authorships\":[{\"author\":"
         "{\"display_name\":\"A\",\"orcid\":\"https://orcid.org/1234\"}}]}",
         "is not an ORCID iD"},
    };
    const ix_format *f = ix_format_by_name("openalex");
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        md_sink s;
        pgr_err err;
        int rc = md_parse_buf(f, "x.json", cases[i].text, strlen(cases[i].text), &s, &err);
        md_free(&s);
        CHECK_MSG(rc == -1, "case %zu accepted", i);
        CHECK_MSG(strstr(err.msg, cases[i].want) != NULL, "case %zu: \"%s\" lacks \"%s\"", i,
                  err.msg, cases[i].want);
    }
    /* Nesting bomb. */
    pgr_sb sb = {0};
    pgr_sb_puts(&sb, "{\"id\":\"https://openalex.org/W1\",\"x\":");
    for (int i = 0; i < 100000; i++)
        pgr_sb_putc(&sb, '[');
    md_sink s;
    pgr_err err;
    CHECK_INT(md_parse_buf(f, "b", sb.data, sb.len, &s, &err), -1);
    md_free(&s);
    pgr_sb_free(&sb);
    CHECK(strstr(err.msg, "nested deeper") != NULL);
}

static void test_detect(void)
{
    static const char *const files[] = {"fixtures/openalex/A5023888391.json",
                                        "fixtures/openalex/T11636.json",
                                        "openalex/list_page_works.json"};
    for (size_t i = 0; i < 3; i++) {
        size_t len;
        char *d = md_read(files[i], &len);
        const ix_format *f = d ? ix_format_detect(d, len) : NULL;
        free(d);
        CHECK_MSG(f && !strcmp(f->name, "openalex"), "%s: %s", files[i], f ? f->name : "(none)");
    }
}

int main(void)
{
    RUN(test_author_object);
    RUN(test_tombstone_and_other_entities);
    RUN(test_topic_object);
    RUN(test_work_object);
    RUN(test_list_page);
    RUN(test_snapshot_lines_plain_and_gzip);
    RUN(test_gzip_bomb_and_members);
    RUN(test_rejects);
    RUN(test_detect);
    return check_summary("test_openalex");
}
