"""Recording: every stage of a model run on a split, kept per sample, and read back.

One recorder per task on one shared recipe (:mod:`.recipe`: the loader, the
model, the file): :mod:`.cls_records` (a classifier or each stage of a
classification cascade, one file per stage), :mod:`.det_records` and
:mod:`.seg_records` (a cascade's saver and base, one file). :mod:`.loading`
reads any of them back, and gives calibration its aligned views.
"""
from .cls_records import dataset_identity, model_stages, predict_stages, record
from .det_records import check_det_aligned, instances_of, load_det_records, record_detections
from .det_view_records import FLIP_MODES, record_det_views
from .loading import check_aligned, check_distinct, load_exits, load_pair, load_records, records_kind
from .recipe import (cascade_records_loader, recorded_model, records_dataloader,
                     records_loader, save_records)
from .seg_records import load_seg_records, record_segmentation

__all__ = [
    'dataset_identity', 'model_stages', 'predict_stages', 'record', 'check_det_aligned',
    'instances_of', 'load_det_records', 'record_detections', 'FLIP_MODES', 'record_det_views', 'check_aligned', 'check_distinct', 'load_exits',
    'load_pair', 'load_records', 'records_kind', 'cascade_records_loader', 'recorded_model',
    'records_dataloader', 'records_loader', 'save_records', 'load_seg_records',
    'record_segmentation'
]
