-- peergraph graph schema, version 2 (SQLite; twin: schema/postgres/002_topics_tldr.sql).
-- OpenAlex topic objects carry a description and their place in OpenAlex's
-- hierarchy (subfield < field < domain, display names); Semantic Scholar
-- papers carry a one-sentence summary (tldr) made by a named model.
ALTER TABLE topics ADD COLUMN description TEXT;
ALTER TABLE topics ADD COLUMN subfield TEXT;
ALTER TABLE topics ADD COLUMN field TEXT;
ALTER TABLE topics ADD COLUMN domain TEXT;
ALTER TABLE works ADD COLUMN tldr TEXT;
ALTER TABLE works ADD COLUMN tldr_model TEXT;
