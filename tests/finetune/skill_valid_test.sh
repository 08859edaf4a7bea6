#!/usr/bin/env bash
# The finetune skill passes the Agent Skills checks (strict: warnings count), and the dsx skill
# points to its fine-tuning reference.
. "$(dirname "$0")/lib.sh"
"$DSX" skills validate "$SRC/skills/finetune" --strict || bad "dsx skills validate --strict skills/finetune"
"$DSX" skills validate "$SRC/skills/dsx" --strict || bad "dsx skills validate --strict skills/dsx"
grep -q "references/finetune.md" "$SRC/skills/dsx/SKILL.md" || bad "skills/dsx/SKILL.md does not link references/finetune.md"
exit $fail
