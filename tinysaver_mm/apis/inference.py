"""Build a TinySaver cascade from its config, as mmdet's ``init_detector`` builds a detector.

:func:`init_cascade` is the one place in ``tinysaver_mm.apis`` and ``tools/``
that turns a config into a cascade: recording, deployment, merging, the
benchmarks and the demo all build through it. A serving application builds
its model the same way::

    from tinysaver_mm.apis import init_cascade
    model = init_cascade('configs/fashion_mnist/tinysaver_resnet18-w4s2_resnet18-w16_fmnist.py')
    samples = model.test_step({'inputs': images, 'data_samples': None})
"""
import copy
import logging
from typing import Optional, Union

from mmengine.config import Config

__all__ = ['CASCADE_HOSTS', 'cascade_scope', 'init_cascade']

#: cascade model type -> the host library whose registry and scope build it
CASCADE_HOSTS = {
    'TinySaverClassifier': 'mmpretrain',
    'TinySaverESN': 'mmpretrain',
    'TinySaverDetector': 'mmdet',
    'TinySaverSegmentor': 'mmseg',
}


def cascade_scope(cfg: Config, what: Optional[str] = None) -> str:
    """The registry scope a cascade config builds in: its ``default_scope``,
    else the host library of its model type.

    Args:
        cfg (Config): A cascade config.
        what (str, optional): How to name the config in an error (its path).

    Returns:
        str: E.g. ``'mmpretrain'``, ``'mmdet'``, ``'mmseg'``.

    Raises:
        TypeError: If the config's model is not a TinySaver cascade (naming
            its type).
    """
    model = cfg.get('model') or {}
    kind = model.get('type')
    if kind not in CASCADE_HOSTS:
        raise TypeError(f'{what or "the config"}: model type {kind!r} is not a TinySaver '
                        f'cascade (one of {sorted(CASCADE_HOSTS)}); give a cascade config, '
                        'e.g. configs/fashion_mnist/tinysaver_*.py.')
    return cfg.get('default_scope') or CASCADE_HOSTS[kind]


def _set_backend(model_cfg: dict, backend: str, deploy_dir: Optional[str], what: str) -> None:
    """Put ``backend``/``deploy_dir`` into a cascade's model config (as ``tools/test.py
    --cfg-options model.backend=... model.deploy_dir=...`` does), in place; a
    different value in the config is announced. The cascade itself refuses a
    backend it does not have (the ESN runs on PyTorch only).
    """
    had = (model_cfg.get('backend', 'pytorch'), model_cfg.get('deploy_dir'))
    if had != (backend, deploy_dir):
        from mmengine.logging import print_log
        print_log(f'{what}: the config\'s model.backend={had[0]!r}, model.deploy_dir='
                  f'{had[1]!r} are replaced by backend={backend!r}, deploy_dir={deploy_dir!r} '
                  'given to init_cascade.', 'current', logging.WARNING)
    model_cfg.update(backend=backend, deploy_dir=deploy_dir)


def init_cascade(config: Union[str, Config], checkpoint: Optional[str] = None,
                 cfg_options: Optional[dict] = None, backend: str = 'pytorch',
                 deploy_dir: Optional[str] = None, random_weights: bool = False,
                 device: str = 'cpu'):
    """Build a TinySaver cascade from a config, ready for inference.

    The shape of mmdet's ``init_detector``: the config (a path is read
    through :func:`~tinysaver_mm.apis.load_cfg`, with its checks; a
    ``Config`` is copied, never changed), ``cfg_options`` merged, the model
    built in its host's registry scope (:func:`cascade_scope`) as the Runner
    would build it (a top-level ``data_preprocessor`` merged in), the
    whole-cascade weights loaded strictly, the backend set, eval mode. Each
    stage still loads its own ``checkpoint=`` from its spec when built.

    Like ``init_detector``, it leaves the host's scope as the current default
    scope (``init_default_scope``), so a dataloader built next finds the
    host's transforms. To keep the caller's scope, call it inside
    ``DefaultScope.overwrite_default_scope(cascade_scope(cfg))``.

    Args:
        config (str | Config): A cascade config (``TinySaverClassifier``,
            ``TinySaverESN``, ``TinySaverDetector``, ``TinySaverSegmentor``).
        checkpoint (str, optional): Weights of the whole cascade
            (``tools/merge_cascade.py``, or a Runner checkpoint), loaded
            strictly: every key must match.
        cfg_options (dict, optional): ``--cfg-options`` overrides, e.g.
            ``{'model.threshold': 0.9}``.
        backend (str): How the stages run: ``'pytorch'`` or ``'onnxruntime'``
            (then ``deploy_dir`` names a ``tools/deploy.py`` folder). They
            replace the config's ``model.backend``/``model.deploy_dir`` (a
            different value there is announced). Cascades without another
            backend (the ESN) accept only ``'pytorch'``.
        deploy_dir (str, optional): The exported stages, for ``'onnxruntime'``.
        random_weights (bool): Do not load the stages' own checkpoints
            (speed does not depend on the weights); the evaluator's and
            ``checkpoint`` still load.
        device (str): Where the model goes (``'cpu'``, ``'cuda'``...).

    Returns:
        nn.Module: The cascade in eval mode, with the config it was built
        from as ``model.cfg``.

    Raises:
        FileNotFoundError: If ``config`` is a path that does not exist.
        TypeError: If ``config`` is neither a path nor a ``Config``, or its
            model is not a TinySaver cascade (naming the type).
        ValueError: On a backend the cascade does not have, or a checkpoint
            that does not fit the cascade.
    """
    from mmengine.registry import MODELS, init_default_scope
    from mmengine.utils import import_modules_from_strings

    from tinysaver_mm.utils import load_checkpoint_strict, model_cfg_of
    from .runner import load_cfg
    if isinstance(config, str):
        what = config
        cfg = load_cfg(config, cfg_options)
    elif isinstance(config, Config):
        what = config.filename or 'the config'
        cfg = copy.deepcopy(config)
        if cfg_options:
            cfg.merge_from_dict(cfg_options)
    else:
        raise TypeError(f'config must be a file path or a Config, got {type(config).__name__}.')
    scope = cascade_scope(cfg, what)
    if cfg.get('custom_imports'):
        import_modules_from_strings(**cfg.custom_imports)
    if random_weights:
        for spec in [cfg.model.saver, cfg.model.base, *(cfg.model.get('mids') or [])]:
            spec['checkpoint'] = None
    model_cfg = model_cfg_of(cfg)
    init_default_scope(scope)
    with MODELS.switch_scope_and_registry(scope) as registry:
        _set_backend(model_cfg, backend, deploy_dir, what)
        model = registry.build(model_cfg)
    if checkpoint:
        load_checkpoint_strict(model, checkpoint)
    model.cfg = cfg
    return model.to(device).eval()
