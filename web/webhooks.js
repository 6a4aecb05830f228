// Webhooks, for admins: the subscriptions (where each sends which events,
// whether it is enabled, how its deliveries go and how far they got), a
// form to make one, and per subscription Enable/Disable, Rotate secret,
// Redeliver, Delete and its recent delivery attempts. A signing secret is
// shown once, as the server answers it, and never kept. Every change sends
// the version it was read with; a stale one reads the list again and says
// so. Other tokens get 403 from every webhook route: the section says an
// admin token is needed instead.

import { api, ProblemError } from "./api.js";
import { $, button, cell } from "./dom.js";
import { clearErrors, showErrors } from "./forms.js";

const ADMIN_NEEDED = "Webhooks need an admin token.";

const state = {
  hooks: new Map(), // id -> subscription, as last read or written (never its secret)
  loads: 0, // list reads started: a slower, older one is not shown
  selected: null, // { id, cursor, reads } of the subscription whose deliveries are listed
  redelivering: null, // the subscription the Redeliver dialog is for
  deleting: null, // the subscription the Delete dialog is for
};

const when = (at) => new Date(at).toLocaleString();

/** What the page says after a change it made (errors go to the alert). */
function say(text) {
  $("webhooks-error").textContent = "";
  $("webhooks-status").textContent = text;
}

function clearMessages() {
  $("webhooks-error").textContent = "";
  $("webhooks-status").textContent = "";
}

/** A refused or failed request, shown in `slot`; a 403 means the token is not an admin's. */
function failed(error, slot = $("webhooks-error")) {
  if (error instanceof ProblemError && error.status === 403) {
    hideSecret();
    $("webhooks-admin").hidden = true;
    $("webhooks-refresh").hidden = true;
    $("webhooks-error").textContent = "";
    $("webhooks-status").textContent = ADMIN_NEEDED;
    for (const dialog of [$("redeliverer"), $("webhook-deleter")]) if (dialog.open) dialog.close();
    return;
  }
  if (!(error instanceof ProblemError)) console.warn(error);
  slot.textContent = error instanceof ProblemError ? error.message : "The server could not be reached.";
}

/**
 * Someone else changed or deleted the subscription since the page read it
 * (a stale version: 409, or 412 from If-Match; 404): reads the list again
 * and says so. False for any other error.
 */
function changedMeanwhile(error, hook) {
  if (!(error instanceof ProblemError)) return false;
  let text;
  if (error.is("stale-version") || error.status === 412) {
    const now = error.problem.current_version ?? error.problem.current?.version;
    text = `Someone changed the subscription to ${hook.url} since this page read it (version ${hook.version}` +
      `${now ? `, now ${now}` : ""}). Nothing was changed: it is shown as it is now; check it and try again.`;
  } else if (error.status === 404) {
    text = `The subscription to ${hook.url} was deleted meanwhile.`;
  } else {
    return false;
  }
  loadWebhooks().then(() => ($("webhooks-error").textContent = text));
  return true;
}

// ---- The list -------------------------------------------------------------

/** Shows the section and reads the subscriptions (called once signed in). */
export async function showWebhooks() {
  $("webhooks-section").hidden = false;
  await loadWebhooks();
}

async function loadWebhooks() {
  const asked = ++state.loads;
  let items;
  try {
    ({ items } = await api.webhooks());
  } catch (error) {
    if (asked === state.loads) failed(error);
    return;
  }
  if (asked !== state.loads) return;
  state.hooks = new Map(items.map((hook) => [hook.id, hook]));
  $("webhooks-admin").hidden = false;
  if (state.selected && !state.hooks.has(state.selected.id)) hideDeliveries();
  renderWebhooks();
}

/** One subscription as a write answered it; an older answer than the one shown is dropped. */
function showWebhook(hook) {
  const known = state.hooks.get(hook.id);
  if (!known || hook.version >= known.version) state.hooks.set(hook.id, hook);
  renderWebhooks();
}

function renderWebhooks() {
  const rows = [...state.hooks.values()].map(webhookRow);
  if (!rows.length) {
    const none = cell("No subscriptions yet: make one below.");
    none.colSpan = 6;
    rows.push(document.createElement("tr"));
    rows[0].append(none);
  }
  $("webhooks").tBodies[0].replaceChildren(...rows);
}

function webhookRow(hook) {
  const tr = document.createElement("tr");
  tr.dataset.id = hook.id;
  const selected = state.selected?.id === hook.id;
  tr.classList.toggle("selected", selected);
  // The subscription as now known when clicked, not as this row was drawn.
  const act = (text, label, action) =>
    button(text, `${label} ${hook.url}`, (event) => action(state.hooks.get(hook.id) ?? hook, event.currentTarget));
  const toggle = hook.enabled ? "Disable" : "Enable";
  const deliveries = act("Deliveries", "Deliveries to", selectWebhook);
  deliveries.setAttribute("aria-pressed", String(selected));
  const actions = cell("", "actions");
  actions.append(
    act(toggle, toggle, toggleEnabled),
    act("Rotate secret", "Rotate the secret of", rotateSecret),
    act("Redeliver", "Redeliver to", openRedeliver),
    act("Delete", "Delete", openDeleter),
    deliveries,
  );
  tr.append(
    cell(hook.url, "url"),
    cell(hook.events.join(", ")),
    cell(hook.enabled ? "Yes" : "No"),
    stateCell(hook),
    cell(String(hook.delivered_through), "number"),
    actions,
  );
  return tr;
}

/** "Healthy", "Failing since X (next attempt at Y)", "Disabled: why"; and a rotation's grace. */
function stateCell(hook) {
  let text = "Healthy";
  let trouble = false;
  if (!hook.enabled) {
    text = hook.disabled_reason ? `Disabled: ${hook.disabled_reason}` : "Disabled";
    trouble = Boolean(hook.disabled_reason);
  } else if (hook.failing_since) {
    const next = hook.next_attempt_at ? ` (next attempt at ${when(hook.next_attempt_at)})` : "";
    text = `Failing since ${when(hook.failing_since)}${next}`;
    trouble = true;
  }
  const td = cell(text, trouble ? "failing" : undefined);
  const grace = hook.previous_secret_expires_at;
  if (grace && new Date(grace) > new Date()) {
    td.append(Object.assign(document.createElement("div"), {
      className: "help",
      textContent: `The previous secret also signs until ${when(grace)}.`,
    }));
  }
  return td;
}

// ---- Create, and the secret shown once -------------------------------------

async function createWebhook(event) {
  event.preventDefault();
  const form = $("webhook-form");
  clearErrors(form);
  clearMessages();
  const boxes = [...form.querySelectorAll('input[name="events"]')];
  const events = boxes.filter((box) => box.checked).map((box) => box.value);
  if (!events.length) {
    $("webhook-events-error").textContent = "Choose at least one event.";
    boxes[0].focus();
    return;
  }
  const submit = form.querySelector('button[type="submit"]');
  submit.disabled = true; // one subscription per click, however impatient
  try {
    const { secret, ...hook } = await api.createWebhook({
      url: $("webhook-url").value.trim(),
      events,
      enabled: $("webhook-enabled").checked,
    });
    form.reset();
    showWebhook(hook);
    showSecret(`Signing secret of the new subscription to ${hook.url}`, secret, "");
  } catch (error) {
    if (error instanceof ProblemError && error.status !== 403) {
      // "/events/2" points at one of the events: shown beside them all.
      const errors = error.problem.errors?.map((item) => ({ ...item, pointer: item.pointer.replace(/^\/events\/.*/, "/events") }));
      if (errors) error.problem.errors = errors;
      showErrors(form, "webhook", error, $("webhook-form-error"));
    } else {
      failed(error, $("webhook-form-error"));
    }
  } finally {
    submit.disabled = false;
  }
}

/** The server shows a secret once (on create and on rotate): so does the page, until dismissed. */
function showSecret(title, secret, note) {
  $("webhook-secret-title").textContent = title;
  $("webhook-secret-value").value = secret;
  $("webhook-secret-help").textContent = "Store it now where the receiver checks signatures: it is shown only this " +
    `once and cannot be read again (if it is lost, rotate the secret).${note ? ` ${note}` : ""}`;
  $("webhook-secret").hidden = false;
  $("webhook-secret-value").focus();
  $("webhook-secret-value").select();
}

function hideSecret() {
  $("webhook-secret-value").value = "";
  $("webhook-secret").hidden = true;
}

// ---- Enable, disable, rotate ------------------------------------------------

async function toggleEnabled(hook, control) {
  clearMessages();
  const enabled = !hook.enabled;
  control.disabled = true;
  try {
    const saved = await api.updateWebhook(hook.id, hook.version, { enabled });
    showWebhook(saved);
    say(`${enabled ? "Enabled" : "Disabled"} the subscription to ${saved.url}.`);
  } catch (error) {
    control.disabled = false;
    if (!changedMeanwhile(error, hook)) failed(error);
  }
}

async function rotateSecret(hook, control) {
  clearMessages();
  control.disabled = true;
  try {
    const { secret, ...saved } = await api.rotateWebhookSecret(hook.id);
    showWebhook(saved);
    const grace = saved.previous_secret_expires_at;
    showSecret(`New signing secret of ${saved.url}`, secret,
      grace ? `The previous secret also signs until ${when(grace)}: switch the receiver to this one before then.` : "");
  } catch (error) {
    control.disabled = false;
    if (!changedMeanwhile(error, hook)) failed(error);
  }
}

// ---- Redeliver ----------------------------------------------------------------

function openRedeliver(hook) {
  state.redelivering = hook;
  clearMessages();
  clearErrors($("redeliverer-form"));
  const last = hook.delivered_through;
  $("redeliverer-title").textContent = `Redeliver to ${hook.url}`;
  $("redeliverer-help").textContent = `Every event it wants numbered N and after is sent again, in order. ` +
    `It has had everything through event ${last}, so N is 1 to ${last + 1}.`;
  $("redeliver-from").value = "";
  $("redeliver-from").placeholder = String(Math.max(1, last));
  $("redeliverer").showModal();
  $("redeliver-from").focus();
}

async function submitRedeliver(event) {
  event.preventDefault();
  const form = $("redeliverer-form");
  clearErrors(form);
  const text = $("redeliver-from").value.trim();
  if (!/^\d+$/.test(text) || Number(text) < 1) {
    $("redeliver-from-error").textContent = "From must be an event number, 1 or more.";
    return;
  }
  const hook = state.redelivering;
  try {
    const saved = await api.redeliverWebhook(hook.id, Number(text));
    $("redeliverer").close();
    showWebhook(saved);
    say(`Redelivering to ${saved.url} from event ${text}.`);
    if (state.selected?.id === hook.id) await loadDeliveries(false);
  } catch (error) {
    if (error instanceof ProblemError && (error.status === 400 || error.status === 422)) {
      showErrors(form, "redeliver", error, $("redeliverer-error"));
    } else if (error instanceof ProblemError && error.status === 404) {
      $("redeliverer").close();
      changedMeanwhile(error, hook);
    } else {
      failed(error, $("redeliverer-error")); // 410: the feed no longer keeps event N
    }
  }
}

// ---- Delete -------------------------------------------------------------------

function openDeleter(hook) {
  state.deleting = hook;
  clearMessages();
  $("webhook-deleter-error").textContent = "";
  $("webhook-deleter-text").textContent = `The subscription to ${hook.url} (${hook.events.join(", ")}) will be deleted: ` +
    "nothing more is sent to it, and its secret no longer signs anything.";
  $("webhook-deleter").showModal();
  $("webhook-deleter-cancel").focus();
}

async function confirmDelete() {
  const hook = state.deleting;
  try {
    await api.deleteWebhook(hook.id, hook.version);
    $("webhook-deleter").close();
    state.hooks.delete(hook.id);
    if (state.selected?.id === hook.id) hideDeliveries();
    renderWebhooks();
    say(`Deleted the subscription to ${hook.url}.`);
  } catch (error) {
    if (error instanceof ProblemError && error.status !== 403 && changedMeanwhile(error, hook)) {
      $("webhook-deleter").close();
    } else {
      failed(error, $("webhook-deleter-error"));
    }
  }
}

// ---- Recent deliveries ---------------------------------------------------------

function selectWebhook(hook) {
  state.selected = { id: hook.id, cursor: null, reads: 0 };
  renderWebhooks();
  $("deliveries-title").textContent = `Recent deliveries to ${hook.url}`;
  $("deliveries").tBodies[0].replaceChildren();
  $("deliveries-older").hidden = true;
  $("deliveries-section").hidden = false;
  return loadDeliveries(false);
}

function hideDeliveries() {
  state.selected = null;
  $("deliveries-section").hidden = true;
}

/** The newest page of attempts, or with `older` the page after those listed. */
async function loadDeliveries(older) {
  const listing = state.selected;
  if (!listing) return;
  const asked = ++listing.reads;
  $("deliveries-status").textContent = "Loading the deliveries…";
  try {
    const page = await api.webhookDeliveries(listing.id, older ? listing.cursor : null);
    // Another subscription was chosen, or a later read was asked for: this one is stale.
    if (state.selected !== listing || listing.reads !== asked) return;
    const body = $("deliveries").tBodies[0];
    const rows = page.items.map(deliveryRow);
    if (older) body.append(...rows);
    else body.replaceChildren(...rows);
    listing.cursor = page.next_cursor;
    $("deliveries-older").hidden = !page.next_cursor;
    $("deliveries-status").textContent = body.rows.length
      ? ""
      : "No deliveries yet: one is attempted when an event it wants happens.";
  } catch (error) {
    if (state.selected !== listing) return;
    $("deliveries-status").textContent = "";
    const hook = state.hooks.get(listing.id);
    if (error instanceof ProblemError && error.status === 404) hideDeliveries();
    if (!(hook && changedMeanwhile(error, hook))) failed(error, $("deliveries-status"));
  }
}

function deliveryRow(delivery) {
  const tr = document.createElement("tr");
  tr.dataset.id = String(delivery.id);
  tr.append(
    cell(when(delivery.at)),
    cell(String(delivery.event_number), "number"),
    cell(delivery.event_type),
    cell(String(delivery.attempt), "number"),
    cell(outcome(delivery), delivery.succeeded ? undefined : "failing"),
    cell(delivery.latency_ms == null ? "—" : String(delivery.latency_ms), "number"),
    cell(delivery.response || "—", "response"),
  );
  return tr;
}

/** "200 delivered", "500 failed", or why there was no answer ("connection refused"). */
function outcome({ succeeded, status, error }) {
  if (status == null) return error ?? "failed";
  return `${status} ${succeeded ? "delivered" : "failed"}${error ? `: ${error}` : ""}`;
}

// ---- Wiring -------------------------------------------------------------------

export function wireWebhooks() {
  $("webhooks-refresh").addEventListener("click", () => {
    clearMessages();
    loadWebhooks();
    loadDeliveries(false);
  });
  $("webhook-form").addEventListener("submit", createWebhook);
  $("webhook-secret-done").addEventListener("click", hideSecret);
  $("deliveries-older").addEventListener("click", () => loadDeliveries(true));
  $("redeliverer-form").addEventListener("submit", submitRedeliver);
  $("redeliverer-cancel").addEventListener("click", () => $("redeliverer").close());
  $("webhook-deleter-cancel").addEventListener("click", () => $("webhook-deleter").close());
  $("webhook-deleter-confirm").addEventListener("click", confirmDelete);
}
