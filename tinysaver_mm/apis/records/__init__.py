"""Recording: every stage of a model run on a split, kept per sample (cls, det, seg)."""
from .cls_records import (check_aligned, dataset_identity, load_records, model_stages,
                          predict_stages, record, records_kind)
from .det_records import check_det_aligned, instances_of, load_det_records, record_detections
from .recipe import cascade_records_loader, save_records
from .seg_records import load_seg_records, record_segmentation

__all__ = [
    'check_aligned', 'dataset_identity', 'load_records', 'model_stages', 'predict_stages',
    'record', 'records_kind', 'check_det_aligned', 'instances_of', 'load_det_records',
    'record_detections', 'cascade_records_loader', 'save_records',
    'load_seg_records', 'record_segmentation'
]
