"""Deployment backends: run a cascade's stages outside PyTorch eager.

``deployed_stage.TinySaverDeployedStage`` (an mmpretrain classifier) is registered by
``models.classifiers``, which imports it.
"""
from .manifest import (MANIFEST_NAME, check_manifest, file_sha256, load_manifest,
                       preprocess_constants)
from .det_stage_graph import DetStageGraph
from .exit_head_graph import ExitHeadGraph
from .onnx_stage import OnnxStage, import_onnxruntime
from .seg_stage_graph import SegStageGraph
from .stage_graph import StageGraph

__all__ = ['MANIFEST_NAME', 'check_manifest', 'file_sha256', 'load_manifest',
           'preprocess_constants', 'DetStageGraph', 'ExitHeadGraph', 'OnnxStage', 'SegStageGraph', 'StageGraph',
           'import_onnxruntime']
