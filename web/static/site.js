/* peergraph pages: enhancements only. Every page works without this file:
 * autocomplete, the per-year chart (Chart.js 3 from libjs-chart.js), the
 * research graph (d3 v3 from libjs-d3) and the summary/recommendation
 * panels are added on top of server-rendered HTML. */
(function () {
  "use strict";
  document.documentElement.className += " js";

  function el(tag, attrs, text) {
    var e = document.createElement(tag);
    for (var k in attrs || {}) e.setAttribute(k, attrs[k]);
    if (text != null) e.textContent = text;
    return e;
  }

  /* Loads a script from /static once; calls back when it is there (or not). */
  function loadScript(src, done) {
    var s = el("script", { src: src });
    s.onload = function () { done(true); };
    s.onerror = function () { done(false); };
    document.head.appendChild(s);
  }

  /* ---- autocomplete over authors, works and topics ---- */
  function autocomplete(input) {
    var list = document.getElementById(input.getAttribute("aria-controls"));
    if (!list) return;
    var timer = null, seq = 0, items = [], active = -1;
    function close() {
      list.hidden = true; list.innerHTML = ""; items = []; active = -1;
      input.setAttribute("aria-expanded", "false");
      input.removeAttribute("aria-activedescendant");
    }
    function select(i) {
      if (active >= 0 && items[active]) items[active].setAttribute("aria-selected", "false");
      active = i;
      if (i >= 0 && items[i]) {
        items[i].setAttribute("aria-selected", "true");
        input.setAttribute("aria-activedescendant", items[i].id);
        items[i].scrollIntoView({ block: "nearest" });
      }
    }
    function show(entries) {
      list.innerHTML = ""; items = []; active = -1;
      entries.forEach(function (e, i) {
        var li = el("li", { role: "option", id: list.id + "-" + i, "aria-selected": "false" });
        li.appendChild(el("span", { "class": "kind" }, e.kind));
        li.appendChild(document.createTextNode(e.name));
        if (e.hint) li.appendChild(el("span", { "class": "muted" }, " · " + e.hint));
        li.dataset.href = e.href;
        li.addEventListener("mousedown", function (ev) { ev.preventDefault(); location.href = e.href; });
        list.appendChild(li); items.push(li);
      });
      list.hidden = entries.length === 0;
      input.setAttribute("aria-expanded", entries.length ? "true" : "false");
    }
    function query() {
      var q = input.value.trim(), my = ++seq;
      if (q.length < 2) { close(); return; }
      var kinds = [["authors", "author", "/authors/"], ["works", "work", "/works/"], ["topics", "topic", "/topics/"]];
      Promise.all(kinds.map(function (k) {
        return fetch("/api/v1/autocomplete/" + k[0] + "?q=" + encodeURIComponent(q), { headers: { Accept: "application/json" } })
          .then(function (r) { return r.ok ? r.json() : { results: [] }; })
          .then(function (j) {
            return (Array.isArray(j) ? j : j.results || []).slice(0, 5).map(function (x) {
              var id = String(x.id || "").split("/").pop();
              return { kind: k[1], name: x.display_name || id, hint: x.hint || "", href: k[2] + encodeURIComponent(id) };
            });
          })
          .catch(function () { return []; });
      })).then(function (lists) {
        if (my !== seq) return; /* a newer keystroke won */
        show([].concat.apply([], lists));
      });
    }
    input.addEventListener("input", function () { clearTimeout(timer); timer = setTimeout(query, 150); });
    input.addEventListener("keydown", function (ev) {
      if (list.hidden) return;
      if (ev.key === "ArrowDown") { ev.preventDefault(); select(Math.min(active + 1, items.length - 1)); }
      else if (ev.key === "ArrowUp") { ev.preventDefault(); select(Math.max(active - 1, -1)); }
      else if (ev.key === "Escape") { close(); }
      else if (ev.key === "Enter" && active >= 0) { ev.preventDefault(); location.href = items[active].dataset.href; }
    });
    input.addEventListener("blur", function () { setTimeout(close, 100); });
  }
  Array.prototype.forEach.call(document.querySelectorAll("input[data-autocomplete]"), autocomplete);

  function jsonData(id) {
    var s = document.getElementById(id);
    if (!s) return null;
    try { return JSON.parse(s.textContent); } catch (e) { return null; }
  }

  /* ---- works and citations per year ---- */
  var chartData = jsonData("chart-data"), canvas = document.getElementById("year-chart");
  if (chartData && canvas) {
    loadScript("/static/vendor/chart.js/chart.min.js", function (ok) {
      if (!ok || !window.Chart) return; /* the table stays the figure */
      canvas.dataset.ready = "1";
      new window.Chart(canvas, {
        data: {
          labels: chartData.years,
          datasets: [
            { type: "bar", label: "Works", data: chartData.works, backgroundColor: "#7a2e8e", yAxisID: "y" },
            { type: "line", label: "Citations", data: chartData.citations, borderColor: "#0a58a8", backgroundColor: "#0a58a8", yAxisID: "y1", tension: 0.2 }
          ]
        },
        options: {
          responsive: true, maintainAspectRatio: false, animation: false,
          scales: {
            y: { beginAtZero: true, position: "left", title: { display: true, text: "works" }, ticks: { precision: 0 } },
            y1: { beginAtZero: true, position: "right", grid: { drawOnChartArea: false }, title: { display: true, text: "citations" }, ticks: { precision: 0 } }
          }
        }
      });
    });
  }

  /* ---- research graph (d3 v3: d3.layout.force) ---- */
  var graphData = jsonData("graph-data"), graphBox = document.getElementById("graph");
  if (graphData && graphBox && graphData.nodes && graphData.nodes.length) {
    loadScript("/static/vendor/d3/d3.min.js", function (ok) {
      if (!ok || !window.d3 || !window.d3.layout) return; /* the list stays */
      drawGraph(window.d3, graphData, graphBox);
      var list = document.getElementById("graph-list");
      if (list) list.className += " enhanced";
    });
  }

  function drawGraph(d3, g, box) {
    var W = 900, H = 520;
    var colors = { author: "#7a2e8e", work: "#0a58a8", topic: "#1d7a46", institution: "#a35200" };
    var index = {};
    g.nodes.forEach(function (n, i) { index[n.id] = i; });
    var links = g.edges.filter(function (e) { return e.source in index && e.target in index; })
      .map(function (e) { return { source: index[e.source], target: index[e.target], type: e.type }; });
    var force = d3.layout.force().size([W, H]).nodes(g.nodes).links(links)
      .charge(-520).linkDistance(function (l) { return l.type === "authorship" ? 90 : 120; }).gravity(0.06);
    /* lay out once, then draw still: nothing moves under the pointer */
    force.start();
    for (var i = 0; i < 300; i++) force.tick();
    force.stop();
    g.nodes.forEach(function (n) {
      n.x = Math.max(30, Math.min(W - 30, n.x)); n.y = Math.max(20, Math.min(H - 20, n.y));
    });
    var svg = d3.select(box).append("svg").attr("viewBox", "0 0 " + W + " " + H)
      .attr("role", "group").attr("aria-label", "Research graph: " + g.nodes.length + " nodes");
    svg.append("g").selectAll("line").data(links).enter().append("line").attr("class", "link")
      .attr("x1", function (l) { return l.source.x; }).attr("y1", function (l) { return l.source.y; })
      .attr("x2", function (l) { return l.target.x; }).attr("y2", function (l) { return l.target.y; });
    var node = svg.append("g").selectAll("a").data(g.nodes).enter().append("a")
      .attr("class", function (n) { return "node node-" + n.type; })
      .attr("data-id", function (n) { return n.id; })
      .attr("transform", function (n) { return "translate(" + n.x + "," + n.y + ")"; });
    node.filter(function (n) { return !!n.href; })
      .attr("aria-label", function (n) { return n.type + ": " + n.label; })
      .each(function (n) { this.setAttribute("href", n.href); }); /* SVG 2 href (not d3's xlink:href, whose local name would shadow it): a focusable link */
    node.filter(function (n) { return !n.href; }).attr("tabindex", "-1");
    node.append("title").text(function (n) { return n.type + ": " + n.label; });
    node.append("circle").attr("r", function (n) { return n.self ? 14 : n.type === "work" ? 7 : 9; })
      .attr("fill", function (n) { return colors[n.type] || "#555"; });
    node.filter(function (n) { return n.type !== "work" || n.self; }).append("text")
      .attr("x", 12).attr("y", 4)
      .text(function (n) { return n.label.length > 28 ? n.label.slice(0, 27) + "…" : n.label; });
    var legend = el("p", { "class": "graph-legend" });
    ["author", "work", "topic", "institution"].forEach(function (t) {
      var dot = el("span"); dot.style.background = colors[t];
      legend.appendChild(dot); legend.appendChild(document.createTextNode(t));
    });
    box.appendChild(legend);
  }

  /* ---- summary (streamed) and recommendations ---- */
  function unavailable(p, msg, detail) {
    p.innerHTML = "";
    if (p.className.indexOf("unavailable") < 0) p.className += " unavailable";
    p.dataset.state = "unavailable";
    p.appendChild(el("p", null, msg));
    if (detail) p.appendChild(el("p", { "class": "muted small" }, detail));
  }

  /* The summary streams in over EventSource (the endpoint's text/event-stream:
   * "token" events, then "done" with the whole answer, or "error"). The page
   * says whether a model is loaded (data-inference); without one the server's
   * text stays. */
  function summaryPanel() {
    var p = document.getElementById("summary-panel");
    if (!p || p.dataset.inference !== "on") return;
    if (!window.EventSource) return; /* the server-rendered link stays */
    p.innerHTML = "";
    var text = el("p", { id: "summary-text" });
    var note = el("p", { "class": "muted small", id: "summary-note" }, "Generating…");
    p.appendChild(text); p.appendChild(note);
    p.dataset.state = "loading"; p.dataset.tokens = "0";
    var es = new EventSource(p.dataset.src), ended = false;
    es.addEventListener("token", function (e) {
      var d = JSON.parse(e.data);
      text.textContent += d.text;
      p.dataset.state = "streaming";
      p.dataset.tokens = String(+p.dataset.tokens + 1);
    });
    es.addEventListener("done", function (e) {
      ended = true; es.close();
      var d = JSON.parse(e.data);
      text.textContent = d.summary || "";
      note.textContent = "Generated by " + (d.model || "the server's model") + " (" +
        (d.adapter ? "with this researcher's adapter" : (d.adapter_note || "base model")) + ")" +
        (d.cached ? ", from the cache." : ".");
      p.dataset.state = "ok";
    });
    /* our "error" event (generation failed) carries data; the browser's own
     * (connection refused, 503 before the stream) does not */
    es.addEventListener("error", function (e) {
      if (ended) return;
      ended = true; es.close();
      var msg = "";
      try { msg = e.data ? (JSON.parse(e.data).finish_reason || "") : ""; } catch (x) { msg = ""; }
      unavailable(p, "Not available: the summary could not be generated right now" +
        (msg ? " (" + msg + ")." : ". The inference engine may be busy; reload to try again."));
    });
  }

  function signalText(r) {
    var s = r.signals || {}, parts = [];
    if (s.coauthors && s.coauthors.length) parts.push("co-authors: " + s.coauthors.join(", "));
    if (s.via_coauthors && s.via_coauthors.length) parts.push("worked with your co-authors " + s.via_coauthors.join(", "));
    if (s.cited_by_your_works) parts.push("cited by " + s.cited_by_your_works + " of your works");
    if (s.shared_topics && s.shared_topics.length) parts.push("topics: " + s.shared_topics.slice(0, 3).join(", "));
    if (s.cited_by_count) parts.push(s.cited_by_count + (s.cited_by_count === 1 ? " citation" : " citations"));
    if (r.adapter_gain != null) parts.push("adapter gain " + r.adapter_gain.toFixed(3));
    return parts.join(" · ");
  }

  function recsList(title, j) {
    var box = el("div", { "class": "recs-" + j.kind });
    box.appendChild(el("h3", null, title));
    var ul = el("ul", { "class": "plain recs" });
    (j.results || []).forEach(function (r) {
      var id = String(r.id || "").split("/").pop();
      var li = el("li", { "data-id": id, "data-score": String(r.score) });
      li.appendChild(el("a", { href: (id.charAt(0) === "A" ? "/authors/" : "/works/") + encodeURIComponent(id) },
        r.display_name || r.title || id));
      if (r.publication_year) li.appendChild(el("span", { "class": "muted" }, " (" + r.publication_year + ")"));
      li.appendChild(el("div", { "class": "muted small signals" }, signalText(r)));
      ul.appendChild(li);
    });
    if (ul.children.length) box.appendChild(ul);
    else box.appendChild(el("p", { "class": "muted" }, "Nothing found in the graph yet."));
    return box;
  }

  function getJSON(url) {
    return fetch(url, { headers: { Accept: "application/json" } }).then(function (r) {
      return r.json().catch(function () { return {}; }).then(function (j) { return { status: r.status, body: j }; });
    });
  }

  function recsPanel() {
    var p = document.getElementById("recs-panel");
    if (!p) return;
    p.textContent = "Loading…";
    Promise.all([getJSON(p.dataset.src), getJSON(p.dataset.srcPeople)]).then(function (res) {
      var bad = res.filter(function (x) { return x.status !== 200; })[0];
      if (bad) {
        unavailable(p, "Not available (" + (bad.body.message || "HTTP " + bad.status) + ").");
        return;
      }
      p.innerHTML = "";
      p.appendChild(recsList("Papers", res[0].body));
      p.appendChild(recsList("People", res[1].body));
      var j = res[0].body;
      p.appendChild(el("p", { "class": "muted small", id: "recs-note" }, j.scored_by === "graph+adapter"
        ? "Ranked by graph signals and this researcher's adapter (" + j.model + ")."
        : "Ranked by graph signals only: " + j.scoring_note + "."));
      p.dataset.state = "ok";
      p.dataset.scoredBy = j.scored_by;
    }).catch(function () {
      unavailable(p, "Not available: the server could not be reached.");
    });
  }
  summaryPanel();
  recsPanel();
})();
