-- peergraph graph schema, version 5 (SQLite; twin: schema/postgres/005_author_claims.sql).
-- The figures an author record reported (an OpenAlex author object, a Semantic
-- Scholar author): that source's claims about the author, kept apart from the
-- computed figures on authors and never mixed with them. The claims table keys
-- one figure per source document and cannot hold a list page's or a snapshot's
-- many author records, hence this table: one row per (source document, author
-- record in it, figure, year, rank). record is the author record as the source
-- identifies it ("openalex:A5023888391", "s2:2262347"), so a merge that
-- re-points author_id never makes two rows collide. name is the figure:
--   works_count, cited_by_count, h_index, i10_index, 2yr_mean_citedness:
--     year 0 the record's total; year > 0 its counts_by_year entry
--   last_known_institutions, affiliations: text the institution's name, ref
--     its ROR (else OpenAlex) id URL, rank its place in the list, year one of
--     the years the source gives for it (0: none given)
--   ids: ref the kind (orcid, scopus, twitter, wikipedia, mag, dblp ...), text
--     the id as given, rank its place
--   homepage, updated_date: text as given
-- value is the number (NULL when the figure is text); capture_date is the
-- record's own date (OpenAlex updated_date) else the file's capture date.
-- Author merges re-point author_id and record it in merge_moves as kind 15.
CREATE TABLE author_claims (
  id           INTEGER PRIMARY KEY,
  source_id    INTEGER NOT NULL REFERENCES source_docs(id) ON DELETE CASCADE,
  record       TEXT NOT NULL,
  author_id    INTEGER REFERENCES authors(id) ON DELETE SET NULL,
  name         TEXT NOT NULL,
  year         INTEGER NOT NULL DEFAULT 0,
  rank         INTEGER NOT NULL DEFAULT 0,
  text         TEXT,
  value        REAL,
  ref          TEXT,
  capture_date TEXT,
  UNIQUE (source_id, record, name, year, rank)
);
CREATE INDEX author_claims_author ON author_claims(author_id);
