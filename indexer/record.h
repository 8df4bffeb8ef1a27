#ifndef PEERGRAPH_RECORD_H
#define PEERGRAPH_RECORD_H
/* The contract between the indexer's parsers and its graph builder.
 *
 * A parser reads one source file (already in memory) and emits records through
 * an ix_sink: works, author records and at most one profile (page owner +
 * site claims). Everything a parser emits is borrowed: it lives in the parser's
 * arena until the parser returns, so the sink copies what it keeps.
 * A parser that returns -1 has filled err with the place ("line 12: ...",
 * "offset 3456: ..."); the builder then rolls back the whole file.
 *
 * Strings are UTF-8 (parsers reject or repair invalid UTF-8 and say which),
 * NULL when the source does not give the field. Numbers use -1 / NAN for
 * "not given" as noted per field. */
#include <stddef.h>
#include <stdint.h>

#include "graph/util.h"

typedef struct ix_author_ref {
    const char *raw_name;     /* exactly as printed, e.g. "Zhengxuan Wu" or "Wu, Z." */
    const char *display_name; /* "Given Family" when the source splits names, else raw */
    const char *affiliation;  /* raw affiliation string for this authorship, or NULL */
    const char *orcid;        /* external ids when the source gives them */
    const char *openalex_id;  /* "A5023888391" */
    const char *s2_id;        /* Semantic Scholar authorId */
} ix_author_ref;

typedef struct ix_topic_ref {
    const char *scheme;       /* "arxiv" (cs.CL), "openalex" (T11636), "s2" (field of study), "site" */
    const char *code;         /* "cs.CL", "T11636", "Computer Science", "CL" (site short code) */
    const char *name;         /* display name when given */
    double score;             /* weight 0..1, NAN when not given (OpenAlex
                               * x_concepts: their 0..100 score as given) */
    long count;               /* the source's count (OpenAlex author topics: the
                               * author's works with the topic); -1 when not
                               * given; read only from author records */
    /* OpenAlex topics: description (topic objects) and the display names of
     * their subfield, field and domain; NULL when not given */
    const char *description, *subfield, *field, *domain;
} ix_topic_ref;

typedef struct ix_year_count {
    int year;
    long works_count;         /* -1 when not given */
    long cited_by_count;      /* -1 when not given */
} ix_year_count;

typedef struct ix_work {
    const char *title;        /* as written (LaTeX kept) */
    const char *abstract;     /* as written, NULL when absent */
    const ix_author_ref *authors;
    size_t n_authors;
    const char *authors_truncated; /* the source's cut marker: "+2", "et al.", NULL when complete */
    int year;                 /* 0 when unknown */
    const char *date;         /* "YYYY-MM-DD", or NULL (year-only sources) */
    const char *type;         /* "preprint", "article", ... as the source says, NULL if unknown */
    const char *venue;        /* journal/conference/site venue ("arXiv"), NULL if unknown */
    const char *arxiv_id;     /* canonical, version stripped: "2605.14217", "hep-th/9901001" */
    int arxiv_version;        /* 1.. or 0 when unknown */
    const char *doi;          /* canonical lowercase "10.1145/3292500", no URL prefix */
    const char *openalex_id;  /* "W2741809807" */
    const char *s2_id;        /* paperId (40 hex) or "CorpusId:NNN" */
    const char *pmid;
    const ix_topic_ref *topics;
    size_t n_topics;
    int has_code;             /* 1 yes, 0 no, -1 not stated */
    double score;             /* site score ("[score]" on 004), NAN when not given */
    long cited_by_count;      /* per-paper citations as the source says, -1 when not given */
    const ix_year_count *counts_by_year;
    size_t n_counts_by_year;
    const char *const *references; /* cited works' ids, each "doi:...", "arxiv:...",
                                    * "openalex:W...", "s2:..." */
    size_t n_references;
    const char *comments;     /* arXiv comments / journal-ref etc., NULL if none */
    const char *journal_ref;
    const char *language;
    const char *tldr;         /* Semantic Scholar's one-sentence summary, NULL if none */
    const char *tldr_model;   /* and the model that wrote it */
    long position;            /* 1-based rank of the entry on a page/listing, 0 if n/a */
    long line;                /* line (or record number) where the entry starts, for errors */
} ix_work;

/* An institution an author record names (OpenAlex last_known_institutions
 * and affiliations, S2 affiliations), as the source gives it. */
typedef struct ix_inst_ref {
    const char *name;         /* display name (S2: the affiliation string) */
    const char *ror;          /* "https://ror.org/02nr0ka47" when given, else NULL */
    const char *openalex_id;  /* "I4200000001" when given, else NULL */
    const int *years;         /* OpenAlex affiliations: the years given, in order */
    size_t n_years;
} ix_inst_ref;

/* An external id of an author record: kind as the source names it, lower
 * case ("orcid", "scopus", "twitter", "wikipedia", "mag", "dblp"), value as
 * given (URL or bare id; an ORCID iD canonical "0000-0001-6187-6610"). */
typedef struct ix_ext_id {
    const char *kind;
    const char *value;
} ix_ext_id;

/* An author record on its own (OpenAlex author object, S2 author). */
typedef struct ix_author {
    const char *display_name;
    const char *const *alternatives;
    size_t n_alternatives;
    const char *orcid, *openalex_id, *s2_id;
    const char *affiliation;        /* last known institution's name */
    const char *institution_ror;    /* ror id of it, when given */
    long works_count;               /* as the source says, -1 if not given */
    long cited_by_count;
    long h_index, i10_index;        /* -1 if not given */
    const ix_year_count *counts_by_year;
    size_t n_counts_by_year;
    /* What the source says of the author's topics, kept as its claims:
     * topics (OpenAlex "topics": count), topic_share ("topic_share": score =
     * its value) and concepts ("x_concepts": score 0..100, codes "C..."). */
    const ix_topic_ref *topics;
    size_t n_topics;
    const ix_topic_ref *topic_share;
    size_t n_topic_share;
    const ix_topic_ref *concepts;
    size_t n_concepts;
    /* Also the source's claims: OpenAlex summary_stats.2yr_mean_citedness
     * (NAN when not given); the record's institutions (OpenAlex
     * last_known_institutions and affiliations with their years, S2
     * affiliations); its external ids (OpenAlex ids, S2 externalIds) in the
     * source's order; S2 homepage; the record's own date (OpenAlex
     * updated_date as given, and its "YYYY-MM-DD" part in updated_day). */
    double mean_citedness_2yr;
    const ix_inst_ref *last_known;
    size_t n_last_known;
    const ix_inst_ref *affiliations;
    size_t n_affiliations;
    const ix_ext_id *ids;
    size_t n_ids;
    const char *homepage;
    const char *updated_date;
    const char *updated_day;
    long line;                      /* line (or record number) where it starts, 0 if n/a */
    long position;                  /* 1-based place in a listing (results[]), 0 if n/a */
} ix_author;

/* A figure a profile page reports about its owner, kept as that page's claim. */
typedef struct ix_claim {
    const char *name;  /* canonical key: "h_index", "citations", "papers", "trust",
                        * "verification_level", "claimed", "followers", "topics",
                        * "close_collaborators", "novelty_pct", "ai_score", "works" */
    const char *text;  /* exactly as shown: "Trust 21 - Emerging", "55%" */
    double value;      /* numeric value, NAN when not numeric */
} ix_claim;

/* How the owner of a profile page was decided. */
typedef enum { IX_OWNER_HEADER, IX_OWNER_INFERRED, IX_OWNER_OVERRIDE } ix_owner_method;

typedef struct ix_profile {
    const char *site;          /* site family id: "researchgraph", "arxiv-profile", "metrics-card", ... */
    const char *owner_name;    /* NULL only if no owner could be decided */
    ix_owner_method method;
    double confidence;         /* 0..1 */
    const char *runner_up;     /* next candidate when inferred, or NULL */
    double runner_up_confidence;
    const char *evidence;      /* one line explaining the decision */
    const char *affiliation;   /* as shown in the header, or NULL */
    const char *category;      /* header category code ("CL" on 003), or NULL */
    const ix_claim *claims;
    size_t n_claims;
    /* Works are emitted separately; the builder links each work emitted by
     * this file to the owner (the owner is one of its authors, possibly hidden
     * by a truncated list). */
} ix_profile;

typedef struct ix_sink {
    void *ctx;
    int (*work)(void *ctx, const ix_work *w, pgr_err *err);
    int (*author)(void *ctx, const ix_author *a, pgr_err *err);
    int (*profile)(void *ctx, const ix_profile *p, pgr_err *err);
    /* a topic object on its own (OpenAlex /topics/T..); NULL: not wanted */
    int (*topic)(void *ctx, const ix_topic_ref *t, pgr_err *err);
} ix_sink;

typedef struct ix_input {
    const char *path;          /* for messages */
    const char *data;          /* whole file, decompressed; NUL-terminated */
    size_t len;
    char capture_date[11];     /* "YYYY-MM-DD": --as-of, else the file's mtime */
    const char *owner_override;/* --owner NAME, or NULL */
} ix_input;

/* A format: detect() scores how sure it is that the input is this format
 * (0 = no, 100 = certain) from content only; parse() emits the records. */
typedef struct ix_format {
    const char *name;          /* --format NAME */
    const char *description;
    int (*detect)(const char *data, size_t len);
    int (*parse)(const ix_input *in, const ix_sink *sink, pgr_err *err);
} ix_format;

/* The registry of formats (indexer/formats.c); ends with a NULL name. */
extern const ix_format ix_formats[];
const ix_format *ix_format_by_name(const char *name);
/* Best-scoring format for the content, or NULL when none scores above 0. */
const ix_format *ix_format_detect(const char *data, size_t len);

#endif
