-- What the linker last linked: a fingerprint of each input it reads (the active parts of each domain
-- table it reads; the content of each table, and of the commits of each repository), the model
-- settings it applied, and its counts. A run compares the inputs with this and redoes only the links
-- whose inputs changed: a run over unchanged inputs reads this row and the parts list and writes no link.
-- One row (key 'linker'); the latest version wins. Dropping the row makes the next run link from scratch.
CREATE TABLE IF NOT EXISTS link_inputs
(
    key         LowCardinality(String),
    state       String,                   -- JSON: parts, tables, repos, model, counts
    linked_at   DateTime64(3, 'UTC'),
    version     UInt64
)
ENGINE = ReplacingMergeTree(version)
ORDER BY key;
