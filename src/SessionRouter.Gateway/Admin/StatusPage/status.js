// The gateway's status page: reads the admin endpoints beside it (status, health, reports, where) and redraws
// itself every two seconds. No framework and nothing fetched from elsewhere; every value is set as text, never
// as markup, since node errors and configuration errors are free text.
"use strict";

(() => {
  const refreshMs = 2000;
  // The id last looked up: its answer is read again on every refresh, so it follows node health.
  let lookedUp = null;
  const admin = new URL("../", window.location.href);
  const byId = (id) => document.getElementById(id);

  function element(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  async function readJson(path) {
    const response = await fetch(new URL(path, admin), { cache: "no-store", credentials: "same-origin" });
    // The health endpoint answers 503 when no node is up; its body is still the report.
    if (!response.ok && response.status !== 503) {
      throw new Error(`${path}: HTTP ${response.status}`);
    }
    return response.json();
  }

  function formatBytes(value) {
    if (value === null || value === undefined) return "–";
    const units = ["B", "KiB", "MiB", "GiB", "TiB"];
    let size = value;
    let unit = 0;
    while (size >= 1024 && unit < units.length - 1) {
      size /= 1024;
      unit++;
    }
    return `${size.toFixed(unit === 0 ? 0 : 1)} ${units[unit]}`;
  }

  function formatTime(iso) {
    if (!iso) return "–";
    const date = new Date(iso);
    return date.toLocaleTimeString([], { hour12: false });
  }

  function formatAgo(iso) {
    if (!iso) return "";
    const seconds = Math.max(0, Math.round((Date.now() - new Date(iso).getTime()) / 1000));
    if (seconds < 90) return `${seconds} s ago`;
    const minutes = Math.round(seconds / 60);
    if (minutes < 90) return `${minutes} min ago`;
    return `${Math.round(minutes / 60)} h ago`;
  }

  function bar(fraction, level, markFraction) {
    const outer = element("div", `bar ${level || ""}`);
    const fill = element("div", "fill");
    fill.style.width = `${Math.min(100, Math.max(0, fraction * 100)).toFixed(1)}%`;
    outer.appendChild(fill);
    if (markFraction !== undefined && markFraction !== null) {
      const mark = element("div", "mark");
      mark.style.left = `${Math.min(100, markFraction * 100).toFixed(1)}%`;
      mark.title = "warning level";
      outer.appendChild(mark);
    }
    return outer;
  }

  function memoryCell(report) {
    const cell = element("td");
    cell.dataset.testid = "node-memory";
    if (!report || !report.reported) {
      cell.appendChild(element("span", "muted note", report && report.note ? report.note : "not reported"));
      return cell;
    }
    const cap = report.memoryCapBytes || 0;
    const level = report.memoryLevel || "Normal";
    if (cap > 0) {
      const warning = report.memoryWarningBytes ? report.memoryWarningBytes / cap : null;
      const fullBar = bar(report.bytes / cap, level, warning);
      fullBar.dataset.testid = "memory-bar";
      cell.appendChild(fullBar);
      cell.appendChild(element("div", "bar-text", `${formatBytes(report.bytes)} of ${formatBytes(cap)} (${(100 * report.bytes / cap).toFixed(1)}%)`));
    } else {
      cell.appendChild(element("div", "bar-text", `${formatBytes(report.bytes)} held · no cap`));
    }
    if (level !== "Normal") {
      const badge = element("span", `badge ${level}`, level === "Full" ? "full: new sessions refused" : "past the warning level");
      badge.dataset.testid = "memory-level";
      cell.appendChild(badge);
    }
    return cell;
  }

  function renderNodes(status, reports) {
    const byNode = new Map();
    if (reports) {
      for (const report of reports.nodes) byNode.set(report.id, report);
    }
    const rows = [];
    for (const node of status.nodes) {
      const report = byNode.get(node.id);
      const row = element("tr", node.healthy ? "up" : "down");
      row.dataset.node = node.id;

      const id = element("td");
      id.appendChild(element("span", "node-id", node.id));
      id.appendChild(element("div", "address", `weight ${node.weight}`));
      row.appendChild(id);

      const where = element("td");
      where.appendChild(element("div", null, node.engine));
      where.appendChild(element("div", "address", node.address));
      row.appendChild(where);

      const health = element("td");
      health.dataset.testid = "node-health";
      health.appendChild(element("span", `badge ${node.healthy ? "up" : "down"}`, node.healthy ? "up" : "down"));
      if (report && report.reported && report.status && report.status !== "Healthy") {
        health.appendChild(element("span", `badge ${report.status}`, report.status));
      }
      health.appendChild(element("span", "since", `since ${formatTime(node.since)}`));
      row.appendChild(health);

      const share = element("td");
      share.appendChild(bar(node.keySpaceShare, null, null));
      share.appendChild(element("div", "bar-text", `${(node.keySpaceShare * 100).toFixed(1)}%`));
      row.appendChild(share);

      const sessions = element("td", "number", report && report.reported ? report.sessions : "–");
      sessions.dataset.testid = "node-sessions";
      row.appendChild(sessions);

      row.appendChild(memoryCell(report));

      const error = element("td", "error", node.lastError || "");
      if (node.lastErrorAt) error.title = `at ${node.lastErrorAt}`;
      row.appendChild(error);
      rows.push(row);
    }
    byId("nodes").replaceChildren(...rows);
  }

  function renderEvents(list, items, describe) {
    const entries = items.map((item) => {
      const entry = element("li");
      const text = describe(item);
      entry.appendChild(element("span", "when", `${formatTime(item.at)} (${formatAgo(item.at)})`));
      entry.appendChild(element("span", null, text.title));
      if (text.detail) entry.appendChild(element("span", "detail", text.detail));
      return entry;
    });
    if (entries.length === 0) entries.push(element("li", "empty", "none yet"));
    byId(list).replaceChildren(...entries);
  }

  function render(status, health, reports) {
    const badge = byId("health");
    badge.textContent = status.health;
    badge.className = `badge ${status.health}`;
    byId("health-description").textContent = health ? health.description : "";
    byId("application").textContent = status.applicationName;
    byId("revision").textContent = status.revision;
    byId("applied-at").textContent = `${formatTime(status.appliedAt)} (${formatAgo(status.appliedAt)})`;
    renderNodes(status, reports);
    renderEvents("transitions", status.transitions, (t) => ({
      title: `${t.nodeId} ${t.healthy ? "up again" : "down"}`,
      detail: t.cause,
    }));
    renderEvents("reloads", status.reloads, (r) => ({
      title: r.applied ? `applied, revision ${r.revision}` : `refused, revision ${r.revision} stays`,
      detail: r.errors.join(" · "),
    }));
  }

  async function refresh() {
    try {
      const [status, health, reports] = await Promise.all([
        readJson("status"),
        readJson("health").catch(() => null),
        readJson("reports").catch(() => null),
      ]);
      render(status, health, reports);
      if (lookedUp) await showWhere(lookedUp);
      document.body.classList.remove("stale");
      byId("updated").textContent = new Date().toLocaleTimeString([], { hour12: false });
    } catch (error) {
      document.body.classList.add("stale");
      byId("updated").textContent = `status unavailable (${error.message})`;
    } finally {
      window.setTimeout(refresh, refreshMs);
    }
  }

  async function lookUp(event) {
    event.preventDefault();
    const id = byId("where-input").value.trim();
    lookedUp = null;
    if (id.length === 0) {
      byId("where-result").className = "muted";
      byId("where-result").textContent = "Enter a session id.";
      return;
    }
    await showWhere(id);
  }

  async function showWhere(id) {
    const result = byId("where-result");
    try {
      const response = await fetch(new URL(`where/${encodeURIComponent(id)}`, admin), { cache: "no-store", credentials: "same-origin" });
      const body = await response.json();
      if (!response.ok) {
        result.className = "muted";
        result.textContent = body.error || `HTTP ${response.status}`;
        lookedUp = null;
        return;
      }
      lookedUp = id;
      result.className = "";
      const summary = element("div", null, body.servedBy
        ? `Served by ${body.servedBy} (revision ${body.revision}).`
        : `No node of its list is healthy (revision ${body.revision}).`);
      summary.dataset.testid = "where-served-by";
      const replicas = element("div", "muted", body.replicas.length > 1
        ? `Kept on ${body.replicas.join(", ")}; ${body.majority} of them answer each request.`
        : "");
      replicas.dataset.testid = "where-replicas";
      const list = element("ol", "preference");
      for (const entry of body.preferenceList) {
        const classes = [entry.nodeId === body.servedBy ? "serving" : "", entry.healthy ? "" : "down"].join(" ").trim();
        list.appendChild(element("li", classes, `${entry.position + 1}. ${entry.nodeId}`));
      }
      result.replaceChildren(summary, replicas, list);
    } catch (error) {
      result.className = "muted";
      result.textContent = `Lookup failed: ${error.message}`;
    }
  }

  byId("where-form").addEventListener("submit", lookUp);
  refresh();
})();
