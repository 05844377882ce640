"""URL blocklists: domains, URLs, banned words and sub-words, as FineWeb filters URLs.

The rules and reasons of datatrove's `URLFilter`, in order: the registered domain
(`domain`) or the full host (`subdomain`) is on a domain list; the URL is on a URL
list (`url`); a banned word is one of the URL's words (`hard_blacklisted`); at least
`soft_word_threshold` soft-banned words are (`soft_blacklisted`); a banned sub-word
occurs anywhere in the URL's letters and digits (`blacklisted_subword`, Aho-Corasick).

Domain and URL lists are UT1's (tar.gz or folders; `url_lists.py`), those that
`ccforge blocklist fetch` saved, and any given in the config. The word lists are
FineWeb's, shipped in ccforge/data/blocklists. Unlike datatrove, words and URLs are
compared in lowercase, and a URL list entry matches with or without the scheme
(UT1 writes its URLs without one).
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from importlib import resources

from ccforge.document import Document
from ccforge.filters.url_lists import HashSet, load_ut1
from ccforge.stage import Filter

log = logging.getLogger(__name__)

_NON_ALNUM = re.compile(r"[^a-z0-9]+")
_SCHEME = re.compile(r"^[a-z][a-z0-9+.-]*://")
WORD_LISTS = ("banned_words", "banned_subwords", "soft_banned_words")


@dataclass
class UrlFilterConfig:
    enabled: bool = True
    # UT1 lists: .tar.gz files or folders holding `domains` and `urls` (or category folders of them)
    blocklists: list[str] = field(default_factory=list)
    use_fetched: bool = True  # also the lists `ccforge blocklist fetch` saved, when there are any
    extra_domains: list[str] = field(default_factory=list)
    extra_urls: list[str] = field(default_factory=list)
    # null: FineWeb's lists shipped with ccforge; a list replaces them
    banned_words: list[str] | None = None
    banned_subwords: list[str] | None = None
    soft_banned_words: list[str] | None = None
    soft_word_threshold: int = 2  # a URL with this many soft-banned words is dropped; 0 turns the rule off


class UrlFilter(Filter):
    name = "url_filter"

    def __init__(self, config: UrlFilterConfig):
        self.config = config
        self._ready = False

    def __getstate__(self) -> dict:
        # Loaded lists are hashed with this process's salt: never ship them elsewhere.
        return {"config": self.config, "_ready": False}

    def setup(self) -> None:
        import ahocorasick
        import tldextract

        config = self.config
        paths = list(config.blocklists)
        if config.use_fetched:
            from ccforge.blocklist import fetched_blocklists

            paths += [str(p) for p in fetched_blocklists()]
        lists = load_ut1(paths)
        self._domains = HashSet.union([lists["domains"], HashSet.of(config.extra_domains)])
        self._urls = HashSet.union([lists["urls"], HashSet.of(_without_scheme(u.lower()) for u in config.extra_urls)])
        if paths:
            log.info("url_filter: %d domains and %d URLs from %s", len(self._domains), len(self._urls), paths)
        words = {name: _word_list(getattr(config, name), name) for name in WORD_LISTS}
        self._banned_words = words["banned_words"]
        self._soft_banned_words = words["soft_banned_words"]
        self._subwords = ahocorasick.Automaton(ahocorasick.STORE_LENGTH)
        for word in words["banned_subwords"]:
            self._subwords.add_word(word)
        if len(self._subwords):
            self._subwords.make_automaton()
        # The public suffix list snapshot inside tldextract: no download, no cache files.
        self._extract = tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None)
        self._ready = True

    def drop_reason(self, doc: Document) -> str | None:
        if not self._ready:
            self.setup()
        url = doc.url.strip().lower()
        parts = self._extract(url)
        registered = getattr(parts, "top_domain_under_public_suffix", None)
        if registered is None:  # tldextract < 5.3
            registered = parts.registered_domain
        if not parts.suffix:  # an IP address or a host under no public suffix is its own domain
            registered = ".".join(p for p in (parts.subdomain, parts.domain) if p)
        if registered in self._domains:
            return "domain"
        if parts.fqdn in self._domains:
            return "subdomain"
        if url in self._urls or _without_scheme(url) in self._urls:
            return "url"
        url_words = set(_NON_ALNUM.split(url))
        if not self._banned_words.isdisjoint(url_words):
            return "hard_blacklisted"
        threshold = self.config.soft_word_threshold
        if threshold > 0 and len(self._soft_banned_words & url_words) >= threshold:
            return "soft_blacklisted"
        if len(self._subwords) and next(self._subwords.iter(_NON_ALNUM.sub("", url)), None) is not None:
            return "blacklisted_subword"
        return None


def _without_scheme(url: str) -> str:
    return _SCHEME.sub("", url, count=1)


def _word_list(configured: list[str] | None, name: str) -> frozenset[str]:
    """Words in their matching form (lowercase letters and digits), '#' lines skipped."""
    if configured is None:
        text = resources.files("ccforge").joinpath("data", "blocklists", f"{name}.txt").read_text("utf-8")
        configured = text.splitlines()
    words = (_NON_ALNUM.sub("", line.lower()) for line in configured if line.strip() and not line.startswith("#"))
    return frozenset(word for word in words if word)

