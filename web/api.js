// The API as the page uses it: the token from this tab's session storage
// (never a URL), JSON in and out, and problems as errors the page can show.

const TOKEN_KEY = "inventory-api-token";

export const session = {
  token: () => sessionStorage.getItem(TOKEN_KEY),
  signIn: (token) => sessionStorage.setItem(TOKEN_KEY, token),
  signOut: () => sessionStorage.removeItem(TOKEN_KEY),
};

/** A refused request: `problem` is the RFC 9457 body the server sent. */
export class ProblemError extends Error {
  constructor(status, problem) {
    super(problem?.detail ?? `The server answered ${status}.`);
    this.status = status;
    this.problem = problem ?? {};
  }

  is(slug) {
    return this.problem.type === `/problems/${slug}`;
  }
}

/** A fresh Idempotency-Key, so that a retried create or adjustment applies once. */
function idempotencyKey() {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (byte) => byte.toString(16).padStart(2, "0")).join("");
}

export function authorization() {
  return { Authorization: `Bearer ${session.token()}` };
}

async function request(method, path, { body, headers = {} } = {}) {
  const response = await fetch(path, {
    method,
    headers: {
      ...authorization(),
      ...(body === undefined ? {} : { "Content-Type": "application/json" }),
      ...headers,
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (response.status === 204) return null;
  const data = await response.json().catch(() => null);
  if (!response.ok) throw new ProblemError(response.status, data);
  return data;
}

const productPath = (id) => `/v1/products/${encodeURIComponent(id)}`;
const levelPath = (id, code) => `${productPath(id)}/levels/${encodeURIComponent(code)}`;
const holdPath = (id) => `/v1/holds/${encodeURIComponent(id)}`;
const webhookPath = (id) => `/v1/webhooks/${encodeURIComponent(id)}`;

/** A query string of the parameters that have a value. */
function query(parameters) {
  return new URLSearchParams(Object.entries(parameters).filter(([, value]) => value));
}

export const api = {
  list: ({ text, cursor }) => request("GET", `/v1/products?${query({ limit: "20", q: text, cursor })}`),
  read: (id) => request("GET", productPath(id)),
  create: (fields) =>
    request("POST", "/v1/products", { body: fields, headers: { "Idempotency-Key": idempotencyKey() } }),
  update: (id, version, change) => request("PATCH", productPath(id), { body: { version, ...change } }),
  /** `change`: { delta, reason, location?, reference? } */
  adjust: (id, change) =>
    request("POST", `${productPath(id)}/stock-adjustments`, {
      body: change,
      headers: { "Idempotency-Key": idempotencyKey() },
    }),
  remove: (id, version) => request("DELETE", `${productPath(id)}?version=${version}`),
  history: (id) => request("GET", `${productPath(id)}/history?limit=200`),

  locations: (cursor) => request("GET", `/v1/locations?${query({ limit: "200", cursor })}`),
  productLevels: (id) => request("GET", `${productPath(id)}/levels`),
  locationLevels: (code, { text, cursor, limit }) =>
    request("GET", `/v1/locations/${encodeURIComponent(code)}/levels?${query({ limit: String(limit), q: text, cursor })}`),
  /** `change`: { on_hand, version (the level's), reason?, reference? } */
  setLevel: (id, code, change) => request("PATCH", levelPath(id, code), { body: change }),
  /** `move`: { product_id, from, to, quantity, reason, reference? } */
  transfer: (move) =>
    request("POST", "/v1/transfers", { body: move, headers: { "Idempotency-Key": idempotencyKey() } }),
  /** A dry run applies nothing, so it needs no key to be retried safely. */
  syncStock: (batch) =>
    request("POST", "/v1/stock-sync", {
      body: batch,
      headers: batch.dry_run ? {} : { "Idempotency-Key": idempotencyKey() },
    }),

  /** One page of holds, oldest first; `filter`: { product?, location?, status?, reference? }. */
  holds: (filter, cursor) => request("GET", `/v1/holds?${query({ ...filter, limit: "100", cursor })}`),
  /** Sends the hold's version: one changed or ended since it was read is refused with a 409. */
  releaseHold: (id, version) => request("POST", `${holdPath(id)}/release`, { body: { version } }),

  // Webhook subscriptions: every route needs an admin token (403 otherwise).
  webhooks: () => request("GET", "/v1/webhooks"),
  /** `fields`: { url, events, enabled }. The answer carries the secret, this once. */
  createWebhook: (fields) =>
    request("POST", "/v1/webhooks", { body: fields, headers: { "Idempotency-Key": idempotencyKey() } }),
  /** `change`: any of { url, events, enabled }; a stale `version` is refused with a 409. */
  updateWebhook: (id, version, change) => request("PATCH", webhookPath(id), { body: { version, ...change } }),
  /** If-Match: one changed since `version` was read is refused (412), not deleted. */
  deleteWebhook: (id, version) => request("DELETE", webhookPath(id), { headers: { "If-Match": `"${version}"` } }),
  /** The answer carries the new secret, this once; the previous one signs too for a day. */
  rotateWebhookSecret: (id) =>
    request("POST", `${webhookPath(id)}/rotate-secret`, { body: {}, headers: { "Idempotency-Key": idempotencyKey() } }),
  /** Sends again every event it wants numbered `from` and after. */
  redeliverWebhook: (id, from) => request("POST", `${webhookPath(id)}/redeliver`, { body: { from } }),
  /** One page of its delivery attempts, newest first. */
  webhookDeliveries: (id, cursor) =>
    request("GET", `${webhookPath(id)}/deliveries?${query({ limit: "50", cursor })}`),
};
