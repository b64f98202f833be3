"""Top detractor issues: key phrases over-represented in detractor comments compared with promoters.

Method (offline, no model): comments are lower-cased and split into words (Unicode letters); stop
words of the language are dropped; each comment yields its set of unigrams and bigrams. For each
phrase we count the detractor comments and the promoter comments containing it (document frequency)
and score it by the log-odds ratio with an informative Dirichlet prior (Monroe, Colaresi & Quinn
2008, "Fightin' Words"): the z-score of the difference of smoothed log-odds. Phrases seen in fewer
than ``min_count`` detractor comments are ignored; a unigram already covered by a higher-ranked
bigram is dropped. Done per language, with up to three example comments per phrase.
"""
from __future__ import annotations

import math
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

WORD = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)?", re.UNICODE)


def _words(text: str) -> set[str]:
    return set(text.split())


STOP_WORDS = {
    "en": _words("""a about after again all also am an and any are as at be because been but by can could did do does
        doesn't don't for from get got had has have he her here him his how i i'm if in into is it it's its just me
        more most my no not of on once one only or other our out so some still such than that the their them then
        there these they this to too up us very was we were what when which who why will with would you your
        again really much many well even"""),
    "de": _words("""aber alle als am an auch auf aus bei bin bis da das dass dem den der des die doch du ein eine einem
        einen einer es für hat hatte ich ihr im in ist ja mich mir mit nach nicht noch nur oder schon sehr sein sich
        sie sind so und uns von war was wie wir zu zum zur wieder ganz"""),
    "fr": _words("""a au aux avec ce ces dans de des du elle en est et eu il ils je la le les leur lui ma mais me mes
        mon ne nous on ou par pas pour qu que qui sa se ses son sur ta te tes toi ton tu un une vos votre vous y
        très trop l d c j n s qu'il c'est"""),
    "es": _words("""a al con de del el ella en es esta este la las lo los me mi muy no o otra otro para pero por que se
        sin su sus te un una y ya otra vez"""),
    "fi": _words("""ja on ei se että oli ole olen olla mutta kun niin myös vain hyvin aivan ihan tosi todella minä me te
        he tämä tuo"""),
}


@dataclass
class Theme:
    phrase: str
    detractor_count: int
    promoter_count: int
    z: float
    examples: list[str] = field(default_factory=list)


def phrases(text: str, locale: str) -> set[str]:
    """Unigrams and bigrams of a comment, without stop words (a bigram may not start or end with one)."""
    stop = STOP_WORDS.get(locale[:2], STOP_WORDS["en"])
    words = [w.lower().replace("’", "'") for w in WORD.findall(text)]
    out = {w for w in words if w not in stop and len(w) > 2}
    for a, b in zip(words, words[1:], strict=False):
        if a not in stop and b not in stop:
            out.add(f"{a} {b}")
    return out


def top_themes(detractor_comments: Sequence[str], promoter_comments: Sequence[str], *, locale: str = "en",
               limit: int = 8, min_count: int = 2, examples: int = 3) -> list[Theme]:
    """The phrases most typical of detractor comments versus promoter comments (see the module docstring)."""
    det = [phrases(c, locale) for c in detractor_comments]
    pro = [phrases(c, locale) for c in promoter_comments]
    det_df, pro_df = Counter(p for s in det for p in s), Counter(p for s in pro for p in s)
    prior = det_df + pro_df
    alpha0 = sum(prior.values()) or 1
    n_det, n_pro = sum(det_df.values()) or 1, sum(pro_df.values()) or 1
    scored = []
    for phrase, y_i in det_df.items():
        if y_i < min_count:
            continue
        a_w = prior[phrase] * 0.5 / alpha0 * 100 + 0.01  # scaled background frequency
        a_0 = 100 * 0.5 + 0.01 * len(prior)
        j_i = pro_df.get(phrase, 0)
        delta = (math.log((y_i + a_w) / (n_det + a_0 - y_i - a_w))
                 - math.log((j_i + a_w) / (n_pro + a_0 - j_i - a_w)))
        variance = 1 / (y_i + a_w) + 1 / (j_i + a_w)
        scored.append(Theme(phrase, y_i, j_i, delta / math.sqrt(variance)))
    scored.sort(key=lambda t: (-round(t.z, 6), -t.detractor_count, -len(t.phrase.split()), t.phrase))
    chosen: list[Theme] = []
    for theme in scored:
        if theme.z <= 0 or len(chosen) >= limit:
            break
        words = theme.phrase.split()
        if len(words) == 1 and any(theme.phrase in c.phrase.split() for c in chosen):
            continue
        chosen.append(theme)
    for theme in chosen:
        unique = dict.fromkeys(c.strip() for c, s in zip(detractor_comments, det, strict=True) if theme.phrase in s)
        theme.examples = list(unique)[:examples]
    return chosen


def themes_by_language(rows: Iterable[tuple[str, str, str]], **kwargs) -> dict[str, list[Theme]]:
    """rows: (locale, group, comment) -> {locale: themes}; languages without a recurring theme are left out."""
    grouped: dict[str, dict[str, list[str]]] = defaultdict(lambda: {"detractor": [], "promoter": []})
    for locale, group, comment in rows:
        if group in ("detractor", "promoter") and comment:
            grouped[(locale or "en")[:2]][group].append(comment)
    out = {}
    for locale, groups in sorted(grouped.items(), key=lambda kv: -len(kv[1]["detractor"])):
        found = top_themes(groups["detractor"], groups["promoter"], locale=locale, **kwargs)
        if found:
            out[locale] = found
    return out
