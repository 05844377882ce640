"""Fetch UT1's URL blocklists from their publisher (`ccforge blocklist fetch`).

UT1 (Université Toulouse 1 Capitole) publishes one tar.gz per category (`adult`,
`gambling`, ...), each holding `<category>/domains` and `<category>/urls`, under
CC BY-SA 4.0. They are saved as downloaded, `DEST/<category>.tar.gz`; the URL filter
reads them from there (`url_filter.use_fetched`) without unpacking them. Tests and
offline machines use lists ccforge ships or the config names instead.
"""

from __future__ import annotations

import os
import re
import shutil
import tarfile
import urllib.request
from collections.abc import Iterable
from pathlib import Path

UT1_BASE_URL = "https://dsi.ut-capitole.fr/blacklists/download/"
_CATEGORY = re.compile(r"^[a-z0-9_-]+$")


class BlocklistError(RuntimeError):
    """A fetch that failed; the message is one line saying what to do."""


def default_blocklist_dir() -> Path:
    """$CCFORGE_BLOCKLISTS, else $XDG_CACHE_HOME/ccforge/blocklists (~/.cache/...)."""
    if os.environ.get("CCFORGE_BLOCKLISTS"):
        return Path(os.environ["CCFORGE_BLOCKLISTS"]).expanduser()
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return cache / "ccforge" / "blocklists"


def fetched_blocklists(directory: Path | None = None) -> list[Path]:
    """The category archives `fetch_blocklists` saved in `directory` (none if it is missing)."""
    directory = directory or default_blocklist_dir()
    return sorted(directory.glob("*.tar.gz")) if directory.is_dir() else []


def fetch_blocklists(
    dest: Path | None = None,
    categories: Iterable[str] = ("adult",),
    base_url: str = UT1_BASE_URL,
    timeout_s: float = 120.0,
) -> Path:
    """Download each category's list to `dest/<category>.tar.gz`; returns `dest`.

    A download goes to a `.part` file first and replaces the old archive only once it
    reads as a tar holding a `domains` list, so a failed fetch keeps the previous one.
    """
    dest = Path(dest) if dest is not None else default_blocklist_dir()
    dest.mkdir(parents=True, exist_ok=True)
    for category in categories:
        if not _CATEGORY.match(category):
            raise BlocklistError(f"'{category}' is not a UT1 category name (letters, digits, '_' or '-')")
        url = f"{base_url.rstrip('/')}/{category}.tar.gz"
        final = dest / f"{category}.tar.gz"
        partial = dest / f"{category}.tar.gz.part"
        try:
            request = urllib.request.Request(url, headers={"User-Agent": "ccforge-blocklist-fetch"})
            with urllib.request.urlopen(request, timeout=timeout_s) as response, open(partial, "wb") as out:
                shutil.copyfileobj(response, out, 1 << 20)
        except OSError as exc:  # URLError, HTTPError and timeouts are OSErrors
            partial.unlink(missing_ok=True)
            raise BlocklistError(f"could not download {url}: {exc}; check the network or the category name") from None
        if not _holds_domains(partial):
            partial.unlink(missing_ok=True)
            raise BlocklistError(f"{url} is not a UT1 archive with a 'domains' list; check the category name")
        os.replace(partial, final)
    return dest


def _holds_domains(path: Path) -> bool:
    try:
        with tarfile.open(path, "r:*") as archive:
            return any(member.name.rsplit("/", 1)[-1] == "domains" for member in archive)
    except (tarfile.TarError, OSError, EOFError):
        return False
