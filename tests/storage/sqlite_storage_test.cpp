#include "xiaoxiang/storage/sqlite_storage.hpp"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <fstream>
#include <set>

#include "storage_conformance.hpp"
#include "temp_dir.hpp"

namespace xiaoxiang::testing {

struct sqlite_storage_traits {
  static constexpr bool kPersistent = true;
  std::unique_ptr<storage> open() {
    path_ = dir_.file("db-" + std::to_string(++opened_) + ".sqlite");
    return std::make_unique<sqlite_storage>(path_);
  }
  std::unique_ptr<storage> reopen() { return std::make_unique<sqlite_storage>(path_); }

  temp_dir dir_;
  std::string path_;
  int opened_ = 0;
};

INSTANTIATE_TYPED_TEST_SUITE_P(sqlite, storage_conformance, sqlite_storage_traits);

namespace {

// Runs one statement on a plain connection and returns the first column of
// each row as text, to look at the file the way a DBA would.
std::vector<std::string> sql(const std::string& path, const std::string& statement) {
  sqlite3* db = nullptr;
  EXPECT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  std::vector<std::string> rows;
  char* message = nullptr;
  const int rc = sqlite3_exec(
      db, statement.c_str(),
      [](void* out, int, char** values, char**) {
        static_cast<std::vector<std::string>*>(out)->push_back(values[0] ? values[0] : "NULL");
        return 0;
      },
      &rows, &message);
  EXPECT_EQ(rc, SQLITE_OK) << (message ? message : "");
  sqlite3_free(message);
  sqlite3_close(db);
  return rows;
}

TEST(SqliteStorage, OpenFailureThrowsStorageIoNamingThePath) {
  const std::string path = "/nonexistent-xiaoxiang-dir/orders.sqlite";
  try {
    sqlite_storage db(path);
    FAIL() << "opening a file in a missing folder must throw";
  } catch (const error& e) {
    EXPECT_EQ(e.code(), errc::storage_io);
    EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
  }
}

TEST(SqliteStorage, NotADatabaseThrowsStorageIo) {
  temp_dir dir;
  const auto path = dir.file("garbage.sqlite");
  std::ofstream(path) << std::string(4096, 'x');
  try {
    sqlite_storage db(path);
    FAIL() << "a file that is not a database must be refused";
  } catch (const error& e) {
    EXPECT_EQ(e.code(), errc::storage_io);
    EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
  }
}

TEST(SqliteStorage, RefusesANewerSchemaVersion) {
  temp_dir dir;
  const auto path = dir.file("future.sqlite");
  { sqlite_storage db(path); }
  EXPECT_EQ(sql(path, "PRAGMA user_version"), std::vector<std::string>{"2"});
  sql(path, "PRAGMA user_version = 3");
  try {
    sqlite_storage db(path);
    FAIL() << "a schema newer than the library must be refused";
  } catch (const error& e) {
    EXPECT_EQ(e.code(), errc::unsupported_schema_version);
    EXPECT_NE(std::string(e.what()).find("schema version 3"), std::string::npos) << e.what();
  }
}

TEST(SqliteStorage, MigratesASchemaVersion1FileInPlace) {
  // Version 1 had an (order_id, create_time, version) index; version 2 drops
  // it and reads trajectories through (order_id, version), sorted by time.
  temp_dir dir;
  const auto path = dir.file("v1.sqlite");
  {
    sqlite_storage db(path);
    // Device times out of version order, as an offline batch stores them.
    db.commit({{make_order("o-1", "u-1", 3)},
               {make_record("o-1", 1, 30, "ev-1"), make_record("o-1", 2, 10, "ev-2"),
                make_record("o-1", 3, 20, "ev-3")}});
  }
  sql(path, "CREATE INDEX order_tracking_order_time ON order_tracking(order_id, create_time, version)");
  sql(path, "PRAGMA user_version = 1");
  {
    sqlite_storage db(path);
    const auto trajectory = db.trajectory(must_id("o-1"));
    ASSERT_EQ(trajectory.size(), 3u);
    EXPECT_EQ(trajectory[0].version, 2u);
    EXPECT_EQ(trajectory[1].version, 3u);
    EXPECT_EQ(trajectory[2].version, 1u);
    EXPECT_TRUE(db.contains_event(must_id("ev-3")));
    db.commit({{make_order("o-1", "u-1", 4)}, {make_record("o-1", 4, 40, "ev-4")}});
  }
  EXPECT_EQ(sql(path, "PRAGMA user_version"), std::vector<std::string>{"2"});
  EXPECT_EQ(sql(path, "SELECT count(*) FROM sqlite_master WHERE name = 'order_tracking_order_time'"),
            std::vector<std::string>{"0"});
  EXPECT_EQ(sql(path, "SELECT count(*) FROM order_tracking"), std::vector<std::string>{"4"});
}

TEST(SqliteStorage, SchemaHasTheArticlesTablesAndTheIndexes) {
  temp_dir dir;
  const auto path = dir.file("schema.sqlite");
  { sqlite_storage db(path); }
  const auto names = sql(path, "SELECT name FROM sqlite_master ORDER BY name");
  const std::set<std::string> have(names.begin(), names.end());
  for (const char* want : {"orders", "order_tracking", "order_tracking_order_version",
                           "order_tracking_source_event", "orders_user_time", "orders_display"})
    EXPECT_TRUE(have.count(want)) << want;
  // Since schema version 2: a trajectory is read through (order_id, version).
  EXPECT_FALSE(have.count("order_tracking_order_time"));
  // Its query plan: a search of that index (then one order's rows sorted).
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  std::string plan;
  char* message = nullptr;
  EXPECT_EQ(sqlite3_exec(
                db,
                "EXPLAIN QUERY PLAN SELECT * FROM order_tracking WHERE order_id = 'o' "
                "ORDER BY create_time, version",
                [](void* out, int columns, char** values, char**) {
                  if (columns > 3 && values[3]) *static_cast<std::string*>(out) += std::string(values[3]) + "\n";
                  return 0;
                },
                &plan, &message),
            SQLITE_OK)
      << (message ? message : "");
  sqlite3_free(message);
  sqlite3_close(db);
  EXPECT_NE(plan.find("SEARCH order_tracking USING INDEX order_tracking_order_version"),
            std::string::npos)
      << plan;
  EXPECT_EQ(sql(path, "PRAGMA journal_mode"), std::vector<std::string>{"wal"});
  EXPECT_EQ(sql(path, "SELECT \"unique\" FROM pragma_index_list('order_tracking') "
                      "WHERE name = 'order_tracking_order_version'"),
            std::vector<std::string>{"1"});
}

TEST(SqliteStorage, StoresTheArticlesCodesAndShowsTheAmountAsDecimal) {
  temp_dir dir;
  const auto path = dir.file("codes.sqlite");
  {
    sqlite_storage db(path);
    write_batch batch;
    batch.orders.push_back(make_order("o-1", "u-1", 4, order_status::delivering));
    batch.orders.back().total_amount = 9'999'999'999;
    batch.orders.push_back(make_order("o-2", "u-1", 1, order_status::paid));
    batch.records.push_back(make_record("o-1", 4, 10, "ev-1"));  // a rider position
    db.commit(batch);
  }
  EXPECT_EQ(sql(path, "SELECT total_amount FROM orders_display ORDER BY id"),
            (std::vector<std::string>{"99999999.99", "23.50"}));
  EXPECT_EQ(sql(path, "SELECT total_amount FROM orders WHERE id = 'o-2'"),
            std::vector<std::string>{"2350"});
  EXPECT_EQ(sql(path, "SELECT status FROM orders WHERE id = 'o-1'"), std::vector<std::string>{"3"});
  EXPECT_EQ(sql(path, "SELECT operator_type || ',' || status || ',' || kind || ',' || operator_id "
                      "FROM order_tracking"),
            std::vector<std::string>{"1,3,2,rider-7"});
  EXPECT_EQ(sql(path, "SELECT rider_id FROM orders WHERE id = 'o-2'"),
            std::vector<std::string>{"NULL"});
}

TEST(SqliteStorage, InMemoryDatabaseWorks) {
  sqlite_storage db(":memory:");
  db.commit({{make_order("o-1", "u-1", 1)}, {make_record("o-1", 1, 10, "ev-1")}});
  EXPECT_EQ(db.load_order(must_id("o-1"))->version, 1u);
  EXPECT_EQ(db.trajectory(must_id("o-1")).size(), 1u);
  EXPECT_EQ(db.record_count(), 1u);
}

TEST(SqliteStorage, CountsFindsEventsAndRefusesARepeatedRecordId) {
  temp_dir dir;
  sqlite_storage db(dir.file("db.sqlite"), sqlite_options{.synchronous_full = true});
  db.commit({{make_order("o-1", "u-1", 2)},
             {make_record("o-1", 1, 10, "ev-1"), make_record("o-1", 2, 20, "ev-2")}});
  EXPECT_EQ(db.record_count(), 2u);
  EXPECT_EQ(db.order_count(), 1u);
  EXPECT_TRUE(db.contains_event(must_id("ev-2")));
  EXPECT_FALSE(db.contains_event(must_id("ev-3")));
  auto other = make_record("o-2", 1, 10, "ev-9");
  other.record_id = make_record_id(must_id("o-1"), 1);
  try {
    db.commit({{}, {other}});
    FAIL() << "a repeated record id must be refused";
  } catch (const error& e) {
    EXPECT_EQ(e.code(), errc::storage_io);
  }
  EXPECT_EQ(db.record_count(), 2u);
}

TEST(SqliteStorage, TwoObjectsOnOneFileSeeEachOthersCommits) {
  temp_dir dir;
  sqlite_storage writer(dir.file("db.sqlite"));
  sqlite_storage reader(dir.file("db.sqlite"));
  writer.commit({{make_order("o-1", "u-1", 1)}, {}});
  EXPECT_EQ(reader.load_order(must_id("o-1"))->version, 1u);
}

}  // namespace
}  // namespace xiaoxiang::testing
