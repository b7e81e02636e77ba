-- When failed logins on an account are being throttled, until when (unix
-- microseconds, UTC); NULL when they are not. Recorded by the server so
-- that the CLI and the admin API can show it and an admin can clear it.
ALTER TABLE users ADD COLUMN locked_until INTEGER;
