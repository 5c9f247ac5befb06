"""Analyse a real GPS trajectory: length, stops, and a PNG of the track with
its stops.

    python3 examples/python/real_trajectory.py --out /tmp/plots [--track 2]

Reads GeoLife's geolife_small sample from ../shared/data/real (exits with
code 77, "skipped", when it is absent).
"""
import argparse
import os
import pathlib
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402

import xiaoxiang as xx  # noqa: E402

DATA = pathlib.Path(os.environ.get(
    "XIAOXIANG_REAL_DATA_DIR", pathlib.Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "real"))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=".", help="directory for the PNG")
    parser.add_argument("--track", default="2", help="track_id of geolife_small (1..5)")
    args = parser.parse_args()
    path = DATA / "geolife_small.normalized.csv"
    if not path.exists():
        print(f"skipped: real data not found at {path}")
        return 77

    frame = pd.read_csv(path, dtype={"track_id": str})
    track = frame[frame["track_id"] == args.track]
    if track.empty:
        print(f"no track {args.track!r}; tracks are {sorted(frame['track_id'].unique())}")
        return 2

    length_km = xx.trajectory_length_m(track["lon"], track["lat"]) / 1000
    hours = (track["timestamp_ms"].iloc[-1] - track["timestamp_ms"].iloc[0]) / 3.6e6
    stops = xx.detect_stops(track, max_diameter_m=30, min_duration_ms=60_000)
    print(f"track {args.track}: {len(track)} fixes, {length_km:.2f} km in {hours:.2f} h, "
          f"{len(stops)} stops of at least 60 s within 30 m")
    for row in stops.itertuples():
        start = pd.to_datetime(row.start_ms, unit="ms")
        print(f"  stop {row.stop_index}: {start:%Y-%m-%d %H:%M:%S} for {row.duration_s:5.0f} s "
              f"at ({row.median_lon:.5f}, {row.median_lat:.5f}), {row.n_points} fixes")

    # A GeoHash-6 cell count shows where the track spent its fixes.
    cells = pd.Series(xx.geohash_encode(track["lon"], track["lat"], 6)).value_counts()
    print(f"busiest GeoHash-6 cell: {cells.index[0]} with {cells.iloc[0]} fixes")

    fig, ax = plt.subplots(figsize=(7, 7))
    ax.plot(track["lon"], track["lat"], lw=1, color="tab:blue", label="track")
    ax.scatter(stops["median_lon"], stops["median_lat"], s=20 + stops["duration_s"] / 5,
               color="tab:red", zorder=3, label="stops (size ~ duration)")
    ax.set_xlabel("longitude")
    ax.set_ylabel("latitude")
    ax.set_title(f"GeoLife track {args.track}: {length_km:.1f} km, {len(stops)} stops")
    ax.set_aspect(1 / 0.77)  # ~cos(39.9 deg): metres look square
    ax.legend()
    out = pathlib.Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    png = out / f"geolife_track_{args.track}.png"
    fig.savefig(png, dpi=100)
    print(f"wrote {png}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
