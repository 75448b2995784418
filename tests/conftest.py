"""Shared fixtures: the real model, loaded once, a real index over the seeds, a real PDF."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import subprocess
from pathlib import Path

import pytest

import qa

REPO = Path(__file__).resolve().parents[1]
SEEDS = REPO / "seeds"
# The keys of Passage.to_dict(), which the CLI's --json and the /retrieve API return too.
PASSAGE_FIELDS = {
    "source",
    "line_start",
    "line_end",
    "text",
    "score",
    "relevance",
    "fit",
    "highlight",
    "page",
    "title",
    "date",
}


@pytest.fixture(scope="session", autouse=True)
def _repo_cwd() -> None:
    """Runs the suite from the repository root, so seeds are cited as ``seeds/…``."""
    os.chdir(REPO)


@pytest.fixture(scope="session")
def seed_index(tmp_path_factory: pytest.TempPathFactory) -> qa.Index:
    """A real index (real model, real FAISS) over the five seed articles."""
    return qa.Index.build(["seeds"], tmp_path_factory.mktemp("seed-index") / "index")


# A second collection beside the seeds (news): two short articles on German contract law.
LAWS = {
    "miete.txt": "Pflichten aus dem Mietvertrag\n\n"
    "Der Vermieter ist verpflichtet, dem Mieter den Gebrauch der Mietsache während der "
    "Mietzeit zu gewähren.\n\n"
    "Der Mieter ist verpflichtet, dem Vermieter die vereinbarte Miete zu entrichten.\n",
    "kauf.txt": "Pflichten aus dem Kaufvertrag\n\n"
    "Der Verkäufer einer Sache ist verpflichtet, dem Käufer die Sache zu übergeben und "
    "das Eigentum an der Sache zu verschaffen.\n\n"
    "Der Käufer ist verpflichtet, dem Verkäufer den vereinbarten Kaufpreis zu zahlen und "
    "die gekaufte Sache abzunehmen.\n",
}


@pytest.fixture(scope="session")
def laws_index(tmp_path_factory: pytest.TempPathFactory) -> qa.Index:
    """A real index over the two ``LAWS`` articles (a folder of its own)."""
    corpus = tmp_path_factory.mktemp("laws-corpus") / "laws"
    for name, text in LAWS.items():
        write(corpus / name, text)
    return qa.Index.build([corpus], tmp_path_factory.mktemp("laws-index") / "index")


@pytest.fixture(scope="session")
def collections(seed_index: qa.Index, laws_index: qa.Index) -> qa.Collections:
    """Two collections: ``news`` (the seeds, the default) and ``laws``."""
    return qa.Collections({"news": seed_index, "laws": laws_index})


def expected_metadata(p: qa.Passage) -> dict:
    """A passage's metadata as the LangChain and LlamaIndex retrievers must give it."""
    return {
        "source": p.source,
        "line_start": p.line_start,
        "line_end": p.line_end,
        "citation": p.citation,
        "score": p.score,
        "relevance": p.relevance,
        "fit": p.fit.value,
        "highlight": p.highlight,
        "page": p.page,
        "title": p.title,
        "date": p.date,
    }


def write(path: Path, text: str | bytes) -> Path:
    """Writes a corpus file, creating its folder."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


CHROMIUM = Path("/usr/bin/chromium")


@pytest.fixture(scope="session")
def chromium_pdf(tmp_path_factory: pytest.TempPathFactory) -> tuple[bytes, set[str]]:
    """A two-page PDF printed by headless Chromium, and the UTC days it was printed on."""
    if not CHROMIUM.exists():
        message = f"{CHROMIUM} is missing: install it with `apt-get install -y chromium`"
        if os.environ.get("CI"):
            pytest.fail(message)  # CI's `make test` installs it: a skip there would hide a gap
        pytest.skip(message)
    folder = tmp_path_factory.mktemp("chromium")
    page = folder / "in.html"
    page.write_text(
        "<!DOCTYPE html><html lang='de'><head><meta charset='utf-8'>"
        "<title>Zwei Seiten über die Ostflanke</title></head><body>"
        "<div style='page-break-after: always'><h1>Erste Seite</h1>"
        "<p>Die Allianz schickt Soldaten.</p><p>Ein zweiter Absatz.</p></div>"
        "<h2>Zweite Seite</h2><p>Der Kreml nannte es eine „Provokation“.</p></body></html>",
        encoding="utf-8",
    )
    out = folder / "out.pdf"
    days = {dt.datetime.now(dt.UTC).date().isoformat()}
    subprocess.run(
        [
            str(CHROMIUM),
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            f"--user-data-dir={folder / 'profile'}",
            "--no-pdf-header-footer",
            f"--print-to-pdf={out}",
            page.as_uri(),
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )
    days.add(dt.datetime.now(dt.UTC).date().isoformat())
    data = out.read_bytes()
    shutil.rmtree(folder)
    return data, days
