"""Golden labels against answers: text equal after normalisation, numbers within a tolerance, JSON as values."""

import pytest

from airflow_provider_batchorch.core.golden_gate.compare import Tolerance, values_match


@pytest.mark.parametrize("label, answer, matches", [
    ("  Acme   Corp", "acme corp", True),
    ("Acme Corp.", "Acme Corp", False),
    ("Ｔｅｃｈｎｏｌｏｇｙ", "technology", True),  # NFKC: full-width letters
    ("2200", 2210, True),  # within 1 %
    ("2200", 2300, False),
    ("2,200", 2200, True),
    ("0.5", "0.5", True),
    ("true", True, True), ("no", False, True), ("yes", False, False),
    ("null", None, True), ("null", "x", False), ("x", None, False),
    ('["a", "b"]', ["a", "b"], True), ('{"b": 1, "a": 2}', {"a": 2, "b": 1}, True), ("a", ["a"], False),
])
def test_values_match(label, answer, matches):
    assert values_match(label, answer) is matches


def test_the_tolerance_is_the_larger_of_absolute_and_relative():
    assert values_match("0", 0.05, Tolerance(relative=0.01, absolute=0.1))
    assert not values_match("0", 0.05)
    assert values_match("100", 104, Tolerance(relative=0.05))
