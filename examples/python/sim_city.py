"""An hour of the simulated city through the engine: what the engine
rejected against what the simulator injected, delivery times, and a map of
the riders' fixes with the injected anomalies.

    python3 examples/python/sim_city.py --out DIR [--minutes 60] [--riders 50]
"""
import argparse
import pathlib
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

import xiaoxiang as xx  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=".", help="directory for the PNG")
    parser.add_argument("--minutes", type=int, default=60)
    parser.add_argument("--riders", type=int, default=50)
    args = parser.parse_args()

    sim = xx.Simulation(seed=1, riders=args.riders)
    tracker = xx.Tracker(clock_ms=sim.now_ms)
    events = sim.run(args.minutes * 60_000, tracker=tracker)

    print(f"{len(events):,} events in {args.minutes} simulated minutes")
    print(events["kind"].value_counts().to_string())
    print("\nwhat the engine did:")
    print(events.groupby(["status", "code"]).size().to_string())
    injected = sim.counters
    print(f"\nsimulator injected {injected['duplicates']} duplicates;"
          f" engine saw {int((events['status'] == 'duplicate').sum())}")

    accepted = events[events["status"] == "accepted"]
    created = accepted[accepted["kind"] == "order_created"].set_index("order_id")["time"]
    delivered = accepted[accepted["kind"] == "order_delivered"].set_index("order_id")["time"]
    minutes = (delivered - created.reindex(delivered.index)) / 60_000
    if len(minutes):
        print(f"{len(minutes)} orders delivered; minutes from order to door:"
              f" median {np.median(minutes):.1f}, P90 {np.percentile(minutes, 90):.1f}")

    truth = sim.ground_truth
    print(f"\n{len(truth)} injected anomalies:")
    print(truth["kind"].value_counts().to_string() if len(truth) else "  none")

    fixes = events[events["kind"] == "rider_position"]
    fig, ax = plt.subplots(figsize=(8, 8))
    ax.scatter(fixes["lon"], fixes["lat"], s=1, alpha=0.3, label="rider fixes")
    w = sim.warehouses
    ax.scatter(w["lon"], w["lat"], marker="s", s=60, color="black", label="warehouses")
    for kind, colour in (("standstill", "tab:red"), ("route_deviation", "tab:orange")):
        orders = set(truth[truth["kind"] == kind]["order_id"])
        riders = set(truth[truth["kind"] == kind]["rider_id"])
        hit = fixes[fixes["rider_id"].isin(riders)]
        if len(hit):
            ax.scatter(hit["lon"], hit["lat"], s=2, color=colour, label=f"riders with {kind} ({len(orders)})")
    ax.set_aspect(1 / 0.77)
    ax.set_title(f"Simulated city, {args.minutes} min, {args.riders} riders")
    ax.legend(loc="upper right", markerscale=4)
    out = pathlib.Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    png = out / "sim_city.png"
    fig.savefig(png, dpi=90)
    print(f"wrote {png}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
