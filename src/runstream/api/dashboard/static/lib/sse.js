/**
 * A Server-Sent Events parser (the WHATWG rules) for runtimes without `EventSource`, or
 * when headers must be sent: feed it text as it arrives, however it is split.
 */
/** Incremental parser; `lastEventId` also moves on id-only frames, which dispatch nothing. */
export class SSEParser {
    /** The resume point: the id of the last complete frame, with or without data. */
    lastEventId = "";
    /** The server's `retry:` hint in ms, if it sent one. */
    retryMs = null;
    buffer = "";
    pendingCR = false;
    event = "";
    data = [];
    hasData = false;
    // An `id:` counts only once its frame is complete (a blank line): a frame cut short by
    // a dropped connection must be received again.
    idBuffer = null;
    /** Parse a chunk of text; returns the messages it completed. */
    feed(chunk) {
        const out = [];
        let text = chunk;
        // A CRLF split across chunks: the LF belongs to the CR already handled.
        if (this.pendingCR && text.startsWith("\n"))
            text = text.slice(1);
        this.pendingCR = false;
        let start = 0;
        for (let i = 0; i < text.length; i++) {
            const char = text.charCodeAt(i);
            if (char !== 10 && char !== 13)
                continue;
            this.line(this.buffer + text.slice(start, i), out);
            this.buffer = "";
            if (char === 13) {
                if (i + 1 === text.length)
                    this.pendingCR = true;
                else if (text.charCodeAt(i + 1) === 10)
                    i++;
            }
            start = i + 1;
        }
        this.buffer += text.slice(start);
        return out;
    }
    line(line, out) {
        if (line === "") {
            this.dispatch(out);
            return;
        }
        if (line.startsWith(":"))
            return;
        const colon = line.indexOf(":");
        const field = colon === -1 ? line : line.slice(0, colon);
        let value = colon === -1 ? "" : line.slice(colon + 1);
        if (value.startsWith(" "))
            value = value.slice(1);
        switch (field) {
            case "event":
                this.event = value;
                break;
            case "data":
                this.data.push(value);
                this.hasData = true;
                break;
            case "id":
                if (!value.includes("\0"))
                    this.idBuffer = value;
                break;
            case "retry":
                if (/^\d+$/.test(value))
                    this.retryMs = Number(value);
                break;
        }
    }
    dispatch(out) {
        if (this.idBuffer !== null)
            this.lastEventId = this.idBuffer;
        this.idBuffer = null;
        if (this.hasData) {
            out.push({ event: this.event || "message", data: this.data.join("\n"), id: this.lastEventId });
        }
        this.event = "";
        this.data = [];
        this.hasData = false;
    }
}
