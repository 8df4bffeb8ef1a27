/* The registry of input formats. Each parser file provides its ix_format
 * entry functions; detection picks the highest score. */
#include <string.h>

#include "indexer/metadata.h"
#include "indexer/record.h"
#include "indexer/seed_common.h"

const ix_format ix_formats[] = {
    /* Paper metadata (indexer/metadata.h): JSON/XML only, never plain text. */
    {"arxiv-snapshot", "arXiv bulk metadata snapshot (JSON lines)", ix_arxiv_snapshot_detect,
     ix_arxiv_snapshot_parse},
    {"arxiv-oai", "arXiv OAI-PMH GetRecord/ListRecords (arXiv, arXivRaw, oai_dc)",
     ix_arxiv_oai_detect, ix_arxiv_oai_parse},
    {"arxiv-atom", "arXiv API Atom feed (or its {url,status_code,body} recording)",
     ix_arxiv_atom_detect, ix_arxiv_atom_parse},
    {"openalex", "OpenAlex works/authors: entity, list page, JSON lines snapshot",
     ix_openalex_detect, ix_openalex_parse},
    {"s2", "Semantic Scholar papers/authors: objects, pages, batches, citation items",
     ix_s2_detect, ix_s2_parse},
    {"orcid", "ORCID v3.0 record/person/activities/works (XML or JSON), and ORCID errors",
     ix_orcid_detect, ix_orcid_parse},
    {"dblp", "DBLP XML (dblp.xml dump, record exports): article, inproceedings, book, ...",
     ix_dblp_detect, ix_dblp_parse},
    {"bibtex", "BibTeX .bib: @article/@inproceedings/... entries, @string macros",
     ix_bibtex_detect, ix_bibtex_parse},
    /* profile pages (indexer/seed_*.c) */
    {"researchgraph", "research graph profile page (trust snapshot, published work)",
     seed_researchgraph_detect, seed_researchgraph_parse},
    {"arxiv-profile", "arXiv-backed profile page (total citations, #rank arXiv-id entries)",
     seed_arxivprofile_detect, seed_arxivprofile_parse},
    {"metrics-card", "metrics card profile page (h-index, novelty, AI score; entries CATEGORYDate)",
     seed_metricscard_detect, seed_metricscard_parse},
    {"metrics-list", "compact metrics list (\"[score]CATEGORYDate[Code]\", title glued to authors)",
     seed_metricslist_detect, seed_metricslist_parse},
    {NULL, NULL, NULL, NULL},
};

const ix_format *ix_format_by_name(const char *name)
{
    for (const ix_format *f = ix_formats; f->name; f++)
        if (!strcmp(f->name, name))
            return f;
    return NULL;
}

const ix_format *ix_format_detect(const char *data, size_t len)
{
    const ix_format *best = NULL;
    int best_score = 0;
    for (const ix_format *f = ix_formats; f->name; f++) {
        int s = f->detect(data, len);
        if (s > best_score) {
            best_score = s;
            best = f;
        }
    }
    return best;
}
