-- Replay bookkeeping: an event replayed from a dead-letter topic once is not replayed again.
CREATE TABLE IF NOT EXISTS replay_log (
    event_id      CHAR(36)     NOT NULL PRIMARY KEY,
    dlt_topic     VARCHAR(255) NOT NULL,
    dlt_partition INT          NOT NULL,
    dlt_offset    BIGINT       NOT NULL,
    target_topic  VARCHAR(255) NOT NULL,
    replayed_at   DATETIME(6)  NOT NULL
) ENGINE = InnoDB;
