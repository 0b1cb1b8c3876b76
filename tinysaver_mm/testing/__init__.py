"""Test helpers importable by tests and by users' own tests (no pytest needed).

- :mod:`.cls_stages`: a tiny classifier stage with hand-countable MACs.
- :mod:`.det_stages`: a small random-weight RTMDet and raw detection batches.
- :mod:`.cls_records`: synthetic classification record files.
- :mod:`.seg_data`: synthetic segmentation masks, mmseg's IoUMetric as reference.
- :mod:`.seg_stages`: small random-weight mmseg segmentors and raw segmentation batches.
- :mod:`.synthetic_coco`: synthetic COCO ground truth with two noisy detectors.
- :mod:`.cascade_cases`: one case per registered cascade type, for the
  contract tests every cascade must pass.
- :mod:`.toy_part`: a trainable part, to test loss delegation.
- :mod:`.image_folder`: small image-folder datasets (CustomDataset layout).
"""
from .cls_stages import TinyTestNet, register_test_models, stage_cfg, tiny_macs
from .image_folder import write_image_folder

__all__ = ['TinyTestNet', 'register_test_models', 'stage_cfg', 'tiny_macs', 'write_image_folder']
