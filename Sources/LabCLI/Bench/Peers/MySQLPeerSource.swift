// The libmariadb peer of `lab bench mysql` (see MySQLBench.swift). Kept as a Swift string so
// the benchmark finds it from any working directory and the Swift target holds no C file
// (SwiftPM refuses mixed-language targets). `lab bench mysql` writes it to a temporary
// directory and compiles it there.
let mysqlPeerSource = ##"""
/*
 * The libmariadb peer of `lab bench mysql`: the same cases as the Swift client, against the
 * same server and table, one connection, sequential. Built at run time by the benchmark
 * (cc … $(pkg-config --cflags --libs libmariadb)).
 *
 *   mysql_peer CASE HOST PORT USER PASSWORD DATABASE SECONDS COUNT ROWS
 *
 * CASE: text-select | prepared-select | insert | connect. Timed cases run SECONDS (connect
 * runs COUNT connections). Prints one line:
 *   `PEER <case> ops=<n> seconds=<s> rate=<ops/s> cpu_us_per_op=<client CPU per operation> user_us_per_op=<its user part>`.
 */
#include <mysql.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

static double now_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static const char *host, *user, *password, *database;
static unsigned int port;

static void die(MYSQL *mysql, const char *what) {
    fprintf(stderr, "mysql_peer: %s: %s\n", what, mysql ? mysql_error(mysql) : "out of memory");
    exit(1);
}

static void die_stmt(MYSQL_STMT *stmt, const char *what) {
    fprintf(stderr, "mysql_peer: %s: %s\n", what, mysql_stmt_error(stmt));
    exit(1);
}

static MYSQL *open_connection(void) {
    MYSQL *mysql = mysql_init(NULL);
    if (!mysql) die(NULL, "mysql_init");
    /* Plain TCP like the Swift side (its URL default is TLS disabled). */
    my_bool off = 0;
    mysql_optionsv(mysql, MYSQL_OPT_SSL_ENFORCE, &off);
    mysql_optionsv(mysql, MYSQL_OPT_SSL_VERIFY_SERVER_CERT, &off);
    unsigned int protocol = MYSQL_PROTOCOL_TCP;
    mysql_optionsv(mysql, MYSQL_OPT_PROTOCOL, &protocol);
    if (!mysql_real_connect(mysql, host, user, password, database, port, NULL, 0)) die(mysql, "mysql_real_connect");
    return mysql;
}

/* CPU time this process has used, in seconds: user + system, and user alone (the client
   library's own work, without the kernel's socket path). */
static void cpu_times(double *total, double *user) {
    struct rusage usage;
    getrusage(RUSAGE_SELF, &usage);
    *user = usage.ru_utime.tv_sec + usage.ru_utime.tv_usec / 1e6;
    *total = *user + usage.ru_stime.tv_sec + usage.ru_stime.tv_usec / 1e6;
}

static double cpu_start, user_start;

/* Rate, and the client's own CPU per operation (robust where wall-clock rates are noisy). */
static void report(const char *name, long ops, double seconds) {
    double cpu, user;
    cpu_times(&cpu, &user);
    cpu -= cpu_start;
    user -= user_start;
    printf("PEER %s ops=%ld seconds=%.6f rate=%.3f cpu_us_per_op=%.3f user_us_per_op=%.3f\n",
           name, ops, seconds, ops / seconds, cpu * 1e6 / ops, user * 1e6 / ops);
}

static void text_select(double seconds, long rows) {
    MYSQL *mysql = open_connection();
    char sql[128];
    long ops = 0;
    double start = now_seconds(), end = start + seconds, t = start;
    while (t < end) {
        for (int i = 0; i < 64; i++, ops++) {
            int length = snprintf(sql, sizeof sql, "SELECT v FROM bench_kv WHERE id = %ld", ops % rows + 1);
            if (mysql_real_query(mysql, sql, (unsigned long)length)) die(mysql, "SELECT");
            MYSQL_RES *result = mysql_store_result(mysql);
            if (!result) die(mysql, "mysql_store_result");
            MYSQL_ROW row = mysql_fetch_row(result);
            if (!row || !row[0]) { fprintf(stderr, "mysql_peer: row %ld missing\n", ops % rows + 1); exit(1); }
            mysql_free_result(result);
        }
        t = now_seconds();
    }
    report("text-select", ops, t - start);
    mysql_close(mysql);
}

static void prepared_select(double seconds, long rows) {
    MYSQL *mysql = open_connection();
    MYSQL_STMT *stmt = mysql_stmt_init(mysql);
    if (!stmt) die(mysql, "mysql_stmt_init");
    const char *sql = "SELECT v FROM bench_kv WHERE id = ?";
    if (mysql_stmt_prepare(stmt, sql, strlen(sql))) die_stmt(stmt, "prepare");
    int id = 0;
    MYSQL_BIND parameter;
    memset(&parameter, 0, sizeof parameter);
    parameter.buffer_type = MYSQL_TYPE_LONG;
    parameter.buffer = &id;
    if (mysql_stmt_bind_param(stmt, &parameter)) die_stmt(stmt, "bind_param");
    char value[65];
    unsigned long value_length = 0;
    my_bool is_null = 0;
    MYSQL_BIND column;
    memset(&column, 0, sizeof column);
    column.buffer_type = MYSQL_TYPE_STRING;
    column.buffer = value;
    column.buffer_length = sizeof value;
    column.length = &value_length;
    column.is_null = &is_null;
    if (mysql_stmt_bind_result(stmt, &column)) die_stmt(stmt, "bind_result");
    long ops = 0;
    double start = now_seconds(), end = start + seconds, t = start;
    while (t < end) {
        for (int i = 0; i < 64; i++, ops++) {
            id = (int)(ops % rows + 1);
            if (mysql_stmt_execute(stmt)) die_stmt(stmt, "execute");
            /* Buffered, as the Swift client reads the whole result before returning. */
            if (mysql_stmt_store_result(stmt)) die_stmt(stmt, "store_result");
            int fetched = mysql_stmt_fetch(stmt);
            if (fetched != 0 && fetched != MYSQL_DATA_TRUNCATED) { fprintf(stderr, "mysql_peer: row %d missing\n", id); exit(1); }
            while (mysql_stmt_fetch(stmt) == 0) {}
            mysql_stmt_free_result(stmt);
        }
        t = now_seconds();
    }
    report("prepared-select", ops, t - start);
    mysql_stmt_close(stmt);
    mysql_close(mysql);
}

static void insert(double seconds) {
    MYSQL *mysql = open_connection();
    if (mysql_autocommit(mysql, 1)) die(mysql, "autocommit");
    char sql[160];
    long ops = 0;
    double start = now_seconds(), end = start + seconds, t = start;
    while (t < end) {
        for (int i = 0; i < 16; i++, ops++) {
            int length = snprintf(sql, sizeof sql,
                                  "INSERT INTO bench_insert (v) VALUES ('peer-%ld-abcdefghijklmnopqrstuvwxyz')", ops);
            if (mysql_real_query(mysql, sql, (unsigned long)length)) die(mysql, "INSERT");
            if (mysql_affected_rows(mysql) != 1) { fprintf(stderr, "mysql_peer: INSERT affected no row\n"); exit(1); }
        }
        t = now_seconds();
    }
    report("insert", ops, t - start);
    mysql_close(mysql);
}

static void connect_close(long count) {
    double start = now_seconds();
    for (long i = 0; i < count; i++) {
        MYSQL *mysql = open_connection();
        mysql_close(mysql);
    }
    report("connect", count, now_seconds() - start);
}

int main(int argc, char **argv) {
    if (argc != 10) {
        fprintf(stderr, "usage: mysql_peer CASE HOST PORT USER PASSWORD DATABASE SECONDS COUNT ROWS\n");
        return 2;
    }
    host = argv[2];
    port = (unsigned int)atoi(argv[3]);
    user = argv[4];
    password = argv[5];
    database = argv[6];
    double seconds = atof(argv[7]);
    long count = atol(argv[8]), rows = atol(argv[9]);
    if (mysql_library_init(0, NULL, NULL)) { fprintf(stderr, "mysql_peer: mysql_library_init failed\n"); return 1; }
    cpu_times(&cpu_start, &user_start);
    if (!strcmp(argv[1], "text-select")) text_select(seconds, rows);
    else if (!strcmp(argv[1], "prepared-select")) prepared_select(seconds, rows);
    else if (!strcmp(argv[1], "insert")) insert(seconds);
    else if (!strcmp(argv[1], "connect")) connect_close(count);
    else { fprintf(stderr, "mysql_peer: unknown case %s\n", argv[1]); return 2; }
    mysql_library_end();
    return 0;
}
"""##
