{{! OUTPUT_REPO, resuming from the last checkpoint pushed to it, and loading DATASET[SPLIT] (MAX_SAMPLES rows at most). }}
OUTPUT_REPO = {{output_repo}}  # None = the model stays on this machine (no push)


def last_checkpoint():
    """The last checkpoint an earlier run of this job pushed to OUTPUT_REPO (hub_strategy="checkpoint"
    keeps it in last-checkpoint/), so a job that timed out or was cancelled resumes instead of restarting."""
    if OUTPUT_REPO is None:
        return None
    try:
        from huggingface_hub import snapshot_download

        path = os.path.join(snapshot_download(OUTPUT_REPO, allow_patterns=["last-checkpoint/*"]), "last-checkpoint")
    except Exception as err:  # no repository yet, or no access to it: a fresh start
        print(f"dsx: no checkpoint to resume from ({type(err).__name__})", flush=True)
        return None
    return path if os.path.isfile(os.path.join(path, "trainer_state.json")) else None


dataset = load_dataset(DATASET, split=SPLIT)
if MAX_SAMPLES is not None:
    dataset = dataset.select(range(min(MAX_SAMPLES, len(dataset))))
