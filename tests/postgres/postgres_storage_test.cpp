// postgres_storage against a real server: the shared storage suite (the same
// one memory_storage and sqlite_storage pass) plus what is PostgreSQL's own:
// partitioning, the DECIMAL amount, COPY escaping, errors that name the
// server and the SQLSTATE, reconnecting after a lost connection.
#include "xiaoxiang/postgres/postgres_storage.hpp"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "pg_test_server.hpp"
#include "storage_conformance.hpp"

namespace xiaoxiang::testing {

struct postgres_storage_traits {
  static constexpr bool kPersistent = true;
  std::unique_ptr<storage> open() {
    schemas_.push_back(std::make_unique<schema_guard>(schema_guard{fresh_schema()}));
    return reopen();
  }
  std::unique_ptr<storage> reopen() {
    return std::make_unique<postgres_storage>(pg_test_server::conninfo(),
                                              postgres_options{.schema = schemas_.back()->name});
  }
  std::vector<std::unique_ptr<schema_guard>> schemas_;
};

INSTANTIATE_TYPED_TEST_SUITE_P(postgres, storage_conformance, postgres_storage_traits);

namespace {

postgres_options in(const schema_guard& s, int partitions = 8) {
  return postgres_options{.schema = s.name, .partitions = partitions};
}

TEST(PostgresStorage, ConnectFailureThrowsStorageIoNamingTheServerNotThePassword) {
  // Port 1 on loopback: nothing listens there.
  const std::string conninfo =
      "host=127.0.0.1 port=1 dbname=nowhere user=someone password=hunter2 connect_timeout=5";
  try {
    postgres_storage db(conninfo);
    FAIL() << "connecting to a closed port must throw";
  } catch (const error& e) {
    EXPECT_EQ(e.code(), errc::storage_io);
    const std::string what = e.what();
    EXPECT_NE(what.find("host=127.0.0.1 port=1 dbname=nowhere"), std::string::npos) << what;
    EXPECT_NE(what.find("cannot connect"), std::string::npos) << what;
    EXPECT_EQ(what.find("hunter2"), std::string::npos) << what;
  }
}

TEST(PostgresStorage, MalformedConninfoThrowsStorageIo) {
  try {
    postgres_storage db("host=127.0.0.1 port");
    FAIL() << "a conninfo that does not parse must throw";
  } catch (const error& e) {
    EXPECT_EQ(e.code(), errc::storage_io);
    EXPECT_NE(std::string(e.what()).find("conninfo"), std::string::npos) << e.what();
  }
}

TEST(PostgresStorage, UnknownDatabaseNamesItAndTheSqlState) {
  std::string conninfo = pg_test_server::conninfo() + " dbname=no_such_db_xiaoxiang";
  try {
    postgres_storage db(conninfo);
    FAIL() << "a missing database must be refused";
  } catch (const error& e) {
    EXPECT_EQ(e.code(), errc::storage_io);
    EXPECT_NE(std::string(e.what()).find("no_such_db_xiaoxiang"), std::string::npos) << e.what();
  }
}

TEST(PostgresStorage, PartitionsOutOfRangeAreInvalidField) {
  for (const int n : {0, -1, 1025}) {
    try {
      postgres_storage db(pg_test_server::conninfo(), postgres_options{.partitions = n});
      FAIL() << "partitions " << n << " must be refused";
    } catch (const error& e) {
      EXPECT_EQ(e.code(), errc::invalid_field);
      EXPECT_NE(std::string(e.what()).find("partitions"), std::string::npos) << e.what();
    }
  }
}

TEST(PostgresStorage, TablesArePartitionedByHashOfTheOrderId) {
  schema_guard s{fresh_schema()};
  {
    postgres_storage db(pg_test_server::conninfo(), in(s, 4));
    EXPECT_EQ(db.partitions(), 4);
    write_batch batch;
    for (int i = 0; i < 40; ++i) {
      batch.orders.push_back(make_order("o-" + std::to_string(i), "u-1", 1));
      batch.records.push_back(make_record("o-" + std::to_string(i), 1, 10, "ev"));
    }
    db.commit(batch);
  }
  for (const char* table : {"orders", "order_tracking"}) {
    const std::string oid = "'\"" + s.name + "\"." + table + "'::regclass";
    EXPECT_EQ(pg_sql("SELECT partstrat FROM pg_partitioned_table WHERE partrelid = " + oid),
              std::vector<std::string>{"h"});
    EXPECT_EQ(pg_sql("SELECT count(*) FROM pg_inherits WHERE inhparent = " + oid),
              std::vector<std::string>{"4"});
    // The hash spreads 40 orders over every partition.
    EXPECT_EQ(pg_sql("SELECT count(DISTINCT tableoid) FROM " + std::string(table), s.name),
              std::vector<std::string>{"4"});
  }
  // Reopened with another count, the schema keeps the count it was made with.
  postgres_storage again(pg_test_server::conninfo(), in(s, 16));
  EXPECT_EQ(again.partitions(), 4);
  EXPECT_EQ(again.order_count(), 40u);
}

TEST(PostgresStorage, RefusesANewerSchemaVersion) {
  schema_guard s{fresh_schema()};
  { postgres_storage db(pg_test_server::conninfo(), in(s)); }
  EXPECT_EQ(pg_sql("SELECT value FROM xiaoxiang_meta WHERE key = 'schema_version'", s.name),
            std::vector<std::string>{"1"});
  pg_sql("UPDATE xiaoxiang_meta SET value = '2' WHERE key = 'schema_version'", s.name);
  try {
    postgres_storage db(pg_test_server::conninfo(), in(s));
    FAIL() << "a schema newer than the library must be refused";
  } catch (const error& e) {
    EXPECT_EQ(e.code(), errc::unsupported_schema_version);
    EXPECT_NE(std::string(e.what()).find("schema version 2"), std::string::npos) << e.what();
  }
}

TEST(PostgresStorage, StoresTheArticlesCodesAndTheAmountAsDecimal) {
  schema_guard s{fresh_schema()};
  postgres_storage db(pg_test_server::conninfo(), in(s));
  write_batch batch;
  batch.orders.push_back(make_order("o-1", "u-1", 4, order_status::delivering));
  batch.orders.back().total_amount = max_amount_cents;
  batch.orders.push_back(make_order("o-2", "u-1", 1, order_status::paid));
  batch.orders.push_back(make_order("o-3", "u-1", 1, order_status::paid));
  batch.orders.back().total_amount = 5;
  batch.records.push_back(make_record("o-1", 4, 10, "ev-1"));  // a rider position
  db.commit(batch);
  EXPECT_EQ(pg_sql("SELECT total_amount FROM orders ORDER BY id", s.name),
            (std::vector<std::string>{"99999999.99", "23.50", "0.05"}));
  EXPECT_EQ(pg_sql("SELECT status FROM orders WHERE id = 'o-1'", s.name),
            std::vector<std::string>{"3"});
  EXPECT_EQ(pg_sql("SELECT operator_type || ',' || status || ',' || kind || ',' || operator_id "
                   "FROM order_tracking",
                   s.name),
            std::vector<std::string>{"1,3,2,rider-7"});
  EXPECT_EQ(pg_sql("SELECT rider_id FROM orders WHERE id = 'o-2'", s.name),
            std::vector<std::string>{"NULL"});
  EXPECT_EQ(db.load_order(must_id("o-1"))->total_amount, max_amount_cents);
  EXPECT_EQ(db.load_order(must_id("o-3"))->total_amount, 5);
}

TEST(PostgresStorage, TextWithTabsNewlinesAndBackslashesRoundTrips) {
  schema_guard s{fresh_schema()};
  postgres_storage db(pg_test_server::conninfo(), in(s));
  auto o = make_order("o-1", "u-1", 1);
  o.address = "line 1\tcol\nline 2\r\\N \\ \"quoted\" 'single' 北京";
  auto r = make_record("o-1", 2, 10, "ev-1");  // a picking record with an address
  r.address = "\\.\n\\N\t";
  db.commit({{o}, {r}});
  EXPECT_EQ(db.load_order(o.id)->address, o.address);
  EXPECT_EQ(db.trajectory(o.id).at(0).address, r.address);
}

TEST(PostgresStorage, CountsFindsEventsAndRefusesARepeatedRecordIdOfAnOrder) {
  schema_guard s{fresh_schema()};
  postgres_storage db(pg_test_server::conninfo(), in(s));
  db.commit({{make_order("o-1", "u-1", 2)},
             {make_record("o-1", 1, 10, "ev-1"), make_record("o-1", 2, 20, "ev-2")}});
  EXPECT_EQ(db.record_count(), 2u);
  EXPECT_EQ(db.order_count(), 1u);
  EXPECT_TRUE(db.contains_event(must_id("ev-2")));
  EXPECT_FALSE(db.contains_event(must_id("ev-3")));
  auto other = make_record("o-1", 3, 10, "ev-9");
  other.record_id = make_record_id(must_id("o-1"), 1);
  try {
    db.commit({{}, {other}});
    FAIL() << "a repeated record id must be refused";
  } catch (const error& e) {
    EXPECT_EQ(e.code(), errc::storage_io);
    EXPECT_NE(std::string(e.what()).find("SQLSTATE 23505"), std::string::npos) << e.what();
  }
  EXPECT_EQ(db.record_count(), 2u);
}

TEST(PostgresStorage, TwoObjectsOnOneSchemaSeeEachOthersCommits) {
  schema_guard s{fresh_schema()};
  postgres_storage writer(pg_test_server::conninfo(), in(s));
  postgres_storage reader(pg_test_server::conninfo(), in(s));
  writer.commit({{make_order("o-1", "u-1", 1)}, {}});
  EXPECT_EQ(reader.load_order(must_id("o-1"))->version, 1u);
}

TEST(PostgresStorage, CommitReconnectsAfterTheConnectionWasLost) {
  schema_guard s{fresh_schema()};
  const std::string app = fresh_schema("app");
  postgres_storage db(pg_test_server::conninfo() + " application_name=" + app, in(s));
  db.commit({{make_order("o-1", "u-1", 1)}, {make_record("o-1", 1, 10, "ev-1")}});
  EXPECT_EQ(pg_sql("SELECT count(pg_terminate_backend(pid)) > 0 FROM pg_stat_activity "
                   "WHERE application_name = '" + app + "'"),
            std::vector<std::string>{"t"});
  // The first commit may find out the hard way (storage_io, nothing
  // written); by the next one at the latest the storage is back.
  const write_batch second{{make_order("o-1", "u-1", 2)}, {make_record("o-1", 2, 20, "ev-2")}};
  try {
    db.commit(second);
  } catch (const error& e) {
    EXPECT_EQ(e.code(), errc::storage_io);
    db.commit(second);
  }
  EXPECT_EQ(db.load_order(must_id("o-1"))->version, 2u);
  EXPECT_EQ(db.records_since(must_id("o-1"), 0).size(), 2u);
}

}  // namespace
}  // namespace xiaoxiang::testing
