"""Shared fixtures of the Python tests: the real-data folder and a tracker
with a manual clock. The built package is found through PYTHONPATH (ctest
sets it to <build>/python)."""
import os
import pathlib

import pytest

REAL_DATA = pathlib.Path(os.environ.get(
    "XIAOXIANG_REAL_DATA_DIR",
    pathlib.Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "real")).resolve()

# 2025-11-25 10:00 Beijing, the simulator's default start.
START_MS = 1_764_036_000_000


def real_file(name):
    """Path of a real-data file, or skip the test with a message when absent."""
    path = REAL_DATA / name
    if not path.exists():
        pytest.skip(f"real GPS data not found: {path} (see ../shared/data/real/README.md)")
    return path


@pytest.fixture
def tracker():
    import xiaoxiang
    return xiaoxiang.Tracker(clock_ms=START_MS)


def open_order(t, order="O1", rider="R1", user="U1", time=START_MS):
    """Creates, pays and assigns an order so that positions of `rider` apply to it."""
    assert t.ingest(kind="order_created", id=f"C-{order}", time=time, order=order, user=user,
                    warehouse="W1", origin=(116.40, 39.90), destination=(116.41, 39.91),
                    amount_cents=2590, address="1 Chang'an Ave").accepted
    assert t.ingest(kind="order_paid", id=f"P-{order}", time=time + 1000, order=order).accepted
    assert t.ingest(kind="rider_assigned", id=f"A-{order}", time=time + 2000, order=order,
                    rider=rider).accepted
