"""One script for Chinese text: traditional characters to simplified (OpenCC's `t2s` tables).

Statistics and shingles of Chinese text must not depend on the script it was written
in: the same article in traditional and simplified characters is one text. OpenCC's
maintained tables (the `opencc` wheel) do the conversion; text without Han characters
is returned unchanged at the cost of one regex search.
"""

from __future__ import annotations

import re
from functools import lru_cache

_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")


@lru_cache(maxsize=1)
def _t2s():
    import opencc  # loaded on first use: its tables cost ~20 ms and most text has no Han

    return opencc.OpenCC("t2s")


def to_simplified(text: str) -> str:
    """`text` with traditional Chinese characters replaced by simplified ones."""
    if not _HAN.search(text):
        return text
    return _t2s().convert(text)
