"""URL blocklists: domains, URLs, banned words and sub-words (UT1 format).

Placeholder: passes documents through until this stage is built.
"""

from __future__ import annotations

from dataclasses import dataclass

from ccforge.stage import PassThrough


@dataclass
class UrlFilterConfig:
    enabled: bool = True


class UrlFilter(PassThrough):
    name = "url_filter"

    def __init__(self, config: UrlFilterConfig):
        self.config = config
