"""Adding articles from the web UI (``qa serve --allow-upload DIR``).

Fast tests of the file-name sanitiser, of saving, checking and indexing uploads into a
real index, and of the HTTP routes; browser tests that upload through the chat page of
a real ``qa serve`` process, then ask about what was added.
"""

from __future__ import annotations

import html
import json
import re
import shutil
import socket
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import gradio.utils
import pytest

import qa
import ui
from qa import cli
from tests.conftest import REPO, SEEDS, write
from tests.ui.serving import qa_serve
from ui import texts
from ui.upload import (
    ALLOWED_SUFFIXES,
    DEFAULT_MAX_UPLOAD_MB,
    MAX_NAME_BYTES,
    Outcome,
    Refusal,
    Uploads,
    safe_name,
)
from vectorstore.store.local.folder import IndexDir

# Gradio's queue uses pandas options that pandas 3 deprecates; not ours to fix.
pytestmark = pytest.mark.filterwarnings("ignore::Warning:gradio.queueing")

NEWS = REPO / "tests" / "data" / "formats" / "news.html"
KREMLIN = "Wie nannte der Kreml die Verlegung?"
MB = 2**20
FAKE_PDF = b"<!DOCTYPE html><html><body><p>Kein PDF.</p></body></html>\n"
TRUNCATED_PDF = b"%PDF-1.7\n1 0 obj\n<< /Type /Catalog >>\n"
BINARY_HTML = b"<html>\x00\x01\x02" * 100


@pytest.mark.parametrize(
    ("name", "safe"),
    [
        ("Bericht.html", "Bericht.html"),
        ("../../evil name\x01.html", "evil name.html"),
        ("..\\..\\windows\\evil.htm", "evil.htm"),
        ("/etc/passwd.txt", "passwd.txt"),
        ("Ärger über Öl – Bericht.md", "Ärger über Öl – Bericht.md"),
        ("u\u0308ber.txt", "über.txt"),  # combining umlaut, composed
        (".bashrc.txt", "bashrc.txt"),
        ("...", "upload"),
        ("", "upload"),
        ("..", "upload"),
        ("-rf .txt", "rf.txt"),
        ("a*b?[c]{d}$e`f|g<h>.txt", "a_b__c__d__e_f_g_h_.txt"),
        ("tab\there  and\nnewline.md", "tab here and newline.md"),
        ("evil\u202egnp.html", "evilgnp.html"),  # a right-to-left override
        ("Report.PDF", "Report.pdf"),
        ("noext", "noext"),
        ("trailing. .html. ", "trailing.html"),
    ],
)
def test_safe_name(name, safe):
    assert safe_name(name) == safe


def test_safe_name_limits_the_length_and_keeps_the_suffix():
    long = safe_name("ä" * 500 + ".html")
    assert long.endswith(".html") and len(long.encode()) <= MAX_NAME_BYTES
    assert set(long.removesuffix(".html")) == {"ä"}


def test_the_cli_default_size_is_the_ui_s():
    assert cli.DEFAULT_MAX_UPLOAD_MB == DEFAULT_MAX_UPLOAD_MB == 20


@pytest.fixture
def index(tmp_path) -> qa.Index:
    """A fresh index over one seed article (each test adds its own uploads)."""
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    shutil.copy(next(SEEDS.glob("002_*.txt")), corpus)
    return qa.Index.build([corpus], tmp_path / "index")


def _file(folder: Path, name: str, data: bytes) -> Path:
    """A file as Gradio hands an upload on: somewhere else, under some other name."""
    return write(folder / "incoming" / uuid.uuid4().hex / name, data)


def test_an_uploaded_article_is_saved_indexed_and_cited(tmp_path, index):
    folder = tmp_path / "uploads"
    uploads = Uploads(index, folder, MB)
    news = NEWS.read_bytes()
    first = uploads.add([(_file(tmp_path, "x", news), "Ostflanke Bericht.html")])
    again = uploads.add([(_file(tmp_path, "y", news), "../Ostflanke Bericht.html")])
    assert [o.refusal for o in first + again] == [None, None]
    assert [o.name for o in first + again] == [
        "Ostflanke Bericht.html",
        "Ostflanke Bericht (2).html",
    ]
    assert {p.name for p in folder.iterdir()} == {o.name for o in first + again}
    assert (folder / "Ostflanke Bericht.html").read_bytes() == news  # never overwritten
    for outcome in first + again:
        assert outcome.source == f"{folder.as_posix()}/{outcome.name}"
        assert outcome.info == index.source_info(outcome.source)
        assert (outcome.info.title, outcome.info.date) == (
            "NATO verstärkt ihre Ostflanke",
            "2022-02-11",
        )
    hits = index.search(KREMLIN, k=1, sources=[ui.source_pattern(first[0].source)])
    assert hits[0].citation.startswith(f"{first[0].source}:")
    # The folder is now one of the index's: a fresh load and a later `qa index` keep it.
    assert set(qa.Index.load(index.path).sources) == set(index.sources)
    assert qa.Index.build([], index.path).build_report.unchanged == tuple(sorted(index.sources))


@pytest.mark.parametrize(
    ("name", "data", "refusal", "reason"),
    [
        ("programm.exe", b"MZ\x90\x00", Refusal.TYPE, ""),
        ("bericht", b"Ein Artikel.\n", Refusal.TYPE, ""),
        ("bericht.pdf", FAKE_PDF, Refusal.CONTENT, "not a PDF (it holds an HTML page)"),
        ("bericht.txt", FAKE_PDF, Refusal.CONTENT, "holds an HTML page, not text"),
        ("kaputt.pdf", TRUNCATED_PDF, Refusal.CONTENT, "a truncated PDF"),
        ("junk.html", BINARY_HTML, Refusal.CONTENT, "looks binary"),
        ("leer.md", b"  \n\n", Refusal.CONTENT, "empty"),
        ("gross.txt", b"x" * (MB + 1), Refusal.TOO_LARGE, str(MB + 1)),
    ],
    ids=[
        "exe",
        "no-suffix",
        "pdf-is-html",
        "txt-is-html",
        "truncated-pdf",
        "binary",
        "empty",
        "too-large",
    ],
)
def test_refused_files_do_not_stay(tmp_path, index, name, data, refusal, reason):
    folder = tmp_path / "uploads"
    generation = index.generation
    outcome = Uploads(index, folder, MB).add([(_file(tmp_path, "upload.bin", data), name)])[0]
    assert (outcome.refusal, outcome.source, outcome.info) == (refusal, None, None)
    assert reason in outcome.detail
    assert list(folder.iterdir()) == []  # neither the file nor a temporary copy
    assert index.generation == generation


@pytest.mark.parametrize(
    ("name", "data"),
    [("bericht.pdf", FAKE_PDF), ("kaputt.pdf", TRUNCATED_PDF), ("junk.html", BINARY_HTML)],
    ids=["pdf-is-html", "truncated-pdf", "binary"],
)
def test_an_upload_is_refused_for_what_qa_index_skips_a_file(tmp_path, index, name, data):
    corpus = tmp_path / "corpus-2"
    path = write(corpus / name, data)
    refused = Uploads(index, tmp_path / "uploads", MB).add([(path, name)])[0]
    skipped = dict(index.update([corpus]).skipped)[f"{corpus.as_posix()}/{name}"]
    assert refused.refusal is Refusal.CONTENT
    assert refused.detail == skipped.replace(f"{corpus.as_posix()}/{name}", name)


def test_malicious_names_land_sanitised_inside_the_folder(tmp_path, index):
    folder = tmp_path / "deep" / "uploads"
    folder.mkdir(parents=True)
    outside = write(tmp_path / "outside.html", b"<p>nicht anfassen</p>")
    (folder / "link.html").symlink_to(outside)
    names = ["../../evil name\x01.html", "/tmp/evil.html", "..\\evil.html", "link.html", ".html"]
    files = [(_file(tmp_path, str(i), NEWS.read_bytes()), name) for i, name in enumerate(names)]
    before = set(tmp_path.rglob("*"))
    outcomes = Uploads(index, folder, MB).add(files)
    saved = ["evil name.html", "evil.html", "evil (2).html", "link (2).html"]
    assert [o.name for o in outcomes] == [*saved, "html"]
    assert [o.refusal for o in outcomes] == [None] * 4 + [Refusal.TYPE]
    assert outside.read_bytes() == b"<p>nicht anfassen</p>"  # the symlink was not followed
    created = {p for p in set(tmp_path.rglob("*")) - before if not p.is_relative_to(index.path)}
    assert created == {folder / name for name in saved}
    assert all(p.is_file() and not p.is_symlink() for p in created)


def test_a_locked_index_refuses_with_a_clear_message_and_keeps_nothing(tmp_path, index):
    folder = tmp_path / "uploads"
    uploads = Uploads(index, folder, MB)
    with IndexDir(index.path).lock():
        outcome = uploads.add([(_file(tmp_path, "a", NEWS.read_bytes()), "a.html")])[0]
    assert outcome.refusal is Refusal.LOCKED and "writing the index" in outcome.detail
    assert list(folder.iterdir()) == []
    shown = html.unescape(re.sub(r"<[^>]+>", "", ui.format_upload([outcome], "de", MB)))
    assert "Abgelehnt: a.html — ein anderer Prozess schreibt gerade den Index" in shown
    assert uploads.add([(_file(tmp_path, "b", NEWS.read_bytes()), "a.html")])[0].refusal is None


def test_format_upload_says_what_was_added_and_why_all_escaped():
    info = qa.SourceInfo("up/<b>x</b>.html", "html", "<script>alert(1)</script>", "2022-02", 5)
    outcomes = [
        Outcome("x.html", info.source, info),
        Outcome("y.txt", refusal=Refusal.TOO_LARGE, detail=str(MB + MB // 2)),
        Outcome("tool.exe", refusal=Refusal.TYPE),
        Outcome("z.pdf", refusal=Refusal.CONTENT, detail="z.pdf: <b>not a PDF</b>"),
        Outcome("a.md", refusal=Refusal.FAILED, detail="disk full"),
    ]
    for lang, lines in {
        "de": [
            "Hinzugefügt: up/<b>x</b>.html — 5 Textstellen · <script>alert(1)</script> · 2022-02",
            "Abgelehnt: y.txt — zu groß (1,5 MB, höchstens 1 MB)",
            f"Abgelehnt: tool.exe — kein Artikelformat (erlaubt: {', '.join(ALLOWED_SUFFIXES)})",
            "Abgelehnt: z.pdf — nicht lesbar, oder nicht, was die Endung sagt: z.pdf: <b>not",
            "Abgelehnt: a.md — konnte nicht hinzugefügt werden: disk full",
        ],
        "en": [
            "Added: up/<b>x</b>.html — 5 passages · <script>alert(1)</script> · 2022-02",
            "Refused: y.txt — too large (1.5 MB; at most 1 MB)",
            "Refused: tool.exe — not an article format (allowed: .txt, .md, .markdown",
            "Refused: z.pdf — unreadable, or not what its suffix says: z.pdf: <b>not a PDF</b>",
            "Refused: a.md — could not be added: disk full",
        ],
    }.items():
        page = ui.format_upload(outcomes, lang, MB)
        tags = set(re.findall(r"<(\w+)", page))
        assert tags == {"div", "p", "span", "code"}, tags
        shown = html.unescape(re.sub(r"<[^>]+>", "", page))
        for line in lines:
            assert line in shown, line
    assert "Keine Datei erhalten." in ui.format_upload([], "de", MB)


def test_build_app_refuses_a_bad_size_limit(seed_index, tmp_path):
    with pytest.raises(ValueError, match="max_upload_mb must be at least 1"):
        ui.build_app(seed_index, upload_dir=tmp_path, max_upload_mb=0)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _launch(app: ui.QABlocks) -> Iterator[str]:
    app.launch(
        server_name="127.0.0.1", server_port=_free_port(), prevent_thread_lock=True, quiet=True
    )
    try:
        yield app.local_url.rstrip("/")
    finally:
        app.close()


@pytest.fixture(scope="module")
def without_uploads(seed_index) -> Iterator[str]:
    yield from _launch(ui.build_app(seed_index))


@pytest.fixture(scope="module")
def with_uploads(seed_index, tmp_path_factory) -> Iterator[str]:
    folder = tmp_path_factory.mktemp("uploads")
    yield from _launch(ui.build_app(seed_index, upload_dir=folder, max_upload_mb=1))


def _post_file(url: str, name: str, data: bytes) -> tuple[int, str]:
    boundary = uuid.uuid4().hex
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="files"; filename="{name}"\r\n'
            "Content-Type: application/octet-stream\r\n\r\n"
        ).encode()
        + data
        + f"\r\n--{boundary}--\r\n".encode()
    )
    request = urllib.request.Request(
        url, data=body, headers={"Content-Type": f"multipart/form-data; boundary={boundary}"}
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def _status(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


def test_without_the_option_there_is_no_upload_route_and_no_control(without_uploads):
    assert _post_file(f"{without_uploads}/gradio_api/upload", "a.txt", b"x")[0] == 404
    assert _status(f"{without_uploads}/gradio_api/upload_progress?upload_id=x") == 404
    with urllib.request.urlopen(f"{without_uploads}/config", timeout=10) as response:
        config = json.load(response)
    assert not [c for c in config["components"] if c["type"] in {"uploadbutton", "file"}]


def test_uploads_are_limited_in_size_and_never_served_back(with_uploads):
    gradio_s = Path(gradio.utils.get_upload_folder())
    before = set(gradio_s.rglob("*"))
    status, body = _post_file(f"{with_uploads}/gradio_api/upload", "big.html", b"x" * (2 * MB))
    assert status == 413 and "maximum allowed size" in body
    assert set(gradio_s.rglob("*")) == before  # Gradio removed what it had received
    status, body = _post_file(f"{with_uploads}/gradio_api/upload", "ok.html", b"<p>x</p>")
    assert status == 200
    path = Path(re.findall(r'"([^"]+ok\.html)"', body)[0])
    assert path.exists()
    try:
        for url in (f"/gradio_api/file={path}", f"/file={path}", "/gradio_api/file=/etc/passwd"):
            assert _status(with_uploads + urllib.parse.quote(url)) == 403
    finally:
        shutil.rmtree(path.parent)  # no event took it: Gradio would keep it until it stops
    with urllib.request.urlopen(f"{with_uploads}/config", timeout=10) as response:
        config = json.load(response)
    assert config["max_file_size"] == MB
    buttons = [c for c in config["components"] if c["type"] == "uploadbutton"]
    assert [b["props"]["elem_id"] for b in buttons] == ["qa-upload"]


def test_gradio_may_read_its_upload_folder_and_nothing_else(tmp_path):
    folder = tmp_path / "gradio" / "uploads"
    for path in (folder / "abc", tmp_path / "gradio" / "other", tmp_path / "Gradio2"):
        path.mkdir(parents=True)
    blocked = ui.security._blocked_except(folder)
    upload = folder / "abc" / "a.html"
    assert gradio.utils.is_allowed_file(upload, blocked, [], [folder]) == (True, "created")
    for path in (
        tmp_path / "gradio" / "other" / "a.html",
        tmp_path / "Gradio2" / "a.html",
        Path("/etc/passwd"),
        REPO / "README.md",
    ):
        assert gradio.utils.is_allowed_file(path, blocked, [], [folder])[1] == "in_blocklist"


# -- the chat page of a real `qa serve --allow-upload`, in a browser -------------------------


@pytest.fixture(scope="module")
def served_uploads(tmp_path_factory) -> Iterator[dict[str, Any]]:
    """``qa serve --allow-upload DIR --max-upload-mb 1`` over two seeds; Gradio's temporary
    folder is a folder of the test's own, to check that no upload stays there.
    """
    root = tmp_path_factory.mktemp("served-uploads")
    corpus = root / "corpus"
    corpus.mkdir()
    for seed in sorted(SEEDS.glob("*.txt"))[2:4]:
        shutil.copy(seed, corpus)
    qa.Index.build([corpus], root / "index")
    folder, temporary = root / "archive" / "uploads", root / "gradio"
    options = ("--allow-upload", str(folder), "--max-upload-mb", "1")
    with qa_serve(root / "index", *options, env={"GRADIO_TEMP_DIR": str(temporary)}) as url:
        yield {
            "url": url,
            "root": root,
            "folder": folder,
            "index": root / "index",
            "temp": temporary,
        }


def _upload(page, files: list[dict[str, Any]]) -> None:
    with page.expect_file_chooser() as chooser:
        page.click("#qa-upload")
    chooser.value.set_files(files)


def _upload_and_wait(page, files: list[dict[str, Any]]) -> str:
    """Uploads files through the page; returns the result it then shows."""
    before = page.inner_html("#qa-upload-result")
    _upload(page, files)
    page.wait_for_function(
        "before => { const e = document.querySelector('#qa-upload-result');"
        " return e.innerHTML !== before && e.querySelector('.qa-upload'); }",
        arg=before,
    )
    return page.inner_text("#qa-upload-result .qa-upload")


def _left_in_gradio_s_folder(served: dict[str, Any]) -> list[Path]:
    return [p for p in served["temp"].rglob("*") if p.is_file()]


@pytest.mark.browser
def test_upload_an_article_then_ask_about_it(page, served_uploads, artifacts):
    page.goto(served_uploads["url"])
    page.wait_for_selector("#qa-upload")
    hint = texts.text("de", "upload_hint", limit=1)
    assert page.inner_text("#qa-upload-result") == hint
    shown = _upload_and_wait(
        page, [{"name": "Ostflanke.html", "mimeType": "text/html", "buffer": NEWS.read_bytes()}]
    )
    source = f"{served_uploads['folder'].as_posix()}/Ostflanke.html"
    index = qa.Index.load(served_uploads["index"])
    info = index.source_info(source)
    assert shown == (
        f"Hinzugefügt: {source} — {info.passages} Textstellen · {info.title} · {info.date}"
    )
    assert (info.title, info.date) == ("NATO verstärkt ihre Ostflanke", "2022-02-11")
    assert (served_uploads["folder"] / "Ostflanke.html").read_bytes() == NEWS.read_bytes()
    page.screenshot(path=str(artifacts / "upload-added.png"), full_page=True)

    page.fill("#qa-question textarea", KREMLIN)
    page.click("#qa-ask")
    page.wait_for_selector("#qa-chat .qa-answer")
    expected = index.search(KREMLIN, k=5)
    assert expected[0].source == source
    answer = page.locator("#qa-chat .qa-answer").last
    assert answer.locator(".qa-cite code").all_inner_texts() == [p.citation for p in expected]
    first = answer.locator(".qa-passage").first
    assert first.locator(".qa-meta").inner_text() == f"{info.title} \u00b7 {info.date}"
    page.wait_for_selector("#qa-viewer .qa-cited")
    viewer = page.inner_text("#qa-viewer")
    assert f"{source} — Zeilen {expected[0].line_start}–{expected[0].line_end}" in viewer
    assert "Zählpixelkonto" not in viewer and "<p" not in viewer
    cited = page.locator("#qa-viewer .qa-cited .qa-lt").all_inner_texts()
    assert "\n\n".join(cited) == expected[0].text
    page.screenshot(path=str(artifacts / "upload-asked.png"), full_page=True)
    assert _left_in_gradio_s_folder(served_uploads) == []


@pytest.mark.browser
def test_refused_files_say_why_and_leave_nothing(page, served_uploads):
    folder = served_uploads["folder"]
    page.goto(served_uploads["url"])
    page.wait_for_selector("#qa-upload")
    before = set(folder.iterdir()) if folder.exists() else set()
    # The browser's own check: a type the control does not take is not even sent.
    _upload(
        page, [{"name": "programm.exe", "mimeType": "application/x-msdownload", "buffer": b"MZ"}]
    )
    page.get_by_text(re.compile(r"Invalid file type: programm\.exe")).wait_for()
    # The server's: a "PDF" that is an HTML page.
    shown = _upload_and_wait(
        page, [{"name": "bericht.pdf", "mimeType": "application/pdf", "buffer": FAKE_PDF}]
    )
    assert shown.startswith(
        "Abgelehnt: bericht.pdf — nicht lesbar, oder nicht, was die Endung sagt:"
    )
    assert "not a PDF (it holds an HTML page)" in shown
    assert (set(folder.iterdir()) if folder.exists() else set()) == before
    assert _left_in_gradio_s_folder(served_uploads) == []


@pytest.mark.browser
def test_a_file_above_the_limit_is_refused_before_it_is_sent(page, served_uploads, artifacts):
    folder = served_uploads["folder"]
    page.goto(served_uploads["url"])
    page.wait_for_selector("#qa-upload")
    before = set(folder.iterdir()) if folder.exists() else set()
    big = b"<p>" + b"Wort " * (2 * MB // 5) + b"</p>"
    _upload(page, [{"name": "gross.html", "mimeType": "text/html", "buffer": big}])
    page.get_by_text(
        re.compile(r"exceed the maximum allowed size of 1\.0 Mb.*gross\.html")
    ).wait_for()
    page.screenshot(path=str(artifacts / "upload-too-large.png"), full_page=True)
    assert page.inner_text("#qa-upload-result") == texts.text("de", "upload_hint", limit=1)
    assert (set(folder.iterdir()) if folder.exists() else set()) == before
    assert _left_in_gradio_s_folder(served_uploads) == []


@pytest.mark.browser
def test_a_malicious_file_name_lands_sanitised_in_the_folder(page, served_uploads):
    folder, root = served_uploads["folder"], served_uploads["root"]
    page.goto(served_uploads["url"])
    page.wait_for_selector("#qa-upload")
    files_before = {p for p in root.rglob("*") if p.is_file()}
    shown = _upload_and_wait(
        page,
        [
            {
                "name": "../../evil name\x01<b>.html",
                "mimeType": "text/html",
                "buffer": NEWS.read_bytes(),
            }
        ],
    )
    assert shown.startswith(f"Hinzugefügt: {folder.as_posix()}/evil name_b_.html — ")
    new = {p for p in root.rglob("*") if p.is_file()} - files_before
    new = {p for p in new if not p.is_relative_to(served_uploads["index"])}
    assert new == {folder / "evil name_b_.html"}
    assert _left_in_gradio_s_folder(served_uploads) == []
