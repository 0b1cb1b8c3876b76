"""Export a classification cascade's stages to ONNX (``tools/deploy.py``)."""
import json
import os
import os.path as osp
from typing import List, Optional, Sequence

import torch

from tinysaver_mm.models.backends import (MANIFEST_NAME, ExitHeadGraph, StageGraph,
                                          file_sha256, preprocess_constants)
from tinysaver_mm.models.backends.manifest import FORMAT
from tinysaver_mm.utils import cascade_fingerprints

__all__ = ['DEFAULT_OPSET', 'DEPLOYABLE', 'init_deployable', 'export_onnx', 'export_cascade',
           'export_det_cascade', 'deploy',
           'probe_input_shape']

DEFAULT_OPSET = 17


DEPLOYABLE = {'TinySaverClassifier': 'mmpretrain', 'TinySaverDetector': 'mmdet'}


def init_deployable(config: str, checkpoint: Optional[str] = None,
                    random_weights: bool = False, detection: bool = False):
    """A cascade that has an ONNX export, built by :func:`init_cascade` (PyTorch).

    Args:
        config (str): A ``TinySaverClassifier`` config (or, with
            ``detection``, also a ``TinySaverDetector`` one).
        checkpoint (str, optional): Whole-cascade weights, loaded strictly.
        random_weights (bool): Ignore the stages' checkpoints.
        detection (bool): Accept detection cascades too.

    Returns:
        nn.Module: The cascade (eager, eval mode), its config as ``model.cfg``.

    Raises:
        TypeError: If the config's model is not such a cascade.
    """
    from .inference import init_cascade
    from .runner import load_cfg
    cfg = load_cfg(config)
    kind = cfg.model.get('type')
    if kind == 'TinySaverESN':
        raise TypeError(f'{config}: a TinySaverESN has no ONNX backend (its base runs stage by '
                        'stage with exits in between, one graph per stage and exit is not '
                        'written yet); run it on PyTorch (tools/test.py, tools/benchmark.py).')
    if kind != 'TinySaverClassifier' and not (detection and kind == 'TinySaverDetector'):
        wanted = 'TinySaverClassifier or TinySaverDetector' if detection else \
            'TinySaverClassifier'
        raise TypeError(f'{config} is not a {"" if detection else "classification "}cascade '
                        f'config (model type {kind!r}); give a {wanted} config.')
    return init_cascade(cfg, checkpoint, random_weights=random_weights)


def probe_input_shape(cfg) -> List[int]:
    """``[C, H, W]`` of the first image of a config's test set."""
    from mmengine.runner import Runner
    loader_cfg = dict(cfg.test_dataloader, batch_size=1, num_workers=0,
                      persistent_workers=False)
    images = next(iter(Runner.build_dataloader(loader_cfg)))['inputs']
    return [int(d) for d in images[0].shape]


def export_onnx(module: torch.nn.Module, example: torch.Tensor, path: str, opset: int,
                out_name: str) -> None:
    """Export ``module`` (eval mode) with one input and a dynamic batch axis."""
    torch.onnx.export(module, (example, ), path, input_names=['input'], output_names=[out_name],
                      dynamic_axes={'input': {0: 'batch'}, out_name: {0: 'batch'}},
                      opset_version=opset, dynamo=False)


def _check_shape(input_shape: Sequence[int]) -> List[int]:
    shape = [int(d) for d in input_shape]
    if len(shape) != 3 or min(shape) < 1:
        raise ValueError(f'input_shape={list(input_shape)} must be C H W with positive sizes.')
    return shape


def export_cascade(model, out_dir: str, input_shape: Sequence[int],
                   opset: int = DEFAULT_OPSET, overwrite: bool = False,
                   config: Optional[str] = None) -> dict:
    """Export every stage (and the evaluator head) of a built cascade, and a manifest.

    Each stage becomes ``<stage>.onnx``: raw images ``(batch, C, H, W)``
    float32 -> softmax probabilities, its own data preprocessor folded in
    (:class:`~tinysaver_mm.models.backends.StageGraph`; the constants are
    also in the manifest). The evaluator head, when the cascade has one,
    becomes ``evaluator.onnx``: saver probabilities -> exit score. The batch
    axis is dynamic. Routing stays in Python (``core.route_batch``).

    Args:
        model: A built ``TinySaverClassifier`` (PyTorch backend).
        out_dir (str): Created if missing.
        input_shape (Sequence[int]): ``C H W`` of one raw image.
        opset (int): ONNX opset.
        overwrite (bool): Replace existing files of the same names.
        config (str, optional): Recorded in the manifest.

    Returns:
        dict: The manifest written to ``out_dir/manifest.json``.

    Raises:
        OutputExistsError: If an output exists and ``overwrite`` is False.
        ValueError: If ``input_shape`` is not ``C H W`` with positive sizes.
    """
    import mmpretrain
    import onnx  # noqa: F401  (torch.onnx.export needs it; fail early, by name)

    from tinysaver_mm.utils import check_outputs
    from importlib.metadata import version
    __version__ = version('tinysaver_mm')
    shape = _check_shape(input_shape)
    parts = list(model.stage_names) + (['evaluator'] if model.evaluator is not None else [])
    files = {p: osp.join(out_dir, f'{p}.onnx') for p in parts}
    check_outputs(list(files.values()) + [osp.join(out_dir, MANIFEST_NAME)], overwrite)
    os.makedirs(out_dir, exist_ok=True)
    model = model.eval().cpu()
    example = torch.randint(0, 256, (2, *shape), generator=torch.Generator().manual_seed(0)
                            ).float()
    stages, extra = {}, {}
    with torch.no_grad():
        for role in model.stage_names:
            stage = getattr(model, role)
            export_onnx(StageGraph(stage, role).eval(), example, files[role], opset, 'probs')
            stages[role] = dict(file=f'{role}.onnx', output='probs (batch, num_classes)',
                                preprocess=preprocess_constants(stage))
        if model.evaluator is not None:
            probs = model.stage_probs('saver', example)
            export_onnx(ExitHeadGraph(model.evaluator).eval(), probs, files['evaluator'], opset,
                    'score')
            extra['evaluator'] = dict(file='evaluator.onnx', input='saver probs',
                                      output='exit score (batch,)', type=type(model.evaluator).__name__)
    fingerprints = cascade_fingerprints(model)
    for name, entry in list(stages.items()) + list(extra.items()):
        entry.update(fingerprint=fingerprints[name], sha256=file_sha256(files[name]))
    manifest = dict(
        format=FORMAT, config=config, stages=stages, parts=extra,
        thresholds=[float(t) for t in model._thresholds], exit_rule=model.exit_rule,
        routing='an image exits at the first stage whose exit score >= its threshold '
                '(core.route_batch, in Python)',
        input=dict(shape=['batch'] + shape, dtype='float32', layout='NCHW',
                   values='raw pixels (0-255), before any normalisation'),
        num_classes=model.num_classes, opset=opset,
        versions=dict(torch=torch.__version__, onnx=onnx.__version__,
                      mmpretrain=mmpretrain.__version__, tinysaver_mm=__version__))
    with open(osp.join(out_dir, MANIFEST_NAME), 'w') as f:
        json.dump(manifest, f, indent=1)
    return manifest


def export_det_cascade(model, out_dir: str, input_shape: Sequence[int],
                       opset: int = DEFAULT_OPSET, overwrite: bool = False,
                       config: Optional[str] = None) -> dict:
    """Export every detector of a built ``TinySaverDetector``, and a manifest.

    Each stage becomes ``<stage>.onnx``: the batch its own preprocessor gives
    (normalised, padded; dynamic batch, height and width) -> the head's class
    and box maps and the neck's features per level
    (:class:`~tinysaver_mm.models.backends.DetStageGraph`). What does not
    export stays in Python: each stage's resize and preprocessing, box
    decoding and NMS (``bbox_head.predict_by_feat``), the learned evaluator
    head (a few hundred parameters on the saver's boxes) and the routing.
    Two-stage detectors are refused.

    Args:
        model: A built ``TinySaverDetector`` (PyTorch backend).
        out_dir (str): Created if missing.
        input_shape (Sequence[int]): ``C H W`` of one raw image (the cascade's
            dataloader's output).
        opset (int): ONNX opset.
        overwrite (bool): Replace existing files of the same names.
        config (str, optional): Recorded in the manifest.

    Returns:
        dict: The manifest written to ``out_dir/manifest.json``.

    Raises:
        ValueError: For a two-stage detector, or a bad ``input_shape``.
        OutputExistsError: If an output exists and ``overwrite`` is False.
    """
    import onnx  # noqa: F401  (torch.onnx.export needs it; fail early, by name)

    from tinysaver_mm.models.backends import DetStageGraph
    from tinysaver_mm.utils import check_outputs
    shape = _check_shape(input_shape)
    graphs = {role: DetStageGraph(getattr(model, role), role).eval()
              for role in model.stage_names}  # refuses two-stage detectors before writing
    files = {p: osp.join(out_dir, f'{p}.onnx') for p in model.stage_names}
    check_outputs(list(files.values()) + [osp.join(out_dir, MANIFEST_NAME)], overwrite)
    os.makedirs(out_dir, exist_ok=True)
    model = model.eval().cpu()
    noise = torch.randint(0, 256, shape, generator=torch.Generator().manual_seed(0),
                          dtype=torch.uint8)
    fingerprints = cascade_fingerprints(model, with_evaluator=False)
    stages = {}
    with torch.no_grad():
        for role, graph in graphs.items():
            x, _ = model.branches[role].inputs([noise, noise])
            levels = len(graph(x)) // 3
            names = [f'{k}{i}' for k in ('cls', 'box', 'feat') for i in range(levels)]
            torch.onnx.export(graph, (x, ), files[role], input_names=['input'],
                              output_names=names,
                              dynamic_axes={'input': {0: 'batch', 2: 'height', 3: 'width'},
                                            **{n: {0: 'batch'} for n in names}},
                              opset_version=opset, dynamo=False)
            stages[role] = dict(file=f'{role}.onnx', input='the stage\'s preprocessed batch',
                                output=f'{levels} levels each of class scores, box '
                                'predictions, neck features', fingerprint=fingerprints[role],
                                sha256=file_sha256(files[role]))
    manifest = dict(
        format=FORMAT, task='detection', config=config, stages=stages, parts={},
        thresholds=[float(t) for t in model._thresholds], exit_rule=model.exit_rule,
        in_python='resize + data preprocessor per stage, box decoding + NMS '
                  '(bbox_head.predict_by_feat), the evaluator head, routing',
        input=dict(raw_shape=shape), opset=opset,
        versions=dict(torch=torch.__version__))
    with open(osp.join(out_dir, MANIFEST_NAME), 'w') as f:
        json.dump(manifest, f, indent=1)
    return manifest


def deploy(config: str, out_dir: str, checkpoint: Optional[str] = None,
           input_shape: Optional[Sequence[int]] = None, opset: int = DEFAULT_OPSET,
           overwrite: bool = False, random_weights: bool = False) -> dict:
    """Build a cascade config and export it (:func:`export_cascade`, detection:
    :func:`export_det_cascade`).

    Args:
        config (str): A ``TinySaverClassifier`` or ``TinySaverDetector`` config.
        out_dir (str): Where the ``.onnx`` files and ``manifest.json`` go.
        checkpoint (str, optional): Whole-cascade weights, loaded strictly.
        input_shape (Sequence[int], optional): ``C H W``; by default that of
            the config's first test image.
        opset (int): ONNX opset.
        overwrite (bool): Replace existing outputs.
        random_weights (bool): Ignore the stages' checkpoints (speed only).

    Returns:
        dict: The manifest.
    """
    model = init_deployable(config, checkpoint, random_weights, detection=True)
    cfg = model.cfg
    shape = list(input_shape) if input_shape else probe_input_shape(cfg)
    export = export_det_cascade if cfg.model.type == 'TinySaverDetector' else export_cascade
    return export(model, out_dir, shape, opset, overwrite, config)
