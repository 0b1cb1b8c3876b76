"""The embedded detection cascade routes each image as it does alone (issue 25 case 11).

48 val images of the demo, cropped to four sizes (after the saver's 96x96 resize, padded
alone to 96x96 or to 96x64 or 64x96, together to 96x96), run at batch 8 and at batch 1:
the same routing, exit scores and detections (the host's batch padding no
longer reaches the saver's scores).
"""
import os.path as osp

import pytest
import torch

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
DET_CFG = osp.join(ROOT, 'configs', 'fmnist_det', 'tinysaver_rtmdet-w125_rtmdet-w375_fmnist-det.py')
SIZES = [(128, 128), (128, 64), (64, 128), (128, 80)]  # the saver pads them to 96x96 or 96x64


def mixed_val_images(cfg, n=48):
    """The first ``n`` val images as the cascade's dataloader gives them, each cropped
    (top-left) to one of :data:`SIZES` in turn."""
    from mmengine.runner import Runner
    loader = Runner.build_dataloader(dict(cfg.test_dataloader, batch_size=n, num_workers=0,
                                          persistent_workers=False))
    batch = next(iter(loader))
    imgs, samples = [], []
    for i, (img, ds) in enumerate(zip(batch['inputs'], batch['data_samples'])):
        h, w = SIZES[i % len(SIZES)]
        imgs.append(img[:, :h, :w].contiguous())
        ds.set_metainfo(dict(ori_shape=(h, w), img_shape=(h, w), scale_factor=(1.0, 1.0)))
        samples.append(ds)
    return imgs, samples


def _in_box_order(inst):
    """Detections sorted by label then box (rounded to 0.01 px): detections whose scores tie
    within float noise (batched and single convolutions round differently) may leave NMS in
    either order."""
    import numpy as np
    if not len(inst):
        return inst
    key = torch.cat([inst.labels[:, None].float(), (inst.bboxes * 100).round()], 1).numpy()
    return inst[torch.from_numpy(np.lexsort(key.T[::-1]).copy())]


def run_in_batches(model, imgs, samples, batch_size):
    import copy
    out = []
    for i in range(0, len(imgs), batch_size):
        out += model.predict(imgs[i:i + batch_size], copy.deepcopy(samples[i:i + batch_size]))
    return out


@pytest.mark.slow
def test_routing_at_batch_8_equals_batch_1_on_mixed_sizes():
    pytest.importorskip('mmdet')
    if not osp.exists(osp.join(ROOT, 'data', 'fmnist_det', 'annotations')):
        pytest.skip('data/fmnist_det missing (bash tools/make_fmnist_det.sh)')
    from mmengine.registry import DefaultScope
    from tinysaver_mm.apis import init_cascade
    with DefaultScope.overwrite_default_scope('mmengine'):
        model = init_cascade(DET_CFG)
        cfg = model.cfg
        imgs, samples = mixed_val_images(cfg)
        alone = run_in_batches(model, imgs, samples, 1)
        mixed = run_in_batches(model, imgs, samples, 8)
    assert 0 < sum(ds.exited for ds in alone) < len(alone)
    for a, b in zip(alone, mixed):
        assert a.answered_by == b.answered_by
        assert a.exit_score == pytest.approx(b.exit_score, abs=1e-5)
        pa, pb = _in_box_order(a.pred_instances), _in_box_order(b.pred_instances)
        assert len(pa) == len(pb)
        assert torch.equal(pa.labels, pb.labels)
        assert torch.allclose(pa.bboxes, pb.bboxes, atol=1e-3)
        assert torch.allclose(pa.scores, pb.scores, atol=1e-4)


def _measure():
    """Print the exit ratio at batch 1 and 8, with the per-shape grouping and without it
    (the whole mixed batch padded together, as before issue 25 case 11):
    ``PYTHONPATH=$PWD python tests/test_models/test_det_batch_invariance.py``."""
    from mmengine.registry import DefaultScope
    import tinysaver_mm.core as core
    import tinysaver_mm.models.cascade as cascade
    from tinysaver_mm.apis import init_cascade
    with DefaultScope.overwrite_default_scope('mmengine'):
        model = init_cascade(DET_CFG)
        cfg = model.cfg
        imgs, samples = mixed_val_images(cfg)
        for label in ('per-shape groups', 'one padded batch (before)'):
            res = {bs: run_in_batches(model, imgs, samples, bs) for bs in (1, 8)}
            ratio = {bs: sum(d.exited for d in r) / len(r) for bs, r in res.items()}
            diff = max(abs(a.exit_score - b.exit_score) for a, b in zip(res[1], res[8]))
            flips = sum(a.answered_by != b.answered_by for a, b in zip(res[1], res[8]))
            print(f'{label}: exit ratio at batch 1 {ratio[1]:.3f}, at batch 8 {ratio[8]:.3f}; '
                  f'{flips}/{len(imgs)} routing flips; max exit-score change {diff:.4f}')
            cascade.shape_groups = core.shape_groups = lambda x: [torch.arange(len(x))]


if __name__ == '__main__':
    _measure()
