"""The one Beam adapter for stages: counts the funnel, routes drops to rejects."""

from __future__ import annotations

import json
import logging
import time

import apache_beam as beam
from apache_beam import pvalue

from ccforge.document import Document, Drop
from ccforge.pipeline.metrics import StageCounters
from ccforge.stage import Stage

log = logging.getLogger(__name__)

REJECTS = "rejects"
REJECT_TEXT_CHARS = 2000  # enough to see why it was dropped, not a second corpus


class StageDoFn(beam.DoFn):
    """Runs a Stage on each document, counting `<stage>:in/kept/dropped:<reason>`.

    A stage that raises on one document drops that document as `error:<Exception>`
    and the job goes on.
    """

    def __init__(self, stage: Stage, with_rejects: bool = False):
        self.stage = stage
        self.with_rejects = with_rejects

    def setup(self):
        self.stage.setup()
        self.counters = StageCounters(self.stage.name)

    def start_bundle(self):
        self._busy_s = 0.0

    def process(self, doc: Document):
        self.counters.seen()
        started = time.perf_counter()
        try:
            result = self.stage.process(doc)
        except Exception as exc:  # bad input must never kill the job
            log.warning("stage %s failed on %s: %s: %s", self.stage.name, doc.id, type(exc).__name__, exc)
            result = Drop(f"error:{type(exc).__name__}")
        self._busy_s += time.perf_counter() - started
        if isinstance(result, Drop):
            self.counters.dropped(result.reason)
            if self.with_rejects:
                yield pvalue.TaggedOutput(REJECTS, reject_record(self.stage.name, result.reason, doc))
            return
        self.counters.kept()
        yield result

    def finish_bundle(self):
        self.counters.busy(self._busy_s)
        for key, value in self.stage.take_counts().items():
            self.counters.extra(key, value)

    def teardown(self):
        self.stage.teardown()


def reject_record(stage: str, reason: str, doc: Document) -> str:
    return json.dumps(
        {"stage": stage, "reason": reason, "id": doc.id, "url": doc.url, "text": doc.text[:REJECT_TEXT_CHARS]},
        ensure_ascii=False,
    )


class ApplyStage(beam.PTransform):
    """`docs | stage.name >> ApplyStage(stage, rejects_to)`: kept documents out.

    With `rejects_to`, a file prefix holding `{stage}` (e.g. `OUT/rejects/{stage}/chunk-3`),
    dropped documents go there as JSON lines with their reason.
    """

    def __init__(self, stage: Stage, rejects_to: str | None = None):
        super().__init__()
        self.stage = stage
        self.rejects_to = rejects_to

    def expand(self, docs):
        if not self.rejects_to:
            return docs | beam.ParDo(StageDoFn(self.stage))
        results = docs | beam.ParDo(StageDoFn(self.stage, with_rejects=True)).with_outputs(REJECTS, main="kept")
        _ = results[REJECTS] | "write rejects" >> beam.io.WriteToText(
            self.rejects_to.format(stage=self.stage.name), file_name_suffix=".jsonl"
        )
        return results["kept"]
