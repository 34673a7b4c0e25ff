// Links into Airflow's own pages (target="_top") open in the top window, as a person expects.
//
// Airflow's UI shows these pages in an iframe sandboxed without top navigation ("allow-scripts
// allow-same-origin allow-forms allow-downloads"), where a target="_top" link does nothing. The
// frame is on Airflow's own origin, so the link goes to Airflow's router in the top window: the
// top's history gets the new address and the router is told, as the Back button tells it.
// Outside the frame (the page opened on its own), links are left to the browser.
"use strict";

(function () {
  function airflowWindow() {
    if (window.top === window) return null;
    try {
      return window.top.location.origin === window.location.origin ? window.top : null;
    } catch (error) {
      return null; // another origin: not Airflow's UI
    }
  }

  function openInTop(top, url) {
    const state = {
      usr: null,
      key: Math.random().toString(36).slice(2, 10),
      idx: ((top.history.state && top.history.state.idx) || 0) + 1,
    };
    top.history.pushState(state, "", url.pathname + url.search + url.hash);
    top.dispatchEvent(new top.PopStateEvent("popstate", { state: state }));
  }

  document.addEventListener("click", (event) => {
    const link = event.target.closest && event.target.closest("a[target='_top']");
    if (!link || event.defaultPrevented || event.button !== 0) return;
    if (event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
    const top = airflowWindow();
    if (!top) return;
    const url = new URL(link.href, window.location.href);
    if (url.origin !== top.location.origin) return;
    event.preventDefault();
    openInTop(top, url);
  });
})();
