import { io } from 'socket.io-client';

export function connect(chatId, onDelta) {
  const socket = io();
  socket.on('connect', () => socket.emit('join', chatId));
  socket.on('delta', onDelta);
  return {
    ask: (messages) => socket.emit('ask', { chatId, messages }),
    stop: () => socket.emit('stop', { chatId }),
    steer: (text) => socket.emit('steer', { chatId, text }),
  };
}
