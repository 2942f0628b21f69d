// The console's panels, in tab order.
//
// A panel is a module exporting an object with:
//   id             a short name: the tab's URL is #id, and #id/rest is passed to route()
//   title          the tab's text
//   mount(root, ctx)  build the panel inside `root` (a <section>), once
//   show(ctx)      the panel became visible: start polling the control API
//   hide()         it is hidden: stop polling
//   route(rest)    optional: the part of the URL after "#id/" (e.g. a ticket id)
// ctx gives: api (api.js: the one client of /_mock), auth (GET /_mock/auth), lifecycle
// (GET /_mock/lifecycle), notice(text) for a problem a person can act on, go(hash) to move.
//
// A panel for faults belongs here once someone writes it: panels/NAME.js, added to this list.
import { ticketsPanel } from "./tickets.js";
import { journalPanel } from "./journal.js";
import { toSidePanel } from "./toside.js";

export const panels = [ticketsPanel, journalPanel, toSidePanel];
