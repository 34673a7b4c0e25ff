// New video: upload the deck (and a new recording) to this app, one file per request, then
// start a deck_to_video run through Airflow's own REST API with the signed-in user's session,
// and open the list, which follows its progress.
"use strict";

(function () {
  const form = document.getElementById("new-video");
  if (!form) return;
  const notice = document.getElementById("new-status");
  const start = document.getElementById("start");

  function say(text, tone) {
    notice.hidden = false;
    notice.className = "notice " + tone;
    notice.textContent = text;
  }

  async function detail(response) {
    try {
      const found = (await response.json()).detail;
      if (Array.isArray(found)) return found.map((d) => d.msg || JSON.stringify(d)).join("; ");
      return typeof found === "string" ? found : JSON.stringify(found);
    } catch (error) {
      return response.statusText;
    }
  }

  async function upload(kind, file) {
    if (file.size > Number(document.querySelector(`[data-max][id='${kind === "deck" ? "deck" : "voice-file"}']`).dataset.max)) {
      throw new Error(`the ${kind === "deck" ? "deck" : "recording"} ${file.name} is larger than the limit`);
    }
    say(`Uploading ${file.name}…`, "busy");
    const url = form.dataset.upload.replace("KIND", kind) + "?name=" + encodeURIComponent(file.name);
    const response = await fetch(url, {
      method: "POST",
      headers: { "Content-Type": "application/octet-stream", Accept: "application/json" },
      body: file,
    });
    if (!response.ok) throw new Error(await detail(response));
    return (await response.json()).url;
  }

  function settings() {
    const conf = {};
    form.querySelectorAll(".setting").forEach((input) => {
      const type = input.dataset.type;
      if (type === "boolean") conf[input.dataset.name] = input.checked;
      else if (type === "integer" || type === "number") conf[input.dataset.name] = Number(input.value);
      else conf[input.dataset.name] = input.value;
    });
    return conf;
  }

  async function begin() {
    const deck = document.getElementById("deck").files[0];
    const chosen = form.querySelector("input[name=voice]:checked");
    const recording = document.getElementById("voice-file").files[0];
    if (!deck) throw new Error("choose a deck (.pptx) first");
    if (!chosen || (!chosen.value && !recording)) throw new Error("choose a voice, or a recording to upload");
    const deckUrl = await upload("deck", deck);
    const voiceUrl = chosen.value || (await upload("voice", recording));
    say("Starting the run…", "busy");
    const started = await fetch(form.dataset.runs, {
      method: "POST",
      headers: { "Content-Type": "application/json", Accept: "application/json" },
      body: JSON.stringify({
        logical_date: null,
        conf: { deck_url: deckUrl, voice_url: voiceUrl, ...settings() },
        note: "Started from the deck2video page's New video.",
      }),
    });
    if (!started.ok) throw new Error("Airflow refused (" + started.status + "): " + (await detail(started)));
    const run = await started.json();
    await fetch(form.dataset.remember, {
      method: "PUT",
      headers: { "Content-Type": "application/json", Accept: "application/json" },
      body: JSON.stringify({ voice_url: voiceUrl }),
    }).catch(() => {}); // remembering is a courtesy: the run has started either way
    say("Started as run " + run.dag_run_id + ". Opening the list…", "ok");
    window.location.assign(form.dataset.list);
  }

  document.getElementById("voice-file").addEventListener("change", () => {
    document.getElementById("voice-upload-choice").checked = true;
  });

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    start.disabled = true;
    try {
      await begin();
    } catch (error) {
      say("Could not start the video: " + error.message, "bad");
      start.disabled = false;
    }
  });
})();
