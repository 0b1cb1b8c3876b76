"""One exported stage of a ``tools/deploy.py`` folder, run as an mmpretrain classifier."""
import logging
import os.path as osp
from typing import List, Optional

import torch
from mmengine.logging import print_log
from mmengine.model import BaseDataPreprocessor
from mmpretrain.models.classifiers.base import BaseClassifier
from mmpretrain.registry import MODELS
from mmpretrain.structures import DataSample

from .manifest import load_manifest
from .onnx_stage import OnnxStage

__all__ = ['TinySaverDeployedStage']


@MODELS.register_module()
class TinySaverDeployedStage(BaseClassifier):
    """A stage of a deployed cascade alone (e.g. the base), through ONNX Runtime.

    What "the base alone" is on the deployment backend, to compare a deployed
    cascade with: ``tools/test.py`` runs it like any classifier (inference
    only). The graph takes raw pixels (its preprocessing folded in) and gives
    probabilities; the prediction is written as mmpretrain's heads write it.

    Args:
        deploy_dir (str): Written by ``tools/deploy.py`` (files checked
            against the manifest's SHA-256).
        stage (str): ``'saver'``, ``'base'``, ``'mid0'``...
        data_preprocessor (dict, optional): Not used (the graph folds in the
            stage's own, recorded in the manifest); given (e.g. by mmpretrain's
            top-level ``data_preprocessor`` key), it is reported in the log.
        init_cfg (dict, optional): Unused.

    Raises:
        ValueError: If the manifest has no such stage, or a file differs from it.
        ImportError: If onnxruntime is not installed.
    """

    def __init__(self, deploy_dir: str, stage: str = 'base',
                 data_preprocessor: Optional[dict] = None, init_cfg: Optional[dict] = None):
        super().__init__(init_cfg=init_cfg, data_preprocessor=BaseDataPreprocessor())
        if data_preprocessor is not None:
            print_log(f'{type(self).__name__}: data_preprocessor={dict(data_preprocessor)} is '
                      f'not used; the exported {stage} graph applies its own preprocessing '
                      f'(manifest of {deploy_dir}).', 'current', logging.INFO)
        manifest = load_manifest(deploy_dir)
        if stage not in manifest['stages']:
            raise ValueError(f'stage={stage!r} is not in {deploy_dir} (it has '
                             f'{sorted(manifest["stages"])}).')
        self.stage = stage
        self.session = OnnxStage(osp.join(deploy_dir, manifest['stages'][stage]['file']), stage)

    def forward(self, inputs, data_samples: Optional[List[DataSample]] = None,
                mode: str = 'tensor'):
        """``tensor``: probabilities; ``predict``: data samples; no ``loss``.

        Raises:
            RuntimeError: In ``loss`` mode (an exported graph does not train).
        """
        if mode == 'tensor':
            return self.session(inputs)
        if mode == 'predict':
            return self.predict(inputs, data_samples)
        raise RuntimeError(f'mode={mode!r}: {type(self).__name__} runs an exported graph, '
                           'for inference only; train the PyTorch model with tools/train.py.')

    def predict(self, inputs, data_samples: Optional[List[DataSample]] = None
                ) -> List[DataSample]:
        """Predict a raw batch (a stacked tensor or a list of same-shape images)."""
        probs = self.session(inputs)
        labels = probs.argmax(dim=1, keepdim=True)
        if data_samples is None:
            data_samples = [DataSample() for _ in range(len(probs))]
        for ds, score, label in zip(data_samples, probs, labels):
            ds.set_pred_score(score).set_pred_label(label)
        return data_samples

    def extract_feat(self, inputs):
        raise NotImplementedError(f'{type(self).__name__} has no features: the exported graph '
                                  'gives probabilities only.')
