"""Shared fixtures: the test stage models of tinysaver_mm.testing, registered once."""
import pytest


@pytest.fixture(scope='session', autouse=True)
def register_test_models():
    from tinysaver_mm.testing import register_test_models as register
    register()


def _restore_default_scope():
    from mmengine.registry import DefaultScope
    before = dict(DefaultScope._instance_dict)
    yield
    DefaultScope._instance_dict.clear()
    DefaultScope._instance_dict.update(before)


@pytest.fixture(autouse=True)
def default_scope_as_alone():
    """Each test sees mmengine's default scope as it would running alone.

    A Runner or ``init_default_scope`` (e.g. in the record and deploy tools,
    as in mmdet's ``init_detector``) leaves its scope current for the rest of
    the process; a later test building from another host's registry would
    then look in that scope's registry.
    """
    yield from _restore_default_scope()


@pytest.fixture(scope='module', autouse=True)
def module_default_scope_as_alone():
    """The same for module-scoped fixtures (e.g. an export shared by a file's
    tests), which run before the per-test snapshot is taken."""
    yield from _restore_default_scope()
