"""Every relative link in README.md, docs/**/*.md and configs/*/README.md resolves: the
file (or folder) exists, and a #anchor names a heading of the target as GitHub anchors it."""
import glob
import os.path as osp

import pytest

from tinysaver_mm.testing.markdown import anchors, github_anchor, links

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
DOCS = sorted(['README.md'] + [osp.relpath(p, ROOT) for p in
                               glob.glob(osp.join(ROOT, 'docs', '**', '*.md'), recursive=True)
                               + glob.glob(osp.join(ROOT, 'configs', '*', 'README.md'))])


def _broken(doc: str, text: str = None) -> list:
    text = open(osp.join(ROOT, doc)).read() if text is None else text
    bad = []
    for line, target in links(text):
        if target.startswith(('http://', 'https://', 'mailto:')):
            continue
        path, _, anchor = target.partition('#')
        full = osp.normpath(osp.join(ROOT, osp.dirname(doc), path)) if path else \
            osp.join(ROOT, doc)
        rel = osp.relpath(full, ROOT)
        if not osp.exists(full):
            bad.append(f'{doc}:{line}: {target} -> {rel} does not exist')
            continue
        if anchor and full.endswith('.md') and anchor not in anchors(open(full).read()):
            bad.append(f'{doc}:{line}: {target}: no heading of {rel} has the anchor #{anchor}')
    return bad


@pytest.mark.parametrize('doc', DOCS)
def test_relative_links_resolve(doc):
    assert not _broken(doc), '\n'.join(_broken(doc))


def test_the_docs_have_their_pages():
    pages = ['get_started.md', 'index.md'] + [f'user_guides/{p}.md' for p in (
        'classification', 'detection', 'segmentation', 'esn', 'calibration', 'deployment',
        'own_data', 'drift', 'bad_input')] + [f'advanced_guides/{p}.md' for p in (
            'architecture', 'benchmark', 'results')]
    for p in pages:
        assert osp.isfile(osp.join(ROOT, 'docs', 'en', p)), p
    index = open(osp.join(ROOT, 'docs', 'en', 'index.md')).read()
    linked = {osp.normpath(t.partition('#')[0]) for _, t in links(index)}
    for p in [p for p in pages if p != 'index.md'] + ['user_guides/openmmlab_tools.md', 'user_guides/serving.md']:
        assert p in linked, f'docs/en/index.md does not link {p}'


def test_the_checker_catches_a_broken_file_and_anchor():
    assert _broken('README.md', '[x](docs/en/nope.md)')
    assert _broken('README.md', '[x](docs/en/get_started.md#no-such-heading)')
    assert not _broken('README.md', '[x](docs/en/get_started.md#two-commands)')
    assert not _broken('README.md', '```\n[x](nope.md)\n```')  # code is not a link


@pytest.mark.parametrize('heading,anchor', [
    ('Main job: Fashion-MNIST (the embedded default)', 'main-job-fashion-mnist-the-embedded-default'),
    ('Embedded segmentation demo (`bash tools/run_demo.sh`, last step)',
     'embedded-segmentation-demo-bash-toolsrun_demosh-last-step'),
    ('The drop and its 95 % interval', 'the-drop-and-its-95--interval'),
])
def test_github_anchors(heading, anchor):
    assert github_anchor(heading) == anchor
