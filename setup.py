"""Install script for tinysaver_mm."""
import os
import os.path as osp
import shutil
import sys

from setuptools import find_packages, setup

# ---- mim layout (tinysaver_mm/.mim/{configs,tools,model-index.yml}) -------------------------
# As mmdet's setup.py does: symlinks for an editable/develop install, copies for a wheel or
# sdist, so `mim list`, `mim test tinysaver_mm CONFIG -C CKPT` and `mim train` find them.
MIM_FILES = ('configs', 'tools', 'model-index.yml')


def add_mim_extension():
    """Create ``tinysaver_mm/.mim`` for the current setup command (see mmdet's setup.py)."""
    if any(c in sys.argv for c in ('develop', 'editable_wheel', 'egg_info')):
        mode = 'copy' if os.name == 'nt' else 'symlink'
    elif any(c in sys.argv for c in ('sdist', 'bdist_wheel')):
        mode = 'copy'
    else:
        return
    repo = osp.dirname(osp.abspath(__file__))
    mim = osp.join(repo, 'tinysaver_mm', '.mim')
    os.makedirs(mim, exist_ok=True)
    for name in MIM_FILES:
        src, dst = osp.join(repo, name), osp.join(mim, name)
        if not osp.exists(src):
            continue
        if osp.islink(dst) or osp.isfile(dst):
            os.remove(dst)
        elif osp.isdir(dst):
            shutil.rmtree(dst)
        if mode == 'symlink':
            os.symlink(osp.relpath(src, mim), dst)
        elif osp.isdir(src):
            shutil.copytree(src, dst)
        else:
            shutil.copyfile(src, dst)


add_mim_extension()
# ----------------------------------------------------------------------------------------------

setup(
    name='tinysaver_mm',
    version=open('tinysaver_mm/version.py').read().split("'")[1],
    description='TinySaver cascades (tiny saver + large base) for OpenMMLab',
    packages=find_packages(include=['tinysaver_mm', 'tinysaver_mm.*']),
    package_data={'tinysaver_mm': ['.mim/model-index.yml', '.mim/configs/**/*',
                                   '.mim/tools/*', '.mim/tools/**/*']},
    python_requires='>=3.8',
    license='Apache License 2.0',
    # scipy: the guarantee's Clopper-Pearson bounds and the drift tests (imported by
    # `import tinysaver_mm`); versions as requirements/constraints.txt pins them
    install_requires=['mmengine>=0.10.0', 'numpy', 'scipy'],
    extras_require={'cls': ['mmpretrain>=1.2.0'], 'det': ['mmdet>=3.3.0', 'pycocotools'],
                    'seg': ['mmsegmentation>=1.2.2', 'ftfy', 'regex'],
                    'deploy': ['onnx', 'onnxruntime'],
                    'mim': ['openmim']},
)
