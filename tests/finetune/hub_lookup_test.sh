#!/usr/bin/env bash
# `dsx finetune submit` asking the Hub (a local stand-in, fake_hub.py): a model configs/models.toml
# lacks is planned from the model API and config.json, the dataset's split gives the rows (no "dataset
# size unknown" note), a wrong column or split is exit 2 with the --set to use, an unknown model exit 2,
# an unreachable Hub only a note, and --offline / HF_HUB_OFFLINE=1 send nothing.
. "$(dirname "$0")/lib.sh"
unset HF_TOKEN HF_HUB_OFFLINE HF_TOKEN_PATH HF_HOME
"$PY" "$SRC/tests/finetune/fake_hub.py" "$WORK/port" "$WORK/hub.log" &
hub=$!
trap 'kill $hub 2>/dev/null; rm -rf "$WORK"' EXIT
for _ in $(seq 1 200); do [ -s "$WORK/port" ] && break; sleep 0.05; done  # bounded: a real process starting
[ -s "$WORK/port" ] || { echo "FAIL: fake_hub.py did not start"; exit 1; }
export HF_ENDPOINT=http://127.0.0.1:$(cat "$WORK/port") DSX_HF_DATASETS_SERVER=http://127.0.0.1:$(cat "$WORK/port")
REQ="dpo acme/tiny-llm-7b on acme/prefs with qlora"

"$DSX" finetune submit "$REQ" --dry-run --json >"$WORK/ok.json" 2>"$WORK/err" || bad "dry run exited $?: $(cat "$WORK/err")"
check() { [ "$(json_get "$1" "$2")" = "$3" ] || bad "$2 is '$(json_get "$1" "$2")', want '$3'"; }
check "$WORK/ok.json" 'd["spec"]["model"]["value"]' "acme/tiny-llm-7b"
check "$WORK/ok.json" 'any("from the Hub: 7.24B parameters" in n for n in d["plan"]["notes"])' True
check "$WORK/ok.json" 'any("24000 rows" in n for n in d["plan"]["notes"])' True
check "$WORK/ok.json" 'any("unknown" in n and "dataset" in n for n in d["plan"]["notes"])' False
check "$WORK/ok.json" 'd["plan"]["hours"] > 0 and d["plan"]["cost_usd"] > 0' True
# 24000 rows / (batch 4 x accum 4) = 1500 steps for one epoch: the Hub's number, not the assumed 10000.
check "$WORK/ok.json" 'd["plan"]["steps"]' 1500
for want in "/api/models/acme/tiny-llm-7b auth=no" "/acme/tiny-llm-7b/resolve/main/config.json auth=no" \
  "/info?dataset=acme%2Fprefs auth=no"; do
  grep -qxF -- "$want" "$WORK/hub.log" || bad "the Hub was not asked '$want': $(cat "$WORK/hub.log")"
done

# A column the dataset lacks: exit 2, its columns and the --set to use.
"$DSX" finetune submit "$REQ" --set chosen_column=good --dry-run >"$WORK/out" 2>"$WORK/err"
rc=$?
[ $rc = 2 ] || bad "a missing column exited $rc, want 2"
grep -qF "no column 'good'" "$WORK/err" || bad "no column named: $(cat "$WORK/err")"
grep -qF "its columns: chosen, prompt, rejected" "$WORK/err" || bad "the dataset's columns not listed: $(cat "$WORK/err")"
grep -qF -- "--set chosen_column=" "$WORK/err" || bad "no --set hint: $(cat "$WORK/err")"
# A split the dataset lacks: exit 2 listing the splits.
"$DSX" finetune submit "$REQ" --set split=validation --dry-run >"$WORK/out" 2>"$WORK/err"
rc=$?
[ $rc = 2 ] || bad "a missing split exited $rc, want 2"
grep -qF "its splits: test, train" "$WORK/err" || bad "splits not listed: $(cat "$WORK/err")"
# A model the Hub does not have: exit 2.
"$DSX" finetune submit "dpo acme/no-such-model on acme/prefs" --dry-run >"$WORK/out" 2>"$WORK/err"
rc=$?
[ $rc = 2 ] || bad "an unknown model exited $rc, want 2"
grep -qF "no model 'acme/no-such-model' on the Hub" "$WORK/err" || bad "unknown model message: $(cat "$WORK/err")"

# --offline and HF_HUB_OFFLINE=1: no request at all (a catalog model plans as before).
: >"$WORK/hub.log"
"$DSX" finetune submit "$EXAMPLE" --offline --dry-run --json >"$WORK/off.json" 2>"$WORK/err" || bad "--offline exited $?"
HF_HUB_OFFLINE=1 "$DSX" finetune submit "$EXAMPLE" --dry-run --json >/dev/null 2>"$WORK/err" || bad "HF_HUB_OFFLINE=1 exited $?"
[ ! -s "$WORK/hub.log" ] || bad "offline runs asked the Hub: $(cat "$WORK/hub.log")"
check "$WORK/off.json" 'any("dataset size unknown" in n for n in d["plan"]["notes"])' True

# Unreachable (nothing listens): the catalog model still plans, with a note.
kill $hub; wait $hub 2>/dev/null
"$DSX" finetune submit "$EXAMPLE" --dry-run --json >"$WORK/down.json" 2>"$WORK/err" || bad "an unreachable Hub failed the dry run: $(cat "$WORK/err")"
check "$WORK/down.json" 'any(n.startswith("Hub not reachable (") for n in d["plan"]["notes"])' True
exit $fail
