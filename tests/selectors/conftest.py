import pytest


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    # Factories create users; the default hasher costs ~0.2 s per user.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
