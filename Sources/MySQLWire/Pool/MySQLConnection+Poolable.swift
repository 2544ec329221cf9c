/// MySQL connections are pooled as they are: `isOpen`, `validate(timeout:)` (COM_PING) and
/// `close()` are what the pool needs.
extension MySQLConnection: PoolableConnection {}
