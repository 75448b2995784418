"""Faults in the corpus and in the index folder: odd files, killed and concurrent builds,
damaged or malicious index files.

Real model, real FAISS, real files and real processes.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

import qa
from tests.conftest import REPO, write
from vectorstore import IndexDir

QUESTIONS = [
    "Wie viele Fahrräder meldet die Stadt Köln?",
    "Welche Brücke wird in Hamburg saniert?",
    "Wer eröffnet das Museum in Leipzig?",
    "Сколько стоит билет?",
]
CITIES = ["Köln", "Hamburg", "Leipzig", "München", "Bremen", "Dresden", "Kiel", "Mainz"]
THINGS = ["Fahrräder", "Brücke", "Museum", "Straßenbahn", "Bibliothek", "Schwimmbad"]


def _article(i: int, paragraphs: int = 6) -> str:
    city, thing = CITIES[i % len(CITIES)], THINGS[i % len(THINGS)]
    parts = [f"Meldung {i} aus {city}"]
    for j in range(paragraphs):
        parts.append(
            f"Die Stadt {city} meldet {i * 7 + j} neue Vorhaben rund um {thing}.\n"
            f"Der Rat berät am {j + 1}. Tag darüber; die Kosten liegen bei {i * 1000 + j} Euro."
        )
    return "\n\n".join(parts) + "\n"


def _corpus(root: Path, n: int = 40, paragraphs: int = 6) -> Path:
    for i in range(n):
        write(root / f"{i:03d}.txt", _article(i, paragraphs))
    return root


def _current(index_dir: Path) -> Path:
    return index_dir / (index_dir / "CURRENT").read_text().strip()


def _answers(idx: qa.Index) -> list[list[tuple[str, int, int, str, float]]]:
    return [
        [(p.source, p.line_start, p.line_end, p.text, round(p.score, 5)) for p in hits]
        for hits in idx.batch_search(QUESTIONS, k=5)
    ]


def _assert_consistent(index_dir: Path, disk: Callable[[str], str] | None = None) -> None:
    """Every passage's text stands on its cited lines of its stored article, whose hash is
    the recorded one; with ``disk``, the stored article is also the file's current text."""
    snap = IndexDir(index_dir).open()
    records = {r.name: r for r in snap.manifest.sources}
    for name in snap.source_names:
        stored = snap.source_text(name)
        if records[name].encoding.startswith("utf-8"):
            digest = hashlib.sha256(stored.encode("utf-8")).hexdigest()
            assert digest == records[name].sha256, f"{name}: stored text is not what was hashed"
        if disk is not None:
            assert stored == disk(name), f"{name}: stored text differs from the file"
    for row in range(len(snap.passages)):
        p = snap.passages[row]
        name = snap.source_names[int(p["source"])]
        lines = snap.source_text(name).split("\n")
        start, end = int(p["line_start"]), int(p["line_end"])
        text = snap.passage_text(row)
        cited = lines[start - 1 : end]
        assert 1 <= start <= end <= len(lines), (name, start, end)
        assert text in "\n".join(cited), (name, start, end, text)
        assert text.split("\n")[0] in cited[0] and text.split("\n")[-1] in cited[-1]


_QA = (sys.executable, "-m", "qa")


def _qa(*args: str, timeout: float = 180) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "qa", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def _one_line_error(stderr: str) -> str:
    assert "Traceback" not in stderr, stderr
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("qa: error: "), stderr
    return lines[0]


# -- corpus files -------------------------------------------------------------------------


def test_latin1_and_cp1252_files_are_cited_on_the_right_lines(tmp_path: Path) -> None:
    corpus = tmp_path / "c"
    latin = (
        "Überschrift: Nachrichten aus Köln\n"
        "\n"
        "Erster Absatz über das Wetter.\n"
        "Es regnet in Düsseldorf.\n"
        "\n"
        "\n"
        "Grüße aus Münster, sagte der Bürgermeister.\n"
        "Die Straße wird gesperrt.\n"
        "\n"
        "Letzte Zeile mit ß und ä.\n"
    )
    write(corpus / "latin1.txt", latin.encode("latin-1"))
    cp1252 = "Preis: 5 € pro Stück.\n\n„Zitat“ – sagte sie…\n"
    write(corpus / "cp1252.txt", cp1252.encode("cp1252"))
    idx = qa.Index.build([corpus], tmp_path / "idx")
    assert idx.source_text(f"{corpus}/latin1.txt") == latin
    assert idx.source_text(f"{corpus}/cp1252.txt") == cp1252
    hit = idx.search("Grüße aus Münster Bürgermeister", k=1, mode=qa.SearchMode.LEXICAL)[0]
    assert (hit.source, hit.line_start, hit.line_end) == (f"{corpus}/latin1.txt", 7, 8)
    assert hit.text == "Grüße aus Münster, sagte der Bürgermeister.\nDie Straße wird gesperrt."
    hit = idx.search("Zitat sagte sie", k=1, mode=qa.SearchMode.LEXICAL)[0]
    assert (hit.source, hit.line_start, hit.text) == (
        f"{corpus}/cp1252.txt",
        3,
        cp1252.split("\n")[2],
    )
    _assert_consistent(tmp_path / "idx")


def test_binary_and_empty_files_are_skipped_with_a_warning_naming_them(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    corpus = tmp_path / "c"
    write(corpus / "good.txt", "Ein guter Artikel.\n")
    bad = {
        "zero.txt": b"",
        "blank.txt": b" \n\r\n\t\n",
        "utf16.txt": "Hallo Welt, auf UTF-16.\n".encode("utf-16"),
        "png.txt": b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)),
        "elf.txt": b"\x7fELF\x02\x01\x01\x00" + b"\x00" * 64,
    }
    for name, data in bad.items():
        write(corpus / name, data)
    with caplog.at_level("WARNING", logger="qa"):
        idx = qa.Index.build([corpus], tmp_path / "idx")
    assert idx.sources == (f"{corpus}/good.txt",)
    skipped = dict(idx.build_report.skipped)
    warned = [r.getMessage() for r in caplog.records if r.name == "qa"]
    for name in bad:
        assert f"{corpus}/{name}" in skipped, name
        assert any(name in message for message in warned), (name, warned)


def test_unreadable_files_are_skipped_with_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    corpus = tmp_path / "c"
    write(corpus / "good.txt", "Ein guter Artikel.\n")
    # A dangling symlink inside the folder: listed, but reading fails.
    (corpus / "dangling.txt").symlink_to(corpus / "deleted-meanwhile.txt")
    # A folder whose name looks like an article.
    (corpus / "folder.txt").mkdir()
    write(corpus / "folder.txt" / "inner.txt", "Innerer Artikel.\n")
    expected = {"dangling.txt"}
    if os.geteuid() != 0:  # root reads a mode-000 file anyway
        locked = write(corpus / "locked.txt", "Gesperrt.\n")
        locked.chmod(0)
        expected.add("locked.txt")
    with caplog.at_level("WARNING", logger="qa"):
        idx = qa.Index.build([corpus], tmp_path / "idx")
    assert idx.sources == (f"{corpus}/folder.txt/inner.txt", f"{corpus}/good.txt")
    for name in expected:
        assert f"{corpus}/{name}" in dict(idx.build_report.skipped)
        assert name in caplog.text


def test_a_fifo_in_the_corpus_does_not_hang_indexing(tmp_path: Path) -> None:
    corpus = tmp_path / "c"
    write(corpus / "good.txt", "Ein guter Artikel.\n")
    fifo = corpus / "pipe.txt"
    os.mkfifo(fifo)
    result: dict[str, object] = {}

    def build() -> None:
        try:
            result["index"] = qa.Index.build([corpus], tmp_path / "idx")
        except BaseException as exc:  # reported below
            result["error"] = exc

    thread = threading.Thread(target=build, daemon=True)
    thread.start()
    thread.join(timeout=15)
    hung = thread.is_alive()
    deadline = time.monotonic() + 10
    while thread.is_alive() and time.monotonic() < deadline:
        # Unblock the reader: open the write end and close it (EOF), as often as it opens.
        with contextlib.suppress(OSError):
            os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
        thread.join(timeout=0.2)
    assert not hung, "indexing blocked on reading a FIFO named pipe.txt"
    assert "error" not in result, result.get("error")
    idx = result["index"]
    assert isinstance(idx, qa.Index)
    assert idx.sources == (f"{corpus}/good.txt",)
    assert f"{corpus}/pipe.txt" in dict(idx.build_report.skipped)


def test_symlink_loops_terminate_and_count_each_file_once(tmp_path: Path) -> None:
    corpus = tmp_path / "c"
    write(corpus / "a.txt", "Die Katze schläft.\n")
    write(corpus / "sub" / "b.txt", "Der Hund bellt.\n")
    (corpus / "loop").symlink_to(corpus, target_is_directory=True)
    (corpus / "sub" / "up").symlink_to("..", target_is_directory=True)
    (corpus / "sub" / "self").symlink_to(".", target_is_directory=True)
    idx = qa.Index.build([corpus], tmp_path / "idx")
    assert idx.sources == (f"{corpus}/a.txt", f"{corpus}/sub/b.txt")
    assert len(idx) == 2
    # Naming the loop itself as the corpus path also terminates.
    idx = qa.Index.build([corpus / "loop"], tmp_path / "idx2")
    assert idx.sources == (f"{corpus}/loop/a.txt", f"{corpus}/loop/sub/b.txt")


def test_symlinks_out_of_the_corpus_are_not_indexed(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    outside = write(tmp_path / "outside" / "secret.txt", "Geheim: hunter2.\n")
    write(tmp_path / "outside" / "more" / "x.txt", "Auch geheim.\n")
    corpus = tmp_path / "c"
    write(corpus / "a.txt", "Die Katze schläft.\n")
    (corpus / "link.txt").symlink_to(outside)
    (corpus / "rel.txt").symlink_to(Path("..") / "outside" / "secret.txt")
    (corpus / "dir").symlink_to(outside.parent, target_is_directory=True)
    (corpus / "etc.txt").symlink_to("/etc/passwd")
    with caplog.at_level("WARNING", logger="qa"):
        idx = qa.Index.build([corpus], tmp_path / "idx")
    assert idx.sources == (f"{corpus}/a.txt",)
    assert "hunter2" not in idx.source_text(f"{corpus}/a.txt")
    assert "link.txt" in caplog.text and "rel.txt" in caplog.text


def test_a_file_changed_between_builds_is_cited_from_its_new_text(tmp_path: Path) -> None:
    corpus = _corpus(tmp_path / "c", n=6, paragraphs=3)
    index_dir = tmp_path / "idx"
    qa.Index.build([corpus], index_dir)

    def disk(name: str) -> str:
        return Path(name).read_text(encoding="utf-8")

    _assert_consistent(index_dir, disk)
    # Lines inserted on top (every citation shifts), a paragraph rewritten, one file
    # truncated to one line, one rewritten with the same bytes (a new mtime only).
    first = corpus / "000.txt"
    first.write_text(
        "Neu.\n\n\nVorspann.\n\n" + first.read_text(encoding="utf-8"), encoding="utf-8"
    )
    second = corpus / "001.txt"
    second.write_text(
        second.read_text(encoding="utf-8").replace("neue Vorhaben", "ganz\nandere\nPläne"),
        encoding="utf-8",
    )
    (corpus / "002.txt").write_text("Nur noch eine Zeile.", encoding="utf-8")
    (corpus / "003.txt").write_bytes((corpus / "003.txt").read_bytes())
    report = qa.Index.build([corpus], index_dir).build_report
    assert report is not None
    assert set(report.changed) == {f"{corpus}/000.txt", f"{corpus}/001.txt", f"{corpus}/002.txt"}
    _assert_consistent(index_dir, disk)
    hit = qa.Index.load(index_dir).search("Vorspann", k=1, mode=qa.SearchMode.LEXICAL)[0]
    assert (hit.source, hit.line_start, hit.text) == (f"{corpus}/000.txt", 4, "Vorspann.")


def test_a_file_rewritten_during_the_build_is_stored_as_hashed(tmp_path: Path) -> None:
    corpus = _corpus(tmp_path / "c", n=20, paragraphs=3)
    target = corpus / "010.txt"
    versions = [_article(100 + v, paragraphs=2 + v) for v in range(3)]
    stop = threading.Event()
    writes = 0

    def churn() -> None:
        nonlocal writes
        while not stop.is_set():
            # Not atomic on purpose: readers may see a truncated or half-written file.
            target.write_text(versions[writes % len(versions)], encoding="utf-8")
            writes += 1
            time.sleep(0.001)

    thread = threading.Thread(target=churn, daemon=True)
    thread.start()
    try:
        qa.Index.build([corpus], tmp_path / "idx")
    finally:
        stop.set()
        thread.join(timeout=10)
    assert writes > 10
    _assert_consistent(tmp_path / "idx")
    # Once the file is quiet, an update brings the index to exactly what is on disk.
    target.write_text(versions[0], encoding="utf-8")
    qa.Index.build([corpus], tmp_path / "idx")
    _assert_consistent(tmp_path / "idx", lambda n: Path(n).read_text(encoding="utf-8"))


# -- killed and concurrent builds ---------------------------------------------------------


@pytest.mark.slow
def test_a_killed_build_leaves_the_previous_index_answering_as_before(tmp_path: Path) -> None:
    corpus = _corpus(tmp_path / "c", n=40, paragraphs=8)
    index_dir = tmp_path / "idx"
    before = _answers(qa.Index.build([corpus], index_dir))
    # Change the corpus, so that a build which got to publish would answer differently.
    for i in range(0, 40, 3):
        write(corpus / f"{i:03d}.txt", _article(i + 500, paragraphs=8))
    killed_midway = 0
    for delay in (0.5, 2.0, 4.0, 6.0):
        proc = subprocess.Popen(
            [*_QA, "index", str(corpus), "--index", str(index_dir), "--rebuild"],
            cwd=REPO,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        published = (index_dir / "CURRENT").read_text()
        time.sleep(delay)
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            killed_midway += 1
        proc.wait(timeout=60)
        # A kill can land after the build published, while the process exits.
        if (index_dir / "CURRENT").read_text() == published:
            assert proc.returncode == -signal.SIGKILL, proc.stderr.read() if proc.stderr else ""
            assert _answers(qa.Index.load(index_dir)) == before, f"after a kill at {delay} s"
        else:  # it published first: the new corpus is published whole
            errors = proc.stderr.read() if proc.stderr else ""
            assert proc.returncode in (0, -signal.SIGKILL), errors
            before = _answers(qa.Index.load(index_dir))
        _assert_consistent(index_dir)
    assert killed_midway >= 2, "the build finished too fast to be killed midway"
    done = _qa("index", str(corpus), "--index", str(index_dir))
    assert done.returncode == 0, done.stderr
    _assert_consistent(index_dir, lambda n: Path(n).read_text(encoding="utf-8"))
    assert not list(index_dir.glob("gen-*.tmp")), "killed builds left temporary generations"


@pytest.mark.slow
def test_two_concurrent_builds_one_wins_the_other_waits_or_names_the_lock(
    tmp_path: Path,
) -> None:
    corpus = _corpus(tmp_path / "c", n=40, paragraphs=4)
    index_dir = tmp_path / "idx"
    cmd = [sys.executable, "-m", "qa", "index", str(corpus), "--index", str(index_dir)]
    procs = [
        subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    results = [(p.wait(timeout=300), *p.communicate()) for p in procs]
    codes = sorted(code for code, _, _ in results)
    assert codes in ([0, 0], [0, 2]), results
    for code, _, stderr in results:
        if code == 2:
            message = _one_line_error(stderr)
            assert "lock" in message or "another process" in message, message
            assert str(index_dir) in message
    idx = qa.Index.load(index_dir)
    assert len(idx.sources) == 40
    _assert_consistent(index_dir, lambda n: Path(n).read_text(encoding="utf-8"))


# -- damaged and malicious index files ----------------------------------------------------


@pytest.fixture
def built(tmp_path: Path) -> Path:
    corpus = tmp_path / "c"
    write(corpus / "a.txt", "Die Katze schläft auf dem Sofa.\n\nSie träumt von Mäusen.\n")
    write(corpus / "b.txt", "Der Zug nach Hamburg hat Verspätung.\n")
    qa.Index.build([corpus], tmp_path / "idx")
    return tmp_path / "idx"


def _rewrite_passages(gen: Path, change: Callable[[np.ndarray], None]) -> None:
    rows = np.load(gen / "passages.npy", allow_pickle=False)
    change(rows)
    np.save(gen / "passages.npy", rows, allow_pickle=False)  # same size: passes the size check


def _fix_sizes(gen: Path) -> None:
    """Updates the manifest's file sizes, as an attacker who edits files would."""
    manifest = json.loads((gen / "manifest.json").read_text(encoding="utf-8"))
    manifest["files"] = {name: (gen / name).stat().st_size for name in manifest["files"]}
    (gen / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")


def _edit_manifest(gen: Path, change: Callable[[dict], None]) -> None:
    manifest = json.loads((gen / "manifest.json").read_text(encoding="utf-8"))
    change(manifest)
    (gen / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")


def _set(rows: np.ndarray, field: str, value: int) -> None:
    rows[field][0] = value


def _same_size_garbage(path: Path, text: str) -> None:
    size = path.stat().st_size
    path.write_bytes(text.encode().ljust(size, b" ")[:size])


DAMAGE: dict[str, Callable[[Path], None]] = {
    "offset-past-documents": lambda g: _rewrite_passages(g, lambda r: _set(r, "byte_end", 10**9)),
    "negative-offset": lambda g: _rewrite_passages(g, lambda r: _set(r, "byte_start", -40)),
    "reversed-span": lambda g: _rewrite_passages(
        g, lambda r: _set(r, "byte_start", int(r["byte_end"][0]) + 1)
    ),
    "source-id-out-of-range": lambda g: _rewrite_passages(g, lambda r: _set(r, "source", 99)),
    "line-zero": lambda g: _rewrite_passages(g, lambda r: _set(r, "line_start", 0)),
    "passages-wrong-dtype": lambda g: (
        np.save(g / "passages.npy", np.zeros(3, dtype=np.int64)),
        _fix_sizes(g),
    ),
    "source-span-past-documents": lambda g: _edit_manifest(
        g, lambda m: m["sources"][0].update(byte_end=10**9)
    ),
    "passage-count-lies": lambda g: _edit_manifest(g, lambda m: m.update(passage_count=2)),
    "manifest-not-object": lambda g: g.joinpath("manifest.json").write_text("[1, 2]"),
    "manifest-empty": lambda g: g.joinpath("manifest.json").write_bytes(b""),
    "manifest-not-utf8": lambda g: g.joinpath("manifest.json").write_bytes(b"\xff\xfe{}"),
    "lexical-tokens-truncated": lambda g: g.joinpath("lexical_tokens.npy").write_bytes(
        g.joinpath("lexical_tokens.npy").read_bytes()[:-3]
    ),
    "bm25-data-truncated": lambda g: (
        g.joinpath("bm25_data.npy").write_bytes(g.joinpath("bm25_data.npy").read_bytes()[:20]),
        _fix_sizes(g),
    ),
    "bm25-vocab-garbage": lambda g: _same_size_garbage(g / "bm25_vocab.json", "{"),
    "bm25-vocab-not-dict": lambda g: _same_size_garbage(g / "bm25_vocab.json", "[]"),
    "bm25-params-missing": lambda g: g.joinpath("bm25_params.json").unlink(),
    "lexical-offsets-lie": lambda g: (
        np.save(g / "lexical_offsets.npy", np.array([0, 1, 2, 10**6], dtype=np.int64)),
        _fix_sizes(g),
    ),
    "documents-missing": lambda g: g.joinpath("documents.bin").unlink(),
    "vectors-wrong-shape": lambda g: (
        np.save(g / "vectors.npy", np.zeros((3, 7), dtype=np.float32)),
        _fix_sizes(g),
    ),
    "pointer-to-missing-generation": lambda g: g.parent.joinpath("CURRENT").write_text("gen-1-1\n"),
    "pointer-empty": lambda g: g.parent.joinpath("CURRENT").write_text(""),
    "pointer-not-utf8": lambda g: g.parent.joinpath("CURRENT").write_bytes(b"gen-\xff\n"),
    "pointer-is-a-folder": lambda g: (
        g.parent.joinpath("CURRENT").unlink(),
        g.parent.joinpath("CURRENT").mkdir(),
    ),
    "generation-is-a-file": lambda g: (
        g.rename(g.with_name(g.name + ".old")),
        g.write_text("not a folder"),
    ),
}


@pytest.mark.parametrize("damage", list(DAMAGE.values()), ids=list(DAMAGE))
def test_damaged_index_files_give_a_clear_error_naming_rebuild(
    built: Path, damage: Callable[[Path], None]
) -> None:
    damage(_current(built))
    with pytest.raises(qa.QAError, match="--rebuild") as info:
        qa.Index.load(built).search("Katze", k=5)
    assert isinstance(info.value, (qa.IndexCorruptError, qa.IndexMismatchError))
    assert "\n" not in str(info.value)


def test_damaged_index_gives_one_line_and_exit_2_on_the_command_line(built: Path) -> None:
    _rewrite_passages(_current(built), lambda r: _set(r, "byte_end", 10**9))
    done = _qa("ask", "Katze", "--index", str(built))
    assert done.returncode == 2
    assert "--rebuild" in _one_line_error(done.stderr)


class _Marker:
    """Unpickling this creates the marker file: proof that something unpickled it."""

    def __init__(self, path: Path) -> None:
        self.path = str(path)

    def __reduce__(self) -> tuple[object, tuple[str, str]]:
        return (open, (self.path, "w"))


@pytest.mark.parametrize(
    "target",
    [
        "passages.npy",
        "vectors.npy",
        "lexical_tokens.npy",
        "lexical_offsets.npy",
        "bm25_data.npy",
        "bm25_indices.npy",
        "bm25_indptr.npy",
    ],
)
@pytest.mark.parametrize("sizes", ["sizes-fixed", "sizes-stale"])
def test_loading_never_unpickles(built: Path, tmp_path: Path, target: str, sizes: str) -> None:
    marker = tmp_path / "PWNED"
    gen = _current(built)
    evil = np.array([_Marker(marker), _Marker(marker)], dtype=object)
    np.save(gen / target, evil, allow_pickle=True)
    assert b"PWNED" in (gen / target).read_bytes()
    if sizes == "sizes-fixed":
        _fix_sizes(gen)
    with pytest.raises(qa.QAError, match="--rebuild"):
        qa.Index.load(built).search("Katze", k=5)
    assert not marker.exists(), f"loading unpickled {target}"
    # Nor does an update or a rebuild over it.
    corpus = built.parent / "c"
    with pytest.raises(qa.QAError, match="--rebuild"):
        qa.Index.build([corpus], built)
    qa.Index.build([corpus], built, rebuild=True)
    assert not marker.exists()
    # The payload is live: loading it with pickle allowed does create the marker.
    np.save(tmp_path / "evil.npy", evil, allow_pickle=True)
    np.load(tmp_path / "evil.npy", allow_pickle=True)
    assert marker.exists()
