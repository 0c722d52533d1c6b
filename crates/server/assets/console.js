// The console's progressive enhancement (served as /assets/console.js; no inline script runs
// under the pages' Content-Security-Policy). Every page works without it: it adds the
// Overview's charts (drawn by the vendored uPlot, /assets/uplot.js) and the Calls page's live
// tail. It builds the DOM with textContent only: no value from a call is parsed as HTML.
"use strict";

(function () {
  function charts() {
    var data = document.getElementById("candor-series");
    var traffic = document.getElementById("chart-traffic");
    var latency = document.getElementById("chart-latency");
    if (!data || !traffic || !latency || typeof uPlot === "undefined") return;
    var series;
    try { series = JSON.parse(data.textContent); } catch (e) { return; }
    if (!Array.isArray(series) || series.length !== 4) return;
    var width = Math.max(240, Math.min(traffic.clientWidth || 640, 1100));
    var style = getComputedStyle(document.documentElement);
    var accent = style.getPropertyValue("--accent").trim() || "#0b57d0";
    var danger = style.getPropertyValue("--danger").trim() || "#b42318";
    var axes = [{ stroke: style.getPropertyValue("--fg").trim() }, { stroke: style.getPropertyValue("--fg").trim() }];
    new uPlot({
      title: "Calls and errors per minute", width: width, height: 220, axes: axes,
      series: [{}, { label: "calls", stroke: accent }, { label: "errors", stroke: danger }]
    }, [series[0], series[1], series[2]], traffic);
    new uPlot({
      title: "p95 latency per minute (ms)", width: width, height: 180, axes: axes,
      series: [{}, { label: "p95 ms", stroke: accent }]
    }, [series[0], series[3]], latency);
    var note = document.getElementById("charts-note");
    if (note) note.hidden = true;
  }

  function cell(text, code, href) {
    var td = document.createElement("td");
    if (code) {
      var c = document.createElement("code");
      c.textContent = text;
      if (href) {
        var a = document.createElement("a");
        a.href = href;
        c.className = "code";
        a.appendChild(c);
        td.appendChild(a);
      } else {
        td.appendChild(c);
      }
    } else {
      td.textContent = text;
    }
    return td;
  }

  function liveTail() {
    var live = document.getElementById("live");
    var body = document.getElementById("calls-body");
    var toggle = document.getElementById("live-toggle");
    var state = document.getElementById("live-state");
    if (!live || !body || !toggle) return;
    live.hidden = false;
    var url = new URL(live.dataset.tail, window.location.href);
    var docs = live.dataset.docs;
    var timer = null;
    function poll() {
      fetch(url.toString(), { credentials: "same-origin", cache: "no-store" })
        .then(function (r) { return r.ok ? r.json() : Promise.reject(r.status); })
        .then(function (page) {
          if (page.error) { state.textContent = page.error; return; }
          (page.calls || []).forEach(function (c) {
            var tr = document.createElement("tr");
            tr.appendChild(cell(c.at));
            tr.appendChild(cell(c.route));
            tr.appendChild(cell(c.method + " " + c.path, true));
            tr.appendChild(cell(String(c.status)));
            tr.appendChild(cell(c.client));
            tr.appendChild(c.diagnosis ? cell(c.diagnosis, true, docs + "/" + encodeURIComponent(c.diagnosis)) : cell(""));
            tr.appendChild(cell(c.ms));
            body.appendChild(tr);
            while (body.rows.length > 500) body.deleteRow(0);
          });
          if (page.after !== null && page.after !== undefined) url.searchParams.set("after", String(page.after));
          state.textContent = "following: " + body.rows.length + " calls shown";
        })
        .catch(function () { state.textContent = "the live tail stopped: reload the page"; stop(); });
    }
    function stop() {
      if (timer) clearInterval(timer);
      timer = null;
      toggle.textContent = "Follow live";
      toggle.setAttribute("aria-pressed", "false");
    }
    toggle.addEventListener("click", function () {
      if (timer) { stop(); state.textContent = "paused"; return; }
      poll();
      timer = setInterval(poll, 2000);
      toggle.textContent = "Pause";
      toggle.setAttribute("aria-pressed", "true");
    });
  }

  document.addEventListener("DOMContentLoaded", function () { charts(); liveTail(); });
})();
