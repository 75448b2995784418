"""qa: offline question answering over a folder of articles, with file:line citations.

Example:
    >>> import qa
    >>> idx = qa.Index.build(["seeds"], index_dir=".qa-index")
    >>> for p in idx.search("Wie viele Reservisten umfasst die Teilmobilmachung?", k=3):
    ...     print(p.citation, p.highlight)
"""

from qa.articles import ARTICLE_SUFFIXES, check_article
from qa.collections import Collections, UnknownCollectionError
from qa.conversation import MAX_HISTORY_TURNS
from qa.evaluation import (
    EvalQuestion,
    EvalRecord,
    EvalReport,
    GoldCitation,
    Vote,
    evaluate,
    read_questions,
)
from qa.expansion import Expansion, Expansions
from qa.feedback import DEFAULT_FEEDBACK_MAX_MB, FeedbackFile, FeedbackFullError, vote_line
from qa.fusion import Fusion, SearchMode
from qa.index import DEFAULT_INDEX_DIR, Index, retrieve
from qa.passage import Passage, SourceInfo, SourceLine
from qa.query import MAX_QUESTION_CHARS
from qa.relevance import GOOD_RELEVANCE, MIN_RELEVANCE, Fit, fit_of
from vectorstore import (
    DEFAULT_MODEL,
    BuildReport,
    IndexCorruptError,
    IndexLockedError,
    IndexMismatchError,
    IndexNotFoundError,
    QAError,
    SourceError,
)

__all__ = [
    "ARTICLE_SUFFIXES",
    "DEFAULT_FEEDBACK_MAX_MB",
    "DEFAULT_INDEX_DIR",
    "DEFAULT_MODEL",
    "GOOD_RELEVANCE",
    "MAX_HISTORY_TURNS",
    "MAX_QUESTION_CHARS",
    "MIN_RELEVANCE",
    "BuildReport",
    "Collections",
    "EvalQuestion",
    "EvalRecord",
    "EvalReport",
    "Expansion",
    "Expansions",
    "FeedbackFile",
    "FeedbackFullError",
    "Fit",
    "Fusion",
    "GoldCitation",
    "Index",
    "IndexCorruptError",
    "IndexLockedError",
    "IndexMismatchError",
    "IndexNotFoundError",
    "Passage",
    "QAError",
    "SearchMode",
    "SourceError",
    "SourceInfo",
    "SourceLine",
    "UnknownCollectionError",
    "Vote",
    "check_article",
    "evaluate",
    "fit_of",
    "read_questions",
    "retrieve",
    "vote_line",
]
