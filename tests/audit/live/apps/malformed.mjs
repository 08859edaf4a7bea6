// Fixture: endpoints that misbehave, for "the audit reports what it could not determine
// and finishes".
//   POST /hang  accepts the request and never answers (not even a status line)
//   POST /lie   answers 200 text/event-stream and sends bytes that are not SSE, slowly
import http from 'node:http';

const server = http.createServer((req, res) => {
  req.resume();
  if (req.url.startsWith('/hang')) return;  // hold the socket open, say nothing
  if (req.url.startsWith('/lie')) {
    res.writeHead(200, { 'content-type': 'text/event-stream', 'x-vercel-ai-ui-message-stream': 'v1' });
    let n = 0;
    const t = setInterval(() => {
      res.write(Buffer.from([0x3c, 0x62, 0x3e, 0x00, 0xff, 0x0a]));  // "<b>\0\xff\n"
      if (++n === 20) { clearInterval(t); res.end('</html>\n'); }
    }, 20);
    res.on('close', () => clearInterval(t));
    return;
  }
  res.writeHead(404).end();
});
server.listen(Number(process.env.PORT || 0), '127.0.0.1', () => {
  console.log(`malformed: listening on http://127.0.0.1:${server.address().port}`);
});
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => process.exit(0));
