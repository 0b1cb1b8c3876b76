"""Shared fixtures: the test stage models of tinysaver_mm.testing, registered once."""
import pytest


@pytest.fixture(scope='session', autouse=True)
def register_test_models():
    from tinysaver_mm.testing import register_test_models as register
    register()
