/* arXiv OAI-PMH (arxiv-oai) and Atom API (arxiv-atom) parsers. Expected values
 * are read off the fixtures in tests/data/fixtures/arxiv (copied from
 * ../shared/fixtures/scholarly/arxiv) and tests/data/arxiv. */
#include "tests/check.h"
#include "tests/unit/mdsink.h"

#define FX "fixtures/arxiv/"

static const ix_author_ref *find_author(const ix_work *w, const char *name)
{
    for (size_t i = 0; i < w->n_authors; i++)
        if (!strcmp(w->authors[i].display_name, name))
            return &w->authors[i];
    return NULL;
}

static void test_oai_getrecord(void)
{
    md_sink s;
    pgr_err err;
    CHECK_MSG(md_parse_file("arxiv-oai", FX "oai_getrecord_arXiv_1305.0014.xml", &s, &err) == 0,
              "%s", err.msg);
    CHECK_INT(s.n_works, 1);
    const ix_work *w = &s.works[0];
    CHECK_STR(w->arxiv_id, "1305.0014");
    CHECK_STR(w->title, "Framework for maximum likelihood analysis of neutron beta decay "
                        "observables to resolve the limits of the V-A law");
    CHECK_STR(w->date, "2013-04-30");
    CHECK_INT(w->year, 2013);
    CHECK_STR(w->doi, "10.1103/physrevc.87.065504");
    CHECK_STR(w->journal_ref, "Phys. Rev. C 87, 065504 (2013)");
    CHECK_STR(w->comments, "as-published version, 16 pages, 2 figures");
    CHECK(!strncmp(w->abstract, "We assess the ability of future neutron beta decay", 50));
    CHECK(strstr(w->abstract, "O(10^{-4})") != NULL); /* LaTeX kept */
    CHECK_INT(w->n_authors, 2);
    CHECK_STR(w->authors[0].display_name, "S. Gardner");
    CHECK_STR(w->authors[1].display_name, "B. Plaster");
    CHECK_INT(w->n_topics, 4);
    CHECK_STR(w->topics[0].code, "hep-ph");
    CHECK_STR(w->topics[3].code, "nucl-th");
    CHECK_INT(w->position, 1);
    md_free(&s);
}

static void test_oai_listrecords(void)
{
    md_sink s;
    pgr_err err;
    CHECK_MSG(md_parse_file("arxiv-oai", FX "oai_listrecords_arXiv_physics-hep-ex_2017.xml", &s,
                            &err) == 0,
              "%s", err.msg);
    CHECK_INT(s.n_works, 3);
    CHECK_STR(s.works[0].arxiv_id, "1706.05371");
    CHECK_STR(s.works[0].title, "Evaluation of Silicon Photomultipliers for use as Photosensors "
                                "in Liquid Xenon Detectors"); /* line wrap squashed */
    CHECK_INT(s.works[0].n_authors, 13);
    CHECK_STR(s.works[0].authors[12].display_name, "Mani Tripathi");
    CHECK_STR(s.works[1].arxiv_id, "1706.09418");
    CHECK_STR(s.works[1].doi, "10.1140/epjc/s10052-017-5414-4");
    CHECK_STR(s.works[1].journal_ref, "Eur. Phys. J. C (2017) 77:856");
    CHECK_STR(s.works[1].authors[2].display_name, "Manuel E. Krauss");
    CHECK_STR(s.works[2].arxiv_id, "1707.00874");
    CHECK_STR(s.works[2].date, "2017-07-04");
    CHECK_INT(s.works[2].position, 3);
    md_free(&s);
}

static void test_oai_edge_cases(void)
{
    md_sink s;
    pgr_err err;
    CHECK_MSG(md_parse_file("arxiv-oai", FX "oai_getrecord_arXiv_edgecases_handedited.xml", &s,
                            &err) == 0,
              "%s", err.msg);
    CHECK_INT(s.n_works, 12);
    /* First record: <arXiv> without its xmlns, collaboration as first author. */
    const ix_work *w = &s.works[0];
    CHECK_STR(w->arxiv_id, "1601.03238");
    CHECK_STR(w->doi, "10.1103/physrevd.93.016005");
    CHECK_INT(w->n_authors, 5);
    CHECK_STR(w->authors[0].display_name, "Planck Collaboration");
    CHECK_STR(w->authors[1].display_name, "Jieci Wang");
    /* Keyname ":" (collaboration separator) is not an author. */
    w = &s.works[4];
    CHECK_STR(w->arxiv_id, "1603.05976");
    CHECK_INT(w->n_authors, 6);
    CHECK(find_author(w, ":") == NULL);
    CHECK_STR(w->authors[2].display_name, "P. Ade");
    /* Two keynames and two affiliations on one author. */
    w = &s.works[7];
    CHECK_STR(w->arxiv_id, "1606.07066");
    CHECK_STR(w->authors[0].display_name, "Curtis J. Saxton Walton");
    CHECK_STR(w->authors[0].affiliation, "Technion; DESY");
    CHECK_STR(w->authors[1].affiliation, "U.Frankfurt");
    /* Entities decoded; UTF-8 names intact. */
    CHECK(strstr(s.works[2].comments, "\"The 8th International Workshopon Chiral Dynamics") !=
          NULL);
    CHECK(find_author(&s.works[5], "Günter Burigana") != NULL);
    CHECK_STR(s.works[5].authors[0].affiliation, "on behalf of Planck Collaboration");
    CHECK(find_author(&s.works[8], ":") == NULL);
    md_free(&s);
}

static void test_oai_errors(void)
{
    md_sink s;
    pgr_err err;
    CHECK_INT(md_parse_file("arxiv-oai", FX "oai_error_idDoesNotExist_malformed.xml", &s, &err),
              -1);
    md_free(&s);
    CHECK_INT(err.code, PGR_ENOTFOUND);
    CHECK(strstr(err.msg, "OAI-PMH error idDoesNotExist") != NULL);
    CHECK(strstr(err.msg, "Malformed identifier `oai:arXiv.org:is-malformed'") != NULL);
    CHECK(strstr(err.msg, "line 5") != NULL);
    CHECK_INT(md_parse_file("arxiv-oai", FX "oai_error_idDoesNotExist_wellformed.xml", &s, &err),
              -1);
    md_free(&s);
    CHECK(strstr(err.msg,
                 "idDoesNotExist: Identifier 'oai:arXiv.org:1305.9999' has correct form") != NULL);

    const char *nrm =
        "<?xml version=\"1.0\"?><OAI-PMH xmlns=\"http://www.openarchives.org/OAI/2.0/\">"
        "<responseDate>2026-01-01T00:00:00Z</responseDate><request verb=\"ListRecords\">"
        "http://export.arxiv.org/oai2</request><error code=\"noRecordsMatch\">"
        "no records</error></OAI-PMH>";
    const ix_format *f = ix_format_by_name("arxiv-oai");
    CHECK_INT(md_parse_buf(f, "n.xml", nrm, strlen(nrm), &s, &err), 0);
    CHECK_INT(s.n_works, 0);
    md_free(&s);
    CHECK(strstr(err.msg, "noRecordsMatch") != NULL);
    const char *bad = "<OAI-PMH><error code=\"badArgument\">Illegal argument</error></OAI-PMH>";
    CHECK_INT(md_parse_buf(f, "b.xml", bad, strlen(bad), &s, &err), -1);
    md_free(&s);
    CHECK_INT(err.code, PGR_EINVAL);
    CHECK(strstr(err.msg, "badArgument: Illegal argument") != NULL);
}

static void test_oai_raw_and_dc(void)
{
    md_sink s;
    pgr_err err;
    CHECK_MSG(md_parse_file("arxiv-oai", "arxiv/oai_arXivRaw_and_dc.xml", &s, &err) == 0, "%s",
              err.msg);
    CHECK_INT(s.n_works, 2); /* the deleted record is skipped */
    const ix_work *w = &s.works[0];
    CHECK_STR(w->arxiv_id, "0704.0001");
    CHECK_INT(w->arxiv_version, 2);
    CHECK_STR(w->date, "2007-04-02");
    CHECK_INT(w->n_authors, 4);
    CHECK_STR(w->authors[0].raw_name, "C. Bal\\'azs");
    CHECK_STR(w->authors[3].raw_name, "C.-P. Yuan");
    CHECK_STR(w->doi, "10.1103/physrevd.76.013009");
    w = &s.works[1];
    CHECK_STR(w->arxiv_id, "0704.0002");
    CHECK_STR(w->title, "Sparsity-certifying Graph Decompositions");
    CHECK_INT(w->n_authors, 2);
    CHECK_STR(w->authors[0].raw_name, "Streinu, Ileana");
    CHECK_STR(w->authors[0].display_name, "Ileana Streinu");
    CHECK_STR(w->date, "2007-03-31");
    CHECK(!strncmp(w->abstract, "We describe a new algorithm", 27));
    CHECK(strstr(err.msg, "1 deleted record") != NULL);
    CHECK(strstr(err.msg, "resumptionToken 6960524|1001") != NULL);
    md_free(&s);
}

static void test_atom_legacy(void)
{
    md_sink s;
    pgr_err err;
    CHECK_MSG(md_parse_file("arxiv-atom", FX "atom_legacy2016_idlist_1111.2011v2.xml", &s, &err) ==
                  0,
              "%s", err.msg);
    CHECK_INT(s.n_works, 1);
    const ix_work *w = &s.works[0];
    CHECK_STR(w->arxiv_id, "1111.2011");
    CHECK_INT(w->arxiv_version, 2);
    CHECK_STR(w->title, "Quantum Criticality for Extended Nodes on a Bethe Lattice in the Large "
                        "Connectivity Limit");
    CHECK_STR(w->date, "2011-11-08");
    CHECK_STR(w->doi, "10.1103/physrevb.85.115117");
    CHECK_STR(w->comments, "8 pages, 3 figures. Published version");
    CHECK_STR(w->journal_ref, "Phys. Rev. B 85, 115117 (2012)");
    CHECK_INT(w->n_authors, 3);
    CHECK_STR(w->authors[1].display_name, "Adrian Del Maestro");
    CHECK_INT(w->n_topics, 2);
    CHECK_STR(w->topics[0].code, "cond-mat.str-el"); /* primary first */
    CHECK_STR(w->topics[1].code, "cond-mat.stat-mech");
    CHECK(!strncmp(w->abstract, "Theoretical description of anisotropic systems", 46));
    md_free(&s);
}

static void test_atom_2026_wrapped(void)
{
    md_sink s;
    pgr_err err;
    CHECK_MSG(md_parse_file("arxiv-atom", FX "atom_2026_search_testing_start0_max10.wrapped.json",
                            &s, &err) == 0,
              "%s", err.msg);
    CHECK_INT(s.n_works, 10);
    const ix_work *w = &s.works[0];
    CHECK_STR(w->arxiv_id, "2202.12139");
    CHECK_INT(w->arxiv_version, 1);
    CHECK_STR(w->title, "Testing Deep Learning Models: A First Comparative Study of Multiple "
                        "Testing Techniques");
    CHECK_STR(w->doi, "10.1109/icstw55395.2022.00035");
    CHECK_STR(w->topics[0].code, "cs.SE");
    CHECK_STR(w->topics[1].code, "cs.LG");
    CHECK_STR(w->authors[0].display_name, "Mohit Kumar Ahuja");
    CHECK_STR(w->date, "2022-02-24");
    CHECK_STR(s.works[3].arxiv_id, "2204.08348");
    CHECK_INT(s.works[3].arxiv_version, 3);
    CHECK_STR(s.works[9].arxiv_id, "1812.11470");
    CHECK_INT(s.works[9].position, 10);
    md_free(&s);

    CHECK_MSG(md_parse_file("arxiv-atom", FX "atom_2026_idlist_two_ids.wrapped.json", &s, &err) ==
                  0,
              "%s", err.msg);
    CHECK_INT(s.n_works, 1); /* 0808.05394 is not a valid id: one entry only */
    w = &s.works[0];
    CHECK_STR(w->arxiv_id, "1707.08567");
    CHECK_STR(w->comments,
              "44 pages, editors for the proceedings: Yanling Chen and A. J. Han Vinck");
    CHECK_STR(w->topics[0].code, "cs.IT");
    /* The recording's Latin-1 mojibake ("WÃ¼bben") is repaired. */
    CHECK(find_author(w, "Dirk Wübben") != NULL);
    CHECK_STR(w->authors[0].display_name, "Kees A. Schouhamer Immink");
    md_free(&s);
}

static void test_atom_errors(void)
{
    md_sink s;
    pgr_err err;
    CHECK_INT(md_parse_file("arxiv-atom", FX "atom_2026_error_bad_id_400.wrapped.json", &s, &err),
              -1);
    CHECK_INT(s.n_works, 0);
    md_free(&s);
    CHECK(strstr(err.msg, "HTTP 400") != NULL);
    CHECK(strstr(err.msg, "incorrect id format for abc") != NULL);
    CHECK(strstr(err.msg, "errors#incorrect_id_format_for_abc") != NULL);

    CHECK_INT(md_parse_file("arxiv-atom", FX "atom_2026_empty_result.wrapped.json", &s, &err), 0);
    CHECK_INT(s.n_works, 0);
    md_free(&s);
    CHECK(strstr(err.msg, "totalResults 0") != NULL);

    const char *w500 =
        "{\"url\":\"https://export.arxiv.org/api/query?id_list=1\",\"status_code\":503,"
        "\"body\":\"<feed xmlns=\\\"http://www.w3.org/2005/Atom\\\"></feed>\"}";
    const ix_format *f = ix_format_by_name("arxiv-atom");
    CHECK_INT(md_parse_buf(f, "w", w500, strlen(w500), &s, &err), -1);
    md_free(&s);
    CHECK(strstr(err.msg, "HTTP 503") != NULL);
}

static void test_xml_hostile(void)
{
    static const struct {
        const char *fmt, *text, *want;
    } cases[] = {
        /* billion laughs: refused before libxml2 sees the DTD */
        {"arxiv-oai",
         "<?xml version=\"1.0\"?><!DOCTYPE lolz [<!ENTITY lol \"lol\"><!ENTITY lol2 "
         "\"&lol;&lol;&lol;&lol;\">]><OAI-PMH>&lol2;</OAI-PMH>",
         "DOCTYPE"},
        /* external entity (XXE) */
        {"arxiv-atom",
         "<!DOCTYPE feed [<!ENTITY x SYSTEM \"file:///etc/passwd\">]><feed>&x;</feed>", "DOCTYPE"},
        {"arxiv-oai", "<OAI-PMH><GetRecord><record><metadata><arXiv><id>1305.0014</id>",
         "invalid XML"},                                                     /* truncated */
        {"arxiv-oai", "<OAI-PMH>&eacute;</OAI-PMH>", "line 1"},              /* undeclared entity */
        {"arxiv-oai", "<OAI-PMH>\xff\xfe\x00\x01</OAI-PMH>", "invalid XML"}, /* bad UTF-8 */
        {"arxiv-oai", "<html><body>Service Unavailable</body></html>", "is not <OAI-PMH>"},
        {"arxiv-atom", "<OAI-PMH/>", "is not an Atom <feed>"},
        {"arxiv-oai",
         "<OAI-PMH><GetRecord><record><header><identifier>oai:arXiv.org:1305.0014"
         "</identifier></header><metadata><arXiv><id>1305.0014</id><created>99999-01-01"
         "</created><title>T</title></arXiv></metadata></record></GetRecord></OAI-PMH>",
         "bad date"}, /* absurd year */
        {"arxiv-atom",
         "<feed><entry><id>http://arxiv.org/abs/2202.12139v1</id><title>T</title>"
         "<published>1e308</published></entry></feed>",
         "bad published date"},
        {"arxiv-atom", "<feed><entry><id>http://example.org/x</id><title>T</title></entry></feed>",
         "not an arXiv"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        md_sink s;
        pgr_err err;
        const ix_format *f = ix_format_by_name(cases[i].fmt);
        size_t len = strlen(cases[i].text);
        if (i == 4)
            len = strlen("<OAI-PMH>\xff\xfe") + 12; /* past the embedded NUL */
        int rc = md_parse_buf(f, "x.xml", cases[i].text, len, &s, &err);
        CHECK_INT(s.n_works, 0);
        md_free(&s);
        CHECK_MSG(rc == -1, "case %zu accepted", i);
        CHECK_MSG(strstr(err.msg, cases[i].want) != NULL, "case %zu: \"%s\" lacks \"%s\"", i,
                  err.msg, cases[i].want);
    }
    /* Deep nesting: libxml2's depth limit, reported with a line. */
    pgr_sb sb = {0};
    pgr_sb_puts(&sb, "<OAI-PMH>");
    for (int i = 0; i < 5000; i++)
        pgr_sb_puts(&sb, "<a>");
    md_sink s;
    pgr_err err;
    CHECK_INT(md_parse_buf(ix_format_by_name("arxiv-oai"), "d.xml", sb.data, sb.len, &s, &err), -1);
    md_free(&s);
    pgr_sb_free(&sb);
    CHECK(strstr(err.msg, "line 1") != NULL);
}

static void test_detect(void)
{
    static const struct {
        const char *file, *fmt;
    } cases[] = {
        {FX "oai_getrecord_arXiv_1305.0014.xml", "arxiv-oai"},
        {FX "oai_getrecord_arXiv_edgecases_handedited.xml", "arxiv-oai"},
        {FX "oai_error_idDoesNotExist_malformed.xml", "arxiv-oai"},
        {FX "atom_legacy2016_idlist_1111.2011v2.xml", "arxiv-atom"},
        {FX "atom_2026_empty_result.wrapped.json", "arxiv-atom"},
        {FX "atom_2026_error_bad_id_400.wrapped.json", "arxiv-atom"},
        {"arxiv/oai_arXivRaw_and_dc.xml", "arxiv-oai"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        size_t len;
        char *d = md_read(cases[i].file, &len);
        CHECK_MSG(d != NULL, "cannot read %s", cases[i].file);
        const ix_format *f = ix_format_detect(d, len);
        free(d);
        CHECK_MSG(f && !strcmp(f->name, cases[i].fmt), "%s detected as %s", cases[i].file,
                  f ? f->name : "(none)");
    }
}

int main(void)
{
    RUN(test_oai_getrecord);
    RUN(test_oai_listrecords);
    RUN(test_oai_edge_cases);
    RUN(test_oai_errors);
    RUN(test_oai_raw_and_dc);
    RUN(test_atom_legacy);
    RUN(test_atom_2026_wrapped);
    RUN(test_atom_errors);
    RUN(test_xml_hostile);
    RUN(test_detect);
    return check_summary("test_arxiv_xml");
}
