"""Prints bench/run.sh's table from what it measured in target/bench/:
each scenario's API figure beside the database's own limit and the ratio
(backend "postgresql-pinned": both measured with PostgreSQL on a core of
its own and all else on another), latency at half the peak rate (the
median of its rounds, beside the database's own at that rate, and a
request that touches no database), the
server's memory over the long run, and the stock sync's speed-up; each
against its target.

    python3 bench/table.py target/bench
"""

import json
import re
import sys
from pathlib import Path
from statistics import median

# The least ratio to the database's limit each (scenario, backend) must reach.
RATIO_TARGETS = {
    ("read", "postgresql"): 0.35,
    ("cas", "postgresql"): 0.6,
    ("cas", "sqlite"): 0.5,
    ("hot", "postgresql"): 0.8,
    ("hot", "sqlite"): 0.8,
}
HALF_PEAK_P99_MS = 5.0
PEAK_MEMORY_MIB = 64.0
# Memory is flat when the last minute's RSS exceeds the second minute's by
# less than this share.
FLAT_GROWTH = 0.10
STOCK_SYNC_SPEEDUP = 20.0


def read_lines(path):
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def database_limits(results):
    """The database's own figure for each (scenario, backend)."""
    return {(r["scenario"], r["backend"]): r for r in results if r.get("kind") == "database"}


def verdict(holds):
    return "ok" if holds else "MISSED"


def ratio_rows(results):
    api = {(r["scenario"], r["backend"]): r for r in results if r.get("kind", "api") == "api"}
    database = database_limits(results)
    rows = []
    for key, run in api.items():
        scenario, backend = key
        if scenario.endswith("-half-peak") or scenario == "healthz":
            continue
        limit = database.get(key)
        ratio = run["per_second"] / limit["per_second"] if limit else None
        # "postgresql-pinned" (the database on a core of its own) is held
        # to PostgreSQL's targets.
        target = RATIO_TARGETS.get((scenario, backend.removesuffix("-pinned")))
        notes = []
        if run["server_errors"] or run["other_errors"]:
            notes.append(f'{run["server_errors"]} 5xx, {run["other_errors"]} other errors')
        if not run["invariants_hold"]:
            notes.append("INVARIANTS BROKEN")
        if limit and limit.get("busy"):
            notes.append(f'the limit retried {limit["busy"]} busy writes')
        status = ""
        if target is not None:
            status = f"≥{target}x {verdict(ratio is not None and ratio >= target)}"
        rows.append((
            scenario, backend, f'{run["per_second"]:,.0f}/s',
            f'{limit["per_second"]:,.0f}/s' if limit else "-",
            f"{ratio:.2f}x" if ratio is not None else "-",
            f'{run["p99_ms"]:.1f} ms', status, "; ".join(notes),
        ))
    return rows


def print_table(headers, rows):
    widths = [max(len(str(cell)) for cell in column) for column in zip(headers, *rows)]
    for row in [headers, *rows]:
        print("  ".join(str(cell).ljust(width) for cell, width in zip(row, widths)).rstrip())
    print()


def half_peak_rows(results):
    # At half the peak, bench/run.sh runs rounds (on PostgreSQL the API's
    # and pgbench's in turn); each side is judged by its median round.
    rounds = {}
    for run in results:
        if run["scenario"].endswith("-half-peak"):
            side = "api" if run.get("kind", "api") == "api" else "database"
            rounds.setdefault((run["scenario"], run["backend"]), {}).setdefault(side, []).append(run)
    # GET /healthz at a rate: the latency of a request that touches no database.
    floor = {(r["backend"], r["rate"]): r for r in results if r["scenario"] == "healthz"}
    rows = []
    for (scenario, backend), sides in rounds.items():
        api = sides.get("api")
        if not api:
            continue
        p99 = median([run["p99_ms"] for run in api])
        limit = sides.get("database", [])
        no_database = floor.get((backend, api[0]["rate"]))
        rows.append((
            scenario.removesuffix("-half-peak"), backend, f'{api[0]["rate"]:,.0f}/s',
            p99_cell(api), p99_cell(limit) if limit else "-",
            f'{no_database["p99_ms"]:.2f} ms' if no_database else "-",
            f"≤{HALF_PEAK_P99_MS:g} ms {verdict(p99 <= HALF_PEAK_P99_MS)}",
        ))
    return rows


def p99_cell(runs):
    """The median p99 of the rounds, then every round's in the order run."""
    cell = f'{median([run["p99_ms"] for run in runs]):.2f} ms'
    if len(runs) > 1:
        cell += " (" + ", ".join(f'{run["p99_ms"]:.2f}' for run in runs) + ")"
    return cell


def cores_rows(results):
    database = database_limits(results)
    rows = []
    for run in results:
        limit = database.get((run["scenario"], run["backend"]))
        if run.get("kind", "api") != "api" or not limit or "database" not in limit.get("cores", {}):
            continue
        api, alone = run["cores"], limit["cores"]
        rows.append((
            run["scenario"], run["backend"], f'{api["database"]:.2f}', f'{api["server"]:.2f}',
            f'{api["load"]:.2f}', f'{alone["database"]:.2f}', f'{alone["pgbench"]:.2f}',
            f'{api["database"] / alone["database"]:.2f}x' if alone["database"] else "-",
        ))
    return rows


def memory_rows(folder, results):
    rows = []
    for backend in ("postgresql", "sqlite"):
        path = folder / f"memory-{backend}.tsv"
        if not path.exists():
            continue
        # Each line: seconds since start, RSS KiB, peak RSS KiB, then (of
        # the RSS) heap KiB and mapped files KiB.
        samples = [tuple(map(int, line.split())) for line in path.read_text().splitlines()
                   if len(line.split()) == 5]
        if not samples:
            continue
        start = samples[0][0]
        second_minute = [s for s in samples if 60 <= s[0] - start < 120] or samples[:1]
        last_minute = [s for s in samples if s[0] - start >= samples[-1][0] - start - 60]

        def rss(minute):
            return max(s[1] for s in minute)

        def heap(minute):
            return max(s[3] for s in minute)

        peak = max(max(s[2] for s in samples),
                   max((r.get("server_peak_kib", 0) for r in results if r["backend"] == backend), default=0))
        growth = rss(last_minute) / rss(second_minute) - 1
        rows.append((
            backend, f"{samples[-1][0] - start} s", f"{peak / 1024:.1f} MiB",
            f"{rss(second_minute) / 1024:.1f} -> {rss(last_minute) / 1024:.1f} MiB ({growth:+.0%})",
            f"{heap(second_minute) / 1024:.1f} -> {heap(last_minute) / 1024:.1f} MiB",
            f"≤{PEAK_MEMORY_MIB:g} MiB {verdict(peak / 1024 <= PEAK_MEMORY_MIB)}, "
            f"flat {verdict(growth < FLAT_GROWTH)}",
        ))
    return rows


def stock_sync_rows(folder):
    path = folder / "stock-sync.txt"
    rows = []
    if path.exists():
        for line in path.read_text().splitlines():
            found = re.match(r"(\w+): .*?([\d.]+) ms, one .*?([\d.]+) ms, batch is ([\d.]+)x", line)
            if found:
                backend, single, batch, speedup = found.groups()
                rows.append((
                    backend, f"{single} ms", f"{batch} ms", f"{speedup}x",
                    f"≥{STOCK_SYNC_SPEEDUP:g}x {verdict(float(speedup) >= STOCK_SYNC_SPEEDUP)}",
                ))
    return rows


def main():
    folder = Path(sys.argv[1] if len(sys.argv) > 1 else "target/bench")
    results = read_lines(folder / "results.jsonl")
    print_table(("scenario", "backend", "API", "database", "ratio", "API p99", "target", "notes"),
                ratio_rows(results))
    print_table(("at half the peak", "backend", "rate", "API p99, median (rounds)",
                 "database p99, median (rounds)", "GET /healthz p99", "target"),
                half_peak_rows(results))
    print_table(("cores used", "backend", "database (API)", "server", "load",
                 "database (pgbench)", "pgbench", "database's cores, API/pgbench"),
                cores_rows(results))
    print_table(("memory", "run", "peak RSS", "RSS 2nd minute -> last", "of it heap", "target"),
                memory_rows(folder, results))
    print_table(("stock sync", "1000 PATCHes", "one 1000-item batch", "speed-up", "target"),
                stock_sync_rows(folder))


if __name__ == "__main__":
    main()
