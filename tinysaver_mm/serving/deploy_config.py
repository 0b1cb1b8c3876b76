"""A ``serve deploy`` config file for a cascade (Ray Serve's declarative config)."""
from typing import Any, Dict

from .app import app_plan

__all__ = ['serve_deploy_config']


def serve_deploy_config(args: Dict[str, Any], name: str = 'tinysaver', route_prefix: str = '/',
                        host: str = '127.0.0.1', port: int = 8000) -> dict:
    """Ray Serve's deploy config of the application :func:`build_app` builds.

    The application is imported by ``tinysaver_mm.serving:build_app`` with
    ``args`` (file paths made absolute: replicas do not run in this folder); each deployment's options (replicas or autoscaling,
    ``ray_actor_options``, request limits) are written out, so they can be
    edited in the file (``serve deploy FILE``) without touching the config.

    Args:
        args (dict): The builder's arguments (``config=...`` and optional ones).
        name (str): Application name.
        route_prefix (str): HTTP route of the application.
        host (str): HTTP address; 127.0.0.1 (this machine only) by default.
        port (int): HTTP port.

    Returns:
        dict: The config (``http_options`` and ``applications``), YAML-ready.

    Raises:
        ValueError: On bad builder arguments (see :func:`app_plan`).
    """
    plan = app_plan(args)
    deployments = []
    for role in plan['stages']:
        deployments.append(dict(name=role, **plan['deployments'][role]))
    deployments.append(dict(name='stats', num_replicas=1, ray_actor_options=dict(num_cpus=0)))
    import os.path as osp
    paths = ('config', 'checkpoint', 'deploy_dir', 'calibration')  # replicas run elsewhere
    app_args = {k: osp.abspath(str(v)) if k in paths else str(v)
                for k, v in args.items() if v is not None}
    return dict(http_options=dict(host=host, port=int(port)),
                applications=[dict(name=name, route_prefix=route_prefix,
                                   import_path='tinysaver_mm.serving:build_app', args=app_args,
                                   deployments=deployments)])
