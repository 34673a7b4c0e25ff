// The Videos list: while a row's run is at work, its status, progress ("3 / 7 slides", the
// step, the time left), duration, slide count, video length and thumbnail follow it, polled
// from a small JSON endpoint; the page itself is never reloaded.
"use strict";

(function () {
  const table = document.querySelector("table.jobs[data-poll]");
  if (!table) return;
  const POLL_MS = 3000;

  function rowOf(run) {
    return Array.from(table.querySelectorAll("tr.job")).find((row) => row.dataset.run === run);
  }

  function setText(row, selector, text) {
    const cell = row.querySelector(selector);
    if (cell && cell.textContent !== text) cell.textContent = text;
  }

  function showReason(row, state) {
    const cell = row.querySelector("td.reason");
    if (!cell) return;
    cell.replaceChildren();
    if (state.step) {
      const step = document.createElement("strong");
      step.className = "step";
      step.textContent = state.step;
      cell.append(step, " ");
    }
    const why = document.createElement("span");
    why.className = "why";
    why.textContent = state.reason;
    cell.append(why);
  }

  function showThumbnail(row, state) {
    const cell = row.querySelector("td.thumb");
    if (!cell || !state.thumbnail || !state.job || cell.querySelector("img")) return;
    const img = document.createElement("img");
    img.className = "list-thumb";
    img.alt = "";
    img.src = table.dataset.thumbnail.replace("JOB", encodeURIComponent(state.job));
    cell.replaceChildren(img);
  }

  function show(state) {
    const row = rowOf(state.run);
    if (!row) return;
    const badge = row.querySelector(".badge");
    if (badge) {
      badge.className = "badge " + state.tone;
      badge.dataset.status = state.status;
      badge.textContent = state.status;
    }
    showReason(row, state);
    setText(row, ".progress .doing", state.doing);
    setText(row, ".progress .spoken", state.spoken);
    setText(row, ".progress .left", state.left);
    setText(row, "td.when", state.started);
    setText(row, "td.duration", state.duration);
    setText(row, "td.slides", state.slides);
    setText(row, "td.video", state.video);
    showThumbnail(row, state);
    if (state.job) row.dataset.job = state.job;
    row.dataset.active = state.active ? "true" : "false";
  }

  async function poll() {
    const active = Array.from(table.querySelectorAll("tr.job[data-active='true']"), (r) => r.dataset.run);
    if (!active.length) return; // nothing at work: stop until the page is opened again
    try {
      const query = active.map((run) => "run=" + encodeURIComponent(run)).join("&");
      const response = await fetch(table.dataset.poll + "?" + query, { headers: { Accept: "application/json" } });
      if (response.ok) (await response.json()).rows.forEach(show);
    } catch (error) {
      // a lost connection: try again at the next tick
    }
    window.setTimeout(poll, POLL_MS);
  }

  window.setTimeout(poll, POLL_MS);
})();
