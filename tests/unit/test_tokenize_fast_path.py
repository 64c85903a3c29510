"""``tokenize``'s fast path (text with no quote, escape or JSON splits on whitespace)
gives exactly what the shlex path gives, so skipping shlex changes no command."""

from __future__ import annotations

import shlex

from hypothesis import example, given
from hypothesis import strategies as st

from commands.registry import _MARK, _PLAIN, _QUOTES, _protect_json, tokenize


def _shlex_path(text: str) -> list[str]:
    protected, saved = _protect_json(text.translate(_QUOTES))
    return [_MARK.sub(lambda m: saved[int(m.group(1))], t) for t in shlex.split(protected)]


# whitespace of every kind (shlex splits only on ASCII space, tab, CR, LF) and shell-ish
# punctuation that means nothing to shlex.split
_CHARS = st.sampled_from(list("ab:=,.-_#!$%&*()<>|;?/~`@^+0 \t\r\n\x0b\x0c\xa0\u2028é"))


@given(st.text(_CHARS, max_size=30))
@example("get users user:abc-123")
@example("  query\tusers  email=a@b.c \n --limit 5 ")
@example("scan users --filter a#b")
@example("get\xa0users x")
def test_plain_text_splits_as_shlex_would(text: str) -> None:
    assert _PLAIN.fullmatch(text)
    assert tokenize(text) == _shlex_path(text)


@given(st.text(st.sampled_from(list("ab =\"'\\{}[]“”‘’:,")), max_size=20))
def test_text_with_quotes_or_json_still_goes_through_shlex(text: str) -> None:
    try:
        expected = _shlex_path(text)
    except ValueError:
        return  # unbalanced quotes: tokenize raises CommandError (tested elsewhere)
    assert tokenize(text) == expected
