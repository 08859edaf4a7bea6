// The page: one subscription to the conversation's session shows every lane (main, research,
// write) live and resumes from its offset; Stop and steering are session control events.
import { DsxSession } from '/ui/dsx-session.js';

export function openConversation(sessionId, render) {
  const session = new DsxSession({ session: sessionId });
  session.addEventListener('change', () => render(session.items));
  session.connect();
  return {
    ask: (question) => fetch('/api/ask', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ session: sessionId, question }),
    }),
    stop: () => session.cancel(),
    steer: (text) => session.steer(text),
  };
}
