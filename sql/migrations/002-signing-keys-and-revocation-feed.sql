-- signing_keys: the server keys that sign session tokens (keyed BLAKE2b over the token's
-- claims), so that a request verifies with no lookup. Workers read this table at start and
-- every few seconds; nothing on the request path does.
--   signs_from   a key signs only from this moment on: `seckill-admin keys rotate` sets it a
--                few seconds ahead, so every worker of every host knows a key before any
--                token signed with it can reach one.
--   expires_at   an older key verifies until then (rotate sets it to the moment the last
--                token it signed expires). NULL: no end yet (the newest).
--   legacy_until the unsigned random tokens made before this table existed are looked up in
--                MySQL until then (the last of them expires); NULL: none exist.
CREATE TABLE IF NOT EXISTS signing_keys (
  kid            INT UNSIGNED NOT NULL AUTO_INCREMENT,
  secret         BINARY(32)   NOT NULL,
  created_at     DATETIME(3)  NOT NULL DEFAULT (UTC_TIMESTAMP(3)),
  signs_from     DATETIME(3)  NOT NULL DEFAULT (UTC_TIMESTAMP(3)),
  expires_at     DATETIME(3)  NULL,
  legacy_until   DATETIME(3)  NULL,
  PRIMARY KEY (kid)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci
  COMMENT='session token signing keys (secret)';

-- The first key, made by the server's own random generator; it records until when sessions
-- of before may still be presented.
INSERT IGNORE INTO signing_keys (kid, secret, legacy_until)
  SELECT 1, RANDOM_BYTES(32), MAX(expires_at) FROM sessions
   WHERE revoked_at IS NULL AND expires_at > UTC_TIMESTAMP(3);

-- The revocation feed: each pool reads, once a second, the sessions revoked since its last
-- read (revoked_at >= the last read's time less a slack).
CREATE INDEX IF NOT EXISTS ix_sessions_revoked ON sessions (revoked_at);
