// Every request the console sends goes through this file: the control API (/_mock) only.

// The control API is open today. A later issue may ask for an admin token on /_mock: add its
// header here, the one place (e.g. read from sessionStorage), and every call will carry it.
export function controlHeaders() {
  return {};
}

export class ControlError extends Error {
  constructor(message, status, body) {
    super(message);
    this.status = status;
    this.body = body;
  }
}

// The contract's error bodies have one key whose value says what went wrong.
function said(body, status) {
  if (body && typeof body === "object") {
    const text = Object.values(body).find((value) => typeof value === "string");
    if (text) return text;
  }
  return `the mock answered ${status}`;
}

async function call(path, { method = "GET", body, headers = {}, as = "json" } = {}) {
  const sent = { ...controlHeaders(), ...headers };
  if (body !== undefined) sent["Content-Type"] = "application/json";
  let response;
  try {
    response = await fetch(path, {
      method,
      headers: sent,
      body: body === undefined ? undefined : JSON.stringify(body),
      cache: "no-store",
    });
  } catch (error) {
    throw new ControlError(`The mock does not answer (${error.message}): is it still running?`, 0, null);
  }
  const text = await response.text();
  let data = text;
  if (as === "json") {
    try {
      data = text ? JSON.parse(text) : null;
    } catch (error) {
      data = text;
    }
  }
  if (!response.ok) throw new ControlError(said(data, response.status), response.status, data);
  return data;
}

// Tokens for playing the TO: minted by the mock on its development secret, else pasted by the
// person (kept for this browser tab only).
const minted = new Map();
const PASTED = "tt-console-token:";

export const api = {
  tickets: async () => (await call("/_mock/tickets")).tickets,
  journal: async (limit) => (await call(`/_mock/journal?limit=${encodeURIComponent(limit)}`)).requests,
  lifecycle: () => call("/_mock/lifecycle"),
  lifecycleSvg: () => call("/_mock/lifecycle.svg", { as: "text" }),
  auth: () => call("/_mock/auth"),
  // The TO side: its clock, scenarios and their steps, the tenants' mirrors and the callbacks to them.
  clock: () => call("/_mock/clock"),
  moveClock: (body) => call("/_mock/clock", { method: "POST", body }),
  scenarios: async () => (await call("/_mock/scenarios")).scenarios,
  steps: async (limit) => (await call(`/_mock/steps?limit=${encodeURIComponent(limit)}`)).steps,
  callbacks: async (limit) => (await call(`/_mock/callbacks?limit=${encodeURIComponent(limit)}`)).callbacks,
  deliverCallbacks: () => call("/_mock/callbacks/deliver?timeout=5", { method: "POST" }),
  mirrors: async () => (await call("/_mock/mirrors")).mirrors,
  putMirror: (tenant, body) => call(`/_mock/mirrors/${encodeURIComponent(tenant)}`, { method: "PUT", body }),
  deleteMirror: (tenant) => call(`/_mock/mirrors/${encodeURIComponent(tenant)}`, { method: "DELETE" }),
  attachmentUrl: (ticketId, id) =>
    `/_mock/tickets/${encodeURIComponent(ticketId)}/attachments/${encodeURIComponent(id)}`,

  pastedToken(tenant) {
    return sessionStorage.getItem(PASTED + tenant) || "";
  },
  pasteToken(tenant, token) {
    minted.delete(tenant);
    if (token) sessionStorage.setItem(PASTED + tenant, token.trim());
    else sessionStorage.removeItem(PASTED + tenant);
  },

  // The owner's bearer token, or null when the console has none and cannot mint one.
  async tokenFor(tenant, canMint) {
    const pasted = this.pastedToken(tenant);
    if (pasted) return pasted;
    if (!canMint) return null;
    if (!minted.has(tenant)) {
      const answer = await call("/_mock/token", { method: "POST", body: { sub: tenant } });
      minted.set(tenant, answer.token);
    }
    return minted.get(tenant);
  },

  // Play the TO through the mock's transition hook, as the ticket's owner.
  async transition(ticketId, tenant, canMint, body) {
    const token = await this.tokenFor(tenant, canMint);
    if (!token) throw new ControlError(`no token for ${tenant}: paste one first`, 0, null);
    try {
      return await call(`/_mock/troubleTicket/${encodeURIComponent(ticketId)}/transition`, {
        method: "POST",
        body,
        headers: { Authorization: `Bearer ${token}` },
      });
    } catch (error) {
      if (error.status === 401) minted.delete(tenant); // expired: mint afresh next time
      throw error;
    }
  },
};
