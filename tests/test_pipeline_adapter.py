"""The stage adapter: a stage that raises on one document drops it as `error:<Exception>`,
counted in the funnel and sent to the rejects with its reason, and the job goes on."""

from __future__ import annotations

import json

import apache_beam as beam
from apache_beam.options.pipeline_options import PipelineOptions
from apache_beam.runners.portability.fn_api_runner import FnApiRunner
from apache_beam.testing.util import assert_that, equal_to

from ccforge.document import Document, Drop
from ccforge.pipeline.adapter import ApplyStage
from ccforge.pipeline.metrics import counters_from_result
from ccforge.stage import Stage


class Fussy(Stage):
    """Raises on 'boom' and on 'key', drops 'short', upper-cases the rest; counts what it saw."""

    name = "fussy"

    def setup(self) -> None:
        self.seen = 0

    def process(self, doc: Document) -> Document | Drop:
        self.seen += 1
        if doc.text == "boom":
            raise ValueError("cannot parse")
        if doc.text == "key":
            return {}["missing"]
        if doc.text == "short":
            return Drop("too_short")
        doc.text = doc.text.upper()
        return doc

    def take_counts(self) -> dict[str, int]:
        seen, self.seen = self.seen, 0
        return {"seen": seen} if seen else {}


def test_a_stage_that_raises_drops_the_document_as_error_and_the_job_goes_on(tmp_path):
    texts = ["fine", "boom", "short", "key", "also fine", "boom"]
    docs = [Document(id=f"<urn:uuid:{i}>", url=f"http://example.com/{i}", text=t) for i, t in enumerate(texts)]
    pipeline = beam.Pipeline(runner=FnApiRunner(), options=PipelineOptions(["--direct_running_mode=in_memory"]))
    kept = pipeline | beam.Create(docs) | ApplyStage(Fussy(), rejects_to=str(tmp_path / "rejects" / "{stage}" / "part"))
    assert_that(kept | beam.Map(lambda doc: (doc.id, doc.text)),
                equal_to([("<urn:uuid:0>", "FINE"), ("<urn:uuid:4>", "ALSO FINE")]))
    result = pipeline.run()
    result.wait_until_finish()

    counters = {k: v for k, v in counters_from_result(result).items() if k.startswith("fussy:") and "time_ms" not in k}
    assert counters == {
        "fussy:in": 6, "fussy:kept": 2, "fussy:dropped:too_short": 1,
        "fussy:dropped:error:ValueError": 2, "fussy:dropped:error:KeyError": 1,
        "fussy:seen": 6,  # the stage's own counts arrive too, raising or not
    }
    rejects = [json.loads(line) for path in (tmp_path / "rejects" / "fussy").glob("part*.jsonl")
               for line in path.read_text().splitlines()]
    assert sorted((r["id"], r["reason"], r["stage"]) for r in rejects) == [
        ("<urn:uuid:1>", "error:ValueError", "fussy"),
        ("<urn:uuid:2>", "too_short", "fussy"),
        ("<urn:uuid:3>", "error:KeyError", "fussy"),
        ("<urn:uuid:5>", "error:ValueError", "fussy"),
    ]
