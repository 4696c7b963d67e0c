-- Accounts are unique by a normalised key of their email (NFKC, then lower case), so
-- look-alike addresses cannot make a second account; login looks accounts up by it.
-- SQL lowers ASCII only, so addresses that are plain printable ASCII get their key here
-- (for them NFKC changes nothing, and the existing NOCASE uniqueness of `email` already
-- makes these keys unique); the others stay NULL and the server keys them in Rust before
-- serving (auth `normalize_stored_emails`), leaving any that would collide without a key
-- (and logged) rather than merging or deleting accounts.
ALTER TABLE users ADD COLUMN email_key TEXT;
UPDATE users SET email_key = lower(email) WHERE email NOT GLOB '*[^ -~]*';
CREATE UNIQUE INDEX users_by_email_key ON users(email_key);
