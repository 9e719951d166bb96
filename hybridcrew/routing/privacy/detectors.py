"""The built-in detectors: secrets of major cloud and SaaS providers, credentials, and PII.

Patterns are RE2 syntax: the scanner runs all of them in one DFA pass (an RE2 ``Set``) and only
then extracts spans for the detectors that fired, so a 50 KB prompt costs one linear scan.
RE2 has no look-around; what a pattern must not touch (``word_start``, ``tail``) and checksums
(Luhn, mod-97) are checked in Python on each candidate.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from hybridcrew.routing.privacy.checks import card_ok, iban_ok, looks_like_secret_value, ssn_ok
from hybridcrew.routing.sensitivity import Sensitivity

SECRET = Sensitivity.SECRET
PII = Sensitivity.CONFIDENTIAL

WORD = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_"
TOKEN_TAIL = WORD + "-"
DIGIT_TAIL = "0123456789-"

Validator = Callable[[dict[str, str]], bool]
"""Receives the match's named groups plus ``"0"`` for the whole match."""


@dataclass(frozen=True)
class Detector:
    """A named RE2 pattern; the reported span is ``group`` of a match that passes every check."""

    name: str
    pattern: str
    sensitivity: Sensitivity = SECRET
    group: int | str = 0
    word_start: bool = True
    tail: str = ""
    validate: Validator | None = None


def _not_placeholder(groups: dict[str, str]) -> bool:
    """``AKIAXXXXXXXXXXXXXXXX`` or ``sk-...0000000`` in docs is a placeholder, not a key."""
    body = groups["0"][-16:]
    return len(set(body)) > 3  # noqa: PLR2004 - real keys are high-entropy


def _token(name: str, pattern: str) -> Detector:
    """A provider token with a fixed prefix, not glued to surrounding word characters."""
    return Detector(name, pattern, tail=TOKEN_TAIL, validate=_not_placeholder)


_KEY_NOISE = (
    "url", "uri", "endpoint", "file", "path", "name", "type", "count", "limit", "length", "len",
    "size", "id", "ids", "ttl", "prefix", "header", "field", "env", "var", "format", "policy",
    "rotation", "tokens", "timeout", "hint", "label", "description", "manager", "store",
    "provider", "reset", "required", "strength", "hash", "salt", "min", "max", "expiry",
    "expires", "expires_in", "expiration", "_at", "type_hint", "regex", "pattern", "izer",
    "ized", "ization", "usage", "budget", "estimate", "estimator",
)


def _assignment_ok(groups: dict[str, str]) -> bool:
    key = groups["key"].lower().rstrip("\"'")
    if key.endswith(_KEY_NOISE):
        return False
    raw = groups["value"]
    quoted = len(raw) >= 2 and raw[0] in "\"'`" and raw[-1] == raw[0]  # noqa: PLR2004
    value = raw[1:-1] if quoted else raw
    if value.replace(".", "").replace("_", "").isdigit():
        return False
    return looks_like_secret_value(value, quoted=quoted)


_ASSIGNMENT = (
    r"(?i)(?P<key>(?:passw(?:or)?d|passphrase|pwd|secret|token|api[_\-]?key|access[_\-]?key|"
    r"private[_\-]?key|auth[_\-]?key|credentials?)[\w.\-]*)[\"']?[ \t]*"
    r"(?::[ \t]*[A-Za-z_][\w.\[\]| ]*?[ \t]*=|=>|:=|=|:)[ \t]*"
    r"(?P<value>\"[^\"\n]*\"|'[^'\n]*'|`[^`\n]*`|[^\s,;\"'`(){}\[\]<>=:/][^\s,;\"'`)}\]<>]*)"
)

SECRET_DETECTORS: tuple[Detector, ...] = (
    _token("aws_access_key_id", r"(?:AKIA|ASIA|ABIA|ACCA)[A-Z0-9]{16}"),
    _token("github_token", r"gh[pousr]_[A-Za-z0-9]{36,255}"),
    _token("github_fine_grained_token", r"github_pat_[A-Za-z0-9_]{60,}"),
    _token("gitlab_token", r"gl(?:pat|dt|rt|ptt)-[A-Za-z0-9_\-]{20,}"),
    _token("slack_token", r"xox[abposre]-[A-Za-z0-9\-]{10,}"),
    Detector("slack_webhook", r"hooks\.slack\.com/(?:services|workflows)/[A-Za-z0-9/_\-]{20,}",
             word_start=False),
    _token("stripe_key", r"(?:sk|rk)_(?:live|test)_[A-Za-z0-9]{16,}"),
    _token("google_api_key", r"AIza[0-9A-Za-z_\-]{35}"),
    _token("google_oauth_secret", r"GOCSPX-[A-Za-z0-9_\-]{28}"),
    _token("anthropic_api_key", r"sk-ant-(?:api|admin|oat)\d{2}-[A-Za-z0-9_\-]{32,}"),
    _token("openai_api_key", r"sk-(?:proj-|svcacct-|admin-)?[A-Za-z0-9_\-]{32,}"),
    _token("huggingface_token", r"hf_[A-Za-z0-9]{30,}"),
    _token("npm_token", r"npm_[A-Za-z0-9]{36}"),
    _token("pypi_token", r"pypi-AgE[A-Za-z0-9_\-]{50,}"),
    _token("sendgrid_api_key", r"SG\.[A-Za-z0-9_\-]{22}\.[A-Za-z0-9_\-]{43}"),
    _token("twilio_api_key", r"SK[0-9a-f]{32}"),
    _token("mailgun_api_key", r"key-[0-9a-f]{32}"),
    _token("shopify_token", r"shp(?:at|ss|ca|pa)_[a-fA-F0-9]{32}"),
    _token("digitalocean_token", r"do[opr]_v1_[a-f0-9]{64}"),
    _token("databricks_token", r"dapi[a-f0-9]{32}(?:-\d)?"),
    Detector("azure_storage_key", r"(?i)accountkey=(?P<key>[A-Za-z0-9+/]{40,}={0,2})",
             group="key", word_start=False),
    Detector("private_key_block",
             r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----(?s:.*?)"
             r"(?:-----END [A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----|\z)", word_start=False),
    _token("jwt", r"eyJ[A-Za-z0-9_\-]{10,}\.eyJ[A-Za-z0-9_\-]{10,}\.[A-Za-z0-9_\-]{10,}"),
    Detector("url_credentials",
             r"://(?P<user>[^\s:/@'\"<>]{1,128}):(?P<secret>[^\s@/'\"<>]{1,256})@[\w.\-]+",
             group="secret", word_start=False,
             validate=lambda g: looks_like_secret_value(g["secret"], quoted=True)),
    Detector("authorization_header",
             r"(?i)(?:proxy-)?authorization[\"']?\s*[:=]\s*[\"']?(?:bearer|basic|token|apikey)\s+"
             r"(?P<credential>[A-Za-z0-9._~+/\-]{12,}=*)", group="credential"),
    Detector("bearer_token", r"(?i)bearer\s+(?P<credential>[A-Za-z0-9._~+/\-]{20,}=*)",
             group="credential"),
    Detector("secret_assignment", _ASSIGNMENT, group="value", word_start=False,
             validate=_assignment_ok),
)

def _email_ok(groups: dict[str, str]) -> bool:
    local = groups["local"]
    return len(local) <= 64 and local.lower() not in {"git", "noreply", "no-reply"}  # noqa: PLR2004


PII_DETECTORS: tuple[Detector, ...] = (
    # Unbounded classes, lengths checked in Python: counted repeats ({1,64}) multiply RE2's DFA
    # states and doubled the cost of the whole scan.
    Detector("email", r"(?P<local>[A-Za-z0-9._%+\-]+)@[A-Za-z0-9][A-Za-z0-9\-]*"
                      r"(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,24}",
             sensitivity=PII, tail=TOKEN_TAIL, validate=_email_ok),
    Detector("payment_card", r"\d(?:[ \-]?\d){12,18}", sensitivity=PII, tail=DIGIT_TAIL,
             validate=lambda g: card_ok(g["0"])),
    Detector("iban", r"[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,3})?", sensitivity=PII,
             tail=WORD, validate=lambda g: iban_ok(g["0"])),
    Detector("us_ssn", r"\d{3}-\d{2}-\d{4}", sensitivity=PII, tail=DIGIT_TAIL,
             validate=lambda g: ssn_ok(g["0"])),
    Detector("phone_number",
             r"(?:\+\d{1,3}[ .\-]?(?:\(\d{1,4}\)|\d{1,4})(?:[ .\-]?\d{2,4}){2,4}"
             r"|\(\d{3}\) ?\d{3}[ .\-]\d{4}|\d{3}[.\-]\d{3}[.\-]\d{4})",
             sensitivity=PII, tail=DIGIT_TAIL),
)
