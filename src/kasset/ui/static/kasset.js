// kasset UI: small enhancements over server-rendered pages. Every page works without
// this file; with it, filters are instant, the lineage pans and zooms, runs update live
// (server-sent events) and step logs stream in.
"use strict";

(function () {
  const $ = (sel, root) => (root || document).querySelector(sel);
  const $$ = (sel, root) => Array.from((root || document).querySelectorAll(sel));
  const base = document.body.dataset.base || "";

  // Forms: one click, one launch.
  document.addEventListener("submit", (event) => {
    const button = event.target.querySelector("button:not([type=button])");
    if (button) setTimeout(() => { button.disabled = true; }, 0);
  });
  $$("select[data-autosubmit]").forEach((s) => s.addEventListener("change", () => s.form.submit()));

  // `kasset dev` prints /login?token=...: submit it for the user.
  const login = $("#login-form[data-auto]");
  if (login) login.submit();

  // "/" focuses the page's filter or find box.
  document.addEventListener("keydown", (event) => {
    if (event.key !== "/" || /INPUT|SELECT|TEXTAREA/.test(document.activeElement.tagName)) return;
    const box = $("#asset-q") || $("#find-node") || $("#select-input");
    if (box) { event.preventDefault(); box.focus(); }
  });

  assetFilters();
  lineage();
  partitionPicker();
  runPage();
  themeToggle();
  liveTimes();

  // The header's theme button cycles auto -> light -> dark (static/theme.js applies it).
  function themeToggle() {
    const button = $("#theme-toggle");
    if (!button || !window.kassetTheme) return;
    const order = ["auto", "light", "dark"];
    const show = () => {
      const picked = window.kassetTheme.choice();
      button.textContent = `Theme: ${picked}`;
      button.setAttribute("aria-label", `Colour theme: ${picked} (click to change)`);
    };
    button.hidden = false;
    button.addEventListener("click", () => {
      const next = order[(order.indexOf(window.kassetTheme.choice()) + 1) % order.length];
      window.kassetTheme.set(next);
      show();
    });
    show();
  }

  // Times are rendered by the server as "5 min ago" with the UTC time as a title; here
  // the title becomes the viewer's local time (with its zone) and the relative text stays
  // current (re-rendered every 10 s, also in fragments the run page streams in).
  function liveTimes() {
    const zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
    const exact = new Intl.DateTimeFormat(undefined, {
      year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit",
      second: "2-digit", timeZoneName: "short",
    });
    // the same text as the server's views.duration_text: 4.2s, 12s, 3m05s, 2h04m
    const duration = (a) => {
      if (a < 10) return `${a.toFixed(1)}s`;
      if (a < 60) return `${Math.round(a)}s`;
      const minutes = Math.floor(a / 60);
      const pad = (n) => String(n).padStart(2, "0");
      if (minutes < 60) return `${minutes}m${pad(Math.floor(a) % 60)}s`;
      return `${Math.floor(minutes / 60)}h${pad(minutes % 60)}m`;
    };
    const ago = (seconds) => {
      if (seconds < 0) return `in ${duration(-seconds)}`;
      return seconds < 5 ? "just now" : `${duration(seconds)} ago`;
    };
    const render = () => {
      const now = Date.now();
      $$("time[datetime]").forEach((el) => {
        const when = Date.parse(el.getAttribute("datetime"));
        if (Number.isNaN(when)) return;
        el.title = `${exact.format(new Date(when))} (${zone})`;
        el.textContent = ago((now - when) / 1000);
      });
    };
    render();
    setInterval(render, 10000);
    document.addEventListener("kasset:fragment", render);
  }

  // The catalog is filtered and paged on the server; as you type, the matching page is
  // fetched and swapped in (the latest request wins).
  function assetFilters() {
    const form = $("#asset-filters");
    if (!form || !$("#asset-results")) return;
    let controller = null, timer = null;
    const load = async (params) => {
      if (controller) controller.abort();
      controller = new AbortController();
      const query = params.toString();
      try {
        const response = await fetch(query ? `?${query}` : location.pathname, { signal: controller.signal, credentials: "same-origin" });
        if (!response.ok) return;
        const doc = new DOMParser().parseFromString(await response.text(), "text/html");
        const fresh = doc.querySelector("#asset-results");
        if (!fresh) return;
        $("#asset-results").replaceWith(fresh);
        $("#asset-count").textContent = fresh.dataset.count;
        history.replaceState(null, "", query ? `?${query}` : location.pathname);
      } catch (err) {
        if (err.name !== "AbortError") throw err;
      }
    };
    const filters = () => {
      const params = new URLSearchParams();
      for (const [k, v] of new FormData(form).entries()) if (v) params.set(k, v.toString());
      return params;
    };
    const apply = () => {
      const health = form.elements.namedItem("health").value;
      $$("[data-health-chip]").forEach((c) => c.classList.toggle("on", c.dataset.healthChip === health));
      clearTimeout(timer);
      timer = setTimeout(() => load(filters()), 120);
    };
    form.addEventListener("input", apply);
    form.addEventListener("submit", (e) => { e.preventDefault(); apply(); });
    $$("[data-health-chip]").forEach((chip) => chip.addEventListener("click", (e) => {
      e.preventDefault();
      const select = form.elements.namedItem("health");
      select.value = select.value === chip.dataset.healthChip ? "" : chip.dataset.healthChip;
      apply();
    }));
    document.addEventListener("click", (e) => {
      const link = e.target.closest("#asset-pager a[data-page]");
      if (!link) return;
      e.preventDefault();
      const params = filters();
      params.set("page", link.dataset.page);
      load(params).then(() => window.scrollTo(0, 0));
    });
  }

  function lineage() {
    const view = $("#lineage-view");
    const svg = view && $("svg", view);
    if (!svg) return;
    view.classList.add("js");
    const full = svg.viewBox.baseVal;
    const world = { w: full.width, h: full.height };
    let box = { x: 0, y: 0, w: world.w, h: world.h };
    const show = () => svg.setAttribute("viewBox", `${box.x} ${box.y} ${box.w} ${box.h}`);
    const aspectOf = () => {
      const rect = view.getBoundingClientRect();
      return { rect, aspect: rect.width / Math.max(rect.height, 1) };
    };
    const fit = () => {
      const { rect, aspect } = aspectOf();
      let w = world.w, h = world.h;
      if (w / h < aspect) w = h * aspect; else h = w / aspect;
      const least = rect.width / 1.5;  // never magnify a small graph more than 1.5x
      if (w < least) { w = least; h = w / aspect; }
      box = { x: (world.w - w) / 2, y: (world.h - h) / 2, w, h };
      show();
    };
    const zoom = (factor, cx, cy) => {
      const rect = svg.getBoundingClientRect();
      const px = cx === undefined ? 0.5 : (cx - rect.left) / rect.width;
      const py = cy === undefined ? 0.5 : (cy - rect.top) / rect.height;
      const w = Math.min(Math.max(box.w * factor, 80), Math.max(world.w, world.h) * 4);
      const h = w * (box.h / box.w);
      box = { x: box.x + (box.w - w) * px, y: box.y + (box.h - h) * py, w, h };
      show();
    };
    fit();
    const { rect } = aspectOf();
    if (rect.width / box.w < 0.45) {
      // Too big to read when fitted: open at a readable scale on the roots (left).
      const w = rect.width / 0.8, h = rect.height / 0.8;
      box = { x: 0, y: Math.max(0, Math.min(world.h - h, (world.h - h) / 2)), w, h };
      // An opened group is what the user asked to see: start at its frame's first column.
      const frame = $(".frame rect", svg);
      if (frame) {
        const f = frame.getBBox();
        box = { x: Math.max(0, f.x - 40), y: Math.max(0, f.y - 20), w, h };
      }
      show();
    }
    view.addEventListener("wheel", (e) => { e.preventDefault(); zoom(e.deltaY > 0 ? 1.15 : 1 / 1.15, e.clientX, e.clientY); }, { passive: false });
    let drag = null;
    view.addEventListener("pointerdown", (e) => {
      if (e.button !== 0) return;
      drag = { x: e.clientX, y: e.clientY, box: { ...box }, moved: false };
    });
    window.addEventListener("pointermove", (e) => {
      if (!drag) return;
      const rect = svg.getBoundingClientRect();
      const dx = (e.clientX - drag.x) * (box.w / rect.width), dy = (e.clientY - drag.y) * (box.h / rect.height);
      if (Math.abs(e.clientX - drag.x) + Math.abs(e.clientY - drag.y) > 4) { drag.moved = true; view.classList.add("dragging"); }
      box = { ...box, x: drag.box.x - dx, y: drag.box.y - dy };
      show();
    });
    window.addEventListener("pointerup", () => { setTimeout(() => { drag = null; }, 0); view.classList.remove("dragging"); });
    // A drag that ends on a node is a pan, not a click.
    svg.addEventListener("click", (e) => { if (drag && drag.moved) e.preventDefault(); }, true);
    $$("[data-zoom]").forEach((b) => b.addEventListener("click", () => {
      const how = b.dataset.zoom;
      if (how === "fit") fit(); else zoom(how === "in" ? 1 / 1.3 : 1.3);
    }));
    // Hovering a node lights its edges.
    const edges = $$(".edge", svg);
    svg.addEventListener("mouseover", (e) => {
      const node = e.target.closest(".node");
      edges.forEach((p) => p.classList.toggle("lit", !!node && (p.dataset.from === node.dataset.key || p.dataset.to === node.dataset.key)));
    });
    findInGraph(svg, view, (node) => {
      // Centre a node at a readable scale (about 1:1).
      const b = node.querySelector(".box").getBBox();
      const { rect } = aspectOf();
      const w = Math.min(box.w, rect.width), h = w * (box.h / box.w);
      box = { x: b.x + b.width / 2 - w / 2, y: b.y + b.height / 2 - h / 2, w, h };
      show();
    });
  }

  // The find box searches every asset of the view, also those inside a closed group box
  // (the page's #lineage-index): matches light up (or their box does), and each listed
  // match links to its focus view, `+key+` (its parents, itself, its children).
  function findInGraph(svg, view, centre) {
    const find = $("#find-node"), list = $("#find-results"), data = $("#lineage-index");
    if (!find || !list) return;
    const index = data ? JSON.parse(data.textContent) : [];
    const nodes = new Map($$(".node", svg).map((n) => [n.dataset.key, n]));
    const focus = (key) => `${location.pathname}?${new URLSearchParams({ graph: view.dataset.graph || "", select: `+${key}+` })}`;
    const MAX = 20;
    let hits = [], active = 0;
    const draw = () => {
      list.replaceChildren(...hits.map(([key, boxId], i) => {
        const li = document.createElement("li");
        li.classList.toggle("on", i === active);
        const a = document.createElement("a");
        a.href = focus(key);
        a.textContent = key;
        a.title = `Focus on ${key}: its parents and children`;
        li.append(a);
        if (boxId) {
          const where = document.createElement("span");
          where.className = "in";
          where.textContent = `in ${boxId.replace(/^[a-z]+:/, "")}`;
          li.append(where);
        }
        return li;
      }));
      list.hidden = !hits.length;
    };
    find.addEventListener("input", () => {
      const q = find.value.trim().toLowerCase();
      nodes.forEach((n) => n.classList.remove("found"));
      const matches = q ? index.filter(([key]) => key.toLowerCase().includes(q)) : [];
      let first = null;
      for (const [key, boxId] of matches) {
        const node = nodes.get(boxId || key);
        if (!node) continue;
        node.classList.add("found");
        if (!first) first = node;
      }
      svg.classList.toggle("dimmed", !!q);
      if (first) centre(first);
      hits = matches.slice(0, MAX);
      active = 0;
      draw();
    });
    find.addEventListener("keydown", (e) => {
      if (!hits.length) return;
      if (e.key === "ArrowDown" || e.key === "ArrowUp") {
        e.preventDefault();
        active = (active + (e.key === "ArrowDown" ? 1 : hits.length - 1)) % hits.length;
        draw();
      } else if (e.key === "Enter") {
        e.preventDefault();
        location.href = focus(hits[active][0]);
      } else if (e.key === "Escape") {
        list.hidden = true;
      }
    });
    document.addEventListener("click", (e) => { if (!e.target.closest(".find-wrap")) list.hidden = true; });
  }

  function partitionPicker() {
    const grid = $("#partition-grid");
    const input = $("#partition-input");
    if (!grid || !input) return;
    let anchor = null;
    grid.addEventListener("click", (e) => {
      const cell = e.target.closest(".cell");
      if (!cell) return;
      const cells = $$(".cell", grid);
      cells.forEach((c) => c.classList.remove("picked"));
      if (e.shiftKey && anchor) {
        let [i, j] = [cells.indexOf(anchor), cells.indexOf(cell)];
        if (i > j) [i, j] = [j, i];
        cells.slice(i, j + 1).forEach((c) => c.classList.add("picked"));
        input.value = i === j ? cells[i].dataset.key : `${cells[i].dataset.key}..${cells[j].dataset.key}`;
      } else {
        anchor = cell;
        cell.classList.add("picked");
        input.value = cell.dataset.key;
      }
    });
  }

  function runPage() {
    const live = $("#run-live");
    if (!live) return;
    const logs = logPanel();
    live.addEventListener("click", (e) => {
      const link = e.target.closest("a[data-log]");
      if (!link) return;
      e.preventDefault();
      logs.open(link);
    });
    if (live.dataset.finished || !window.EventSource) return;
    const source = new EventSource(live.dataset.sse);
    source.addEventListener("fragment", (e) => {
      live.innerHTML = e.data;
      logs.mark();
      document.dispatchEvent(new Event("kasset:fragment"));
    });
    source.addEventListener("status", (e) => {
      const run = JSON.parse(e.data);
      const phase = (run.status && run.status.phase) || "Pending";
      document.title = `${phase} · ${run.metadata.name} · kasset`;
      const finished = ["Succeeded", "Failed", "Canceled"].includes(phase);
      const cancel = $("#cancel-form");
      if (cancel && finished) cancel.hidden = true;
    });
    source.addEventListener("end", () => {
      source.close();
      // Show the actions of a finished run (Re-run failed) without losing the log view.
      fetch(location.href, { credentials: "same-origin" }).then((r) => r.text()).then((html) => {
        const doc = new DOMParser().parseFromString(html, "text/html");
        const actions = doc.querySelector(".actions");
        if (actions) $(".actions").replaceWith(actions);
      }).catch(() => {});
    });
  }

  function logPanel() {
    const panel = $("#logs"), out = $("#log-output"), title = $("#log-step"), badge = $("#log-live");
    let controller = null, current = null;
    const MAX = 1 << 20;  // keep the last MiB of output
    return {
      mark() {
        $$("#steps tr").forEach((tr) => tr.classList.toggle("selected", tr.dataset.step === current));
      },
      async open(link) {
        if (controller) controller.abort();
        controller = new AbortController();
        current = link.dataset.log;
        this.mark();
        panel.hidden = false;
        title.textContent = `${current} · attempt ${link.dataset.attempts}`;
        out.textContent = "";
        const follow = link.dataset.running === "1";
        badge.hidden = !follow;
        const url = `${link.getAttribute("href")}?follow=${follow ? 1 : 0}`;
        try {
          const response = await fetch(url, { signal: controller.signal, credentials: "same-origin" });
          if (!response.ok) { out.textContent = `(${response.status}) ${await response.text()}`; return; }
          const reader = response.body.getReader();
          const decoder = new TextDecoder();
          for (;;) {
            const { done, value } = await reader.read();
            if (done) break;
            const stick = out.scrollTop + out.clientHeight >= out.scrollHeight - 8;
            let text = out.textContent + decoder.decode(value, { stream: true });
            if (text.length > MAX) text = text.slice(-MAX);
            out.textContent = text;
            if (stick) out.scrollTop = out.scrollHeight;
          }
          if (!out.textContent) out.textContent = "(no output)";
        } catch (err) {
          if (err.name !== "AbortError") out.textContent += `\n(log stream ended: ${err.message})`;
        } finally {
          badge.hidden = true;
        }
      },
    };
  }
})();
