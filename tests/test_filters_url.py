"""URL filter: each rule and its reason, UT1 lists from tar.gz and folders, soft-word edge."""

import io
import pickle
import tarfile
from pathlib import Path

import pytest

from ccforge.document import Document
from ccforge.filters.url_filter import UrlFilter, UrlFilterConfig
from ccforge.filters.url_lists import HashSet, load_ut1

DOMAINS = "blocked-site.com\nsub.partly-blocked.net\n10.1.2.3\nintranet.local\n"
URLS = "listed.org/one/page.html\n"


def write_ut1_tar(path: Path, category: str = "adult") -> Path:
    with tarfile.open(path, "w:gz") as archive:
        for name, text in (("domains", DOMAINS), ("urls", URLS), ("usage", "black\n")):
            data = text.encode()
            info = tarfile.TarInfo(f"{category}/{name}")
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return path


def make_filter(tmp_path: Path, **config) -> UrlFilter:
    defaults = dict(blocklists=[str(write_ut1_tar(tmp_path / "adult.tar.gz"))], use_fetched=False)
    stage = UrlFilter(UrlFilterConfig(**{**defaults, **config}))
    stage.setup()
    return stage


def reason(stage: UrlFilter, url: str) -> str | None:
    return stage.drop_reason(Document(id="d", url=url))


def test_each_rule_has_its_reason(tmp_path):
    stage = make_filter(tmp_path)
    assert reason(stage, "https://www.blocked-site.com/page") == "domain"
    assert reason(stage, "http://BLOCKED-SITE.com/") == "domain"
    assert reason(stage, "http://10.1.2.3/x") == "domain"
    assert reason(stage, "http://intranet.local:8080/x") == "domain"  # no public suffix: the host
    assert reason(stage, "https://sub.partly-blocked.net/a") == "subdomain"
    assert reason(stage, "https://other.partly-blocked.net/a") is None
    assert reason(stage, "https://listed.org/one/page.html") == "url"  # UT1 writes URLs without a scheme
    assert reason(stage, "https://listed.org/one/other.html") is None
    assert reason(stage, "https://news.example.com/bdsm/story") == "hard_blacklisted"
    assert reason(stage, "https://news.example.com/erotic-poems") is None  # one soft word
    assert reason(stage, "https://news.example.com/erotic-babes") == "soft_blacklisted"  # two
    assert reason(stage, "https://news.example.com/watchpornhubvideos") == "blacklisted_subword"
    assert reason(stage, "https://en.wikipedia.org/wiki/Toulouse") is None


def test_soft_word_threshold_edge(tmp_path):
    stage = make_filter(tmp_path, soft_word_threshold=3)
    assert reason(stage, "https://a.example.com/erotic-babes") is None  # 2 < 3
    assert reason(stage, "https://a.example.com/erotic-brunette-babes") == "soft_blacklisted"  # 3
    assert reason(make_filter(tmp_path, soft_word_threshold=0), "https://a.example.com/erotic-babes") is None


def test_config_lists_replace_or_extend(tmp_path):
    stage = make_filter(
        tmp_path,
        blocklists=[],
        extra_domains=["Mine.com"],
        extra_urls=["https://example.org/bad"],
        banned_words=["forbidden"],
        banned_subwords=["zzq"],
        soft_banned_words=["alpha", "beta"],
    )
    assert reason(stage, "https://www.mine.com/") == "domain"
    assert reason(stage, "https://example.org/bad") == "url"
    assert reason(stage, "https://example.org/a-forbidden-page") == "hard_blacklisted"
    assert reason(stage, "https://example.org/alpha/beta") == "soft_blacklisted"
    assert reason(stage, "https://example.org/xzzqx") == "blacklisted_subword"
    assert reason(stage, "https://example.org/xxx") is None  # FineWeb's word lists replaced


def test_ut1_folder_and_category_folders(tmp_path):
    (tmp_path / "lists" / "adult").mkdir(parents=True)
    (tmp_path / "lists" / "adult" / "domains").write_text(DOMAINS)
    (tmp_path / "flat").mkdir()
    (tmp_path / "flat" / "domains").write_text("# a comment line\r\nflat.test\r\n\r\n")
    lists = load_ut1([tmp_path / "lists", tmp_path / "flat"])
    assert "blocked-site.com" in lists["domains"] and "flat.test" in lists["domains"]
    assert "# a comment line" not in lists["domains"] and "comment" not in lists["domains"]
    assert len(lists["urls"]) == 0


def test_missing_or_bad_list_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="ccforge blocklist fetch"):
        load_ut1([tmp_path / "nope.tar.gz"])
    (tmp_path / "bad.txt").write_text("x")
    with pytest.raises(ValueError, match="neither a folder nor a tar"):
        load_ut1([tmp_path / "bad.txt"])


def test_hash_set_reads_long_lists_across_blocks(tmp_path, monkeypatch):
    import ccforge.filters.url_lists as url_lists

    monkeypatch.setattr(url_lists, "_BLOCK", 64)  # entries straddle block ends
    names = [f"domain-{i}.test" for i in range(500)]
    (tmp_path / "domains").write_text("\n".join(names))  # no final newline
    lists = load_ut1([tmp_path])
    assert len(lists["domains"]) == 500
    assert all(name in lists["domains"] for name in names)
    assert "domain-500.test" not in lists["domains"]
    assert "" not in HashSet.of([])


def test_loaded_lists_are_never_pickled(tmp_path):
    stage = make_filter(tmp_path)
    clone = pickle.loads(pickle.dumps(stage))
    assert not clone._ready and not hasattr(clone, "_domains")
    assert reason(clone, "https://blocked-site.com/") == "domain"  # loads again where it runs


def test_fetched_lists_are_used(tmp_path, monkeypatch):
    fetched = tmp_path / "fetched"
    fetched.mkdir()
    write_ut1_tar(fetched / "adult.tar.gz")
    monkeypatch.setenv("CCFORGE_BLOCKLISTS", str(fetched))
    stage = UrlFilter(UrlFilterConfig())
    stage.setup()
    assert reason(stage, "https://blocked-site.com/") == "domain"
    monkeypatch.setenv("CCFORGE_BLOCKLISTS", str(tmp_path / "none-fetched"))
    stage = UrlFilter(UrlFilterConfig())
    stage.setup()
    assert reason(stage, "https://blocked-site.com/") is None
