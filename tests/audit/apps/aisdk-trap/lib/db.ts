const store = new Map<string, unknown[]>();

export async function saveMessages(chatId: string, messages: unknown[]) {
  store.set(chatId, messages);
}
