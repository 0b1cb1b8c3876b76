"""Your own image folder: what is refused (with the bad value and the fix), and the stats tool."""
import os.path as osp
import shutil

import cv2
import numpy as np
import pytest

from tinysaver_mm.apis import check_dataset_cfg, dataset_stats, load_cfg
from tinysaver_mm.testing import write_image_folder
from tinysaver_mm.utils import SPLITS, OutputExistsError

ROOT = osp.abspath(osp.join(osp.dirname(__file__), '..', '..'))
GREY = osp.join(ROOT, 'configs', 'custom', 'resnet18-w4s2_grey.py')
COLOUR = osp.join(ROOT, 'configs', 'custom', 'resnet18-w4s2_color.py')
CASCADE = osp.join(ROOT, 'configs', 'custom', 'tinysaver_resnet18-w4s2_resnet18-w16_grey.py')
FMNIST = osp.join(ROOT, 'configs', 'fashion_mnist', 'resnet18-w4s2_fmnist.py')
EVERY = {s: 2 for s in SPLITS}


def _cfg(path, root, num_classes=3):
    cfg = load_cfg(path)
    for split in SPLITS:
        if cfg.get(f'{split}_dataloader') is not None:
            cfg[f'{split}_dataloader'].dataset.data_root = str(root)
    if 'head' in cfg.model:
        cfg.model.head.num_classes = num_classes
    return cfg


def test_split_vocabulary_is_one_for_every_task():
    assert SPLITS == ('train', 'val', 'holdout', 'test')
    for path in (GREY, FMNIST,
                 osp.join(ROOT, 'configs', 'fmnist_det',
                          'tinysaver_rtmdet-w125_rtmdet-w375_fmnist-det.py'),
                 osp.join(ROOT, 'configs', 'fmnist_seg',
                          'tinysaver_fcn-w8_deeplabv3-w32_fmnist-seg.py')):
        cfg = load_cfg(path)
        assert cfg.get('holdout_dataloader') is not None, path


def test_a_well_formed_folder_passes_every_split(tmp_path):
    write_image_folder(str(tmp_path), ['a', 'b', 'c'], EVERY)
    cfg = _cfg(GREY, tmp_path)
    for split in SPLITS:
        check_dataset_cfg(cfg, cfg[f'{split}_dataloader'].dataset, split)


def test_a_split_folder_without_images_is_refused(tmp_path):
    write_image_folder(str(tmp_path), ['a', 'b', 'c'], dict(EVERY, test=0))
    shutil.rmtree(tmp_path / 'test')
    (tmp_path / 'test').mkdir()
    cfg = _cfg(GREY, tmp_path)
    with pytest.raises(ValueError, match=r"test split has no image.*data_prefix='test'"):
        check_dataset_cfg(cfg, cfg.test_dataloader.dataset, 'test')


def test_a_class_folder_without_images_is_refused(tmp_path):
    write_image_folder(str(tmp_path), ['a', 'b', 'c'], EVERY)
    shutil.rmtree(tmp_path / 'train' / 'b')
    (tmp_path / 'train' / 'b').mkdir()
    cfg = _cfg(GREY, tmp_path)
    with pytest.raises(ValueError, match=r"class folder\(s\) without images.*train/b"):
        check_dataset_cfg(cfg, cfg.train_dataloader.dataset, 'train')


def test_a_split_with_other_class_folders_is_refused(tmp_path):
    write_image_folder(str(tmp_path), ['a', 'b', 'c'], EVERY)
    shutil.rmtree(tmp_path / 'test' / 'a')  # 'b' would silently become label 0
    cfg = _cfg(GREY, tmp_path)
    with pytest.raises(ValueError, match=r"classes \['b', 'c'\], the train split \['a', 'b', "):
        check_dataset_cfg(cfg, cfg.test_dataloader.dataset, 'test')


def test_a_head_of_another_class_count_is_refused(tmp_path):
    write_image_folder(str(tmp_path), ['a', 'b', 'c'], EVERY)
    cfg = _cfg(GREY, tmp_path, num_classes=10)
    with pytest.raises(ValueError, match=r'3 classes .* num_classes=10; set num_classes=3'):
        check_dataset_cfg(cfg, cfg.train_dataloader.dataset, 'train')


def test_colour_images_for_a_grey_model_name_both_counts(tmp_path):
    write_image_folder(str(tmp_path), ['a', 'b', 'c'], EVERY, colour=True)
    cfg = _cfg(GREY, tmp_path)
    for split in ('val', 'test'):
        cfg[f'{split}_dataloader'].dataset.pipeline[0] = dict(type='LoadImageFromFile')
    with pytest.raises(ValueError, match=r"3 channel\(s\) but the model takes 1 .*"
                       r"color_type='grayscale'"):
        check_dataset_cfg(cfg, cfg.test_dataloader.dataset, 'test')


def test_grey_images_for_a_colour_cascade_stage_name_both_counts(tmp_path):
    write_image_folder(str(tmp_path), ['a', 'b', 'c'], EVERY)
    cfg = _cfg(CASCADE.replace('_grey', '_color'), tmp_path)
    cfg.test_dataloader.dataset.pipeline[0] = dict(type='LoadImageFromFile',
                                                   color_type='grayscale')
    with pytest.raises(ValueError, match=r"1 channel\(s\) but the saver takes 3 .*"
                       r"resnet18-w4s2_color.py.*color_type='color'"):
        check_dataset_cfg(cfg, cfg.test_dataloader.dataset, 'test')


def test_a_key_inherited_from_fashion_mnist_names_the_key_and_the_fix(tmp_path):
    write_image_folder(str(tmp_path), ['a', 'b', 'c'], EVERY)
    cfg = load_cfg(FMNIST, {'test_dataloader.dataset.type': 'CustomDataset',
                            'test_dataloader.dataset.data_root': str(tmp_path)})
    with pytest.raises(ValueError, match=r"CustomDataset does not take split='test'.*_delete_=True"
                       r".*configs/custom/_base_/image_folder.py"):
        check_dataset_cfg(cfg, cfg.test_dataloader.dataset, 'test')


@pytest.mark.parametrize('colour', [False, True])
def test_stats_equal_numpy_over_the_files(tmp_path, colour):
    files = write_image_folder(str(tmp_path / 'd'), ['a', 'b', 'c'], EVERY, colour=colour)
    cfg = _cfg(COLOUR if colour else GREY, tmp_path / 'd')
    out = str(tmp_path / 'stats.json')
    r = dataset_stats(cfg, 'train', out)
    flag = cv2.IMREAD_COLOR if colour else cv2.IMREAD_GRAYSCALE
    # the tool resizes to the config's image size (12 -> 28/32): the reference does too
    size = cfg.test_dataloader.dataset.pipeline[1]['scale']
    px = np.stack([cv2.resize(cv2.imread(p, flag), size, interpolation=cv2.INTER_LINEAR)
                   for p, _ in files['train']]).astype(np.float64)
    px = px.reshape(-1, 3)[:, ::-1] if colour else px.reshape(-1, 1)  # RGB, as to_rgb=True
    assert r['channels'] == (3 if colour else 1) and r['num_images'] == 6
    np.testing.assert_allclose(r['mean'], px.mean(0), atol=2e-3)
    np.testing.assert_allclose(r['std'], px.std(0), atol=2e-3)
    with pytest.raises(OutputExistsError):
        dataset_stats(cfg, 'train', out)
