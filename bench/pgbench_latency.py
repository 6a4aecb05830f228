"""Prints one JSON line for bench/run.sh from pgbench's per-transaction logs
(`pgbench -R RATE -l`): the rate and the latency percentiles, each latency
counted from when its transaction was due (time plus schedule lag), as
inventory-load counts its own.

    python3 bench/pgbench_latency.py SCENARIO RATE LOG...
"""

import json
import sys


def latencies_ms(paths):
    # Each line: client transaction time_us script epoch epoch_us schedule_lag_us
    for path in paths:
        with open(path) as log:
            for line in log:
                fields = line.split()
                if len(fields) >= 7 and fields[2].isdigit():
                    yield (int(fields[2]) + int(fields[6])) / 1000


def percentile(ordered, share):
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def main():
    scenario, rate, paths = sys.argv[1], float(sys.argv[2]), sys.argv[3:]
    ordered = sorted(latencies_ms(paths))
    if not ordered:
        sys.exit("pgbench_latency: the logs hold no transactions")
    print(json.dumps({
        "kind": "database", "scenario": scenario, "backend": "postgresql",
        "rate": rate, "operations": len(ordered),
        "p50_ms": percentile(ordered, 0.50), "p99_ms": percentile(ordered, 0.99),
        "max_ms": ordered[-1],
    }))


if __name__ == "__main__":
    main()
