// The computer's QR login page (/login/qr): poll the code's status, count
// down to its expiry, and move on by itself. Loaded as a file (the CSP
// allows no inline script); without it the page's "check" button does the
// same through a form.
(function () {
  "use strict";
  var root = document.getElementById("qr-login");
  if (!root || !window.fetch) { return; }
  var ticket = root.getAttribute("data-ticket");
  var expires = parseInt(root.getAttribute("data-expires"), 10);
  var statusEl = document.getElementById("qr-status");
  var countEl = document.getElementById("qr-countdown");
  var check = document.getElementById("qr-check");
  var status = root.getAttribute("data-status") || "waiting";
  var delay = 1000;       // next poll; grows while nothing changes
  var timer = 0, ticker = 0, busy = false, done = false;

  if (check) { check.hidden = true; }

  var words = { waiting: "等待扫描", scanned: "已扫描，请在手机上确认登录", confirmed: "已确认，正在登录…" };

  // finish leaves the page: the profile once logged in, else the server's
  // page for this code's final state (expired, cancelled, not found).
  function finish(url) {
    done = true;
    clearTimeout(timer);
    clearInterval(ticker);
    window.location.replace(url);
  }

  function schedule(ms) {
    clearTimeout(timer);
    if (!done && !document.hidden) { timer = setTimeout(poll, ms); }
  }

  function poll() {
    if (busy || done) { return; }
    busy = true;
    fetch("/login/qr/status?t=" + encodeURIComponent(ticket), { credentials: "same-origin", cache: "no-store" })
      .then(function (res) {
        if (res.status === 429) {
          var after = parseInt(res.headers.get("Retry-After"), 10) || 2;
          delay = Math.min(Math.max(after * 1000, delay * 2), 10000);
          return null;
        }
        if (res.status === 404) { finish("/login/qr?t=" + encodeURIComponent(ticket)); return null; }
        if (!res.ok) { delay = Math.min(delay * 2, 15000); return null; }
        return res.json();
      })
      .then(function (body) {
        if (!body || done) { return; }
        if (body.status === "confirmed") {
          statusEl.textContent = words.confirmed;
          finish(body.next || "/profile");
          return;
        }
        if (body.status === "cancelled" || body.status === "expired") {
          finish("/login/qr?t=" + encodeURIComponent(ticket));
          return;
        }
        if (body.status !== status) {
          status = body.status;
          statusEl.textContent = words[status] || "";
          root.setAttribute("data-status", status);
          delay = 1000;
        } else if (status === "scanned") {
          delay = 1000; // the person is about to tap: stay quick
        } else {
          delay = Math.min(delay * 1.5, 4000);
        }
      })
      .catch(function () { delay = Math.min(delay * 2, 15000); })
      .then(function () { busy = false; schedule(delay); });
  }

  function tick() {
    var left = Math.max(0, Math.round((expires - Date.now()) / 1000));
    countEl.textContent = left + " 秒";
    if (left === 0 && !done) {
      clearInterval(ticker);
      delay = 1000;
      poll(); // the server says "expired" and the page offers a new code
    }
  }

  // A hidden tab stops polling; coming back polls at once.
  document.addEventListener("visibilitychange", function () {
    if (document.hidden) {
      clearTimeout(timer);
    } else if (!done) {
      delay = 1000;
      poll();
    }
  });

  ticker = setInterval(tick, 1000);
  tick();
  schedule(delay);
})();
