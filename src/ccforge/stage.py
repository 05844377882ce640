"""The stage protocol: plain Python, no Beam.

A stage loads what it needs in `setup()` (models, lists; never at construction time,
so the stage pickles small for remote workers) and maps one document to a document
or to a `Drop`. Beam sees stages only through `ccforge.pipeline.adapter`.
"""

from __future__ import annotations

from typing import ClassVar

from ccforge.document import Document, Drop


class Stage:
    """Base class for a one-document-in, one-or-zero-out step."""

    name: ClassVar[str] = ""
    # Documents handed to `process_batch` at once (a model scores a batch faster than one
    # document at a time); 1 means the runner calls `process` for each document.
    batch_size: ClassVar[int] = 1

    def setup(self) -> None:
        """Load models and lists. Called once per worker before any `process`."""

    def process(self, doc: Document) -> Document | Drop:
        raise NotImplementedError

    def process_batch(self, docs: list[Document]) -> list[Document | Drop]:
        """One result per document, in order. Override when a batch is cheaper than its parts."""
        return [self.process(doc) for doc in docs]

    def teardown(self) -> None:
        """Release what `setup` took (process pools, files)."""

    def take_counts(self) -> dict[str, int]:
        """Counts beyond keep/drop since the last call (e.g. `found:email`), then reset.

        The Beam adapter adds them to the funnel as `<stage>:<key>`.
        """
        return {}


class Filter(Stage):
    """A stage that keeps a document unchanged or drops it: implement `drop_reason`."""

    def drop_reason(self, doc: Document) -> str | None:
        raise NotImplementedError

    def process(self, doc: Document) -> Document | Drop:
        reason = self.drop_reason(doc)
        return doc if reason is None else Drop(reason)


class PassThrough(Stage):
    """Keeps every document. Used by stages whose real work is not built yet."""

    def process(self, doc: Document) -> Document | Drop:
        return doc
