"""The engine's alert detectors run standalone over arrays; options as keywords."""
import numpy as np
import pandas as pd
import pytest

import xiaoxiang as xx

T0 = 1_764_036_000_000


def test_standstill_raises_and_clears():
    t = T0 + np.arange(0, 20) * 15_000
    lon = np.concatenate([np.linspace(116.40, 116.41, 5), np.full(10, 116.41), np.linspace(116.411, 116.42, 5)])
    lat = np.full(20, 39.90)
    alerts = xx.standstill_alerts(t, lon, lat)
    assert list(alerts.columns) == ["row", "t", "change", "since_ms", "value"]
    assert list(alerts["change"]) == ["raised", "cleared"]
    assert alerts["since_ms"][0] == t[4]  # the stop began at its first fix
    # A planned stop (at the customer) gets the longer limit: no alert.
    planned = np.zeros(20, dtype=bool)
    planned[4:15] = True
    assert len(xx.standstill_alerts(t, lon, lat, planned)) == 0
    # Options as keywords: a tighter limit raises sooner.
    sooner = xx.standstill_alerts(t, lon, lat, raise_after_ms=15_000)
    assert sooner["t"][0] < alerts["t"][0]
    assert len(xx.standstill_alerts(t[:0], lon[:0], lat[:0])) == 0
    with_nan = lon.copy()
    with_nan[7] = np.nan
    assert list(xx.standstill_alerts(t, with_nan, lat)["change"]) == ["raised", "cleared"]


def test_route_deviation_with_a_polyline():
    route = xx.Polyline([116.40, 116.42], [39.90, 39.90])
    t = T0 + np.arange(0, 12) * 15_000
    lat = np.array([39.90] * 4 + [39.902] * 4 + [39.90] * 4)  # ~220 m off for a minute
    distance = route.project(np.linspace(116.40, 116.42, 12), lat)["distance_m"]
    alerts = xx.route_deviation_alerts(t, distance)
    assert list(alerts["change"]) == ["raised", "cleared"]
    assert alerts["value"][0] == pytest.approx(222, abs=3)
    assert len(xx.route_deviation_alerts(t, distance, raise_m=500)) == 0
    with pytest.raises(ValueError, match="^clear_m"):
        xx.route_deviation_alerts(t, distance, raise_m=50, clear_m=60)


def test_delivery_timeout_warns_then_goes_late():
    promised = T0 + 30 * 60_000
    now = T0 + np.arange(0, 40) * 60_000
    p90 = np.where(now < T0 + 20 * 60_000, promised - 300_000, promised + 300_000)
    alerts = xx.delivery_timeout_alerts(now, promised, p90, delivered_at=int(T0 + 39 * 60_000))
    assert list(alerts["change"]) == ["raised", "updated", "cleared"]
    assert alerts["value"][0] < 0 and alerts["value"][2] > 0


def test_rider_silent():
    fixes = T0 + np.array([0, 15, 30, 400, 415]) * 1000
    ticks = T0 + np.arange(0, 450, 10) * 1000
    alerts = xx.rider_silent_alerts(fixes, ticks, start_ms=T0)
    assert list(alerts["change"]) == ["raised", "cleared"]
    assert alerts["row"][0] < 0 and alerts["row"][1] == 3  # raised by a tick, cleared by fix 3


def test_bad_detector_arguments():
    with pytest.raises(ValueError, match="^radius_m"):
        xx.standstill_alerts([0], [1.0], [1.0], radius_m=0)
    with pytest.raises(ValueError, match="^lat"):
        xx.standstill_alerts([0, 1], [1.0, 1.0], [1.0])
    with pytest.raises(ValueError, match="^raise_after_ms"):
        xx.route_deviation_alerts([0], [1.0], raise_after_ms=-1)
    with pytest.raises(ValueError, match="^distance_m"):
        xx.route_deviation_alerts([0], ["far"])
