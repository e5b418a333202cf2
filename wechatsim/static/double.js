// The Android WeChat double callback (wechat-api.md §2): open the callback,
// then ~20 ms later open it again (variant A) or with a second code
// (variant B). The browser aborts the first navigation, as WeChat does, so
// the app sees two requests and the user sees the second one's answer.
(function () {
  "use strict";
  var el = document.getElementById("dc");
  if (!el) {
    return;
  }
  var first = el.getAttribute("data-first");
  var second = el.getAttribute("data-second");
  var delay = parseInt(el.getAttribute("data-delay"), 10);
  if (!(delay >= 0)) {
    delay = 20;
  }
  window.location.href = first;
  window.setTimeout(function () {
    window.location.href = second;
  }, delay);
})();
