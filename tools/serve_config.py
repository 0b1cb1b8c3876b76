"""Write a ``serve deploy`` config file for a cascade (then: ``serve deploy FILE``).

Example:
    python tools/serve_config.py configs/fashion_mnist/tinysaver_resnet18-w4s2_resnet18-w16_fmnist.py \
        serve_fmnist.yaml --base-replicas 2
    ray start --head && serve deploy serve_fmnist.yaml
"""
import argparse
import os.path as osp
import sys

import yaml

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
from serve import build_args  # noqa: E402  (the same arguments as tools/serve.py)


def main(argv=None):
    p = argparse.ArgumentParser(description='Write a Ray Serve deploy config for a cascade')
    p.add_argument('config', help='cascade config')
    p.add_argument('out', help='YAML file to write')
    p.add_argument('--checkpoint')
    p.add_argument('--backend', choices=['pytorch', 'onnxruntime'], default='pytorch')
    p.add_argument('--deploy-dir')
    p.add_argument('--saver-replicas', type=int)
    p.add_argument('--base-replicas', type=int)
    p.add_argument('--max-batch-size', type=int)
    p.add_argument('--batch-wait-timeout-s', type=float)
    p.add_argument('--calibration')
    p.add_argument('--name', default='tinysaver', help='application name')
    p.add_argument('--route-prefix', default='/')
    p.add_argument('--host', default='127.0.0.1', help='HTTP address (default: this machine only)')
    p.add_argument('--port', type=int, default=8000)
    p.add_argument('--overwrite', action='store_true', help='replace OUT when it exists')
    a = p.parse_args(argv)
    if osp.exists(a.out) and not a.overwrite:
        p.error(f'{a.out} exists; give --overwrite to replace it.')
    if osp.abspath(a.out) == osp.abspath(a.config):
        p.error('OUT is the config itself; write the deploy config elsewhere.')
    from tinysaver_mm.serving import serve_deploy_config
    doc = serve_deploy_config(build_args(a), a.name, a.route_prefix, a.host, a.port)
    with open(a.out, 'w') as f:
        yaml.safe_dump(doc, f, sort_keys=False)
    print(f'wrote {a.out}: serve deploy {a.out} (on a running Ray: ray start --head)')
    return 0


if __name__ == '__main__':
    sys.exit(main())
