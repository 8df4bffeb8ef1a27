/* ORCID parser (indexer/orcid.c). Expected values are read off
 * tests/data/fixtures/orcid (ORCID/orcid-model's v3.0 read samples, copied
 * from ../shared/fixtures/scholarly/orcid). */
#include "tests/check.h"
#include "tests/unit/mdsink.h"

static int parse_str(const char *text, md_sink *s, pgr_err *err)
{
    return md_parse_buf(ix_format_by_name("orcid"), "t.xml", text, strlen(text), s, err);
}

static void test_record_xml(void)
{
    md_sink s;
    pgr_err err;
    CHECK_MSG(md_parse_file("orcid", "fixtures/orcid/record-3.0.xml", &s, &err) == 0, "%s",
              err.msg);
    CHECK_INT(s.n_authors, 1);
    const ix_author *a = &s.authors[0];
    CHECK_STR(a->display_name, "credit-name");
    CHECK_STR(a->orcid, "8888-8888-8888-8880");
    /* other names, then "given family" since the credit name differs */
    CHECK_INT(a->n_alternatives, 2);
    CHECK_STR(a->alternatives[0], "other-name-1");
    CHECK_STR(a->alternatives[1], "give-names family-name");
    /* the iD first, then the person's external identifiers */
    CHECK_INT(a->n_ids, 2);
    CHECK_STR(a->ids[0].kind, "orcid");
    CHECK_STR(a->ids[0].value, "8888-8888-8888-8880");
    CHECK_STR(a->ids[1].kind, "type-1");
    CHECK_STR(a->ids[1].value, "value-1");
    CHECK_STR(a->homepage, "http://url.com/");
    CHECK_STR(a->updated_day, "2001-12-31");
    /* employments, then educations, with their start and end years; both
     * ended, so no current institution */
    CHECK_INT(a->n_affiliations, 2);
    CHECK_STR(a->affiliations[0].name, "employment-org");
    CHECK_INT(a->affiliations[0].n_years, 2);
    CHECK_INT(a->affiliations[0].years[0], 1948);
    CHECK_INT(a->affiliations[0].years[1], 2025);
    CHECK(a->affiliations[0].ror == NULL); /* a GRID id: not a ROR id */
    CHECK_STR(a->affiliations[1].name, "education-org");
    CHECK_INT(a->affiliations[1].years[1], 2019);
    CHECK(a->affiliation == NULL);
    /* the one works group, with the owner as its author */
    CHECK_INT(s.n_works, 1);
    const ix_work *w = &s.works[0];
    CHECK_STR(w->title, "common:title");
    CHECK_STR(w->type, "artistic-performance");
    CHECK_STR(w->venue, "Procedia Computer Science");
    CHECK_INT(w->year, 1948);
    CHECK_STR(w->date, "1948-02-02");
    CHECK(w->doi == NULL && w->arxiv_id == NULL); /* only "agr" ids */
    CHECK_INT(w->n_authors, 1);
    CHECK_STR(w->authors[0].display_name, "credit-name");
    CHECK_STR(w->authors[0].orcid, "8888-8888-8888-8880");
    md_free(&s);
}

static void test_record_json(void)
{
    md_sink s;
    pgr_err err;
    CHECK_MSG(md_parse_file("orcid", "fixtures/orcid/record-full-3.0.json", &s, &err) == 0, "%s",
              err.msg);
    CHECK_INT(s.n_authors, 1);
    const ix_author *a = &s.authors[0];
    CHECK_STR(a->display_name, "Three releasecandidate1"); /* no credit name */
    CHECK_STR(a->orcid, "0000-0002-7319-2192");
    CHECK_INT(a->n_alternatives, 5);
    CHECK_STR(a->alternatives[0], "Other Name");
    CHECK_STR(a->alternatives[2], "{yo}");
    CHECK_INT(a->n_ids, 2);
    CHECK_STR(a->ids[1].kind, "my id system");
    CHECK_STR(a->ids[1].value, "A-0003");
    CHECK_STR(a->homepage, "https://site1.com/");
    CHECK_STR(a->updated_day, "2019-06-07"); /* 1559916523957 ms */
    CHECK_INT(a->n_affiliations, 4); /* 1 employment, 3 educations */
    CHECK_STR(a->affiliations[0].name, "common:name");
    CHECK_INT(a->affiliations[0].n_years, 1); /* 1948 to 1948 */
    CHECK_INT(a->affiliations[0].years[0], 1948);
    CHECK_INT(s.n_works, 1);
    const ix_work *w = &s.works[0];
    CHECK_STR(w->title, "Work Title");
    CHECK_STR(w->doi, "10.1087/20120404"); /* "work:doi" is no DOI: skipped */
    CHECK_STR(w->type, "journal-article");
    CHECK_STR(w->venue, "Jounral Title");
    CHECK_STR(w->date, "2012-10-01");
    CHECK_STR(w->authors[0].orcid, "0000-0002-7319-2192");
    CHECK_MSG(strstr(err.msg, "1 external id(s)") && strstr(err.msg, "work:doi"), "%s", err.msg);
    md_free(&s);
}

static void test_works_xml(void)
{
    md_sink s;
    pgr_err err;
    CHECK_MSG(md_parse_file("orcid", "fixtures/orcid/works-3.0.xml", &s, &err) == 0, "%s",
              err.msg);
    CHECK_INT(s.n_authors, 0); /* a /works document has no person */
    CHECK_INT(s.n_works, 3);
    CHECK_STR(s.works[0].title, "Work # 0");
    CHECK_STR(s.works[0].type, "conference-paper");
    CHECK_STR(s.works[0].date, "2017-03-03");
    CHECK(s.works[0].doi == NULL); /* "123456" with part-of: neither a DOI nor this work's */
    CHECK(s.works[1].arxiv_id == NULL); /* "123456" is no arXiv id */
    CHECK_STR(s.works[2].venue, "some journal title");
    /* the works' source is the owner and names them */
    for (size_t i = 0; i < 3; i++) {
        CHECK_INT(s.works[i].n_authors, 1);
        CHECK_STR(s.works[i].authors[0].display_name, "User One Credit name");
        CHECK_STR(s.works[i].authors[0].orcid, "8888-8888-8888-8880");
    }
    md_free(&s);
}

/* Real-looking ids: a DOI and an arXiv id (with version) that other formats
 * also give, so the works dedup with them. */
static void test_ids_and_relationships(void)
{
    md_sink s;
    pgr_err err;
    const char *doc =
        "<activities:works path=\"/0000-0002-7319-2192/works\" "
        "xmlns:activities=\"http://www.orcid.org/ns/activities\" "
        "xmlns:work=\"http://www.orcid.org/ns/work\" "
        "xmlns:common=\"http://www.orcid.org/ns/common\">"
        "<activities:group><common:external-ids>"
        "<common:external-id><common:external-id-type>issn</common:external-id-type>"
        "<common:external-id-value>1234-5678</common:external-id-value>"
        "<common:external-id-relationship>part-of</common:external-id-relationship>"
        "</common:external-id>"
        "<common:external-id><common:external-id-type>doi</common:external-id-type>"
        "<common:external-id-value>10.9999/container</common:external-id-value>"
        "<common:external-id-relationship>part-of</common:external-id-relationship>"
        "</common:external-id>"
        "<common:external-id><common:external-id-type>arxiv</common:external-id-type>"
        "<common:external-id-value>arXiv:2605.14217v3</common:external-id-value>"
        "<common:external-id-relationship>self</common:external-id-relationship>"
        "</common:external-id>"
        "<common:external-id><common:external-id-type>doi</common:external-id-type>"
        "<common:external-id-value>https://doi.org/10.1145/ABC.123</common:external-id-value>"
        "<common:external-id-relationship>self</common:external-id-relationship>"
        "</common:external-id></common:external-ids>"
        "<work:work-summary put-code=\"1\"><work:title><common:title>A  real\n title"
        "</common:title></work:title><work:type>journal-article</work:type>"
        "<common:publication-date><common:year>2026</common:year></common:publication-date>"
        "</work:work-summary></activities:group></activities:works>";
    CHECK_MSG(parse_str(doc, &s, &err) == 0, "%s", err.msg);
    CHECK_INT(s.n_works, 1);
    CHECK_STR(s.works[0].title, "A real title");
    CHECK_STR(s.works[0].doi, "10.1145/abc.123");
    CHECK_STR(s.works[0].arxiv_id, "2605.14217");
    CHECK_INT(s.works[0].arxiv_version, 3);
    CHECK_INT(s.works[0].year, 2026);
    CHECK(s.works[0].date == NULL); /* a year only */
    CHECK_INT(s.works[0].n_authors, 0); /* nobody named: not linked */
    CHECK(strstr(err.msg, "not linked") && strstr(err.msg, "0000-0002-7319-2192"));
    md_free(&s);
}

static void test_errors(void)
{
    md_sink s;
    pgr_err err;
    CHECK_INT(md_parse_file("orcid", "fixtures/orcid/error-3.0.xml", &s, &err), -1);
    CHECK_INT(s.n_works + s.n_authors, 0);
    CHECK(strstr(err.msg, "ORCID error 0") && strstr(err.msg, "error:developer-message"));
    md_free(&s);
    const char *json404 = "{\"response-code\":404,\"developer-message\":\"404 Not Found: The "
                          "resource was not found.\",\"user-message\":\"The resource was not "
                          "found.\",\"error-code\":9016,\"more-info\":\"https://members.orcid.org/"
                          "api/resources/troubleshooting\"}";
    CHECK_INT(parse_str(json404, &s, &err), -1);
    CHECK_INT(err.code, PGR_ENOTFOUND);
    CHECK(strstr(err.msg, "ORCID error 9016 (HTTP 404): 404 Not Found"));
    md_free(&s);
}

static void test_hostile(void)
{
    static const struct {
        const char *doc, *want;
    } bad[] = {
        /* wrong check digit */
        {"<activities:works path=\"/0000-0002-7319-2193/works\" "
         "xmlns:activities=\"http://www.orcid.org/ns/activities\"/>",
         "is not an ORCID iD"},
        {"{\"orcid-identifier\":{\"path\":\"0000-0002-7319-2191\"}}", "is not an ORCID iD"},
        /* an implausible year, named with its line and field */
        {"<activities:works path=\"/0000-0002-7319-2192/works\"\n"
         "xmlns:activities=\"http://www.orcid.org/ns/activities\" "
         "xmlns:work=\"http://www.orcid.org/ns/work\" "
         "xmlns:common=\"http://www.orcid.org/ns/common\"><activities:group>\n"
         "<work:work-summary><work:title><common:title>T</common:title></work:title>\n"
         "<common:publication-date><common:year>30000</common:year></common:publication-date>"
         "</work:work-summary></activities:group></activities:works>",
         "line 4: publication-date.year: \"30000\" is not a year"},
        {"{\"orcid-identifier\":{\"path\":\"0000-0002-7319-2192\"},\"activities-summary\":"
         "{\"works\":{\"group\":[{\"work-summary\":[{\"title\":{\"title\":{\"value\":\"T\"}},"
         "\"publication-date\":{\"year\":{\"value\":\"20x6\"}}}]}]}}}",
         "works.group[0].work-summary[0].publication-date.year"},
        {"{\"orcid-identifier\":{\"path\":\"0000-0002-7319-2192\"},\"person\":{\"name\":"
         "{\"given-names\":{\"value\":[1]}}}}",
         "person.name.given-names: expected a string"},
        /* a work without a title */
        {"<activities:works path=\"/0000-0002-7319-2192/works\" "
         "xmlns:activities=\"http://www.orcid.org/ns/activities\" "
         "xmlns:work=\"http://www.orcid.org/ns/work\"><activities:group>"
         "<work:work-summary put-code=\"7\"/></activities:group></activities:works>",
         "work put-code 7: no title"},
        /* entity bomb: refused before parsing */
        {"<?xml version=\"1.0\"?><!DOCTYPE r [<!ENTITY a \"aaaa\">]><record:record "
         "xmlns:record=\"http://www.orcid.org/ns/record\">&a;</record:record>",
         "DOCTYPE/ENTITY"},
        {"<record:record xmlns:record=\"http://www.orcid.org/ns/record\">", "invalid XML"},
        {"{\"orcid-identifier\": ", "line 1"},
        {"<x xmlns=\"http://example.org/\"/>", "not in an ORCID namespace"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        md_sink s;
        pgr_err err;
        CHECK_MSG(parse_str(bad[i].doc, &s, &err) == -1, "case %zu accepted", i);
        CHECK_MSG(strstr(err.msg, bad[i].want) != NULL, "case %zu: %s", i, err.msg);
        CHECK_INT(s.n_works + s.n_authors, 0);
        md_free(&s);
    }
}

static void test_detect(void)
{
    static const char *const files[] = {"fixtures/orcid/record-3.0.xml",
                                        "fixtures/orcid/record-full-3.0.json",
                                        "fixtures/orcid/works-3.0.xml",
                                        "fixtures/orcid/error-3.0.xml"};
    for (size_t i = 0; i < sizeof files / sizeof *files; i++)
        CHECK_STR(md_detect_name(files[i]), "orcid");
    /* an OpenAlex author naming an ORCID is not an ORCID document */
    const char *oa = "{\"id\":\"https://openalex.org/A5023888391\","
                     "\"orcid\":\"https://orcid.org/0000-0001-6187-6610\"}";
    CHECK_STR(ix_format_detect(oa, strlen(oa))->name, "openalex");
}

int main(void)
{
    RUN(test_record_xml);
    RUN(test_record_json);
    RUN(test_works_xml);
    RUN(test_ids_and_relationships);
    RUN(test_errors);
    RUN(test_hostile);
    RUN(test_detect);
    return check_summary("test_orcid");
}
