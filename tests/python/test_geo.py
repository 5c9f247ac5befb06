"""geo: GeoHash, distances and polylines on scalars and NumPy arrays,
checked against the scalar bindings and known values; bad arrays never crash."""
import math

import numpy as np
import pytest

import xiaoxiang as xx


def test_geohash_encode_scalar_known_value():
    # The classic example: 57.64911, 10.40744 is u4pruydqqvj.
    assert xx.geohash_encode(10.40744, 57.64911, 11) == "u4pruydqqvj"
    assert xx.geohash_encode(np.float32(10.40744), np.float64(57.64911), 5) == "u4pru"


def test_geohash_encode_array_matches_scalar():
    rng = np.random.default_rng(7)
    lon = rng.uniform(-180, 180, 2000)
    lat = rng.uniform(-90, 90, 2000)
    for precision in (1, 5, 12):
        out = xx.geohash_encode(lon, lat, precision)
        assert out.dtype == np.dtype(f"<U{precision}")
        assert list(out) == [xx.geohash_encode(a, b, precision) for a, b in zip(lon, lat)]


def test_geohash_encode_every_precision_and_block_boundary():
    # Arrays longer than the binding's block (256 points), every precision
    # (items narrower than 12 characters are written in order with spill),
    # invalid points spread over blocks, and one array big enough (> 8 MiB of
    # '<U12') for the streaming-store path.
    rng = np.random.default_rng(11)
    n = 1000
    lon = rng.uniform(-180, 180, n)
    lat = rng.uniform(-90, 90, n)
    lon[[0, 255, 256, 999]] = np.nan
    for precision in range(1, 13):
        out = xx.geohash_encode(lon, lat, precision)
        expected = ["" if math.isnan(a) else xx.geohash_encode(a, b, precision) for a, b in zip(lon, lat)]
        assert list(out) == expected
        into = np.empty(n, dtype=f"<U{precision}")
        xx.geohash_encode(lon, lat, precision, out=into)
        assert list(into) == expected
    big = 200_003
    lon = rng.uniform(116.0, 116.8, big)
    lat = rng.uniform(39.6, 40.2, big)
    lat[big - 1] = 95.0
    out = xx.geohash_encode(lon, lat, 12)
    sample = rng.integers(0, big - 1, 500)
    assert [out[i] for i in sample] == [xx.geohash_encode(lon[i], lat[i], 12) for i in sample]
    assert out[big - 1] == "" and out[big - 2] == xx.geohash_encode(lon[big - 2], lat[big - 2], 12)


def test_geohash_encode_array_inputs_of_any_layout():
    lon = np.array([116.397, 116.4, 116.5, 116.6])
    lat = np.array([39.908, 39.9, 39.95, 40.0])
    expected = xx.geohash_encode(lon, lat, 9)
    assert list(xx.geohash_encode(lon.astype(np.float32), lat.astype(np.float32), 9)) == \
        [xx.geohash_encode(float(a), float(b), 9) for a, b in zip(lon.astype(np.float32), lat.astype(np.float32))]
    both = np.stack([lon, lat], axis=1)  # columns are non-contiguous views
    assert list(xx.geohash_encode(both[:, 0], both[:, 1], 9)) == list(expected)
    assert list(xx.geohash_encode(list(lon), list(lat), 9)) == list(expected)
    assert list(xx.geohash_encode(lon[::-1], lat[::-1], 9)) == list(expected[::-1])
    ints = xx.geohash_encode(np.array([116, 117]), np.array([39, 40]), 4)
    assert list(ints) == [xx.geohash_encode(116.0, 39.0, 4), xx.geohash_encode(117.0, 40.0, 4)]


def test_geohash_encode_invalid_points_give_empty_strings():
    out = xx.geohash_encode([116.4, np.nan, 200.0, 116.4, np.inf], [39.9, 39.9, 39.9, -91.0, 0.0], 6)
    assert list(out[1:]) == ["", "", "", ""]
    assert out[0] != ""


def test_geohash_encode_empty_and_single():
    assert xx.geohash_encode(np.array([]), np.array([]), 7).shape == (0,)
    assert list(xx.geohash_encode(np.array([116.4]), np.array([39.9]), 7)) == [xx.geohash_encode(116.4, 39.9, 7)]


@pytest.mark.parametrize("call, argument", [
    (lambda: xx.geohash_encode(116.4, 39.9, 13), "precision"),
    (lambda: xx.geohash_encode(116.4, 39.9, 0), "precision"),
    (lambda: xx.geohash_encode(np.zeros(2), np.zeros(2), 13), "precision"),
    (lambda: xx.geohash_encode(181.0, 39.9), "lon"),
    (lambda: xx.geohash_encode(116.4, math.nan), "lat"),
    (lambda: xx.geohash_encode(np.zeros((2, 2)), np.zeros((2, 2))), "lon"),
    (lambda: xx.geohash_encode(np.array(["a", "b"]), np.zeros(2)), "lon"),
    (lambda: xx.geohash_encode(np.zeros(3), np.zeros(2)), "lat"),
    (lambda: xx.geohash_encode(None, np.zeros(2)), "lon"),
    (lambda: xx.geohash_encode(np.array([object(), 1]), np.zeros(2)), "lon"),
    (lambda: xx.geohash_encode_int(116.4, 39.9, 61), "bits"),
    (lambda: xx.geohash_decode("wx4a"), "geohash"),
    (lambda: xx.geohash_decode(""), "geohash"),
    (lambda: xx.geohash_neighbours("wx4g0bm6c408x"), "geohash"),
    (lambda: xx.geohash_cover(116.4, 39.9, -1.0, 7), "radius"),
    (lambda: xx.geohash_cover(116.4, 39.9, 100.0, 13), "precision"),
    (lambda: xx.geohash_cover([116.4], [39.9], math.nan, 7), "radius_m"),
    (lambda: xx.trajectory_length_m([1, 2], [1, 2], method="manhattan"), "method"),
    (lambda: xx.cheap_ruler_m(1, 2, 3, 4, ruler_lat=100.0), "ruler_lat"),
])
def test_bad_arguments_raise_value_error_naming_the_argument(call, argument):
    with pytest.raises(ValueError) as info:
        call()
    assert str(info.value).startswith(argument)


def test_error_messages_carry_the_code_name():
    with pytest.raises(ValueError, match=r"\[invalid_precision\]"):
        xx.geohash_encode(1.0, 2.0, 13)


def test_geohash_encode_int_matches_string_form():
    lon = np.array([116.397, -73.98, 0.0])
    lat = np.array([39.908, 40.75, 0.0])
    ints = xx.geohash_encode_int(lon, lat, 60)
    assert ints.dtype == np.uint64
    for i in range(3):
        text = xx.geohash_encode(lon[i], lat[i], 12)
        assert int(ints[i]) == xx.geohash_encode_int(lon[i], lat[i], 60)
        # 5 bits per character, base-32 alphabet
        value = 0
        for c in text:
            value = value * 32 + "0123456789bcdefghjkmnpqrstuvwxyz".index(c)
        assert value == int(ints[i])
    assert int(xx.geohash_encode_int([np.nan], [0.0], 60)[0]) == xx.GEOHASH_INVALID


def test_geohash_decode_round_trip():
    lon, lat = 116.397128, 39.916527
    h = xx.geohash_encode(lon, lat, 12)
    clon, clat, elon, elat = xx.geohash_decode(h, with_error=True)
    assert abs(clon - lon) <= elon and abs(clat - lat) <= elat
    arr_lon, arr_lat = xx.geohash_decode(np.array([h, "WX4G0", "bad!", ""], dtype=object))
    assert arr_lon[0] == clon and arr_lat[0] == clat
    assert (arr_lon[1], arr_lat[1]) == xx.geohash_decode("wx4g0")
    assert np.isnan(arr_lon[2]) and np.isnan(arr_lat[3])
    b_lon, _ = xx.geohash_decode(np.array([b"wx4g0"]))
    assert b_lon[0] == xx.geohash_decode("wx4g0")[0]


def test_geohash_neighbours_scalar_and_array():
    n = xx.geohash_neighbours("wx4g0")
    assert len(n) == 8 and len(set(n)) == 8 and "wx4g0" not in n
    arr = xx.geohash_neighbours(np.array(["wx4g0", "zzz", "a"]))
    assert arr.shape == (3, 8)
    assert list(arr[0]) == n
    assert list(arr[2]) == [""] * 8
    # Neighbour relation is symmetric: the S neighbour's N neighbour is the cell.
    assert xx.geohash_neighbours(n[4])[0] == "wx4g0"


def test_geohash_cover_scalar_and_array():
    cells = xx.geohash_cover(116.4, 39.9, 500.0, 7)
    assert xx.geohash_encode(116.4, 39.9, 7) in cells
    index, arr = xx.geohash_cover(np.array([116.4, np.nan, 116.5]), np.array([39.9, 0.0, 39.95]), 500.0, 7)
    assert len(index) == len(arr)
    assert sorted(arr[index == 0]) == sorted(cells)
    assert not np.any(index == 1)
    assert set(arr[index == 2]) == set(xx.geohash_cover(116.5, 39.95, 500.0, 7))


def test_haversine_and_cheap_ruler():
    # One degree of latitude on the mean sphere.
    assert xx.haversine_m(0.0, 0.0, 0.0, 1.0) == pytest.approx(math.pi * xx.EARTH_RADIUS_M / 180, rel=1e-12)
    rng = np.random.default_rng(3)
    lon1 = 116.3 + rng.uniform(0, 0.2, 500)
    lat1 = 39.8 + rng.uniform(0, 0.2, 500)
    lon2 = 116.3 + rng.uniform(0, 0.2, 500)
    lat2 = 39.8 + rng.uniform(0, 0.2, 500)
    h = xx.haversine_m(lon1, lat1, lon2, lat2)
    assert h[10] == xx.haversine_m(lon1[10], lat1[10], lon2[10], lat2[10])
    c = xx.cheap_ruler_m(lon1, lat1, lon2, lat2)
    # Cheap ruler (WGS-84) and haversine (sphere) agree to the sphere's 0.5%.
    assert np.all(np.abs(c - h) <= 0.005 * h + 1e-9)
    # Broadcasting one point against many.
    b = xx.haversine_m(lon1, lat1, 116.4, 39.9)
    assert b[3] == xx.haversine_m(lon1[3], lat1[3], 116.4, 39.9)
    assert np.isnan(xx.haversine_m([np.nan], [0.0], [0.0], [0.0])[0])
    assert math.isnan(xx.haversine_m(0.0, 95.0, 0.0, 0.0))
    assert xx.bearing_deg(0.0, 0.0, 1.0, 0.0) == pytest.approx(90.0)
    with pytest.raises(ValueError, match="^lat2"):
        xx.haversine_m(np.zeros(3), np.zeros(3), np.zeros(3), np.zeros(2))


def test_trajectory_length():
    lon = np.array([116.40, 116.41, np.nan, 116.42])
    lat = np.array([39.90, 39.90, 0.0, 39.90])
    expected = xx.haversine_m(116.40, 39.90, 116.41, 39.90) + xx.haversine_m(116.41, 39.90, 116.42, 39.90)
    assert xx.trajectory_length_m(lon, lat, method="haversine") == pytest.approx(expected, rel=1e-12)
    assert xx.trajectory_length_m(lon, lat) == pytest.approx(expected, rel=0.005)
    assert xx.trajectory_length_m([], []) == 0.0
    assert xx.trajectory_length_m([116.4], [39.9]) == 0.0


def test_polyline_projection():
    line = xx.Polyline([116.40, 116.41, 116.41], [39.90, 39.90, 39.91])
    assert len(line) == 3
    assert line.length_m == pytest.approx(line.cumulative_m[-1])
    p = line.project(116.405, 39.9001)
    assert p["segment"] == 0
    assert p["distance_m"] == pytest.approx(11.1, abs=0.2)
    assert p["along_m"] + p["remaining_m"] == pytest.approx(line.length_m)
    assert 0 < p["progress"] < 0.5
    table = line.project(np.array([116.405, np.nan, 116.4101]), np.array([39.9001, 39.9, 39.905]))
    assert list(table.columns) == ["distance_m", "along_m", "remaining_m", "progress", "segment", "lon", "lat"]
    assert table["along_m"][0] == pytest.approx(p["along_m"])
    assert np.isnan(table["distance_m"][1]) and table["segment"][1] == -1
    assert table["segment"][2] == 1
    followed = line.project(np.linspace(116.40, 116.41, 20), np.full(20, 39.9), follow=True)
    assert np.all(np.diff(followed["along_m"]) >= 0)
    with pytest.raises(ValueError, match="^lon/lat"):
        xx.Polyline([116.4], [39.9])
    with pytest.raises(ValueError, match="^lon/lat"):
        xx.Polyline([116.4, np.nan], [39.9, 39.9])
    with pytest.raises(ValueError, match="^lat"):
        line.project(116.4, 91.0)


def test_geohash_encode_into_out():
    lon = np.array([116.397, np.nan, 116.5])
    lat = np.array([39.908, 0.0, 39.95])
    out = np.empty(3, dtype="<U7")
    assert xx.geohash_encode(lon, lat, 7, out=out) is out
    assert list(out) == list(xx.geohash_encode(lon, lat, 7))
    ints = np.zeros(3, dtype=np.uint64)
    assert xx.geohash_encode_int(lon, lat, 35, out=ints) is ints
    assert list(ints) == list(xx.geohash_encode_int(lon, lat, 35))
    for bad in (np.empty(3, dtype="<U6"), np.empty(4, dtype="<U7"), np.empty(6, dtype="<U7")[::2],
                np.empty((3, 1), dtype="<U7"), [None] * 3):
        with pytest.raises(ValueError, match="^out"):
            xx.geohash_encode(lon, lat, 7, out=bad)
    readonly = np.empty(3, dtype=np.uint64)
    readonly.setflags(write=False)
    with pytest.raises(ValueError, match="^out"):
        xx.geohash_encode_int(lon, lat, 35, out=readonly)


def test_large_results_reuse_freed_buffers_without_stale_data():
    # Results of >= 1 MiB come from a cache of freed buffers: a reused buffer
    # still holds the previous result's characters, so every item (shorter
    # precisions, invalid points) must be written in full.
    rng = np.random.default_rng(11)
    n = 40_000  # 40,000 x 12 x 4 bytes = 1.9 MB
    lon = rng.uniform(-180, 180, n)
    lat = rng.uniform(-90, 90, n)
    expected12 = xx.geohash_encode(lon, lat, 12)
    address = expected12.__array_interface__["data"][0]
    copy12 = expected12.copy()
    del expected12
    again = xx.geohash_encode(lon, lat, 12)
    assert again.__array_interface__["data"][0] == address  # the freed buffer came back
    assert np.array_equal(again, copy12)
    assert again.flags.writeable and again.flags.c_contiguous
    del again
    lon[::7] = np.nan
    for precision in (11, 6, 1):
        short = xx.geohash_encode(lon, lat, precision)
        assert short.dtype == np.dtype(f"<U{precision}")
        assert all(s == "" for s in short[::7])
        assert list(short[1:200]) == ["" if np.isnan(a) else xx.geohash_encode(a, b, precision)
                                      for a, b in zip(lon[1:200], lat[1:200])]
        assert np.array_equal(short[1::7], np.array([c[:precision] for c in copy12[1::7]]))
        del short
    # Two live results never share memory; release_buffers unmaps the idle ones.
    a = xx.geohash_encode(lon, lat, 12)
    b = xx.geohash_encode(lon, lat, 12)
    assert not np.shares_memory(a, b)
    del a, b
    assert xx.release_buffers() > 0
    assert xx.release_buffers() == 0
