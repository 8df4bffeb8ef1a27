#ifndef PEERGRAPH_TEST_PAGEGEN_H
#define PEERGRAPH_TEST_PAGEGEN_H
/* Test support: a generator of profile pages of the four seed site families
 * (docs/profile-pages.md), rendered byte for byte the way the sites render
 * the seeds (tests/data/seeds), with the truth kept for every entry.
 *
 * A world is one researcher (the owner) with a pool of papers and
 * co-authors; a page shows some of those papers in one family's layout, so
 * pages of the same owner share papers (as 000 and 001 share PreFT). Only
 * what real pages vary is varied: names of many shapes (particles,
 * hyphens, initials, apostrophes, diacritics, romanised CJK, rarely an
 * all-caps given name), titles with inner capitals, digits, acronyms and
 * colons, abstracts present or absent, truncated author lists, dates with
 * and without the year, Code flags, scores, affiliations, the owner at any
 * author position, 1..60 entries. Everything is deterministic from the seed.
 *
 * Ownership: a world and a page own their memory; pg_world_free and
 * pg_page_free release it. A page points into its world's papers. */
#include <stddef.h>
#include <stdint.h>

enum { PG_RESEARCHGRAPH, PG_ARXIVPROFILE, PG_METRICSCARD, PG_METRICSLIST, PG_NFAMILIES };

#define PG_NAME 96
#define PG_MAX_AUTH 14
#define PG_MAX_ENTRIES 60

typedef struct pg_paper {
    char title[384];
    char abstract[1024]; /* "" when the site shows none */
    int n_authors;       /* the full list; pages print some of it */
    char authors[PG_MAX_AUTH][PG_NAME];
    int owner_pos;       /* 0-based position of the owner in authors */
    int y, m, d;         /* the date */
    char cat[4];         /* site category code: "CL" */
    int has_code;
    char arxiv[24];      /* "2605.14217" or "hep-th/0501001" */
    int version;
    long cites;
    char kind[24];       /* researchgraph: "preprint", "article", ... */
    char venue[160];     /* researchgraph: "arXiv", "" when none */
    char affiliation[80]; /* metrics card/list " · aff", "" when none */
} pg_paper;

typedef struct pg_world {
    char owner[PG_NAME];
    int n_pool;
    char (*pool)[PG_NAME]; /* co-authors */
    int n_papers;
    pg_paper *papers;
} pg_world;

/* One entry of a page: which paper, and what the page prints of it. */
typedef struct pg_entry {
    const pg_paper *p;
    int n_printed;       /* authors printed (the first n_printed of p->authors) */
    char truncated[12];  /* "et al.", "+3", or "" for a complete list */
    int year_printed;    /* the date shows its year */
    double score;        /* metrics list "[score]", NAN when not printed */
    long rank;           /* arXiv profile "#N" */
} pg_entry;

typedef struct pg_page {
    int family;
    char capture[11];      /* "YYYY-MM-DD": the ingest's --as-of */
    const char *owner;     /* the world's owner */
    int header_owner;      /* the page prints the owner's name */
    char category[4];      /* metrics card header category, "" when none */
    char affiliation[128]; /* researchgraph header affiliation, "" when none */
    /* site claims as printed: -1 when the family has none */
    long h_index, citations, papers, trust, level, claimed, works, followers, topics,
        collaborators, novelty, ai_score;
    char trust_text[48];
    int n;
    pg_entry e[PG_MAX_ENTRIES];
    char *text; /* the page, malloc'd */
    size_t len;
} pg_page;

/* A world of n_papers (<= 200) papers by one owner; 0 ok, -1 out of memory. */
int pg_world_make(pg_world *w, uint64_t seed, int n_papers);
void pg_world_free(pg_world *w);

/* Renders a page of `family` showing n (1..PG_MAX_ENTRIES, <= the world's
 * papers) of the world's papers, chosen and ordered from seed. 0 ok, -1 out
 * of memory. */
int pg_page_make(pg_page *pg, const pg_world *w, int family, uint64_t seed, int n);
void pg_page_free(pg_page *pg);

/* The format name ingest uses for a family ("metrics-list", ...). */
const char *pg_family_format(int family);

/* Shapes of the names the generator draws, for the tests' reports. */
int pg_name_tokens(const char *name);

#endif
