"""Serving options: the config's ``serving`` dict, then the builder's arguments.

A cascade config may carry (every key optional; defaults below)::

    serving = dict(
        deployments=dict(                 # one entry per routing step: saver, mid0..., base
            saver=dict(num_replicas=1, ray_actor_options=dict(num_cpus=1),
                       max_ongoing_requests=64, max_queued_requests=256,
                       max_batch_size=16, batch_wait_timeout_s=0.002),  # images of many requests
            base=dict(num_replicas=1, ray_actor_options=dict(num_cpus=1),
                      max_batch_size=16, batch_wait_timeout_s=0.005)),
        limits=dict(max_pixels=4096 * 4096, max_body_bytes=32 * 2**20, max_images=64),
        stage_timeout_s=30.0,             # a saver replica waits this long for a later stage
        drift=dict(calibration=None, shift=0.05, false_alarms_per_10k=0.1))

``autoscaling_config`` (Ray's dict) replaces ``num_replicas``. The
builder's arguments (``serve run tinysaver_mm.serving:build_app config=CFG
key=value ...``) override them; :data:`BUILD_ARGS` lists them.
"""
import copy
from typing import Any, Dict, Mapping, Optional, Sequence

__all__ = ['BUILD_ARGS', 'DEPLOYMENT_KEYS', 'BATCH_KEYS', 'serving_options', 'stage_names_of',
           'parse_build_args']

DEPLOYMENT_KEYS = ('num_replicas', 'ray_actor_options', 'autoscaling_config',
                   'max_ongoing_requests', 'max_queued_requests')
BATCH_KEYS = ('max_batch_size', 'batch_wait_timeout_s')
TOP_KEYS = ('deployments', 'limits', 'stage_timeout_s', 'drift')
LIMIT_KEYS = ('max_pixels', 'max_body_bytes', 'max_images')
DRIFT_KEYS = ('calibration', 'shift', 'false_alarms_per_10k')

SAVER_DEFAULTS = dict(num_replicas=1, ray_actor_options=dict(num_cpus=1),
                      max_ongoing_requests=64, max_queued_requests=256,
                      max_batch_size=16, batch_wait_timeout_s=0.002)
LATER_DEFAULTS = dict(num_replicas=1, ray_actor_options=dict(num_cpus=1),
                      max_ongoing_requests=1024, max_queued_requests=-1,
                      max_batch_size=16, batch_wait_timeout_s=0.005)

#: builder argument -> what it sets (all given as strings by ``serve run``)
BUILD_ARGS = {
    'config': 'the cascade config (required)',
    'checkpoint': 'whole-cascade weights (tools/merge_cascade.py), optional',
    'backend': "'pytorch' (default) or 'onnxruntime'",
    'deploy_dir': "the tools/deploy.py folder, with backend='onnxruntime'",
    'random_weights': "'true' to skip the stages' own checkpoints (benchmarks only)",
    'saver_replicas': 'replicas of the saver deployment',
    'base_replicas': 'replicas of the base deployment',
    'max_batch_size': "the base's @serve.batch max batch size (images)",
    'batch_wait_timeout_s': "the base's @serve.batch wait (seconds)",
    'saver_max_batch_size': "the saver's @serve.batch max batch size (images of many requests)",
    'saver_batch_wait_timeout_s': "the saver's @serve.batch wait (seconds)",
    'max_ongoing_requests': "the saver's max_ongoing_requests",
    'max_queued_requests': "the saver's max_queued_requests",
    'max_pixels': 'pixels per image above which it is refused (413)',
    'stage_timeout_s': 'seconds a saver replica waits for a later stage (then 503)',
    'calibration': 'a tools/calibrate.py JSON with a drift reference (enables the drift test)',
}


def stage_names_of(cfg) -> list:
    """Routing steps of a cascade config, saver first: saver, mid0..., base."""
    mids = cfg.model.get('mids') or []
    return ['saver'] + [f'mid{i}' for i in range(len(mids))] + ['base']


def _check_keys(given: Mapping, allowed: Sequence[str], where: str) -> None:
    bad = sorted(set(given) - set(allowed))
    if bad:
        raise ValueError(f'{where} has unknown keys {bad}; allowed: {list(allowed)}.')


def _whole(value: Any, name: str, minimum: int = 1) -> int:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ValueError(f'{name}={value!r} must be a whole number >= {minimum}.') from None
    if number != int(number) or number < minimum:
        raise ValueError(f'{name}={value!r} must be a whole number >= {minimum}.')
    return int(number)


def _positive(value: Any, name: str) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ValueError(f'{name}={value!r} must be a number >= 0.') from None
    if not number >= 0:
        raise ValueError(f'{name}={value!r} must be a number >= 0.')
    return number


#: builder argument -> (deployment, option, parser)
_DEPLOYMENT_ARGS = {
    'saver_replicas': ('saver', 'num_replicas', _whole),
    'base_replicas': ('base', 'num_replicas', _whole),
    'max_batch_size': ('base', 'max_batch_size', _whole),
    'batch_wait_timeout_s': ('base', 'batch_wait_timeout_s', _positive),
    'saver_max_batch_size': ('saver', 'max_batch_size', _whole),
    'saver_batch_wait_timeout_s': ('saver', 'batch_wait_timeout_s', _positive),
    'max_ongoing_requests': ('saver', 'max_ongoing_requests', _whole),
    'max_queued_requests': ('saver', 'max_queued_requests',
                            lambda value, name: _whole(value, name, -1)),
}


def parse_build_args(args: Mapping[str, Any]) -> Dict[str, Any]:
    """Check the builder's arguments (strings from ``serve run``, or values).

    Returns:
        dict: ``build`` (``init_cascade`` keyword arguments) and
        ``overrides`` (serving options).

    Raises:
        ValueError: On a missing ``config``, an unknown argument (naming the
            known ones) or a bad value.
    """
    args = dict(args)
    bad = sorted(set(args) - set(BUILD_ARGS))
    if bad:
        raise ValueError(f'Unknown build_app argument(s) {bad}; known: ' + ', '.join(
            f'{k} ({v})' for k, v in BUILD_ARGS.items()))
    if not args.get('config'):
        raise ValueError('build_app needs config=CFG (a cascade config file).')
    random = str(args.get('random_weights', 'false')).lower()
    if random not in ('true', 'false', '1', '0'):
        raise ValueError(f"random_weights={args['random_weights']!r} must be 'true' or 'false'.")
    build = dict(config=str(args['config']), checkpoint=args.get('checkpoint') or None,
                 backend=str(args.get('backend') or 'pytorch'),
                 deploy_dir=args.get('deploy_dir') or None,
                 random_weights=random in ('true', '1'))
    over: Dict[str, Any] = {}
    for key, (role, option, parse) in _DEPLOYMENT_ARGS.items():
        if args.get(key) is not None:
            over.setdefault('deployments', {}).setdefault(role, {})[option] = \
                parse(args[key], key)
    if args.get('max_pixels') is not None:
        over['limits'] = dict(max_pixels=_whole(args['max_pixels'], 'max_pixels'))
    if args.get('stage_timeout_s') is not None:
        over['stage_timeout_s'] = _positive(args['stage_timeout_s'], 'stage_timeout_s')
    if args.get('calibration'):
        over['drift'] = dict(calibration=str(args['calibration']))
    return dict(build=build, overrides=over)


def serving_options(cfg, overrides: Optional[Mapping] = None) -> dict:
    """The serving options of a config, checked, with ``overrides`` on top.

    Args:
        cfg (Config): The cascade config (its optional ``serving`` dict).
        overrides (Mapping, optional): The same layout, e.g. from
            :func:`parse_build_args`.

    Returns:
        dict: ``deployments`` (role -> Ray deployment options),
        ``batch`` (role -> ``@serve.batch`` options, in images), ``limits``,
        ``stage_timeout_s`` and ``drift``.

    Raises:
        ValueError: On an unknown key or stage name, or a bad value.
    """
    given = copy.deepcopy(dict(cfg.get('serving') or {}))
    _check_keys(given, TOP_KEYS, 'serving')
    for key, value in (overrides or {}).items():
        if key == 'deployments':
            for role, opts in value.items():
                given.setdefault('deployments', {}).setdefault(role, {}).update(opts)
        elif isinstance(value, Mapping):
            given.setdefault(key, {}).update(value)
        else:
            given[key] = value
    _check_keys(given, TOP_KEYS, 'serving (with the builder\'s arguments)')
    roles = stage_names_of(cfg)
    deps = dict(given.get('deployments') or {})
    _check_keys(deps, roles, 'serving.deployments')
    deployments, batch = {}, {}
    for role in roles:
        opts = copy.deepcopy(SAVER_DEFAULTS if role == 'saver' else LATER_DEFAULTS)
        own = dict(deps.get(role) or {})
        _check_keys(own, DEPLOYMENT_KEYS + BATCH_KEYS, f'serving.deployments.{role}')
        if 'autoscaling_config' in own:
            opts.pop('num_replicas', None)
        opts.update(own)
        if opts.get('autoscaling_config') is not None and 'num_replicas' in own:
            raise ValueError(f'serving.deployments.{role} sets both num_replicas and '
                             'autoscaling_config; give one.')
        if 'num_replicas' in opts:
            opts['num_replicas'] = _whole(opts['num_replicas'], f'{role} num_replicas')
        opts['max_ongoing_requests'] = _whole(opts['max_ongoing_requests'],
                                              f'{role} max_ongoing_requests')
        opts['max_queued_requests'] = _whole(opts['max_queued_requests'],
                                             f'{role} max_queued_requests', -1)
        batch[role] = dict(
            max_batch_size=_whole(opts.pop('max_batch_size'), f'{role} max_batch_size'),
            batch_wait_timeout_s=_positive(opts.pop('batch_wait_timeout_s'),
                                           f'{role} batch_wait_timeout_s'))
        deployments[role] = opts
    limits = dict(given.get('limits') or {})
    _check_keys(limits, LIMIT_KEYS, 'serving.limits')
    drift = dict(calibration=None, shift=0.05, false_alarms_per_10k=0.1)
    drift.update(given.get('drift') or {})
    _check_keys(drift, DRIFT_KEYS, 'serving.drift')
    timeout = _positive(given.get('stage_timeout_s', 30.0), 'stage_timeout_s')
    if timeout == 0:
        raise ValueError('stage_timeout_s=0 would refuse every hard image; give seconds > 0.')
    return dict(stages=roles, deployments=deployments, batch=batch, limits=limits,
                stage_timeout_s=timeout, drift=drift)
