-- The outbox row of an attempt that never wrote its own: 'void'. A buy whose insert lost its
-- reply writes a void row under the same id on a fresh connection; if that wins, the real
-- insert never committed and never will (the primary key), so the unit may go back. /result
-- reads a void row as "nothing happened". Appending an ENUM value is instant in MariaDB.
ALTER TABLE outbox MODIFY status ENUM('pending','sent','consumed','failed','void')
  NOT NULL DEFAULT 'pending', ALGORITHM=INSTANT;

-- repairs: what the healer (seckill-heal, `seckill-admin reconcile --repair`, the buy path's
-- rebuild of a Redis that came back empty or behind, the consumer parking a poison message)
-- repaired, one row each, for the operator's dashboard.
--   kind: orphan_hold, release, stock, rebuild, parked, phantom (as in /metrics).
CREATE TABLE IF NOT EXISTS repairs (
  id             BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  activity_id    BIGINT UNSIGNED NOT NULL,
  kind           VARCHAR(32)  CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  detail         VARCHAR(255) NOT NULL,
  created_at     DATETIME(3)  NOT NULL DEFAULT (UTC_TIMESTAMP(3)),
  PRIMARY KEY (id),
  KEY ix_repairs_created (created_at),
  KEY ix_repairs_activity (activity_id, created_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci
  COMMENT='repairs of what faults left behind';
