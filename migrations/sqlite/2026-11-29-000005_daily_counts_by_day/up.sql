-- See the PostgreSQL twin. SQLite has no INCLUDE: the count is a second key column.
CREATE INDEX job_daily_day_idx ON job_daily (day, created);
