import { io } from 'socket.io-client';

const socket = io();
let current = null;

// socket.io reconnects by itself; rejoining the room on every connect re-attaches to the running answer.
socket.on('connect', () => {
  if (current) socket.emit('join', { chat_id: current });
});

export function start(chatId, messages, onDelta) {
  current = chatId;
  socket.emit('join', { chat_id: chatId });
  socket.on('delta', (d) => onDelta(d.text));
  socket.emit('chat', { chat_id: chatId, messages });
}

export function stop(chatId) {
  socket.emit('stop', { chat_id: chatId });
}
