"""engine: Tracker ingest (single, bulk arrays, JSON lines), results with
error-code names, subscriptions, snapshots, nearby riders, replay queries,
and errors (ValueError for arguments, xiaoxiang.Error for the environment)."""
import json

import numpy as np
import pandas as pd
import pytest

import xiaoxiang as xx
from conftest import START_MS, open_order


def test_ingest_from_kwargs_and_json(tracker):
    open_order(tracker)
    line = json.dumps({"type": "rider_position", "eventId": "E9", "time": START_MS + 15_000,
                       "riderId": "R1", "longitude": 116.401, "latitude": 39.901})
    r = tracker.ingest(line)
    assert r.accepted and r.status == "accepted" and r.code == "ok" and r.version == 4
    assert bool(r) and r.orders_updated == 1 and r.field is None
    dup = tracker.ingest(line.encode())
    assert dup.status == "duplicate" and dup.code == "duplicate_event"


def test_rejections_carry_code_and_field(tracker):
    open_order(tracker)
    r = tracker.ingest(kind="rider_position", id="E1", time=START_MS + 5000, rider="R1", lon=116.4, lat=95.0)
    assert r.status == "rejected" and r.code == "invalid_latitude" and r.field == "latitude"
    assert r.code_value == xx.ERRC["invalid_latitude"]
    assert "latitude" in r.message
    r = tracker.ingest(kind="order_delivered", id="E2", time=START_MS + 6000, order="NOPE", rider="R1")
    assert r.code == "unknown_order"
    r = tracker.ingest(kind="order_paid", id="E3", time=START_MS + 7000, order="O1")
    assert r.code == "illegal_transition"
    bad = tracker.ingest("{not json")
    assert bad.status == "rejected" and bad.code == "malformed_json"
    missing = tracker.ingest('{"type":"order_paid","eventId":"E4","time":1}')
    assert missing.code == "missing_field" and missing.field == "orderId"
    assert tracker.metrics["rejected_by_code"]["invalid_latitude"] == 1


@pytest.mark.parametrize("fields, argument", [
    (dict(kind="rider_position", id="E1", rider="bad id!"), "rider"),
    (dict(kind="rider_position", id="", rider="R1"), "id"),
    (dict(kind="rider_position", id="E1", rider="R" * 33), "rider"),
    (dict(kind="teleport", id="E1"), "kind"),
    (dict(kind=99, id="E1"), "kind"),
    (dict(id="E1"), "kind"),
    (dict(kind="rider_position", id="E1", lon="east"), "lon"),
    (dict(kind="order_created", id="E1", origin=(1, 2, 3)), "origin"),
    (dict(kind="picking_stage", id="E1", stage=9), "stage"),
    (dict(kind="rider_position", id="E1", colour="red"), "colour"),
    (dict(kind="position_batch", id="E1", fixes=[(1, 2)]), "fixes"),
])
def test_bad_event_fields_raise_value_error(tracker, fields, argument):
    with pytest.raises(ValueError) as info:
        tracker.ingest(**fields)
    assert str(info.value).startswith(argument)


def test_tracker_arguments():
    with pytest.raises(ValueError, match="^storage"):
        xx.Tracker(storage="redis")
    with pytest.raises(ValueError, match="^path"):
        xx.Tracker(storage="sqlite")
    with pytest.raises(ValueError, match="^path"):
        xx.Tracker(storage="memory", path="x.db")
    with pytest.raises(ValueError, match="^max_speed_kmh"):
        xx.Tracker(max_speed_kmh=0)
    with pytest.raises(ValueError, match="^now_ms"):
        xx.Tracker().now_ms = 5
    t = xx.Tracker(storage="none")
    with pytest.raises(ValueError, match="^storage"):
        t.trajectory("O1")


def test_environment_failure_raises_error_with_code(tmp_path):
    with pytest.raises(xx.Error) as info:
        xx.Tracker(storage="sqlite", path=str(tmp_path / "missing-dir" / "x.db"))
    assert info.value.code == "storage_io"
    assert info.value.value == xx.ERRC["storage_io"]
    assert isinstance(info.value, RuntimeError)


def test_sqlite_storage_persists_and_recovers(tmp_path):
    path = str(tmp_path / "t.db")
    t = xx.Tracker(storage="sqlite", path=path, clock_ms=START_MS)
    open_order(t)
    r = t.ingest_positions(["R1"] * 3, START_MS + np.array([15, 30, 45]) * 1000,
                           [116.401, 116.402, 116.403], [39.901, 39.902, 39.903])
    assert r.accepted == 3
    t.flush()
    del t
    t2 = xx.Tracker(storage="sqlite", path=path, clock_ms=START_MS + 60_000)
    assert t2.find_order("O1")["version"] == 6
    traj = t2.trajectory("O1")
    assert list(traj["version"]) == [1, 2, 3, 4, 5, 6]
    assert list(traj["kind"]) == ["status_change", "status_change", "rider_assigned",
                                  "position", "position", "position"]
    # Versions continue after recovery; the replayed event is a duplicate.
    assert t2.ingest(kind="rider_position", id="again", time=START_MS + 60_000, rider="R1",
                     lon=116.404, lat=39.904).version == 7
    assert t2.ingest_positions(["R1"], [START_MS + 45_000], [116.403], [39.903]).duplicates == 1


def test_bulk_positions_per_row_results(tracker):
    open_order(tracker)
    riders = np.array(["R1", "R1", "R1", "bad id", "", "R1", "R1"])
    t = START_MS + np.array([15, 30, 30, 45, 45, 60, 75]) * 1000
    lon = np.array([116.401, 116.402, 116.402, 116.4, 116.4, np.nan, 116.405])
    lat = np.array([39.901, 39.902, 39.902, 39.9, 39.9, 39.9, 39.905])
    r = tracker.ingest_positions(riders, t, lon, lat)
    assert len(r) == 7
    assert list(r.status) == [0, 0, 1, 2, 2, 2, 0]
    assert list(r.code_names) == ["ok", "ok", "duplicate_event", "invalid_id_character", "empty_id",
                                  "invalid_longitude", "ok"]
    assert (r.accepted, r.duplicates, r.rejected) == (3, 1, 3)
    assert r.by_code == {"duplicate_event": 1, "invalid_id_character": 1, "empty_id": 1,
                         "invalid_longitude": 1}
    assert list(r.version[:2]) == [4, 5]


def test_bulk_positions_accepts_many_input_forms(tracker):
    open_order(tracker)
    frame = pd.DataFrame({
        "rider": ["R1"] * 4,
        "t": pd.to_datetime(START_MS + np.array([15, 30, 45, 60]) * 1000, unit="ms"),
        "lon": np.float32([116.401, 116.402, 116.403, 116.404]),
        "lat": [39.901, 39.902, 39.903, 39.904],
    })
    r = tracker.ingest_positions(frame["rider"], frame["t"], frame["lon"], frame["lat"])
    assert r.accepted == 4
    r = tracker.ingest_positions(np.array([7, 7]), np.array([START_MS + 90_000, START_MS + 105_000], dtype=np.float64),
                                 [116.5, 116.5001], [39.9, 39.9001])
    assert r.accepted == 2 and tracker.orders_of_rider("7") == []


@pytest.mark.parametrize("call, argument", [
    (lambda t: t.ingest_positions(["R1"], [1], [1.0, 2.0], [1.0]), "lon"),
    (lambda t: t.ingest_positions(["R1"], ["soon"], [1.0], [1.0]), "t"),
    (lambda t: t.ingest_positions(["R1"], [[1]], [1.0], [1.0]), "t"),
    (lambda t: t.ingest_positions([1.5], [1], [1.0], [1.0]), "rider_ids"),
    (lambda t: t.ingest_positions(None, [1], [1.0], [1.0]), "rider_ids"),
    (lambda t: t.ingest_positions(["R1"], [1], [1.0], [1.0], order_ids=["O1", "O2"]), "order_ids"),
    (lambda t: t.ingest_positions(["R1"], [1], np.array([1 + 2j]), [1.0]), "lon"),
])
def test_bulk_positions_bad_arrays(tracker, call, argument):
    with pytest.raises(ValueError) as info:
        call(tracker)
    assert str(info.value).startswith(argument)


def test_bulk_edge_cases(tracker):
    empty = tracker.ingest_positions(np.array([], dtype=str), np.array([], dtype=np.int64), [], [])
    assert len(empty) == 0 and empty.accepted == 0
    one = tracker.ingest_positions(["R9"], [START_MS], [116.4], [39.9])
    assert one.accepted == 1
    nat = tracker.ingest_positions(["R9"], np.array(["NaT"], dtype="datetime64[ms]"), [116.4], [39.9])
    assert list(nat.code_names) == ["invalid_timestamp"]
    nan_t = tracker.ingest_positions(["R9"], [np.nan], [116.4], [39.9])
    assert list(nan_t.code_names) == ["invalid_timestamp"]
    objects = tracker.ingest_positions(np.array(["R9", None, 3.5], dtype=object), [START_MS + 1000] * 3,
                                       [116.4] * 3, [39.9] * 3)
    assert list(objects.code_names) == ["ok", "empty_id", "empty_id"]


def test_unsorted_positions_are_kept_in_the_trajectory(tracker):
    open_order(tracker)
    t = START_MS + np.array([60, 15, 45, 30]) * 1000
    r = tracker.ingest_positions(["R1"] * 4, t, [116.404, 116.401, 116.403, 116.402], [39.9] * 4)
    assert r.accepted == 4
    assert tracker.metrics["stale_fixes"] == 3
    traj = tracker.trajectory("O1")
    positions = traj[traj["kind"] == "position"]
    assert list(positions["create_time"]) == sorted(t)  # device-time order
    assert tracker.snapshot("O1")["longitude"] == pytest.approx(116.404)


def test_ingest_jsonl(tracker):
    sim = xx.Simulation(seed=3, riders=5)
    events = sim.run(10 * 60_000)
    lines = list(events["json"])
    r = tracker.ingest_jsonl(lines)
    assert len(r) == len(lines) and r.accepted > 0
    t2 = xx.Tracker(clock_ms=START_MS)
    r2 = t2.ingest_jsonl("\n".join(lines) + "\n")
    assert list(r2.status) == list(r.status)
    bad = t2.ingest_jsonl(["{}", 5, "[1]"])
    assert list(bad.code_names) == ["missing_field", "malformed_json", "malformed_json"]


def test_snapshot_find_order_and_queries(tracker):
    assert tracker.snapshot("O1") is None and tracker.find_order("O1") is None
    open_order(tracker)
    tracker.ingest_positions(["R1"], [START_MS + 15_000], [116.401], [39.901])
    snap = tracker.snapshot("O1")
    assert snap["type"] == "snapshot" and snap["orderId"] == "O1" and snap["version"] == 4
    assert snap["status"] == 3 and snap["riderId"] == "R1" and snap["longitude"] == pytest.approx(116.401)
    for key in ("orderId", "version", "status", "longitude", "latitude", "address", "operatorId",
                "operatorType", "createTime", "etaSeconds", "alerts", "riderId", "userId"):
        assert key in snap
    order = tracker.find_order("O1")
    assert order["status_name"] == "Delivering" and order["total_amount_cents"] == 2590
    assert tracker.orders_of_rider("R1") == ["O1"]
    near = tracker.nearby_riders(116.401, 39.901, 500.0, k=5)
    assert list(near["rider_id"]) == ["R1"] and near["distance_m"][0] < 1.0
    assert len(tracker.nearby_riders(0.5, 0.5, 500.0)) == 0
    with pytest.raises(ValueError, match="^radius_m"):
        tracker.nearby_riders(116.4, 39.9, -5.0)
    with pytest.raises(ValueError, match="^k"):
        tracker.nearby_riders(116.4, 39.9, 5.0, k=0)
    assert tracker.active_riders == 1 and tracker.hot_orders == 1
    assert tracker.remove_rider("R1") and not tracker.remove_rider("R1")
    assert tracker.route("O1").shape[0] == 0


def test_replay_queries_return_dataframes(tracker):
    open_order(tracker, order="O1", user="U7")
    open_order(tracker, order="O2", user="U7", rider="R2", time=START_MS + 10_000)
    tracker.ingest_positions(["R1", "R2"], [START_MS + 15_000, START_MS + 16_000],
                             [116.401, 116.402], [39.901, 39.902])
    since = tracker.records_since("O1", 2)
    assert isinstance(since, pd.DataFrame)
    assert list(since["version"]) == [3, 4]
    assert since["operator_id"][0] == "R1" and since["operator_type"][0] == 1
    assert np.isnan(tracker.trajectory("O1")["lon"][0])  # order created: no position
    orders = tracker.orders_of_user("U7")
    assert set(orders["order_id"]) == {"O1", "O2"}
    assert len(tracker.orders_of_user("nobody")) == 0
    updates = tracker.updates_since("O1", 2)
    assert [u["version"] for u in updates] == [3, 4]
    assert tracker.updates_since("unknown", 0) is None


def test_manual_clock_and_evict():
    t = xx.Tracker(clock_ms=START_MS, terminal_retention_ms=1000)
    assert t.now_ms == START_MS
    open_order(t)
    assert t.ingest(kind="order_delivered", id="D1", time=START_MS + 5000, order="O1", rider="R1").accepted
    t.now_ms = START_MS + 3_600_000
    assert t.evict() == 1 and t.hot_orders == 0
    assert t.snapshot("O1") is None  # no longer hot
    assert list(t.orders_of_user("U1")["status"]) == [4]  # storage still has it


def test_tables_fall_back_to_record_arrays_without_pandas():
    import subprocess
    import sys
    code = (
        "import sys; sys.modules['pandas'] = None\n"
        "import numpy as np, xiaoxiang as xx\n"
        "t = xx.Tracker(clock_ms=1764036000000)\n"
        "t.ingest(kind='rider_position', id='E1', time=1764036000000, rider='R1', lon=116.4, lat=39.9)\n"
        "near = t.nearby_riders(116.4, 39.9, 100.0)\n"
        "assert isinstance(near, np.ndarray) and near.dtype.names == ('rider_id', 'distance_m'), near\n"
        "assert near['rider_id'][0] == 'R1'\n"
        "print('ok')\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"
