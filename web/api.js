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

export const api = {
  list: ({ text, cursor }) => {
    const query = new URLSearchParams({ limit: "20" });
    if (text) query.set("q", text);
    if (cursor) query.set("cursor", cursor);
    return request("GET", `/v1/products?${query}`);
  },
  read: (id) => request("GET", productPath(id)),
  create: (fields) =>
    request("POST", "/v1/products", { body: fields, headers: { "Idempotency-Key": idempotencyKey() } }),
  update: (id, version, change) => request("PATCH", productPath(id), { body: { version, ...change } }),
  adjust: (id, delta, reason) =>
    request("POST", `${productPath(id)}/stock-adjustments`, {
      body: { delta, reason },
      headers: { "Idempotency-Key": idempotencyKey() },
    }),
  remove: (id, version) => request("DELETE", `${productPath(id)}?version=${version}`),
  history: (id) => request("GET", `${productPath(id)}/history?limit=200`),
};
