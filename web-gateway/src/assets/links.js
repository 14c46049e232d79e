// Unreachable-robot banner: polls /healthz every 5 s and lists each configured zenoh endpoint
// the gateway has no link to and knows why (`reason`), with that reason; hidden otherwise.
// Text only (textContent): error strings carry names from the network.
// DOM contract (relied on by tests): #unreachable[hidden] holding one
// li[data-endpoint][data-reason] per unreachable endpoint.
"use strict";

(() => {
  const banner = document.getElementById("unreachable");
  const list = banner.querySelector("ul");

  function item(endpoint) {
    const li = document.createElement("li");
    li.dataset.endpoint = endpoint.endpoint;
    li.dataset.reason = endpoint.reason;
    const name = document.createElement("strong");
    name.textContent = endpoint.endpoint;
    const since = new Date(endpoint.since).toLocaleTimeString();
    li.append(name, ` unreachable since ${since}: ${endpoint.error}`);
    return li;
  }

  async function check() {
    try {
      const response = await fetch(new URL("/healthz", location.origin), { cache: "no-store" });
      const health = await response.json();
      const down = (health.endpoints || []).filter((e) => !e.connected && e.reason);
      list.replaceChildren(...down.map(item));
      banner.hidden = down.length === 0;
    } catch (error) {
      // The gateway itself is unreachable: the link indicator in the header says so.
    }
  }

  check();
  setInterval(check, 5000);
})();
