// The fleet dashboard: renders the controller's FleetSnapshot (GET
// /api/fleet, pushed on /api/events) without reloading.
//
// Everything in a snapshot may come from a host (names, messages, tags,
// unit names), so data reaches the page ONLY through textContent and
// dataset/setAttribute -- never innerHTML, insertAdjacentHTML or
// document.write -- and the page's Content-Security-Policy allows no inline
// script as a second line of defence.
"use strict";

// "HOST_DEPLOY_STATE_HEALTHY" -> "healthy".
function word(enumName, prefix) {
  if (!enumName || !enumName.startsWith(prefix)) return "";
  const rest = enumName.slice(prefix.length).toLowerCase();
  return rest === "unspecified" ? "" : rest;
}

// An element with `text` as its text (never parsed as HTML).
function el(tag, text, className) {
  const node = document.createElement(tag);
  if (text !== undefined && text !== null) node.textContent = String(text);
  if (className) node.className = className;
  return node;
}

function clear(node) {
  while (node.firstChild) node.removeChild(node.firstChild);
}

// What a host's cell in the health matrix says about one app:
// healthy | unhealthy | deploying | pending | failed | removing | unknown.
function cellState(status) {
  const deploy = word(status.state, "HOST_DEPLOY_STATE_");
  const health = word(status.health, "HEALTH_STATE_");
  const unhealthy = health === "degraded" || health === "failed";
  if (deploy === "healthy") return unhealthy ? "unhealthy" : "healthy";
  if (deploy) return deploy;
  if (unhealthy) return "unhealthy";
  return health === "healthy" ? "healthy" : "unknown";
}

function renderHosts(snapshot) {
  const body = document.querySelector("#hosts tbody");
  clear(body);
  for (const host of snapshot.hosts) {
    const row = el("tr");
    row.dataset.host = host.name;
    if (!host.connected) row.className = "disconnected";
    row.appendChild(el("td", host.name, "name"));
    const connected = host.connected ? "yes" : host.lost ? "lost" : "no";
    row.appendChild(el("td", connected, "connected"));
    row.appendChild(el("td", host.last_seen, "last-seen"));
    row.appendChild(el("td", host.agent_version, "agent-version"));
    row.appendChild(el("td", host.apps, "apps"));
    body.appendChild(row);
  }
}

function renderMatrix(snapshot) {
  const table = document.getElementById("matrix");
  const head = table.querySelector("thead");
  const body = table.querySelector("tbody");
  clear(head);
  clear(body);
  const hosts = snapshot.hosts.map((host) => host.name);
  const header = el("tr");
  header.appendChild(el("th", "App"));
  for (const name of hosts) header.appendChild(el("th", name));
  head.appendChild(header);
  for (const app of snapshot.apps) {
    const row = el("tr");
    row.dataset.app = app.app;
    const title = el("th", app.app);
    if (app.revision) title.appendChild(el("span", `r${app.revision} ${app.tag}`, "message"));
    row.appendChild(title);
    const byHost = new Map(app.hosts.map((status) => [status.host, status]));
    for (const name of hosts) {
      const cell = el("td");
      cell.dataset.app = app.app;
      cell.dataset.host = name;
      const status = byHost.get(name);
      if (status) {
        const state = cellState(status);
        cell.dataset.state = state;
        cell.appendChild(el("span", state, "state"));
        if (status.revision) cell.appendChild(el("span", ` r${status.revision} ${status.tag}`));
        if (status.message) cell.appendChild(el("span", status.message, "message"));
      }
      row.appendChild(cell);
    }
    body.appendChild(row);
  }
}

function renderRollouts(snapshot) {
  const root = document.getElementById("rollouts");
  clear(root);
  if (snapshot.rollouts.length === 0) {
    root.appendChild(el("p", "No rollout running.", "none"));
    return;
  }
  for (const rollout of snapshot.rollouts) {
    const box = el("div", null, "rollout");
    box.dataset.rollout = rollout.id;
    box.dataset.app = rollout.app;
    const state = word(rollout.state, "ROLLOUT_STATE_");
    box.dataset.state = state;
    box.appendChild(el("h3", `${rollout.app} #${rollout.id}: r${rollout.from_revision} ` +
                             `(${rollout.from_tag}) \u2192 r${rollout.to_revision} (${rollout.tag})`));
    box.appendChild(el("p", `${state}: ${rollout.healthy}/${rollout.hosts} healthy, ` +
                            `${rollout.failed} failed`, "summary"));
    if (rollout.message) box.appendChild(el("p", rollout.message, "message"));
    for (const wave of rollout.waves) box.appendChild(renderWave(rollout, wave));
    root.appendChild(box);
  }
}

function renderWave(rollout, wave) {
  const node = el("div", null, "wave");
  node.dataset.wave = wave.index;
  const healthy = wave.hosts.filter((host) => host.state === "ROLLOUT_HOST_STATE_HEALTHY").length;
  const state = wave.finished_at ? "finished"
      : wave.started_at ? "running" : "waiting";
  node.dataset.state = state;
  const name = wave.canary ? "canary" : `wave ${wave.index}`;
  const title = el("div", `${name}: ${state}, ${healthy}/${wave.hosts.length} healthy `);
  const bar = el("progress");
  bar.max = Math.max(wave.hosts.length, 1);
  bar.value = healthy;
  title.appendChild(bar);
  node.appendChild(title);
  const list = el("ul");
  for (const host of wave.hosts) {
    const item = el("li");
    item.dataset.host = host.host;
    item.dataset.state = word(host.state, "ROLLOUT_HOST_STATE_");
    item.appendChild(el("span", host.host, "name"));
    item.appendChild(el("span", ` ${item.dataset.state}`, "state"));
    if (host.step) item.appendChild(el("span", ` (${host.step})`));
    if (host.error) item.appendChild(el("span", host.error, "message"));
    list.appendChild(item);
  }
  node.appendChild(list);
  return node;
}

function render(snapshot) {
  renderHosts(snapshot);
  renderMatrix(snapshot);
  renderRollouts(snapshot);
}

function setLive(state) {
  const live = document.getElementById("live");
  live.dataset.state = state;
  live.textContent = state;
}

// The first event is the whole fleet; each later one the whole fleet again
// after a change (at most a few a second). EventSource reconnects by itself.
const events = new EventSource("/api/events");
events.addEventListener("snapshot", (event) => {
  render(JSON.parse(event.data));
  setLive("live");
});
events.addEventListener("error", () => setLive("reconnecting"));
