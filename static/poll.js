/**
 * poll(fn, intervalMs, {onError}) — call `fn` now and then every `intervalMs`.
 *
 * The next call is scheduled only after the previous one settled, so a slow
 * server never gets overlapping requests; `refresh()` during a call runs `fn`
 * once more right after it. While the tab is hidden the poll pauses, and it
 * runs again as soon as the tab is shown. Errors go to `onError` and the poll
 * keeps going, so a restarted server is picked up again.
 * Returns `{stop(), refresh()}`.
 */
export function poll(fn, intervalMs, { onError = () => {} } = {}) {
  let timer = null;
  let stopped = false;
  let running = false;
  let again = false;

  async function tick() {
    clearTimeout(timer);
    if (stopped || document.hidden) return;
    if (running) {
      again = true;
      return;
    }
    running = true;
    try {
      await fn();
    } catch (error) {
      onError(error);
    }
    running = false;
    if (stopped) return;
    if (again) {
      again = false;
      tick();
      return;
    }
    clearTimeout(timer);
    timer = setTimeout(tick, intervalMs);
  }

  function onVisibility() {
    if (!document.hidden) tick();
  }

  document.addEventListener("visibilitychange", onVisibility);
  tick();
  return {
    stop() {
      stopped = true;
      clearTimeout(timer);
      document.removeEventListener("visibilitychange", onVisibility);
    },
    refresh: tick,
  };
}
