// Live updates from the event stream (GET /api/v1/stream, a WebSocket of
// CloudEvents). The stream only nudges: each event asks the page to poll
// now instead of at its next 2 s tick, and the dashboard lists the latest
// events. Polling stays the source of truth, so a server without an event
// bus (503), a proxy that drops WebSockets or a token the browser cannot
// offer as a subprotocol just means the page keeps polling.
import { getToken } from "./api.js";

const PROTOCOL = "conveyor.v1";
const MAX_EVENTS = 30;
const MIN_BACKOFF = 2000;
const MAX_BACKOFF = 30000;

// connectStream keeps a stream open, reconnecting with backoff, and calls
// onEvent(ev) for each event and onStatus(connected) on each change. It
// returns a function that closes it for good.
export function connectStream(onEvent, onStatus) {
  let ws = null;
  let backoff = MIN_BACKOFF;
  let timer = null;
  let stopped = false;

  function retry() {
    if (stopped) return;
    timer = setTimeout(open, backoff);
    backoff = Math.min(MAX_BACKOFF, backoff * 2);
  }

  function open() {
    timer = null;
    const token = getToken();
    const protocols = token ? [PROTOCOL, "bearer." + token] : [PROTOCOL];
    const url = (location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/api/v1/stream?types=conveyor.job.*";
    try {
      ws = new WebSocket(url, protocols);
    } catch {
      // A token with characters a subprotocol cannot carry: poll only.
      onStatus(false);
      return;
    }
    ws.addEventListener("open", () => {
      backoff = MIN_BACKOFF;
      onStatus(true);
    });
    ws.addEventListener("message", (m) => {
      let ev;
      try {
        ev = JSON.parse(m.data);
      } catch {
        return;
      }
      if (ev && typeof ev.type === "string") onEvent(ev);
    });
    ws.addEventListener("close", () => {
      ws = null;
      onStatus(false);
      retry();
    });
  }

  open();
  return () => {
    stopped = true;
    if (timer) clearTimeout(timer);
    if (ws) ws.close();
  };
}

// recent keeps the latest events, newest first.
export function remember(list, ev) {
  list.unshift(ev);
  if (list.length > MAX_EVENTS) list.length = MAX_EVENTS;
}
