-- When a user's credentials were last reset, changed or disabled, in Unix milliseconds
-- (0: never). The same transaction revokes every token the user holds; dashboard
-- sessions started at or before this moment are over (the admin module compares it on
-- every request, so a reset made by any process ends them at once).
ALTER TABLE users ADD COLUMN credentials_changed_ms INTEGER NOT NULL DEFAULT 0;
