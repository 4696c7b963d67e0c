// Hearth admin: small progressive enhancements. The dashboard works without them.
(function () {
  "use strict";
  // htmx requests carry the session's CSRF token.
  document.addEventListener("htmx:configRequest", function (e) {
    var meta = document.querySelector('meta[name="csrf-token"]');
    if (meta) { e.detail.headers["X-CSRF-Token"] = meta.content; }
  });
  // Schema editor: show only the options that apply to each field's type.
  function syncOptions(row) {
    var select = row.querySelector("select[data-field-type]");
    if (!select) { return; }
    row.querySelectorAll("[data-types]").forEach(function (el) {
      var types = el.getAttribute("data-types").split(" ");
      el.hidden = types.indexOf(select.value) < 0;
    });
  }
  function init(root) {
    root.querySelectorAll(".field-row").forEach(function (row) {
      syncOptions(row);
      var select = row.querySelector("select[data-field-type]");
      if (select && !select.dataset.bound) {
        select.dataset.bound = "1";
        select.addEventListener("change", function () { syncOptions(row); });
      }
    });
    // Column chooser and other self-submitting controls.
    root.querySelectorAll("[data-autosubmit]").forEach(function (el) {
      if (el.dataset.bound) { return; }
      el.dataset.bound = "1";
      el.addEventListener("change", function () { if (el.form) { el.form.requestSubmit(); } });
    });
    // Copy buttons (token secrets).
    root.querySelectorAll("[data-copy]").forEach(function (btn) {
      if (btn.dataset.bound) { return; }
      btn.dataset.bound = "1";
      btn.hidden = false;
      btn.addEventListener("click", function () {
        var target = document.getElementById(btn.getAttribute("data-copy"));
        if (target && navigator.clipboard) {
          navigator.clipboard.writeText(target.textContent.trim()).then(function () { btn.textContent = "Copied"; });
        }
      });
    });
  }
  // Records page: follow the collection's changes (the table's `data-events` stream) and
  // fetch the current view again when something changes: at most one fetch per 250 ms,
  // and the view is the URL, so filter, sort, page and columns stay as they are.
  var live = {
    source: null, url: null, lastId: 0, timer: null, busy: false, again: false,
    changed: Object.create(null)
  };
  var LIVE_KINDS = ["created", "updated", "deleted"];
  function status(state, text, link) {
    var el = document.getElementById("live-status");
    if (!el) { return; }
    // Unchanged: left alone, so screen readers (aria-live) do not hear it again.
    if (!link && el.getAttribute("data-state") === (state || "") && el.textContent === (text || "")) { return; }
    el.hidden = !state;
    el.setAttribute("data-state", state || "");
    el.textContent = text || "";
    if (link) {
      var a = document.createElement("a");
      a.href = link.href;
      a.textContent = link.text;
      el.appendChild(a);
    }
  }
  function stop() {
    if (live.source) { live.source.close(); }
    live.source = null;
    live.url = null;
  }
  // The rows a change just touched get `row-changed` for a moment (admin.css).
  function mark(changed) {
    document.querySelectorAll("#records tr[data-id]").forEach(function (row) {
      if (changed[row.getAttribute("data-id")]) {
        row.classList.add("row-changed");
        setTimeout(function () { row.classList.remove("row-changed"); }, 2000);
      }
    });
  }
  function refresh() {
    live.timer = null;
    var el = document.getElementById("live-status");
    if (!window.htmx || !el || !document.getElementById("records")) { return; }
    live.busy = true;
    var changed = live.changed;
    live.changed = Object.create(null);
    live.requested = location.href;
    // The status line is the request's source: htmx dims it (`htmx-request`), not the page.
    htmx.ajax("GET", location.href, { source: el, target: "#records", select: "#records", swap: "outerHTML" })
      .then(function () { mark(changed); }, function () {})
      .then(function () {
        live.busy = false;
        if (live.again) { live.again = false; schedule(); }
      });
  }
  function schedule() {
    if (live.timer) { return; } // the refresh already waiting covers this change
    if (live.busy) { live.again = true; return; }
    live.timer = setTimeout(refresh, 250);
  }
  function follow() {
    var records = document.getElementById("records");
    var url = records && records.getAttribute("data-events");
    if (url && url === live.url) { return; }
    stop();
    if (!url || typeof EventSource === "undefined") { status(null); return; }
    if (document.visibilityState === "hidden") { status("paused", "Paused"); return; }
    // Resume after what this page already shows or was told: the rows were read after
    // `data-since`, and every event seen has had its refresh.
    var since = Math.max(live.lastId, parseInt(records.getAttribute("data-since"), 10) || 0);
    var source = new EventSource(since ? url + (url.indexOf("?") < 0 ? "?" : "&") + "since=" + since : url);
    live.source = source;
    live.url = url;
    status("connecting", "Connecting…");
    source.onopen = function () { status("live", "Live"); };
    source.onerror = function () {
      if (live.source !== source) { return; }
      if (source.readyState === EventSource.CLOSED) {
        // Refused (signed out, the collection is gone, too many streams): no retry.
        stop();
        status("stopped", "Live updates stopped; reload the page to try again.");
      } else {
        status("connecting", "Reconnecting…");
      }
    };
    function seen(e) {
      var id = parseInt(e.lastEventId, 10);
      if (id > live.lastId) { live.lastId = id; }
    }
    LIVE_KINDS.forEach(function (kind) {
      source.addEventListener(kind, function (e) {
        seen(e);
        try {
          var record = JSON.parse(e.data).record;
          if (record && typeof record.id === "string") { live.changed[record.id] = true; }
        } catch (_) { /* an event without a record still refreshes */ }
        schedule();
      });
    });
    // A schema change, changes pruned before this page caught up, a stream that fell
    // behind (it reconnects by itself and replays): the view may be stale either way.
    ["schema", "reset", "overflow"].forEach(function (kind) {
      source.addEventListener(kind, function (e) { seen(e); schedule(); });
    });
    source.addEventListener("unauthorized", function () {
      stop();
      status("stopped", "Your session ended, so live updates stopped. ", { href: "/admin/login", text: "Sign in again" });
    });
  }
  // A live refresh lands only on the view it was asked for (not after the user moved to
  // another page or sort meanwhile), and only if it is the table (not the login page).
  document.addEventListener("htmx:beforeSwap", function (e) {
    if (e.detail.elt !== document.getElementById("live-status")) { return; }
    var body = e.detail.serverResponse || "";
    if (location.href !== live.requested || body.indexOf('id="records"') < 0) {
      e.detail.shouldSwap = false;
    }
  });
  document.addEventListener("visibilitychange", function () {
    // A hidden tab holds no stream (browsers allow few connections per server); shown
    // again, it resumes after the last event it saw, so it misses nothing.
    if (document.visibilityState === "hidden") {
      if (live.source) { stop(); status("paused", "Paused"); }
    } else {
      follow();
    }
  });
  window.addEventListener("pagehide", stop);
  window.addEventListener("pageshow", function (e) { if (e.persisted) { follow(); } });
  // Record forms with files: sent with XMLHttpRequest so the upload shows its progress.
  // A redirect (saved, or the session ended) is followed; a refused form replaces the
  // page as the plain post would. Without JS the form posts as usual.
  document.addEventListener("submit", function (e) {
    var form = e.target;
    if (!form.hasAttribute("data-upload") || !window.FormData) { return; }
    var picked = Array.prototype.some.call(form.querySelectorAll('input[type="file"]'),
      function (input) { return input.files && input.files.length > 0; });
    if (!picked) { return; }
    e.preventDefault();
    var box = document.getElementById("upload-progress");
    var bar = document.getElementById("upload-bar");
    var text = document.getElementById("upload-status");
    var button = form.querySelector('button[type="submit"]');
    if (box) { box.hidden = false; }
    if (button) { button.disabled = true; }
    var xhr = new XMLHttpRequest();
    xhr.open("POST", form.action);
    xhr.upload.onprogress = function (p) {
      if (!p.lengthComputable) { return; }
      var pct = Math.round(p.loaded * 100 / p.total);
      if (bar) { bar.value = pct; }
      if (text) { text.textContent = pct + "% uploaded"; }
    };
    xhr.onload = function () {
      if (xhr.responseURL && xhr.responseURL !== form.action) {
        location.assign(xhr.responseURL);
        return;
      }
      var doc = new DOMParser().parseFromString(xhr.responseText, "text/html");
      document.title = doc.title;
      document.body.replaceWith(doc.body);
      init(document);
      var err = document.getElementById("form-error");
      if (err) { err.focus(); }
    };
    xhr.onerror = function () {
      if (button) { button.disabled = false; }
      if (text) { text.textContent = "The upload failed: check the connection and try again."; }
    };
    xhr.send(new FormData(form));
  });
  document.addEventListener("DOMContentLoaded", function () { init(document); follow(); });
  document.addEventListener("htmx:afterSwap", function (e) { init(e.target); follow(); });
})();
