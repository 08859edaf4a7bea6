// The controllers of running generations by chat id (one Nitro process), so a stop can reach them.
export const runs = new Map<string, AbortController>();
