"""Validators that reject look-alikes: checksums, ID rules, placeholders, reserved domains."""

from __future__ import annotations

import re

# Registered IBAN lengths per country (ISO 13616 registry, common subset).
IBAN_LENGTHS = {
    "AD": 24, "AE": 23, "AT": 20, "BA": 20, "BE": 16, "BG": 22, "BH": 22, "BR": 29, "CH": 21,
    "CY": 28, "CZ": 24, "DE": 22, "DK": 18, "EE": 20, "ES": 24, "FI": 18, "FO": 18, "FR": 27,
    "GB": 22, "GI": 23, "GL": 18, "GR": 27, "HR": 21, "HU": 28, "IE": 22, "IL": 23, "IS": 26,
    "IT": 27, "KW": 30, "KZ": 20, "LB": 28, "LI": 21, "LT": 20, "LU": 20, "LV": 21, "MC": 27,
    "ME": 22, "MK": 19, "MT": 31, "MU": 30, "NL": 18, "NO": 15, "PL": 28, "PT": 25, "QA": 29,
    "RO": 24, "RS": 22, "SA": 24, "SE": 24, "SI": 19, "SK": 24, "SM": 27, "TN": 24, "TR": 26,
    "UA": 29,
}


def luhn_ok(digits: str) -> bool:
    """The Luhn checksum every payment card number satisfies."""
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = ord(ch) - 48
        if i % 2:
            d *= 2
            if d > 9:  # noqa: PLR2004 - the Luhn rule
                d -= 9
        total += d
    return total % 10 == 0


_CARD_PREFIX = re.compile(r"4|5[1-5]|2[2-7]|3[47]|3[0689]|6(?:011|5|4[4-9]|22)|35")


def card_ok(raw: str) -> bool:
    """A plausible card: 13-19 digits, a real issuer prefix, Luhn valid, not one repeated digit."""
    digits = raw.replace(" ", "").replace("-", "")
    return (
        13 <= len(digits) <= 19  # noqa: PLR2004 - ISO/IEC 7812 lengths
        and len(set(digits)) > 1
        and _CARD_PREFIX.match(digits) is not None
        and luhn_ok(digits)
    )


def iban_ok(raw: str) -> bool:
    """Country length and the ISO 7064 mod-97 check."""
    iban = raw.replace(" ", "").upper()
    if IBAN_LENGTHS.get(iban[:2]) != len(iban):
        return False
    rearranged = iban[4:] + iban[:4]
    number = "".join(str(int(ch, 36)) for ch in rearranged)
    return int(number) % 97 == 1


def ssn_ok(raw: str) -> bool:
    """US SSN rules: area not 000, 666 or 9xx; group not 00; serial not 0000; not 123-45-6789."""
    digits = "".join(ch for ch in raw if ch.isdigit())
    if len(digits) != 9 or digits in {"123456789", "078051120", "219099999"}:  # noqa: PLR2004
        return False  # the second and third: the famous published (void) SSNs
    area, group, serial = digits[:3], digits[3:5], digits[5:]
    return area not in {"000", "666"} and area[0] != "9" and group != "00" and serial != "0000"


_NINO_BAD_PREFIX = {"BG", "GB", "NK", "KN", "TN", "NT", "ZZ"}


def nino_ok(raw: str) -> bool:
    """UK National Insurance number: valid prefix letters (D, F, I, Q, U, V never; O never 2nd)."""
    value = raw.replace(" ", "").upper()
    first, second = value[0], value[1]
    return (value[:2] not in _NINO_BAD_PREFIX and first not in "DFIQUV"
            and second not in "DFIQUVO" and len(set(value[2:8])) > 1)


_DNI_LETTERS = "TRWAGMYFPDXBNJZSQVHLCKE"


def dni_ok(raw: str) -> bool:
    """Spanish DNI/NIE: the letter is the number mod 23."""
    value = raw.upper().replace("-", "")
    head = {"X": "0", "Y": "1", "Z": "2"}.get(value[0], value[0]) + value[1:-1]
    return head.isdigit() and _DNI_LETTERS[int(head) % 23] == value[-1]


def cpf_ok(raw: str) -> bool:
    """Brazilian CPF: two mod-11 check digits, not one repeated digit."""
    digits = [int(ch) for ch in raw if ch.isdigit()]
    if len(digits) != 11 or len(set(digits)) == 1:  # noqa: PLR2004
        return False
    for size in (9, 10):
        check = sum(d * w for d, w in zip(digits[:size], range(size + 1, 1, -1), strict=False))
        if (check * 10 % 11) % 10 != digits[size]:
            return False
    return True


def bsn_ok(raw: str) -> bool:
    """Dutch BSN: the eleven-test."""
    digits = [int(ch) for ch in raw if ch.isdigit()]
    if len(digits) != 9 or len(set(digits)) == 1:  # noqa: PLR2004
        return False
    total = sum(d * w for d, w in zip(digits[:8], range(9, 1, -1), strict=True)) - digits[8]
    return total % 11 == 0


def sin_ok(raw: str) -> bool:
    """Canadian SIN: nine digits, Luhn valid, not starting with 0 or 8."""
    digits = "".join(ch for ch in raw if ch.isdigit())
    return len(digits) == 9 and digits[0] not in "08" and luhn_ok(digits)  # noqa: PLR2004


def nir_ok(raw: str) -> bool:
    """French NIR (numéro de sécurité sociale): key = 97 - (first 13 digits mod 97)."""
    value = raw.replace(" ", "").upper().replace("2A", "19").replace("2B", "18")
    if len(value) != 15 or not value.isdigit():  # noqa: PLR2004
        return False
    return 97 - int(value[:13]) % 97 == int(value[13:])


RESERVED_DOMAINS = ("example.com", "example.org", "example.net", "localhost")
RESERVED_TLDS = ("test", "example", "invalid", "localhost", "local")


def reserved_domain(domain: str) -> bool:
    """RFC 2606/6761 names: documentation and tests, never a real person's address."""
    domain = domain.lower().rstrip(".")
    return (domain.endswith(RESERVED_DOMAINS) or domain.rsplit(".", 1)[-1] in RESERVED_TLDS)


_PLACEHOLDER_MARKS = ("example", "replace_me", "replace-me", "replaceme", "change_me",
                      "changeme", "placeholder", "your_", "your-", "dummy", "redacted", "xxxx",
                      "***", "\u2022\u2022\u2022", "...", "\u2026", "<", "${", "{{", "insert",
                      "sample")


def is_placeholder(value: str) -> bool:
    """A documentation value, a template variable, a masked or truncated key."""
    lowered = value.lower()
    if _PLACEHOLDER.match(value) or any(mark in lowered for mark in _PLACEHOLDER_MARKS):
        return True
    if value[:1] in "[{" and value[-1:] in "]}":  # [password], {text}
        return True
    body = value[-16:]
    return len(set(body)) <= 3  # noqa: PLR2004 - real keys are high-entropy


_PLACEHOLDER = re.compile(
    r"""^(?:
        \$\{?[\w.:-]*\}?|\{\{.*\}\}|<[^>]*>|%\(?\w*\)?s?|\*+|x{3,}|\.{3}|
        none|null|nil|true|false|undefined|empty|changeme|redacted|example\w*|your[_-]?\w*|
        password|secret|token|dummy|placeholder|todo|tbd|n/a|\[redacted\]
    )$""",
    re.IGNORECASE | re.VERBOSE,
)
_CODE_REFERENCE = re.compile(r"^[A-Za-z_][\w]*(?:[.(\[]|$)")
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_CAMEL = re.compile(r"[a-z][A-Z]")
_ATTRIBUTE_PATH = re.compile(r"^[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)+$")


def looks_like_secret_value(value: str, *, quoted: bool) -> bool:
    """True for a literal that could be a credential; False for placeholders and code references."""
    if len(value) < 4 or is_placeholder(value):  # noqa: PLR2004 - too short for a credential
        return False
    if quoted:
        return True
    if "(" in value or "[" in value or (_ATTRIBUTE_PATH.match(value)
                                        and not any(ch.isdigit() for ch in value)):
        return False  # a call, an index or an attribute path such as settings.api_key
    if _IDENTIFIER.match(value) and not any(ch.isdigit() for ch in value) and (
            "_" in value or _CAMEL.search(value)):
        return False  # a variable or a type: api_key=api_key, token: TokenDetails
    has_digit_or_symbol = any(not ch.isalpha() for ch in value)
    if not has_digit_or_symbol and _CODE_REFERENCE.match(value) and len(value) < 16:  # noqa: PLR2004
        return False  # a bare identifier such as `token: string` or `password: required`
    return len(value) >= 8 or has_digit_or_symbol  # noqa: PLR2004
