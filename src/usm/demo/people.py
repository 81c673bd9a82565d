"""Invented people for the demo organisation: names, unique login names and mail addresses,
drawn from a seeded random state so that the same seed gives the same people."""

from __future__ import annotations

import random
import unicodedata

FIRST_NAMES = (
    "Aline", "Bram", "Carmen", "Daan", "Esmee", "Farid", "Greta", "Hugo", "Ilse", "Jonas",
    "Kiki", "Lars", "Maud", "Nabil", "Olga", "Pieter", "Quinn", "Roos", "Sander", "Tess",
    "Umut", "Vera", "Wout", "Xenia", "Yara", "Zeno", "Anouk", "Boris", "Celine", "Dirk",
    "Elif", "Floor", "Gijs", "Hanna", "Ivo", "Jade", "Koen", "Lotte", "Milan", "Nora",
    "Otto", "Pleun", "Rik", "Sanne", "Tobias", "Ursula", "Vince", "Wendy", "Yusuf", "Zoë",
)  # fmt: skip
LAST_NAMES = (
    "Akkerman", "Brouwer", "Castelijn", "Dekkers", "Elzinga", "Frankema", "Gerritsen",
    "Hoogland", "IJsseldijk", "Jonker", "Kuipers", "Lammers", "Molenaar", "Nijhuis",
    "Oosterhof", "Postma", "Quist", "Rademaker", "Schuurman", "Terpstra", "Uittenbogaard",
    "Veenstra", "Wolters", "Zwart", "Alberts", "Bosman", "Coenen", "Draaisma", "Eijkelboom",
    "Flinterman", "Groenewold", "Hazelhoff", "Kingma", "Lubbers", "Meulenbelt", "Noordhuis",
    "Ottens", "Prins", "Roelofsen", "Spaans", "Tammeling", "Verhoef", "Westra", "Zandstra",
)  # fmt: skip


class NamePool:
    """Hands out people's names and login names without repeating either."""

    def __init__(self, rng: random.Random):
        self.rng = rng
        self.used_names: set[str] = set()
        self.used_logins: set[str] = set()

    def name(self) -> str:
        while True:
            name = f"{self.rng.choice(FIRST_NAMES)} {self.rng.choice(LAST_NAMES)}"
            if name not in self.used_names:
                self.used_names.add(name)
                return name

    def login(self, name: str, reserved: set[str] = frozenset()) -> str:
        first, _, last = name.partition(" ")
        base = _ascii(f"{first[0]}.{last}".lower())
        candidate, n = base, 1
        while candidate in self.used_logins or candidate in reserved:
            n += 1
            candidate = f"{base}{n}"
        self.used_logins.add(candidate)
        return candidate


def mail(login: str, domain: str) -> str:
    return f"{login}@{domain}"


def _ascii(text: str) -> str:
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
