#include "xiaoxiang/storage/location_cipher.hpp"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <set>

#include "storage_conformance.hpp"
#include "storage_fixtures.hpp"
#include "temp_dir.hpp"
#include "xiaoxiang/core/error.hpp"
#include "xiaoxiang/storage/sqlite_storage.hpp"

namespace xiaoxiang::testing {
namespace {

using namespace std::string_literals;

location_key key_of(const std::string& id, std::uint8_t fill) {
  location_key k;
  k.id = id;
  for (std::size_t i = 0; i < k.bytes.size(); ++i) k.bytes[i] = static_cast<std::uint8_t>(fill + i);
  return k;
}

std::shared_ptr<const location_cipher> cipher_of(std::initializer_list<location_key> keys) {
  location_key_ring ring;
  for (const auto& k : keys) EXPECT_TRUE(ring.add(k).ok());
  return std::make_shared<const location_cipher>(std::move(ring));
}

sqlite_options with(std::shared_ptr<const location_cipher> c) {
  sqlite_options o;
  o.location_encryption = std::move(c);
  return o;
}

}  // namespace

// The whole storage contract holds with encryption on.
struct encrypted_sqlite_traits {
  static constexpr bool kPersistent = true;
  std::unique_ptr<storage> open() {
    path_ = dir_.file("enc-" + std::to_string(++opened_) + ".sqlite");
    return std::make_unique<sqlite_storage>(path_, with(cipher_));
  }
  std::unique_ptr<storage> reopen() { return std::make_unique<sqlite_storage>(path_, with(cipher_)); }

  std::shared_ptr<const location_cipher> cipher_ = cipher_of({key_of("k1", 7)});
  temp_dir dir_;
  std::string path_;
  int opened_ = 0;
};

INSTANTIATE_TYPED_TEST_SUITE_P(encrypted_sqlite, storage_conformance, encrypted_sqlite_traits);

namespace {

TEST(LocationCipher, SealOpenRoundTripsAndUsesAFreshNonce) {
  const location_cipher c(location_key_ring::parse("k1:" + std::string(64, 'a')).value());
  const std::string plain("\x01lon lat 北京市东城区", 25);
  const std::string a = c.seal(plain, "row-1");
  const std::string b = c.seal(plain, "row-1");
  EXPECT_NE(a, b) << "two seals of the same plaintext must differ (random nonce)";
  EXPECT_EQ(a.size(), plain.size() + location_cipher::overhead(2));
  EXPECT_EQ(location_cipher::key_id_of(a), "k1");
  EXPECT_EQ(c.open(a, "row-1").value(), plain);
  EXPECT_EQ(c.open(b, "row-1").value(), plain);
  EXPECT_EQ(c.open(c.seal("", ""), "").value(), "");
}

TEST(LocationCipher, RefusesTamperedOtherRowWrongKeyUnknownKeyAndMalformed) {
  const location_cipher c(location_key_ring::parse("k1:" + std::string(64, 'a')).value());
  const std::string env = c.seal("secret address", "orders\0o1\0003"s);
  // Every single-bit flip anywhere past the key id is detected.
  for (std::size_t i = 4; i < env.size(); ++i) {
    std::string t = env;
    t[i] = static_cast<char>(t[i] ^ 0x10);
    auto r = c.open(t, "orders\0o1\0003"s);
    ASSERT_FALSE(r.ok()) << "flip at byte " << i;
    EXPECT_EQ(r.error(), errc::location_auth_failed);
    EXPECT_STREQ(r.field(), "tag");
  }
  auto moved = c.open(env, "orders\0o2\0003"s);
  EXPECT_EQ(moved.error(), errc::location_auth_failed);
  const location_cipher wrong(location_key_ring::parse("k1:" + std::string(64, 'b')).value());
  EXPECT_EQ(wrong.open(env, "orders\0o1\0003"s).error(), errc::location_auth_failed);
  const location_cipher other(location_key_ring::parse("k2:" + std::string(64, 'a')).value());
  auto unknown = other.open(env, "orders\0o1\0003"s);
  EXPECT_EQ(unknown.error(), errc::location_unknown_key);
  EXPECT_STREQ(unknown.field(), "keyId");
  EXPECT_EQ(c.open("", "x").error(), errc::location_malformed);
  EXPECT_EQ(c.open(std::string("\x02\x02k1") + std::string(40, 'x'), "x").error(),
            errc::location_malformed);
  auto short_env = c.open(env.substr(0, 10), "x");
  EXPECT_EQ(short_env.error(), errc::location_malformed);
  EXPECT_STREQ(short_env.field(), "length");
}

TEST(LocationKeyRing, ParsesTheKeyFileFormatFirstKeyCurrent) {
  const std::string text = "# keys of the tracking db\n\nk2:" + std::string(64, 'F') +
                           "\r\n  k1 : " + std::string(64, '0') + "\n";
  std::size_t line = 99;
  auto ring = location_key_ring::parse(text, &line);
  ASSERT_TRUE(ring.ok()) << ring.message();
  EXPECT_EQ(line, 0u);
  EXPECT_EQ(ring->size(), 2u);
  EXPECT_EQ(ring->current()->id, "k2");
  EXPECT_EQ(ring->current()->bytes[0], 0xff);
  ASSERT_NE(ring->find("k1"), nullptr);
  EXPECT_EQ(ring->find("k1")->bytes[31], 0);
  EXPECT_EQ(ring->find("k3"), nullptr);
}

TEST(LocationKeyRing, ParseErrorsNameFieldAndLine) {
  struct bad {
    std::string text;
    const char* field;
    std::size_t line;
  };
  const std::string hex(64, 'a');
  const bad cases[] = {
      {"", "keys", 0},
      {"# only a comment\n", "keys", 1},
      {"k1" + hex, "key", 1},
      {"k1:" + hex.substr(1), "key", 1},
      {"k1:" + hex + "00", "key", 1},
      {"k1:" + hex.substr(2) + "zz", "key", 1},
      {":" + hex, "id", 1},
      {"k/1:" + hex, "id", 1},
      {std::string(33, 'k') + ":" + hex, "id", 1},
      {"k1:" + hex + "\nk1:" + hex, "id", 2},
  };
  for (const bad& b : cases) {
    std::size_t line = 99;
    auto r = location_key_ring::parse(b.text, &line);
    ASSERT_FALSE(r.ok()) << b.text;
    EXPECT_EQ(r.error(), errc::location_invalid_key) << b.text;
    EXPECT_STREQ(r.field(), b.field) << b.text;
    EXPECT_EQ(line, b.line) << b.text;
  }
  location_key_ring ring;
  EXPECT_EQ(ring.add(key_of("", 1)).code, errc::location_invalid_key);
}

TEST(LocationKeyRing, LoadFileReadsAndThrowsOnAMissingFile) {
  temp_dir dir;
  const auto path = dir.file("keys.txt");
  std::ofstream(path) << "main:" << std::string(64, '1') << "\n";
  auto ring = location_key_ring::load_file(path);
  ASSERT_TRUE(ring.ok());
  EXPECT_EQ(ring->current()->id, "main");
  try {
    (void)location_key_ring::load_file(dir.file("missing.txt"));
    FAIL() << "a missing key file must throw";
  } catch (const error& e) {
    EXPECT_EQ(e.code(), errc::storage_io);
  }
}

// --- the SQLite storage with encryption -------------------------------------------

std::string file_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}

// Every byte SQLite keeps for the database: the file and its WAL.
std::string database_bytes(const std::string& path) {
  std::string all = file_bytes(path);
  if (std::filesystem::exists(path + "-wal")) all += file_bytes(path + "-wal");
  return all;
}

bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

// The IEEE bytes of a double, little-endian (memory) or big-endian (how
// SQLite's record format stores a REAL).
std::string raw_double(double v, bool big_endian) {
  std::string s(sizeof v, '\0');
  std::memcpy(s.data(), &v, sizeof v);
  if (big_endian) std::reverse(s.begin(), s.end());
  return s;
}

std::string printed(double v, int digits) {
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, "%.*f", digits, v);
  return buffer;
}

struct written {
  std::vector<order> orders;
  std::vector<tracking_record> records;
};

// Orders and records with distinctive coordinates and addresses.
written write_sample(sqlite_storage& db, int orders, const std::string& tag) {
  written w;
  std::mt19937_64 rng(42);
  std::uniform_real_distribution<double> lon(116.1, 116.7), lat(39.7, 40.1);
  for (int i = 0; i < orders; ++i) {
    write_batch batch;
    order o = make_order(tag + "-o" + std::to_string(i), "u" + std::to_string(i), 3);
    o.origin = {lon(rng), lat(rng)};
    o.destination = {lon(rng), lat(rng)};
    o.address = "Secret Street " + std::to_string(1000 + i) + " " + tag;
    batch.orders.push_back(o);
    for (std::uint64_t v = 1; v <= 3; ++v) {
      tracking_record r = make_record(tag + "-o" + std::to_string(i), v, 1'764'000'000'000 + static_cast<std::int64_t>(v),
                                      tag + "-e" + std::to_string(i) + "-" + std::to_string(v));
      r.has_position = v != 1;
      r.position = r.has_position ? geo_point{lon(rng), lat(rng)} : geo_point{};
      r.address = v == 2 ? "Hidden Lane " + std::to_string(i) + " " + tag : "";
      batch.records.push_back(r);
    }
    db.commit(batch);
    w.orders.push_back(batch.orders[0]);
    w.records.insert(w.records.end(), batch.records.begin(), batch.records.end());
  }
  return w;
}

void expect_reads_back(sqlite_storage& db, const written& w) {
  for (const order& o : w.orders) {
    auto got = db.load_order(o.id);
    ASSERT_TRUE(got.has_value());
    EXPECT_EQ(*got, o);
    std::vector<tracking_record> expected;
    for (const auto& r : w.records)
      if (r.order == o.id) expected.push_back(r);
    EXPECT_EQ(db.records_since(o.id, 0), expected);
  }
}

TEST(SqliteEncryption, RawFileHoldsNoPlaintextCoordinateOrAddress) {
  temp_dir dir;
  const auto path = dir.file("enc.sqlite");
  written w;
  {
    sqlite_storage db(path, with(cipher_of({key_of("k1", 3)})));
    w = write_sample(db, 40, "enc");
    expect_reads_back(db, w);
  }
  const std::string bytes = database_bytes(path);
  ASSERT_GT(bytes.size(), 4096u);
  std::size_t needles = 0;
  auto absent = [&](const std::string& needle, const std::string& what) {
    ++needles;
    EXPECT_FALSE(contains(bytes, needle)) << what << " found in the file";
  };
  auto coordinate = [&](double v) {
    absent(raw_double(v, false), "raw little-endian double " + printed(v, 6));
    absent(raw_double(v, true), "raw big-endian double " + printed(v, 6));
    absent(printed(v, 6), "printed " + printed(v, 6));
    absent(printed(v, 5), "printed " + printed(v, 5));
  };
  for (const order& o : w.orders) {
    coordinate(o.origin.lon);
    coordinate(o.origin.lat);
    coordinate(o.destination.lon);
    coordinate(o.destination.lat);
    absent(o.address, o.address);
  }
  for (const auto& r : w.records) {
    if (r.has_position) {
      coordinate(r.position.lon);
      coordinate(r.position.lat);
    }
    if (!r.address.empty()) absent(r.address, r.address);
  }
  EXPECT_GT(needles, 1000u);
  EXPECT_FALSE(contains(bytes, "Secret Street"));
  EXPECT_FALSE(contains(bytes, "Hidden Lane"));

  // The same data in plaintext does show: the check above can fail.
  const auto plain_path = dir.file("plain.sqlite");
  {
    sqlite_storage db(plain_path);
    (void)write_sample(db, 40, "enc");
  }
  const std::string plain = database_bytes(plain_path);
  EXPECT_TRUE(contains(plain, "Secret Street 1000 enc"));
  EXPECT_TRUE(contains(plain, raw_double(w.orders[0].origin.lon, true)));
  EXPECT_TRUE(contains(plain, raw_double(w.records[1].position.lat, true)));
}

TEST(SqliteEncryption, RotationReadsOldRowsWritesWithTheNewKey) {
  temp_dir dir;
  const auto path = dir.file("rot.sqlite");
  const auto k1 = key_of("k1", 1), k2 = key_of("k2", 2);
  written old_rows, new_rows;
  {
    sqlite_storage db(path, with(cipher_of({k1})));
    old_rows = write_sample(db, 5, "old");
  }
  {
    location_key_ring ring;
    ASSERT_TRUE(ring.add(k1).ok());
    ASSERT_TRUE(ring.add(k2, true).ok());
    sqlite_storage db(path, with(std::make_shared<const location_cipher>(std::move(ring))));
    new_rows = write_sample(db, 5, "new");
    expect_reads_back(db, old_rows);
    expect_reads_back(db, new_rows);
  }
  {
    // Only the new key: the new rows open; an old row names its key id.
    sqlite_storage db(path, with(cipher_of({k2})));
    expect_reads_back(db, new_rows);
    try {
      (void)db.load_order(old_rows.orders[0].id);
      FAIL() << "a row sealed with a key not in the ring must not read";
    } catch (const error& e) {
      EXPECT_EQ(e.code(), errc::location_unknown_key);
      EXPECT_TRUE(contains(e.what(), "orders.address")) << e.what();
      EXPECT_TRUE(contains(e.what(), "'k1'")) << e.what();
    }
  }
}

TEST(SqliteEncryption, NoKeyAndWrongKeyAreClearErrorsNeverGarbage) {
  temp_dir dir;
  const auto path = dir.file("wrong.sqlite");
  written w;
  {
    sqlite_storage db(path, with(cipher_of({key_of("k1", 1)})));
    w = write_sample(db, 2, "x");
  }
  const order_id o = w.orders[0].id;
  {
    sqlite_storage db(path);
    try {
      (void)db.load_order(o);
      FAIL() << "reading an encrypted row without a key must throw";
    } catch (const error& e) {
      EXPECT_EQ(e.code(), errc::location_key_missing);
      EXPECT_TRUE(contains(e.what(), "orders.address")) << e.what();
    }
    try {
      (void)db.trajectory(o);
      FAIL() << "reading encrypted records without a key must throw";
    } catch (const error& e) {
      EXPECT_EQ(e.code(), errc::location_key_missing);
      EXPECT_TRUE(contains(e.what(), "order_tracking.address")) << e.what();
    }
    // Columns that are not encrypted still read.
    EXPECT_EQ(db.record_count(), 6u);
  }
  {
    sqlite_storage db(path, with(cipher_of({key_of("k1", 9)})));  // same id, other bytes
    try {
      (void)db.recover(0);
      FAIL() << "a wrong key must throw";
    } catch (const error& e) {
      EXPECT_EQ(e.code(), errc::location_auth_failed);
    }
  }
}

TEST(SqliteEncryption, TamperedOrSwappedRowsAreDetected) {
  temp_dir dir;
  const auto path = dir.file("tamper.sqlite");
  const auto cipher = cipher_of({key_of("k1", 1)});
  written w;
  {
    sqlite_storage db(path, with(cipher));
    w = write_sample(db, 3, "t");
  }
  auto exec = [&](const std::string& statement) {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
    ASSERT_EQ(sqlite3_exec(db, statement.c_str(), nullptr, nullptr, nullptr), SQLITE_OK)
        << sqlite3_errmsg(db);
    sqlite3_close(db);
  };
  auto expect_auth_failure = [&](const order_id& o) {
    sqlite_storage db(path, with(cipher));
    try {
      (void)db.load_order(o);
      FAIL() << "a tampered row must not read";
    } catch (const error& e) {
      EXPECT_EQ(e.code(), errc::location_auth_failed) << e.what();
    }
  };
  // Swap the location of two orders: each envelope is bound to its row.
  exec("UPDATE orders SET address = (SELECT address FROM orders WHERE id = 't-o1') WHERE id = 't-o0'");
  expect_auth_failure(w.orders[0].id);
  // Flip one byte of the ciphertext in place.
  {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
    sqlite3_stmt* q = nullptr;
    ASSERT_EQ(sqlite3_prepare_v2(db, "SELECT address FROM orders WHERE id = 't-o2'", -1, &q, nullptr),
              SQLITE_OK);
    ASSERT_EQ(sqlite3_step(q), SQLITE_ROW);
    ASSERT_EQ(sqlite3_column_type(q, 0), SQLITE_BLOB);
    std::string blob(static_cast<const char*>(sqlite3_column_blob(q, 0)),
                     static_cast<std::size_t>(sqlite3_column_bytes(q, 0)));
    sqlite3_finalize(q);
    blob[20] = static_cast<char>(blob[20] ^ 1);
    ASSERT_EQ(sqlite3_prepare_v2(db, "UPDATE orders SET address = ?1 WHERE id = 't-o2'", -1, &q, nullptr),
              SQLITE_OK);
    sqlite3_bind_blob(q, 1, blob.data(), static_cast<int>(blob.size()), SQLITE_TRANSIENT);
    ASSERT_EQ(sqlite3_step(q), SQLITE_DONE);
    sqlite3_finalize(q);
    sqlite3_close(db);
  }
  {
    sqlite_storage db(path, with(cipher));
    try {
      (void)db.load_order(w.orders[2].id);
      FAIL() << "a flipped byte must not read";
    } catch (const error& e) {
      EXPECT_EQ(e.code(), errc::location_auth_failed) << e.what();
    }
  }
  // Bump the stored version of a record: its envelope no longer matches.
  exec("UPDATE order_tracking SET version = 30 WHERE order_id = 't-o1' AND version = 2");
  {
    sqlite_storage db(path, with(cipher));
    try {
      (void)db.trajectory(w.orders[1].id);
      FAIL() << "a record moved to another version must not read";
    } catch (const error& e) {
      EXPECT_EQ(e.code(), errc::location_auth_failed);
    }
  }
  // The untouched row still reads.
  sqlite_storage db(path, with(cipher));
  EXPECT_EQ(*db.load_order(w.orders[1].id), w.orders[1]);
}

TEST(SqliteEncryption, PlaintextFilesStayReadableWithAKeyAndMixedFilesRead) {
  temp_dir dir;
  const auto path = dir.file("mixed.sqlite");
  written plain_rows, sealed_rows;
  {
    sqlite_storage db(path);
    plain_rows = write_sample(db, 3, "p");
  }
  {
    sqlite_storage db(path, with(cipher_of({key_of("k1", 1)})));
    sealed_rows = write_sample(db, 3, "s");
    expect_reads_back(db, plain_rows);
    expect_reads_back(db, sealed_rows);
  }
  sqlite_storage db(path);  // without a key: the plaintext rows still read
  expect_reads_back(db, plain_rows);
}

}  // namespace
}  // namespace xiaoxiang::testing
