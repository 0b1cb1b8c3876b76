"""Bind a cascade to its deployed stages (the sessions that run them)."""
import logging
from typing import Dict, Optional

from mmengine.logging import print_log

from tinysaver_mm.utils import cascade_fingerprints

from .manifest import check_manifest, load_manifest
from .onnx_stage import OnnxStage

__all__ = ['BACKENDS', 'deployed_parts']

BACKENDS = ('pytorch', 'onnxruntime')


def deployed_parts(cascade, backend: str, deploy_dir: Optional[str],
                   with_evaluator: bool = True) -> Dict[str, OnnxStage]:
    """The deployed runner of each part of ``cascade`` under ``backend``.

    Args:
        cascade: A built cascade (its PyTorch stages loaded).
        backend (str): One of :data:`BACKENDS`.
        deploy_dir (str, optional): Written by ``tools/deploy.py``; needed
            for ``'onnxruntime'``.
        with_evaluator (bool): Whether the learned exit head is exported too
            (classification); detection keeps it in PyTorch.

    Returns:
        dict[str, OnnxStage]: Empty for ``'pytorch'``; else one per stage and
        exported part.

    Raises:
        ValueError: On an unknown backend, a missing ``deploy_dir``, or a
            manifest that does not match this cascade or its files.
        ImportError: If onnxruntime is not installed.
    """
    if backend not in BACKENDS:
        raise ValueError(f'backend={backend!r} is unknown; choose one of {list(BACKENDS)}.')
    if backend == 'pytorch':
        if deploy_dir is not None:
            print_log(f'deploy_dir={deploy_dir!r} is not used with backend=\'pytorch\'; set '
                      "backend='onnxruntime' to run it.", 'current', logging.WARNING)
        return {}
    if deploy_dir is None:
        raise ValueError("backend='onnxruntime' needs deploy_dir=... (a directory written by "
                         'tools/deploy.py CONFIG OUT_DIR).')
    from .onnx_stage import import_onnxruntime
    import_onnxruntime()  # say what is missing before anything is read
    manifest = load_manifest(deploy_dir)
    task, mine = manifest.get('task', 'classification'), getattr(cascade, 'deploy_task',
                                                                 'classification')
    if task != mine:
        raise ValueError(f'{deploy_dir} is a {task} export but {type(cascade).__name__} is a '
                         f'{mine} cascade; run tools/deploy.py on this config.')
    check_manifest(manifest, cascade_fingerprints(cascade, with_evaluator), cascade.exit_rule,
                   f'the manifest of {deploy_dir}')
    thresholds = [float(t) for t in cascade._thresholds]
    if manifest.get('thresholds') != thresholds:
        print_log(f'The cascade\'s thresholds {thresholds} differ from the exported '
                  f'{manifest.get("thresholds")}; the cascade\'s are used (routing is not '
                  'in the graphs).', 'current', logging.INFO)
    entries = {**manifest['stages'], **manifest.get('parts', {})}
    return {name: OnnxStage(e['path'], name) for name, e in entries.items()}
