// The job page: chapters, slides and caption cues seek the video; Re-take and "Use this take"
// start a deck_to_video run through Airflow's own REST API, with the signed-in user's session,
// after the user confirms; while a run of the job is at work the page asks the plugin how far
// it has come every few seconds (a small JSON answer) and, when the run ends, puts the page's
// new state in place (the new video, its takes, a failure) without reloading.
"use strict";

(function () {
  const POLL_MS = 3000;
  let timer = null;

  function page() {
    return document.querySelector(".job-page");
  }

  function video() {
    return document.getElementById("video");
  }

  function seek(seconds) {
    const player = video();
    if (!player) return;
    player.currentTime = seconds;
    player.scrollIntoView({ block: "nearest" });
    const playing = player.play();
    if (playing) playing.catch(() => {}); // a browser may refuse to start without a gesture
  }

  function followChapters() {
    const player = video();
    if (!player) return;
    const chapters = Array.from(document.querySelectorAll("button.chapter"));
    player.addEventListener("timeupdate", () => {
      let current = null;
      for (const chapter of chapters) {
        if (parseFloat(chapter.dataset.start) <= player.currentTime + 0.05) current = chapter;
      }
      chapters.forEach((c) => c.classList.toggle("current", c === current));
    });
  }

  function say(text, tone, link) {
    const notice = document.getElementById("retake-status");
    notice.hidden = false;
    notice.className = "notice " + tone;
    notice.textContent = text;
    if (link) {
      const a = document.createElement("a");
      a.href = link.href;
      a.target = "_top";
      a.textContent = link.text;
      notice.append(" ", a);
    }
  }

  async function detail(response) {
    try {
      const body = await response.json();
      const found = body.detail;
      return typeof found === "string" ? found : JSON.stringify(found);
    } catch (error) {
      return response.statusText;
    }
  }

  // A re-take records the slide anew; a chosen take (button.use-take) is put back from the cache.
  async function startRun(button) {
    const slide = button.dataset.slide;
    const take = button.dataset.take;
    const target = document.getElementById("retake-out-url");
    const outUrl = target ? target.value.trim() : "";
    const where = outUrl ? " The new video is published to " + outUrl + "." : "";
    const question = take
      ? "Put take " + take + " of slide " + slide + " back into the video? A run starts that " +
        "assembles the video again with it (it is not recorded again)." + where
      : "Record slide " + slide + " again? A run starts that speaks it anew and assembles the " +
        "video again; the current take stays playable." + where;
    if (!window.confirm(question)) return;
    const query = new URLSearchParams();
    if (outUrl) query.set("out_url", outUrl);
    if (take) query.set("take", take);
    const what = take ? "take " + take + " of slide " + slide : "a re-take of slide " + slide;
    button.disabled = true;
    say("Starting " + what + "…", "busy");
    try {
      const asked = await fetch(button.dataset.request + "?" + query, { headers: { Accept: "application/json" } });
      if (!asked.ok) throw new Error(await detail(asked));
      const plan = await asked.json();
      const started = await fetch(plan.path, {
        method: "POST",
        headers: { "Content-Type": "application/json", Accept: "application/json" },
        body: JSON.stringify({ logical_date: plan.logical_date, conf: plan.conf, note: plan.note }),
      });
      if (!started.ok) throw new Error("Airflow refused (" + started.status + "): " + (await detail(started)));
      const run = await started.json();
      say(
        "Started " + what + " as run " + run.dag_run_id + ". The new video replaces this one when it is whole.",
        "ok",
        { href: document.body.dataset.runs + encodeURIComponent(run.dag_run_id), text: "Follow it in Airflow" },
      );
      button.dataset.run = run.dag_run_id;
      document.querySelectorAll("button.retake, button.use-take").forEach((b) => (b.disabled = true));
      const root = page();
      root.dataset.run = run.dag_run_id;
      root.dataset.slide = slide;
      root.dataset.active = "1";
      poll();
    } catch (error) {
      say("Could not start " + what + ": " + error.message, "bad");
      button.disabled = false;
    }
  }

  function clock(seconds) {
    const total = Math.max(0, Math.round(seconds));
    return Math.floor(total / 60) + ":" + String(total % 60).padStart(2, "0");
  }

  function showProgress(found) {
    const badge = document.querySelector("#status .badge");
    if (badge) {
      badge.textContent = found.status.label;
      badge.dataset.status = found.status.label;
      badge.className = "badge " + found.status.tone;
    }
    const parts = [];
    if (found.active && found.slides) parts.push(found.spoken + " of " + found.slides + " slides spoken");
    if (found.active && found.step) parts.push(found.step);
    if (found.active && found.seconds_left != null) parts.push("about " + clock(found.seconds_left) + " left");
    const line = document.getElementById("progress");
    if (line) {
      line.textContent = parts.join(" · ");
      line.dataset.spoken = found.spoken;
    }
  }

  // The run ended: the page as the server now makes it replaces this one's content, and the
  // new video plays from the slide the run was started for.
  async function refresh(runId, slide) {
    const address = new URL(window.location.href);
    address.searchParams.set("run", runId);
    const answer = await fetch(address, { headers: { Accept: "text/html" } });
    if (!answer.ok) return;
    const fresh = new DOMParser().parseFromString(await answer.text(), "text/html").querySelector(".job-page");
    if (!fresh) return;
    page().replaceWith(document.adoptNode(fresh));
    followChapters();
    const chapter = slide && document.querySelector("button.chapter[data-slide='" + CSS.escape(slide) + "']");
    if (chapter) seek(parseFloat(chapter.dataset.start));
  }

  async function poll() {
    clearTimeout(timer);
    const root = page();
    if (!root || !root.dataset.active || !root.dataset.run) return;
    try {
      const answer = await fetch(root.dataset.progress + "?run=" + encodeURIComponent(root.dataset.run), {
        headers: { Accept: "application/json" },
      });
      if (answer.ok) {
        const found = await answer.json();
        showProgress(found);
        if (!found.active) {
          await refresh(found.run_id, root.dataset.slide);
          return;
        }
      }
    } catch (error) {
      // a missed answer is asked again
    }
    timer = setTimeout(poll, POLL_MS);
  }

  document.addEventListener("click", (event) => {
    const button = event.target.closest && event.target.closest("button");
    if (!button || !page() || !page().contains(button)) return;
    if (button.matches("button.chapter, button.cue, button.seek, button.build-step[data-start]")) {
      seek(parseFloat(button.dataset.start));
    } else if (button.matches("button.retake, button.use-take")) {
      startRun(button);
    }
  });

  followChapters();
  poll();
})();
