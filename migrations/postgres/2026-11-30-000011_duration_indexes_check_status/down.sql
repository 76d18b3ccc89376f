-- Nothing on PostgreSQL: its global duration indexes have carried `status` since `…000009`,
-- and its planner gets the status as an index condition (see the SQLite twin).
SELECT 1;
