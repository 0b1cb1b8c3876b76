"""Serve a TinySaver cascade with Ray Serve: one deployment per stage.

Importing this package does not import Ray: ``build_app`` does, when called
(``serve run tinysaver_mm.serving:build_app config=CFG``). The request logic
(:class:`CascadeFrontend`, :class:`StageWorker`, :class:`ServingStats`)
runs without Ray.
"""
from .answers import answer_of, cascade_task
from .app import app_plan, build_app
from .bench import bench_goals, serve_bench
from .deploy_config import serve_deploy_config
from .decode import RequestLimits, check_image_bytes, decode_image, split_body
from .errors import RequestError
from .frontend import CascadeFrontend, StageUnavailable
from .options import BUILD_ARGS, parse_build_args, serving_options
from .request_pipeline import RequestPipeline
from .serving_stats import ServingStats
from .stage_worker import StageWorker, join_rows, split_rows

__all__ = ['build_app', 'app_plan', 'bench_goals', 'serve_bench', 'serve_deploy_config', 'answer_of', 'cascade_task', 'RequestLimits',
           'check_image_bytes', 'decode_image', 'split_body', 'RequestError', 'CascadeFrontend',
           'StageUnavailable', 'BUILD_ARGS', 'parse_build_args', 'serving_options',
           'RequestPipeline', 'ServingStats', 'StageWorker', 'join_rows', 'split_rows']
