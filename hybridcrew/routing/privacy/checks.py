"""Validators that reject look-alikes: Luhn, IBAN mod-97, SSN rules, placeholders."""

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
    """US SSN rules: area not 000, 666 or 9xx; group not 00; serial not 0000."""
    area, group, serial = raw.split("-")
    return area not in {"000", "666"} and area[0] != "9" and group != "00" and serial != "0000"


_PLACEHOLDER = re.compile(
    r"""^(?:
        \$\{?[\w.:-]*\}?|\{\{.*\}\}|<[^>]*>|%\(?\w*\)?s?|\*+|x{3,}|\.{3}|
        none|null|nil|true|false|undefined|empty|changeme|redacted|example\w*|your[_-]?\w*|
        password|secret|token|dummy|placeholder|todo|tbd|n/a|\[redacted\]
    )$""",
    re.IGNORECASE | re.VERBOSE,
)
_CODE_REFERENCE = re.compile(r"^[A-Za-z_][\w]*(?:[.(\[]|$)")
_ATTRIBUTE_PATH = re.compile(r"^[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)+$")
_MASKED = ("***", "xxxx", "XXXX", "\u2022\u2022\u2022")


def looks_like_secret_value(value: str, *, quoted: bool) -> bool:
    """True for a literal that could be a credential; False for placeholders and code references."""
    if len(value) < 4 or _PLACEHOLDER.match(value) or any(m in value for m in _MASKED):  # noqa: PLR2004
        return False
    if quoted:
        return True
    if "(" in value or "[" in value or _ATTRIBUTE_PATH.match(value):
        return False  # a call, an index or an attribute path such as settings.api_key
    has_digit_or_symbol = any(not ch.isalpha() for ch in value)
    if not has_digit_or_symbol and _CODE_REFERENCE.match(value) and len(value) < 16:  # noqa: PLR2004
        return False  # a bare identifier such as `token: string` or `password: required`
    return len(value) >= 8 or has_digit_or_symbol  # noqa: PLR2004
