import pytest


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    # make_agent creates users; the default hasher costs ~0.2 s per user.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
