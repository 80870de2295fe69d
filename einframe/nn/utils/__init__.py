"""``nn.utils``: gradient clipping and parameter/vector conversion (PyTorch's ``torch.nn.utils``)."""

from .clip_grad import clip_grad_norm_, clip_grad_value_, get_total_norm
from .convert_parameters import parameters_to_vector, vector_to_parameters

__all__ = ["clip_grad_norm_", "clip_grad_value_", "get_total_norm", "parameters_to_vector", "vector_to_parameters"]
from .fusion import FusionError, fuse_conv_bn_eval, fuse_conv_bn_weights, merge_parallel_convs  # noqa: E402

__all__ += ["fuse_conv_bn_eval", "fuse_conv_bn_weights", "merge_parallel_convs", "FusionError"]
from . import rnn  # noqa: E402  (``nn.utils.rnn``: PackedSequence and the pack/pad functions, as PyTorch)

__all__ += ["rnn"]
from . import stateless  # noqa: E402, F401  (``nn.utils.stateless.functional_call``, deprecated as in PyTorch)

# parametrizations (``nn.utils.parametrize`` / ``nn.utils.parametrizations``), the legacy hook-based
# weight/spectral norm, and the small helpers; the functions shadow their same-named submodules, as in PyTorch
__all__ += ["parametrize", "parametrizations", "weight_norm", "remove_weight_norm", "spectral_norm", "remove_spectral_norm"]
__all__ += ["fuse_linear_bn_eval", "fuse_linear_bn_weights", "skip_init", "clip_grad_norm", "clip_grads_with_norm_"]
from . import parametrizations, parametrize  # noqa: E402
from .clip_grad import clip_grad_norm, clip_grads_with_norm_  # noqa: E402
from .fusion import fuse_linear_bn_eval, fuse_linear_bn_weights  # noqa: E402
from .init import skip_init  # noqa: E402
from .spectral_norm import remove_spectral_norm, spectral_norm  # noqa: E402
from .weight_norm import remove_weight_norm, weight_norm  # noqa: E402
