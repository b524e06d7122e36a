"""The bilingual (EN/ES) lexicon of evidence phrases that alerts quote as `cues`.

The model decides the stance; this module only finds the words in the text that carry it, so
an analyst sees *why* an alert fired. Patterns are matched accent- and case-insensitively.
"""

from __future__ import annotations

import re
import unicodedata

_ESCALATORY = [
    # English
    r"sanction(?:s|ed|ing)?", r"impos(?:e|es|ed|ing)", r"tariffs?", r"dut(?:y|ies) of \d+", r"retaliat\w*",
    r"revok\w+", r"expel\w*", r"expulsion", r"suspend\w*", r"halt\w*", r"cut(?:s|ting)? off",
    r"no longer", r"terminat\w+", r"sever\w*", r"recall\w* (?:its |our |the )?ambassador", r"decertif\w+",
    r"failed demonstrably", r"indict\w*", r"lawsuit", r"sue\b", r"strik(?:e|es|ing)", r"struck",
    r"deploy\w*", r"destroy\w*", r"attack\w*", r"threat\w*", r"warn\w*", r"ultimatum", r"blockade",
    r"embargo", r"reject\w*", r"condemn\w*", r"illegal", r"narco\w*", r"drug leader", r"thug\w*",
    r"criminal\w*", r"interference", r"will not tolerate", r"never (?:kneel|bow|surrender)",
    r"countermeasures?", r"freez\w+", r"blacklist\w*", r"designat\w+", r"ban(?:s|ned)?\b",
    r"visa restrictions?", r"hostile", r"aggression", r"invasion", r"mobiliz\w+", r"close[sd]? the border",
    # Spanish (accents are folded before matching)
    r"sancion\w*", r"arancel\w*", r"represalia\w*", r"revoca\w*", r"expuls\w+", r"suspend\w*",
    r"suspension", r"recorte\w*", r"cort\w+ (?:la|las|el|los) (?:ayuda|relaciones)", r"ruptura",
    r"romper relaciones", r"llamad\w+ a consultas", r"descertifica\w*", r"demanda\w*", r"acusacion\w*",
    r"ataque\w*", r"bombarde\w*", r"despliegue\w*", r"amenaz\w+", r"ultimatum", r"bloqueo", r"embargo",
    r"rechaz\w+", r"conden\w+", r"injerencia", r"ilegal\w*", r"narcotrafican\w*", r"ni un paso atras",
    r"jamas de rodillas", r"no nos arrodillaremos", r"contramedidas?", r"congela\w*", r"lista negra",
    r"prohib\w+", r"congel\w+", r"hostil\w*", r"agresion\w*", r"invasion", r"movilizacion",
    r"cierre de (?:la )?frontera",
    r"ofensa\w*", r"mentiros\w*", r"traidor\w*",
]
_DEESCALATORY = [
    # English
    r"lift\w*", r"eas(?:e|es|ed|ing)", r"remov\w+ (?:the )?(?:sanctions|tariffs|restrictions)", r"resum\w+",
    r"dialogue", r"talks", r"negotiat\w+", r"agree\w*", r"accord", r"deal\b", r"ceasefire", r"truce",
    r"cooperat\w+", r"partnership", r"welcom\w+", r"thank\w*", r"gratitude", r"reopen\w*", r"restor\w+",
    r"normaliz\w+", r"de-?escalat\w+", r"peaceful", r"mutual respect", r"common ground", r"reconcil\w+",
    r"extend\w* (?:a |our )?hand", r"exchange of prisoners", r"prisoner exchange", r"release[sd]?\b",
    r"solidarity", r"condolences",
    # Spanish
    r"levant\w+", r"flexibiliz\w+", r"elimin\w+ (?:las |los )?(?:sanciones|aranceles|restricciones)",
    r"reanud\w+", r"dialogo", r"conversaciones", r"negocia\w+", r"acuerdo\w*", r"alto el fuego",
    r"tregua", r"cooperacion", r"coopera\w*", r"alianza", r"celebr\w+", r"acoge\w*", r"agradec\w+",
    r"gracias", r"reabr\w+", r"reapertura", r"restablec\w+", r"normaliza\w+", r"desescala\w+",
    r"pacific\w+", r"respeto mutuo", r"reconcilia\w+", r"tender la mano", r"canje", r"liberacion",
    r"solidaridad", r"condolencias", r"con dignidad", r"hermandad",
]


def fold(text: str) -> str:
    """Lower case with accents removed: 'Sanción' -> 'sancion'."""
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def _compile(patterns: list[str]) -> re.Pattern[str]:
    return re.compile(r"\b(?:" + "|".join(patterns) + r")\b")


ESCALATORY = _compile(_ESCALATORY)
DEESCALATORY = _compile(_DEESCALATORY)
_WORD = re.compile(r"\w+")


def find_cues(text: str, stance: str, limit: int = 5) -> tuple[str, ...]:
    """Evidence phrases of `text` for `stance`: each match with a word of context on each side."""
    pattern = {"escalatory": ESCALATORY, "de-escalatory": DEESCALATORY}.get(stance)
    if pattern is None:
        return ()
    folded = fold(text)
    if len(folded) != len(text):  # some characters decompose into several: match on a 1:1 fold
        folded = "".join(fold(ch)[:1] or " " for ch in text)
    spans: list[tuple[int, int]] = []
    for match in pattern.finditer(folded):
        start, end = _widen(folded, match.start(), match.end())
        if spans and start <= spans[-1][1]:
            spans[-1] = (spans[-1][0], max(end, spans[-1][1]))
        else:
            spans.append((start, end))
    cues: list[str] = []
    for start, end in spans:
        phrase = " ".join(text[start:end].split()).strip(" ,:;")
        if phrase and phrase.lower() not in (c.lower() for c in cues):
            cues.append(phrase)
    return tuple(cues[:limit])


_BOUNDARY = re.compile(r"[.!?;:,\n]")


def _widen(text: str, start: int, end: int) -> tuple[int, int]:
    """Extends a match by one word on each side, within its clause."""
    before = [m for m in _WORD.finditer(text, max(0, start - 40), start)]
    after = _WORD.search(text, end, min(len(text), end + 40))
    if before and not _BOUNDARY.search(text[before[-1].end():start]):
        start = before[-1].start()
    if after and not _BOUNDARY.search(text[end:after.start()]):
        end = after.end()
    return start, end
