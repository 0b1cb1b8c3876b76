"""Real test images for the serving tests: PNG bytes and the test loop's own answers."""
import io
from typing import List, Tuple

import numpy as np

CLS_CFG = 'configs/fashion_mnist/tinysaver_resnet18-w4s2_resnet18-w16_fmnist.py'
DET_CFG = 'configs/fmnist_det/tinysaver_rtmdet-w125_rtmdet-w375_fmnist-det.py'


def png_bytes(arr: np.ndarray) -> bytes:
    from PIL import Image
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, format='PNG')
    return buf.getvalue()


def loop_answers(cascade, n: int) -> Tuple[List[bytes], list]:
    """The first ``n`` test images as PNG bytes, and the cascade's answers through the
    config's own test dataloader (dataset, pipeline, collate, ``test_step``: what
    tools/test.py's Runner runs)."""
    from mmengine.registry import DATASETS, DefaultScope
    from mmengine.runner import Runner
    from tinysaver_mm.apis import cascade_scope
    cfg = cascade.cfg
    loader_cfg = dict(cfg.test_dataloader)
    loader_cfg['dataset'] = dict(loader_cfg['dataset'], indices=n)
    loader_cfg['batch_size'], loader_cfg['num_workers'] = 16, 0
    loader_cfg.pop('persistent_workers', None)
    with DefaultScope.overwrite_default_scope(cascade_scope(cfg)):
        loader = Runner.build_dataloader(loader_cfg)
    samples = []
    for batch in loader:
        samples.extend(cascade.test_step(batch))
    dataset = loader.dataset
    images = []
    for i in range(n):
        info = dataset.get_data_info(i)
        if 'img_path' in info and info['img_path']:
            with open(info['img_path'], 'rb') as f:
                images.append(f.read())
        else:
            images.append(png_bytes(info['img']))
    return images, samples


def assert_same_answer(answer: dict, sample, task: str) -> None:
    """A served answer equals the test loop's (label/score, boxes within 1e-3 px,
    answered_by, exit_score)."""
    assert answer['answered_by'] == sample.answered_by
    es = float(sample.exit_score)
    if np.isnan(es):
        assert answer['exit_score'] is None
    else:
        assert abs(answer['exit_score'] - es) < 1e-5, (answer['exit_score'], es)
    if task == 'classification':
        label = int(sample.pred_label.reshape(-1)[0])
        assert answer['label'] == label
        assert abs(answer['score'] - float(sample.pred_score[label])) < 1e-5
    else:
        inst = sample.pred_instances
        assert answer['labels'] == inst.labels.tolist()
        assert len(answer['boxes']) == len(inst.bboxes)
        if len(inst.bboxes):
            assert np.abs(np.array(answer['boxes']) - inst.bboxes.numpy()).max() < 1e-3
            assert np.abs(np.array(answer['scores']) - inst.scores.numpy()).max() < 1e-5
