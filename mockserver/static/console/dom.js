// Small helpers shared by the panels: building elements (text is never parsed as HTML),
// times, and polling.

export function h(tag, attrs, ...children) {
  const element = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key === "class") element.className = value;
    else if (key === "dataset") Object.assign(element.dataset, value);
    else if (key.startsWith("on")) element.addEventListener(key.slice(2), value);
    else if (key in element && typeof value !== "string") element[key] = value;
    else element.setAttribute(key, value === true ? "" : value);
  }
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    element.append(child instanceof Node ? child : String(child));
  }
  return element;
}

export function clear(element, ...children) {
  element.replaceChildren(...children.flat(Infinity).filter((c) => c !== null && c !== undefined && c !== false));
  return element;
}

// "14:03:07.120" in local time, with the full UTC instant as a tooltip.
export function time(iso) {
  if (!iso) return h("time", {}, "");
  const when = new Date(iso);
  const text = Number.isNaN(when.getTime())
    ? iso
    : when.toLocaleTimeString([], { hour12: false }) + "." + String(when.getMilliseconds()).padStart(3, "0");
  return h("time", { datetime: iso, title: iso }, text);
}

export function pretty(value) {
  if (value === null || value === undefined) return "";
  if (typeof value === "string") {
    try {
      return JSON.stringify(JSON.parse(value), null, 2);
    } catch (error) {
      return value;
    }
  }
  return JSON.stringify(value, null, 2);
}

export function sideBadge(side) {
  return h("span", { class: `side side-${side}`, title: side === "TO" ? "Territory Owner" : "Territory User" }, side);
}

export function stateBadge(state, terminal) {
  return h("span", { class: `state-badge${terminal ? " terminal" : ""}` }, state);
}

// Runs `task` now and then again `ms` after each run ends; never two runs at once, and not
// while the tab is hidden. A slow run (a mock holding thousands of tickets) stretches the wait
// to ten times its own length, so the console never keeps the mock busy.
export function poller(task, ms) {
  let timer = null;
  let started = false;
  let running = false;
  async function tick() {
    clearTimeout(timer);
    if (!started || running) return;
    let wait = ms;
    if (!document.hidden) {
      running = true;
      const begun = performance.now();
      try {
        await task();
      } finally {
        running = false;
      }
      wait = Math.max(ms, 10 * (performance.now() - begun));
    }
    if (started) timer = setTimeout(tick, wait);
  }
  return {
    start() {
      if (!started) {
        started = true;
        tick();
      }
    },
    stop() {
      started = false;
      clearTimeout(timer);
    },
    now: tick,
  };
}
