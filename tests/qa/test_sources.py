"""Source filters: exact top-k among the matching sources, on every search mode."""

from __future__ import annotations

import numpy as np
import pytest

import qa
from qa.query import match_sources
from vectorstore import IndexDir, get_embedder

NAMES = ["seeds/003_a.txt", "seeds/004_b.txt", "archive/2022/05/x.txt", "archive/2022/y.txt"]


@pytest.mark.parametrize(
    ("patterns", "expected"),
    [
        (["seeds/003_*"], [0]),
        (["seeds/*"], [0, 1]),
        (["archive/2022/**"], [2, 3]),
        (["archive/*/y.txt"], [3]),
        (["**/*.txt"], [0, 1, 2, 3]),
        (["seeds/00[34]_*", "archive/2022/y.txt"], [0, 1, 3]),
        (["seeds/00[!3]_?.txt"], [1]),
    ],
)
def test_globs_match_whole_names_and_stars_stay_in_a_folder(patterns, expected) -> None:
    assert match_sources(patterns, NAMES) == expected


def test_a_pattern_that_matches_nothing_is_named(seed_index: qa.Index) -> None:
    with pytest.raises(ValueError, match=r"'seeds' matches no indexed source.*'seeds/\*\*'"):
        seed_index.search("Putin", sources=["seeds/000_*", "seeds"])
    with pytest.raises(ValueError, match="'nowhere/\\*' matches no indexed source"):
        qa.retrieve("Putin", sources=["nowhere/*"], index_dir=seed_index.path)
    with pytest.raises(ValueError, match="glob patterns"):
        seed_index.search("Putin", sources=[""])


@pytest.mark.parametrize("mode", list(qa.SearchMode))
def test_filtered_results_are_the_best_of_the_matching_sources(
    seed_index: qa.Index, mode: qa.SearchMode
) -> None:
    chosen = seed_index.sources[1:3]
    patterns = [name.replace(".txt", "*") for name in chosen]
    question = "Was sagt Putin über die Ukraine?"
    everything = seed_index.search(question, k=len(seed_index), mode=mode)
    filtered = seed_index.search(question, k=5, mode=mode, sources=patterns)
    assert filtered and {p.source for p in filtered} <= set(chosen)
    if mode is qa.SearchMode.DENSE:
        # Dense scores do not depend on the candidates: the filter keeps the global order.
        expected = [p for p in everything if p.source in chosen][:5]
        assert [p.citation for p in filtered] == [p.citation for p in expected]


def test_a_filter_returns_k_passages_whenever_that_many_exist(seed_index: qa.Index) -> None:
    source = seed_index.sources[2]
    count = seed_index.passage_count(source)
    for mode in (qa.SearchMode.HYBRID, qa.SearchMode.DENSE):
        # A question about another article: a cut after the top-k would leave nothing.
        hits = seed_index.search("Taxi in Indien", k=count + 5, mode=mode, sources=[source])
        assert sorted(p.citation for p in hits) == sorted(
            p.citation for p in seed_index.search("x", k=len(seed_index)) if p.source == source
        )


def test_dense_filter_equals_brute_force_over_the_selected_rows(seed_index: qa.Index) -> None:
    snapshot = IndexDir(seed_index.path).open()
    vectors = np.asarray(snapshot.vectors)
    source = seed_index.sources[4]
    rows = [
        i
        for i in range(len(vectors))
        if snapshot.source_names[snapshot.passages[i]["source"]] == source
    ]
    question = "Wen traf der Cyberangriff?"
    q = get_embedder(seed_index.model).encode_queries([question])[0]
    expected = np.array(rows)[np.argsort(-(vectors[rows] @ q), kind="stable")[:4]]
    hits = seed_index.search(question, k=4, mode=qa.SearchMode.DENSE, sources=[source])
    assert [h.line_start for h in hits] == [
        int(snapshot.passages[i]["line_start"]) for i in expected
    ]
    np.testing.assert_allclose([h.score for h in hits], vectors[expected] @ q, atol=1e-5)


def test_no_filter_and_an_empty_filter_search_everything(seed_index: qa.Index) -> None:
    question = "Wie viele Reservisten umfasst die Teilmobilmachung?"
    plain = [p.citation for p in seed_index.search(question, k=5)]
    assert [p.citation for p in seed_index.search(question, k=5, sources=[])] == plain
    assert [p.citation for p in seed_index.search(question, k=5, sources=["**"])] == plain
