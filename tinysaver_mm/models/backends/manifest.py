"""The deployment manifest: what was exported, and the checks that bind it to a cascade."""
import hashlib
import json
import os.path as osp
from typing import Dict, Mapping

import torch.nn as nn

__all__ = ['MANIFEST_NAME', 'file_sha256', 'load_manifest', 'check_manifest',
           'preprocess_constants']

MANIFEST_NAME = 'manifest.json'
FORMAT = 'tinysaver_mm.deploy/1'


def file_sha256(path: str) -> str:
    """Hex SHA-256 of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, 'rb') as f:
        for chunk in iter(lambda: f.read(1 << 20), b''):
            digest.update(chunk)
    return digest.hexdigest()


def preprocess_constants(model: nn.Module) -> dict:
    """The preprocessing a stage's graph folds in, as plain numbers (for the manifest)."""
    pre = model.data_preprocessor
    normalize = bool(getattr(pre, '_enable_normalize', False))
    flat = (lambda t: [float(v) for v in t.reshape(-1)]) if normalize else (lambda t: None)
    return dict(type=type(pre).__name__, to_rgb=bool(getattr(pre, 'to_rgb', False)),
                mean=flat(getattr(pre, 'mean', None)), std=flat(getattr(pre, 'std', None)),
                folded_into_graph=True)


def load_manifest(deploy_dir: str) -> dict:
    """Read ``deploy_dir/manifest.json`` and check every ONNX file's SHA-256.

    Args:
        deploy_dir (str): A directory written by ``tools/deploy.py``.

    Returns:
        dict: The manifest, with ``stages[*]['path']`` made absolute.

    Raises:
        FileNotFoundError: If the directory, the manifest or an ONNX file is missing.
        ValueError: If the manifest is not one of ours, or an ONNX file's SHA-256
            differs from the manifest's (a changed or swapped file).
    """
    path = osp.join(deploy_dir, MANIFEST_NAME)
    if not osp.isfile(path):
        raise FileNotFoundError(f'deploy_dir={deploy_dir!r} has no {MANIFEST_NAME}; write one '
                                'with tools/deploy.py CONFIG OUT_DIR.')
    with open(path) as f:
        manifest = json.load(f)
    if manifest.get('format') != FORMAT:
        raise ValueError(f'{path} is not a tinysaver_mm deployment manifest (format='
                         f'{manifest.get("format")!r}, expected {FORMAT!r}).')
    for entry in list(manifest['stages'].values()) + list(manifest.get('parts', {}).values()):
        onnx_path = osp.join(deploy_dir, entry['file'])
        if not osp.isfile(onnx_path):
            raise FileNotFoundError(f'{onnx_path} (named in {path}) does not exist; re-run '
                                    'tools/deploy.py.')
        sha = file_sha256(onnx_path)
        if sha != entry['sha256']:
            raise ValueError(f'{onnx_path} has SHA-256 {sha} but {path} records '
                             f'{entry["sha256"]}: the file was changed or swapped after '
                             'export; re-run tools/deploy.py --overwrite.')
        entry['path'] = onnx_path
    return manifest


def check_manifest(manifest: Mapping, fingerprints: Dict[str, str], exit_rule: str,
                   where: str = 'the manifest') -> None:
    """Refuse a manifest written for another cascade.

    Args:
        manifest (Mapping): From :func:`load_manifest`.
        fingerprints (dict[str, str]): Hex ``state_dict_fingerprint`` of each
            stage (and exported part) of the cascade that will run it.
        exit_rule (str): The cascade's exit rule.
        where (str): What to call the manifest in errors.

    Raises:
        ValueError: If the stage names, the exit rule or a fingerprint differ.
    """
    recorded = {**manifest['stages'], **manifest.get('parts', {})}
    if list(manifest['stages']) != [k for k in fingerprints if k in manifest['stages']] or \
            set(recorded) != set(fingerprints):
        raise ValueError(f'{where} has parts {sorted(recorded)} but this cascade has '
                         f'{sorted(fingerprints)}: it was exported from another cascade; '
                         'run tools/deploy.py on this config.')
    if manifest.get('exit_rule') != exit_rule:
        raise ValueError(f'{where} was exported with exit_rule={manifest.get("exit_rule")!r} '
                         f'but the cascade uses {exit_rule!r}.')
    for part, fp in fingerprints.items():
        if recorded[part]['fingerprint'] != fp:
            raise ValueError(f'The {part} of {where} was exported from other weights '
                             f'(fingerprint {recorded[part]["fingerprint"][:16]}... vs this '
                             f'cascade\'s {fp[:16]}...): it belongs to another cascade or '
                             'checkpoint; run tools/deploy.py on this config.')
