-- Idempotency keys are scoped per caller: `user:<id>:<collection>`, or for anonymous
-- callers `ip:<client network>:<collection>` (issue 14, item 9). Keys stored before kept
-- `<user id>:<collection>`; give them the new form so a retry across the upgrade is still
-- a replay. The anonymous ones had one scope shared by every stranger, which is the flaw
-- being fixed: they are dropped (a retry of one creates a new record).
DELETE FROM idempotency_keys WHERE scope LIKE 'anonymous:%';
UPDATE idempotency_keys SET scope = 'user:' || scope
WHERE scope NOT LIKE 'user:%' AND scope NOT LIKE 'ip:%';
