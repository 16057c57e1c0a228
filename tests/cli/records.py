"""Small JSONL record files (the import/export shape) for CLI tests."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path


def write_records(path: Path, records: Mapping[str, Mapping[str, Sequence[str]]]) -> Path:
    """Write `local` records, identifier tail -> DC metadata, as JSONL at `path`."""
    lines = [
        json.dumps(
            {
                "source": "local",
                "identifier": f"oai:repository.example.org:{tail}",
                "datestamp": "2024-01-01T00:00:00Z",
                "metadata": {name: list(values) for name, values in metadata.items()},
            },
            ensure_ascii=False,
        )
        for tail, metadata in records.items()
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path
