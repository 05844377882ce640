"""The one Beam adapter for stages: counts the funnel, routes drops to rejects.

Two forms of it: `ApplyStage`, a Beam step for one stage (phase B's pii), and
`StageChain`, which runs phase A's stages one after another on the documents of one
piece inside a single DoFn, so that the piece commits as a whole (pipeline/phase_a.py).
Both count `<stage>:in/kept/dropped:<reason>` the same way and turn a stage that raises
on a document into a drop of that document, `error:<Exception>`.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterable, Iterator
from itertools import islice

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
        result = guarded_process(self.stage, doc)
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


def guarded_process(stage: Stage, doc: Document) -> Document | Drop:
    """`stage.process(doc)`; an exception drops the document instead: bad input must never kill the job."""
    try:
        return stage.process(doc)
    except Exception as exc:
        log.warning("stage %s failed on %s: %s: %s", stage.name, doc.id, type(exc).__name__, exc)
        return Drop(f"error:{type(exc).__name__}")


def guarded_batch(stage: Stage, docs: list[Document]) -> list[Document | Drop]:
    """`stage.process_batch(docs)`; when the batch raises, each document alone, guarded."""
    try:
        results = stage.process_batch(docs)
        if len(results) == len(docs):
            return results
        log.warning("stage %s returned %d results for %d documents", stage.name, len(results), len(docs))
    except Exception as exc:
        log.warning("stage %s failed on a batch: %s: %s; trying each document", stage.name, type(exc).__name__, exc)
    return [guarded_process(stage, doc) for doc in docs]


class StageChain:
    """Stages in flow order over a stream of documents, as plain Python.

    `run(docs)` yields the documents that every stage kept. Stages take documents one at a
    time, or in blocks of their `batch_size` (the largest in the chain sets the block).
    `start(tally, on_drop)` begins a new piece: counts go to Beam counters and to `tally`;
    `on_drop(stage, reason, doc)` sees every drop (the rejects output).
    """

    def __init__(self, stages: list[Stage]):
        self.stages = stages
        self.block = max([1, *(stage.batch_size for stage in stages)])

    def setup(self) -> None:
        for stage in self.stages:
            stage.setup()
        self.counters = [StageCounters(stage.name) for stage in self.stages]
        self._on_drop = None
        self._busy = [0.0] * len(self.stages)

    def start(self, tally: dict[str, int] | None, on_drop: Callable[[str, str, Document], None] | None = None):
        for counters in self.counters:
            counters.tally = tally
        self._on_drop = on_drop
        self._busy = [0.0] * len(self.stages)

    def run(self, docs: Iterable[Document]) -> Iterator[Document]:
        docs = iter(docs)
        while block := list(islice(docs, self.block)):
            yield from self._through(block)

    def finish(self) -> None:
        """Ends a piece: stage times and the stages' own counts go to the counters."""
        for stage, counters, busy in zip(self.stages, self.counters, self._busy):
            counters.busy(busy)
            for key, value in stage.take_counts().items():
                counters.extra(key, value)

    def teardown(self) -> None:
        for stage in self.stages:
            stage.teardown()

    def _through(self, block: list[Document]) -> list[Document]:
        for index, (stage, counters) in enumerate(zip(self.stages, self.counters)):
            if not block:
                break
            started = time.perf_counter()
            if stage.batch_size > 1:
                results = guarded_batch(stage, block)
            else:
                results = [guarded_process(stage, doc) for doc in block]
            self._busy[index] += time.perf_counter() - started
            survivors = []
            for doc, result in zip(block, results):
                counters.seen()
                if isinstance(result, Drop):
                    counters.dropped(result.reason)
                    if self._on_drop is not None:
                        self._on_drop(stage.name, result.reason, doc)
                else:
                    counters.kept()
                    survivors.append(result)
            block = survivors
        return block


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
