{{! Renames the dataset's columns to TRL's names by COLUMNS (every method but sft, which reads one text column). }}
# TRL reads the standard column names; rename the ones this dataset spells differently.
renames = {src: dst for src, dst in COLUMNS.items() if src is not None and src != dst and src in dataset.column_names}
if renames:
    dataset = dataset.rename_columns(renames)
