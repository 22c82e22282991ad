-- demo login: admin / admin-demo-pass (admin)
-- demo login: alice / alice-demo-pass (user)
-- demo login: bob / bob-demo-pass (user)
--
-- seckill demo data, loaded once into a fresh database after schema.sql.
-- The hashes are libsodium crypto_pwhash_str (argon2id, OPSLIMIT_INTERACTIVE,
-- MEMLIMIT_INTERACTIVE) of the passwords above.
-- Sale windows are relative to the moment the seed is loaded:
--   1  active now (opened a minute ago, so clock skew cannot hide it),
--      ends in 2 hours, stock 5 (sells out fast), Chinese title
--   2  starts in 2 minutes (countdown), title full of HTML characters
--   3  starts in 1 hour, unlimited stock (-1)
--   4  ended yesterday
-- Ids are fixed so tests and docs can name them. Loading the file again
-- changes nothing (ON DUPLICATE KEY UPDATE id = id is a no-op, and unlike
-- INSERT IGNORE it still fails loudly on any other error).

SET NAMES utf8mb4;

INSERT INTO users (id, username, password_hash, role) VALUES
  (1, 'admin', '$argon2id$v=19$m=65536,t=2,p=1$fXcBEOH1TuCr30pxS1uB+w$xMJvK9mPFqL1JqXBT2DP1kB5EH6IGnkIsisxI2gq47Y', 'admin'),
  (2, 'alice', '$argon2id$v=19$m=65536,t=2,p=1$yWBTPXoZKqzc1WsLPf1z4A$eElsbweMi/mDt+8T8iEwtvOv+BIdn64GB4dc0UejJAE', 'user'),
  (3, 'bob',   '$argon2id$v=19$m=65536,t=2,p=1$jZVhcb39kEP1SxJnHX6Gwg$6Ho7SwdX7hyeR7vdcVM0B/99WKfpodxGdDXd245hhxY', 'user')
ON DUPLICATE KEY UPDATE id = id;

INSERT INTO activities
  (id, title, description, price_cents, stock_total, stock_left, starts_at, ends_at)
VALUES
  (1, '限量版机械键盘',
   '87-key hot-swap mechanical keyboard, PBT keycaps, numbered edition. 每人限购一件.',
   29900, 5, 5,
   UTC_TIMESTAMP(3) - INTERVAL 1 MINUTE,
   UTC_TIMESTAMP(3) + INTERVAL 2 HOUR),
  (2, 'Headphones <Pro> & "Max" Collector''s Edition',
   'Over-ear noise cancelling headphones. Spec sheet says <b>40 h</b> battery & "studio" sound - if you see bold text here, escaping is broken.',
   19900, 100, 100,
   UTC_TIMESTAMP(3) + INTERVAL 2 MINUTE,
   UTC_TIMESTAMP(3) + INTERVAL 2 MINUTE + INTERVAL 1 HOUR),
  (3, 'Digital Gift Card 10 EUR (unlimited)',
   'A code delivered by e-mail. No stock limit, still one per customer.',
   990, -1, -1,
   UTC_TIMESTAMP(3) + INTERVAL 1 HOUR,
   UTC_TIMESTAMP(3) + INTERVAL 3 HOUR),
  (4, 'Vintage 35mm Film Camera',
   'Refurbished rangefinder with a 50mm f/2 lens. This sale is over.',
   45900, 20, 20,
   UTC_TIMESTAMP(3) - INTERVAL 1 DAY - INTERVAL 2 HOUR,
   UTC_TIMESTAMP(3) - INTERVAL 1 DAY)
ON DUPLICATE KEY UPDATE id = id;
