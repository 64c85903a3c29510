"""The catalogue of credential shapes, and masking that replaces only the secret.

Ported from the plugins of Yelp's ``detect-secrets`` (1.5.0: AWS, Azure storage,
basic-auth URLs, Artifactory, Cloudant / IBM / SoftLayer keyword forms, Discord, GitHub,
GitLab, JWT, keyword=value, Mailchimp, NPM, OpenAI, private keys, PyPI, SendGrid, Slack,
Square, Stripe, Telegram, Twilio) plus the provider families of current scanners
(Google OAuth and API keys, Anthropic / OpenAI project keys, Hugging Face, bearer and
basic authorization headers). ``detect-secrets`` itself is not used at run time: it
reports whole lines with no span, its keyword detector takes the rest of a line as the
secret, and scanning with it costs far more per value (see ``benchmarks/redact.py``).
``tests/unit/test_credentials.py`` runs it as an oracle over every example here.

Each shape names the part that is secret (the group ``s``); the key name, URL scheme and
user, the ``Bearer`` label stay, so a reader still understands the text. No shape can
cross a line break (only the PEM body, which is one value spread over lines of base64),
and none spans the two-space gap between rendered table columns.

Masking runs in time linear in the text (a 400 KB item value is allowed, and anyone who
can write one, or build one with ``--query``, chooses it): no shape may try, from each of
many start positions, a run that reaches far beyond it. Where a regex alone would (the
URL scheme before ``://``, the label before an AWS secret, a JWT header), the start is
pinned to the beginning of its run by a look-behind, a possessive quantifier takes the
run once, or a small finder skips the starts that cannot match
(``tests/unit/test_masking_linear.py``, ``benchmarks/masking.py``). Shapes that ignore
letter case run over the lower-cased text without ``re.IGNORECASE``, so the regex engine
can skip ahead to the first letter of a keyword instead of trying every position.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass

MASKED = "[masked credential]"

Finder = Callable[[re.Pattern[str], str], Iterator[re.Match[str]]]


@dataclass(frozen=True)
class Shape:
    """One credential family: its pattern; the group ``s`` (if any) is what is masked."""

    name: str
    pattern: re.Pattern[str]
    # lower-case substrings one of which every match contains: a value holding none is
    # skipped with a few ``in`` tests instead of a regex pass (most values hold none)
    gates: tuple[str, ...] = ()
    # the pattern is written in lower case and runs over the lower-cased text
    lowered: bool = False
    # the matches without the regex's own scan, which would try starts that cannot match
    # (each ``eyJ`` of a long run); None: ``pattern.finditer``
    finder: Finder | None = None

    def matches(self, subject: str) -> Iterator[re.Match[str]]:
        """Non-overlapping matches, leftmost first, as ``finditer`` finds them."""
        if self.finder is not None:
            return self.finder(self.pattern, subject)
        first = self.pattern.search(subject)  # most texts hold none: no iterator then
        return iter(()) if first is None else self.pattern.finditer(subject, first.start())

    def mask(self, text: str, lowered: str | None = None) -> str:
        """``text`` with this shape's secrets masked (``lowered``: ``text`` lower-cased, if known)."""
        group = "s" if "s" in self.pattern.groupindex else 0
        if not (group or self.lowered or self.finder):
            return self.pattern.sub(MASKED, text)  # the whole match, replaced in C
        subject = (lowered if lowered is not None else lower(text)) if self.lowered else text
        out: list[str] = []
        last = 0
        for m in self.matches(subject):
            start, end = m.span(group)
            out += (text[last:start], MASKED)
            last = end
        if not out:
            return text
        out.append(text[last:])
        return "".join(out)


_ASCII_LOWER = {c: c + 32 for c in range(ord("A"), ord("Z") + 1)}


def lower(text: str) -> str:
    """``text`` lower-cased, character for character (positions stay those of ``text``)."""
    lowered = text.lower()
    # a few letters lower-case to two characters (``İ``): keep the positions then
    return lowered if len(lowered) == len(text) else text.translate(_ASCII_LOWER)


def _shape(name: str, pattern: str, gates: tuple[str, ...] | str, *, lowered: bool = False,
           finder: Finder | None = None) -> Shape:
    return Shape(name, re.compile(pattern), (gates,) if isinstance(gates, str) else gates,
                 lowered, finder)


# the value after a keyword: not a placeholder we wrote ourselves, not a plain literal
# (patterns of ``lowered`` shapes: the text they see is lower-case)
_NOT_LITERAL = (r"(?!(?:true|false|null|none|nil|undefined)\b)(?!\[redacted\]|\[masked|\*+(?:\s|$))"
                # a labelled credential or a key is the shape that starts there
                r"(?!(?:bearer|basic|token) |-----begin)")
# The keyword families. A match starts at the word that makes the name a secret
# (``client_secret`` at ``secret``, ``refresh_token`` at ``token``): only the value is
# masked, so the name's start does not matter, and every branch begins with a letter the
# regex engine can skip to. ``key`` alone is no keyword (``key: value`` is everywhere),
# only with a qualifier. A pagination token (``NextToken``, ``next_page_token``,
# ``PaginationToken``, ``StartingToken``) is no credential: it is how a reader asks for
# the next page, so it stays (a credential-shaped value in one is still masked).
# Nor is our own ``[masked credential]`` a keyword.
_PAGING = "".join(f"(?<!{w}token)(?<!{w}[_-]token)"
                  for w in ("next", "page", "pagination", "continuation", "starting"))
_KEYWORD = (
    r"(?:pass(?:word|wd|phrase)|pwd|secret(?:[_-]?key)?|token" + _PAGING + r"|credentials?(?<!\[masked credential)"
    r"|contrase(?:ñ|n)a|a(?:pi|ccess|uth|ccount)[_-]?key|private[_-]?key|client[_-]?key"
    r"|service[_-]?key|master[_-]?key|signing[_-]?key|encryption[_-]?key|d(?:b|atabase)[_-]?key"
    r"|iam[_-]?key)"
)
# every keyword contains one of these (the keyword shapes' gates)
_KEYWORD_GATES = ("pass", "pwd", "secret", "key", "token", "credential", "contrase")
# the separator: an optional closing quote, one ``:`` / ``=`` / ``:=``, at most one blank
# on either side (aligned table columns are two blanks apart, so a value never spills)
_SEP = r"[\"'\]]{0,2}[ \t]?(?::=|==?|:)[ \t]?"

# a PEM body: base64 chunks (a short last one ends in ``=``) and ``Name: value`` headers,
# one line break or blank apart: a card's next line (``version  1``) is never taken in
_PEM_LINE = r"[A-Za-z0-9+/]{16,}={0,2}|[A-Za-z0-9+/]{1,15}={1,2}|[A-Z][A-Za-z-]+: [^\s]+"
_PEM_GAP = r"(?:\r?\n|[ \t])"

# Both finders below rest on one fact: every start of a shape inside one run of the
# characters its first part is made of (the label before an AWS secret, a JWT header)
# takes that run to the same end and sees the same text after it. So the starts are
# tried left to right only where they can reach that end, and once one fails there, the
# rest of the run is skipped: the run is read a bounded number of times, where the regex
# alone tries every start and reads the run again from each (``awsawsaws…``: 30 s for
# 10 KB; ``eyJeyJeyJ…``: 1,024 steps a character).

def _run_end(run: re.Pattern[str], text: str, start: int) -> int:
    """Where the run (a possessive ``[…]*+``, so it always matches) starting at ``start`` ends."""
    m = run.match(text, start)
    return start if m is None else m.end()


# An AWS secret beside an AWS key name: ``aws``, then within 20 characters a key word,
# then within 20 more the separator and the 40-character secret (on lower-cased text).
_AWS = (r"aws[\w. -]{0,20}?(?:key|secret|token|pass\w{0,40}|pwd|pw)[\w\"' .-]{0,20}?"
        r"(?::=|[:=,])[ \t]?[\"']?(?P<s>(?<![a-z0-9/+])[a-z0-9/+]{40})(?![a-z0-9/+=])")
_AWS_LABEL_MAX = 3 + 20 + 44 + 20  # ``aws``, the gap, ``pass`` and 40 more, the gap
_AWS_LABEL_RUN = re.compile(r"[\w\"' .-]*+")
_AWS_SECRET_AFTER = re.compile(r"(?::=|[:=,])[ \t]?[\"']?(?<![a-z0-9/+])[a-z0-9/+]{40}(?![a-z0-9/+=])")


def _aws_matches(pattern: re.Pattern[str], text: str) -> Iterator[re.Match[str]]:
    pos = 0
    while (start := text.find("aws", pos)) != -1:
        run_end = _run_end(_AWS_LABEL_RUN, text, start)
        pos = run_end
        if _AWS_SECRET_AFTER.match(text, run_end) is None:
            continue  # no secret after this label: no ``aws`` in it can match
        start = text.find("aws", max(start, run_end - _AWS_LABEL_MAX), run_end)
        while start != -1:
            m = pattern.match(text, start)
            if m is not None:
                yield m
                pos = m.end()
                break
            start = text.find("aws", start + 1, run_end)


# A JWT: ``eyJ`` and a header of at most 1,024 characters before its first dot.
_B64URL_RUN = re.compile(r"[A-Za-z0-9_-]*+")
_JWT_HEADER_MAX = 1024


def _jwt_matches(pattern: re.Pattern[str], text: str) -> Iterator[re.Match[str]]:
    pos = 0
    while (start := text.find("eyJ", pos)) != -1:
        run_end = _run_end(_B64URL_RUN, text, start)
        nearest = run_end - 3 - _JWT_HEADER_MAX  # the first start whose header may reach the dot
        if start < nearest:
            pos = nearest
            continue
        m = pattern.match(text, start)
        if m is not None:
            yield m
            pos = m.end()
        else:
            pos = run_end  # the same dot and parts after it: every later start fails too


SHAPES: tuple[Shape, ...] = (
    # -- private keys (the only shape allowed over lines: the PEM body is one value)
    _shape("private key", r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----"
           rf"(?:{_PEM_GAP}(?:{_PEM_LINE}))*"
           rf"(?:{_PEM_GAP}?-----END (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----)?", "private key"),
    _shape("PuTTY key", rf"PuTTY-User-Key-File-\d+: [\w-]+(?:{_PEM_GAP}(?:{_PEM_LINE}))*", "putty-user-key-file"),
    # -- messaging (distinctive prefixes are found even glued to other text, as in a cut
    #    map key ``xxxxxoxb-…``; short or generic ones need a word boundary)
    _shape("Slack token", r"xox[abposre]-[A-Za-z0-9-]{8,}|xapp-[A-Za-z0-9-]{8,}", ("xox", "xapp-")),
    _shape("Slack webhook", r"https://hooks\.slack\.com/(?:services|workflows)/(?P<s>[A-Za-z0-9_/]{8,})",
           "hooks.slack.com"),
    _shape("Discord bot token", r"[MNO](?<!\w[MNO])[A-Za-z0-9_-]{23,25}\.[A-Za-z0-9_-]{6}\.[A-Za-z0-9_-]{27,}", "."),
    _shape("Telegram bot token", r"\d(?<!\w\d)\d{7,9}:(?P<s>AA[0-9A-Za-z_-]{32,33})(?![0-9A-Za-z_-])", ":aa"),
    _shape("Twilio key", r"(?:AC|SK)(?<!\w..)[0-9a-f]{32}\b", ("ac", "sk")),
    _shape("SendGrid key", r"SG\.[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43}", "sg."),
    _shape("Mailchimp key", r"[0-9a-f](?<!\w[0-9a-f])[0-9a-f]{31}-us\d{1,2}\b", "-us"),
    # -- cloud
    # a secret access key beside an AWS key name (aws_secret_access_key = …, "aws key": …)
    _shape("AWS secret access key",
           _AWS, "aws", lowered=True, finder=_aws_matches),
    _shape("AWS secret after its key id",
           r"(?:AKIA|ASIA)(?<![A-Z0-9]....)[A-Z0-9]{16}[ \t]?[:,;|/][ \t]?"
           r"[A-Za-z0-9/+]{40}(?![A-Za-z0-9/+=])", ("akia", "asia")),
    _shape("AWS access key id",
           r"(?:A3T[A-Z0-9]|AKIA|ASIA|ABIA|ACCA|AROA|AIDA|AGPA|ANPA|ANVA|APKA)(?<![A-Z0-9]....)"
           r"[A-Z0-9]{16}(?![A-Z0-9])",
           ("a3t", "akia", "asia", "abia", "acca", "aroa", "aida", "agpa", "anpa", "anva", "apka")),
    _shape("Azure storage key", r"accountkey=(?P<s>[a-z0-9+/]{86,88}={0,2})", "accountkey=", lowered=True),
    _shape("Azure SAS signature", r"[?&]sig=(?P<s>[A-Za-z0-9%+/]{20,}={0,2})", "sig="),
    _shape("Google OAuth token", r"ya29\.[A-Za-z0-9_.-]{10,}|1//(?<![\w/]1//)[A-Za-z0-9_-]{10,}", ("ya29.", "1//")),
    _shape("Google API key", r"AIza(?<!\wAIza)[0-9A-Za-z_-]{35}(?![0-9A-Za-z_-])", "aiza"),
    _shape("IBM / SoftLayer URL key",
           r"https?://api\.softlayer\.com/soap/v3(?:\.1)?/(?P<s>[a-z0-9]{64})", "softlayer"),
    # -- VCS and package registries
    _shape("GitHub token", r"(?:gh[pousr]_[A-Za-z0-9_]{20,}|github_pat_[A-Za-z0-9_]{22,})",
           ("ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_")),
    _shape("GitLab token", r"(?:glpat|gldt|glft|glsoat|glrt|glcbt|glimt|glptt|glagent|gloas)-"
           r"[A-Za-z0-9_-]{20,}|GR1348941[A-Za-z0-9_-]{20,}",
           ("glpat-", "gldt-", "glft-", "glsoat-", "glrt-", "glcbt-", "glimt-", "glptt-", "glagent-", "gloas-",
            "gr1348941")),
    _shape("NPM token", r"npm_[A-Za-z0-9]{36}(?![A-Za-z0-9])", "npm_"),
    _shape("PyPI token", r"pypi-AgE[A-Za-z0-9_-]{50,}", "pypi-"),
    _shape("Artifactory token", r"AKC(?<![A-Za-z0-9]AKC)[a-zA-Z0-9]{10,}", "akc"),
    # -- payment
    _shape("Stripe key", r"(?:sk|rk|pk)_(?:live|test)_[A-Za-z0-9]{8,}|whsec_[A-Za-z0-9]{20,}",
           ("_live_", "_test_", "whsec_")),
    _shape("Square token", r"sq0(?:csp|atp|idp)-[0-9A-Za-z_\\-]{22,43}|EAAA(?<!\wEAAA)[A-Za-z0-9_-]{60}",
           ("sq0", "eaaa")),
    # -- AI providers (sk-…, sk-proj-…, sk-ant-…; a digit somewhere, so prose stays)
    _shape("AI provider key",
           r"sk-(?<![\w-]sk-)(?=[A-Za-z0-9_-]*\d)(?:proj-|ant-[a-z]+\d\d-|svcacct-|admin-)?"
           r"[A-Za-z0-9_-]{20,}", "sk-"),
    _shape("Hugging Face token", r"hf_[A-Za-z0-9]{30,}", "hf_"),
    # -- JWTs, found even glued to other text (``tokeneyJ…``)
    # (a JWT header is a few hundred characters: the bound keeps ``eyJeyJeyJ…`` linear)
    _shape("JWT", r"eyJ[A-Za-z0-9_-]{5,1024}\.[A-Za-z0-9_-]{5,}+\.[A-Za-z0-9_-]*+", "eyj",
           finder=_jwt_matches),
    # -- authorization headers and URLs: the scheme, label and user stay
    _shape("bearer", r"bearer(?<!\wbearer) (?P<s>[a-z0-9._~+/-]{8,}=*)", "bearer ", lowered=True),
    _shape("basic auth header", r"basic(?<!\wbasic) (?P<s>[a-z0-9+/]{12,}={0,2})", "basic ", lowered=True),
    _shape("password in a URL",
           # the scheme from the start of its run only (from every letter of ``a.a.a…://``
           # it rescanned to the ``://``: 15 s for 100 KB)
           r"(?<![A-Za-z0-9+.-])[0-9+.-]*+[A-Za-z][A-Za-z0-9+.-]*+://"
           r"[^\s:/?#@\[\]]*+:(?P<s>[^\s/?#@\[\]]++)@", "://"),
    # -- keyword = value (password: x, "password": "x", passwd=, secret=, api_key=, …)
    _shape("keyword, quoted value",
           rf"{_KEYWORD}{_SEP}(?P<q>[\"'])" + _NOT_LITERAL
           + r"(?P<s>(?:(?!(?P=q))[^\n\\]|\\.){1,500})(?P=q)", _KEYWORD_GATES, lowered=True),
    _shape("keyword, bare value",
           rf"{_KEYWORD}{_SEP}" + _NOT_LITERAL + r"(?P<s>[^\s\"'`,;&<>()\[\]{}]{1,500})",
           _KEYWORD_GATES, lowered=True),
)

# Each shape in catalogue order, behind its gates: a flat loop of ``in`` tests on the
# lower-cased text costs a few µs, where one alternation of every shape costs tens (it
# tries each branch at every position; measured in benchmarks/redact.py). Order matters
# where shapes overlap: the multi-line keys and labelled forms (``Bearer …``,
# ``Basic …``, URLs) come before the keyword forms, which never start at such a label.
_GATED = tuple((shape.gates, shape) for shape in SHAPES)
# and first one scan for any gate at all: most values (ids, timestamps, numbers, names)
# hold none, and then the per-shape loop is skipped (halves the cost of a scan page)
# (as a trie, one branch per letter: as a flat alternation, a text of ``gagaga…`` tried
# the eleven gates that start with ``g`` at every ``g``)
_Trie = dict[str, "_Trie"]


def _trie(words: set[str]) -> str:
    """A regex matching any of ``words`` (a word that is a prefix of another suffices)."""
    tree: _Trie = {}
    for word in words:
        node = tree
        for ch in word:
            node = node.setdefault(ch, {})
        node[""] = {}

    def emit(node: _Trie) -> str:
        if "" in node:
            return ""
        alts = [re.escape(ch) + emit(sub) for ch, sub in sorted(node.items())]
        return alts[0] if len(alts) == 1 else "(?:" + "|".join(alts) + ")"

    return emit(tree)


_ANY_GATE = re.compile(_trie({g for gates, _ in _GATED for g in gates}))


def mask_credentials(text: str) -> str:
    """``text`` with the secret part of every credential shape replaced by ``MASKED``."""
    if not text:
        return text
    # the gates are looked up in the text as given: masking only ever adds ``MASKED``,
    # which no shape matches (though it holds the gate ``credential``)
    gated = lower(text)
    if not _ANY_GATE.search(gated):
        return text
    lowered: str | None = gated  # ``text`` lower-cased, once a shape that needs it runs
    for gates, shape in _GATED:
        for gate in gates:
            if gate in gated:
                if shape.lowered and lowered is None:
                    lowered = lower(text)
                masked = shape.mask(text, lowered)
                if masked is not text:
                    text, lowered = masked, None
                break
    return text


def find_credentials(text: str) -> list[str]:
    """The names of the shapes found in ``text`` (tests and diagnostics)."""
    return [s.name for s in SHAPES if s.mask(text) != text]
