// MySQLWire: the MySQL client/server protocol (packets, handshake and auth, text and binary result sets) and the connection.
