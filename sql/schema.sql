-- seckill schema (migration 0) for MariaDB 10.11, InnoDB, utf8mb4.
--
-- Applied once by seckill-admin migrate, then sql/migrations/NNN-*.sql in order.
-- Every statement is CREATE TABLE IF NOT EXISTS, so loading it twice is harmless.
-- Later changes go into a new migration file, never into an edit of this file
-- on a database that already exists.
--
-- Conventions
--   * Times are DATETIME(3), always UTC. Column defaults use UTC_TIMESTAMP(3),
--     which does not depend on the session time zone. Every connection should
--     still run  SET time_zone = '+00:00'  right after connecting: then NOW(3),
--     CURRENT_TIMESTAMP and UTC_TIMESTAMP(3) agree, and UNIX_TIMESTAMP(col)
--     gives the correct epoch (the API speaks epoch milliseconds).
--     There is no ON UPDATE CURRENT_TIMESTAMP anywhere (it follows the session
--     time zone): whoever updates a row sets its updated_at / changed_at.
--   * Ids are BIGINT UNSIGNED AUTO_INCREMENT. Message ids (outbox, orders,
--     message_processing) are CHAR(32): 16 random bytes as lower-case hex.
--     That string is the order_ref of the API and the AMQP message_id.
--   * Secrets are never stored: session tokens and QR ids are kept as a 32-byte
--     hash (SHA-256 or crypto_generichash with 32 bytes, the app picks one and
--     uses it everywhere), passwords as a libsodium crypto_pwhash_str string.
--   * Money is integer cents.
--   * Any transaction may still fail with 1213 (deadlock) or 1205 (lock wait
--     timeout), both retryable: roll back and run the whole transaction again.
--   * Safe for a naive splitter: the only semicolons in this file end statements.
--
-- Foreign keys: where they are and where they are not
--   An InnoDB foreign key check on INSERT takes a shared lock on the parent row
--   until commit. Kept where the parent row is cold:
--     sessions.user_id, orders.user_id, payments.order_id, qr_logins.user_id.
--   Deliberately left out where the parent is the hottest row of a sale:
--     orders.activity_id and outbox.activity_id reference activities.id but
--     have NO foreign key. The consumer takes an exclusive lock on the activity
--     row to decrement stock. With a foreign key, two consumers that each insert
--     an order (shared lock on the activity) and then decrement (exclusive lock)
--     deadlock each other on every burst, and the web winner inserting its
--     outbox row would queue behind every open consumer transaction.
--     Integrity instead: activities are never deleted (the app has no delete,
--     end a sale by moving ends_at), the consumer checks the activity exists
--     (it reads the activity row for price and stock_total anyway), and
--     seckill-admin reconcile reports orphans.
--   The message id columns have no foreign key either: outbox and
--   message_processing rows may be pruned after some days, orders stay.

SET NAMES utf8mb4;

-- ---------------------------------------------------------------------------
-- users: accounts. username is unique case-insensitively (unicode_ci), so
-- Alice and alice cannot both exist, and login by either spelling finds it.
CREATE TABLE IF NOT EXISTS users (
  id             BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  username       VARCHAR(32)  NOT NULL,
  password_hash  VARCHAR(255) CHARACTER SET ascii COLLATE ascii_bin NOT NULL
                 COMMENT 'crypto_pwhash_str output, argon2id',
  role           ENUM('user','admin') NOT NULL DEFAULT 'user',
  created_at     DATETIME(3)  NOT NULL DEFAULT (UTC_TIMESTAMP(3)),
  PRIMARY KEY (id),
  UNIQUE KEY uq_users_username (username),
  CONSTRAINT ck_users_username CHECK (username REGEXP '^[A-Za-z0-9_]{3,32}$')
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci
  COMMENT='accounts';

-- ---------------------------------------------------------------------------
-- sessions: browser sessions (cookie sid, kind web) and Bearer tokens
-- (kind mobile: the phone app, and tokens made by seckill-admin users gen).
-- The row is looked up by the hash of the presented token. A session is valid
-- while revoked_at IS NULL AND expires_at > UTC_TIMESTAMP(3).
--   csrf_token: the CSRF token of a web session, stored as is (it is readable
--     by page JS anyway and is useless without the sid cookie), so pages can put
--     it into forms. NULL for mobile tokens, which need no CSRF.
--   device_id / device_name: the phone a mobile token is bound to. Required for
--     mobile. The (user_id, kind, device_id) index finds the old token of a
--     device on re-login and serves the foreign key on user_id.
--   login_method: how the session was obtained (password, QR confirm, CLI).
--   Expired or revoked rows can be deleted by a sweep (ix_sessions_expires).
CREATE TABLE IF NOT EXISTS sessions (
  token_hash     BINARY(32)   NOT NULL,
  user_id        BIGINT UNSIGNED NOT NULL,
  kind           ENUM('web','mobile') NOT NULL,
  login_method   ENUM('password','qr','cli') NOT NULL DEFAULT 'password',
  csrf_token     VARCHAR(64)  CHARACTER SET ascii COLLATE ascii_bin NULL,
  device_id      VARCHAR(128) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NULL,
  device_name    VARCHAR(100) NULL,
  ip             VARCHAR(45)  CHARACTER SET ascii COLLATE ascii_bin NULL,
  user_agent     VARCHAR(512) NULL,
  created_at     DATETIME(3)  NOT NULL DEFAULT (UTC_TIMESTAMP(3)),
  expires_at     DATETIME(3)  NOT NULL,
  revoked_at     DATETIME(3)  NULL,
  PRIMARY KEY (token_hash),
  KEY ix_sessions_user_device (user_id, kind, device_id),
  KEY ix_sessions_expires (expires_at),
  CONSTRAINT fk_sessions_user FOREIGN KEY (user_id) REFERENCES users (id)
    ON DELETE CASCADE,
  CONSTRAINT ck_sessions_web_csrf CHECK (kind <> 'web' OR csrf_token IS NOT NULL),
  CONSTRAINT ck_sessions_mobile_device CHECK (kind <> 'mobile' OR device_id IS NOT NULL),
  CONSTRAINT ck_sessions_expiry CHECK (expires_at > created_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci
  COMMENT='web sessions and mobile tokens, by token hash';

-- ---------------------------------------------------------------------------
-- activities: one flash sale. MySQL is the truth, Redis holds the hot copy
-- (seckill-admin warm copies stock_left into Redis).
--   stock_total = -1 means unlimited, and then stock_left is -1 too, forever.
--   Otherwise 0 <= stock_left <= stock_total, and sold = stock_total - stock_left.
--   The CHECK makes an oversell (below 0) or a double restock (above total)
--   fail the transaction instead of silently corrupting the count.
--   Consumer take: read the row with a plain SELECT (price, stock_total, and
--   proof it exists), never FOR UPDATE or LOCK IN SHARE MODE (a shared lock
--   upgraded to exclusive deadlocks two consumers), then, unless unlimited:
--     UPDATE activities SET stock_left = stock_left - 1
--      WHERE id = ? AND stock_left > 0
--   0 rows changed means sold out in MySQL. Do not run a no-op UPDATE for
--   unlimited stock: it would serialize all consumers on this row, and the
--   client reports changed rows, not matched rows, so it reads as 0 anyway.
--   Timeout give-back (0 rows changed: unlimited, or already full):
--     UPDATE activities SET stock_left = stock_left + 1
--      WHERE id = ? AND stock_left >= 0 AND stock_left < stock_total
--   Status for the API is derived, never stored: upcoming before starts_at,
--   ended from ends_at, sold_out when stock_left = 0, else active.
CREATE TABLE IF NOT EXISTS activities (
  id             BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  title          VARCHAR(200) NOT NULL,
  description    TEXT         NOT NULL DEFAULT '',
  price_cents    BIGINT       NOT NULL,
  stock_total    INT          NOT NULL,
  stock_left     INT          NOT NULL,
  starts_at      DATETIME(3)  NOT NULL,
  ends_at        DATETIME(3)  NOT NULL,
  created_at     DATETIME(3)  NOT NULL DEFAULT (UTC_TIMESTAMP(3)),
  updated_at     DATETIME(3)  NOT NULL DEFAULT (UTC_TIMESTAMP(3)),
  PRIMARY KEY (id),
  KEY ix_activities_window (ends_at, starts_at),
  CONSTRAINT ck_activities_price CHECK (price_cents >= 0),
  CONSTRAINT ck_activities_stock CHECK (
    (stock_total = -1 AND stock_left = -1)
    OR (stock_total >= 0 AND stock_left >= 0 AND stock_left <= stock_total)),
  CONSTRAINT ck_activities_window CHECK (ends_at > starts_at),
  CONSTRAINT ck_activities_title CHECK (CHAR_LENGTH(title) > 0)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci
  COMMENT='flash sales, stock_total -1 = unlimited';

-- ---------------------------------------------------------------------------
-- outbox: the message send table. The web winner inserts the row (pending),
-- commits, publishes to RabbitMQ with message_id = id, and on the broker
-- confirm marks it sent. seckill-retry re-sends rows still pending (and sent
-- rows never consumed) once next_attempt_at has passed.
--   States: pending -> sent -> consumed, and pending or sent -> failed.
--   Every status change is conditional so a late writer cannot undo a later
--   state. The web path:   SET status = sent WHERE id = ? AND status = pending.
--   The consumer, in its order transaction:
--                          SET status = consumed WHERE id = ? AND status IN (pending, sent)
--     and 0 rows changed means seckill-retry already failed it and gave the
--     unit back: roll back, create no order.
--   seckill-retry, when send_count reaches outbox.max_send:
--                          SET status = failed WHERE id = ? AND status IN (pending, sent)
--   The row lock makes exactly one of consumer and retry win.
--   send_count: publish attempts so far, the first attempt by the web included.
--   next_attempt_at: earliest time seckill-retry may take the row. It doubles
--     as a lease: a retry worker picks rows with
--       WHERE status IN (...) AND next_attempt_at <= UTC_TIMESTAMP(3)
--       ORDER BY next_attempt_at LIMIT n FOR UPDATE SKIP LOCKED
--     and pushes next_attempt_at forward before publishing, so several
--     workers never send one row at the same moment.
--   payload: the exact message body, re-sent verbatim by seckill-retry.
--   No foreign keys (see the top of this file): this insert is on the hot path.
CREATE TABLE IF NOT EXISTS outbox (
  id              CHAR(32)     CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  activity_id     BIGINT UNSIGNED NOT NULL,
  user_id         BIGINT UNSIGNED NOT NULL,
  payload         JSON         NOT NULL,
  status          ENUM('pending','sent','consumed','failed') NOT NULL DEFAULT 'pending',
  send_count      INT          NOT NULL DEFAULT 0,
  next_attempt_at DATETIME(3)  NOT NULL DEFAULT (UTC_TIMESTAMP(3)),
  last_error      VARCHAR(255) NULL,
  created_at      DATETIME(3)  NOT NULL DEFAULT (UTC_TIMESTAMP(3)),
  updated_at      DATETIME(3)  NOT NULL DEFAULT (UTC_TIMESTAMP(3)),
  PRIMARY KEY (id),
  KEY ix_outbox_due (status, next_attempt_at),
  KEY ix_outbox_activity (activity_id, status),
  KEY ix_outbox_buyer (user_id, activity_id),
  CONSTRAINT ck_outbox_id CHECK (id REGEXP '^[0-9a-f]{32}$'),
  CONSTRAINT ck_outbox_send_count CHECK (send_count >= 0)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci
  COMMENT='message send table (transactional outbox)';

-- ---------------------------------------------------------------------------
-- message_processing: consumer dedup. The consumer inserts the message id
-- FIRST in its transaction: a duplicate key error (1062) means the message was
-- already handled (a redelivery after commit without ack), so ack and skip.
-- A second consumer holding the same redelivered message blocks on this insert
-- until the first commits, then gets the duplicate.
--   result / order_id: what the handling produced, so a duplicate can be
--   answered without guessing (rejected = parked in the dead letter queue).
--   Rows may be pruned by processed_at long after any redelivery is possible.
CREATE TABLE IF NOT EXISTS message_processing (
  message_id     CHAR(32)     CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  result         ENUM('order_created','rejected') NOT NULL DEFAULT 'order_created',
  order_id       BIGINT UNSIGNED NULL,
  processed_at   DATETIME(3)  NOT NULL DEFAULT (UTC_TIMESTAMP(3)),
  PRIMARY KEY (message_id),
  KEY ix_message_processing_at (processed_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci
  COMMENT='consumer dedup: one row per handled message id';

-- ---------------------------------------------------------------------------
-- orders: created by the consumer, one per won unit.
--   One LIVE order per user and activity: live_key is 1 while the order is
--   unpaid or paid and NULL once cancelled. A UNIQUE index treats NULLs as
--   distinct, so uq_orders_live (user_id, activity_id, live_key) allows any
--   number of cancelled orders but at most one live one. After a cancel the
--   buyer may buy again, as the API promises.
--   A 1062 error names the key that fired:
--     uq_orders_live     the user already holds this activity (duplicate)
--     uq_orders_message  this message already made an order (redelivery)
--   Status changes are conditional, so a pay racing a cancel has one winner:
--     pay:    SET status = paid, paid_at = ... WHERE id = ? AND status = unpaid
--     cancel: SET status = cancelled, cancelled_at = ..., cancel_reason = ...
--             WHERE id = ? AND status = unpaid
--     and only a cancel that changed one row gives the unit back.
--   The CHECKs force paid_at / cancelled_at to be set with their status.
--   activity_id has NO foreign key on purpose (see the top of this file).
--   Indexes: own orders come from the uq_orders_live prefix (user_id), the
--   sweep of unpaid orders past their deadline from ix_orders_due, reconcile
--   counts from ix_orders_activity.
CREATE TABLE IF NOT EXISTS orders (
  id             BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  user_id        BIGINT UNSIGNED NOT NULL,
  activity_id    BIGINT UNSIGNED NOT NULL,
  message_id     CHAR(32)     CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  status         ENUM('unpaid','paid','cancelled') NOT NULL DEFAULT 'unpaid',
  amount_cents   BIGINT       NOT NULL,
  created_at     DATETIME(3)  NOT NULL DEFAULT (UTC_TIMESTAMP(3)),
  pay_deadline   DATETIME(3)  NOT NULL,
  paid_at        DATETIME(3)  NULL,
  cancelled_at   DATETIME(3)  NULL,
  cancel_reason  ENUM('timeout','sweep','user','admin') NULL,
  live_key       TINYINT UNSIGNED AS (IF(status = 'cancelled', NULL, 1)) STORED
                 COMMENT '1 while unpaid or paid, NULL when cancelled',
  PRIMARY KEY (id),
  UNIQUE KEY uq_orders_message (message_id),
  UNIQUE KEY uq_orders_live (user_id, activity_id, live_key),
  KEY ix_orders_due (status, pay_deadline),
  KEY ix_orders_activity (activity_id, status),
  CONSTRAINT fk_orders_user FOREIGN KEY (user_id) REFERENCES users (id)
    ON DELETE RESTRICT,
  CONSTRAINT ck_orders_amount CHECK (amount_cents >= 0),
  CONSTRAINT ck_orders_deadline CHECK (pay_deadline >= created_at),
  CONSTRAINT ck_orders_paid CHECK (status <> 'paid' OR paid_at IS NOT NULL),
  CONSTRAINT ck_orders_cancelled CHECK (status <> 'cancelled' OR cancelled_at IS NOT NULL)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci
  COMMENT='orders, one live order per user and activity';

-- ---------------------------------------------------------------------------
-- payments: one per paid order (UNIQUE order_id), so paying twice charges
-- once. Insert it in the same transaction as the conditional UPDATE that moved
-- the order to paid (which already holds the order row lock, so the foreign
-- key check costs nothing). gateway_ref is the id the (fake) gateway returned.
CREATE TABLE IF NOT EXISTS payments (
  id             BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  order_id       BIGINT UNSIGNED NOT NULL,
  amount_cents   BIGINT       NOT NULL,
  gateway        VARCHAR(32)  CHARACTER SET ascii COLLATE ascii_bin NOT NULL DEFAULT 'fake',
  gateway_ref    VARCHAR(128) CHARACTER SET ascii COLLATE ascii_bin NULL,
  created_at     DATETIME(3)  NOT NULL DEFAULT (UTC_TIMESTAMP(3)),
  PRIMARY KEY (id),
  UNIQUE KEY uq_payments_order (order_id),
  UNIQUE KEY uq_payments_gateway_ref (gateway, gateway_ref),
  CONSTRAINT fk_payments_order FOREIGN KEY (order_id) REFERENCES orders (id)
    ON DELETE RESTRICT,
  CONSTRAINT ck_payments_amount CHECK (amount_cents >= 0)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci
  COMMENT='payments, at most one per order';

-- ---------------------------------------------------------------------------
-- qr_logins: audit trail of QR logins, one row per QR code. Redis holds the
-- live state machine (compare-and-set), this table records what happened.
-- The states only move pending -> scanned -> confirmed -> consumed, or to
-- denied / expired, so one timestamp per step keeps the whole history.
--   qr_id_hash: hash of the qr_id (the raw id is never stored).
--   user_id / device_id / phone_ip: the phone user that scanned.
--   pc_ip / pc_user_agent: the browser that asked for the code.
--   session_hash: token hash of the web session handed to the PC on consume.
--   A row still pending or scanned after expires_at has expired even if no
--   poll wrote expired (Redis expiry is silent).
--   Write it with INSERT ... ON DUPLICATE KEY UPDATE keyed by qr_id_hash, so
--   it may be created at POST /api/qr or first at the scan. It is an audit
--   log: a failed write here is logged, it must not fail the login.
CREATE TABLE IF NOT EXISTS qr_logins (
  id             BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  qr_id_hash     BINARY(32)   NOT NULL,
  state          ENUM('pending','scanned','confirmed','denied','expired','consumed')
                 NOT NULL DEFAULT 'pending',
  user_id        BIGINT UNSIGNED NULL,
  device_id      VARCHAR(128) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NULL,
  phone_ip       VARCHAR(45)  CHARACTER SET ascii COLLATE ascii_bin NULL,
  pc_ip          VARCHAR(45)  CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  pc_user_agent  VARCHAR(512) NULL,
  session_hash   BINARY(32)   NULL,
  created_at     DATETIME(3)  NOT NULL DEFAULT (UTC_TIMESTAMP(3)),
  expires_at     DATETIME(3)  NOT NULL,
  scanned_at     DATETIME(3)  NULL,
  decided_at     DATETIME(3)  NULL COMMENT 'confirmed or denied',
  consumed_at    DATETIME(3)  NULL,
  changed_at     DATETIME(3)  NOT NULL DEFAULT (UTC_TIMESTAMP(3)),
  PRIMARY KEY (id),
  UNIQUE KEY uq_qr_logins_qr (qr_id_hash),
  KEY ix_qr_logins_user (user_id, created_at),
  KEY ix_qr_logins_created (created_at),
  CONSTRAINT fk_qr_logins_user FOREIGN KEY (user_id) REFERENCES users (id)
    ON DELETE SET NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci
  COMMENT='audit of QR login state changes';
