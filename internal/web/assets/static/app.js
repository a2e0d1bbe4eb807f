// banger web UI: refreshes the parts of a page that change, follows a
// VM's console, and asks before deleting. Pages work without it, but do
// not update by themselves.
"use strict";

// Elements with data-refresh are re-fetched from that URL every second
// and replaced when the answer differs.
function refresh(el) {
  let last = el.innerHTML;
  const tick = async () => {
    if (!document.hidden) {
      try {
        const res = await fetch(el.dataset.refresh, { credentials: "same-origin", cache: "no-store" });
        if (res.status === 404 && el.id === "status") {
          // The VM was deleted elsewhere.
          location.assign("/");
          return;
        }
        if (res.ok) {
          const html = await res.text();
          if (html !== last) {
            el.innerHTML = html;
            last = el.innerHTML;
            wireConfirms(el);
          }
        }
      } catch (e) {
        // bangerd restarting: try again on the next tick.
      }
    }
    setTimeout(tick, 1000);
  };
  setTimeout(tick, 1000);
}

// Terminal escape sequences do not belong in a <pre>: OSC (hyperlinks,
// titles), CSI (colours, cursor moves), the two-byte ones (systemd's
// reverse line feed, ESC M), carriage returns, and any ESC left over from
// a sequence the guest cut short.
const ansi = /\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b\[[0-?]*[ -\/]*[@-~]|\x1b[()][A-Za-z0-9]|\x1b[@-Z\\-_78=>]|\r|\x1b/g;

function followConsole(pre) {
  const note = document.getElementById("console-note");
  const src = new EventSource(pre.dataset.src);
  const atBottom = () => pre.scrollHeight - pre.scrollTop - pre.clientHeight < 40;
  src.addEventListener("reset", () => {
    pre.textContent = "";
    note.textContent = "";
  });
  src.addEventListener("note", (ev) => {
    note.textContent = JSON.parse(ev.data);
  });
  src.addEventListener("append", (ev) => {
    const stick = atBottom();
    pre.append(JSON.parse(ev.data).replace(ansi, ""));
    note.textContent = "";
    if (stick) pre.scrollTop = pre.scrollHeight;
  });
  src.onerror = () => {
    if (src.readyState === EventSource.CLOSED) note.textContent = "console stream closed: reload the page to follow it again";
  };
}

// Forms with data-confirm ask first; every form disables its buttons once
// sent, so a double click does not send twice.
function wireConfirms(root) {
  root.querySelectorAll("form").forEach((form) => {
    if (form.dataset.wired) return;
    form.dataset.wired = "1";
    form.addEventListener("submit", (ev) => {
      if (form.dataset.confirm && !window.confirm(form.dataset.confirm)) {
        ev.preventDefault();
        return;
      }
      form.querySelectorAll("button").forEach((b) => { b.disabled = true; });
    });
  });
}

document.addEventListener("DOMContentLoaded", () => {
  document.querySelectorAll("[data-refresh]").forEach(refresh);
  const pre = document.getElementById("console");
  if (pre) followConsole(pre);
  wireConfirms(document);
});
