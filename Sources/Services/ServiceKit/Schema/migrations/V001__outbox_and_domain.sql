-- Command side: the domain (accounts and the deposits that change them) and the
-- transactional outbox, written in the same transaction as the domain change.
-- Columns follow Debezium's outbox event router: id, aggregatetype, aggregateid, type, payload.
CREATE TABLE IF NOT EXISTS account (
    id            VARCHAR(64) NOT NULL PRIMARY KEY,
    balance_cents BIGINT      NOT NULL,
    version       BIGINT      NOT NULL,
    updated_at    DATETIME(6) NOT NULL
) ENGINE = InnoDB;

-- One row per accepted deposit command: what the source of truth says happened.
CREATE TABLE IF NOT EXISTS deposit (
    event_id      CHAR(36)    NOT NULL PRIMARY KEY,
    account_id    VARCHAR(64) NOT NULL,
    amount_cents  BIGINT      NOT NULL,
    version       BIGINT      NOT NULL,
    created_at    DATETIME(6) NOT NULL,
    KEY deposit_account (account_id)
) ENGINE = InnoDB;

CREATE TABLE IF NOT EXISTS outbox (
    id             BIGINT       NOT NULL AUTO_INCREMENT PRIMARY KEY,
    event_id       CHAR(36)     NOT NULL,
    aggregate_type VARCHAR(64)  NOT NULL,
    aggregate_id   VARCHAR(64)  NOT NULL,
    type           VARCHAR(64)  NOT NULL,
    payload        LONGTEXT     NOT NULL,
    created_at     DATETIME(6)  NOT NULL,
    sent_at        DATETIME(6)  NULL,
    UNIQUE KEY outbox_event (event_id),
    -- the relay's poll: unsent rows in id order
    KEY outbox_unsent (sent_at, id)
) ENGINE = InnoDB;
