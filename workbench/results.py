"""Pinned training results: the shapes a run's metrics.json may take, read one way for verify and the writeup."""

from __future__ import annotations


def epoch_rows(metrics) -> tuple[tuple[dict, ...], dict]:
    """Per-epoch rows and scalar summary from the shapes a metrics.json may take."""
    summary = {}
    if isinstance(metrics, dict):
        summary = {k: v for k, v in metrics.items() if isinstance(v, (int, float, str)) and not isinstance(v, bool)}
        for key in ("final", "summary"):
            if isinstance(metrics.get(key), dict):
                summary.update({k: v for k, v in metrics[key].items() if isinstance(v, (int, float, str))})
        rows = next((metrics[k] for k in ("epochs", "history", "per_epoch") if isinstance(metrics.get(k), list)), None)
        if rows is None:
            series = {k: v for k, v in metrics.items() if isinstance(v, list) and v and all(isinstance(x, (int, float)) for x in v)}
            n = min((len(v) for v in series.values()), default=0)
            rows = [{k: v[i] for k, v in series.items()} for i in range(n)]
    else:
        rows = metrics if isinstance(metrics, list) else []
    return tuple(r for r in rows if isinstance(r, dict)), summary
