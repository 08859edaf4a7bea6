"""datasets stand-in: a small in-memory Dataset whose columns come from $FAKE_COLUMNS."""
import os

from _fake_record import record


def _value(column):
    if column == "messages":
        return [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}]
    if column.startswith("list_"):
        return [{"role": "user", "content": "x"}]
    if column == "label":
        return True
    return f"{column} text"


class Dataset:
    def __init__(self, columns, rows):
        self._rows = [{c: _value(c) for c in columns} for _ in range(rows)]
        self.column_names = list(columns)

    def __len__(self):
        return len(self._rows)

    def __getitem__(self, i):
        return self._rows[i]

    def select(self, indices):
        out = Dataset(self.column_names, 0)
        out._rows = [self._rows[i] for i in indices]
        return out

    def rename_column(self, src, dst):
        return self.rename_columns({src: dst})

    def rename_columns(self, mapping):
        for src in mapping:
            if src not in self.column_names:
                raise ValueError(f"column {src!r} not in the dataset")
        out = Dataset([mapping.get(c, c) for c in self.column_names], 0)
        out._rows = [{mapping.get(k, k): v for k, v in r.items()} for r in self._rows]
        return out


def load_dataset(name, split=None, **kwargs):
    columns = os.environ.get("FAKE_COLUMNS", "messages").split(",")
    rows = int(os.environ.get("FAKE_ROWS", "50"))
    record("load_dataset", name=name, split=split)
    return Dataset(columns, rows)
