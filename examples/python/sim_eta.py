"""ETA error against trip progress in the simulated city: the engine's
etaSeconds (pushed in every delta of a Delivering order) compared with when
each order was actually delivered.

    python3 examples/python/sim_eta.py --out DIR [--hours 2] [--riders 50]

Writes eta_error_vs_progress.png: the median and P90 of |predicted arrival -
actual delivery| in minutes, by share of the trip done (time since the rider
was assigned / trip duration).
"""
import argparse
import pathlib
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

import xiaoxiang as xx  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=".", help="directory for the PNG")
    parser.add_argument("--hours", type=float, default=2.0)
    parser.add_argument("--riders", type=int, default=50)
    args = parser.parse_args()

    sim = xx.Simulation(seed=4, riders=args.riders)
    tracker = xx.Tracker(clock_ms=sim.now_ms)
    predictions = []  # (order, time of the update, predicted arrival)

    def on_update(message):
        # Deltas carry etaSeconds when the estimate changed; createTime is the fix's time.
        if message.get("etaSeconds", -1) >= 0 and "createTime" in message:
            predictions.append((message["orderId"], message["createTime"],
                                message["createTime"] + message["etaSeconds"] * 1000))

    frames = []
    step_ms = 15_000
    for _ in range(int(args.hours * 3600_000 / step_ms)):
        events = sim.run(step_ms, tracker=tracker)
        frames.append(events)
        new = events[(events["kind"] == "order_created") & (events["status"] == "accepted")]
        for order in new["order_id"]:
            tracker.subscribe(order, on_update, since_version=0)  # from its first version
    events = pd.concat(frames, ignore_index=True)
    accepted = events[events["status"] == "accepted"]
    assigned = accepted[accepted["kind"] == "rider_assigned"].set_index("order_id")["time"]
    delivered = accepted[accepted["kind"] == "order_delivered"].set_index("order_id")["time"]

    p = pd.DataFrame(predictions, columns=["order_id", "t", "predicted"])
    p = p[p["order_id"].isin(delivered.index) & p["order_id"].isin(assigned.index)]
    p["assigned"] = assigned.reindex(p["order_id"]).to_numpy()
    p["delivered"] = delivered.reindex(p["order_id"]).to_numpy()
    p = p[(p["t"] >= p["assigned"]) & (p["t"] <= p["delivered"])]
    p["progress"] = (p["t"] - p["assigned"]) / (p["delivered"] - p["assigned"])
    p["error_min"] = (p["predicted"] - p["delivered"]) / 60_000
    if p.empty:
        print("no delivered order with ETA updates; run longer (--hours)")
        return 1
    p["bucket"] = np.minimum((p["progress"] * 10).astype(int), 9)
    table = p.groupby("bucket")["error_min"].agg(
        median_abs=lambda e: np.median(np.abs(e)), p90_abs=lambda e: np.percentile(np.abs(e), 90),
        bias="median", updates="size")
    print(f"{p['order_id'].nunique()} delivered orders, {len(p)} ETA updates while Delivering")
    print("ETA error (minutes) by trip progress:")
    print(table.round(2).to_string())

    fig, ax = plt.subplots(figsize=(7, 4))
    centres = (table.index + 0.5) / 10
    ax.plot(centres, table["median_abs"], marker="o", label="median |error|")
    ax.plot(centres, table["p90_abs"], marker="o", label="P90 |error|")
    ax.plot(centres, table["bias"], marker=".", ls="--", label="median error (bias)")
    ax.axhline(0, color="grey", lw=0.5)
    ax.set_xlabel("share of the trip done")
    ax.set_ylabel("minutes")
    ax.set_title("Engine ETA vs actual delivery, simulated city")
    ax.legend()
    out = pathlib.Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    png = out / "eta_error_vs_progress.png"
    fig.savefig(png, dpi=90, bbox_inches="tight")
    print(f"wrote {png}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
