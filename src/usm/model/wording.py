"""What the words of a model say: is a process name a verb, does a step text name the WHO or HOW.

Both answers come from lemminflect's English dictionary (shipped inside the package, nothing is
downloaded): a verb is a word it knows as a verb, and a role is an agent noun derived from such a
verb (operate -> operator, supervise -> supervisor) or one of the few role nouns no verb yields.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

import lemminflect

from usm.model.loader import vocabulary

WORD = re.compile(r"[A-Za-z][A-Za-z'-]*")
# Bases of "-or" agent nouns end like these (operat-e, direct, audit, process, supervis-e);
# requiring it keeps nouns such as "error" (err) or "vendor" (vend) out.
OR_BASE = re.compile(r"(at|ct|it|ss|is|iz|st|v)$")


@cache
def is_verb(word: str) -> bool:
    return bool(lemminflect.getAllLemmas(word.lower(), upos="VERB"))


@cache
def known_word(word: str) -> bool:
    return bool(lemminflect.getAllLemmas(word.lower()))


@cache
def noun_lemma(word: str) -> str:
    lemmas = lemminflect.getAllLemmas(word.lower(), upos="NOUN").get("NOUN")
    return lemmas[0] if lemmas else word.lower()


def normal_text(text: str) -> str:
    """Text reduced to its words, for comparing activity texts written with different markup
    ($term$ links, non-breaking spaces, line ends)."""
    return re.sub(r"\W+", " ", text.replace("$", "")).strip().casefold()


@cache
def agent_base(noun: str) -> str | None:
    """The verb an agent noun is made from, or None when the noun is not one."""
    if len(noun) < 5 or is_verb(noun) or not lemminflect.getAllLemmas(noun, upos="NOUN"):
        return None
    stem = noun[:-2]
    candidates: list[str] = []
    if noun.endswith("er"):
        candidates = [stem, stem + "e"]
        if stem.endswith("i"):
            candidates.append(stem[:-1] + "y")
    elif noun.endswith("or") and OR_BASE.search(stem):
        candidates = [stem, stem + "e"]
    elif noun.endswith(("ant", "ent")):
        candidates = [noun[:-3], noun[:-3] + "e"]
    return next((c for c in candidates if len(c) > 2 and is_verb(c)), None)


@dataclass(frozen=True)
class Naming:
    """A word in a step text that belongs to a procedure or work instruction, not to the process."""

    criterion: int
    word: str
    reason: str


class Wording:
    """Checks texts against the model's own vocabulary plus names an organisation supplies."""

    def __init__(self, allowed_terms: set[str] = frozenset(), names: set[str] = frozenset()):
        words = vocabulary()
        self.parties = set(words["parties"])
        self.units = set(words["organisational_units"])
        self.roles = set(words["roles"])
        self.terms = {t.lower() for t in words["terms"]} | {t.lower() for t in allowed_terms}
        # Profile, team and tool names from a procedure or organisation, matched as phrases.
        self.names = sorted({n.strip() for n in names if n.strip()}, key=len, reverse=True)

    def namings(self, text: str) -> list[Naming]:
        found: dict[str, Naming] = {}
        plain = text.replace("$", "")
        for name in self.names:
            if re.search(rf"(?<!\w){re.escape(name)}(?!\w)", plain, re.IGNORECASE):
                found[name.lower()] = Naming(1, name, "names a profile or team of the organisation")
        for sentence in re.split(r"(?<=[.!?:;\n])\s+", plain):
            for index, match in enumerate(WORD.finditer(sentence)):
                word = match.group().strip("'-")
                naming = self._word(word, first=index == 0)
                if naming and naming.word.lower() not in found:
                    found[naming.word.lower()] = naming
        return list(found.values())

    def _word(self, word: str, *, first: bool) -> Naming | None:
        lower = word.lower()
        # Abbreviations (RFC, RFCs, BIA) are the model's shorthand, not names.
        if lower in self.terms or word.rstrip("s").isupper():
            return None
        lemma = noun_lemma(lower)
        if lemma in self.parties:
            return None
        if lemma in self.units:
            return Naming(1, word, "names an organisational unit")
        if lemma in self.roles:
            return Naming(1, word, "names a role")
        base = agent_base(lemma)
        if base:
            return Naming(1, word, f"names a role, person or tool (one who or what does '{base}')")
        inner_capital = any(c.isupper() for c in word[1:]) and not word.isupper()
        if inner_capital or (word[0].isupper() and not first and not known_word(word)):
            return Naming(4, word, "names a product, tool or person outside the model")
        return None
