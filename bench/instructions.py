"""Drives bench/instructions.sh's server over one keep-alive connection,
and has callgrind count each phase alone: rounds of a GET and a PATCH
that lands, then rounds of a GET and a PATCH with an old version (409).

    instructions.py URL TOKEN ROUNDS VALGRIND_PID DUMP_DIRECTORY
"""

import http.client
import json
import pathlib
import subprocess
import sys
import time
import urllib.parse

PRODUCTS = 10


def main():
    url, token, rounds, pid, dumps = sys.argv[1:6]
    rounds, address = int(rounds), urllib.parse.urlsplit(url)
    connection = http.client.HTTPConnection(address.hostname, address.port)
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}

    def send(method, path, body=None, expect=(200,)):
        connection.request(method, path, None if body is None else json.dumps(body), headers)
        response = connection.getresponse()
        answer = response.read()
        if response.status not in expect:
            sys.exit(f"instructions: {method} {path} answered {response.status}: {answer[:200]!r}")
        return json.loads(answer)

    run = f"{time.time_ns():x}"
    ids = [
        send("POST", "/v1/products", {"sku": f"calls-{run}-{n}", "name": "counted",
             "price_minor": 100, "currency": "EUR", "stock": 5}, expect=(201,))["id"]
        for n in range(PRODUCTS)
    ]

    def rounds_of(count, stale):
        for n in range(count):
            path = f"/v1/products/{ids[n % PRODUCTS]}"
            product = send("GET", path)
            if stale:
                # The version before the current one (the warm-up landed
                # PATCHes first, so there is one): always a 409.
                send("PATCH", path, {"version": product["version"] - 1, "stock": 1}, expect=(409,))
            else:
                send("PATCH", path, {"version": product["version"], "stock": product["stock"] + 1})

    def counted(name, stale):
        subprocess.run(["callgrind_control", "--zero", pid], check=True, capture_output=True)
        rounds_of(rounds, stale)
        subprocess.run(["callgrind_control", f"--dump={name}", pid], check=True, capture_output=True)
        dump = max(pathlib.Path(dumps).glob(f"callgrind.{pid}.*"), key=lambda path: path.stat().st_mtime_ns)
        summary = next(line for line in dump.read_text().splitlines() if line.startswith("summary:"))
        return int(summary.split()[1])

    # Warm-up: connections opened, statements prepared, caches filled.
    rounds_of(50, stale=False)
    rounds_of(50, stale=True)
    landed = counted("landed", stale=False)
    refused = counted("refused", stale=True)
    print(f"{'instructions per round':<26}{'GET + 200':>12}{'GET + 409':>12}")
    print(f"{'':<26}{landed // rounds:>12,}{refused // rounds:>12,}")


if __name__ == "__main__":
    main()
