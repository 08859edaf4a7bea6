// Starts the Durable Streams reference server (@durable-streams/server, pinned in package.json)
// for bench/streams/run. Environment: PORT (0 = any free port), DATA_DIR (file-backed store with
// LMDB + log files; unset = in-memory), LONG_POLL_MS. Prints one line
// "ref: listening on http://HOST:PORT" on stderr when ready (same shape as dsx's line), and
// stops on SIGTERM/SIGINT.
import { DurableStreamTestServer } from "@durable-streams/server"

const server = new DurableStreamTestServer({
  port: Number(process.env.PORT ?? 4437),
  host: "127.0.0.1",
  longPollTimeout: Number(process.env.LONG_POLL_MS ?? 30000),
  dataDir: process.env.DATA_DIR || undefined,
})
const url = await server.start()
process.stderr.write(`ref: listening on ${url}\n`)
const stop = async () => { await server.stop(); process.exit(0) }
process.on("SIGTERM", stop)
process.on("SIGINT", stop)
