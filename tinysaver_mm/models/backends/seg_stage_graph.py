"""One encoder-decoder segmentor as a plain graph: preprocessed batch -> decode-head logits."""
import torch
import torch.nn as nn

__all__ = ['SegStageGraph']


class SegStageGraph(nn.Module):
    """mmseg's tensor-mode path of an encoder-decoder segmentor, for export.

    ``forward`` takes the batch the segmentor's own data preprocessor gives
    (normalised, maybe padded; in slide mode one crop) and returns its decode
    head's logits at the head's resolution: ``decode_head.forward(
    extract_feat(x))``, what mmseg's ``encode_decode`` computes before
    ``predict_by_feat`` resizes them. That resize, slide mode's crops and
    their average, ``postprocess_result`` (unpadding, resize to the original
    size, argmax) and the exit rule stay in Python, run by mmseg's own code
    around the graph.

    Args:
        model (nn.Module): An mmseg ``EncoderDecoder`` (one decode head).
        name (str): What to call it in errors.

    Raises:
        ValueError: For a cascade-decoder segmentor (several decode heads
            chained in Python) or a segmentor without ``extract_feat``.
    """

    def __init__(self, model: nn.Module, name: str = 'stage'):
        super().__init__()
        head = getattr(model, 'decode_head', None)
        if head is None or isinstance(head, nn.ModuleList) or \
                not hasattr(model, 'extract_feat'):
            raise ValueError(
                f'The {name} ({type(model).__name__}) is not an encoder-decoder segmentor with '
                'one decode head: only those export (FCN, DeepLabV3, SegFormer, PIDNet...). A '
                'cascade-decoder segmentor keeps the PyTorch backend.')
        self.model, self.name = model, name

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model.decode_head.forward(self.model.extract_feat(x))
