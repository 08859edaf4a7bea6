#!/usr/bin/env bash
# --llm through the real binary and the project's OpenAI client, against a local OpenAI-compatible
# endpoint (fake_openai.py): words the parser left go to the model, its JSON reply fills only the
# fields still empty (source llm), a said field is never overridden, and the instruction is asked
# about once. No --llm: the same words are exit 2.
. "$(dirname "$0")/lib.sh"
export FAKE_REPLY='{"lora_rank": 48, "dataset": "HuggingFaceH4/no_robots", "epochs": 7}'
"$PY" "$(dirname "$0")/fake_openai.py" --port-file "$WORK/port" --record "$WORK/asked.jsonl" &
fake_pid=$!
trap 'kill $fake_pid 2>/dev/null; wait $fake_pid 2>/dev/null; rm -rf "$WORK"' EXIT
for _ in $(seq 1 100); do [ -s "$WORK/port" ] && break; sleep 0.1; done
[ -s "$WORK/port" ] || { bad "the fake endpoint did not start"; exit 1; }
export OPENAI_BASE_URL=http://127.0.0.1:$(cat "$WORK/port") OPENAI_API_KEY=sk-fake-e2e
text="fine-tune Qwen2.5-0.5B-Instruct for 2 epochs with a rank that suits a tiny model"
"$DSX" finetune submit "$text" --dry-run >/dev/null 2>"$WORK/err"
[ $? -eq 2 ] || bad "without --llm the leftover words must be exit 2: $(cat "$WORK/err")"
"$DSX" finetune submit "$text" --llm openai --llm-model fake-model --dry-run --json >"$WORK/doc.json" 2>"$WORK/err" ||
  { bad "--llm dry run exited $?: $(cat "$WORK/err")"; exit 1; }
check() { [ "$(json_get "$WORK/doc.json" "$1")" = "$2" ] || bad "$1 is '$(json_get "$WORK/doc.json" "$1")', want '$2'"; }
check 'd["spec"]["lora_rank"]["value"]' 48
check 'd["spec"]["lora_rank"]["source"]' llm
check 'd["spec"]["dataset"]["value"]' HuggingFaceH4/no_robots
check 'd["spec"]["dataset"]["source"]' llm
check 'd["spec"]["epochs"]["value"]' 2.0
check 'd["spec"]["epochs"]["source"]' said
check 'sorted(d["llm_filled"])' "['dataset', 'lora_rank']"
check 'any(n.startswith("ignored the LLM") and "epochs" in n for n in d["notes"])' True
[ "$(wc -l <"$WORK/asked.jsonl")" -eq 1 ] || bad "the model was asked $(wc -l <"$WORK/asked.jsonl") times, want 1"
grep -q "suits a tiny model" "$WORK/asked.jsonl" || bad "the leftover words were not sent to the model"
grep -q '"fake-model"' "$WORK/asked.jsonl" || bad "--llm-model was not used"
grep -q "sk-fake-e2e" "$WORK/doc.json" "$WORK/err" && bad "the API key reached the output"
exit $fail
