"""Imports go down the layers only (read from the source, nothing imported)."""
import ast
import os
import os.path as osp

import pytest

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
PKG = osp.join(ROOT, 'tinysaver_mm')

# subpackage -> the subpackages of tinysaver_mm it may import (besides itself)
LOWER = {
    'core': set(),
    'utils': {'core'},
    'visualization': {'core', 'utils'},
    'models': {'core', 'utils', 'visualization'},
    'evaluation': {'core', 'utils', 'visualization'},
    'engine': {'core', 'utils', 'visualization'},
    'datasets': {'core', 'utils', 'visualization'},
    'apis': {'core', 'utils', 'visualization', 'models', 'evaluation', 'engine', 'datasets'},
    'testing': {'core', 'utils', 'visualization', 'models', 'evaluation', 'engine', 'datasets'},
    'serving': {'core', 'utils', 'visualization', 'models', 'evaluation', 'engine', 'datasets',
                'apis'},
}
# what core may not lean on: it stays plain torch/numpy (and scipy)
FRAMEWORKS = {'mmengine', 'mmcv', 'mmdet', 'mmpretrain', 'pycocotools', 'matplotlib'}


def _modules():
    for dirpath, _, files in os.walk(PKG):
        for name in sorted(files):
            if name.endswith('.py'):
                yield osp.join(dirpath, name)


def _imported(path: str):
    """Absolute dotted names each import statement of ``path`` names."""
    rel = osp.relpath(path, ROOT)[:-len('.py')].split(os.sep)
    package = rel[:-1]  # a module's package; an __init__'s own folder
    for node in ast.walk(ast.parse(open(path).read(), path)):
        if isinstance(node, ast.Import):
            yield from (a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[:len(package) - node.level + 1]
                yield '.'.join(base + ([node.module] if node.module else []))
            else:
                yield node.module


def _layer(path: str):
    parts = osp.relpath(path, PKG).split(os.sep)
    return parts[0] if len(parts) > 1 else None  # None: the package root


@pytest.mark.parametrize('path', list(_modules()), ids=lambda p: osp.relpath(p, PKG))
def test_imports_only_go_down(path):
    layer = _layer(path)
    if layer is None:
        return  # tinysaver_mm/__init__.py registers every part: it sits on top
    assert layer in LOWER, f'{layer} is not in the layer map of this test'
    for name in _imported(path):
        top, _, rest = name.partition('.')
        if top == 'tinysaver_mm':
            target = rest.partition('.')[0]
            assert target == layer or target in LOWER[layer], (
                f'{osp.relpath(path, ROOT)} ({layer}) imports {name}: a higher or '
                f'sibling layer (allowed: {sorted(LOWER[layer])})')
        elif layer == 'core':
            assert top not in FRAMEWORKS, f'core imports {name}; core stays framework-light'
        elif top == 'matplotlib':
            assert layer == 'visualization', f'{path} imports matplotlib outside visualization'
