"""Safe, strict checkpoint loading (``weights_only=True`` with an allowlist)."""
import os
import os.path as osp
import pickle
import zipfile
from collections import OrderedDict
from typing import Dict, List, Optional, Tuple

import torch
import torch.nn as nn

__all__ = [
    'UnsafeCheckpointError', 'mmengine_safe_globals', 'register_safe_globals', 'load_checkpoint_file',
    'get_state_dict', 'load_state_dict_strict', 'load_checkpoint_strict',
    'publish_checkpoint', 'state_dict_fingerprint', 'fused_form', 'cascade_fingerprints'
]


def _history_buffer_getattr(obj: object, name: str) -> object:
    """Stand-in for ``getattr`` when unpickling: only HistoryBuffer's methods.

    mmengine pickles each ``HistoryBuffer``'s statistics methods (``mean``,
    ``max``...) as ``getattr(HistoryBuffer, 'mean')``. Allowing the real
    ``getattr`` would let a checkpoint reach any attribute of any allowed
    object; this resolves only those registered methods.
    """
    from mmengine.logging.history_buffer import HistoryBuffer
    # the built-in methods are registered lazily (on the first instance)
    allowed = {'min', 'max', 'current', 'mean'} | set(HistoryBuffer._statistics_methods)
    if obj is HistoryBuffer and name in allowed:
        return getattr(HistoryBuffer, name)
    raise pickle.UnpicklingError(
        f'Checkpoint asks for getattr({obj!r}, {name!r}); only '
        'HistoryBuffer statistics methods are allowed.')


def mmengine_safe_globals() -> List[object]:
    """Types found in checkpoints saved by mmengine's Runner.

    These are plain data containers (mmengine's ``HistoryBuffer`` and the
    numpy types its arrays and scalars pickle as), plus a restricted
    ``getattr`` for HistoryBuffer's methods; allowlisting them lets
    ``torch.load(weights_only=True)`` read a Runner checkpoint without ever
    executing arbitrary pickled code.

    Returns:
        list: Objects (or ``(object, pickled name)`` pairs) to pass to
        ``torch.serialization.add_safe_globals``.
    """
    import numpy as np
    from mmengine.logging.history_buffer import HistoryBuffer
    try:
        from numpy._core.multiarray import _reconstruct, scalar
    except ImportError:  # numpy < 2
        from numpy.core.multiarray import _reconstruct, scalar
    dtypes = [type(np.dtype(t)) for t in (
        np.float16, np.float32, np.float64, np.int8, np.int16, np.int32,
        np.int64, np.uint8, np.bool_)]
    return [HistoryBuffer, _reconstruct, scalar, np.ndarray, np.dtype,
            (_history_buffer_getattr, 'builtins.getattr')] + dtypes


def register_safe_globals() -> None:
    """Allowlist mmengine's checkpoint types for ``weights_only`` loading.

    This keeps torch's safe default (``weights_only=True``) in force for every
    ``torch.load`` in the process, including mmengine's own calls in
    ``load_from``/``resume``; nothing is opted out.
    """
    torch.serialization.add_safe_globals(mmengine_safe_globals())


def _resolve(filename: str) -> str:
    """Return a local path, downloading an http(s) URL into torch's hub cache."""
    if filename.startswith(('http://', 'https://')):
        cache_dir = osp.join(torch.hub.get_dir(), 'checkpoints')
        os.makedirs(cache_dir, exist_ok=True)
        local = osp.join(cache_dir, osp.basename(filename.split('?')[0]))
        if not osp.isfile(local):
            torch.hub.download_url_to_file(filename, local, progress=True)
        return local
    if not osp.isfile(filename):
        raise FileNotFoundError(
            f'Checkpoint {filename!r} does not exist. Give an existing .pth '
            'path (relative paths are resolved from the current directory '
            f'{os.getcwd()!r}) or an http(s) URL.')
    return filename


class UnsafeCheckpointError(pickle.UnpicklingError):
    """A checkpoint holds Python objects that torch's safe loader refuses."""


def load_checkpoint_file(filename: str, name: Optional[str] = None) -> dict:
    """Load a checkpoint with ``weights_only=True`` onto the CPU.

    Args:
        filename (str): Local path or http(s) URL.
        name (str, optional): What it is loaded for (e.g. ``'saver'``), for
            error messages.

    Returns:
        dict: The checkpoint as saved (``state_dict`` plus any ``meta``).

    Raises:
        FileNotFoundError: If a local path does not exist.
        UnsafeCheckpointError: If it holds objects beyond weights and
            mmengine's plain types (never loaded: that could run code).
        ValueError: If it is not a PyTorch checkpoint, is damaged, or is not
            a dict.
    """
    register_safe_globals()
    who = f' (the {name}\'s weights)' if name else ''
    path = _resolve(filename)
    try:
        checkpoint = torch.load(path, map_location='cpu', weights_only=True)
    except pickle.UnpicklingError as err:
        text = str(err).lower()
        if not any(k in text for k in ('global', 'asks for getattr', 'unsupported class')):
            raise ValueError(
                f'Checkpoint {filename!r}{who} is not a readable PyTorch checkpoint (not a '
                'pickle of weights): the file is damaged, truncated or of another kind. Give '
                'the .pth file saved by tools/train.py or tools/publish_checkpoint.py.') from None
        lines = [ln for ln in str(err).splitlines() if 'global' in ln.lower() or 'getattr' in ln]
        first = (lines or [type(err).__name__])[0].strip()
        raise UnsafeCheckpointError(
            f'Checkpoint {filename!r}{who} holds Python objects beyond weights, which the safe '
            f'loader refuses ({first[:200]}). It was not loaded. Do not opt out of the safe '
            'loader for a file you did not make; re-save its state_dict with the code that '
            'wrote it (torch.save({"state_dict": model.state_dict()}, path)).') from None
    except (RuntimeError, EOFError, OSError, ValueError, zipfile.BadZipFile) as err:
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise ValueError(
            f'Checkpoint {filename!r}{who} is not a readable PyTorch checkpoint ({first[:200]}): '
            'the file is damaged, truncated or of another kind. Give the .pth file saved by '
            'tools/train.py or tools/publish_checkpoint.py.') from None
    if not isinstance(checkpoint, dict):
        raise ValueError(f'Checkpoint {filename!r}{who} holds a {type(checkpoint).__name__}, not '
                         'a dict of weights; give a .pth saved with torch.save(state_dict).')
    return checkpoint


def get_state_dict(checkpoint: dict) -> Dict[str, torch.Tensor]:
    """Return the weights of a checkpoint, without a DDP ``module.`` prefix.

    Args:
        checkpoint (dict): A loaded checkpoint, either ``{'state_dict': ...}``
            or a bare state dict.

    Returns:
        dict: Parameter name to tensor.
    """
    state = checkpoint.get('state_dict', checkpoint)
    return OrderedDict((k[7:] if k.startswith('module.') else k, v)
                       for k, v in state.items())


def _with_legacy_defaults(module: nn.Module, state_dict: Dict[str, torch.Tensor]
                          ) -> Dict[str, torch.Tensor]:
    """Fill buffers that checkpoints from before they existed lack, with the value
    those checkpoints meant (a submodule's ``legacy_state_defaults``)."""
    filled = None
    for prefix, sub in module.named_modules():
        for key, value in (getattr(sub, 'legacy_state_defaults', None) or {}).items():
            full = f'{prefix}.{key}' if prefix else key
            if full not in state_dict:
                filled = dict(state_dict) if filled is None else filled
                filled[full] = value.clone()
    return state_dict if filled is None else filled


def load_state_dict_strict(module: nn.Module, state_dict: Dict[str, torch.Tensor],
                           source: str, name: Optional[str] = None) -> None:
    """Load weights, refusing any missing or unexpected key or bad shape.

    Args:
        module (nn.Module): The model to load into.
        state_dict (dict): Weights to load.
        source (str): Where the weights come from, for the error message.
        name (str, optional): What the module is (e.g. ``'saver'``).

    Raises:
        ValueError: On missing or unexpected keys or mismatched shapes; the
            message lists the first few of each.
    """
    own = module.state_dict()
    state_dict = _with_legacy_defaults(module, state_dict)
    missing = sorted(set(own) - set(state_dict))
    unexpected = sorted(set(state_dict) - set(own))
    shapes = [f'{k}: checkpoint {tuple(state_dict[k].shape)} vs model '
              f'{tuple(own[k].shape)}' for k in sorted(set(own) & set(state_dict))
              if tuple(own[k].shape) != tuple(state_dict[k].shape)]
    if missing or unexpected or shapes:
        who = f' for the {name}' if name else ''
        lines = [f'Checkpoint {source!r} does not match the model{who} '
                 f'({type(module).__name__}); nothing was loaded.']
        for title, items in (('missing keys', missing),
                             ('unexpected keys', unexpected),
                             ('shape mismatches', shapes)):
            if items:
                more = f' (+{len(items) - 5} more)' if len(items) > 5 else ''
                lines.append(f'  {len(items)} {title}: {items[:5]}{more}')
        lines.append('  Fix: use the checkpoint trained with this model config '
                     '(same architecture and num_classes), or the config that '
                     'matches the checkpoint.')
        raise ValueError('\n'.join(lines))
    module.load_state_dict(state_dict, strict=True)


def load_checkpoint_strict(module: nn.Module, filename: str,
                           name: Optional[str] = None) -> dict:
    """Load a checkpoint file strictly into ``module``.

    Args:
        module (nn.Module): The model to load into.
        filename (str): Local path or http(s) URL.
        name (str, optional): What the module is, for error messages.

    Returns:
        dict: The loaded checkpoint (e.g. to read its ``meta``).
    """
    checkpoint = load_checkpoint_file(filename, name)
    load_state_dict_strict(module, get_state_dict(checkpoint), filename, name)
    return checkpoint


def publish_checkpoint(src: str, dst: str, overwrite: bool = False) -> dict:
    """Save only the weights (and a little meta) of a training checkpoint.

    Args:
        src (str): A checkpoint saved by mmengine's Runner.
        dst (str): Where to write ``{'state_dict': ..., 'meta': ...}``.
        overwrite (bool): Replace ``dst`` when it exists.

    Returns:
        dict: The meta written (source file, epoch, iteration, and the
        ``dataset_meta`` (class names) when the Runner saved one).

    Raises:
        ValueError: If ``dst`` is ``src`` (stripping a training checkpoint in
            place would lose its optimizer state), or ``src`` is no checkpoint.
        OutputExistsError: If ``dst`` exists and ``overwrite`` is False.
    """
    from .outputs import check_outputs
    check_outputs([dst], overwrite, [src])
    checkpoint = load_checkpoint_file(src)
    meta = checkpoint.get('meta', {})
    meta = dict(source=osp.basename(src), epoch=meta.get('epoch'),
                iter=meta.get('iter'),
                **({'dataset_meta': meta['dataset_meta']} if meta.get('dataset_meta') else {}))
    os.makedirs(osp.dirname(osp.abspath(dst)), exist_ok=True)
    torch.save(dict(state_dict=get_state_dict(checkpoint), meta=meta), dst)
    return meta


def state_dict_fingerprint(module: nn.Module) -> bytes:
    """SHA-256 of a module's weights (names, dtypes, shapes and values).

    Identifies the exact model an evaluator head was trained for, whatever
    file or path its weights came from.

    Args:
        module (nn.Module): The model.

    Returns:
        bytes: 32-byte digest.
    """
    import hashlib
    import warnings
    digest = hashlib.sha256()
    with warnings.catch_warnings():  # inside a jit trace: reading values is what we want
        warnings.simplefilter('ignore', torch.jit.TracerWarning)
        for key, value in sorted(module.state_dict().items()):
            digest.update(key.encode())
            if isinstance(value, torch.Tensor):
                t = value.detach().cpu().contiguous().reshape(-1)
                shape = tuple(int(d) for d in t.shape)  # traced sizes are tensors
                digest.update(f'{t.dtype}{shape}'.encode())
                digest.update(_raw_bytes(t) if t.numel() else b'')
    return digest.digest()


def fused_form(module: nn.Module, probe_size: int = 64) -> Tuple[bytes, Optional[float]]:
    """The fingerprint of a model with its BatchNorm folded, and whether folding kept it.

    mmcv's ``fuse_conv_bn`` (what ``--fuse-conv-bn`` runs) is applied to a
    copy in eval mode: a model and its BN-fused form get the same digest,
    since fusing a fused model changes nothing. Folding is exact maths for a
    conv followed by its own BatchNorm, but not for a conv shared by several
    BatchNorms (e.g. RTMDet's head, ``share_conv=True``: the shared conv is
    folded once per BatchNorm), so both are also run (tensor mode) on one
    fixed noise image and their largest output difference is returned.

    Args:
        module (nn.Module): The model (not modified).
        probe_size (int): Height and width of the probe image.

    Returns:
        tuple: The fused form's 32-byte digest, and the largest absolute
        output difference relative to the largest output (None when the
        probe could not run the model).
    """
    import copy
    from mmcv.cnn import fuse_conv_bn
    fused = fuse_conv_bn(copy.deepcopy(module).eval())
    digest = state_dict_fingerprint(fused)
    conv = next((m for m in module.modules() if isinstance(m, nn.Conv2d)), None)
    if conv is None:
        return digest, 0.0
    x = torch.randn(1, conv.in_channels, probe_size, probe_size,
                    generator=torch.Generator().manual_seed(0)).to(conv.weight.device)

    def flat(out) -> torch.Tensor:
        if isinstance(out, torch.Tensor):
            return out.detach().float().reshape(-1)
        if isinstance(out, dict):
            out = list(out.values())
        return torch.cat([flat(o) for o in out]) if out else torch.zeros(0)

    try:
        with torch.no_grad():
            own, folded = flat(module(x, mode='tensor')), flat(fused(x, mode='tensor'))
    except Exception:  # a model without a plain tensor mode: nothing to compare
        return digest, None
    if own.shape != folded.shape or not own.numel():
        return digest, None
    return digest, float((own - folded).abs().max() / own.abs().max().clamp_min(1e-12))


def _raw_bytes(t: torch.Tensor) -> bytes:
    """A contiguous tensor's memory as bytes (the same inside and outside a jit trace,
    where ``Tensor.view(dtype)`` cannot be traced)."""
    try:
        return t.numpy().tobytes()
    except TypeError:  # a dtype numpy lacks (bfloat16...): reinterpret as bytes
        return t.view(torch.uint8).numpy().tobytes()


def cascade_fingerprints(cascade: nn.Module, with_evaluator: bool = True) -> dict:
    """Hex :func:`state_dict_fingerprint` of each stage (and the evaluator, if any).

    Args:
        cascade (nn.Module): A cascade with ``stage_names``.
        with_evaluator (bool): Include the ``evaluator`` part when it has one.

    Returns:
        dict[str, str]: Part name to hex digest.
    """
    parts = list(cascade.stage_names)
    if with_evaluator and getattr(cascade, 'evaluator', None) is not None:
        parts.append('evaluator')
    return {p: state_dict_fingerprint(getattr(cascade, p)).hex() for p in parts}
