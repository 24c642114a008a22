// Live updates for the gosupervisor web UI. Everything works without this
// script; it only keeps the status table and the tail current.
"use strict";
(function () {
  const POLL_MS = 2000;
  const parser = new DOMParser();
  let busy = false;

  // Resolve against origin and path only: a page opened as
  // http://user:pw@host/ must not hand its credentials to fetch, which
  // refuses URLs carrying them (the browser resends Basic auth itself).
  const here = (rel) => new URL(rel, location.origin + location.pathname).href;

  async function get(rel) {
    return fetch(here(rel), { cache: "no-store", credentials: "same-origin" });
  }

  async function fetchDoc(rel) {
    const resp = await get(rel);
    if (!resp.ok) throw new Error(resp.status + " " + resp.statusText);
    return parser.parseFromString(await resp.text(), "text/html");
  }

  // Swap the parts of the page that a fresh copy of it changes.
  function swap(doc, ids) {
    for (const id of ids) {
      const now = document.getElementById(id), next = doc.getElementById(id);
      if (now && next && now.innerHTML !== next.innerHTML) now.innerHTML = next.innerHTML;
    }
  }

  function every(ms, fn) {
    const tick = async () => {
      if (!document.hidden && !busy) {
        try { await fn(); } catch (e) { /* server away: try again later */ }
      }
      setTimeout(tick, ms);
    };
    setTimeout(tick, ms);
  }

  // A submitted action waits for the process: show it and stop polling.
  document.addEventListener("submit", (ev) => {
    busy = true;
    const b = ev.submitter;
    if (b && b.tagName === "BUTTON") {
      setTimeout(() => { b.disabled = true; b.textContent = b.textContent + "\u2026"; }, 0);
    }
  });
  // Coming back through the history cache: polling may resume.
  window.addEventListener("pageshow", () => { busy = false; });

  // The rows' identity: names and states in order. While it holds, only
  // descriptions (uptimes) change, and they are updated in place so that
  // the buttons under the pointer are never replaced.
  const shape = (root) => Array.from(root.querySelectorAll("tr.proc"),
    (tr) => tr.dataset.name + "\u0000" + tr.dataset.state).join("\u0001");

  function update(doc) {
    const now = document.getElementById("processes"), next = doc.getElementById("processes");
    if (!now || !next) return;
    if (shape(now) !== shape(next)) { swap(doc, ["processes", "summary"]); return; }
    const fresh = next.querySelectorAll("tr.proc td.desc");
    now.querySelectorAll("tr.proc td.desc").forEach((td, i) => {
      if (td.textContent !== fresh[i].textContent) td.textContent = fresh[i].textContent;
    });
  }

  // The filter box (shown only with this script) hides rows whose name
  // lacks the typed text; it is applied again after every live update.
  function applyFilter() {
    const box = document.getElementById("filter");
    const want = box ? box.value.trim().toLowerCase() : "";
    document.querySelectorAll("#processes tr.proc").forEach((tr) => {
      tr.hidden = want !== "" && !tr.dataset.name.toLowerCase().includes(want);
    });
  }

  if (document.body.classList.contains("page-status")) {
    const box = document.getElementById("filter");
    if (box) {
      box.hidden = false;
      box.value = sessionStorage.getItem("filter") || "";
      const onChange = () => { sessionStorage.setItem("filter", box.value); applyFilter(); };
      for (const ev of ["input", "change", "search"]) box.addEventListener(ev, onChange);
      applyFilter();
    }
    every(POLL_MS, async () => { update(await fetchDoc("index.html")); applyFilter(); });
  }

  // Follow: poll for what the log gained since the page was rendered
  // and append it, keeping the view pinned to the bottom.
  if (document.body.classList.contains("page-tail")) {
    const pre = document.getElementById("tailbody");
    const follow = document.getElementById("follow");
    const src = pre && pre.dataset.follow;
    if (pre && follow && src) {
      const keep = 2 * 1024 * 1024; // characters kept on the page
      let offset = pre.dataset.offset;
      const bottom = () => { pre.scrollTop = pre.scrollHeight; };
      follow.checked = sessionStorage.getItem("follow") === "1";
      if (follow.checked) bottom();
      follow.addEventListener("change", () => {
        sessionStorage.setItem("follow", follow.checked ? "1" : "0");
        if (follow.checked) bottom();
      });
      every(1000, async () => {
        if (!follow.checked) return;
        const resp = await get(src + "&offset=" + encodeURIComponent(offset));
        if (!resp.ok) return;
        const text = await resp.text();
        offset = resp.headers.get("X-Log-Offset") || offset;
        if (resp.headers.get("X-Log-Reset")) pre.textContent = text;
        else if (text) pre.append(text);
        else return;
        if (pre.textContent.length > keep) pre.textContent = pre.textContent.slice(-keep);
        bottom();
      });
    }
  }
})();
