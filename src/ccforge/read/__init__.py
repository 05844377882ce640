"""The `read` room: input specs -> WARC files -> byte-range splits -> Documents or Drops.

No Beam here (Beam's FileSystems is used, lazily, only to open s3:// and gs:// paths).
"""

from ccforge.read.errors import ReadError
from ccforge.read.reader import ReadConfig, WarcSplit, plan_splits, read_split
from ccforge.read.specs import resolve_inputs

__all__ = ["ReadConfig", "ReadError", "WarcSplit", "plan_splits", "read_split", "resolve_inputs"]
