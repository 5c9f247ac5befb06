// Where the tests' PostgreSQL server is: $XIAOXIANG_PG_CONNINFO, else the
// server ctest's fixture started (<build>/pg-test-server/conninfo), else one
// this program starts itself with scripts/pg-server.sh in a temporary folder
// and stops at exit (so that ./test_postgres also runs on its own). Each
// storage under test gets its own schema, dropped afterwards.
#pragma once

#include <gtest/gtest.h>
#include <libpq-fe.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>

namespace xiaoxiang::testing {

class pg_test_server {
 public:
  // The conninfo of a running server; fails the test when none can be had.
  static const std::string& conninfo() {
    static pg_test_server server;
    if (server.conninfo_.empty()) ADD_FAILURE() << server.problem_;
    return server.conninfo_;
  }

  ~pg_test_server() {
    if (own_dir_.empty()) return;
    const std::string stop = std::string(XIAOXIANG_SOURCE_DIR) + "/scripts/pg-server.sh stop " +
                             own_dir_ + " --clean >/dev/null 2>&1";
    [[maybe_unused]] const int rc = std::system(stop.c_str());
  }

 private:
  pg_test_server() {
    if (const char* env = std::getenv("XIAOXIANG_PG_CONNINFO"); env != nullptr && *env != '\0') {
      conninfo_ = env;
      return;
    }
    if (read_conninfo(XIAOXIANG_PG_TEST_DIR) && answers()) return;
    own_dir_ = (std::filesystem::temp_directory_path() /
                ("xiaoxiang-pg-" + std::to_string(::getpid())))
                   .string();
    const std::string start = std::string(XIAOXIANG_SOURCE_DIR) + "/scripts/pg-server.sh start " +
                              own_dir_ + " >/dev/null";
    if (std::system(start.c_str()) != 0 || !read_conninfo(own_dir_)) {
      problem_ = "no PostgreSQL server: scripts/pg-server.sh start " + own_dir_ +
                 " failed (is the postgresql package installed? make setup)";
      conninfo_.clear();
    }
  }

  bool read_conninfo(const std::string& dir) {
    std::ifstream in(dir + "/conninfo");
    return static_cast<bool>(std::getline(in, conninfo_)) && !conninfo_.empty();
  }

  bool answers() const { return PQping(conninfo_.c_str()) == PQPING_OK; }

  std::string conninfo_;
  std::string own_dir_;
  std::string problem_;
};

// Runs one SQL statement on a fresh connection; returns the first column of
// each row (NULL as "NULL"), failing the test on an error.
inline std::vector<std::string> pg_sql(const std::string& statement,
                                       const std::string& schema = "") {
  std::vector<std::string> rows;
  PGconn* c = PQconnectdb(pg_test_server::conninfo().c_str());
  if (PQstatus(c) != CONNECTION_OK) {
    ADD_FAILURE() << PQerrorMessage(c);
    PQfinish(c);
    return rows;
  }
  std::string sql = "SET client_min_messages TO warning; " + statement;
  if (!schema.empty()) sql = "SET search_path TO \"" + schema + "\"; " + sql;
  PGresult* r = PQexec(c, sql.c_str());
  const auto st = PQresultStatus(r);
  if (st != PGRES_TUPLES_OK && st != PGRES_COMMAND_OK) ADD_FAILURE() << statement << ": " << PQresultErrorMessage(r);
  for (int i = 0; st == PGRES_TUPLES_OK && i < PQntuples(r); ++i)
    rows.push_back(PQgetisnull(r, i, 0) ? "NULL" : PQgetvalue(r, i, 0));
  PQclear(r);
  PQfinish(c);
  return rows;
}

// A schema name no other test (process) uses.
inline std::string fresh_schema(const std::string& prefix = "t") {
  static std::atomic<int> counter{0};
  return prefix + "_" + std::to_string(::getpid()) + "_" + std::to_string(counter.fetch_add(1));
}

// Drops a test's schema when it goes out of scope.
struct schema_guard {
  std::string name;
  ~schema_guard() {
    if (!name.empty()) pg_sql("DROP SCHEMA IF EXISTS \"" + name + "\" CASCADE");
  }
};

}  // namespace xiaoxiang::testing
