"""huggingface_hub stand-in: snapshot_download answers from $FAKE_HUB (a folder per repo id), or
raises like the real one for a repository that does not exist."""
import os

from _fake_record import record


class RepositoryNotFoundError(Exception):
    pass


def snapshot_download(repo_id, allow_patterns=None, **kwargs):
    record("snapshot_download", repo_id=repo_id, allow_patterns=allow_patterns)
    path = os.path.join(os.environ.get("FAKE_HUB", "/nonexistent"), repo_id)
    if not os.path.isdir(path):
        raise RepositoryNotFoundError(repo_id)
    return path
