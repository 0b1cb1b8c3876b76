"""One case per registered cascade type, for the contract every cascade must pass.

A case builds a small random-weight cascade of its task, a raw batch, and
the independent references the contract tests compare against: each stage
run alone through its own preprocessor and its host library's ``predict``,
the saver's exit score computed from that alone-run, and each stage's MACs
counted by mmengine's analysis on its own preprocessed image. A new cascade
type (e.g. ESN) adds a case here and inherits every contract test.
"""
from typing import Any, Dict, List, Optional, Tuple

import torch

__all__ = ['CascadeCase', 'ClsCase', 'ESNCase', 'SampleCase', 'DetCase', 'SegCase', 'CASES']


class CascadeCase:
    """What a contract test needs to know about one cascade type."""

    #: registered type name
    type_name: str = ''
    #: registry module the type lives in
    registry: str = ''

    def build(self, threshold: float = 0.5):
        """A cascade with random weights (seeded)."""
        raise NotImplementedError

    def batch(self, n: int = 8) -> Tuple[Any, Optional[list]]:
        """Raw inputs and data samples as the cascade's dataloader gives them."""
        raise NotImplementedError

    def mixed_batch(self, n: int = 8) -> Tuple[Any, Optional[list]]:
        """A batch whose images differ in size where the task's inputs may
        (a host preprocessor would pad them together); :meth:`batch` where
        its stages take one size only."""
        return self.batch(n)

    def alone(self, model, role: str, inputs, samples) -> List[Any]:
        """Each image's prediction by one stage run alone (host library path)."""
        raise NotImplementedError

    def saver_scores(self, model, inputs, samples) -> torch.Tensor:
        """The saver's exit score per image, from the saver run alone."""
        raise NotImplementedError

    def prediction(self, data_sample) -> Any:
        """The task prediction held by an output data sample."""
        raise NotImplementedError

    def same(self, a, b) -> bool:
        """Whether two predictions are equal (to float tolerance)."""
        raise NotImplementedError

    def macs_alone(self, model, role: str, inputs, samples) -> int:
        """MACs of one stage alone on the first image (mmengine's count)."""
        raise NotImplementedError

    def samples_for(self, n: int) -> list:
        """``n`` fresh data samples of the task."""
        raise NotImplementedError

    def thresholds(self, saver_threshold: float) -> Any:
        """The cascade's threshold setting for a saver threshold (the saver
        against the base; a cascade with more exits turns them off)."""
        return saver_threshold

    def base_entry(self, model):
        """The module every row the base answers enters first (for hooks)."""
        return model.base.backbone

    def stage_macs_of(self, model, data_sample) -> Dict[str, float]:
        """A prediction's MACs of each stage alone, by stage name."""
        return {r: data_sample.get(f'macs_{r}') for r in model.stage_names}

    def inner_macs(self, model) -> int:
        """MACs a row the base answers pays besides the saver and the base
        alone (e.g. an ESN's exit modules), counted independently."""
        return 0


class ClsCase(CascadeCase):
    type_name, registry = 'TinySaverClassifier', 'mmpretrain'

    def build(self, threshold=0.5):
        from mmengine.registry import DefaultScope
        from mmpretrain.registry import MODELS
        from .cls_stages import register_test_models, stage_cfg
        register_test_models()
        torch.manual_seed(0)
        with DefaultScope.overwrite_default_scope('mmpretrain'):
            return MODELS.build(dict(type='TinySaverClassifier',
                                     saver=stage_cfg(channels=2, mean=0.0, std=255.0),
                                     base=stage_cfg(channels=8, mean=128.0, std=64.0),
                                     threshold=threshold))

    def batch(self, n=8):
        g = torch.Generator().manual_seed(n)
        return torch.randint(0, 256, (n, 1, 8, 8), generator=g, dtype=torch.uint8), None

    def _x(self, model, role, inputs):
        m = getattr(model, role)
        return m, m.data_preprocessor({'inputs': inputs}, False)['inputs']

    def alone(self, model, role, inputs, samples):
        m, x = self._x(model, role, inputs)
        return [ds.pred_score for ds in m.predict(x)]

    def saver_scores(self, model, inputs, samples):
        from tinysaver_mm.core import confidence_scores
        return confidence_scores(torch.stack(self.alone(model, 'saver', inputs, samples)),
                                 model.exit_rule)

    def prediction(self, data_sample):
        return data_sample.pred_score

    def same(self, a, b):
        return torch.allclose(a, b, atol=1e-6)

    def macs_alone(self, model, role, inputs, samples):
        from mmengine.analysis import FlopAnalyzer
        m, x = self._x(model, role, inputs[:1])
        return int(FlopAnalyzer(m, (x, )).total())

    def samples_for(self, n):
        from mmpretrain.structures import DataSample
        return [DataSample() for _ in range(n)]


class ESNCase(ClsCase):
    """The ESN with its inner exits off (thresholds above 1): the saver
    against the base, whose rows also pay the exits' modules."""
    type_name = 'TinySaverESN'

    def build(self, threshold=0.5):
        from mmengine.registry import DefaultScope
        from mmpretrain.registry import MODELS
        from .esn_stages import esn_cfg
        import tinysaver_mm.models.classifiers  # noqa: F401  (registers the cascade)
        torch.manual_seed(0)
        with DefaultScope.overwrite_default_scope('mmpretrain'):
            return MODELS.build(esn_cfg(self.thresholds(threshold), after=(0, 2)))

    def thresholds(self, saver_threshold):
        return [saver_threshold, 1.5, 1.5]

    def mixed_batch(self, n=8):
        """Images of 8x8 and 12x12 (its stages pool globally), as a list."""
        g = torch.Generator().manual_seed(n)
        return [torch.randint(0, 256, (1, s, s), generator=g, dtype=torch.uint8)
                for s in (8, 12, 12, 8, 12, 8, 8, 12)[:n]], None

    def base_entry(self, model):
        return model.base.backbone.conv1  # the staged base never calls backbone.forward

    def stage_macs_of(self, model, data_sample):
        return dict(saver=data_sample.macs_saver, base=data_sample.macs_base_alone)

    def inner_macs(self, model):
        from .esn_stages import exit_modules_macs
        return sum(exit_modules_macs(model.exits, model.num_classes).values())


class SampleCase(CascadeCase):
    """A task whose stages preprocess raw image lists with their data samples."""

    def _x(self, model, role, inputs, samples):
        """One stage's own preprocessing, on copies of the samples (it may write them)."""
        import copy
        m = getattr(model, role)
        data = m.data_preprocessor({'inputs': list(inputs),
                                    'data_samples': copy.deepcopy(samples)}, False)
        return m, data['inputs'], data['data_samples']


class DetCase(SampleCase):
    type_name, registry = 'TinySaverDetector', 'mmdet'

    def build(self, threshold=0.5):
        from mmdet.registry import MODELS
        from mmengine.registry import DefaultScope
        from .det_stages import rtmdet_cfg
        import tinysaver_mm.models.detectors  # noqa: F401  (registers the cascade)
        torch.manual_seed(0)
        with DefaultScope.overwrite_default_scope('mmdet'):
            return MODELS.build(dict(type='TinySaverDetector', saver=rtmdet_cfg(0.125),
                                     base=rtmdet_cfg(0.25, channels=48), threshold=threshold,
                                     exit_rule='max_score'))

    def batch(self, n=8):
        from .det_stages import det_batch
        return det_batch(n)

    def mixed_batch(self, n=8):
        """Images of four sizes (padded to three batch shapes by RTMDet's preprocessor)."""
        from .det_stages import det_batch
        sizes = [(96, 96), (64, 80), (96, 128), (70, 96)]
        imgs, samples = [], []
        for i in range(n):
            img, ds = det_batch(1, sizes[i % len(sizes)], seed=i)
            ds[0].set_metainfo(dict(img_id=i))
            imgs += img
            samples += ds
        return imgs, samples

    def alone(self, model, role, inputs, samples):
        m, x, s = self._x(model, role, inputs, samples)
        return [r.pred_instances for r in m.predict(x, s, rescale=True)]

    def saver_scores(self, model, inputs, samples):
        from tinysaver_mm.core import det_confidence
        return det_confidence([p.scores for p in self.alone(model, 'saver', inputs, samples)],
                              model.exit_rule, model.topk)

    def prediction(self, data_sample):
        return data_sample.pred_instances

    def same(self, a, b):
        return torch.allclose(a.bboxes, b.bboxes, atol=1e-4) and \
            torch.allclose(a.scores, b.scores, atol=1e-6) and torch.equal(a.labels, b.labels)

    def macs_alone(self, model, role, inputs, samples):
        from tinysaver_mm.utils import measure_macs
        m, x, s = self._x(model, role, inputs[:1], samples[:1])
        return measure_macs(m, x, s)

    def samples_for(self, n):
        from mmdet.structures import DetDataSample
        return [DetDataSample(metainfo=dict(img_id=i, ori_shape=(96, 96), img_shape=(96, 96),
                                            scale_factor=(1.0, 1.0))) for i in range(n)]


class SegCase(SampleCase):
    type_name, registry = 'TinySaverSegmentor', 'mmseg'

    def build(self, threshold=0.5):
        from mmseg.registry import MODELS
        from mmengine.registry import DefaultScope
        from .seg_stages import fcn_cfg
        import tinysaver_mm.models.segmentors  # noqa: F401  (registers the cascade)
        torch.manual_seed(0)
        with DefaultScope.overwrite_default_scope('mmseg'):
            return MODELS.build(dict(type='TinySaverSegmentor', saver=fcn_cfg(4),
                                     base=fcn_cfg(16, mean=100.0, std=50.0),
                                     threshold=threshold, exit_rule='mean_max_prob'))

    def batch(self, n=8):
        from .seg_stages import seg_batch
        return seg_batch(n)

    def mixed_batch(self, n=8):
        """Images of three sizes."""
        from .seg_stages import seg_batch
        sizes = [(48, 64), (32, 40), (64, 48)]
        imgs, samples = [], []
        for i in range(n):
            img, ds = seg_batch(1, sizes[i % len(sizes)], seed=i)
            imgs += img
            samples += ds
        return imgs, samples

    def alone(self, model, role, inputs, samples):
        m, x, s = self._x(model, role, inputs, samples)
        return [(r.pred_sem_seg.data, r.seg_logits.data) for r in m.predict(x, s)]

    def saver_scores(self, model, inputs, samples):
        from tinysaver_mm.core import seg_confidence
        return seg_confidence([p[1] for p in self.alone(model, 'saver', inputs, samples)],
                              model.exit_rule, model.quantile)

    def prediction(self, data_sample):
        return data_sample.pred_sem_seg.data, data_sample.seg_logits.data

    def same(self, a, b):
        return torch.equal(a[0], b[0]) and torch.allclose(a[1], b[1], atol=1e-5)

    def macs_alone(self, model, role, inputs, samples):
        from tinysaver_mm.utils import measure_macs
        m, x, _ = self._x(model, role, inputs[:1], samples[:1])
        return measure_macs(m, x)

    def samples_for(self, n):
        from mmseg.structures import SegDataSample
        return [SegDataSample(metainfo=dict(ori_shape=(48, 64), img_shape=(48, 64)))
                for _ in range(n)]


CASES: Dict[str, CascadeCase] = {c.type_name: c for c in (ClsCase(), ESNCase(), DetCase(),
                                                          SegCase())}
