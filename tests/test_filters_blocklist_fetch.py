"""`fetch_blocklists` against a loopback HTTP server (never the real publisher in tests)."""

import functools
import http.server
import io
import tarfile
import threading

import pytest

from ccforge.blocklist import BlocklistError, fetch_blocklists, fetched_blocklists
from ccforge.filters.url_lists import load_ut1


def ut1_archive(category: str, domains: str) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        data = domains.encode()
        info = tarfile.TarInfo(f"{category}/domains")
        info.size = len(data)
        archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:  # the server's request log would mix into the command's stderr
        pass


@pytest.fixture
def publisher(tmp_path, monkeypatch):
    for name in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)  # talk to the loopback server directly
    site = tmp_path / "site"
    site.mkdir()
    handler = functools.partial(QuietHandler, directory=str(site))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield site, f"http://127.0.0.1:{server.server_address[1]}/blacklists/download/"
    server.shutdown()
    server.server_close()


def test_fetch_saves_each_category_archive(publisher, tmp_path):
    site, base_url = publisher
    (site / "blacklists" / "download").mkdir(parents=True)
    (site / "blacklists" / "download" / "adult.tar.gz").write_bytes(ut1_archive("adult", "bad.com\n"))
    (site / "blacklists" / "download" / "gambling.tar.gz").write_bytes(ut1_archive("gambling", "bet.com\n"))
    dest = fetch_blocklists(tmp_path / "lists", categories=("adult", "gambling"), base_url=base_url)
    assert sorted(p.name for p in fetched_blocklists(dest)) == ["adult.tar.gz", "gambling.tar.gz"]
    domains = load_ut1(fetched_blocklists(dest))["domains"]
    assert "bad.com" in domains and "bet.com" in domains


def test_failed_fetch_keeps_the_previous_lists(publisher, tmp_path):
    site, base_url = publisher
    dest = tmp_path / "lists"
    dest.mkdir()
    (dest / "adult.tar.gz").write_bytes(ut1_archive("adult", "old.com\n"))
    with pytest.raises(BlocklistError, match="could not download .*adult.tar.gz"):
        fetch_blocklists(dest, base_url=base_url)  # 404
    (site / "blacklists" / "download").mkdir(parents=True)
    (site / "blacklists" / "download" / "adult.tar.gz").write_bytes(b"<html>not an archive</html>")
    with pytest.raises(BlocklistError, match="not a UT1 archive"):
        fetch_blocklists(dest, base_url=base_url)
    assert [p.name for p in dest.iterdir()] == ["adult.tar.gz"]
    assert "old.com" in load_ut1([dest / "adult.tar.gz"])["domains"]


def test_category_names_are_checked(tmp_path):
    with pytest.raises(BlocklistError, match="not a UT1 category"):
        fetch_blocklists(tmp_path, categories=("../etc",), base_url="http://127.0.0.1:9/")


def test_default_destination_follows_the_environment(tmp_path, monkeypatch):
    from ccforge.blocklist import default_blocklist_dir

    monkeypatch.setenv("CCFORGE_BLOCKLISTS", str(tmp_path / "mine"))
    assert default_blocklist_dir() == tmp_path / "mine"
    monkeypatch.delenv("CCFORGE_BLOCKLISTS")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    assert default_blocklist_dir() == tmp_path / "cache" / "ccforge" / "blocklists"
    assert fetched_blocklists() == []


def test_blocklist_fetch_command_saves_and_reports(publisher, tmp_path, capsys):
    from ccforge.cli import main

    site, base_url = publisher
    (site / "blacklists" / "download").mkdir(parents=True)
    (site / "blacklists" / "download" / "adult.tar.gz").write_bytes(ut1_archive("adult", "bad.com\n"))
    dest = tmp_path / "lists"
    assert main(["blocklist", "fetch", "--dest", str(dest), "--base-url", base_url]) == 0
    assert f"saved to {dest}" in capsys.readouterr().out
    assert "bad.com" in load_ut1(fetched_blocklists(dest))["domains"]
    # a category the publisher lacks: exit 2 with one line, the saved list kept
    assert main(["blocklist", "fetch", "--dest", str(dest), "--base-url", base_url, "--category", "gambling"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("ccforge blocklist: error: could not download") and len(err.splitlines()) == 1
    assert [p.name for p in fetched_blocklists(dest)] == ["adult.tar.gz"]
