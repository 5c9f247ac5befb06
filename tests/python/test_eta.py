"""The learned ETA standalone: EtaModel learns completed trips and replays one
fix by fix; options as keywords."""
import numpy as np
import pytest

import xiaoxiang as xx

T0 = 1_764_036_000_000


def straight_trip(seconds=600, speed_mps=5.0, start=T0):
    t = start + np.arange(0, seconds + 1, 15) * 1000
    metres = (t - start) / 1000 * speed_mps
    lon = 116.40 + metres / 85_300  # ~85.3 km per degree of longitude at 39.9 N
    lat = np.full(len(t), 39.90)
    return t, lon, lat


def test_predict_counts_down_to_delivery():
    model = xx.EtaModel()
    t, lon, lat = straight_trip()
    eta = model.predict(T0, t, lon, lat, route_lon=[lon[0], lon[-1]], route_lat=[39.9, 39.9])
    assert list(eta.columns) == ["t", "median_s", "p90_s", "progress_m"]
    assert len(eta) == len(t)
    known = eta[eta["median_s"] >= 0]
    assert len(known) > len(t) // 2
    assert (known["p90_s"] >= known["median_s"]).all()
    assert known["median_s"].iloc[-1] < known["median_s"].iloc[0]
    assert eta["progress_m"].iloc[-1] == pytest.approx(3000, rel=0.05)


def test_learning_makes_estimates_closer():
    t, lon, lat = straight_trip(speed_mps=3.0)  # slower than the 5 m/s default
    route = dict(route_lon=[lon[0], lon[-1]], route_lat=[39.9, 39.9])
    fresh = xx.EtaModel()
    before = fresh.predict(T0, t, lon, lat, **route)["median_s"].iloc[2]
    for k in range(30):
        day = T0 + k * 86_400_000
        fresh.learn_trip(day, day + int(t[-1] - T0) + 30_000, t - T0 + day, lon, lat, **route)
    after = fresh.predict(T0, t, lon, lat, **route)["median_s"].iloc[2]
    actual = (t[-1] - t[2]) / 1000 + 30
    assert abs(after - actual) < abs(before - actual)


def test_eta_options_and_errors():
    model = xx.EtaModel(default_detour=1.5, speed_default_mps=4.0, rider_memory_s=300)
    assert "speed_fine_cell_bits" in model.option_names
    with pytest.raises(ValueError, match="^colour"):
        xx.EtaModel(colour=1)
    with pytest.raises(ValueError, match="^speed_fine_cell_bits"):
        xx.EtaModel(speed_fine_cell_bits=99)
    t, lon, lat = straight_trip()
    with pytest.raises(ValueError, match="^fix_t"):
        model.learn_trip(T0, T0 + 600_000, t[:1], lon[:1], lat[:1])
    with pytest.raises(ValueError, match="^delivered_at"):
        model.learn_trip(T0, T0 - 1, t, lon, lat)
    with pytest.raises(ValueError, match="^fix_lat"):
        model.predict(T0, t, lon, lat[:3])
    with pytest.raises(ValueError, match="^route_lat"):
        model.predict(T0, t, lon, lat, route_lon=[116.4, 116.5])
    empty = model.predict(T0, t[:0], lon[:0], lat[:0], origin=(116.4, 39.9), destination=(116.5, 39.9))
    assert len(empty) == 0
