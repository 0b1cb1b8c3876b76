"""Utilities: safe checkpoint loading, stage specs, model complexity."""
from .checkpoint import (cascade_fingerprints, fused_form, get_state_dict, load_checkpoint_file,
                         load_checkpoint_strict, load_state_dict_strict,
                         mmengine_safe_globals, publish_checkpoint,
                         register_safe_globals, state_dict_fingerprint)
from .complexity import measure_macs
from .data import SPLITS, check_class_folders, check_coco_files, check_nonempty, split_loader_key
from .outputs import OutputExistsError, check_outputs
from .settings import (EXIT_INPUT_KEYS, check_fitted_settings, exit_input_settings,
                       pipeline_settings, settings_changes)
from .tta import TTANotSupportedError, refuse_tta, tta_views
from .submodel import (apply_overrides, load_model_cfg, model_cfg_of, resolve_stage_spec,
                       stage_model_name)

__all__ = [
    'SPLITS', 'split_loader_key', 'check_class_folders', 'check_coco_files', 'check_nonempty', 'OutputExistsError', 'check_outputs',
    'cascade_fingerprints', 'fused_form', 'get_state_dict', 'load_checkpoint_file', 'load_checkpoint_strict',
    'load_state_dict_strict', 'mmengine_safe_globals', 'publish_checkpoint', 'register_safe_globals', 'state_dict_fingerprint',
    'apply_overrides', 'load_model_cfg', 'model_cfg_of', 'resolve_stage_spec', 'stage_model_name', 'measure_macs',
    'TTANotSupportedError', 'refuse_tta', 'tta_views',
    'EXIT_INPUT_KEYS', 'check_fitted_settings', 'exit_input_settings', 'pipeline_settings', 'settings_changes'
]
