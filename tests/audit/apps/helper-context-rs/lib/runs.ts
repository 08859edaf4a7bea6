// Which stream belongs to which chat (kept in memory here; a real app keeps it in its database).
const latest = new Map<string, string>();

export function rememberStream(chatId: string, streamId: string) {
  latest.set(chatId, streamId);
}

export function latestStream(chatId: string) {
  return latest.get(chatId);
}
