// The browser side: every tab subscribes to the session by id and offset; stop and steer are
// session control events, so a closed tab never cancels anything.
import { DsxSession } from '/ui/dsx-session.js';

export async function openChat(chatId, render) {
  const session = new DsxSession(`/v1/session/${encodeURIComponent(chatId)}`);
  let text = '';
  session.on('msg.append', (event) => {
    text += event.data.text;
    render(text);
  });
  await session.subscribe({ offset: sessionStorage.getItem(`offset:${chatId}`) ?? '-1' });
  return {
    stop: (run) => session.cancel(run, { reason: 'user pressed stop' }),
    steer: (run, text) => session.steer(run, { text }),
  };
}
