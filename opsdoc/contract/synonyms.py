"""The words documents use for the template's headers and chapter titles (synonyms.toml, and a
company's own in opsdoc.toml's [synonyms]), and the similarity below which a word is no match.

One place, as data: `opsdoc import` matches a header or a chapter title exactly, then through
these words, then by similarity; anything weaker is a suggestion in the report, never a value.
"""

from __future__ import annotations

import re
import tomllib
import unicodedata
from dataclasses import dataclass, field
from difflib import SequenceMatcher
from importlib import resources

SIMILAR = 0.8  # SequenceMatcher ratio from which two header words are taken for one another
SUGGEST = 0.4  # from this ratio an unknown heading names the chapter it is most like (a hint, no placement)
SHORTEST = 3  # characters a word needs before similarity may stand in for equality


def norm(text: str) -> str:
    """Text as compared with the template's: NFKC, no whitespace, no trailing colon or asterisk."""
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text)).rstrip(":*")


def unitless(text: str) -> str:
    """A header as compared with the synonyms: normalised, without a unit in parentheses (金额(万元) → 金额)."""
    plain = norm(text)
    return re.sub(r"\([^()]*\)$", "", plain) or plain


@dataclass(frozen=True)
class Synonyms:
    """unitless(label) → the normalised words that stand for it, for headers and for chapter titles."""

    headers: dict[str, frozenset[str]] = field(default_factory=dict)
    chapters: dict[str, frozenset[str]] = field(default_factory=dict)

    def words_for(self, labels: frozenset[str] | set[str]) -> frozenset[str]:
        """Every word that stands for a column known by `labels`."""
        found = set(labels)
        for label in labels:
            found |= self.headers.get(label, frozenset())
        return frozenset(found)

    def merged(self, extra: dict[str, dict[str, list[str]]]) -> Synonyms:
        """These words and a company's own (opsdoc.toml's [synonyms.headers] and [synonyms.chapters])."""
        return Synonyms(
            _merge(self.headers, extra.get("headers", {})), _merge(self.chapters, extra.get("chapters", {}))
        )


def _merge(base: dict[str, frozenset[str]], extra: dict[str, list[str]]) -> dict[str, frozenset[str]]:
    merged = dict(base)
    for label, words in extra.items():
        key = unitless(label)
        merged[key] = merged.get(key, frozenset()) | {word for word in map(unitless, words) if word}
    return merged


def similar(a: str, b: str) -> float:
    """How alike two normalised words are; 0 for words too short to judge, or too unlike in length or
    letters to come near SIMILAR (checked first: data cells are tried against every header word)."""
    shorter, longer = sorted((len(a), len(b)))
    if shorter < SHORTEST or 2 * shorter / (shorter + longer) < SUGGEST:
        return 0.0
    matcher = SequenceMatcher(None, a, b)
    return matcher.ratio() if matcher.quick_ratio() >= SUGGEST else 0.0


def bundled() -> Synonyms:
    data = tomllib.loads(resources.files("opsdoc.contract").joinpath("synonyms.toml").read_text(encoding="utf-8"))
    return Synonyms().merged(data)
