"""Detector quality on the labelled corpus: recall per class and the false-positive rate."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import yaml

from hybridcrew.routing.policy import PrivacyPolicy
from hybridcrew.routing.privacy import PrivacyScanner
from tests.routing.privacy.cases import generated_cases

CORPUS: list[dict[str, Any]] = yaml.safe_load(
    (Path(__file__).parent / "corpus.yaml").read_text("utf-8")) + generated_cases()


def _kind(case: dict[str, Any]) -> str:
    return str(case.get("kind") or (case["expect"][0] if case.get("expect") else case["id"]))


@pytest.fixture(scope="module")
def scanner() -> PrivacyScanner:
    return PrivacyScanner.from_policy(PrivacyPolicy())


def test_corpus_is_large_and_varied() -> None:
    classes = Counter(c["class"] for c in CORPUS)
    assert len(CORPUS) >= 700
    assert len({_kind(c) for c in CORPUS if c["class"] != "negative"}) >= 80
    assert classes["negative"] >= 150
    assert len({c["id"] for c in CORPUS}) == len(CORPUS)


def test_recall_and_false_positive_rate(scanner: PrivacyScanner,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    hits: Counter[str] = Counter()
    totals: Counter[str] = Counter()
    missed, false_positives = [], []
    for case in CORPUS:
        found = {f.detector for f in scanner.scan(case["text"])}
        totals[case["class"]] += 1
        if case["class"] == "negative":
            if found:
                false_positives.append((case["id"], sorted(found)))
        elif set(case["expect"]) <= found:
            hits[case["class"]] += 1
        else:
            missed.append((case["id"], case["expect"], sorted(found)))
    recall = {cls: hits[cls] / totals[cls] for cls in ("secret", "pii")}
    fp_rate = len(false_positives) / totals["negative"]
    with capsys.disabled():
        print(f"\nprivacy corpus: {len(CORPUS)} cases; recall secret {recall['secret']:.1%}, "
              f"pii {recall['pii']:.1%}; false positives {fp_rate:.1%} "
              f"({len(false_positives)}/{totals['negative']})")
    assert recall["secret"] >= 0.99, missed
    assert recall["pii"] >= 0.98, missed
    assert fp_rate <= 0.02, false_positives


@pytest.mark.parametrize("case", [c for c in CORPUS if c["class"] != "negative"][:40],
                         ids=lambda c: c["id"])
def test_spans_cover_the_value_and_never_carry_it(scanner: PrivacyScanner,
                                                 case: dict[str, Any]) -> None:
    findings = [f for f in scanner.scan(case["text"]) if f.detector in case["expect"]]
    assert findings
    for finding in findings:
        assert 0 <= finding.start < finding.end <= len(case["text"])
        assert "value" not in finding.to_dict()
        covered = case["text"][finding.start:finding.end]
        assert len(covered.strip()) >= 4


def test_spans_are_character_offsets_in_non_ascii_text(scanner: PrivacyScanner) -> None:
    text = "Grüße — schlüssel: ghp_" + "wWPw5k4aXcaT4fNP0UcnZwJUVFk6LO0pINUx" + " ✓"
    (finding,) = [f for f in scanner.scan(text) if f.detector == "github_token"]
    assert text[finding.start:finding.end].startswith("ghp_")
    assert text[finding.end:] == " ✓"


def test_user_patterns_and_disabling_pii() -> None:
    policy = PrivacyPolicy.model_validate({
        "detect_pii": False,
        "patterns": [{"name": "customer-id", "regex": r"CUST-\d{6}", "sensitivity": "secret"}],
    })
    scanner = PrivacyScanner.from_policy(policy)
    found = scanner.scan("ticket for CUST-004211, mail jane@acme-corp.com")
    assert [(f.detector, f.sensitivity.label) for f in found] == [("customer-id", "secret")]
