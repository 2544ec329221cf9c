// MySQLWire: the MySQL client/server protocol (packets, handshake and auth, text and binary result sets) and the connection.
//
// Protocol/    pure codecs, one file per message: framing (`MySQLPacket`, `MySQLPacketDecoder`),
//              handshake, auth switch / more data, OK / ERR / EOF, column definitions, text and
//              binary rows, the COM_* commands, `MySQLValue`. No I/O; every decoder reports
//              malformed input as `MySQLProtocolError`.
// Auth/        mysql_native_password, caching_sha2_password (fast path, full path over TLS or
//              RSA-OAEP), MariaDB client_ed25519.
// Connection/  `MySQLConnectionStateMachine` (a value: packets in, actions out) and
//              `MySQLConnection`, which drives it over WireCore's `Channel`.
// Pool/        the connection pool (HikariCP semantics).
