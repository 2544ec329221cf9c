import Testing

/// Every suite that talks to the lab's MariaDB, nested here so they run one at a time: the
/// restart test kills the server, which must not break a query of another suite.
@Suite("MariaDB", .serialized)
enum MariaDB {}
