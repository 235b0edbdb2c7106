"""A likely codec for bytes that are not valid in the given one: the hint of an ENCODING_ERROR."""

from __future__ import annotations

import codecs
import re
import unicodedata

# When charset-normalizer cannot tell codecs apart (a few accented letters decode to letters in many of them:
# Latin-1's "£" is cp1250's "Ł"), the more widely used one is the better bet; listed by use, most used first.
_COMMON_CODECS = ("cp1252", "iso8859-15", "iso8859-1", "cp1251", "cp1250", "shift_jis", "gb18030", "euc_kr",
                  "big5", "cp1253", "cp1254", "cp1256", "cp1255", "cp1257", "cp1258", "koi8-r", "iso8859-2")
# Scripts that one word may mix (Japanese writes kanji and kana together).
_SCRIPT_FAMILIES = {"HIRAGANA": "CJK", "KATAKANA": "CJK", "HANGUL": "CJK", "HALFWIDTH": "CJK", "FULLWIDTH": "CJK"}
_WORD = re.compile(r"[^\W\d_]+")
_LETTER_BY_DIGIT = re.compile(r"[^\W\d_\x00-\x7f][0-9]|[0-9][^\W\d_\x00-\x7f]")
_INSIDE_WORD = re.compile(r"(?<=[^\W\d_])([^\x00-\x7f])(?=[^\W\d_])")
# Differences charset-normalizer's scores show on a short sample and that say nothing (measured on CSVs of a
# few accented words: Latin-1 scored 0.0 to 0.05 below cp1250 in mess and coherence alike).
_CHAOS_TIE = 0.05
_COHERENCE_TIE = 0.1


def guess_encoding(sample: bytes) -> str | None:
    """A codec that decodes ``sample`` to plausible text, or ``None`` when there is none or several disagree.

    charset-normalizer ranks the candidates; a decoding with control or unassigned characters, or with a word
    that mixes scripts (an Arabic letter inside a Latin word), is not plausible. Among candidates ranked alike
    that decode the bytes differently, the most used codec wins; when none of them is a common one, no guess.
    """
    import charset_normalizer

    matches = [match for match in charset_normalizer.from_bytes(sample) if _plausible(str(match))]
    if not matches or matches[0].encoding in ("utf_8", "ascii"):
        return None
    best = matches[0]
    tied = [m for m in matches
            if m.chaos <= best.chaos + _CHAOS_TIE and m.coherence >= best.coherence - _COHERENCE_TIE]
    decodings = {str(m) for m in tied}
    candidates = {_codec_name(name): str(m) for m in reversed(tied) for name in [m.encoding, *m.could_be_from_charset]}
    for codec in _COMMON_CODECS:
        if codec in candidates and _plausible(candidates[codec]):
            return codec
    return _codec_name(best.encoding) if len(decodings) == 1 else None


def _codec_name(name: str) -> str:
    try:
        return codecs.lookup(name).name
    except LookupError:
        return name


def _plausible(text: str) -> bool:
    """No control, private or unassigned character beyond ASCII, no word that mixes scripts, no accented letter
    against a digit ("Ł12" is cp1250 for Latin-1's "£12"), no symbol inside a word ("¿ó³k" is cp1252 for "Żółk")."""
    if any(unicodedata.category(ch) in ("Cc", "Cn", "Co", "Cs") for ch in text if not ch.isascii()):
        return False
    if _LETTER_BY_DIGIT.search(text) or any(_is_symbol(m.group(1)) for m in _INSIDE_WORD.finditer(text)):
        return False
    return all(len(_scripts(word)) == 1 for word in _WORD.findall(text) if not word.isascii())


def _is_symbol(ch: str) -> bool:
    return unicodedata.category(ch) in ("Sc", "Sk", "Sm", "So", "No")


def _scripts(word: str) -> set[str]:
    names = (unicodedata.name(ch, "UNKNOWN").split(" ", 1)[0] for ch in word)
    return {_SCRIPT_FAMILIES.get(name, name) for name in names}
