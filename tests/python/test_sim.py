"""sim: the simulated city as DataFrames, deterministic per seed, and fed
into a Tracker in C++."""
import numpy as np
import pandas as pd
import pytest

import xiaoxiang as xx
from conftest import START_MS


def test_events_and_ground_truth_are_dataframes():
    sim = xx.Simulation(seed=5, riders=20, standstill_rate=0.5)
    events = sim.run(30 * 60_000)
    assert isinstance(events, pd.DataFrame) and len(events) > 100
    for column in ("delivered_at", "kind", "event_id", "time", "order_id", "rider_id", "lon", "lat", "json"):
        assert column in events.columns
    assert events["delivered_at"].is_monotonic_increasing
    assert set(events["kind"]) >= {"order_created", "order_paid", "rider_position"}
    assert sim.now_ms == START_MS + 30 * 60_000
    assert sim.counters["events"] == len(events)
    truth = sim.ground_truth
    assert list(truth.columns) == ["order_id", "rider_id", "kind", "start_ms", "end_ms"]
    assert set(truth["kind"]) <= {"route_deviation", "standstill", "delivery_timeout", "rider_silent"}
    assert len(sim.warehouses) == 4
    assert sim.city_geojson().startswith("{")


def test_same_seed_same_stream_whatever_the_steps():
    a = xx.Simulation(seed=9, riders=10).run(10 * 60_000, step_ms=1000)
    b = xx.Simulation(seed=9, riders=10).run(10 * 60_000, step_ms=60_000)
    assert list(a["json"]) == list(b["json"])
    c = xx.Simulation(seed=10, riders=10).run(10 * 60_000)
    assert list(a["json"]) != list(c["json"])


def test_run_into_a_tracker():
    sim = xx.Simulation(seed=2, riders=20)
    t = xx.Tracker(clock_ms=START_MS)
    events = sim.run(20 * 60_000, tracker=t)
    assert list(events.columns[-2:]) == ["status", "code"]
    counts = events["status"].value_counts()
    assert counts["accepted"] > 0
    # The simulator's injected duplicates are what the engine recognises.
    assert counts.get("duplicate", 0) == sim.counters["duplicates"]
    assert t.metrics["events"] == len(events)
    assert t.now_ms == events["delivered_at"].iloc[-1]


def test_simulation_arguments():
    with pytest.raises(ValueError, match="^colour"):
        xx.Simulation(colour="red")
    with pytest.raises(ValueError, match="^riders"):
        xx.Simulation(riders="many")
    with pytest.raises(ValueError, match="^duplicate_rate"):
        xx.Simulation(duplicate_rate=2.0)
    with pytest.raises(ValueError, match="^duration_ms"):
        xx.Simulation().run(-1)
    with pytest.raises(ValueError, match="^step_ms"):
        xx.Simulation().run(1000, step_ms=0)
    with pytest.raises(ValueError, match="^tracker"):
        xx.Simulation().run(1000, tracker=xx.Tracker())  # no manual clock
    with pytest.raises(ValueError, match="^tracker"):
        xx.Simulation().run(1000, tracker="nope")
    assert "gps_noise_m" in xx.Simulation().option_names
    assert len(xx.Simulation().run(0)) == 0
