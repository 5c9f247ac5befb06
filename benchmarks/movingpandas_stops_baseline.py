#!/usr/bin/python3
"""Baseline of bench_anomaly: MovingPandas' TrajectoryStopDetector timed on a
normalized GPS file (track_id,timestamp_ms,lon,lat), as the reference output
in ../shared/data/real was made (README "Reference results").

Not part of the build and not run by the tests: it needs Debian's
python3-geopandas python3-shapely python3-pyproj python3-geopy and a
MovingPandas checkout (commit e981913, 0.22.4):

  /usr/bin/python3 benchmarks/movingpandas_stops_baseline.py \\
      --movingpandas /tmp/movingpandas \\
      ../shared/data/real/skmob_geolife_sample.normalized.csv [--track 001]

Prints one line per track (points, stops, seconds) and the total seconds of
stop detection, wall and CPU (building the Trajectory objects is timed apart).
"""
import argparse
import sys
import time
from datetime import timedelta


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("file")
    ap.add_argument("--movingpandas", required=True, help="folder holding the movingpandas package")
    ap.add_argument("--track", help="only this track_id")
    ap.add_argument("--max-diameter", type=float, default=30.0)
    ap.add_argument("--min-duration", type=float, default=60.0, help="seconds")
    args = ap.parse_args()
    sys.path.insert(0, args.movingpandas)
    import warnings
    warnings.simplefilter("ignore")
    import pandas as pd
    import movingpandas as mpd

    df = pd.read_csv(args.file, dtype={"track_id": str}, float_precision="round_trip")
    df["t"] = pd.to_datetime(df["timestamp_ms"], unit="ms")
    total_detect = 0.0
    total_cpu = 0.0
    total_stops = 0
    for track_id, g in df.groupby("track_id", sort=False):
        if args.track and track_id != args.track:
            continue
        if len(g) < 2:
            continue
        t0 = time.perf_counter()
        traj = mpd.Trajectory(g, traj_id=track_id, t="t", x="lon", y="lat", crs="EPSG:4326")
        t1 = time.perf_counter()
        c1 = time.process_time()
        stops = mpd.TrajectoryStopDetector(traj).get_stop_time_ranges(
            max_diameter=args.max_diameter, min_duration=timedelta(seconds=args.min_duration))
        t2 = time.perf_counter()
        c2 = time.process_time()
        total_detect += t2 - t1
        total_cpu += c2 - c1
        total_stops += len(stops)
        print(f"track {track_id}: {len(traj.df)} points, {len(stops)} stops, "
              f"build {t1 - t0:.2f} s, detect {t2 - t1:.2f} s wall, {c2 - c1:.2f} s CPU",
              flush=True)
    print(f"total: {total_stops} stops, detect {total_detect:.2f} s wall, {total_cpu:.2f} s CPU")


if __name__ == "__main__":
    main()
