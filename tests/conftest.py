"""Shared fixtures: the test stage models of tinysaver_mm.testing, registered once."""
import pytest


@pytest.fixture(scope='session', autouse=True)
def register_test_models():
    from tinysaver_mm.testing import register_test_models as register
    register()


@pytest.fixture(autouse=True)
def default_scope_as_alone():
    """Each test sees mmengine's default scope as it would running alone.

    A Runner or ``init_default_scope`` (e.g. in the record tools) leaves its
    scope current for the rest of the process; a later test building from
    another host's registry would then look in that scope's registry.
    """
    from mmengine.registry import DefaultScope
    before = dict(DefaultScope._instance_dict)
    yield
    DefaultScope._instance_dict.clear()
    DefaultScope._instance_dict.update(before)
