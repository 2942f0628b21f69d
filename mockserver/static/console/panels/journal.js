// The journal (GET /_mock/journal): each request clients sent and the mock's answer, newest
// first, live and filterable. The console's own requests are not in it; TO moves played
// through the transition hook are.
import { h, clear, time, pretty, poller } from "../dom.js";

const POLL_MS = 1500;
const LIMIT = 500; // the mock keeps at most its --journal-size newest entries anyway

const view = {
  ctx: null,
  entries: [],
  seen: "",
  choices: "",
  open: new Set(), // entries shown in full, by key
  live: true,
  filters: { tenant: "", method: "", status: "", text: "" },
  els: {},
};

function key(entry) {
  return `${entry.at} ${entry.method} ${entry.path} ${entry.durationMs}`;
}

function statusClass(status) {
  return `s${String(status || 0)[0]}xx`;
}

async function refresh() {
  if (!view.live) return;
  let entries;
  try {
    entries = await view.ctx.api.journal(LIMIT);
  } catch (error) {
    view.ctx.notice(`Journal: ${error.message}`);
    return;
  }
  view.ctx.notice(null);
  const text = JSON.stringify(entries);
  if (text === view.seen) return;
  view.seen = text;
  view.entries = entries;
  drawFilters();
  drawTable();
}

function matches(entry) {
  const f = view.filters;
  if (f.tenant && (entry.tenant || "") !== (f.tenant === "(none)" ? "" : f.tenant)) return false;
  if (f.method && entry.method !== f.method) return false;
  if (f.status && statusClass(entry.status) !== f.status) return false;
  if (f.text) {
    const haystack = [entry.path, entry.query, pretty(entry.body), pretty(entry.response), ...(entry.warnings || [])]
      .join("\n")
      .toLowerCase();
    if (!haystack.includes(f.text.toLowerCase())) return false;
  }
  return true;
}

// The tenant and method choices follow what the journal holds.
function drawFilters() {
  const options = (select, values, all) => {
    const chosen = select.value;
    clear(
      select,
      h("option", { value: "" }, all),
      values.map((value) => h("option", { value }, value)),
    );
    select.value = values.includes(chosen) ? chosen : "";
  };
  const tenants = [...new Set(view.entries.map((e) => e.tenant || "(none)"))].sort();
  const methods = [...new Set(view.entries.map((e) => e.method))].sort();
  // Rebuilt only when the choices change: a rebuild would close a list the person has open.
  const choices = JSON.stringify([tenants, methods]);
  if (choices === view.choices) return;
  view.choices = choices;
  options(view.els.tenant, tenants, "every tenant");
  options(view.els.method, methods, "every method");
}

function ticketLink(path) {
  const match = /^\/(?:_mock\/)?troubleTicket\/([^/]+)/.exec(path || "");
  if (!match) return path;
  const id = decodeURIComponent(match[1]);
  const at = path.indexOf(match[1]);
  return [
    path.slice(0, at),
    h("a", { href: `#tickets/${encodeURIComponent(id)}`, title: "show the ticket" }, match[1]),
    path.slice(at + match[1].length),
  ];
}

function drawTable() {
  const shown = view.entries.filter(matches);
  const rows = [];
  for (const entry of shown) {
    const id = key(entry);
    const isOpen = view.open.has(id);
    const warnings = entry.warnings || [];
    rows.push(
      h(
        "tr",
        {
          class: `entry ${statusClass(entry.status)}${isOpen ? " open" : ""}`,
          dataset: { method: entry.method, path: entry.path, status: String(entry.status) },
          onclick: (event) => {
            if (event.target.closest("a")) return;
            if (view.open.has(id)) view.open.delete(id);
            else view.open.add(id);
            drawTable();
          },
        },
        h("td", { class: "when" }, time(entry.at)),
        h("td", { class: "tenant" }, entry.tenant || "\u2014"),
        h("td", { class: "method" }, entry.method),
        h("td", { class: "path" }, ticketLink(entry.path), entry.query ? `?${entry.query}` : ""),
        h("td", { class: "status" }, String(entry.status)),
        h("td", { class: "ms" }, entry.durationMs === null || entry.durationMs === undefined ? "" : entry.durationMs.toFixed(1)),
        h("td", { class: "warnings", title: warnings.join("\n") }, warnings.length ? `\u26a0 ${warnings.join("; ")}` : ""),
      ),
    );
    if (isOpen) rows.push(h("tr", { class: "exchange" }, h("td", { colspan: 7 }, exchange(entry))));
  }
  const total = view.entries.length;
  view.els.count.textContent = total
    ? `${shown.length} of the ${total} newest requests${view.live ? "" : " (paused)"}. Click a row for the request and the answer.`
    : "";
  const table = view.els.tbody;
  clear(table, rows);
  view.els.empty.hidden = rows.length > 0;
  view.els.empty.textContent = total
    ? "No request matches the filters."
    : "No request yet. Requests to /troubleTicket, and TO moves through the transition hook, appear here as they arrive; the console's own requests do not.";
}

function exchange(entry) {
  const headers = Object.entries(entry.headers || {}).map(([name, value]) => `${name}: ${value}`).join("\n");
  return h(
    "div",
    { class: "exchange-body" },
    h(
      "div",
      {},
      h("h4", {}, "Request"),
      h("pre", {}, `${entry.method} ${entry.path}${entry.query ? `?${entry.query}` : ""}\n${headers}`),
      entry.body ? h("pre", { class: "body" }, pretty(entry.body)) : h("p", { class: "hint" }, "no body"),
    ),
    h(
      "div",
      {},
      h("h4", {}, `Answer ${entry.status}`),
      entry.response === null || entry.response === undefined
        ? h("p", { class: "hint" }, "no JSON body")
        : h("pre", { class: "body" }, pretty(entry.response)),
      (entry.warnings || []).length
        ? h("ul", { class: "warning-list" }, entry.warnings.map((w) => h("li", {}, w)))
        : null,
      entry.note ? h("p", { class: "hint" }, entry.note) : null,
    ),
  );
}

const polling = poller(refresh, POLL_MS);

export const journalPanel = {
  id: "journal",
  title: "Journal",
  mount(root, ctx) {
    view.ctx = ctx;
    const filter = (name) => (event) => {
      view.filters[name] = event.target.value;
      drawTable();
    };
    view.els.tenant = h("select", { "aria-label": "Tenant", onchange: filter("tenant") });
    view.els.method = h("select", { "aria-label": "Method", onchange: filter("method") });
    view.els.status = h(
      "select",
      { "aria-label": "Status", onchange: filter("status") },
      h("option", { value: "" }, "every status"),
      ["2xx", "4xx", "5xx"].map((s) => h("option", { value: `s${s}` }, s)),
    );
    const text = h("input", {
      type: "search",
      placeholder: "text in path, body or answer",
      "aria-label": "Text",
      oninput: filter("text"),
    });
    const live = h("input", {
      type: "checkbox",
      checked: true,
      onchange: (event) => {
        view.live = event.target.checked;
        if (view.live) polling.now();
        else drawTable();
      },
    });
    view.els.count = h("p", { class: "count" });
    view.els.tbody = h("tbody", {});
    view.els.empty = h("p", { class: "hint big" });
    root.append(
      h(
        "div",
        { class: "toolbar" },
        h("label", { class: "live" }, live, " live"),
        view.els.tenant,
        view.els.method,
        view.els.status,
        text,
        view.els.count,
      ),
      h(
        "table",
        { class: "journal" },
        h(
          "thead",
          {},
          h("tr", {}, ["time", "tenant", "method", "path", "status", "ms", "warnings"].map((c) => h("th", {}, c))),
        ),
        view.els.tbody,
      ),
      view.els.empty,
    );
    drawFilters();
    drawTable();
  },
  show() {
    polling.start();
  },
  hide() {
    polling.stop();
  },
};
