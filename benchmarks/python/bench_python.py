"""Python binding benchmarks (docs/benchmarks.md, ## python).

    PYTHONPATH=build/python /usr/bin/python3 benchmarks/python/bench_python.py \
        [--bench-geo build/bin/bench_geo] [--bench-track build/bin/bench_track] [--quick]

1. GeoHash encode of 1,000,000 points from NumPy (12 characters) vs a
   Python loop calling the scalar binding, and vs the C++ benchmark
   BM_GeoGeohashEncode/1000000 when --bench-geo is given (same machine, same run).
2. Bulk position ingest from NumPy arrays (100,000 Delivering orders, each
   with its own rider, as bench_track) vs BM_TrackIngestPositionNoPush.
3. Delta delivery to a Python callback: dicts built in C++ vs the raw JSON
   text decoded with json.loads in the callback.
4. Stop detection on skmob_geolife_sample (217,653 points) from a DataFrame.
Times are CPU time of this process (time.process_time), the best of several
repetitions, and the C++ figures are Google Benchmark's cpu_time: on a shared
machine whose cores are oversubscribed, wall-clock time mostly measures the
wait for a core.
"""
import argparse
import json
import os
import pathlib
import subprocess
import sys
import time

import numpy as np

import xiaoxiang as xx

START_MS = 1_764_036_000_000
DATA = pathlib.Path(os.environ.get(
    "XIAOXIANG_REAL_DATA_DIR", pathlib.Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "real"))


def best_of(fn, repeat):
    times = []
    for _ in range(repeat):
        t0 = time.process_time()
        fn()
        times.append(time.process_time() - t0)
    return min(times)


def cpp_benchmark(binary, pattern):
    """CPU ns per iteration of a Google Benchmark (one item per iteration in
    BM_GeoGeohashEncode and BM_TrackIngestPositionNoPush)."""
    if not binary or not pathlib.Path(binary).exists():
        return None
    out = subprocess.run([binary, f"--benchmark_filter={pattern}", "--benchmark_format=json",
                          "--benchmark_min_time=1"], capture_output=True, text=True, check=True)
    results = json.loads(out.stdout)["benchmarks"]
    row = results[0]
    scale = {"ns": 1, "us": 1e3, "ms": 1e6, "s": 1e9}[row["time_unit"]]
    return row["cpu_time"] * scale, row["name"]


def bench_geohash(args):
    n = 1_000_000
    rng = np.random.default_rng(1)
    lon = rng.uniform(116.0, 116.8, n)  # the Beijing box, as bench_geo
    lat = rng.uniform(39.6, 40.2, n)
    # The first call maps fresh pages (the module's result-buffer cache is
    # empty); later calls of a similar size reuse the freed buffer.
    t0 = time.process_time()
    xx.geohash_encode(lon, lat, 12)
    cold_s = time.process_time() - t0
    vector_s = best_of(lambda: xx.geohash_encode(lon, lat, 12), 5)
    reused = np.empty(n, dtype="<U12")
    reused_s = best_of(lambda: xx.geohash_encode(lon, lat, 12, out=reused), 5)
    loop_n = 100_000 if args.quick else n
    lon_list, lat_list = lon[:loop_n].tolist(), lat[:loop_n].tolist()
    encode = xx.geohash_encode

    def loop():
        for a, b in zip(lon_list, lat_list):
            encode(a, b, 12)

    loop_s = best_of(loop, 1 if not args.quick else 2) * (n / loop_n)
    int_s = best_of(lambda: xx.geohash_encode_int(lon, lat, 60), 5)
    print(f"geohash_encode 1M points, first call (fresh pages): {cold_s * 1e3:.1f} ms ({cold_s * 1e9 / n:.1f} ns/point)")
    print(f"geohash_encode 1M points, NumPy -> new '<U12': {vector_s * 1e3:.1f} ms ({vector_s * 1e9 / n:.1f} ns/point)")
    print(f"geohash_encode 1M points into out= (reused):  {reused_s * 1e3:.1f} ms ({reused_s * 1e9 / n:.1f} ns/point)")
    print(f"geohash_encode_int 1M points -> uint64:    {int_s * 1e3:.1f} ms ({int_s * 1e9 / n:.1f} ns/point)")
    print(f"Python loop over the scalar binding:       {loop_s:.2f} s ({loop_s * 1e9 / n:.0f} ns/point)"
          f" -> vectorised is {loop_s / vector_s:.0f}x faster, {loop_s / reused_s:.0f}x into out= (goal >= 20x)")
    cpp = cpp_benchmark(args.bench_geo, "BM_GeoGeohashEncode/1000000$")
    if cpp:
        ns, name = cpp
        print(f"C++ {name}: {ns:.1f} ns/point -> Python array path is {vector_s * 1e9 / n / ns:.2f}x"
              f" the C++ time with a new result array, {reused_s * 1e9 / n / ns:.2f}x into out= (goal <= 2x)")


def home(i):
    """bench_track's placement of order i's origin and rider i: spread over the Beijing box."""
    i = np.asarray(i, dtype=np.int64)
    return (116.2 + 0.4 * ((i * 7919) % 100_000) / 100_000.0,
            39.8 + 0.3 * ((i * 104_729) % 100_000) / 100_000.0)


def open_orders(t, orders, start=START_MS):
    """Created, paid and assigned orders O<i>, each carried by rider R<i>: the
    workload of bench_track (origin home(i), destination home(i + 1))."""
    lines = []
    lon, lat = home(np.arange(orders + 1))
    for i in range(orders):
        lines.append(json.dumps({"type": "order_created", "eventId": f"C{i}", "time": start,
                                 "orderId": f"O{i}", "userId": f"U{i}", "warehouseId": f"W{i % 40}", "totalAmount": 25.9,
                                 "origin": {"longitude": lon[i], "latitude": lat[i]},
                                 "destination": {"longitude": lon[i + 1], "latitude": lat[i + 1]}}))
        lines.append(json.dumps({"type": "order_paid", "eventId": f"P{i}", "time": start, "orderId": f"O{i}"}))
        lines.append(json.dumps({"type": "rider_assigned", "eventId": f"A{i}", "time": start,
                                 "orderId": f"O{i}", "riderId": f"R{i}"}))
    r = t.ingest_jsonl(lines)
    assert r.accepted == 3 * orders, (r, r.by_code)
    return lon[:orders], lat[:orders]


def bench_ingest(args):
    """bench_track's BM_TrackIngestPositionNoPush workload from NumPy: each round
    moves every rider 10 m east, 15 s later (the clock 1 s after the fixes)."""
    orders = 100_000
    rounds = 6  # bench_track's run covers ~6 rounds of 100,000 riders
    bench_start = 1_764_000_000_000  # bench_track's kStart
    for publish in (False, True):
        t = xx.Tracker(storage="none", clock_ms=bench_start, publish=publish)
        lon, lat = open_orders(t, orders, bench_start)
        riders = np.array([f"R{i}" for i in range(orders)])
        total, elapsed = 0, 0.0
        for k in range(1, rounds + 1):
            times = np.full(orders, bench_start + k * 15_000, dtype=np.int64)
            t.now_ms = bench_start + k * 15_000 + 1000
            t0 = time.process_time()
            r = t.ingest_positions(riders, times, lon + 0.000117 * k, lat, advance_clock=False)
            elapsed += time.process_time() - t0
            assert r.accepted == orders, (r, r.by_code)
            total += orders
        rate = total / elapsed
        what = "engine + broker (no subscriber)" if publish else "engine alone (publish=False)"
        print(f"ingest_positions, {orders:,} riders x {rounds} rounds, {what}: {rate:,.0f} positions/s"
              f" ({1e9 / rate:.0f} ns/position, CPU)")
        if not publish:
            engine_rate = rate
    cpp = cpp_benchmark(args.bench_track, "BM_TrackIngestPositionNoPush/orders:100000/real_time/threads:1$")
    if cpp:
        ns, name = cpp
        print(f"C++ {name}: {1e9 / ns:,.0f} positions/s ({ns:.0f} ns CPU) -> Python bulk ingest reaches"
              f" {engine_rate / (1e9 / ns) * 100:.0f}% of it (goal >= 50%)")


def bench_callbacks(args):
    """CPU cost of one delivery to a Python callback: ingest with a subscriber
    per order minus the same ingest without, for the dict built in C++ and for
    the raw JSON decoded by json.loads in the callback. 3 rounds only: the
    engine's own per-fix cost grows after ~4 rounds (see docs/benchmarks.md)."""
    riders, rounds = 20_000, 3
    cost = {}
    for mode in ("none", "dict", "raw"):
        t = xx.Tracker(storage="none", clock_ms=START_MS)
        lon, lat = open_orders(t, riders)
        sink = []
        if mode == "raw":
            loads = json.loads

            def callback(message):
                sink.append(loads(message))
        else:
            callback = sink.append
        if mode != "none":
            for i in range(riders):
                t.subscribe(f"O{i}", callback, since_version=3, raw=(mode == "raw"))
        ids = np.array([f"R{i}" for i in range(riders)])
        t0 = time.process_time()
        for k in range(1, rounds + 1):
            t.now_ms = START_MS + k * 15_000 + 1000
            t.ingest_positions(ids, np.full(riders, START_MS + k * 15_000), lon + k * 1e-4, lat,
                               advance_clock=False)
        cost[mode] = (time.process_time() - t0) / (riders * rounds)
        assert mode == "none" or len(sink) == riders * rounds
    print(f"delta to a Python callback ({riders * rounds:,} deliveries, CPU per delivery beyond the ingest):"
          f" dict built in C++ {(cost['dict'] - cost['none']) * 1e9:.0f} ns;"
          f" raw JSON str + json.loads {(cost['raw'] - cost['none']) * 1e9:.0f} ns"
          f" (ingest alone {cost['none'] * 1e9:.0f} ns/position)")


def bench_stops(args):
    path = DATA / "skmob_geolife_sample.normalized.csv"
    if not path.exists():
        print(f"stop detection: skipped, {path} not found")
        return
    import pandas as pd
    frame = pd.read_csv(path, dtype={"track_id": str})
    seconds = best_of(lambda: xx.detect_stops(frame, max_diameter_m=30, min_duration_ms=60_000), 3)
    stops = xx.detect_stops(frame)
    print(f"detect_stops on skmob_geolife_sample ({len(frame):,} points, DataFrame in, DataFrame out):"
          f" {seconds:.3f} s, {len(stops)} stops (MovingPandas reference: 3056)")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bench-geo", help="path of the bench_geo program (C++ baseline)")
    parser.add_argument("--bench-track", help="path of the bench_track program (C++ baseline)")
    parser.add_argument("--quick", action="store_true", help="fewer repetitions")
    parser.add_argument("--only", choices=["geohash", "ingest", "callbacks", "stops"])
    args = parser.parse_args()
    print(f"xiaoxiang {xx.__version__}, Python {sys.version.split()[0]}, NumPy {np.__version__}")
    for name, fn in (("geohash", bench_geohash), ("ingest", bench_ingest),
                     ("callbacks", bench_callbacks), ("stops", bench_stops)):
        if args.only in (None, name):
            fn(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
