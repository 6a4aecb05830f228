"""Sends the heaviest bodies one client can: 1 MiB stock syncs of 349,518
empty items, `clients` at once, for `seconds`; bench/abuse.sh reads the
server's memory around it.

    python3 bench/huge_bodies.py URL TOKEN CLIENTS SECONDS

Prints one JSON line: requests sent, the statuses seen and the largest
answer in bytes.
"""

import json
import sys
import threading
import time
import urllib.error
import urllib.request

url, token, clients, seconds = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
body = ("{\"items\":[" + ",".join(["{}"] * 349_518) + "]}").encode()
assert len(body) <= 1024 * 1024
statuses, largest, sent = {}, [0], [0]
lock = threading.Lock()
deadline = time.monotonic() + seconds


def send():
    while time.monotonic() < deadline:
        request = urllib.request.Request(
            f"{url}/v1/stock-sync",
            data=body,
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request) as answer:
                status, length = answer.status, len(answer.read())
        except urllib.error.HTTPError as error:
            status, length = error.code, len(error.read())
        with lock:
            sent[0] += 1
            statuses[status] = statuses.get(status, 0) + 1
            largest[0] = max(largest[0], length)


threads = [threading.Thread(target=send) for _ in range(clients)]
for thread in threads:
    thread.start()
for thread in threads:
    thread.join()
print(json.dumps({"sent": sent[0], "statuses": statuses, "largest_answer_bytes": largest[0]}))
