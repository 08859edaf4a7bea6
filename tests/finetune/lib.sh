# Shared setup for the finetune e2e tests: the binary, the source tree, a throwaway HOME and registry,
# and small assertion helpers. Sourced by each *_test.sh with "$@" = DSX SOURCE_DIR.
set -u
DSX=${1:?usage: $0 DSX SOURCE_DIR}
SRC=${2:?usage: $0 DSX SOURCE_DIR}
PY=/usr/bin/python3
[ -x "$PY" ] || { echo "SKIP: $PY not found (the tests parse JSON with the stdlib)"; exit 77; }
WORK=$(mktemp -d "${TMPDIR:-/tmp}/dsx-ft-e2e.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
export HOME=$WORK/home DSX_JOBS_DIR=$WORK/jobs DSX_FINETUNE_DIR=$WORK/scripts DSX_CONFIG_DIR=$WORK/config
export DSX_CONFIGS_DIR=$SRC/configs DSX_SKILLS_DIR=$SRC/skills
unset DSX_SERVER DSX_TOKEN
mkdir -p "$HOME"
EXAMPLE="fine-tune Qwen2.5-0.5B-Instruct on trl-lib/Capybara with LoRA for 2 epochs, push to my-org/qwen-capy"
fail=0
bad() { echo "FAIL: $*"; fail=1; }
# json_get FILE EXPR: prints the Python expression EXPR evaluated on the document d.
json_get() { "$PY" -c 'import json,sys; d=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$1" "$2"; }
