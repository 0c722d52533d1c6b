-- Roles of a user: space-separated names (`admin`, `viewer` for the admin API and the
-- console; more with the identity model). Empty for every user that exists: nobody gains a
-- role by an upgrade. An added column with a default is safe for a rolling upgrade: a node
-- still on the previous version neither reads nor writes it.
ALTER TABLE users ADD COLUMN roles TEXT NOT NULL DEFAULT '';
