"""The application builder: ``serve run tinysaver_mm.serving:build_app config=CFG``."""
from typing import Any, Dict

from .options import parse_build_args, serving_options

__all__ = ['build_app', 'app_plan']


def app_plan(args: Dict[str, Any]) -> dict:
    """What :func:`build_app` deploys, without Ray: build kwargs and options per deployment.

    Raises:
        ValueError: On bad arguments or serving options (see
            :func:`~tinysaver_mm.serving.options.parse_build_args`).
        FileNotFoundError: If the config does not exist.
    """
    from tinysaver_mm.apis import load_cfg
    parsed = parse_build_args(args)
    cfg = load_cfg(parsed['build']['config'])
    opts = serving_options(cfg, parsed['overrides'])
    return dict(build=parsed['build'], **opts)


def build_app(args: Dict[str, Any]):
    """Build the Ray Serve application of a cascade config (an application builder).

    Args:
        args (dict): ``config=CFG`` and the optional arguments of
            :data:`~tinysaver_mm.serving.options.BUILD_ARGS` (strings, as
            ``serve run ... key=value`` gives them).

    Returns:
        ray.serve.Application: The ingress (saver) bound to one deployment
        per later stage and the stats deployment.

    Raises:
        ImportError: If Ray Serve is not installed (``pip install -r
            requirements/serve.txt``).
    """
    plan = app_plan(args)
    try:
        from .deployments import CascadeIngress, StageDeployment, StatsDeployment
    except ImportError as err:
        raise ImportError(f'Serving needs Ray Serve ({err}); install it with '
                          'pip install -r requirements/serve.txt.') from None
    stats = StatsDeployment.bind(plan['stages'], plan['drift'])
    later = {}
    for role in plan['stages'][1:]:
        later[role] = StageDeployment.options(name=role, **plan['deployments'][role]).bind(
            role, plan['build'], plan['batch'][role]['max_batch_size'],
            plan['batch'][role]['batch_wait_timeout_s'], stats)
    saver = plan['deployments']['saver']
    threads = max(1, saver['max_ongoing_requests'])
    return CascadeIngress.options(name='saver', **saver).bind(
        plan['build'], plan['limits'], later, stats, plan['stage_timeout_s'], plan['drift'],
        plan['batch']['saver'], threads)
