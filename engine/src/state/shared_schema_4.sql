-- Which process claimed each scheduled tick (`process 1234 on board-a`): with several servers,
-- the one that runs or ran it.
ALTER TABLE schedule_ticks ADD COLUMN runner TEXT COLLATE "C";
