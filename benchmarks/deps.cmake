# Extra link dependencies of individual benchmark programs (the baselines
# they compare against). Included by benchmarks/CMakeLists.txt.

# geo: GeographicLib (GeoHash baseline) and Boost.Geometry (haversine, linestring).
find_library(XIAOXIANG_BENCH_GEOGRAPHICLIB GeographicLib REQUIRED)
find_package(Boost 1.81 REQUIRED CONFIG)
if(TARGET bench_geo)
  target_link_libraries(bench_geo PRIVATE ${XIAOXIANG_BENCH_GEOGRAPHICLIB} Boost::headers)
endif()

# rider index: S2 (libs2-dev) with Abseil, and Boost.Geometry's rtree.
if(TARGET bench_rider_index)
  find_library(XIAOXIANG_BENCH_S2 s2 REQUIRED)
  find_package(absl CONFIG REQUIRED)
  target_link_libraries(bench_rider_index PRIVATE ${XIAOXIANG_BENCH_S2} absl::btree absl::flat_hash_map
                        absl::log_severity Boost::headers)
  # GCC's -Wmaybe-uninitialized misfires inside absl's InlinedVector and
  # Boost's varray once inlined into this program; not our code.
  target_compile_options(bench_rider_index PRIVATE $<$<CXX_COMPILER_ID:GNU>:-Wno-maybe-uninitialized>)
endif()

# anomaly: the real GPS file the stop-detection benchmark reads.
if(TARGET bench_anomaly)
  target_compile_definitions(bench_anomaly PRIVATE
    XIAOXIANG_REAL_DATA_DIR="${PROJECT_SOURCE_DIR}/../shared/data/real")
endif()

# postgres: libpq (to drop the benchmark's schemas) and the server script.
if(TARGET bench_postgres)
  find_package(PostgreSQL REQUIRED)
  target_link_libraries(bench_postgres PRIVATE PostgreSQL::PostgreSQL)
  target_compile_definitions(bench_postgres PRIVATE XIAOXIANG_SOURCE_DIR="${PROJECT_SOURCE_DIR}")
endif()

# redis: starts its own redis-server with scripts/redis-server.sh.
if(TARGET bench_redis)
  target_compile_definitions(bench_redis PRIVATE XIAOXIANG_SOURCE_DIR="${PROJECT_SOURCE_DIR}")
endif()

# cluster: starts Redis and PostgreSQL with the scripts, and runs the CLI
# binary (bench_cluster needs it built: make bench builds everything).
if(TARGET bench_cluster)
  target_compile_definitions(bench_cluster PRIVATE XIAOXIANG_SOURCE_DIR="${PROJECT_SOURCE_DIR}")
  add_dependencies(bench_cluster xiaoxiang_cli)
endif()
