"""Subscribe to one order and print every delta the engine pushes for it,
while a simulated city runs for 40 minutes.

    python3 examples/python/subscribe_order.py [--out DIR]

Deltas carry only the keys that changed, plus orderId and version
(camelCase, as the browser front end reads them).
"""
import argparse
import sys

import xiaoxiang as xx


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=None, help="unused (the tests pass an output directory)")
    parser.add_argument("--minutes", type=int, default=40)
    args = parser.parse_args()

    sim = xx.Simulation(seed=11, riders=10)
    tracker = xx.Tracker(clock_ms=sim.now_ms)  # a manual clock, moved by the simulation

    # Run until the city creates its first order, then watch it from its creation.
    for _ in range(60):
        step = sim.run(30_000, tracker=tracker)
        created = step[step["kind"] == "order_created"]
        if not created.empty:
            break
    else:
        print("no order in the first 30 minutes")
        return 1
    order = created["order_id"].iloc[0]
    print(f"watching {order}")

    def show(message):
        keys = {k: v for k, v in message.items() if k not in ("type", "orderId")}
        print(f"  {message['type']:8} {keys}")

    with tracker.subscribe(order, show, since_version=0) as sub:
        sim.run(args.minutes * 60_000, tracker=tracker)
    print(f"{sub.deliveries} messages; final state:")
    final = tracker.snapshot(order) or tracker.find_order(order)
    print(f"  {final}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
