// The TO side (GET/POST /_mock/clock, /_mock/scenarios, /_mock/steps, /_mock/mirrors,
// /_mock/callbacks): the mock's clock with buttons to advance it, the scenarios the TO follows,
// the steps they scheduled, each tenant's mirror, and every callback with its attempts.
import { h, clear, time, pretty, stateBadge, poller } from "../dom.js";

const POLL_MS = 1500;
const LIMIT = 200;
const ADVANCES = ["10m", "1h", "4h", "24h", "72h"];

const view = {
  ctx: null,
  seen: "",
  open: new Set(), // callbacks shown in full, by id
  lastMove: null, // what the last clock change fired, for the person who made it
  els: {},
};

function ticketLink(id) {
  return h("a", { href: `#tickets/${encodeURIComponent(id)}`, title: "show the ticket" }, id);
}

function move(from, to) {
  return h("span", { class: "move-text" }, from || "(created)", " \u2192 ", to);
}

// "in 3h 59m" or "2m ago", against the mock's own time.
function relative(iso, nowIso) {
  const ms = new Date(iso).getTime() - new Date(nowIso).getTime();
  if (Number.isNaN(ms)) return "";
  const abs = Math.abs(ms);
  const parts = [];
  let rest = Math.round(abs / 1000);
  for (const [unit, size] of [["d", 86400], ["h", 3600], ["m", 60], ["s", 1]]) {
    if (rest >= size && parts.length < 2) {
      parts.push(`${Math.floor(rest / size)}${unit}`);
      rest %= size;
    }
  }
  const text = parts.join(" ") || "0s";
  return ms >= 0 ? `in ${text}` : `${text} ago`;
}

async function refresh() {
  let clock, steps, callbacks, mirrors;
  try {
    [clock, steps, callbacks, mirrors] = await Promise.all([
      view.ctx.api.clock(),
      view.ctx.api.steps(LIMIT),
      view.ctx.api.callbacks(LIMIT),
      view.ctx.api.mirrors(),
    ]);
  } catch (error) {
    view.ctx.notice(`TO side: ${error.message}`);
    return;
  }
  view.ctx.notice(null);
  drawClock(clock);
  const text = JSON.stringify([steps, callbacks, mirrors]);
  if (text === view.seen) return;
  view.seen = text;
  drawSteps(steps, clock.now);
  drawMirrors(mirrors);
  drawCallbacks(callbacks);
}

// -- the clock --------------------------------------------------------------------------------

function drawClock(clock) {
  const offset = clock.offsetSeconds;
  const ahead = Math.abs(offset) < 1 ? "on the wall clock" : `${relative(clock.wallNow, clock.now).replace("ago", "ahead")} of the wall clock`;
  clear(
    view.els.clockNow,
    h("strong", { class: "mock-time", title: clock.now }, clock.now.replace("T", " ").replace(/\.\d+Z$/, "Z")),
    h("span", { class: "hint" }, ` ${ahead}; ${clock.scale === 1 ? "real speed" : `${clock.scale} times real speed`}`),
  );
}

async function changeClock(body) {
  try {
    const answer = await view.ctx.api.moveClock(body);
    const fired = answer.fired || [];
    view.lastMove = fired.length
      ? `${fired.length} step${fired.length > 1 ? "s" : ""} fired: ${fired.map((f) => `${f.ticketId} ${f.scenario} (${f.status})`).join(", ")}`
      : "no step was due";
    view.els.clockOutcome.className = "outcome ok";
  } catch (error) {
    view.lastMove = error.message;
    view.els.clockOutcome.className = "outcome error";
  }
  view.els.clockOutcome.textContent = view.lastMove;
  polling.now();
}

function clockControls() {
  const custom = h("input", { type: "text", placeholder: "1h30m", size: 8, "aria-label": "Advance by" });
  const scale = h("input", { type: "number", min: "0.001", step: "any", placeholder: "60", "aria-label": "Time scale" });
  return h(
    "div",
    { class: "clock-controls" },
    ADVANCES.map((duration) =>
      h("button", { type: "button", class: "advance", dataset: { advance: duration }, onclick: () => changeClock({ advance: duration }) }, `+${duration}`),
    ),
    h(
      "form",
      { class: "inline", onsubmit: (event) => { event.preventDefault(); if (custom.value.trim()) changeClock({ advance: custom.value.trim() }); } },
      custom,
      h("button", { type: "submit" }, "Advance"),
    ),
    h(
      "form",
      { class: "inline", onsubmit: (event) => { event.preventDefault(); if (scale.value) changeClock({ scale: Number(scale.value) }); } },
      scale,
      h("button", { type: "submit" }, "Set speed"),
    ),
    h("button", { type: "button", onclick: () => changeClock({ reset: true }) }, "Back to the wall clock"),
  );
}

// -- scenarios and their steps ----------------------------------------------------------------

function drawScenarios(scenarios) {
  const rows = scenarios.map((s) =>
    h(
      "tr",
      { dataset: { scenario: s.name } },
      h("td", { class: "name" }, s.name, s.meaning ? h("small", {}, s.meaning) : null),
      h(
        "td",
        {},
        "enters ",
        stateBadge(s.when.enters),
        s.when.from ? ` from ${s.when.from.join(" or ")}` : "",
        s.when.by ? ` by the ${s.when.by}` : "",
        s.when.match.length ? h("small", {}, s.when.match.join("; ")) : null,
      ),
      h("td", {}, s.after, s.unlessUpdatedBy ? h("small", {}, `unless the ${s.unlessUpdatedBy} updates it`) : null),
      h("td", {}, stateBadge(s.then.to), h("small", {}, s.then.dialog)),
    ),
  );
  clear(view.els.scenarios, rows.length ? rows : h("tr", {}, h("td", { colspan: 4, class: "hint" }, "No scenario: this TO never moves on its own.")));
}

function drawSteps(steps, now) {
  const pending = steps.filter((s) => s.status === "pending").sort((a, b) => a.dueAt.localeCompare(b.dueAt));
  const done = steps.filter((s) => s.status !== "pending").slice(0, 20);
  const row = (s) =>
    h(
      "tr",
      { class: `step ${s.status}`, dataset: { status: s.status, ticket: s.ticketId } },
      h("td", {}, ticketLink(s.ticketId)),
      h("td", {}, s.scenario),
      h("td", {}, move(s.from, s.to)),
      h("td", {}, time(s.dueAt), " ", h("small", {}, relative(s.dueAt, now))),
      h("td", { class: "status" }, s.status, s.note ? h("small", {}, s.note) : null),
    );
  clear(view.els.steps, [...pending, ...done].map(row));
  view.els.stepsEmpty.hidden = steps.length > 0;
}

// -- mirrors and callbacks --------------------------------------------------------------------

function drawMirrors(mirrors) {
  clear(
    view.els.mirrors,
    mirrors.map((m) =>
      h(
        "li",
        { dataset: { tenant: m.tenant } },
        h("strong", {}, m.tenant), " \u2192 ", h("code", {}, m.url), " ",
        h("small", {}, `token: ${m.token}; ${m.origin}`), " ",
        h("button", { type: "button", class: "link", onclick: () => removeMirror(m.tenant) }, "remove"),
      ),
    ),
  );
  view.els.mirrorsEmpty.hidden = mirrors.length > 0;
}

async function removeMirror(tenant) {
  try {
    await view.ctx.api.deleteMirror(tenant);
  } catch (error) {
    view.ctx.notice(`Mirror of ${tenant}: ${error.message}`);
  }
  polling.now();
}

function mirrorForm() {
  const tenant = h("input", { type: "text", placeholder: "TU-A", size: 8, "aria-label": "Mirror tenant", required: true });
  const url = h("input", { type: "url", placeholder: "http://127.0.0.1:9000", size: 28, "aria-label": "Mirror URL", required: true });
  const tokenEnv = h("input", { type: "text", placeholder: "token variable (optional)", size: 18, "aria-label": "Mirror token variable" });
  const outcome = h("span", { class: "outcome" });
  return h(
    "form",
    {
      class: "inline mirror-form",
      onsubmit: async (event) => {
        event.preventDefault();
        const body = { url: url.value.trim() };
        if (tokenEnv.value.trim()) body.tokenEnv = tokenEnv.value.trim();
        try {
          await view.ctx.api.putMirror(tenant.value.trim(), body);
          outcome.className = "outcome ok";
          outcome.textContent = `${tenant.value.trim()}'s TO moves now go to ${body.url}`;
        } catch (error) {
          outcome.className = "outcome error";
          outcome.textContent = error.message;
        }
        polling.now();
      },
    },
    tenant, url, tokenEnv, h("button", { type: "submit" }, "Set mirror"), outcome,
  );
}

function drawCallbacks(callbacks) {
  const rows = [];
  for (const c of callbacks) {
    const isOpen = view.open.has(c.id);
    const last = c.attempts[c.attempts.length - 1];
    rows.push(
      h(
        "tr",
        {
          class: `callback ${c.status}${isOpen ? " open" : ""}`,
          dataset: { status: c.status, ticket: c.ticketId },
          onclick: (event) => {
            if (event.target.closest("a")) return;
            if (view.open.has(c.id)) view.open.delete(c.id);
            else view.open.add(c.id);
            view.seen = "";
            polling.now();
          },
        },
        h("td", {}, time(c.move.at)),
        h("td", {}, ticketLink(c.ticketId), h("small", {}, c.tenant)),
        h("td", {}, move(c.move.from, c.move.to), h("small", {}, c.move.actor)),
        h("td", { class: "status" }, c.status, c.note ? h("small", {}, c.note) : null),
        h("td", {}, String(c.attempts.length), last ? h("small", {}, last.status === null ? "no answer" : `last: ${last.status}`) : null),
        h("td", {}, c.nextAttemptAt ? time(c.nextAttemptAt) : ""),
      ),
    );
    if (isOpen) rows.push(h("tr", { class: "exchange" }, h("td", { colspan: 6 }, callbackDetail(c))));
  }
  clear(view.els.callbacks, rows);
  view.els.callbacksEmpty.hidden = callbacks.length > 0;
}

function callbackDetail(c) {
  return h(
    "div",
    { class: "exchange-body" },
    h("div", {}, h("h4", {}, `PATCH ${c.path}`), h("pre", { class: "body" }, pretty(c.body))),
    h(
      "div",
      {},
      h("h4", {}, "Attempts"),
      c.attempts.length
        ? h(
            "ol",
            { class: "attempts" },
            c.attempts.map((a) =>
              h(
                "li",
                {},
                time(a.at), " ", h("code", {}, a.url), " \u2192 ",
                h("strong", {}, a.status === null ? "no answer" : String(a.status)),
                a.error ? h("small", {}, a.error) : null,
                a.answer !== null && a.answer !== undefined ? h("pre", { class: "body" }, pretty(a.answer)) : null,
              ),
            ),
          )
        : h("p", { class: "hint" }, "not sent yet"),
    ),
  );
}

async function deliverNow() {
  try {
    const answer = await view.ctx.api.deliverCallbacks();
    view.els.deliverOutcome.className = "outcome ok";
    view.els.deliverOutcome.textContent = `${answer.attempts.length} attempt(s) made`;
  } catch (error) {
    view.els.deliverOutcome.className = "outcome error";
    view.els.deliverOutcome.textContent = error.message;
  }
  polling.now();
}

const polling = poller(refresh, POLL_MS);

function table(headers, body) {
  return h("table", { class: "grid" }, h("thead", {}, h("tr", {}, headers.map((c) => h("th", {}, c)))), body);
}

export const toSidePanel = {
  id: "to-side",
  title: "TO side",
  async mount(root, ctx) {
    view.ctx = ctx;
    view.els.clockNow = h("p", { class: "clock-now" });
    view.els.clockOutcome = h("p", { class: "outcome" });
    view.els.scenarios = h("tbody", {});
    view.els.steps = h("tbody", {});
    view.els.stepsEmpty = h("p", { class: "hint" }, "No step scheduled: a ticket event that starts a scenario schedules one.");
    view.els.mirrors = h("ul", { class: "mirrors" });
    view.els.mirrorsEmpty = h("p", { class: "hint" }, "No tenant has a mirror: its TO moves are sent nowhere.");
    view.els.callbacks = h("tbody", {});
    view.els.callbacksEmpty = h("p", { class: "hint" }, "No callback yet: each TO move on a ticket of a tenant with a mirror makes one.");
    view.els.deliverOutcome = h("span", { class: "outcome" });
    root.append(
      h("section", { class: "card clock" }, h("h3", {}, "Clock"), view.els.clockNow, clockControls(), view.els.clockOutcome),
      h("section", { class: "card" }, h("h3", {}, "Scenarios"), table(["scenario", "when the ticket", "after", "the TO moves it to"], view.els.scenarios)),
      h("section", { class: "card" }, h("h3", {}, "Steps"), table(["ticket", "scenario", "move", "due", "status"], view.els.steps), view.els.stepsEmpty),
      h("section", { class: "card" }, h("h3", {}, "Mirrors"), view.els.mirrors, view.els.mirrorsEmpty, mirrorForm()),
      h(
        "section",
        { class: "card" },
        h("h3", {}, "Callbacks ", h("button", { type: "button", onclick: deliverNow }, "Deliver due now"), " ", view.els.deliverOutcome),
        table(["move at", "ticket", "move", "status", "attempts", "next attempt"], view.els.callbacks),
        view.els.callbacksEmpty,
      ),
    );
    try {
      drawScenarios(await ctx.api.scenarios());
    } catch (error) {
      ctx.notice(`Scenarios: ${error.message}`);
    }
  },
  show() {
    polling.start();
  },
  hide() {
    polling.stop();
  },
};
