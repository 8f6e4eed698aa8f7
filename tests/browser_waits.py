"""What a browser test waits on instead of sleeping: the page's own requests, its timers and
what it announced, seen through small scripts run in the page.

A test that checks that *nothing* happens (no post on an arrow key, nothing announced after a
reload) needs a point at which it would have happened: `settle` (every handler and promise the
last action started has run), a request counted in the page's resource timing, or a recorder
installed before the page's own script.
"""

from __future__ import annotations

from typing import Any

# Run before any script of the next page loaded: setInterval timers fire at most `ms` apart,
# so a page that polls every few seconds polls now; and every text #announcer is given is
# kept in `window.lotsenAnnounced` (a later empty poll clears the element itself).
_BEFORE_PAGE_JS = """
(() => {
  const limit = %d;
  const setInterval = window.setInterval.bind(window);
  if (limit > 0) {
    window.setInterval = (f, ms, ...rest) => setInterval(f, Math.min(ms, limit), ...rest);
  }
  window.lotsenAnnounced = [];
  document.addEventListener("DOMContentLoaded", () => {
    const announcer = document.getElementById("announcer");
    if (!announcer) return;
    new MutationObserver(() => {
      if (announcer.textContent) window.lotsenAnnounced.push(announcer.textContent);
    }).observe(announcer, { childList: true, characterData: true, subtree: true });
  });
})();
"""

_RECORD_POSTS_JS = """
window.lotsenPosts = [];
const fetchOriginal = window.fetch;
window.fetch = (url, options) => {
  const method = String((options && options.method) || "GET").toUpperCase();
  if (method === "POST") window.lotsenPosts.push(String(url));
  return fetchOriginal(url, options);
};
"""

# Two macrotask turns: every handler the last action ran, and the promises they started that
# did not wait on the network or a timer, have finished.
_SETTLE_JS = """
const done = arguments[arguments.length - 1];
setTimeout(() => setTimeout(done, 0), 0);
"""


def before_next_page(driver: Any, *, interval_ms: int = 0) -> None:
    """From the next page load on: record announcements, and with `interval_ms` cap the page's
    setInterval periods at that (a 5 s poll becomes a poll every `interval_ms`)."""
    driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument",
                           {"source": _BEFORE_PAGE_JS % interval_ms})


def announced(driver: Any) -> list[str]:
    """Every text #announcer was given since the page loaded (needs `before_next_page`)."""
    return list(driver.execute_script("return window.lotsenAnnounced || []"))


def record_posts(driver: Any) -> None:
    """From now on, count the POST requests the current page makes through fetch."""
    driver.execute_script(_RECORD_POSTS_JS)


def posts(driver: Any) -> list[str]:
    """The URLs POSTed to since `record_posts`."""
    return list(driver.execute_script("return window.lotsenPosts"))


def settle(driver: Any) -> None:
    """Return once what the last action started in the page (short of network and timers) has
    run: the point where an unwanted effect of it would show."""
    driver.execute_async_script(_SETTLE_JS)


def requests_to(driver: Any, part: str) -> int:
    """How many requests of the current page whose URL contains `part` have completed."""
    return int(driver.execute_script(
        "return performance.getEntriesByType('resource')"
        ".filter((e) => e.name.includes(arguments[0])).length", part))
