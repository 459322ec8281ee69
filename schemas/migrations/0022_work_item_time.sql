-- Time tracking of work items, in seconds: the original estimate (Jira's timeoriginalestimate, GitLab's
-- time_estimate) and the time logged (Jira's timespent, GitLab's total_time_spent). Effort variance in
-- hours reads them (docs/metrics.md item 29). NULL where the tracker has no time tracking or the item
-- none; rows stored before this migration read NULL until their item is mapped again (ptel replay).
ALTER TABLE work_items ADD COLUMN IF NOT EXISTS original_estimate_seconds Nullable(Float64) AFTER story_points;
ALTER TABLE work_items ADD COLUMN IF NOT EXISTS time_spent_seconds Nullable(Float64) AFTER original_estimate_seconds;
