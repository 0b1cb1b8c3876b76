"""The detection cascade under ONNX Runtime: what exports, equal boxes, no routing flip."""
import copy
import os.path as osp

import pytest
import torch

pytest.importorskip('mmdet')
pytest.importorskip('onnxruntime')

ROOT = osp.abspath(osp.join(osp.dirname(__file__), '..', '..'))
CFG = osp.join(ROOT, 'configs', 'fmnist_det', 'tinysaver_rtmdet-w125_rtmdet-w375_fmnist-det.py')
CLS = osp.join(ROOT, 'configs', 'fashion_mnist', 'tinysaver_resnet18-w4s2_resnet18-w16_fmnist.py')


@pytest.fixture(scope='module')
def exported(tmp_path_factory):
    if not osp.isfile(osp.join(ROOT, 'data', 'fmnist_det', 'annotations', 'instances_val.json')):
        pytest.skip('the detection set is not built (bash tools/make_fmnist_det.sh)')
    from tinysaver_mm.apis.deploy import deploy
    out = tmp_path_factory.mktemp('det') / 'deploy'
    manifest = deploy(CFG, str(out))
    return out, manifest


def test_manifest_says_what_is_exported_and_what_stays_in_python(exported):
    _, manifest = exported
    assert sorted(manifest['stages']) == ['base', 'saver'] and manifest['parts'] == {}
    assert 'NMS' in manifest['in_python'] and 'evaluator' in manifest['in_python']


def _in_box_order(inst):
    """Detections sorted by label then box (rounded to 0.01 px): two detections
    whose scores tie within float noise may come out of NMS in either order."""
    import numpy as np
    if not len(inst):
        return inst
    key = torch.cat([inst.labels[:, None].float(), (inst.bboxes * 100).round()], 1).numpy()
    order = np.lexsort(key.T[::-1])
    return inst[torch.from_numpy(order.copy())]


def test_onnxruntime_detection_cascade_equals_pytorch(exported):
    from mmengine.runner import Runner
    from tinysaver_mm.apis import init_cascade
    out, _ = exported
    model = init_cascade(CFG)
    cfg = model.cfg
    loader = Runner.build_dataloader(dict(cfg.test_dataloader, batch_size=32, num_workers=0,
                                          persistent_workers=False))
    flips = boxes = 0
    for i, batch in enumerate(loader):
        if i == 2:
            break
        model.use_backend('pytorch')
        ref = model.test_step(copy.deepcopy(batch))
        model.use_backend('onnxruntime', str(out))
        got = model.test_step(copy.deepcopy(batch))
        for a, b in zip(ref, got):
            flips += a.answered_by != b.answered_by
            pa, pb = _in_box_order(a.pred_instances), _in_box_order(b.pred_instances)
            assert len(pa) == len(pb)
            if len(pa):
                assert torch.equal(pa.labels, pb.labels)
                assert torch.allclose(pa.bboxes, pb.bboxes, atol=1e-3)
                assert torch.allclose(pa.scores, pb.scores, atol=1e-4)
                boxes += len(pa)
            assert a.exit_score == pytest.approx(b.exit_score, abs=1e-4)
    assert flips == 0 and boxes > 0


def test_two_stage_detectors_and_other_manifests_are_refused(exported, tmp_path):
    from tinysaver_mm.apis import load_cfg
    from tinysaver_mm.models.backends import DetStageGraph

    class TwoStage(torch.nn.Module):
        roi_head = torch.nn.Identity()
        rpn_head = torch.nn.Identity()

    with pytest.raises(ValueError, match='TwoStage.*not a single-stage detector.*Faster'):
        DetStageGraph(TwoStage(), 'base')
    out, _ = exported
    from mmengine.registry import init_default_scope
    from mmpretrain.registry import MODELS
    init_default_scope('mmpretrain')
    cfg = load_cfg(CLS)
    with pytest.raises(ValueError, match='is a detection export but TinySaverClassifier is a classification'):
        MODELS.build(dict(cfg.model, backend='onnxruntime', deploy_dir=str(out)))
