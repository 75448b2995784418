"""A loaded index follows what ``qa index`` publishes: refresh, follow, old generations."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

import qa
from tests.conftest import write


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    write(tmp_path / "c" / "a.txt", "Die Katze schläft auf dem Sofa.\n")
    write(tmp_path / "c" / "b.txt", "Der Zug nach Hamburg hat Verspätung.\n")
    return tmp_path / "c"


def _generations(index_dir: Path) -> set[str]:
    return {p.name for p in index_dir.glob("gen-*")}


def test_refresh_loads_the_newest_generation(corpus: Path, tmp_path: Path) -> None:
    index_dir = tmp_path / "idx"
    reader = qa.Index.build([corpus], index_dir)
    assert reader.refresh() is False
    write(corpus / "c.txt", "Im Garten blühen die Rosen.\n")
    qa.Index.build([corpus], index_dir)
    assert reader.search("Rosen im Garten", k=1)[0].source != f"{corpus}/c.txt"  # not yet
    assert reader.refresh() is True
    assert reader.refresh() is False
    assert f"{corpus}/c.txt" in reader.sources and len(reader) == 3
    assert reader.search("Rosen im Garten", k=1)[0].source == f"{corpus}/c.txt"


def test_a_generation_in_use_is_kept_until_its_reader_lets_go(corpus: Path, tmp_path: Path) -> None:
    index_dir = tmp_path / "idx"
    reader = qa.Index.build([corpus], index_dir)
    held = reader._snapshot.path.name
    for i in range(3):
        write(corpus / f"n{i}.txt", f"Nachricht Nummer {i}.\n")
        qa.Index.build([corpus], index_dir)
    # Three publishes later the reader's generation is still whole, and it still answers.
    assert held in _generations(index_dir)
    assert reader.search("Katze", k=1)[0].source == f"{corpus}/a.txt"
    assert reader.refresh() is True
    write(corpus / "n9.txt", "Nachricht Nummer 9.\n")
    qa.Index.build([corpus], index_dir)
    assert held not in _generations(index_dir) and len(_generations(index_dir)) == 2


def test_follow_picks_up_a_new_article_within_seconds(corpus: Path, tmp_path: Path) -> None:
    index_dir = tmp_path / "idx"
    reader = qa.Index.build([corpus], index_dir)
    stop = reader.follow(interval=0.2)
    try:
        write(corpus / "c.txt", "Im Garten blühen die Rosen.\n")
        qa.Index.build([corpus], index_dir)
        deadline = time.monotonic() + 5
        while f"{corpus}/c.txt" not in reader.sources and time.monotonic() < deadline:
            time.sleep(0.05)
        assert reader.search("Rosen im Garten", k=1)[0].source == f"{corpus}/c.txt"
    finally:
        stop()


def test_a_damaged_new_generation_leaves_the_loaded_one_in_use(
    corpus: Path, tmp_path: Path
) -> None:
    index_dir = tmp_path / "idx"
    reader = qa.Index.build([corpus], index_dir)
    write(corpus / "c.txt", "Im Garten blühen die Rosen.\n")
    qa.Index.build([corpus], index_dir)
    current = (index_dir / "CURRENT").read_text().strip()
    (index_dir / current / "vectors.npy").write_bytes(b"broken")
    with pytest.raises(qa.IndexCorruptError):
        reader.refresh()
    assert len(reader) == 2 and reader.search("Katze", k=1)[0].source == f"{corpus}/a.txt"


def test_update_adds_files_with_the_index_own_settings(corpus: Path, tmp_path: Path) -> None:
    index = qa.Index.build([corpus], tmp_path / "idx", chunk_size=300, chunk_overlap=20)
    write(tmp_path / "more" / "c.txt", "Im Garten blühen die Rosen.\n")
    report = index.update([tmp_path / "more"])
    assert report.added == (f"{tmp_path}/more/c.txt",) and report.embedded == 1
    assert len(report.unchanged) == 2  # same chunking: nothing else is re-embedded
    assert index.search("Rosen im Garten", k=1)[0].source == f"{tmp_path}/more/c.txt"
    with pytest.raises(qa.SourceError, match="does not exist"):
        index.update([tmp_path / "missing"])
    assert len(index) == 3
