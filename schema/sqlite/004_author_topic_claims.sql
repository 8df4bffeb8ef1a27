-- peergraph graph schema, version 4 (SQLite; twin: schema/postgres/004_author_topic_claims.sql).
-- An author's topics as a source reported them (an OpenAlex author object's
-- topics with their counts, topic_share with its values, x_concepts with
-- their scores). They are that source's claims, kept apart from the computed
-- author_topics and never mixed with them: one row per (source document,
-- author record in it, list, topic). record is the author record as the
-- source identifies it ("openalex:A5023888391"), so a merge that re-points
-- author_id never makes two rows collide; list is the source's field the
-- figure came from; count and score are the source's figures as given
-- (NULL when that list does not give one). Author merges re-point author_id
-- and record it in merge_moves as kind 14.
CREATE TABLE author_topic_claims (
  id           INTEGER PRIMARY KEY,
  source_id    INTEGER NOT NULL REFERENCES source_docs(id) ON DELETE CASCADE,
  record       TEXT NOT NULL,
  author_id    INTEGER REFERENCES authors(id) ON DELETE SET NULL,
  list         TEXT NOT NULL,
  topic_id     INTEGER NOT NULL REFERENCES topics(id) ON DELETE CASCADE,
  rank         INTEGER NOT NULL,
  count        INTEGER,
  score        REAL,
  capture_date TEXT,
  UNIQUE (source_id, record, list, topic_id)
);
CREATE INDEX author_topic_claims_author ON author_topic_claims(author_id);
CREATE INDEX author_topic_claims_topic ON author_topic_claims(topic_id);
