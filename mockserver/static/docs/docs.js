// The API reference: Swagger UI over the mock's own /openapi.json, plus a panel that mints a
// development token for a tenant when (and only when) the mock runs on its development secret.
"use strict";

(function () {
  const $ = (id) => document.getElementById(id);

  async function json(url, options) {
    const response = await fetch(url, options);
    let body = null;
    try {
      body = await response.json();
    } catch (error) {
      body = null;
    }
    return { ok: response.ok, status: response.status, body };
  }

  // The contract's error bodies have one key whose value is the message.
  function message(body, status) {
    if (body && typeof body === "object") {
      const values = Object.values(body).filter((v) => typeof v === "string");
      if (values.length) return values[0];
    }
    return `the mock answered ${status}`;
  }

  async function loadReference() {
    const answer = await json("/openapi.json");
    if (!answer.ok || !answer.body) {
      $("swagger-ui").textContent = `The mock could not serve its spec (/openapi.json answered ${answer.status}).`;
      return null;
    }
    const spec = answer.body;
    // "Try it out" goes to the mock serving this page, whatever its host and port.
    const here = { url: window.location.origin, description: "this mock (the server of this page)" };
    spec.servers = [here, ...(spec.servers || []).filter((s) => s.url.replace(/\/+$/, "") !== here.url)];
    return SwaggerUIBundle({
      spec,
      dom_id: "#swagger-ui",
      presets: [SwaggerUIBundle.presets.apis],
      layout: "BaseLayout",
      deepLinking: true,
      displayRequestDuration: true,
      validatorUrl: null, // no badge fetched from a third party: the page works offline
    });
  }

  async function tokenPanel(ui) {
    const status = $("token-status");
    const answer = await json("/_mock/auth");
    if (!answer.ok || !answer.body) {
      status.textContent = `The mock did not say how it checks tokens (/_mock/auth answered ${answer.status}).`;
      return;
    }
    const auth = answer.body;
    status.textContent = auth.message;
    if (!auth.canMint) {
      status.classList.add("cannot");
      return;
    }
    const form = $("mint-form");
    const result = $("token-result");
    form.hidden = false;
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const sub = $("tenant").value.trim();
      const minted = await json("/_mock/token", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ sub }),
      });
      result.hidden = false;
      if (!minted.ok) {
        result.classList.add("error");
        $("token-said").textContent = `No token: ${message(minted.body, minted.status)}`;
        $("token-value").value = "";
        return;
      }
      result.classList.remove("error");
      ui.preauthorizeApiKey("bearerAuth", minted.body.token);
      const hours = Math.round(minted.body.expiresInSeconds / 3600);
      $("token-said").textContent =
        `Authorized as ${minted.body.sub} for ${hours} hours: open an operation below, ` +
        `"Try it out", then "Execute".`;
      $("token-value").value = minted.body.token;
    });
  }

  window.addEventListener("load", async () => {
    const ui = await loadReference();
    if (ui) {
      window.ui = ui;
      await tokenPanel(ui);
    }
  });
})();
