"""Personal data: contact details, payment and bank numbers, national and tax identifiers.

Numbers with a checksum are validated (Luhn, mod-97, mod-11, mod-23); numbers without one
(passports, dates of birth, SSNs without dashes, tax numbers) count only next to the words
that name them. Reserved documentation domains (example.com, .test) are not anyone's address.
"""

from __future__ import annotations

from typing import Any

from hybridcrew.routing.privacy.checks import (
    bsn_ok,
    card_ok,
    cpf_ok,
    dni_ok,
    iban_ok,
    nino_ok,
    nir_ok,
    reserved_domain,
    sin_ok,
    ssn_ok,
)
from hybridcrew.routing.privacy.patterns import DIGIT_TAIL, PII, TOKEN_TAIL, WORD, Detector

_WELL_KNOWN_TEST_CARDS = {"4111111111111111", "4242424242424242", "5555555555554444",
                          "378282246310005", "4012888888881881", "5105105105105100"}


def _email_ok(groups: dict[str, str]) -> bool:
    # One capture group: each one more slows RE2's span extraction on every candidate.
    local, _, domain = groups["0"].rpartition("@")
    return (len(local) <= 64 and local.lower() not in {"git", "noreply", "no-reply"}  # noqa: PLR2004
            and not reserved_domain(domain))


def _card_ok(groups: dict[str, str]) -> bool:
    digits = groups["0"].replace(" ", "").replace("-", "")
    return digits not in _WELL_KNOWN_TEST_CARDS and card_ok(digits)


def _context(words: str, value: str, name: str, **options: Any) -> Detector:
    """A value that is personal data next to the words that name it (the span: the value)."""
    return Detector(name, rf"(?i)(?:{words})[\s:#.\-]*(?:is|=|was)?[\s:#\"']*(?P<id>{value})",
                    sensitivity=PII, group="id", word_start=False, **options)


_DATE = (r"\d{4}-\d{2}-\d{2}|\d{1,2}[./\-]\d{1,2}[./\-]\d{2,4}|"
         r"\d{1,2}(?:st|nd|rd|th)? (?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*"
         r",? \d{4}|(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]* \d{1,2},? \d{4}")

PII_DETECTORS: tuple[Detector, ...] = (
    # Unbounded classes, lengths checked in Python: counted repeats ({1,64}) multiply RE2's DFA
    # states and doubled the cost of the whole scan.
    Detector("email", r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9][A-Za-z0-9\-]*"
                      r"(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,24}",
             sensitivity=PII, tail=TOKEN_TAIL, validate=_email_ok,
             anchor=r"[A-Za-z0-9._%+\-]@[A-Za-z0-9][A-Za-z0-9\-]*\.[A-Za-z0-9]"),
    Detector("obfuscated_email",
             r"(?i)(?P<local>[a-z0-9._%+\-]+)\s*[\[\(\{<]\s*at\s*[\]\)\}>]\s*(?P<domain>"
             r"[a-z0-9\-]+(?:\s*(?:[\[\(\{<]\s*dot\s*[\]\)\}>]|\.)\s*[a-z0-9\-]+)+)",
             sensitivity=PII, anchor=r"(?i)[\[\(\{<]\s*at\s*[\]\)\}>]",
             validate=lambda g: not reserved_domain(
                 g["domain"].lower().replace(" ", "").replace("[dot]", ".")
                 .replace("(dot)", "."))),
    # Not the digits of a decimal number (1.2300000717973380).
    Detector("payment_card", r"\d(?:[ \-]?\d){12,18}", sensitivity=PII, tail=DIGIT_TAIL,
             not_after=".", validate=_card_ok, loose_prefilter=False),
    Detector("iban", r"[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,3})?", sensitivity=PII,
             tail=WORD, validate=lambda g: iban_ok(g["0"]), loose_prefilter=False),
    Detector("us_ssn", r"\d{3}-\d{2}-\d{4}", sensitivity=PII, tail=DIGIT_TAIL,
             validate=lambda g: ssn_ok(g["0"]), loose_prefilter=False),
    _context(r"ssn|social[ _\-]security(?:[ _\-]number|[ _\-]no\.?| #)?|"
             r"sozialversicherungsnummer",
             r"\d{3} ?\d{2} ?\d{4}", "us_ssn_undashed", tail=DIGIT_TAIL,
             validate=lambda g: ssn_ok(g["id"])),
    Detector("phone_number",
             r"(?:\+\d{1,3}[ .\-]?(?:\(0?\d{1,4}\)|\d{1,4})(?:[ .\-]?\d{2,4}){2,4}"
             r"|\(\d{3}\) ?\d{3}[ .\-]\d{4}|\d{3}[.\-]\d{3}[.\-]\d{4})",
             sensitivity=PII, tail=TOKEN_TAIL, not_after=".", loose_prefilter=False),
    _context(r"phone|tel(?:ephone)?|mobile|cell|handy|t[ée]l[ée]phone|portable|fax|call me on",
             r"0\d{1,4}[ \-/]?\d{2,4}[ \-]?\d{2,4}(?:[ \-]?\d{2,4})?", "national_phone_number",
             tail=DIGIT_TAIL),
    Detector("uk_national_insurance",
             r"(?i)[A-CEGHJ-PR-TW-Z]{2} ?\d{2} ?\d{2} ?\d{2} ?[A-D]", sensitivity=PII,
             tail=WORD, validate=lambda g: nino_ok(g["0"]), loose_prefilter=False),
    _context(r"\bdni|\bnie|\bnif", r"[XYZ]?\d{7,8}-?[A-Z]", "spanish_dni", tail=WORD,
             validate=lambda g: dni_ok(g["id"])),
    Detector("brazil_cpf", r"\d{3}\.\d{3}\.\d{3}-\d{2}", sensitivity=PII, tail=DIGIT_TAIL,
             validate=lambda g: cpf_ok(g["0"]), loose_prefilter=False),
    _context(r"\bbsn|burgerservicenummer", r"\d{9}", "dutch_bsn", tail=DIGIT_TAIL,
             validate=lambda g: bsn_ok(g["id"])),
    _context(r"\bsin|social[ _\-]insurance(?:[ _\-]number|[ _\-]no\.?)?",
             r"\d{3}[ \-]?\d{3}[ \-]?\d{3}", "canada_sin", tail=DIGIT_TAIL,
             validate=lambda g: sin_ok(g["id"])),
    _context(r"\bnir|num[ée]ro de s[ée]curit[ée] sociale|s[ée]cu", r"[12] ?\d{2} ?\d{2} ?"
             r"(?:\d{2}|2[AB]) ?\d{3} ?\d{3} ?\d{2}", "france_nir", tail=DIGIT_TAIL,
             validate=lambda g: nir_ok(g["id"])),
    _context(r"\bpan(?:[ _\-]card|[ _\-]no\.?|[ _\-]number)?",
             r"[A-Z]{3}[PCHFATBLJG][A-Z]\d{4}[A-Z]", "india_pan", tail=WORD),
    _context(r"\bein|employer[ _\-]identification[ _\-]number|\btin|"
             r"taxpayer[ _\-]identification[ _\-]number|\bitin",
             r"\d{2}-\d{7}|9\d{2}-[5-9]\d-\d{4}", "us_tax_id", tail=DIGIT_TAIL),
    _context(r"steuer-?id|steueridentifikationsnummer|tax[ _\-]id|tax[ _\-]number|\btfn|"
             r"tax[ _\-]file[ _\-]number|\butr", r"\d{2,3}[ /]?\d{3}[ /]?\d{3,5}", "tax_id",
             tail=DIGIT_TAIL),
    _context(r"passport(?:[ _\-](?:no\.?|number|num|#))?|reisepass(?:nummer)?|passeport",
             r"[A-Z0-9]{1,2}\d{6,8}|[A-Z]{2}[A-Z0-9]{5,7}", "passport_number", tail=WORD),
    _context(r"date[ _\-]of[ _\-]birth|d\.o\.b\.?|\bdob|born(?: on)?|birth[ _\-]?date|"
             r"birthday|"
             r"geburtsdatum|geboren am|date de naissance|n[ée]e? le", _DATE, "date_of_birth",
             tail=DIGIT_TAIL),
)
