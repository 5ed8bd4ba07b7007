/**
 * Frames of a native stream to typed `StreamEvent`s, and the position of each event:
 * which log it comes from and its seq there (consolidated ids are composite cursors).
 */
import { isStateEvent, TAGGED_EVENTS } from "./types.js";
const TAGGED = new Set(TAGGED_EVENTS);
/**
 * Tracks where a stream stands, one seq per log. A plain stream's id is the seq of its
 * only log (`0`); a consolidated stream's id lists every log's last seq (`0:14,0.0:6`),
 * and the entry that moved names the log an event comes from.
 */
export class Positions {
    seqs = new Map();
    /** Start from a resume point (`""` for the beginning). */
    constructor(after = "") {
        if (after)
            this.read(after);
    }
    /** The origin of the event whose id is `id`, and remember `id` as the position. */
    advance(id) {
        if (/^\d+$/.test(id)) {
            const seq = Number(id);
            this.seqs.set("0", seq);
            return { path: "0", seq };
        }
        let moved = { path: "0", seq: 0 };
        for (const [path, seq] of parseCursor(id)) {
            if (seq !== (this.seqs.get(path) ?? 0))
                moved = { path, seq };
            this.seqs.set(path, seq);
        }
        return moved;
    }
    read(id) {
        if (/^\d+$/.test(id))
            this.seqs.set("0", Number(id));
        else
            for (const [path, seq] of parseCursor(id))
                this.seqs.set(path, seq);
    }
}
/** The entries of a consolidated cursor, e.g. `0:14,0.0:6` → `[["0", 14], ["0.0", 6]]`. */
export function parseCursor(cursor) {
    const entries = [];
    for (const entry of cursor.split(",")) {
        const colon = entry.lastIndexOf(":");
        if (colon > 0)
            entries.push([entry.slice(0, colon), Number(entry.slice(colon + 1))]);
    }
    return entries;
}
/** The typed event one SSE message stands for. */
export function decodeFrame(event, data, id, source) {
    switch (event) {
        case "token":
            return { id, source, type: "token", data };
        case "error":
            return { id, source, type: "error", data };
        case "progress":
            return { id, source, type: "progress", data: Number(data) };
    }
    const value = parseJson(data);
    if (isStateEvent(value)) {
        // The payload names its own event; the union member is chosen by that name.
        return { id, source, type: value.event, data: value.data, timestampMs: value.timestampMs };
    }
    if (typeof value === "object" && value !== null && "type" in value && TAGGED.has(String(value.type))) {
        const { type, ...fields } = value;
        return { id, source, type: type, data: fields };
    }
    return { id, source, type: "data", data: value };
}
function parseJson(text) {
    try {
        return JSON.parse(text);
    }
    catch {
        return text;
    }
}
