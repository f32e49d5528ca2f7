import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from jmo_identity.adapters.signing import jwk_thumbprint, load_private_pem, private_pem, signing_key


def test_the_kid_is_the_public_key_thumbprint_and_survives_a_pem_round_trip():
    key = ec.generate_private_key(ec.SECP256R1())
    first = signing_key(key)
    again = signing_key(load_private_pem(private_pem(key)))
    assert first.kid == again.kid == jwk_thumbprint(first.public_jwk)
    assert first.public_jwk["alg"] == "ES256" and "d" not in first.public_jwk
    assert signing_key(ec.generate_private_key(ec.SECP256R1())).kid != first.kid


def test_a_pem_from_an_environment_variable_with_escaped_newlines_loads():
    pem = private_pem(ec.generate_private_key(ec.SECP256R1()))
    assert load_private_pem(pem.replace("\n", "\\n")).curve.name == "secp256r1"


@pytest.mark.parametrize(
    "key",
    [ec.generate_private_key(ec.SECP384R1()), rsa.generate_private_key(public_exponent=65537, key_size=2048)],
)
def test_only_p256_keys_can_sign_es256(key):
    from cryptography.hazmat.primitives import serialization

    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    with pytest.raises(ValueError):
        load_private_pem(pem)
