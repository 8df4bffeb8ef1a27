-- peergraph graph schema, version 1 (SQLite). The PostgreSQL twin is
-- schema/postgres/001_graph.sql: same tables, columns and meanings.
-- Dates are ISO-8601 text; timestamps "YYYY-MM-DDTHH:MM:SSZ" UTC, written by the store.
-- Columns named *_count / h_index / ... on authors, topics and venues are
-- COMPUTED by the store (pgr_metrics_recompute), never copied from a source;
-- what sources say about an author lives in claims.

CREATE TABLE store_meta (
  key   TEXT PRIMARY KEY,
  value INTEGER NOT NULL
);
INSERT INTO store_meta (key, value) VALUES ('data_version', 0);

CREATE TABLE ingest_runs (
  id          INTEGER PRIMARY KEY,
  started_at  TEXT NOT NULL,
  finished_at TEXT,
  status      TEXT NOT NULL DEFAULT 'running',
  args        TEXT,
  summary     TEXT
);

-- One row per source file (profile page, arXiv dump, OpenAlex page...).
CREATE TABLE source_docs (
  id           INTEGER PRIMARY KEY,
  uri          TEXT NOT NULL UNIQUE,
  format       TEXT,
  sha256       TEXT NOT NULL,
  capture_date TEXT,
  run_id       INTEGER REFERENCES ingest_runs(id) ON DELETE SET NULL,
  ingested_at  TEXT NOT NULL
);

-- Venues ("sources" in the API: journals, conferences, arXiv).
CREATE TABLE venues (
  id             INTEGER PRIMARY KEY,
  display_name   TEXT NOT NULL,
  norm_name      TEXT NOT NULL UNIQUE,
  works_count    INTEGER NOT NULL DEFAULT 0,
  cited_by_count INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX venues_works_count ON venues(works_count);

CREATE TABLE institutions (
  id             INTEGER PRIMARY KEY,
  display_name   TEXT NOT NULL,
  norm_name      TEXT NOT NULL,
  ror            TEXT UNIQUE,
  country_code   TEXT,
  works_count    INTEGER NOT NULL DEFAULT 0,
  cited_by_count INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX institutions_norm_name ON institutions(norm_name);
CREATE INDEX institutions_works_count ON institutions(works_count);

CREATE TABLE works (
  id                 INTEGER PRIMARY KEY,
  arxiv_id           TEXT UNIQUE,
  doi                TEXT UNIQUE,
  openalex_id        TEXT UNIQUE,
  s2_id              TEXT UNIQUE,
  title              TEXT NOT NULL DEFAULT '',
  norm_title         TEXT NOT NULL DEFAULT '',
  year               INTEGER,
  date               TEXT,
  sort_date          TEXT NOT NULL DEFAULT '',   -- date, else year, else '': a total order
  type               TEXT,
  venue_id           INTEGER REFERENCES venues(id) ON DELETE SET NULL,
  abstract           TEXT,
  authors_truncated  TEXT,                       -- the source's cut marker: "+2", "et al."
  src_cited_by_count INTEGER,                    -- as the sources said (largest), NULL unknown
  cited_by_count     INTEGER NOT NULL DEFAULT 0, -- max(source figure, citations in the graph)
  has_code           INTEGER,                    -- 1/0, NULL unknown
  score              REAL,                       -- a site's score for the entry
  arxiv_version      INTEGER,
  language           TEXT
);
CREATE INDEX works_norm_title_year ON works(norm_title, year);
CREATE INDEX works_year ON works(year, id);
CREATE INDEX works_type ON works(type, id);
CREATE INDEX works_has_code ON works(has_code, id);
CREATE INDEX works_cited_by_count ON works(cited_by_count, id);
CREATE INDEX works_sort_date ON works(sort_date, id);
CREATE INDEX works_venue ON works(venue_id, id);

CREATE TABLE authors (
  id             INTEGER PRIMARY KEY,
  display_name   TEXT NOT NULL,
  norm_name      TEXT NOT NULL,
  orcid          TEXT UNIQUE,
  openalex_id    TEXT UNIQUE,
  s2_id          TEXT UNIQUE,
  merged_into    INTEGER REFERENCES authors(id) ON DELETE SET NULL,
  works_count    INTEGER NOT NULL DEFAULT 0,    -- computed
  cited_by_count INTEGER NOT NULL DEFAULT 0,    -- computed
  h_index        INTEGER NOT NULL DEFAULT 0,    -- computed
  i10_index      INTEGER NOT NULL DEFAULT 0,    -- computed
  coauthor_count INTEGER NOT NULL DEFAULT 0     -- computed
);
CREATE INDEX authors_norm_name ON authors(norm_name, id);
CREATE INDEX authors_works_count ON authors(works_count, id);
CREATE INDEX authors_cited_by_count ON authors(cited_by_count, id);
CREATE INDEX authors_merged_into ON authors(merged_into);

-- Names under which an author appears in sources.
CREATE TABLE author_names (
  id        INTEGER PRIMARY KEY,
  author_id INTEGER NOT NULL REFERENCES authors(id) ON DELETE CASCADE,
  name      TEXT NOT NULL,
  norm_name TEXT NOT NULL,
  UNIQUE (author_id, name)
);
CREATE INDEX author_names_norm ON author_names(norm_name);

CREATE TABLE authorships (
  id             INTEGER PRIMARY KEY,
  work_id        INTEGER NOT NULL REFERENCES works(id) ON DELETE CASCADE,
  author_id      INTEGER NOT NULL REFERENCES authors(id) ON DELETE CASCADE,
  position       INTEGER NOT NULL,              -- 1-based, as printed
  raw_name       TEXT,                          -- exactly as printed
  affiliation    TEXT,                          -- raw affiliation string
  institution_id INTEGER REFERENCES institutions(id) ON DELETE SET NULL,
  UNIQUE (work_id, author_id)
);
CREATE INDEX authorships_author ON authorships(author_id, work_id);
CREATE INDEX authorships_institution ON authorships(institution_id);

CREATE TABLE topics (
  id             INTEGER PRIMARY KEY,
  scheme         TEXT NOT NULL,                 -- arxiv, openalex, s2, keyword, site
  code           TEXT NOT NULL,
  display_name   TEXT,
  norm_name      TEXT NOT NULL DEFAULT '',
  works_count    INTEGER NOT NULL DEFAULT 0,    -- computed
  cited_by_count INTEGER NOT NULL DEFAULT 0,    -- computed
  UNIQUE (scheme, code)
);
CREATE INDEX topics_works_count ON topics(works_count, id);

CREATE TABLE work_topics (
  id       INTEGER PRIMARY KEY,
  work_id  INTEGER NOT NULL REFERENCES works(id) ON DELETE CASCADE,
  topic_id INTEGER NOT NULL REFERENCES topics(id) ON DELETE CASCADE,
  weight   REAL,
  UNIQUE (work_id, topic_id)
);
CREATE INDEX work_topics_topic ON work_topics(topic_id, work_id);

-- Computed: an author's topics (count of their works with the topic, share of their works).
CREATE TABLE author_topics (
  author_id INTEGER NOT NULL REFERENCES authors(id) ON DELETE CASCADE,
  topic_id  INTEGER NOT NULL REFERENCES topics(id) ON DELETE CASCADE,
  count     INTEGER NOT NULL,
  share     REAL NOT NULL,
  PRIMARY KEY (author_id, topic_id)
);
CREATE INDEX author_topics_topic ON author_topics(topic_id, author_id);

-- A work's reference as the source gave it; cited_id once it resolves to a work here.
CREATE TABLE citations (
  id        INTEGER PRIMARY KEY,
  citing_id INTEGER NOT NULL REFERENCES works(id) ON DELETE CASCADE,
  ref       TEXT NOT NULL,
  cited_id  INTEGER REFERENCES works(id) ON DELETE SET NULL,
  UNIQUE (citing_id, ref)
);
CREATE INDEX citations_cited ON citations(cited_id);
CREATE INDEX citations_unresolved ON citations(ref) WHERE cited_id IS NULL;

CREATE TABLE author_institutions (
  id             INTEGER PRIMARY KEY,
  author_id      INTEGER NOT NULL REFERENCES authors(id) ON DELETE CASCADE,
  institution_id INTEGER NOT NULL REFERENCES institutions(id) ON DELETE CASCADE,
  year           INTEGER NOT NULL DEFAULT 0,    -- 0: "last known", year not given
  UNIQUE (author_id, institution_id, year)
);
CREATE INDEX author_institutions_inst ON author_institutions(institution_id);

-- Counts by year as sources reported them.
CREATE TABLE work_counts (
  id             INTEGER PRIMARY KEY,
  work_id        INTEGER NOT NULL REFERENCES works(id) ON DELETE CASCADE,
  year           INTEGER NOT NULL,
  cited_by_count INTEGER,
  UNIQUE (work_id, year)
);
CREATE TABLE author_counts (
  id             INTEGER PRIMARY KEY,
  author_id      INTEGER NOT NULL REFERENCES authors(id) ON DELETE CASCADE,
  year           INTEGER NOT NULL,
  works_count    INTEGER,
  cited_by_count INTEGER,
  UNIQUE (author_id, year)
);

-- Per-fact provenance: source document source_id asserted fact (kind, fact_id).
-- kind: 1 work, 2 author, 3 authorship, 4 work_topic, 5 citation,
--       6 author_name, 7 author_institution, 8 work_counts, 9 author_counts.
CREATE TABLE provenance (
  kind      INTEGER NOT NULL,
  fact_id   INTEGER NOT NULL,
  source_id INTEGER NOT NULL REFERENCES source_docs(id) ON DELETE CASCADE,
  PRIMARY KEY (kind, fact_id, source_id)
) WITHOUT ROWID;
CREATE INDEX provenance_source ON provenance(source_id, kind, fact_id);

-- Figures a source reported (a profile page's h-index, trust, novelty ...).
CREATE TABLE claims (
  id           INTEGER PRIMARY KEY,
  source_id    INTEGER NOT NULL REFERENCES source_docs(id) ON DELETE CASCADE,
  author_id    INTEGER REFERENCES authors(id) ON DELETE SET NULL,
  name         TEXT NOT NULL,
  text         TEXT,
  value        REAL,
  capture_date TEXT,
  UNIQUE (source_id, name)
);
CREATE INDEX claims_author ON claims(author_id);

-- Which author a profile page belongs to, and how that was decided.
CREATE TABLE ownership (
  id                   INTEGER PRIMARY KEY,
  source_id            INTEGER NOT NULL UNIQUE REFERENCES source_docs(id) ON DELETE CASCADE,
  author_id            INTEGER NOT NULL REFERENCES authors(id) ON DELETE CASCADE,
  method               TEXT NOT NULL,           -- header, inferred, override
  confidence           REAL,
  runner_up            TEXT,
  runner_up_confidence REAL,
  evidence             TEXT
);
CREATE INDEX ownership_author ON ownership(author_id);

-- Author merges, reversible: merge_moves lists every row a merge re-pointed
-- (kind as in provenance, plus 10 claim, 11 ownership) or removed (data keeps it).
CREATE TABLE author_merges (
  id        INTEGER PRIMARY KEY,
  keep_id   INTEGER NOT NULL REFERENCES authors(id) ON DELETE CASCADE,
  gone_id   INTEGER NOT NULL REFERENCES authors(id) ON DELETE CASCADE,
  evidence  TEXT,
  run_id    INTEGER REFERENCES ingest_runs(id) ON DELETE SET NULL,
  merged_at TEXT NOT NULL,
  undone_at TEXT
);
CREATE INDEX author_merges_keep ON author_merges(keep_id);
CREATE TABLE merge_moves (
  merge_id INTEGER NOT NULL REFERENCES author_merges(id) ON DELETE CASCADE,
  kind     INTEGER NOT NULL,
  row_id   INTEGER NOT NULL,
  data     TEXT,
  PRIMARY KEY (merge_id, kind, row_id)
);

CREATE TABLE adapters (
  id                INTEGER PRIMARY KEY,
  author_id         INTEGER NOT NULL REFERENCES authors(id) ON DELETE CASCADE,
  method            TEXT NOT NULL,
  mode              TEXT NOT NULL,
  rank              INTEGER NOT NULL,
  path              TEXT NOT NULL,
  base_model_sha256 TEXT,
  metrics           TEXT,
  created_at        TEXT NOT NULL
);
CREATE INDEX adapters_author ON adapters(author_id, id);

-- Full text. Rows are written by the store at commit (rowid = works.id /
-- authors.id); the text is the original (snippets show it), unicode61 folds
-- case and diacritics as the PostgreSQL side's folded tsvector input does.
CREATE VIRTUAL TABLE works_fts USING fts5(title, abstract, authors,
  tokenize = 'unicode61 remove_diacritics 2');
CREATE VIRTUAL TABLE authors_fts USING fts5(names,
  tokenize = 'unicode61 remove_diacritics 2');
