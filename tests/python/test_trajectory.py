"""Trajectories: stop detection against MovingPandas' reference output
(../shared/data/real/reference_movingpandas_stops.csv), track length against
its get_length(), and the array edge cases."""
import numpy as np
import pandas as pd
import pytest

import xiaoxiang as xx
from conftest import real_file

DATASETS = {
    "geolife_small": "geolife_small.normalized.csv",
    "bus304_limerick_2019-02-18": "bus304_limerick_2019-02-18.normalized.csv",
    "liverpool_bus_route14_outbound": "liverpool_bus_route14_outbound.normalized.csv",
    "boat-positions": "boat-positions.normalized.csv",
}


def read_track_file(name):
    return pd.read_csv(real_file(name), dtype={"track_id": str}, float_precision="round_trip")


def reference_stops(dataset):
    ref = pd.read_csv(real_file("reference_movingpandas_stops.csv"), dtype={"track_id": str},
                      float_precision="round_trip")
    return ref[ref["dataset"] == dataset].reset_index(drop=True)


@pytest.mark.parametrize("dataset", sorted(DATASETS))
def test_stops_match_movingpandas(dataset):
    frame = read_track_file(DATASETS[dataset])
    ref = reference_stops(dataset)
    if ref.empty:
        # The reference names its datasets; a mismatch of names would pass silently.
        pytest.fail(f"no reference rows for {dataset}")
    got = xx.detect_stops(frame, max_diameter_m=30.0, min_duration_ms=60_000)
    assert list(got.columns) == ["track_id", "stop_index", "start_ms", "end_ms", "duration_s",
                                 "n_points", "median_lon", "median_lat"]
    key = ["track_id", "stop_index"]
    merged = ref.merge(got, on=key, how="outer", suffixes=("_ref", ""), indicator=True)
    missing = merged[merged["_merge"] != "both"]
    assert missing.empty, f"{len(missing)} stops differ:\n{missing.head(10)}"
    assert (merged["start_ms_ref"] == merged["start_ms"]).all()
    assert (merged["end_ms_ref"] == merged["end_ms"]).all()
    assert (merged["n_points_ref"] == merged["n_points"]).all()
    np.testing.assert_allclose(merged["duration_s"], merged["duration_s_ref"], rtol=0, atol=1e-9)
    np.testing.assert_allclose(merged["median_lon"], merged["median_lon_ref"], rtol=0, atol=1e-9)
    np.testing.assert_allclose(merged["median_lat"], merged["median_lat_ref"], rtol=0, atol=1e-9)


def test_lengths_match_movingpandas():
    ref = pd.read_csv(real_file("reference_movingpandas.csv"), dtype={"track_id": str})
    for dataset in ("geolife_small", "bus304_limerick_2019-02-18", "liverpool_bus_route14_outbound"):
        frame = read_track_file(DATASETS[dataset])
        for track, rows in frame.groupby("track_id", sort=False):
            expected = ref[(ref["dataset"] == dataset) & (ref["track_id"] == track)]["length_m"].iloc[0]
            got = xx.trajectory_length_m(rows["lon"].to_numpy(), rows["lat"].to_numpy())
            assert got == pytest.approx(expected, rel=1e-6), (dataset, track)


def test_arrays_and_datetime_input_give_the_same_stops():
    frame = read_track_file(DATASETS["geolife_small"])
    one = frame[frame["track_id"] == "2"]
    from_frame = xx.detect_stops(one.drop(columns="track_id"))
    from_arrays = xx.detect_stops(one["timestamp_ms"].to_numpy(), one["lon"].to_numpy(), one["lat"].to_numpy())
    as_datetime = pd.to_datetime(one["timestamp_ms"], unit="ms")
    from_datetime = xx.detect_stops(as_datetime, one["lon"], one["lat"])
    assert "track_id" not in from_arrays.columns
    pd.testing.assert_frame_equal(from_frame, from_arrays)
    pd.testing.assert_frame_equal(from_arrays, from_datetime)
    assert len(from_arrays) == 7
    # Shuffled rows are sorted back (strict_times=False).
    shuffled = one.sample(frac=1.0, random_state=4)
    pd.testing.assert_frame_equal(xx.detect_stops(shuffled.drop(columns="track_id")), from_arrays)


def test_streaming_mode():
    frame = read_track_file(DATASETS["geolife_small"])
    stops = xx.detect_stops(frame, mode="streaming")
    assert len(stops) > 0
    assert (stops["duration_s"] >= 60).all()


def test_synthetic_stop_and_edge_cases():
    t = np.arange(0, 600_000, 10_000)  # 10 minutes, a fix every 10 s
    lon = np.where((t >= 120_000) & (t < 360_000), 116.40, 116.40 + (t - 120_000) * 1e-7)
    lat = np.full(len(t), 39.90)
    stops = xx.detect_stops(t, lon, lat)
    assert len(stops) == 1
    assert stops["start_ms"][0] <= 120_000 and stops["end_ms"][0] >= 350_000
    empty = xx.detect_stops(np.array([], dtype=np.int64), np.array([]), np.array([]))
    assert len(empty) == 0 and list(empty.columns)[0] == "stop_index"
    assert len(xx.detect_stops([0], [116.4], [39.9])) == 0
    with pytest.raises(ValueError, match="^lon"):
        xx.detect_stops([0, 1000], [116.4, np.nan], [39.9, 39.9])
    with pytest.raises(ValueError, match="^t"):
        xx.detect_stops([2000, 1000], [116.4, 116.4], [39.9, 39.9], strict_times=True)
    with pytest.raises(ValueError, match="^mode"):
        xx.detect_stops([0], [116.4], [39.9], mode="fast")
    with pytest.raises(ValueError, match="^max_diameter_m"):
        xx.detect_stops([0], [116.4], [39.9], max_diameter_m=-1.0)
    with pytest.raises(ValueError, match="^lon"):
        xx.detect_stops([0, 1], [116.4], [39.9, 39.9])
    with pytest.raises(ValueError, match="^lat"):
        xx.detect_stops(pd.DataFrame({"t": [0], "lon": [1.0]}))
    with pytest.raises(ValueError, match="^lon"):
        xx.detect_stops([0, 1])
