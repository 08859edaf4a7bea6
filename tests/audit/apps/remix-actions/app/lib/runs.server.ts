// Running generations by chat id, so the stop action can reach them (one server process).
export const runs = new Map<string, AbortController>();
