"""Export a cascade's stages to ONNX (``tools/deploy.py``): classification, detection, segmentation."""
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
           'export_det_cascade', 'export_seg_cascade', 'deploy',
           'probe_input_shape']

DEFAULT_OPSET = 17


DEPLOYABLE = {'TinySaverClassifier': 'mmpretrain', 'TinySaverDetector': 'mmdet',
              'TinySaverSegmentor': 'mmseg'}


def init_deployable(config: str, checkpoint: Optional[str] = None,
                    random_weights: bool = False, detection: bool = False,
                    segmentation: bool = False):
    """A cascade that has an ONNX export, built by :func:`init_cascade` (PyTorch).

    Args:
        config (str): A ``TinySaverClassifier`` config (or, with
            ``detection``/``segmentation``, also a ``TinySaverDetector`` /
            ``TinySaverSegmentor`` one).
        checkpoint (str, optional): Whole-cascade weights, loaded strictly.
        random_weights (bool): Ignore the stages' checkpoints.
        detection (bool): Accept detection cascades too.
        segmentation (bool): Accept segmentation cascades too.

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
    accepted = ['TinySaverClassifier'] + (['TinySaverDetector'] if detection else []) + (
        ['TinySaverSegmentor'] if segmentation else [])
    if kind not in accepted:
        what = '' if len(accepted) > 1 else 'classification '
        raise TypeError(f'{config} is not a {what}cascade config (model type {kind!r}); give a '
                        f'{" or ".join(accepted)} config.')
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

    def export_one(role, graph, noise, path):
        x, _ = model.branches[role].inputs([noise, noise])
        levels = len(graph(x)) // 3
        names = [f'{k}{i}' for k in ('cls', 'box', 'feat') for i in range(levels)]
        torch.onnx.export(graph, (x, ), path, input_names=['input'], output_names=names,
                          dynamic_axes={'input': {0: 'batch', 2: 'height', 3: 'width'},
                                        **{n: {0: 'batch'} for n in names}},
                          opset_version=opset, dynamo=False)
        return dict(file=f'{role}.onnx', input='the stage\'s preprocessed batch',
                    output=f'{levels} levels each of class scores, box predictions, neck '
                    'features')

    stages, shape = _export_stage_graphs(model, out_dir, input_shape, overwrite, DetStageGraph,
                                         export_one)
    return _write_manifest(out_dir, dict(
        format=FORMAT, task='detection', config=config, stages=stages, parts={},
        thresholds=[float(t) for t in model._thresholds], exit_rule=model.exit_rule,
        in_python='resize + data preprocessor per stage, box decoding + NMS '
                  '(bbox_head.predict_by_feat), the evaluator head, routing',
        input=dict(raw_shape=shape), opset=opset,
        versions=dict(torch=torch.__version__)))


def _export_stage_graphs(model, out_dir: str, input_shape: Sequence[int], overwrite: bool,
                         graph_type, export_one) -> tuple:
    """Export each stage of a built cascade as ``<stage>.onnx`` (detection, segmentation).

    Every stage's graph is built first (``graph_type(stage, role)`` refuses
    what does not export) before anything is written.

    Args:
        model: The built cascade (PyTorch backend).
        out_dir (str): Created if missing.
        input_shape (Sequence[int]): ``C H W`` of one raw image.
        overwrite (bool): Replace existing files of the same names.
        graph_type (type): The stage graph module (e.g. ``DetStageGraph``).
        export_one (callable): ``(role, graph, raw noise image, path) -> manifest
            entry``: exports one graph.

    Returns:
        tuple: The manifest's ``stages`` (each entry with the stage's
        ``fingerprint`` and the file's ``sha256``) and the checked shape.

    Raises:
        OutputExistsError: If an output exists and ``overwrite`` is False.
        ValueError: If ``input_shape`` is not ``C H W`` with positive sizes.
    """
    from tinysaver_mm.utils import check_outputs
    shape = _check_shape(input_shape)
    graphs = {role: graph_type(getattr(model, role), role).eval() for role in model.stage_names}
    files = {p: osp.join(out_dir, f'{p}.onnx') for p in model.stage_names}
    check_outputs(list(files.values()) + [osp.join(out_dir, MANIFEST_NAME)], overwrite)
    os.makedirs(out_dir, exist_ok=True)
    model.eval().cpu()
    noise = torch.randint(0, 256, shape, generator=torch.Generator().manual_seed(0),
                          dtype=torch.uint8)
    fingerprints = cascade_fingerprints(model, with_evaluator=False)
    stages = {}
    with torch.no_grad():
        for role, graph in graphs.items():
            stages[role] = dict(export_one(role, graph, noise, files[role]),
                                fingerprint=fingerprints[role], sha256=file_sha256(files[role]))
    return stages, shape


def _write_manifest(out_dir: str, manifest: dict) -> dict:
    """Write ``out_dir/manifest.json`` and return the manifest."""
    with open(osp.join(out_dir, MANIFEST_NAME), 'w') as f:
        json.dump(manifest, f, indent=1)
    return manifest


def _seg_preprocess(stage) -> dict:
    """A segmentor's preprocessing (done in Python before its graph), for the manifest."""
    pre = stage.data_preprocessor
    flat = (lambda t: None if t is None else [float(v) for v in t.reshape(-1)])
    return dict(type=type(pre).__name__, bgr_to_rgb=bool(getattr(pre, 'channel_conversion', False)),
                mean=flat(getattr(pre, 'mean', None)), std=flat(getattr(pre, 'std', None)),
                test_cfg=dict(getattr(pre, 'test_cfg', None) or {}), folded_into_graph=False)


def export_seg_cascade(model, out_dir: str, input_shape: Sequence[int],
                       opset: int = DEFAULT_OPSET, overwrite: bool = False,
                       config: Optional[str] = None) -> dict:
    """Export every segmentor of a built ``TinySaverSegmentor``, and a manifest.

    Each stage becomes ``<stage>.onnx``: the batch its own preprocessor gives
    (normalised, padded; in slide mode one crop; dynamic batch, height and
    width) -> its decode head's logits at the head's resolution
    (:class:`~tinysaver_mm.models.backends.SegStageGraph`). mmseg's own
    whole/slide inference runs around the graph in Python (the logits'
    resize, the crops and their average, unpadding, resize to the original
    size, argmax), as do each stage's preprocessor, the exit rule or the
    evaluator head, and the routing.

    Args:
        model: A built ``TinySaverSegmentor`` (PyTorch backend).
        out_dir (str): Created if missing.
        input_shape (Sequence[int]): ``C H W`` of one raw image (the cascade's
            dataloader's output).
        opset (int): ONNX opset.
        overwrite (bool): Replace existing files of the same names.
        config (str, optional): Recorded in the manifest.

    Returns:
        dict: The manifest written to ``out_dir/manifest.json``.

    Raises:
        ValueError: For a cascade-decoder segmentor, or a bad ``input_shape``.
        OutputExistsError: If an output exists and ``overwrite`` is False.
    """
    import onnx  # noqa: F401  (torch.onnx.export needs it; fail early, by name)

    from tinysaver_mm.models.backends import SegStageGraph

    def export_one(role, graph, noise, path):
        stage = getattr(model, role)
        x, _ = model.stage_inputs(role, [noise, noise])
        test_cfg = dict(stage.test_cfg)
        if test_cfg.get('mode', 'whole') == 'slide':  # the graph sees one crop at a time
            x = x[..., :test_cfg['crop_size'][0], :test_cfg['crop_size'][1]]
        torch.onnx.export(graph, (x, ), path, input_names=['input'], output_names=['seg_logits'],
                          dynamic_axes={'input': {0: 'batch', 2: 'height', 3: 'width'},
                                        'seg_logits': {0: 'batch', 2: 'out_height',
                                                       3: 'out_width'}},
                          opset_version=opset, dynamo=False)
        return dict(file=f'{role}.onnx',
                    input="the stage's preprocessed batch (a crop in slide mode)",
                    output="decode-head logits (batch, num_classes, h, w) at the head's "
                    'resolution', test_cfg=test_cfg, align_corners=bool(stage.align_corners),
                    preprocess=_seg_preprocess(stage), settings=model.exit_settings[role])

    stages, shape = _export_stage_graphs(model, out_dir, input_shape, overwrite, SegStageGraph,
                                         export_one)
    return _write_manifest(out_dir, dict(
        format=FORMAT, task='segmentation', config=config, stages=stages, parts={},
        thresholds=[float(t) for t in model._thresholds], exit_rule=model.exit_rule,
        in_python="data preprocessor per stage, mmseg's whole/slide inference around the graph "
                  '(logit resize, crops and their average, unpadding, resize, argmax), the exit '
                  'rule or evaluator head, routing',
        input=dict(raw_shape=shape), opset=opset,
        versions=dict(torch=torch.__version__, onnx=onnx.__version__)))


def deploy(config: str, out_dir: str, checkpoint: Optional[str] = None,
           input_shape: Optional[Sequence[int]] = None, opset: int = DEFAULT_OPSET,
           overwrite: bool = False, random_weights: bool = False) -> dict:
    """Build a cascade config and export it (:func:`export_cascade`, detection:
    :func:`export_det_cascade`, segmentation: :func:`export_seg_cascade`).

    Args:
        config (str): A ``TinySaverClassifier``, ``TinySaverDetector`` or
            ``TinySaverSegmentor`` config.
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
    model = init_deployable(config, checkpoint, random_weights, detection=True,
                            segmentation=True)
    cfg = model.cfg
    shape = list(input_shape) if input_shape else probe_input_shape(cfg)
    export = dict(TinySaverDetector=export_det_cascade,
                  TinySaverSegmentor=export_seg_cascade).get(cfg.model.type, export_cascade)
    return export(model, out_dir, shape, opset, overwrite, config)
