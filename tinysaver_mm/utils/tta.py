"""Test-time augmentation and a cascade's accounting: refused, with the reason."""
from typing import Any, Optional

__all__ = ['TTANotSupportedError', 'tta_views', 'refuse_tta']


class TTANotSupportedError(RuntimeError):
    """A cascade was run under a host's test-time augmentation (``--tta``)."""


def tta_views(data_batch: Any) -> Optional[int]:
    """The number of test-time-augmentation views of a collated batch (None if not TTA).

    Under ``--tta`` the host's ``TestTimeAug`` gives each image a list of
    views, so the collated ``data_samples`` is a list (views) of lists
    (images), which the TTA model splits into one batch per view.
    """
    samples = data_batch.get('data_samples') if isinstance(data_batch, dict) else None
    if isinstance(samples, (list, tuple)) and samples and isinstance(samples[0], (list, tuple)):
        return len(samples)
    return None


def refuse_tta(who: str, model_type: str = 'a TTA model', views: Optional[int] = None) -> None:
    """Refuse a cascade under test-time augmentation.

    A host TTA model (``--tta``: mmpretrain's ``AverageClsScoreTTA``, mmdet's
    ``DetTTAModel``, mmseg's ``SegTTAModel``) runs the cascade once per view
    (each view routed and paid for) and merges the views' predictions keeping
    the first view's cascade fields: ``tinysaver/*`` would report one view's
    exits and one pass's MACs for a run that cost one pass per view.

    Args:
        who (str): What refuses (the hook, the metric).
        model_type (str): The wrapping TTA model's type.
        views (int, optional): Views per image, when known.

    Raises:
        TTANotSupportedError: Always.
    """
    n = f'{views} views' if views else 'several views'
    raise TTANotSupportedError(
        f'{who}: test-time augmentation (--tta, {model_type}) runs the cascade once per view '
        f'({n} per image: each view is routed and pays its own MACs) and merges the views\' '
        "predictions keeping one view's cascade fields, so the cascade's exit ratio and MACs "
        '(tinysaver/*) would count one view of a run that cost one pass per view. The cascade '
        'does not support TTA: run tools/test.py without --tta. Its routing, exit ratio and '
        'MACs are those of single-view inference.')
