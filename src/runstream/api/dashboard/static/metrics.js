// Render timing, kept for bench/dashboard.py: how long events wait before the frame that
// paints them, and how long each render takes. A few numbers in a ring: cheap to keep.

const KEEP = 5000;

export const metrics = {
  /** Event arrival → after the paint of the frame that showed it, ms (oldest event of each batch). */
  eventToPaint: [],
  /** Time spent folding and rendering one batch, ms. */
  renderMs: [],
  /** Events folded so far. */
  events: 0,
};

globalThis.runstreamDashboard = metrics;

function push(list, value) {
  list.push(value);
  if (list.length > KEEP) list.splice(0, list.length - KEEP);
}

/** Record one frame: the oldest event's arrival time and when rendering started and ended. */
export function recordFrame(arrivedAt, renderStart, renderEnd, events) {
  metrics.events += events;
  push(metrics.renderMs, renderEnd - renderStart);
  // A message posted from a rAF callback is handled after that frame is painted.
  const channel = new MessageChannel();
  channel.port1.onmessage = () => push(metrics.eventToPaint, performance.now() - arrivedAt);
  channel.port2.postMessage(null);
}
