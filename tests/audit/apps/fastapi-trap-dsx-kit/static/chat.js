// The page: POST starts the agent's run; every tab follows the chat's session (resumes from its
// offset after a drop or a reload); Stop and steering are session control events.
import { DsxSession } from '/ui/dsx-session.js';

export function openChat(chatId, render) {
  const session = new DsxSession({ session: chatId });
  session.addEventListener('change', () => render(session.items));
  session.connect();
  return {
    send: (messages) => fetch('/api/chat', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ session: chatId, messages }),
    }),
    stop: () => session.cancel(),
    steer: (text) => session.steer(text),
  };
}
