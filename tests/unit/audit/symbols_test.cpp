// Bindings across statements and files (lib/audit/rules/symbols.hpp): what `#kind?` sees.
#include <doctest/doctest.h>

#include <memory>
#include <string>
#include <vector>

#include "audit/rules/detector.hpp"
#include "audit/rules/symbols.hpp"
#include "audit/static/syntax.hpp"

using namespace dsx::audit;

namespace {

struct Project {
  std::vector<std::unique_ptr<ParsedFile>> parsed;
  std::vector<std::shared_ptr<const FileSymbols>> symbols;
  std::vector<KindRule> rules;

  // Rule `kind` marks the @value of `query` (in every language given).
  void Rule(std::string kind, Lang lang, std::string query, bool function = false) {
    KindRule r;
    r.id = kind + "." + std::to_string(rules.size());
    r.kind = std::move(kind);
    r.langs = {lang};
    r.query_text = std::move(query);
    r.target_function = function;
    rules.push_back(std::move(r));
  }

  void File(const std::string& rel, const std::string& text) {
    Lang lang = LangForPath(rel);
    auto pf = ParsedFile::Parse(lang, rel, text);
    REQUIRE(pf.ok());
    std::vector<KindHit> hits;
    for (const auto& r : rules) {
      if (r.langs[0] != lang) continue;
      auto q = CompiledQuery::Compile(lang, r.query_text);
      REQUIRE(q.ok());
      for (const auto& m : (*q)->Run(**pf)) hits.push_back({m.captures.at("value"), &r});
    }
    symbols.push_back(std::make_shared<const FileSymbols>(Summarize(**pf, hits)));
    parsed.push_back(std::move(pf).value());
  }

  bool Holds(const std::string& rel, const std::string& name, const std::string& kind, bool call = false,
             std::vector<std::string> package_dirs = {}) {
    ProjectSymbols p(symbols, std::move(package_dirs));
    KindProbe probe;
    probe.name = name;
    probe.kind = kind;
    probe.call_result = call;
    return p.Holds(rel, probe);
  }
};

const char* kCtxQuery = "(call_expression function: (identifier) @f (#eq? @f \"createResumableStreamContext\")) @value";

}  // namespace

TEST_CASE("symbols: a context returned by a helper in another file reaches the variable it is assigned to") {
  Project p;
  p.Rule("rs_context", Lang::kTypeScript, kCtxQuery);
  p.File("lib/stream.ts",
         "import { createResumableStreamContext } from 'resumable-stream';\n"
         "let globalCtx: any = null;\n"
         "export function getStreamContext() {\n"
         "  if (!globalCtx) { globalCtx = createResumableStreamContext({ waitUntil: after }); }\n"
         "  return globalCtx;\n"
         "}\n");
  p.File("app/api/chat/[id]/stream/route.ts",
         "import { getStreamContext } from '@/lib/stream';\n"
         "export async function GET() {\n"
         "  const ctx = await getStreamContext();\n"
         "  const other = makeSomethingElse();\n"
         "  return ctx.resumeExistingStream('x');\n"
         "}\n");
  CHECK(p.Holds("app/api/chat/[id]/stream/route.ts", "ctx", "rs_context"));
  CHECK_FALSE(p.Holds("app/api/chat/[id]/stream/route.ts", "other", "rs_context"));
  CHECK(p.Holds("app/api/chat/[id]/stream/route.ts", "getStreamContext", "rs_context", /*call=*/true));
  // The same import without the alias root resolving nowhere: nothing is guessed.
  Project q;
  q.Rule("rs_context", Lang::kTypeScript, kCtxQuery);
  q.File("route.ts", "import { getStreamContext } from 'some-package';\nconst ctx = getStreamContext();\n");
  CHECK_FALSE(q.Holds("route.ts", "ctx", "rs_context"));
}

TEST_CASE("symbols: a socket.io server imported from another Python module keeps its kind") {
  Project p;
  p.Rule("socketio_server", Lang::kPython,
         "(call function: (attribute object: (identifier) @m (#eq? @m \"socketio\") attribute: (identifier) @c "
         "(#any-of? @c \"AsyncServer\" \"Server\"))) @value");
  p.File("backend/app/server.py", "import socketio\nsio = socketio.AsyncServer(async_mode='asgi')\n");
  p.File("backend/app/handlers.py",
         "from app.server import sio\n\n@sio.on('stop')\nasync def stop(sid, data):\n    pass\n");
  p.File("backend/app/relative.py", "from .server import sio as server\n");
  p.File("backend/app/other.py", "sio = make_something()\n");
  CHECK(p.Holds("backend/app/handlers.py", "sio", "socketio_server"));
  CHECK(p.Holds("backend/app/relative.py", "server", "socketio_server"));
  CHECK_FALSE(p.Holds("backend/app/other.py", "sio", "socketio_server"));
}

TEST_CASE("symbols: function kinds propagate through calls, locally and across imports") {
  Project p;
  p.Rule("reaches_model", Lang::kPython,
         "(call arguments: (argument_list (keyword_argument name: (identifier) @k (#eq? @k \"stream\") "
         "value: (true)))) @value",
         /*function=*/true);
  p.File("svc/llm.py",
         "async def generate(messages):\n"
         "    return await client.chat.completions.create(model='m', messages=messages, stream=True)\n");
  p.File("svc/routes.py",
         "import asyncio\nfrom svc.llm import generate\n\n"
         "async def run(job):\n    async for c in await generate(job):\n        pass\n\n"
         "async def cleanup():\n    pass\n\n"
         "asyncio.create_task(run(1))\nasyncio.create_task(cleanup())\n");
  p.File("svc/other.py", "from svc import llm\n\nasync def go():\n    await llm.generate([])\n");
  CHECK(p.Holds("svc/routes.py", "run", "reaches_model"));
  CHECK(p.Holds("svc/routes.py", "generate", "reaches_model"));
  CHECK_FALSE(p.Holds("svc/routes.py", "cleanup", "reaches_model"));
  CHECK(p.Holds("svc/other.py", "go", "reaches_model"));
}

TEST_CASE("symbols: JS re-exports, default exports, require and this.x") {
  Project p;
  p.Rule("sio_server", Lang::kJavaScript, "(new_expression constructor: (identifier) @c (#eq? @c \"Server\")) @value");
  p.File("src/io.js", "const { Server } = require('socket.io');\nconst io = new Server(3000);\nexport default io;\n");
  p.File("src/index.js", "export { default as io } from './io.js';\nexport * from './more';\n");
  p.File("src/more.js", "export const other = new Server(1);\n");
  p.File("src/a.js",
         "import io from './io';\nimport { io as viaIndex, other } from './index';\n"
         "const { helper } = require('./io');\n"
         "class Hub { constructor() { this.server = io; } }\n");
  CHECK(p.Holds("src/a.js", "io", "sio_server"));
  CHECK(p.Holds("src/a.js", "viaIndex", "sio_server"));
  CHECK(p.Holds("src/a.js", "other", "sio_server"));
  CHECK(p.Holds("src/a.js", "server", "sio_server"));  // this.server
  CHECK_FALSE(p.Holds("src/a.js", "helper", "sio_server"));
}

TEST_CASE("symbols: import cycles end, and module resolution follows the documented roots") {
  Project p;
  p.File("a.ts", "import { y } from './b';\nexport const x = y;\n");
  p.File("b.ts", "import { x } from './a';\nexport const y = x;\n");
  CHECK_FALSE(p.Holds("a.ts", "x", "anything"));
  p.File("web/src/lib/server/llm.ts", "export const a = 1;\n");
  p.File("web/src/routes/chat/+server.ts",
         "import { a } from '$lib/server/llm';\nimport b from '@/lib/server/llm.js';\n");
  p.File("pkg/mod/__init__.py", "x = 1\n");
  p.File("pkg/mod/deep/use.py", "from ..sub import z\n");
  p.File("pkg/mod/sub.py", "z = 1\n");
  ProjectSymbols s(p.symbols, {"web"});
  CHECK(s.ResolveModule("web/src/routes/chat/+server.ts", "$lib/server/llm") == "web/src/lib/server/llm.ts");
  CHECK(s.ResolveModule("web/src/routes/chat/+server.ts", "@/lib/server/llm.js") == "web/src/lib/server/llm.ts");
  CHECK(s.ResolveModule("web/src/routes/chat/+server.ts", "react") == "");
  CHECK(s.ResolveModule("pkg/mod/deep/use.py", "..sub") == "pkg/mod/sub.py");
  CHECK(s.ResolveModule("pkg/mod/deep/use.py", "pkg.mod") == "pkg/mod/__init__.py");
  CHECK(s.ResolveModule("pkg/mod/deep/use.py", "mod.sub") == "pkg/mod/sub.py");
}

TEST_CASE("symbols: effective imports follow a project import one step") {
  Project p;
  p.File("app/server.py", "import socketio\nsio = socketio.AsyncServer()\n");
  p.File("app/events.py", "from app.server import sio\n");
  ProjectSymbols s(p.symbols, {});
  auto imports = s.EffectiveImports("app/events.py");
  CHECK(std::find(imports.begin(), imports.end(), "socketio") != imports.end());
  CHECK(std::find(imports.begin(), imports.end(), "app.server") != imports.end());
}

TEST_CASE("symbols: hostile input ends (deep nesting, long import chains, paths above the root)") {
  Project p;
  p.Rule("k", Lang::kTypeScript, "(call_expression function: (identifier) @f (#eq? @f \"mk\")) @value");
  // 20,000 nested arrays around a binding: the walk stops descending, it does not overflow.
  std::string deep = "const a = " + std::string(20000, '[') + "mk()" + std::string(20000, ']') + ";\nconst b = mk();\n";
  p.File("deep.ts", deep);
  CHECK(p.Holds("deep.ts", "b", "k"));
  // A chain of 60 files re-binding the same value: resolution is bounded, and near links still hold.
  p.File("c0.ts", "export const v = mk();\n");
  for (int i = 1; i < 60; ++i)
    p.File("c" + std::to_string(i) + ".ts",
           "import { v as w } from './c" + std::to_string(i - 1) + "';\nexport const v = w;\n");
  CHECK(p.Holds("c3.ts", "v", "k"));
  // Imports that climb above the root, import themselves, or name nothing.
  p.File("x/self.ts",
         "import { s } from './self';\nimport { t } from '../../../../etc/passwd';\nexport const s = s;\n");
  p.File("x/rel.py", "from ....... import nothing\nfrom . import\n");
  CHECK_FALSE(p.Holds("x/self.ts", "s", "k"));
  CHECK_FALSE(p.Holds("x/rel.py", "nothing", "k"));
  ProjectSymbols s(p.symbols, {});
  CHECK(s.ResolveModule("x/self.ts", "../../../../etc/passwd") == "");
  CHECK(s.ResolveModule("x/rel.py", ".......") == "");
}

TEST_CASE("symbols: a method called on an imported instance, and on an instance of an imported class") {
  Project p;
  p.Rule("reaches_model", Lang::kTypeScript,
         "(call_expression function: (identifier) @f (#eq? @f \"streamText\")) @value", /*function=*/true);
  p.File("src/chat.ts",
         "import { streamText } from 'ai';\n"
         "export class ChatService {\n"
         "  async processUserMessage(m: any) { return this.run(m); }\n"
         "  private async run(m: any) { const r = streamText({ prompt: m }); }\n"
         "  async ping() { return 1; }\n"
         "}\n"
         "export const chatService = new ChatService();\n");
  p.File("src/wire.ts", "import { ChatService } from './chat';\nexport const service = new ChatService();\n");
  p.File("src/socket.ts",
         "import { chatService } from './chat';\nimport { service } from './wire';\nimport { ChatService } from "
         "'./chat';\n"
         "const local = new ChatService();\n");
  CHECK(p.Holds("src/socket.ts", "chatService.processUserMessage", "reaches_model"));
  CHECK_FALSE(p.Holds("src/socket.ts", "chatService.ping", "reaches_model"));
  CHECK(p.Holds("src/socket.ts", "service.processUserMessage", "reaches_model"));
  CHECK(p.Holds("src/socket.ts", "local.processUserMessage", "reaches_model"));
  CHECK_FALSE(p.Holds("src/socket.ts", "local.ping", "reaches_model"));
}

TEST_CASE("symbols: a #kind? capture on a callee's property stands for the whole member") {
  auto pf =
      ParsedFile::Parse(Lang::kTypeScript, "s.ts", "await chatService.processUserMessage(data);\nthis.run();\nf();\n");
  REQUIRE(pf.ok());
  auto q = CompiledQuery::Compile(Lang::kTypeScript,
                                  "(call_expression function: [(identifier) @fn (member_expression property: "
                                  "(property_identifier) @fn)]) @call");
  REQUIRE(q.ok());
  std::vector<std::string> names, calls;
  for (const auto& m : (*q)->Run(**pf)) {
    names.push_back(ProbeFor(**pf, m.captures.at("fn")).name);
    KindProbe c = ProbeFor(**pf, m.captures.at("call"));
    CHECK(c.call_result);
    calls.push_back(c.name);
  }
  CHECK(names == std::vector<std::string>{"chatService.processUserMessage", "run", "f"});
  CHECK(calls == names);
}

TEST_CASE("symbols: fields hold instances: this.llm.stream() reaches the field's class, in TS and Python") {
  Project p;
  p.Rule("reaches_model", Lang::kTypeScript,
         "(call_expression function: (identifier) @f (#eq? @f \"streamText\")) @value", /*function=*/true);
  p.Rule("reaches_model", Lang::kPython, "(call function: (identifier) @f (#eq? @f \"astream\")) @value",
         /*function=*/true);
  p.File("llm.ts",
         "import { streamText } from 'ai';\nexport class LLM {\n  stream() { return streamText({}); }\n  count() { "
         "return 1; }\n}\n");
  p.File("chat.ts",
         "import { LLM } from './llm';\n"
         "export class Chat {\n"
         "  private llm = new LLM();\n"
         "  private other: LLM;\n"
         "  constructor() { this.other = new LLM(); }\n"
         "  run() { return this.llm.stream(); }\n"
         "  run2() { return this.other.stream(); }\n"
         "  idle() { return this.llm.count(); }\n"
         "}\n");
  p.File("agent/llm.py", "class LLM:\n    def go(self):\n        return astream()\n");
  p.File("agent/chat.py",
         "from agent.llm import LLM\n\nclass Chat:\n    def __init__(self):\n        self.llm = LLM()\n\n"
         "    def run(self):\n        return self.llm.go()\n");
  CHECK(p.Holds("chat.ts", "run", "reaches_model"));
  CHECK(p.Holds("chat.ts", "run2", "reaches_model"));
  CHECK_FALSE(p.Holds("chat.ts", "idle", "reaches_model"));
  CHECK(p.Holds("agent/chat.py", "run", "reaches_model"));
}

TEST_CASE("symbols: a cycle does not fix a wrong answer for later queries, and long chains are followed") {
  Project p;
  p.Rule("reaches_model", Lang::kTypeScript,
         "(call_expression function: (identifier) @f (#eq? @f \"streamText\")) @value", /*function=*/true);
  // a streams and calls b; b calls a back. Asking for a first computes b while a is unfinished.
  p.File("cycle.ts", "export function a() { streamText({}); b(); }\nexport function b() { a(); }\n");
  {
    ProjectSymbols s(p.symbols, {});
    KindProbe pa{"a", "reaches_model"}, pb{"b", "reaches_model"};
    CHECK(s.Holds("cycle.ts", pa));
    CHECK(s.Holds("cycle.ts", pb));  // was memoized empty from inside a's computation
  }
  // A chain of 12 files, each calling the next one's function through an import, then a method
  // on an instance: beyond the old depth cut of 10.
  p.File("m12.ts", "import { streamText } from 'ai';\nexport function f12() { streamText({}); }\n");
  for (int i = 11; i >= 1; --i)
    p.File("m" + std::to_string(i) + ".ts", "import { f" + std::to_string(i + 1) + " } from './m" +
                                                std::to_string(i + 1) + "';\nexport function f" + std::to_string(i) +
                                                "() { return f" + std::to_string(i + 1) + "(); }\n");
  CHECK(p.Holds("m1.ts", "f1", "reaches_model"));
}

TEST_CASE("symbols: default exports of a class and of a call") {
  Project p;
  p.Rule("reaches_model", Lang::kTypeScript,
         "(call_expression function: (identifier) @f (#eq? @f \"streamText\")) @value", /*function=*/true);
  p.Rule("sio_server", Lang::kTypeScript, "(new_expression constructor: (identifier) @c (#eq? @c \"Server\")) @value");
  p.File("svc.ts", "export default class Svc {\n  go() { streamText({}); }\n}\n");
  p.File("io.ts", "export default new Server(1);\n");
  p.File("use.ts", "import Svc from './svc';\nimport io from './io';\nconst s = new Svc();\n");
  CHECK(p.Holds("use.ts", "s.go", "reaches_model"));
  CHECK(p.Holds("use.ts", "io", "sio_server"));
}
