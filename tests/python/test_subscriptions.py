"""Subscriptions: Python callbacks receive delta dicts with camelCase keys;
callbacks from several ingesting threads take the GIL without deadlock;
no memory grows over 100,000 deliveries."""
import gc
import json
import sys
import threading
import tracemalloc

import numpy as np
import pytest

import xiaoxiang as xx
from conftest import START_MS, open_order


def test_deltas_carry_only_changed_keys(tracker):
    open_order(tracker)
    got = []
    with tracker.subscribe("O1", got.append, since_version=3) as sub:
        tracker.ingest_positions(["R1", "R1"], [START_MS + 15_000, START_MS + 30_000],
                                 [116.401, 116.402], [39.901, 39.902])
        assert sub.active and sub.deliveries == 2 and sub.topic == "/topic/orders/O1"
    assert not sub.active
    position_keys = {"type": "delta", "orderId": "O1", "version": 4, "longitude": 116.401,
                     "latitude": 39.901, "createTime": START_MS + 15_000}
    assert {k: got[0][k] for k in position_keys} == position_keys
    # Only what a fix can change: the position, its time, and the ETA / alerts it moves.
    assert set(got[0]) - set(position_keys) <= {"etaSeconds", "etaP90Seconds", "alerts"}
    assert got[1]["version"] == 5
    tracker.ingest_positions(["R1"], [START_MS + 45_000], [116.403], [39.903])
    assert len(got) == 2  # unsubscribed


def test_subscribe_without_version_starts_with_a_snapshot(tracker):
    got = []
    sub = tracker.subscribe("O1", got.append)  # not created yet: fine
    open_order(tracker)
    assert [m["version"] for m in got] == [1, 2, 3]
    assert got[0]["type"] in ("snapshot", "delta")
    assert got[1]["type"] == "delta" and got[1]["status"] == 2
    assert got[2]["riderId"] == "R1" and got[2]["operatorType"] == 1
    late = []
    tracker.subscribe("O1", late.append)  # an existing order: a snapshot first
    assert late[0]["type"] == "snapshot" and late[0]["version"] == 3 and late[0]["status"] == 3
    sub.unsubscribe()
    sub.unsubscribe()  # idempotent


def test_resume_from_history_and_raw_json(tracker):
    open_order(tracker)
    raw = []
    tracker.subscribe("O1", raw.append, since_version=1, raw=True)
    assert [json.loads(m)["version"] for m in raw] == [2, 3]
    assert all(isinstance(m, str) for m in raw)


def test_dict_matches_json_body(tracker):
    open_order(tracker)
    dicts, raws = [], []
    tracker.subscribe("O1", dicts.append, since_version=3)
    tracker.subscribe("O1", raws.append, since_version=3, raw=True)
    tracker.ingest(kind="order_delivered", id="D1", time=START_MS + 20_000, order="O1", rider="R1",
                   lon=116.41, lat=39.91)
    assert dicts == [json.loads(r) for r in raws]
    assert dicts[0]["status"] == 4


def test_riders_topic(tracker):
    got = []
    tracker.subscribe_riders(got.append)
    tracker.ingest_positions(["R5"], [START_MS], [116.4], [39.9])
    assert got == [{"type": "riderPosition", "riderId": "R5", "longitude": 116.4, "latitude": 39.9,
                    "time": START_MS}]


def test_bad_subscribe_arguments(tracker):
    with pytest.raises(ValueError, match="^order_id"):
        tracker.subscribe("bad id", print)
    with pytest.raises(ValueError, match="^order_id"):
        tracker.subscribe(None, print)
    with pytest.raises(TypeError):
        tracker.subscribe("O1", "not callable")


def test_callback_exceptions_are_reported_not_propagated(tracker, monkeypatch):
    open_order(tracker)
    reported = []
    monkeypatch.setattr(sys, "unraisablehook", reported.append)

    def boom(message):
        raise RuntimeError("callback bug")

    sub = tracker.subscribe("O1", boom, since_version=3)
    r = tracker.ingest_positions(["R1"], [START_MS + 15_000], [116.401], [39.901])
    assert r.accepted == 1 and sub.failures == 1 and sub.deliveries == 1
    assert len(reported) == 1 and str(reported[0].exc_value) == "callback bug"


def test_tracker_keeps_subscriptions_until_unsubscribed(tracker):
    open_order(tracker)
    got = []
    tracker.subscribe("O1", got.append, since_version=3)  # handle dropped at once
    gc.collect()
    tracker.ingest_positions(["R1"], [START_MS + 15_000], [116.401], [39.901])
    assert [m["version"] for m in got] == [4]
    assert tracker.unsubscribe_all() == 1
    tracker.ingest_positions(["R1"], [START_MS + 30_000], [116.402], [39.902])
    assert len(got) == 1


def test_callback_may_read_but_not_ingest(tracker):
    open_order(tracker)
    seen = []

    def reader(message):
        seen.append(tracker.snapshot("O1")["version"])  # the broker's copy: no deadlock
        with pytest.raises(ValueError, match="^callback"):
            tracker.ingest(kind="order_paid", id="X", time=START_MS, order="O1")
        with pytest.raises(ValueError, match="^callback"):
            tracker.find_order("O1")

    tracker.subscribe("O1", reader, since_version=3)
    tracker.ingest_positions(["R1"], [START_MS + 15_000], [116.401], [39.901])
    assert seen == [4]


def test_callback_may_unsubscribe_itself(tracker):
    open_order(tracker)
    got = []
    holder = {}

    def once(message):
        got.append(message["version"])
        holder["sub"].unsubscribe()

    holder["sub"] = tracker.subscribe("O1", once, since_version=3)
    tracker.ingest_positions(["R1", "R1"], [START_MS + 15_000, START_MS + 30_000],
                             [116.401, 116.402], [39.901, 39.902])
    assert got == [4]


def test_threads_ingesting_with_callbacks():
    """4 Python threads ingest (GIL released) while callbacks re-take the GIL;
    other threads subscribe, read snapshots and unsubscribe meanwhile."""
    t = xx.Tracker(clock_ms=START_MS)
    orders = 40
    for i in range(orders):
        open_order(t, order=f"O{i}", rider=f"R{i}", user=f"U{i}")
    lock = threading.Lock()
    versions = {f"O{i}": [] for i in range(orders)}

    def record(message):
        with lock:
            versions[message["orderId"]].append(message["version"])

    subs = [t.subscribe(f"O{i}", record, since_version=3) for i in range(orders)]
    rounds = 50
    errors = []

    def ingest(part):
        try:
            for k in range(rounds):
                riders = [f"R{i}" for i in range(part, orders, 4)]
                n = len(riders)
                t.ingest_positions(riders, np.full(n, START_MS + (k + 1) * 15_000),
                                   np.full(n, 116.40 + k * 1e-4), np.full(n, 39.90))
        except Exception as e:  # noqa: BLE001
            errors.append(e)

    def churn():
        try:
            for k in range(200):
                s = t.subscribe(f"O{k % orders}", lambda m: None)
                t.snapshot(f"O{k % orders}")
                s.unsubscribe()
        except Exception as e:  # noqa: BLE001
            errors.append(e)

    threads = [threading.Thread(target=ingest, args=(p,)) for p in range(4)]
    threads += [threading.Thread(target=churn) for _ in range(2)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(timeout=120)
        assert not th.is_alive(), "deadlock: a thread did not finish"
    assert not errors
    for order, seen in versions.items():
        assert seen == list(range(4, 4 + rounds)), order  # contiguous, in order, none lost
    assert sum(s.deliveries for s in subs) == orders * rounds


def test_no_leak_over_100000_deliveries():
    t = xx.Tracker(clock_ms=START_MS)
    riders = 100
    for i in range(riders):
        open_order(t, order=f"O{i}", rider=f"R{i}", user=f"U{i}")
    count = [0]

    def callback(message):
        count[0] += 1

    subs = [t.subscribe(f"O{i}", callback, since_version=3) for i in range(riders)]
    ids = np.array([f"R{i}" for i in range(riders)])

    def deliver(rounds, first):
        for k in range(first, first + rounds):
            t.ingest_positions(ids, np.full(riders, START_MS + (k + 1) * 15_000),
                               116.40 + (np.arange(riders) + k) * 1e-5, np.full(riders, 39.90))

    deliver(100, 0)  # warm up: broker histories reach their caps
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.take_snapshot()
    deliver(1000, 100)  # 100,000 deliveries
    gc.collect()
    after = tracemalloc.take_snapshot()
    tracemalloc.stop()
    assert count[0] == 110_000
    growth = sum(stat.size_diff for stat in after.compare_to(before, "filename"))
    assert growth < 100_000, f"Python memory grew by {growth} bytes over 100,000 deliveries"
    for s in subs:
        s.unsubscribe()
