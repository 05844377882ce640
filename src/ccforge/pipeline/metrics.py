"""Funnel counters as Beam metrics: `<stage>:in`, `<stage>:kept`, `<stage>:dropped:<reason>`.

Every Beam step that keeps or drops documents counts through `StageCounters`, so the
funnel in stats.json is read back from one place (`funnel_from_metrics`).
"""

from __future__ import annotations

import apache_beam as beam
from apache_beam.metrics.metric import MetricsFilter

NAMESPACE = "ccforge"


class StageCounters:
    """Counters of one stage. Create it in `DoFn.setup()` (Beam counters are cheap handles).

    Every count goes to a Beam counter (live progress on a runner's console) and, when
    `tally` is set, to that dict too: phase A keeps one tally per piece in the piece's
    marker, so a resumed run's funnel counts each piece exactly once.
    """

    def __init__(self, stage: str, tally: dict[str, int] | None = None):
        self.stage = stage
        self.tally = tally
        self._in = beam.metrics.Metrics.counter(NAMESPACE, f"{stage}:in")
        self._kept = beam.metrics.Metrics.counter(NAMESPACE, f"{stage}:kept")
        self._others: dict[str, beam.metrics.metricbase.Counter] = {}

    def seen(self, n: int = 1) -> None:
        self._in.inc(n)
        self._add("in", n)

    def kept(self, n: int = 1) -> None:
        self._kept.inc(n)
        self._add("kept", n)

    def dropped(self, reason: str, n: int = 1) -> None:
        self._count(f"dropped:{reason}", n)

    def busy(self, seconds: float) -> None:
        """Time spent inside the stage, summed over workers (`time_ms` in stats.json)."""
        self._count("time_ms", int(seconds * 1000))

    def extra(self, name: str, n: int = 1) -> None:
        """A count that is not part of the funnel (e.g. `pii:found:email`)."""
        self._count(name, n)

    def _count(self, name: str, n: int) -> None:
        counter = self._others.get(name)
        if counter is None:
            counter = self._others[name] = beam.metrics.Metrics.counter(NAMESPACE, f"{self.stage}:{name}")
        counter.inc(n)
        self._add(name, n)

    def _add(self, name: str, n: int) -> None:
        if self.tally is not None:
            key = f"{self.stage}:{name}"
            self.tally[key] = self.tally.get(key, 0) + n


def counters_from_result(result) -> dict[str, int]:
    """All ccforge counters of a finished pipeline, by name."""
    query = result.metrics().query(MetricsFilter().with_namespace(NAMESPACE))
    totals: dict[str, int] = {}
    for counter in query["counters"]:
        name = counter.key.metric.name
        value = counter.committed if counter.committed is not None else counter.attempted
        totals[name] = totals.get(name, 0) + int(value or 0)
    return totals


def string_sets_from_result(result) -> dict[str, list[str]]:
    """All ccforge string-set metrics of a finished pipeline (e.g. failed_inputs), sorted."""
    query = result.metrics().query(MetricsFilter().with_namespace(NAMESPACE))
    sets: dict[str, set[str]] = {}
    for metric in query.get("string_sets", []):
        value = metric.committed if metric.committed is not None else metric.attempted
        sets.setdefault(metric.key.metric.name, set()).update(value or ())
    return {name: sorted(values) for name, values in sets.items()}


def funnel_from_counters(counters: dict[str, int], stage_order: list[str]) -> list[dict]:
    """The funnel rows of stats.json, in flow order, for the stages that counted anything."""
    rows = []
    for stage in stage_order:
        prefix = f"{stage}:"
        if f"{stage}:in" not in counters and not any(k.startswith(prefix) for k in counters):
            continue
        dropped = {
            name[len(prefix) + len("dropped:"):]: value
            for name, value in sorted(counters.items())
            if name.startswith(prefix + "dropped:")
        }
        extras = {
            name[len(prefix):]: value
            for name, value in sorted(counters.items())
            if name.startswith(prefix) and name[len(prefix):].split(":")[0] not in ("in", "kept", "dropped", "time_ms")
        }
        row = {
            "name": stage,
            "in": counters.get(f"{stage}:in", 0),
            "kept": counters.get(f"{stage}:kept", 0),
            "dropped": dropped,
        }
        if f"{stage}:time_ms" in counters:
            row["time_s"] = round(counters[f"{stage}:time_ms"] / 1000, 3)
        if extras:
            row["counts"] = extras
        rows.append(row)
    return rows
