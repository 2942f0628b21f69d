// Tenants and their tickets; a ticket's state on the lifecycle, the moves open to each side,
// a button per TO edge (the transition hook), and its history as a timeline.
import { h, clear, time, pretty, sideBadge, stateBadge, poller } from "../dom.js";

const POLL_MS = 1500;

const view = {
  ctx: null,
  tickets: [],
  loaded: false,
  seen: "", // the last /_mock/tickets answer, to redraw only on change
  selected: "",
  filter: "",
  drafts: new Map(), // ticketId -> what the person typed in the TO form, kept across redraws
  outcome: new Map(), // ticketId -> the last TO move's result, shown by the buttons
  actionsKey: "",
  svg: null,
  els: {},
};

function terminal(state) {
  const found = view.ctx.lifecycle.states.find((s) => s.name === state);
  return Boolean(found && found.terminal);
}

function edgesFrom(state, side) {
  return view.ctx.lifecycle.transitions.filter((t) => t.from === state && t.side === side);
}

function requiredOnEntry(state) {
  const found = view.ctx.lifecycle.states.find((s) => s.name === state);
  return found ? found.requiresOnEntry : [];
}

function ticketNumber(ticket) {
  return Number(String(ticket.ticketId).replace(/\D+/g, "")) || 0;
}

async function refresh() {
  let tickets;
  try {
    tickets = await view.ctx.api.tickets();
  } catch (error) {
    view.ctx.notice(`Tickets: ${error.message}`);
    return;
  }
  view.ctx.notice(null);
  const text = JSON.stringify(tickets);
  if (text === view.seen) return;
  view.seen = text;
  view.tickets = tickets;
  view.loaded = true;
  drawList();
  drawDetail();
}

// -- the list: tenants and their tickets ----------------------------------------------------

function drawList() {
  const needle = view.filter.toLowerCase();
  const byTenant = new Map();
  for (const ticket of view.tickets) {
    const haystack = `${ticket.ticketId} ${ticket.mirrorKey} ${ticket.tenant} ${ticket.baseTroubleTicketState}`;
    if (needle && !haystack.toLowerCase().includes(needle)) continue;
    if (!byTenant.has(ticket.tenant)) byTenant.set(ticket.tenant, []);
    byTenant.get(ticket.tenant).push(ticket);
  }
  const tenants = [...byTenant.keys()].sort();
  const list = tenants.map((tenant) => {
    const tickets = byTenant.get(tenant).sort((a, b) => ticketNumber(b) - ticketNumber(a));
    return h(
      "li",
      { class: "tenant", dataset: { tenant } },
      h("div", { class: "tenant-name" }, tenant, h("span", { class: "count" }, String(tickets.length))),
      h(
        "ul",
        {},
        tickets.map((ticket) =>
          h(
            "li",
            {},
            h(
              "a",
              {
                href: `#tickets/${encodeURIComponent(ticket.ticketId)}`,
                class: `ticket-link${ticket.ticketId === view.selected ? " selected" : ""}`,
                dataset: { ticket: ticket.ticketId },
              },
              h("span", { class: "ticket-id" }, ticket.ticketId),
              stateBadge(ticket.baseTroubleTicketState, terminal(ticket.baseTroubleTicketState)),
              h("span", { class: "mirror-key", title: "mirrorKey" }, ticket.mirrorKey),
            ),
          ),
        ),
      ),
    );
  });
  const empty = view.tickets.length
    ? h("p", { class: "hint" }, "No ticket matches the filter.")
    : h(
        "p",
        { class: "hint" },
        "No ticket yet. Open one with POST /troubleTicket (the ",
        h("a", { href: "/docs" }, "API reference"),
        " can mint a token and send it).",
      );
  clear(view.els.list, list.length ? h("ul", { class: "tenants" }, list) : empty);
}

// -- the selected ticket ----------------------------------------------------------------------

function drawDetail() {
  const ticket = view.tickets.find((t) => t.ticketId === view.selected);
  const detail = view.els.detail;
  if (!ticket) {
    view.actionsKey = "";
    let text = "Select a ticket on the left.";
    if (!view.loaded) text = "Asking the mock for its tickets\u2026";
    else if (view.selected) text = `No ticket ${view.selected} in the mock (reset, or never made).`;
    clear(detail, h("p", { class: "hint big" }, text));
    return;
  }
  if (!detail.querySelector(".ticket-head")) {
    clear(
      detail,
      h("div", { class: "ticket-head" }),
      h("div", { class: "diagram" }, lifecycleDrawing()),
      h(
        "div",
        { class: "ticket-body" },
        h(
          "section",
          { class: "history" },
          h("h3", {}, "Timeline"),
          h("ol", { class: "timeline" }),
          h("details", { class: "current-fields" }, h("summary", {}, "Current fields"), h("div", { class: "fields" })),
        ),
        h("aside", { class: "actions" }),
      ),
    );
  }
  drawHead(ticket);
  highlight(ticket.baseTroubleTicketState);
  // The form is redrawn only when what it offers changes, so typing survives the polling.
  const key = `${ticket.ticketId} ${ticket.baseTroubleTicketState} ${view.ctx.api.pastedToken(ticket.tenant) ? 1 : 0}`;
  if (key !== view.actionsKey) {
    view.actionsKey = key;
    drawActions(ticket);
  }
  drawTimeline(ticket);
  clear(detail.querySelector(".current-fields .fields"), fieldTable(ticket.fields));
}

function drawHead(ticket) {
  const state = ticket.baseTroubleTicketState;
  clear(
    view.els.detail.querySelector(".ticket-head"),
    h("h2", {}, ticket.ticketId),
    stateBadge(state, terminal(state)),
    h(
      "dl",
      {},
      h("dt", {}, "tenant"),
      h("dd", {}, ticket.tenant),
      h("dt", {}, "mirrorKey"),
      h("dd", {}, ticket.mirrorKey),
      h("dt", {}, "opened"),
      h("dd", {}, time(ticket.createdAt)),
      h("dt", {}, "last change"),
      h("dd", {}, time(ticket.updatedAt)),
    ),
  );
}

// The mock's own drawing of its lifecycle, cropped above its legend: the move boxes beside
// it name the sides.
function lifecycleDrawing() {
  const svg = view.svg.cloneNode(true);
  const [x, y, width] = svg.getAttribute("viewBox").split(/\s+/);
  const top = svg.dataset.legendTop;
  if (top) svg.setAttribute("viewBox", `${x} ${y} ${width} ${top}`);
  svg.removeAttribute("width");
  svg.removeAttribute("height");
  return svg;
}

function highlight(state) {
  const svg = view.els.detail.querySelector(".diagram svg");
  if (!svg) return;
  svg.classList.add("has-current");
  for (const node of svg.querySelectorAll(".state")) {
    node.classList.toggle("current", node.dataset.state === state);
    node.classList.remove("reachable");
  }
  for (const edge of svg.querySelectorAll(".edge")) {
    const open = edge.dataset.from === state;
    edge.classList.toggle("available", open);
    if (open) svg.querySelector(`.state[data-state="${CSS.escape(edge.dataset.to)}"]`)?.classList.add("reachable");
  }
}

function draft(ticketId) {
  if (!view.drafts.has(ticketId)) view.drafts.set(ticketId, { dialog: "", fields: {} });
  return view.drafts.get(ticketId);
}

function nowSeconds() {
  return new Date().toISOString().replace(/\.\d+Z$/, "Z");
}

function drawActions(ticket) {
  const state = ticket.baseTroubleTicketState;
  const actions = view.els.detail.querySelector(".actions");
  const outcome = view.outcome.get(ticket.ticketId);
  const said = h("p", { class: `outcome${outcome ? ` ${outcome.kind}` : ""}`, role: "status" }, outcome?.text || "");
  if (terminal(state)) {
    clear(actions, h("p", { class: "hint" }, `${state} is terminal: neither side may move this ticket any more.`), said);
    return;
  }
  const tu = edgesFrom(state, "TU");
  const to = edgesFrom(state, "TO");
  const tuList = h(
    "div",
    { class: "moves moves-TU" },
    h("h4", {}, sideBadge("TU"), " may ask for (PATCH, from the TU's client)"),
    tu.length
      ? h(
          "ul",
          {},
          tu.map((edge) => h("li", { dataset: { to: edge.to } }, `\u2192 ${edge.to}`, h("small", {}, edge.meaning))),
        )
      : h("p", { class: "hint" }, "nothing but staying (a dialog, attachments)"),
  );
  clear(actions, toMoves(ticket, to), tuList, said);
}

function toMoves(ticket, edges) {
  const box = h("div", { class: "moves moves-TO" }, h("h4", {}, sideBadge("TO"), " moves (play the provider)"));
  if (!edges.length) {
    box.append(h("p", { class: "hint" }, "no TO edge leaves this state"));
    return box;
  }
  const auth = view.ctx.auth;
  const pasted = view.ctx.api.pastedToken(ticket.tenant);
  if (!auth.canMint) {
    box.append(
      h(
        "p",
        { class: pasted ? "hint" : "cannot" },
        pasted
          ? `Using the token you pasted for ${ticket.tenant}.`
          : `The console cannot play the TO here: this mock checks tokens with its own secret, so the ` +
              `console mints none. The transition hook needs the owner's token: mint one for ${ticket.tenant} ` +
              `where the secret is kept (python -m mockserver token --sub ${ticket.tenant}) and paste it.`,
      ),
      tokenForm(ticket),
    );
  }
  const mine = draft(ticket.ticketId);
  const needs = [...new Set(edges.flatMap((edge) => requiredOnEntry(edge.to)))];
  const dialog = h("textarea", {
    class: "dialog",
    rows: 2,
    maxlength: 4000,
    placeholder: "dialog (empty: the edge's meaning)",
    oninput: (event) => (mine.dialog = event.target.value),
  });
  dialog.value = mine.dialog;
  const fields = needs.map((name) => {
    if (mine.fields[name] === undefined) mine.fields[name] = name === "serviceRestoredTime" ? nowSeconds() : "";
    const input = h("input", {
      name,
      value: mine.fields[name],
      oninput: (event) => (mine.fields[name] = event.target.value),
    });
    return h("label", { class: "entry-field" }, h("span", {}, name), input);
  });
  const enabled = auth.canMint || Boolean(pasted);
  const buttons = edges.map((edge) =>
    h(
      "button",
      {
        type: "button",
        class: "move",
        dataset: { to: edge.to, side: "TO" },
        title: edge.meaning,
        disabled: !enabled,
        onclick: () => move(ticket, edge),
      },
      `\u2192 ${edge.to}`,
      h("small", {}, edge.meaning),
    ),
  );
  const entryNote = needs.length
    ? h(
        "div",
        { class: "entry-fields" },
        h("p", { class: "hint" }, `Entering ${entryTargets(edges)} needs:`),
        fields,
      )
    : null;
  box.append(h("div", { class: "buttons" }, buttons), dialog);
  if (entryNote) box.append(entryNote);
  return box;
}

function entryTargets(edges) {
  return edges.filter((edge) => requiredOnEntry(edge.to).length).map((edge) => edge.to).join(", ");
}

function tokenForm(ticket) {
  const input = h("input", {
    class: "token",
    placeholder: `bearer token for ${ticket.tenant}`,
    value: view.ctx.api.pastedToken(ticket.tenant),
    spellcheck: "false",
  });
  return h(
    "form",
    {
      class: "token-form",
      onsubmit: (event) => {
        event.preventDefault();
        view.ctx.api.pasteToken(ticket.tenant, input.value);
        view.actionsKey = "";
        drawDetail();
      },
    },
    input,
    h("button", { type: "submit" }, "Use this token"),
  );
}

async function move(ticket, edge) {
  const mine = draft(ticket.ticketId);
  const body = { baseTroubleTicketState: edge.to, dialog: mine.dialog.trim() || edge.meaning || `TO moves to ${edge.to}` };
  for (const name of requiredOnEntry(edge.to)) {
    if (mine.fields[name]) body[name] = mine.fields[name];
  }
  for (const button of view.els.detail.querySelectorAll("button.move")) button.disabled = true;
  try {
    await view.ctx.api.transition(ticket.ticketId, ticket.tenant, view.ctx.auth.canMint, body);
    view.outcome.set(ticket.ticketId, { kind: "ok", text: `Moved to ${edge.to}.` });
    view.drafts.delete(ticket.ticketId);
  } catch (error) {
    view.outcome.set(ticket.ticketId, { kind: "error", text: `The mock refused: ${error.message}` });
  }
  view.actionsKey = "";
  view.seen = "";
  await refresh();
}

// -- the timeline ------------------------------------------------------------------------------

function drawTimeline(ticket) {
  let before = {};
  const items = ticket.history.map((event, index) => {
    // The dialog is shown as the event's quote; the fields table need not repeat it.
    const fields = { ...(event.changes || {}) };
    if (event.dialog !== null && fields.dialog === event.dialog) delete fields.dialog;
    const rows = Object.entries(fields).map(([name, value]) => {
      const had = Object.prototype.hasOwnProperty.call(before, name);
      const same = had && JSON.stringify(before[name]) === JSON.stringify(value);
      const note = !had ? (index ? "set" : "") : same ? "unchanged" : `was ${JSON.stringify(before[name])}`;
      return h(
        "tr",
        { class: same ? "same" : "changed" },
        h("th", {}, name),
        h("td", {}, fieldValue(value)),
        h("td", { class: "note" }, note),
      );
    });
    before = { ...before, ...fields };
    const moved = event.from === null || event.from === undefined;
    const what = moved
      ? ["opened it in ", stateBadge(event.to, terminal(event.to))]
      : event.from === event.to
        ? ["updated it, staying in ", stateBadge(event.to, terminal(event.to))]
        : ["moved it ", stateBadge(event.from, terminal(event.from)), " \u2192 ", stateBadge(event.to, terminal(event.to))];
    const changed = rows.filter((row) => row.classList.contains("changed")).length;
    const table = rows.length
      ? h(
          "details",
          { class: "changes", open: index > 0 && changed > 0 && rows.length <= 8 },
          h("summary", {}, index ? `fields sent: ${rows.length}, changed: ${changed}` : `fields: ${rows.length}`),
          h("table", {}, h("tbody", {}, rows)),
        )
      : null;
    const files = (event.attachments || []).map((file) =>
      h(
        "li",
        {},
        h("a", { href: view.ctx.api.attachmentUrl(ticket.ticketId, file.id), download: file.name }, file.name),
        ` ${file.mimeType || "no type"}, ${file.size} bytes, sha256 ${String(file.sha256).slice(0, 12)}\u2026`,
      ),
    );
    return h(
      "li",
      { class: `event side-${event.side}`, dataset: { from: event.from || "", to: event.to } },
      h("div", { class: "when" }, time(event.at)),
      h(
        "div",
        { class: "what" },
        h("p", { class: "headline" }, sideBadge(event.side), " ", h("strong", {}, event.actor), " ", what),
        event.dialog ? h("blockquote", { class: "dialog" }, event.dialog) : null,
        table,
        files.length ? h("ul", { class: "attachments" }, h("li", { class: "label" }, "attachments"), files) : null,
      ),
    );
  });
  // Open <details> survive the redraw: remember them by event.
  const timeline = view.els.detail.querySelector(".timeline");
  const open = new Set([...timeline.querySelectorAll("li.event")].map((li, i) => (li.querySelector("details")?.open ? i : -1)));
  items.forEach((item, i) => {
    const details = item.querySelector("details");
    if (details && open.has(i)) details.open = true;
  });
  clear(timeline, items);
}

function fieldValue(value) {
  return typeof value === "string" ? value : pretty(value);
}

function fieldTable(fields) {
  const rows = Object.entries(fields || {}).map(([name, value]) =>
    h("tr", {}, h("th", {}, name), h("td", {}, fieldValue(value))),
  );
  return rows.length ? h("table", {}, h("tbody", {}, rows)) : h("p", { class: "hint" }, "none");
}

// -- the panel -------------------------------------------------------------------------------

const polling = poller(refresh, POLL_MS);

export const ticketsPanel = {
  id: "tickets",
  title: "Tickets",
  async mount(root, ctx) {
    view.ctx = ctx;
    const template = document.createElement("template");
    template.innerHTML = await ctx.api.lifecycleSvg(); // the mock's own drawing of its lifecycle file
    view.svg = template.content.querySelector("svg");
    view.els.list = h("div", { class: "ticket-list" });
    view.els.detail = h("div", { class: "ticket-detail" });
    const filter = h("input", {
      type: "search",
      placeholder: "filter: ticket, mirrorKey, tenant, state",
      "aria-label": "Filter tickets",
      oninput: (event) => {
        view.filter = event.target.value;
        drawList();
      },
    });
    root.append(h("aside", { class: "sidebar" }, filter, view.els.list), view.els.detail);
  },
  show() {
    polling.start();
  },
  hide() {
    polling.stop();
  },
  route(rest) {
    if (rest === view.selected) return;
    view.selected = rest;
    view.actionsKey = "";
    clear(view.els.detail);
    drawList();
    drawDetail();
  },
};
