"""Classify's part of the run directory: ``inputs/datapoints.jsonl`` and ``inputs/labels.txt``."""

from __future__ import annotations

import json

from labrun.shared.usecases.base import ExportSink


def write_inputs(sink: ExportSink) -> dict[str, int]:
    columns = sink.config.get("columns") or {}
    id_col, label_col = columns.get("id", "id"), columns.get("label", "label")
    n = 0
    with sink.path("inputs/datapoints.jsonl").open("w", encoding="utf-8") as f:
        for ext, inputs, expected in sink.datapoints():
            item = {id_col: ext, **inputs, label_col: expected}
            item = {k: sink.scrub(v) if isinstance(v, str) else v for k, v in item.items()}
            f.write(json.dumps(item, ensure_ascii=False) + "\n")
            n += 1
    labels = list(sink.config.get("labels") or [])
    with sink.path("inputs/labels.txt").open("w", encoding="utf-8") as f:
        f.write(f"# labels of run {sink.run_id} ({sink.config.get('labels_source')})\n")
        f.writelines(sink.scrub(f"{label}\n") for label in labels)
    return {"datapoints": n, "labels": len(labels)}
