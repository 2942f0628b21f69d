// The console's shell: tabs for the panels listed in panels/index.js, the URL's #panel/...,
// and one notice line for what went wrong. Only the visible panel polls the mock.
import { api } from "./api.js";
import { h } from "./dom.js";
import { panels } from "./panels/index.js";

const notice = document.getElementById("notice");
const tabs = document.getElementById("tabs");
const main = document.getElementById("panels");

const ctx = {
  api,
  auth: { canMint: false, developmentSecret: false, message: "" },
  lifecycle: null,
  // One line at the top for a problem a person can act on; null clears it.
  notice(text, kind = "error") {
    notice.hidden = !text;
    notice.className = `notice ${kind}`;
    notice.textContent = text || "";
  },
  go(hash) {
    if (location.hash !== hash) location.hash = hash;
    else route();
  },
};

const mounted = new Map();
let current = null;

function route() {
  const [id, ...rest] = decodeURIComponent(location.hash.replace(/^#/, "")).split("/");
  const panel = panels.find((p) => p.id === id) || panels[0];
  for (const p of panels) {
    const visible = p === panel;
    mounted.get(p.id).hidden = !visible;
    tabs.querySelector(`[data-panel="${p.id}"]`).setAttribute("aria-current", visible ? "page" : "false");
  }
  if (current && current !== panel) current.hide();
  if (panel.route) panel.route(rest.join("/"));
  if (current !== panel) {
    current = panel;
    panel.show(ctx);
  }
}

async function boot() {
  try {
    [ctx.auth, ctx.lifecycle] = await Promise.all([api.auth(), api.lifecycle()]);
  } catch (error) {
    ctx.notice(`The console cannot start: ${error.message}. Reload the page once the mock serves.`);
    return;
  }
  const mode = document.getElementById("auth-mode");
  mode.textContent = ctx.auth.canMint ? "development secret: tokens minted here" : "own secret: paste tokens";
  mode.title = ctx.auth.message;
  mode.classList.add(ctx.auth.canMint ? "dev" : "own");
  for (const panel of panels) {
    const root = h("section", { class: `panel panel-${panel.id}`, dataset: { panel: panel.id }, hidden: true });
    main.append(root);
    mounted.set(panel.id, root);
    tabs.append(h("a", { href: `#${panel.id}`, dataset: { panel: panel.id } }, panel.title));
    await panel.mount(root, ctx);
  }
  window.addEventListener("hashchange", route);
  route();
}

boot();
