// The job page: chapters and caption cues seek the video; Re-take starts a deck_to_video run
// through Airflow's own REST API, with the signed-in user's session.
"use strict";

(function () {
  const video = document.getElementById("video");

  function seek(seconds) {
    if (!video) return;
    video.currentTime = seconds;
    video.scrollIntoView({ block: "nearest" });
    const playing = video.play();
    if (playing) playing.catch(() => {}); // a browser may refuse to start without a gesture
  }

  document.querySelectorAll("button.chapter, button.cue, button.build-step[data-start]").forEach((button) => {
    button.addEventListener("click", () => seek(parseFloat(button.dataset.start)));
  });

  if (video) {
    const chapters = Array.from(document.querySelectorAll("button.chapter"));
    video.addEventListener("timeupdate", () => {
      let current = null;
      for (const chapter of chapters) {
        if (parseFloat(chapter.dataset.start) <= video.currentTime + 0.05) current = chapter;
      }
      chapters.forEach((c) => c.classList.toggle("current", c === current));
    });
  }

  const notice = document.getElementById("retake-status");

  function say(text, tone, link) {
    notice.hidden = false;
    notice.className = "notice toast " + tone;
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

  async function retake(button) {
    const slide = button.dataset.slide;
    // The job's own inputs and settings, published where this user says (shown on the page).
    const target = document.getElementById("retake-out-url");
    const outUrl = target ? target.value.trim() : "";
    const request = button.dataset.request + (outUrl ? "?out_url=" + encodeURIComponent(outUrl) : "");
    button.disabled = true;
    say("Starting a re-take of slide " + slide + (outUrl ? ", to be published to " + outUrl : "") + "…", "busy");
    try {
      const asked = await fetch(request, { headers: { Accept: "application/json" } });
      if (!asked.ok) throw new Error(await detail(asked));
      const plan = await asked.json();
      const started = await fetch(plan.path, {
        method: "POST",
        headers: { "Content-Type": "application/json", Accept: "application/json" },
        body: JSON.stringify({ logical_date: plan.logical_date, conf: plan.conf, note: plan.note }),
      });
      if (!started.ok) throw new Error("Airflow refused (" + started.status + "): " + (await detail(started)));
      const run = await started.json();
      const airflow = document.body.dataset.airflow;
      const dag = document.body.dataset.dag;
      say(
        "Re-take of slide " + slide + " started as run " + run.dag_run_id +
          ". The new video replaces this one when it is whole.",
        "ok",
        { href: airflow + "dags/" + dag + "/runs/" + encodeURIComponent(run.dag_run_id), text: "Follow it in Airflow" },
      );
      button.dataset.run = run.dag_run_id;
    } catch (error) {
      say("Could not start the re-take of slide " + slide + ": " + error.message, "bad");
      button.disabled = false;
    }
  }

  document.querySelectorAll("button.retake").forEach((button) => {
    button.addEventListener("click", () => retake(button));
  });
})();
