import pytest

from jmo_identity.domain.passwords import PasswordPolicy

NIK = "3171011708450001"
EMAIL = "budi.santoso@example.co.id"
policy = PasswordPolicy(min_length=10)


def codes(password: str, nik: str = NIK, email: str = EMAIL) -> set[str]:
    return {e.code for e in policy.problems(password, nik=nik, email=email)}


def test_a_long_unrelated_password_is_accepted():
    assert codes("kopi-tubruk Senin pagi") == set()


@pytest.mark.parametrize(
    ("password", "code"),
    [
        ("Short1!x", "too_short"),
        ("1234567890123", "all_digits"),
        (f"x{NIK}y", "contains_nik"),
        ("my-BUDI.SANTOSO-pass", "contains_email"),
        ("Password123", "too_common"),
        ("bismillah2024!", "too_common"),
        ("aaaaaaaaaaaa", "too_common"),
        ("x" * 257, "too_long"),
    ],
)
def test_each_rule_reports_its_own_code(password, code):
    assert code in codes(password)


def test_all_broken_rules_are_reported_at_once():
    assert {"too_short", "all_digits"} <= codes("12345")


def test_a_short_email_local_part_does_not_forbid_its_letters():
    assert codes("jo-kopi-tubruk-pagi", email="jo@example.com") == set()


def test_the_minimum_length_is_configurable():
    assert "too_short" in {
        e.code for e in PasswordPolicy(min_length=16).problems("kopi-tubruk-sen", nik=NIK, email=EMAIL)
    }
