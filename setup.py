"""Install script for tinysaver_mm."""
from setuptools import find_packages, setup

setup(
    name='tinysaver_mm',
    version=open('tinysaver_mm/version.py').read().split("'")[1],
    description='TinySaver cascades (tiny saver + large base) for OpenMMLab',
    packages=find_packages(include=['tinysaver_mm', 'tinysaver_mm.*']),
    python_requires='>=3.8',
    install_requires=['mmengine>=0.10.0', 'numpy'],
    extras_require={'cls': ['mmpretrain>=1.2.0'], 'det': ['mmdet>=3.3.0', 'pycocotools']},
)
