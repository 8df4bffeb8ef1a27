/* DBLP XML parser (indexer/dblp.c). Expected values are read off
 * tests/data/fixtures/dblp (a real 2013 slice of dblp.xml, copied from
 * ../shared/fixtures/scholarly/dblp) and hand-made records in today's dump
 * layout (DOCTYPE line, orcid attributes, arXiv ee links). */
#include "tests/check.h"
#include "tests/unit/mdsink.h"

static const char *SAMPLE = "fixtures/dblp/dblp_sample_2013_incollection_book.xml";

static const ix_work *by_title(const md_sink *s, const char *t)
{
    for (size_t i = 0; i < s->n_works; i++)
        if (s->works[i].title && !strcmp(s->works[i].title, t))
            return &s->works[i];
    return NULL;
}

static int parse_str(const char *text, md_sink *s, pgr_err *err)
{
    return md_parse_buf(ix_format_by_name("dblp"), "t.xml", text, strlen(text), s, err);
}

static void test_sample(void)
{
    md_sink s;
    pgr_err err;
    CHECK_MSG(md_parse_file("dblp", SAMPLE, &s, &err) == 0, "%s", err.msg);
    CHECK_INT(s.total_works, 1288); /* 1144 incollection + 144 book */
    const ix_work *w = &s.works[0];
    CHECK_STR(w->title, "Shared Interfaces for Co-located Interaction"); /* final "." dropped */
    CHECK_STR(w->type, "incollection");
    CHECK_INT(w->year, 2012);
    CHECK(w->date == NULL);
    CHECK_STR(w->venue, "Ubiquitous Display Environments");
    CHECK_STR(w->doi, "10.1007/978-3-642-27663-7_5"); /* from the dx.doi.org ee */
    CHECK_INT(w->n_authors, 1);
    CHECK_STR(w->authors[0].display_name, "Massimo Zancanaro");
    CHECK_INT(w->line, 3);
    /* Latin-1 entities, as UTF-8 */
    w = by_title(&s, "Speech Recognition");
    CHECK(w != NULL);
    CHECK_INT(w->n_authors, 4);
    CHECK_STR(w->authors[0].display_name, "Andr\xc3\xa9 Berton");
    CHECK_STR(w->authors[3].raw_name, "Olaf Schreiner");
    /* a book: series as venue */
    w = by_title(&s, "Foundations of Rule Learning");
    CHECK(w != NULL);
    CHECK_STR(w->type, "book");
    CHECK_STR(w->venue, "Cognitive Technologies");
    CHECK_STR(w->authors[0].display_name, "Johannes F\xc3\xbcrnkranz");
    CHECK_STR(w->doi, "10.1007/978-3-540-75197-7");
    /* a homonym number: printed, not displayed */
    w = by_title(&s, "A Review of the Development of Embodied Presentation Agents and Their "
                     "Application Fields");
    CHECK(w != NULL);
    CHECK_INT(w->n_authors, 8);
    CHECK_STR(w->authors[1].display_name, "Elisabeth Andr\xc3\xa9");
    CHECK_STR(w->authors[7].raw_name, "Markus Schmitt 0002");
    CHECK_STR(w->authors[7].display_name, "Markus Schmitt");
    md_free(&s);
}

static void test_current_layout(void)
{
    md_sink s;
    pgr_err err;
    const char *doc =
        "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?>\n"
        "<!DOCTYPE dblp SYSTEM \"dblp.dtd\">\n"
        "<dblp>\n"
        "<article mdate=\"2024-01-02\" key=\"journals/corr/abs-2605-14217\" publtype=\"informal\">\n"
        "<author orcid=\"0000-0002-7319-2192\">Ji&#345;&iacute; Nov&aacute;k 0001</author>\n"
        "<author>Zhengxuan Wu</author>\n"
        "<title>Sub-species of <i>Homopus</i> and <sub>2</sub>?</title>\n"
        "<journal>CoRR</journal><volume>abs/2605.14217</volume><year>2026</year>\n"
        "<ee type=\"oa\">https://arxiv.org/abs/2605.14217v2</ee>\n"
        "<ee>https://example.org/paper.pdf</ee>\n"
        "</article>\n"
        "<www mdate=\"2024-01-02\" key=\"homepages/12/3456\"><author>Zhengxuan Wu</author>"
        "<title>Home Page</title></www>\n"
        "<phdthesis key=\"phd/Lovelace1843\"><author>Ada Lovelace</author><title>Notes.</title>"
        "<year>1843</year><school>Univ. of London</school></phdthesis>\n"
        "</dblp>\n";
    CHECK_MSG(parse_str(doc, &s, &err) == 0, "%s", err.msg);
    CHECK_INT(s.n_works, 2); /* the www person record is not a work */
    CHECK(strstr(err.msg, "1 person record(s)") != NULL);
    const ix_work *w = &s.works[0];
    CHECK_STR(w->title, "Sub-species of Homopus and 2?");
    CHECK_STR(w->arxiv_id, "2605.14217");
    CHECK_INT(w->arxiv_version, 2);
    CHECK(w->doi == NULL);
    CHECK_STR(w->venue, "CoRR");
    CHECK_INT(w->line, 4);
    CHECK_STR(w->authors[0].raw_name, "Ji\xc5\x99\xc3\xad Nov\xc3\xa1k 0001");
    CHECK_STR(w->authors[0].display_name, "Ji\xc5\x99\xc3\xad Nov\xc3\xa1k");
    CHECK_STR(w->authors[0].orcid, "0000-0002-7319-2192");
    CHECK(w->authors[1].orcid == NULL);
    CHECK_STR(s.works[1].type, "phdthesis");
    CHECK_STR(s.works[1].title, "Notes");
    CHECK_STR(s.works[1].venue, "Univ. of London");
    CHECK_INT(s.works[1].year, 1843);
    md_free(&s);
}

static void test_hostile(void)
{
    static const struct {
        const char *doc, *want;
    } bad[] = {
        {"<dblp>\n<article key=\"a\"><author>X &bogus; Y</author><title>T</title></article></dblp>",
         "line 2: unknown entity &bogus;"},
        {"<?xml version=\"1.0\"?>\n<!DOCTYPE dblp [<!ENTITY a \"aaaaaaaa\">]>\n<dblp>&a;</dblp>",
         "line 2: a DOCTYPE with an internal subset"},
        {"<dblp>\n<article key=\"k1\">\n<title>T</title><year>20x6</year></article></dblp>",
         "line 3: record k1: year: \"20x6\""},
        {"<dblp>\n<article key=\"k2\"><author>A</author></article></dblp>", "record k2: no title"},
        {"<dblp>\n<article key=\"k3\"><author orcid=\"0000-0002-7319-2193\">A</author>"
         "<title>T</title></article></dblp>",
         "record k3: author.orcid"},
        {"<dblp>\n<person key=\"p\"/></dblp>", "line 2: <person> is not a dblp record"},
        {"<dblp>\n<article key=\"k4\"><title>T</title>", "invalid XML"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        md_sink s;
        pgr_err err;
        CHECK_MSG(parse_str(bad[i].doc, &s, &err) == -1, "case %zu accepted", i);
        CHECK_MSG(strstr(err.msg, bad[i].want) != NULL, "case %zu: %s", i, err.msg);
        md_free(&s);
    }
}

static void test_detect(void)
{
    CHECK_STR(md_detect_name(SAMPLE), "dblp");
    const char *one = "<?xml version=\"1.0\"?>\n<!DOCTYPE dblp SYSTEM \"dblp.dtd\">\n<dblp/>";
    CHECK_STR(ix_format_detect(one, strlen(one))->name, "dblp");
    /* the other XML formats stay theirs */
    CHECK_STR(md_detect_name("fixtures/arxiv/oai_getrecord_arXiv_1305.0014.xml"), "arxiv-oai");
    CHECK_STR(md_detect_name("fixtures/orcid/works-3.0.xml"), "orcid");
}

int main(void)
{
    RUN(test_sample);
    RUN(test_current_layout);
    RUN(test_hostile);
    RUN(test_detect);
    return check_summary("test_dblp");
}
