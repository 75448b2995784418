"""qa.Collections: NAME=DIR specs, loading several indexes, choosing one by name."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

import qa
from qa.collections import DEFAULT_COLLECTION, CollectionSpec, parse_collections, select

MIETE = "Wer muss die Miete zahlen?"
RESERVISTEN = "Wie viele Reservisten umfasst die Teilmobilmachung?"


def test_named_specs_keep_their_order_and_the_first_is_the_default():
    specs = parse_collections(["news=idx/news", "laws=/srv/laws", "a-b_1=milvus:./x.db"])
    assert specs == [
        CollectionSpec("news", "idx/news", "news=idx/news"),
        CollectionSpec("laws", "/srv/laws", "laws=/srv/laws"),
        CollectionSpec("a-b_1", "milvus:./x.db", "a-b_1=milvus:./x.db"),
    ]


@pytest.mark.parametrize(
    ("spec", "location"),
    [
        (".qa-index", ".qa-index"),
        ("./a=b", "./a=b"),  # a folder named "a=b"
        ("/data/x=y", "/data/x=y"),
        ("milvus:http://127.0.0.1:19530#a=b", "milvus:http://127.0.0.1:19530#a=b"),
    ],
)
def test_a_bare_location_is_one_unnamed_collection(spec, location):
    assert parse_collections([spec]) == [CollectionSpec(DEFAULT_COLLECTION, location, spec)]


@pytest.mark.parametrize(
    ("specs", "message"),
    [
        ([], "got none"),
        ("news=idx", "got none"),  # one string, not a list
        ([""], "expected NAME=DIR or DIR, got nothing"),
        (["News=idx"], "the name 'News' is not allowed: a collection name is 1 to 40"),
        (["=idx"], "'=idx': an empty name is not allowed"),
        (["nachrichten-ü=idx"], "the name 'nachrichten-ü' is not allowed"),
        (["-x=idx"], "starting with a letter or digit"),
        ([f"{'n' * 41}=idx"], "1 to 40"),
        (["news="], "'news=': no index folder after 'news='"),
        (["news=a", "news=b"], "'news=b': the name 'news' is already taken by 'news=a'"),
        (["news=a", "laws=./a"], "'laws=./a': ./a is already the collection 'news'"),
        (["idx", "laws=b"], "'idx' has no name: with several indexes, give each one as NAME=DIR"),
        (["news=a", "b"], "'b' has no name"),
    ],
    ids=[
        "none",
        "string",
        "empty",
        "capitals",
        "empty-name",
        "umlaut",
        "dash-first",
        "too-long",
        "no-folder",
        "name-twice",
        "folder-twice",
        "unnamed-first",
        "unnamed-later",
    ],
)
def test_bad_specs_are_errors_that_name_them(specs, message):
    with pytest.raises(ValueError) as info:
        parse_collections(specs)
    assert message in str(info.value)


def test_load_names_the_collection_whose_index_is_missing(seed_index, tmp_path):
    missing = tmp_path / "nothing"
    with pytest.raises(qa.IndexNotFoundError) as info:
        qa.Collections.load([f"news={seed_index.path}", f"laws={missing}"])
    assert str(info.value).startswith(f"collection 'laws' (laws={missing}): no index at {missing}")


def test_collections_are_a_read_only_mapping_with_a_default(seed_index, laws_index):
    loaded = qa.Collections.load([f"news={seed_index.path}", f"laws={laws_index.path}"])
    assert loaded.names == ("news", "laws") and list(loaded) == ["news", "laws"]
    assert loaded.default == "news" and loaded.several and len(loaded) == 2
    assert loaded["laws"].sources == laws_index.sources
    assert loaded.index().sources == loaded.index("news").sources == seed_index.sources
    with pytest.raises(TypeError):
        loaded.indexes["other"] = seed_index  # type: ignore[index]
    with pytest.raises(AttributeError):
        loaded.default = "laws"  # type: ignore[misc]


@pytest.mark.parametrize("name", ["nope", "", "NEWS", 3])
def test_an_unknown_name_is_an_error_naming_the_known_ones(collections, name):
    with pytest.raises(qa.UnknownCollectionError) as info:
        collections.index(name)
    assert str(info.value) == (
        f"unknown collection {name!r}; this server has: news, laws (default news)"
    )
    assert isinstance(info.value, ValueError)


def test_each_collection_answers_from_its_own_articles(collections, seed_index, laws_index):
    laws = collections.index("laws").search(MIETE, k=2)
    news = collections.index("news").search(MIETE, k=2)
    assert {p.source for p in laws} <= set(laws_index.sources)
    assert {p.source for p in news} <= set(seed_index.sources)
    assert laws[0].source.endswith("laws/miete.txt")
    assert laws[0].relevance > news[0].relevance


def test_one_index_is_one_collection(seed_index):
    one = qa.Collections.of(seed_index)
    assert one.names == (DEFAULT_COLLECTION,) and not one.several
    assert one.index() is seed_index and qa.Collections.of(one) is one
    assert qa.Collections.load([str(seed_index.path)]).index().sources == seed_index.sources
    named = qa.Collections.load([f"news={seed_index.path}"])
    assert named.names == ("news",) and not named.several


@pytest.mark.parametrize(
    ("indexes", "message"),
    [
        ({}, "at least one index"),
        ({"Bad Name": None}, "'Bad Name': the name 'Bad Name' is not allowed"),
        ({"news": "seeds"}, "collection 'news' is a str, not a qa.Index"),
    ],
)
def test_collections_refuse_bad_contents(indexes, message):
    with pytest.raises(ValueError) as info:
        qa.Collections(indexes)
    assert message in str(info.value)


def test_select_gives_an_index_or_one_of_the_collections(collections, seed_index, laws_index):
    assert select(seed_index) is seed_index
    assert select(collections) is seed_index and select(collections, "laws") is laws_index
    with pytest.raises(ValueError, match="collection 'laws' needs several indexes"):
        select(seed_index, "laws")


def test_follow_follows_every_collection(tmp_path: Path):
    indexes = {}
    for name in ("a", "b"):
        corpus = tmp_path / name
        corpus.mkdir()
        (corpus / "x.txt").write_text(f"Artikel {name} über den Hafen.\n", "utf-8")
        indexes[name] = qa.Index.build([corpus], tmp_path / f"{name}-index")
    both = qa.Collections(indexes)
    stop = both.follow(interval=0.1)
    try:
        before = {name: index.generation for name, index in both.items()}
        (tmp_path / "b" / "y.txt").write_text("Artikel y über den Bahnhof.\n", "utf-8")
        qa.Index.build([tmp_path / "b"], tmp_path / "b-index")
        deadline = time.monotonic() + 30
        while both["b"].generation == before["b"] and time.monotonic() < deadline:
            time.sleep(0.1)
        assert both["b"].generation != before["b"] and len(both["b"].sources) == 2
        assert both["a"].generation == before["a"]
    finally:
        stop()
