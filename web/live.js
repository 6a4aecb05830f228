// Follows GET /v1/events. EventSource cannot send an Authorization header,
// so the stream is read with fetch; on a dropped connection it reconnects
// with Last-Event-ID, as EventSource would, and misses nothing.

import { authorization } from "./api.js";

const RECONNECT_MS = 2000;

/** Parses one event block; comments and blocks without data give null. */
function parse(block) {
  const event = { name: "message", id: null, data: [] };
  for (const line of block.split(/\r\n|\r|\n/)) {
    if (line.startsWith(":")) continue;
    const colon = line.indexOf(":");
    const field = colon < 0 ? line : line.slice(0, colon);
    const value = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
    if (field === "event") event.name = value;
    else if (field === "id") event.id = value;
    else if (field === "data") event.data.push(value);
  }
  return event.data.length ? { ...event, data: event.data.join("\n") } : null;
}

/**
 * Calls `onChange(change)` for every product change, `onHold(hold)` for
 * every hold made or changed, `onOversold(level)` when a change of stock
 * leaves less on hand than is held, and `onStatus(text)` when the
 * connection comes or goes. When the server no longer keeps the
 * changes since the last one seen (410), awaits `onResync()`, which reads
 * the products again, and follows from now. Returns a function that stops it.
 */
export function followChanges({ onChange, onHold, onOversold, onStatus, onResync }) {
  const handlers = new Map([["product", onChange], ["hold", onHold], ["oversold", onOversold]]);
  let lastEventId = null;
  let stopped = false;
  let controller = null;

  async function readOnce() {
    controller = new AbortController();
    const headers = { ...authorization(), Accept: "text/event-stream" };
    if (lastEventId !== null) headers["Last-Event-ID"] = lastEventId;
    const response = await fetch("/v1/events", { headers, signal: controller.signal });
    if (response.status === 410) {
      lastEventId = null;
      await onResync();
      return;
    }
    if (!response.ok) throw new Error(`the event stream answered ${response.status}`);
    onStatus("Live: changes by others appear as they happen.");
    const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buffer += value;
      let end;
      // This server ends lines with \n alone.
      while ((end = buffer.indexOf("\n\n")) >= 0) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const event = parse(block);
        if (!event) continue;
        if (event.id !== null) lastEventId = event.id;
        handlers.get(event.name)?.(JSON.parse(event.data));
      }
    }
  }

  (async () => {
    while (!stopped) {
      try {
        await readOnce();
      } catch (error) {
        if (stopped) return;
        console.warn(error);
      }
      if (stopped) return;
      onStatus("Reconnecting to live changes…");
      await new Promise((resolve) => setTimeout(resolve, RECONNECT_MS));
    }
  })();

  return () => {
    stopped = true;
    controller?.abort();
  };
}
