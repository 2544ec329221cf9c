// OutboxRelay
