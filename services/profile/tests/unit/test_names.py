import pytest

from jmo_profile.domain.names import NameMatch, compare_names, name_tokens, names_match


@pytest.mark.parametrize(
    "a, b",
    [
        ("Budi Santoso", "BUDI SANTOSO"),
        ("Budi  Santoso ", "budi santoso"),
        ("Ma'ruf Amin", "MARUF AMIN"),
        ("Siti Nur-Hayati", "SITI NUR HAYATI"),
        ("NURHAYATI", "NUR HAYATI"),
        ("Dr. Ir. Budi", "DR IR BUDI"),
        ("José Lopes", "JOSE LOPES"),
    ],
)
def test_case_spacing_punctuation_and_accents_are_the_same_name(a, b):
    assert compare_names(a, b) is NameMatch.SAME


@pytest.mark.parametrize(
    "a, b",
    [
        ("M. Rizki Pratama", "MUHAMMAD RIZKI PRATAMA"),
        ("MUH RIZKI PRATAMA", "Muhammad Rizki Pratama"),
        ("Moh. Hasan", "MOHAMMAD HASAN"),
        ("MOCH. HASAN", "MOCHAMMAD HASAN"),
        ("Abd. Rahman", "ABDUL RAHMAN"),
        ("M RIZKIPRATAMA", "MUHAMMAD RIZKI PRATAMA"),
    ],
)
def test_common_abbreviations_are_equivalent(a, b):
    assert compare_names(a, b) is NameMatch.EQUIVALENT
    assert names_match(a, b) and names_match(b, a)


@pytest.mark.parametrize(
    "a, b",
    [
        ("Budi Santoso", "Budi Santosa"),
        ("Budi Santoso", "Budi"),
        ("Budi Santoso", "Santoso Budi"),
        ("Budi Santoso", "Budi Santoso Wijaya"),
        ("M. Rizki", "Rizki"),
        ("MUHAMMAD RIZKI", "MOHAMMAD RIZKI"),  # two spellings, not an abbreviation
        ("R. Rizki", "RAHMAT RIZKI"),  # only the listed abbreviations are tolerated
        ("", "Budi"),
        ("...", "..."),
    ],
)
def test_anything_else_is_different(a, b):
    assert compare_names(a, b) is NameMatch.DIFFERENT
    assert not names_match(a, b)


def test_tokens_drop_apostrophes_and_split_on_punctuation():
    assert name_tokens("M.Rizki  d'Costa-Putra") == ["M", "RIZKI", "DCOSTA", "PUTRA"]
