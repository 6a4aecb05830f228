"""Holds N event streams open against a server and reads whatever comes,
as N browser tabs would: bench/streams.sh measures writes beside them.

    python3 bench/hold_streams.py URL TOKEN N

Prints "open N" once every stream has had its `ready` event, then holds
them until killed, and prints how many bytes they read in all on SIGTERM.
"""

import asyncio
import signal
import sys
from urllib.parse import urlsplit


async def hold(host, port, token, opened, total):
    reader, writer = await asyncio.open_connection(host, port)
    writer.write(
        (
            "GET /v1/events HTTP/1.1\r\nHost: bench\r\n"
            f"Authorization: Bearer {token}\r\nAccept: text/event-stream\r\n\r\n"
        ).encode()
    )
    await writer.drain()
    seen = b""
    while b"event: ready" not in seen:
        chunk = await reader.read(65536)
        if not chunk:
            raise SystemExit(f"a stream closed before it was ready: {seen[:200]!r}")
        seen += chunk
    opened.release()
    while True:
        chunk = await reader.read(65536)
        if not chunk:
            return
        total[0] += len(chunk)


async def main():
    url, token, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
    parts = urlsplit(url)
    opened = asyncio.Semaphore(0)
    total = [0]
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    tasks = []
    for _ in range(count):
        tasks.append(asyncio.create_task(hold(parts.hostname, parts.port, token, opened, total)))
        # A steady pace, so the server's accept queue never overflows.
        await asyncio.sleep(0.001)
    for _ in range(count):
        await opened.acquire()
    print(f"open {count}", flush=True)
    await stop.wait()
    print(f"read {total[0]} bytes", flush=True)


asyncio.run(main())
