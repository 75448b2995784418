"""Derives two-turn follow-up conversations from XQuAD-de, without hand editing.

Writes ``benchmarks/eval/conversations_xquad_auto.json`` in the format of the
hand-written ``conversations.json`` (``corpus`` "xquad", ``lang`` "de"), plus two
fields per conversation: ``derivation`` (what was replaced, and by which rule) and
``xquad_ids`` (the ids of the two source questions, turn 1 first).

Rule:
    Pairs. For each paragraph, ordered pairs (Q1, Q2) of two different questions
    about it are tried: Q1 in file order and, for each Q1, every other question as
    Q2 in file order. A pair is skipped when the two questions, or their first
    answers, are equal after case and whitespace normalisation. A first pass only
    accepts names that occur in Q1; if no pair of the paragraph qualifies, a second
    pass also accepts names from the paragraph's first sentence. The first pair that
    qualifies is used, so there is at most one conversation per paragraph;
    paragraphs without one are skipped.

    Named subject. A name in Q2 is a run of capitalised words (numbers, and the
    particles von/van/de/da/du/of/and between two capitalised words, may continue a
    run) that is not the question's first word, ends at a word boundary (not inside
    "Sky+HD" or "V&A"), occurs exactly once in Q2, is not part of an enumeration
    (not followed by a comma, "und", "oder" or "sowie") and occurs verbatim in Q1 (or
    in the first sentence, second pass). A run whose first word is a genitive
    ("Luthers": the word minus its final "s" is also a word) is skipped. Because
    every German noun is capitalised, a run of one word without an article counts
    as a name only if, over all of XQuAD-de (contexts and questions), it follows an
    article, possessive, quantifier, number or article + adjective at most a
    quarter as often as it stands free (after neither a preposition nor such a
    determiner; an article after a comma is read as a relative pronoun), and it
    does not end in a common-noun suffix (-ung, -heit, -keit, -schaft, -tion,
    -ität, -ismus and their plurals). With an article in front, a single
    capitalised word is accepted as it is ("das Sommertheater"), because the
    article gives the pronoun.

    Kind of a name used without an article: a *place* if XQuAD-de uses it right
    after "in"; otherwise a *male person* if it does not end in "-en" (a plural)
    and somewhere in XQuAD-de "er" or "ihn" follows a mention of it within the rest
    of that sentence or the next one; otherwise unknown, and nothing is replaced
    ("sie" is never guessed for a bare name, because it is also the plural).

    Replacement, the first slot that applies:

    1. Subject/object slot: the noun phrase right after the finite verb, which
       follows the question phrase ("Wann", "Mit wem", "Wie viele Punkte", "Welcher
       Spieler", ...); a reflexive "sich" before it is kept after the pronoun.
       Adjectives between an article and the name belong to the phrase, but only
       when Q1 (or the first sentence) has the same adjectives, in any inflection,
       before the name ("die erste Warschauer Börse"; "die westliche Hälfte" does
       not refer back to "die östliche Hälfte"). A genitive right after the name
       ("der Panthers") belongs to the phrase too. The phrase is left alone when it
       is followed by another genitive, "von", "namens", a comma or relative
       clause, or by a word that follows the name in Q1 or the first sentence as
       well (then that word is part of the name: "das Amt für westliche Medizin"),
       and when a relative clause comes later in the question (its antecedent
       would be unclear).
       With an article the pronoun follows the article: die -> "sie", das -> "es",
       dem -> "ihm", der -> "er" (only when XQuAD-de never writes "die"/"das"
       before that word and the question word is not "wer", so that "der" is a
       masculine nominative), den -> "ihn" (only when XQuAD-de never writes "die"
       before that word and it does not end in "-n", so that it is not a dative
       plural). Without an article the name must be the singular subject (the
       question word is not "wer", the verb is not "sind" and does not end in
       "-en"): a place becomes "es", a male person "er".
    2. Prepositional slot: "in X", "nach X", "aus X" with a place X (or "in" + a run
       of two or more capitalised words) -> "dort", "dorthin", "von dort"; "im X",
       "beim X" with a run of two or more capitalised words ("im Super Bowl 50")
       -> "dort", "dabei"; a male person after a dative preposition (von, mit,
       bei, zu, seit, nach, aus) -> "ihm", after an accusative one (für, durch,
       gegen, ohne, um) -> "ihn".

    Turn 1 is Q1 verbatim (kind "first"), turn 2 the rewritten Q2 (kind
    "followup"); both have the paragraph's line span as gold lines and their first
    XQuAD answer as answer. File names and line spans are computed exactly as
    ``prepare_xquad`` in ``benchmarks/xquad_de.py`` computes them (that module is not
    imported because it needs third-party packages).

    The rule is a heuristic and its output was not edited by hand; it contains
    some awkward or wrong rewrites (see ``README.md``).

Usage:
    python3 benchmarks/eval/derive_conversations.py [--xquad PATH] [--out PATH]
"""

from __future__ import annotations

import argparse
import json
import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
DEFAULT_XQUAD = REPO.parent / "shared" / "benchmarks" / "xquad-de" / "xquad.de.json"
DEFAULT_OUT = HERE / "conversations_xquad_auto.json"


def _words(text: str) -> frozenset[str]:
    """Returns the space-separated words of ``text`` as a set."""
    return frozenset(text.split())


PREPOSITIONS = _words(
    "an auf aus bei durch für gegen in mit nach ohne seit über um unter von vor "
    "wegen zu zwischen am im zum zur vom beim ins"
)
W_WORDS = _words(
    "wer wen wem wessen was wann wo wie warum weshalb wieso wofür womit wodurch "
    "woher wohin worauf worin wozu wovon worüber wogegen woran woraus"
)
HOW_WORDS = _words("viele vielen viel lange alt hoch groß oft weit schwer breit")
ARTICLE_PRONOUN = {"der": "er", "die": "sie", "das": "es", "den": "ihn", "dem": "ihm"}
# The article may not be read as masculine when the word is seen with these articles.
ARTICLE_CONFLICTS = {"der": {"die", "das"}, "den": {"die"}}
DETERMINERS = _words(
    "der die das den dem des ein eine einen einem einer eines im am zum zur vom "
    "beim ins sein seine seinen seinem seiner seines ihr ihre ihren ihrem ihrer "
    "ihres dieser diese dieses diesem diesen kein keine keinen jede jeder jeden "
    "alle allen viele vielen einige einigen mehrere manche beide beiden zwei drei "
    "vier fünf welche welcher welchen welches welchem"
)
ADJECTIVE_ENDINGS = ("e", "en", "er", "es", "em")
COMMON_NOUN_SUFFIXES = tuple(
    _words("ung ungen heit heiten keit keiten schaft schaften tion tionen ität itäten ismus")
)
PARTICLES = {"von", "van", "de", "da", "du", "of", "and"}
ENUMERATION = {"und", "oder", "sowie"}
BLOCKING_NEXT = {"der", "des", "eines", "einer", "namens", "von"}
MALE = {"er", "ihn"}
PLACE_ADVERB = {"in": "dort", "nach": "dorthin", "aus": "von dort"}
EVENT_ADVERB = {"im": "dort", "beim": "dabei"}
DATIVE = {"von", "mit", "bei", "zu", "seit", "nach", "aus"}
ACCUSATIVE = {"für", "durch", "gegen", "ohne", "um"}
TOKEN = re.compile(r"\w+(?:[-'’]\w+)*")
SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-ZÄÖÜ„\"])")
RELATIVE_CLAUSE = re.compile(r"\s*,|\s+(?:der|die|das|dem|den|deren|dessen)\s")
LATER_RELATIVE = re.compile(r",\s+(?:\w+\s+)?(?:der|die|das|dem|den|deren|dessen)\s")
WORD_BOUNDARY_AFTER = re.compile(r"(?:$|[\s?!.,;:)\"“”»])")


@dataclass(frozen=True)
class Token:
    """A word with its character offsets in the text it came from."""

    text: str
    start: int
    end: int

    @property
    def capitalised(self) -> bool:
        """True when the word starts with an upper-case letter."""
        return self.text[0].isupper()


@dataclass(frozen=True)
class Name:
    """A named subject found in a question.

    Attributes:
        text: The name as written.
        start: Index of its first token.
        end: Index after its last token.
    """

    text: str
    start: int
    end: int

    @property
    def words(self) -> int:
        """Number of tokens in the name."""
        return self.end - self.start


@dataclass(frozen=True)
class Rewrite:
    """A rewritten follow-up question and what was replaced."""

    question: str
    name: str
    description: str


@dataclass
class Lexicon:
    """What XQuAD-de as a whole says about capitalised words.

    Attributes:
        words: Every word that occurs.
        determined: How often a word follows an article, possessive, quantifier,
            number, or article + adjective (an article after a comma is taken for a
            relative pronoun and not counted).
        free: How often a word follows neither a preposition nor a determiner.
        articles: The definite articles seen right before a word.
        places: Words seen right after "in".
        paragraphs: All contexts, for the male-pronoun test.
    """

    words: set[str] = field(default_factory=set)
    determined: Counter[str] = field(default_factory=Counter)
    free: Counter[str] = field(default_factory=Counter)
    articles: defaultdict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    places: set[str] = field(default_factory=set)
    paragraphs: list[str] = field(default_factory=list)
    _male: dict[str, bool] = field(default_factory=dict)

    def add(self, text: str, paragraph: bool) -> None:
        """Records the words of one text (a context when ``paragraph`` is true)."""
        if paragraph:
            self.paragraphs.append(text)
        toks = tokens(text)
        for n, tok in enumerate(toks):
            self.words.add(tok.text)
            before = toks[n - 1].text if n else ""
            if self._determiner(text, toks, n - 1):
                self.determined[tok.text] += 1
                if before.lower() in ARTICLE_PRONOUN:
                    self.articles[tok.text].add(before.lower())
            elif before.isdigit() or (
                n > 1
                and before.islower()
                and before.endswith(ADJECTIVE_ENDINGS)
                and self._determiner(text, toks, n - 2)
            ):
                self.determined[tok.text] += 1
            elif before.lower() not in PREPOSITIONS:
                self.free[tok.text] += 1
            if before == "in":
                self.places.add(tok.text)

    @staticmethod
    def _determiner(text: str, toks: list[Token], n: int) -> bool:
        """Whether ``toks[n]`` is a determiner and not a relative pronoun."""
        if n < 0 or toks[n].text.lower() not in DETERMINERS:
            return False
        return n == 0 or "," not in text[toks[n - 1].end : toks[n].start]

    def is_name(self, word: str) -> bool:
        """Whether a single capitalised word may be a name (see the module rule)."""
        return (
            self.free[word] > 0
            and 4 * self.determined[word] <= self.free[word]
            and not word.lower().endswith(COMMON_NOUN_SUFFIXES)
        )

    def is_genitive(self, word: str) -> bool:
        """Whether ``word`` is the genitive of another word ("Luthers")."""
        return len(word) > 2 and word.endswith("s") and word[:-1] in self.words

    def kind(self, name: Name) -> str | None:
        """Returns "place", "male" or None for a name used without an article."""
        if name.words == 1 and name.text in self.places:
            return "place"
        if name.words == 1 and name.text.endswith("en"):
            return None
        if name.text not in self._male:
            self._male[name.text] = any(male_pronoun_follows(name.text, p) for p in self.paragraphs)
        return "male" if self._male[name.text] else None


def file_name(number: int, title: str) -> str:
    """Returns the benchmark's file name for an XQuAD article (as ``prepare_xquad``)."""
    return f"{number:02d}_{re.sub(r'[^0-9A-Za-z.-]+', '_', title).strip('_')}.txt"


def tokens(text: str) -> list[Token]:
    """Splits text into word tokens with their offsets."""
    return [Token(m.group(), m.start(), m.end()) for m in TOKEN.finditer(text)]


def normalise(text: str) -> str:
    """Lower-cases and collapses whitespace and end punctuation, for comparisons."""
    return " ".join(text.lower().split()).strip(" ?.!")


def occurrences(haystack: str, needle: str) -> int:
    """Counts whole-word, case-sensitive occurrences."""
    return len(re.findall(rf"(?<!\w){re.escape(needle)}(?!\w)", haystack))


def male_pronoun_follows(name: str, paragraph: str) -> bool:
    """Whether "er" or "ihn" follows a mention of ``name`` in that or the next sentence."""
    sentences = SENTENCE_END.split(paragraph)
    for n, sentence in enumerate(sentences):
        where = sentence.find(name)
        if where < 0:
            continue
        window = sentence[where + len(name) :] + " " + " ".join(sentences[n + 1 : n + 2])
        if any(tok.text.lower() in MALE for tok in tokens(window)):
            return True
    return False


def name_run(toks: list[Token], text: str, start: int) -> int:
    """Returns the end index (exclusive) of the capitalised run starting at ``start``.

    The run continues over capitalised words and numbers, and over a particle that
    stands between two capitalised words, as long as only spaces (or an initial's
    dot) separate them. Returns ``start`` when ``toks[start]`` is not capitalised.
    """
    if start >= len(toks) or not toks[start].capitalised:
        return start
    end = start + 1
    while end < len(toks) and re.fullmatch(r"\.?\s+", text[toks[end - 1].end : toks[end].start]):
        word = toks[end]
        if word.capitalised or word.text.isdigit():
            end += 1
        elif (
            word.text in PARTICLES
            and end + 1 < len(toks)
            and toks[end + 1].capitalised
            and re.fullmatch(r"\s+", text[word.end : toks[end + 1].start])
        ):
            end += 2
        else:
            break
    return end


def find_name(
    toks: list[Token], text: str, start: int, refs: list[str], lexicon: Lexicon, article: bool
) -> Name | None:
    """Returns the named subject starting at ``toks[start]``, if there is one.

    Args:
        toks: The tokens of ``text``.
        text: The question.
        start: Where the name must start.
        refs: The texts the name must also occur in (Q1, maybe the first sentence).
        lexicon: Corpus statistics.
        article: Whether an article precedes the name; then a single word need not
            pass the name test, because the article gives the right pronoun.
    """
    end = name_run(toks, text, start)
    if end == start or lexicon.is_genitive(toks[start].text):
        return None
    name = Name(text[toks[start].start : toks[end - 1].end], start, end)
    if name.words == 1 and not article and not lexicon.is_name(name.text):
        return None
    if not WORD_BOUNDARY_AFTER.match(text, toks[end - 1].end):
        return None
    if text[toks[end - 1].end :].lstrip().startswith(",") or (
        end < len(toks) and toks[end].text in ENUMERATION
    ):
        return None
    if occurrences(text, name.text) != 1 or not any(occurrences(ref, name.text) for ref in refs):
        return None
    return name


def verb_position(toks: list[Token], text: str) -> tuple[int, str] | None:
    """Finds the finite verb right after the question phrase.

    Returns:
        The index of the verb and the lower-cased question word, or None when the
        question does not open with a recognised question phrase and a verb.
    """
    i = 1 if toks and toks[0].text.lower() in PREPOSITIONS else 0
    if i >= len(toks):
        return None
    word = toks[i].text.lower()
    if word not in W_WORDS and not word.startswith("welch"):
        return None
    i += 1
    noun_phrase = word.startswith("welch") or word == "wessen"
    if word == "wie" and i < len(toks) and toks[i].text.lower() in HOW_WORDS:
        noun_phrase = toks[i].text.lower() in {"viele", "vielen", "viel"}
        i += 1
    while noun_phrase and i < len(toks):
        if toks[i].capitalised or (
            is_adjective(toks[i].text) and i + 1 < len(toks) and toks[i + 1].capitalised
        ):
            i += 1
        else:
            break
    if i >= len(toks):
        return None
    verb = toks[i].text
    if (
        not verb.islower()
        or not verb.isalpha()
        or verb in DETERMINERS | PREPOSITIONS | ENUMERATION | {"sich"}
        or not text[toks[i - 1].end : toks[i].start].isspace()
    ):
        return None
    return i, word


def is_adjective(word: str) -> bool:
    """Whether ``word`` looks like an inflected adjective (lower case, -e/-en/...)."""
    return word.islower() and word.endswith(ADJECTIVE_ENDINGS) and word not in DETERMINERS


def adjectives_precede(adjectives: list[str], name: str, ref: str) -> bool:
    """Whether ``ref`` has the same adjectives (any inflection) right before ``name``."""
    stems = [re.escape(re.sub(r"(?:e|en|em|er|es)$", "", a)) + r"\w*" for a in adjectives]
    return (
        re.search(r"(?<!\w)" + r"\s+".join([*stems, re.escape(name)]) + r"(?!\w)", ref) is not None
    )


def phrase_end(toks: list[Token], text: str, name: Name, refs: list[str]) -> int | None:
    """Returns where the noun phrase around ``name`` ends, or None if it is unclear.

    Takes in a directly following genitive ("der Panthers") and rejects a phrase
    followed by another genitive, "von", "namens", a comma or relative clause, or
    by a word that follows the name in Q1 or the first sentence as well, and a phrase
    after which the question has a relative clause (its antecedent is unclear).
    """
    end = name.end
    if (
        end + 1 < len(toks)
        and toks[end].text in {"der", "des"}
        and text[toks[end - 1].end : toks[end].start].isspace()
    ):
        end = max(end, name_run(toks, text, end + 1))
    if end < len(toks):
        following = toks[end].text
        if following in BLOCKING_NEXT or any(f"{name.text} {following}" in ref for ref in refs):
            return None
    if RELATIVE_CLAUSE.match(text, toks[end - 1].end) or LATER_RELATIVE.search(
        text, toks[end - 1].end
    ):
        return None
    return end


def subject_rewrite(q2: str, refs: list[str], lexicon: Lexicon) -> Rewrite | None:
    """Slot 1: replaces the noun phrase right after the finite verb by a pronoun."""
    toks = tokens(q2)
    found = verb_position(toks, q2)
    if found is None:
        return None
    verb, question_word = found
    slot = verb + 1
    reflexive = slot < len(toks) and toks[slot].text == "sich"
    if reflexive:
        slot += 1
    if slot + 1 >= len(toks):
        return None
    article = toks[slot].text if toks[slot].text in ARTICLE_PRONOUN else None
    start = slot + 1 if article else slot
    while article and start + 1 < len(toks) and is_adjective(toks[start].text):
        start += 1  # adjectives between article and name: "die erste Warschauer Börse"
    if article and not all(
        q2[a.end : b.start].isspace()
        for a, b in zip(toks[slot:start], toks[slot + 1 : start + 1], strict=True)
    ):
        return None
    name = find_name(toks, q2, start, refs, lexicon, article is not None)
    if name is None:
        return None
    adjectives = [t.text for t in toks[slot + 1 : start]] if article else []
    if adjectives and not any(adjectives_precede(adjectives, name.text, ref) for ref in refs):
        return None  # "die westliche Hälfte" does not refer back to "die östliche Hälfte"
    end = phrase_end(toks, q2, name, refs)
    if end is None:
        return None
    if article:
        head = toks[name.start].text
        if article in ARTICLE_CONFLICTS and lexicon.articles[head] & ARTICLE_CONFLICTS[article]:
            return None  # not a masculine "der"/"den" (dative, genitive or plural)
        if article == "den" and head.endswith("n"):
            return None  # "den Schulen": a dative plural
        if article == "der" and question_word == "wer":
            return None  # with "wer" as subject, "der X" is a dative or genitive
        pronoun, why = ARTICLE_PRONOUN[article], f"pronoun from the article '{article}'"
    else:
        if question_word == "wer" or toks[verb].text == "sind" or toks[verb].text.endswith("en"):
            return None
        kind = lexicon.kind(name)
        if kind is None:
            return None
        pronoun = "es" if kind == "place" else "er"
        why = "a place: XQuAD-de uses it after 'in'" if kind == "place" else "a male person"
    first = toks[slot - 1] if reflexive else toks[slot]
    replaced = q2[first.start : toks[end - 1].end]
    new = pronoun + (" sich" if reflexive else "")
    question = q2[: first.start] + new + q2[toks[end - 1].end :]
    return Rewrite(
        question, name.text, f"subject/object after the verb, '{replaced}' -> '{new}' ({why})"
    )


def preposition_rewrite(q2: str, refs: list[str], lexicon: Lexicon) -> Rewrite | None:
    """Slot 2: replaces a name right after a preposition by an adverb or pronoun."""
    toks = tokens(q2)
    for i in range(1, len(toks) - 1):
        prep = toks[i].text
        if prep not in PLACE_ADVERB.keys() | EVENT_ADVERB.keys() | DATIVE | ACCUSATIVE:
            continue
        name = find_name(toks, q2, i + 1, refs, lexicon, article=False)
        if name is None or phrase_end(toks, q2, name, refs) != name.end:
            continue
        capitalised = sum(1 for t in toks[name.start : name.end] if t.capitalised)
        kind = lexicon.kind(name)
        if prep in EVENT_ADVERB:
            if capitalised < 2:
                continue
            new, why = EVENT_ADVERB[prep], "a multi-word name"
        elif prep in PLACE_ADVERB and (kind == "place" or (prep == "in" and capitalised >= 2)):
            new, why = (
                PLACE_ADVERB[prep],
                "a place" if kind == "place" else "a multi-word name after 'in'",
            )
        elif kind == "male" and prep in DATIVE | ACCUSATIVE:
            new, why = f"{prep} {'ihm' if prep in DATIVE else 'ihn'}", "a male person"
        else:
            continue
        replaced = q2[toks[i].start : toks[name.end - 1].end]
        question = q2[: toks[i].start] + new + q2[toks[name.end - 1].end :]
        return Rewrite(question, name.text, f"after a preposition, '{replaced}' -> '{new}' ({why})")
    return None


def rewrite(q1: str, q2: str, refs: list[str], lexicon: Lexicon) -> Rewrite | None:
    """Applies the rule to one pair; returns None when no replacement is possible."""
    result = subject_rewrite(q2, refs, lexicon) or preposition_rewrite(q2, refs, lexicon)
    if result is None:
        return None
    question = re.sub(r"\s+([?,.])", r"\1", re.sub(r"\s+", " ", result.question)).strip()
    where = "Q1" if occurrences(q1, result.name) else "the paragraph's first sentence"
    return Rewrite(
        question, result.name, f"{result.description}; '{result.name}' occurs in {where}"
    )


def first_pair(
    qas: list[dict], paragraph: str, name: str, span: list[int], lexicon: Lexicon
) -> dict[str, object] | None:
    """Returns the conversation built from the paragraph's first qualifying pair."""
    first_sentence = SENTENCE_END.split(paragraph, maxsplit=1)[0]
    for with_first_sentence in (False, True):
        for first in qas:
            for second in qas:
                if first is second:
                    continue
                q1, q2 = first["question"].strip(), second["question"].strip()
                a1, a2 = first["answers"][0]["text"], second["answers"][0]["text"]
                if normalise(q1) == normalise(q2) or normalise(a1) == normalise(a2):
                    continue
                refs = [q1, first_sentence] if with_first_sentence else [q1]
                result = rewrite(q1, q2, refs, lexicon)
                if result is None:
                    continue
                gold = {"source": name, "lines": span}
                return {
                    "id": "",
                    "corpus": "xquad",
                    "lang": "de",
                    "derivation": (
                        f"turn 2 rewrites XQuAD question {second['id']}: {result.description}"
                    ),
                    "xquad_ids": [first["id"], second["id"]],
                    "turns": [
                        {"question": q1, "kind": "first", **gold, "answer": a1},
                        {"question": result.question, "kind": "followup", **gold, "answer": a2},
                    ],
                }
    return None


def derive(xquad: Path) -> list[dict[str, object]]:
    """Builds the derived conversations from the XQuAD-de JSON file."""
    data = json.loads(xquad.read_text(encoding="utf-8"))["data"]
    lexicon = Lexicon()
    for article in data:
        for raw in article["paragraphs"]:
            lexicon.add(raw["context"], paragraph=True)
            for item in raw["qas"]:
                lexicon.add(item["question"], paragraph=False)
    conversations: list[dict[str, object]] = []
    for number, article in enumerate(data):
        name = file_name(number, article["title"])
        line = 1
        for raw in article["paragraphs"]:
            paragraph = raw["context"].strip()
            span = [line, line + paragraph.count("\n")]
            line = span[1] + 2
            conversation = first_pair(raw["qas"], paragraph, name, span, lexicon)
            if conversation is not None:
                conversation["id"] = f"a{len(conversations) + 1:03d}"
                conversations.append(conversation)
    return conversations


def main() -> None:
    """Parses the arguments, derives the conversations and writes the JSON file."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--xquad", type=Path, default=DEFAULT_XQUAD, help="XQuAD-de JSON file")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output JSON file")
    args = parser.parse_args()
    conversations = derive(args.xquad)
    args.out.write_text(
        json.dumps(conversations, ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
    )
    print(f"{len(conversations)} conversations -> {args.out}")


if __name__ == "__main__":
    main()
