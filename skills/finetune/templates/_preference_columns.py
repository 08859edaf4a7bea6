{{! The column map of paired preference data (prompt, chosen, rejected): dpo, kto, reward. }}
# This dataset's column -> TRL's name (None = the dataset already uses TRL's name).
COLUMNS = {
    {{prompt_column}}: "prompt",
    {{chosen_column}}: "chosen",
    {{rejected_column}}: "rejected",
}
