"""The credential catalogue as it was before masking was made linear (issue 18), verbatim.

The baseline of ``benchmarks/masking.py``: ``dynamo/credentials.py`` at the commit before
the change, its regexes and its gated loop unchanged (only this docstring is new). Its
password-in-a-URL shape rescans to the ``://`` from every word start, its AWS shape tries
every ``aws`` 21 × 21 ways, its JWT shape reads 1,024 characters from every ``eyJ``, and
its keyword shapes, compiled with ``re.IGNORECASE``, try every position. Nothing in the
bot imports this module.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

MASKED = "[masked credential]"


@dataclass(frozen=True)
class Shape:
    """One credential family: its pattern; the group ``s`` (if any) is what is masked."""

    name: str
    pattern: re.Pattern[str]
    # lower-case substrings one of which every match contains: a value holding none is
    # skipped with a few ``in`` tests instead of a regex pass (most values hold none)
    gates: tuple[str, ...] = ()

    def mask(self, text: str) -> str:
        if "s" not in self.pattern.groupindex:
            return self.pattern.sub(MASKED, text)

        def keep_context(m: re.Match[str]) -> str:
            start, end = m.span()
            return text[start:m.start("s")] + MASKED + text[m.end("s"):end]

        return self.pattern.sub(keep_context, text)


def _shape(name: str, pattern: str, gates: tuple[str, ...] | str, flags: int = 0) -> Shape:
    return Shape(name, re.compile(pattern, flags), (gates,) if isinstance(gates, str) else gates)


# the value after a keyword: not a placeholder we wrote ourselves, not a plain literal
_NOT_LITERAL = (r"(?!(?:true|false|null|none|nil|undefined)\b)(?!\[redacted\]|\[masked|\*+(?:\s|$))"
                # a labelled credential or a key is the shape that starts there
                r"(?!(?:bearer|basic|token) |-----BEGIN)")
_KEYWORD = (
    r"(?:pass(?:word|wd|phrase)|pwd|secret|client[_-]?secret|api[_-]?secret"
    r"|(?:api|access|secret|private|auth|account|client|service|master|signing|encryption|db|iam"
    r"|database)[_-]?key|apikey|(?:access|refresh|id|auth|bearer|session|csrf)[_-]?token|_authtoken"
    r"|token|credentials?|contrase(?:ñ|n)a)"
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
    _shape("Discord bot token", r"\b[MNO][A-Za-z0-9_-]{23,25}\.[A-Za-z0-9_-]{6}\.[A-Za-z0-9_-]{27,}", "."),
    _shape("Telegram bot token", r"\b\d{8,10}:(?P<s>AA[0-9A-Za-z_-]{32,33})(?![0-9A-Za-z_-])", ":aa"),
    _shape("Twilio key", r"\b(?:AC|SK)[0-9a-f]{32}\b", ("ac", "sk")),
    _shape("SendGrid key", r"SG\.[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43}", "sg."),
    _shape("Mailchimp key", r"\b[0-9a-f]{32}-us\d{1,2}\b", "-us"),
    # -- cloud
    # a secret access key beside an AWS key name (aws_secret_access_key = …, "aws key": …)
    _shape("AWS secret access key",
           r"(?i:aws)[\w. -]{0,20}?(?i:key|secret|token|pass\w*|pwd|pw)[\w\"' .-]{0,20}?(?::=|[:=,])"
           r"[ \t]?[\"']?(?P<s>(?<![A-Za-z0-9/+])[A-Za-z0-9/+]{40})(?![A-Za-z0-9/+=])", "aws"),
    _shape("AWS secret after its key id",
           r"(?<![A-Z0-9])(?:AKIA|ASIA)[A-Z0-9]{16}[ \t]?[:,;|/][ \t]?"
           r"[A-Za-z0-9/+]{40}(?![A-Za-z0-9/+=])", ("akia", "asia")),
    _shape("AWS access key id",
           r"(?<![A-Z0-9])(?:A3T[A-Z0-9]|AKIA|ASIA|ABIA|ACCA|AROA|AIDA|AGPA|ANPA|ANVA|APKA)"
           r"[A-Z0-9]{16}(?![A-Z0-9])",
           ("a3t", "akia", "asia", "abia", "acca", "aroa", "aida", "agpa", "anpa", "anva", "apka")),
    _shape("Azure storage key", r"(?i:AccountKey)=(?P<s>[A-Za-z0-9+/]{86,88}={0,2})", "accountkey="),
    _shape("Azure SAS signature", r"[?&]sig=(?P<s>[A-Za-z0-9%+/]{20,}={0,2})", "sig="),
    _shape("Google OAuth token", r"ya29\.[A-Za-z0-9_.-]{10,}|(?<![\w/])1//[A-Za-z0-9_-]{10,}", ("ya29.", "1//")),
    _shape("Google API key", r"\bAIza[0-9A-Za-z_-]{35}(?![0-9A-Za-z_-])", "aiza"),
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
    _shape("Artifactory token", r"(?<![A-Za-z0-9])AKC[a-zA-Z0-9]{10,}", "akc"),
    # -- payment
    _shape("Stripe key", r"(?:sk|rk|pk)_(?:live|test)_[A-Za-z0-9]{8,}|whsec_[A-Za-z0-9]{20,}",
           ("_live_", "_test_", "whsec_")),
    _shape("Square token", r"sq0(?:csp|atp|idp)-[0-9A-Za-z_\\-]{22,43}|\bEAAA[A-Za-z0-9_-]{60}", ("sq0", "eaaa")),
    # -- AI providers (sk-…, sk-proj-…, sk-ant-…; a digit somewhere, so prose stays)
    _shape("AI provider key",
           r"(?<![\w-])sk-(?=[A-Za-z0-9_-]*\d)(?:proj-|ant-[a-z]+\d\d-|svcacct-|admin-)?"
           r"[A-Za-z0-9_-]{20,}", "sk-"),
    _shape("Hugging Face token", r"hf_[A-Za-z0-9]{30,}", "hf_"),
    # -- JWTs, found even glued to other text (``tokeneyJ…``)
    # (a JWT header is a few hundred characters: the bound keeps ``eyJeyJeyJ…`` linear)
    _shape("JWT", r"eyJ[A-Za-z0-9_-]{5,1024}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*", "eyj"),
    # -- authorization headers and URLs: the scheme, label and user stay
    _shape("bearer", r"\b(?i:bearer) (?P<s>[A-Za-z0-9._~+/-]{8,}=*)", "bearer "),
    _shape("basic auth header", r"\b(?i:basic) (?P<s>[A-Za-z0-9+/]{12,}={0,2})", "basic "),
    _shape("password in a URL",
           r"\b[A-Za-z][A-Za-z0-9+.-]*://[^\s:/?#@\[\]]*:(?P<s>[^\s/?#@\[\]]+)@", "://"),
    # -- keyword = value (password: x, "password": "x", passwd=, secret=, api_key=, …)
    _shape("keyword, quoted value",
           rf"{_KEYWORD}{_SEP}(?P<q>[\"'])" + _NOT_LITERAL
           + r"(?P<s>(?:(?!(?P=q))[^\n\\]|\\.){1,500})(?P=q)", _KEYWORD_GATES, re.IGNORECASE),
    _shape("keyword, bare value",
           rf"{_KEYWORD}{_SEP}" + _NOT_LITERAL + r"(?P<s>[^\s\"'`,;&<>()\[\]{}]{1,500})",
           _KEYWORD_GATES, re.IGNORECASE),
)

# Each shape in catalogue order, behind its gates: a flat loop of ``in`` tests on the
# lower-cased text costs a few µs, where one alternation of every shape costs tens (it
# tries each branch at every position; measured in benchmarks/redact.py). Order matters
# where shapes overlap: the multi-line keys and labelled forms (``Bearer …``,
# ``Basic …``, URLs) come before the keyword forms, which never start at such a label.
_GATED = tuple((shape.gates, shape) for shape in SHAPES)
# and first one scan for any gate at all: most values (ids, timestamps, numbers, names)
# hold none, and then the per-shape loop is skipped (halves the cost of a scan page)
_ANY_GATE = re.compile("|".join(re.escape(g) for g in sorted(
    {g for gates, _ in _GATED for g in gates}, key=len, reverse=True)))


def mask_credentials(text: str) -> str:
    """``text`` with the secret part of every credential shape replaced by ``MASKED``."""
    if not text:
        return text
    lowered = text.lower()
    if not _ANY_GATE.search(lowered):
        return text
    for gates, shape in _GATED:
        for gate in gates:
            if gate in lowered:
                text = shape.mask(text)
                break
    return text


def find_credentials(text: str) -> list[str]:
    """The names of the shapes found in ``text`` (tests and diagnostics)."""
    return [s.name for s in SHAPES if s.pattern.search(text)]
