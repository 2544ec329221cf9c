-- Consumer side: idempotent consumption (processed_event, written in the same transaction
-- as the effect), the read model, a ledger of applied effects (duplicates stay visible
-- here on purpose: no unique key), and the pool-exhaustion scenario's `event` table.
CREATE TABLE IF NOT EXISTS processed_event (
    consumer_group VARCHAR(128) NOT NULL,
    event_id       CHAR(36)     NOT NULL,
    processed_at   DATETIME(6)  NOT NULL,
    PRIMARY KEY (consumer_group, event_id)
) ENGINE = InnoDB;

CREATE TABLE IF NOT EXISTS account_view (
    account_id     VARCHAR(64) NOT NULL PRIMARY KEY,
    balance_cents  BIGINT      NOT NULL,
    version        BIGINT      NOT NULL,
    applied_events BIGINT      NOT NULL,
    updated_at     DATETIME(6) NOT NULL
) ENGINE = InnoDB;

CREATE TABLE IF NOT EXISTS ledger_entry (
    id           BIGINT      NOT NULL AUTO_INCREMENT PRIMARY KEY,
    event_id     CHAR(36)    NOT NULL,
    account_id   VARCHAR(64) NOT NULL,
    amount_cents BIGINT      NOT NULL,
    applied_at   DATETIME(6) NOT NULL,
    KEY ledger_event (event_id)
) ENGINE = InnoDB;

-- The seed's ak_demo.event: the consumer's duplicate check is a SELECT by event_id
-- (findByEventId) before the INSERT, so there is deliberately no unique key.
CREATE TABLE IF NOT EXISTS scenario_event (
    id           BIGINT       NOT NULL AUTO_INCREMENT PRIMARY KEY,
    event_id     CHAR(36)     NOT NULL,
    message      VARCHAR(255) NOT NULL,
    random_value INT          NOT NULL,
    created_at   DATETIME(6)  NOT NULL,
    KEY scenario_event_id (event_id)
) ENGINE = InnoDB;
