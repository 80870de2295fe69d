"""``nn.utils``: gradient clipping and parameter/vector conversion (PyTorch's ``torch.nn.utils``)."""

from .clip_grad import clip_grad_norm_, clip_grad_value_, get_total_norm
from .convert_parameters import parameters_to_vector, vector_to_parameters

__all__ = ["clip_grad_norm_", "clip_grad_value_", "get_total_norm", "parameters_to_vector", "vector_to_parameters"]
from .fusion import FusionError, fuse_conv_bn_eval, fuse_conv_bn_weights, merge_parallel_convs  # noqa: E402

__all__ += ["fuse_conv_bn_eval", "fuse_conv_bn_weights", "merge_parallel_convs", "FusionError"]
from . import rnn  # noqa: E402  (``nn.utils.rnn``: PackedSequence and the pack/pad functions, as PyTorch)

__all__ += ["rnn"]
