"""Imports go down the layers only (read from the source, nothing imported).

Between the subpackages of ``tinysaver_mm``; between the shelves of ``apis``
(``calibrate`` a leaf); and ``tools/`` imports only ``tinysaver_mm.apis``'s
public names.
"""
import ast
import glob
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
# apis shelf (a module or a folder of apis/) -> the shelves it may import (besides itself)
APIS_LOWER = {
    'runner': set(),
    'inference': {'runner'},
    'dataset_stats': {'runner'},
    'deploy': {'runner', 'inference'},
    'merge_cascade': {'runner', 'inference'},
    'records': {'runner', 'inference'},
    'benchmark': {'runner', 'inference', 'deploy'},
    'cost_model': {'benchmark'},
    'exit_heads': {'records'},
    'calibrate': {'records', 'cost_model'},
    'select_saver': {'records', 'cost_model'},
    'studies': {'records', 'exit_heads', 'benchmark'},
    'drop_interval': {'records'},
    'demo_summary': set(),
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


def _apis_modules():
    for path in _modules():
        parts = osp.relpath(path, PKG).split(os.sep)
        if parts[0] == 'apis' and parts[1:] != ['__init__.py']:
            yield path


@pytest.mark.parametrize('path', list(_apis_modules()), ids=lambda p: osp.relpath(p, PKG))
def test_apis_shelves_import_only_lower_shelves(path):
    parts = osp.relpath(path, osp.join(PKG, 'apis')).split(os.sep)
    shelf = parts[0][:-len('.py')] if len(parts) == 1 else parts[0]
    assert shelf in APIS_LOWER, f'apis/{parts[0]} is not in the shelf map of this test'
    for name in _imported(path):
        if name.startswith('tinysaver_mm.apis'):
            target = name.split('.')[2] if name.count('.') >= 2 else '__init__'
            assert target == shelf or target in APIS_LOWER[shelf], (
                f'{osp.relpath(path, ROOT)} (shelf {shelf}) imports {name}: a higher or '
                f'sibling shelf (allowed: {sorted(APIS_LOWER[shelf])}; calibrate is a leaf)')


def _public_api(package: str = 'apis'):
    tree = ast.parse(open(osp.join(PKG, package, '__init__.py')).read())
    for node in tree.body:
        if isinstance(node, ast.Assign) and node.targets[0].id == '__all__':
            return set(ast.literal_eval(node.value))
    raise AssertionError(f'tinysaver_mm/{package}/__init__.py has no __all__')


# the public surfaces tools may import: the apis, and the serving application (above the apis)
PUBLIC = ('tinysaver_mm.apis', 'tinysaver_mm.serving')


@pytest.mark.parametrize('path', sorted(glob.glob(osp.join(ROOT, 'tools', '*.py'))),
                         ids=osp.basename)
def test_tools_import_only_the_public_api(path):
    public = {m: _public_api(m.split('.')[1]) for m in PUBLIC}
    for node in ast.walk(ast.parse(open(path).read(), path)):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names if a.name.split('.')[0] == 'tinysaver_mm']
            assert not names, f'{osp.basename(path)} imports {names}: use from tinysaver_mm.apis'
        elif isinstance(node, ast.ImportFrom) and (node.module or '').split('.')[0] == \
                'tinysaver_mm':
            assert node.module in PUBLIC, (
                f'{osp.basename(path)} imports from {node.module}: tools import only '
                f'{" or ".join(PUBLIC)}')
            missing = sorted(a.name for a in node.names if a.name not in public[node.module])
            assert not missing, (f'{osp.basename(path)} imports {missing}, not in '
                                 f'{node.module}.__all__')
