"""Export a classification cascade's stages to ONNX with a manifest (MMDeploy-style).

Example:
    python tools/deploy.py configs/fashion_mnist/tinysaver_resnet18-w4s2_resnet18-w16_fmnist.py \
        work_dirs/deploy_w4s2
    python tools/test.py configs/fashion_mnist/tinysaver_resnet18-w4s2_resnet18-w16_fmnist.py \
        --cfg-options model.backend=onnxruntime model.deploy_dir=work_dirs/deploy_w4s2
"""
import argparse

from tinysaver_mm.apis import DEFAULT_OPSET, deploy


def main():
    p = argparse.ArgumentParser(description='Export a TinySaver cascade to ONNX')
    p.add_argument('config', help='TinySaverClassifier config')
    p.add_argument('out_dir', help='directory for <stage>.onnx and manifest.json')
    p.add_argument('--checkpoint', help='whole-cascade weights (optional)')
    p.add_argument('--input-shape', type=int, nargs=3, metavar=('C', 'H', 'W'),
                   help='one image (default: the first test image\'s shape)')
    p.add_argument('--opset', type=int, default=DEFAULT_OPSET)
    p.add_argument('--random-weights', action='store_true',
                   help="ignore the stages' checkpoints (for speed measurements)")
    p.add_argument('--overwrite', action='store_true', help='replace existing outputs')
    a = p.parse_args()
    manifest = deploy(a.config, a.out_dir, a.checkpoint, a.input_shape, a.opset, a.overwrite,
                      a.random_weights)
    for name, entry in {**manifest['stages'], **manifest['parts']}.items():
        print(f'{name}: {a.out_dir}/{entry["file"]} sha256 {entry["sha256"][:16]}...')
    print(f'manifest: {a.out_dir}/manifest.json (thresholds {manifest["thresholds"]}, '
          f'exit rule {manifest["exit_rule"]})')


if __name__ == '__main__':
    main()
