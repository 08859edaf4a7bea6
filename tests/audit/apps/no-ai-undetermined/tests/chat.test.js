// A test that streams from a model to check a prompt: test code, not the product. Without
// --include-tests it is no evidence, so the app stays undetermined.
import { streamText } from "ai";
import { openai } from "@ai-sdk/openai";

test("the summary prompt streams", async () => {
  const result = streamText({ model: openai("gpt-4o-mini"), prompt: "Summarise: buy milk" });
  void result.consumeStream();
  for await (const part of result.textStream) expect(typeof part).toBe("string");
});
