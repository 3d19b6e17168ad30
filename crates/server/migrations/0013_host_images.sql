-- The catalog images a host can run, space-separated, as its agent last
-- said; NULL for any (simulated hosts, older agents). Placement only puts
-- an instance on a host that can run its image.
ALTER TABLE hosts ADD COLUMN images TEXT;
