"""swap: SWAP (ICLR 2024), the number of distinct sample-wise activation patterns.

For S input samples, each unit (one channel at one position of the input of a ReLU-type module)
has a sample-wise pattern: the binary vector (1[pre-activation > 0] for each of the S samples).
SWAP is the number of distinct patterns over all units of the network (at most min(units, 2^S)).

Choices: the S samples must be many more than the usual proxy batch (S = 4 caps the score at
16), so the N images of the batch are each used in :data:`VIEWS` = 8 deterministic views
(identity, horizontal flip, vertical flip, both; each also circularly shifted by half the height
and width), S = 8N = 32 for the default batch; the units are those of every ReLU-type module
(ReLU, ReLU6, LeakyReLU: the NWOT convention, encoder and decoder); train mode (BatchNorm uses the
statistics of the S samples); no regularisation term (the paper's regularised variant needs a
size target). Cost: one forward of S = 8N images, i.e. about 8/3 forward + backward passes of the
batch, plus a sort of one 64-bit code per unit.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from saswot.errors import ScoreError
from saswot.proxies._featpass import is_relu
from saswot.proxies._spec import ProxyContext, register_proxy
from saswot.proxies._stats import main_output

#: Views of each image (flips x half-size circular shift).
VIEWS = 8
#: Largest S whose patterns fit in one signed 64-bit code.
MAX_PACKED = 62


def sample_views(images: Tensor) -> Tensor:
    """The :data:`VIEWS` views of each image, stacked: (VIEWS * N) x C x H x W."""
    flips = [images, images.flip(-1), images.flip(-2), images.flip(-1, -2)]
    h, w = images.shape[-2:]
    shifted = [v.roll(shifts=(h // 2, w // 2), dims=(-2, -1)) for v in flips]
    return torch.cat(flips + shifted)


def pattern_codes(pre_activation: Tensor) -> Tensor:
    """One int64 code per unit: bit s is 1 when sample s's pre-activation is > 0."""
    s = pre_activation.shape[0]
    if s > MAX_PACKED:
        raise ScoreError(f"swap packs at most {MAX_PACKED} samples into a code, got {s}")
    bits = (pre_activation.detach().reshape(s, -1) > 0).long()
    weights = torch.pow(2, torch.arange(s, dtype=torch.long, device=bits.device))
    return (bits * weights[:, None]).sum(dim=0)


def count_distinct_patterns(codes: list[Tensor]) -> int:
    """Number of distinct codes over a list of code tensors."""
    if not codes:
        return 0
    per_layer = [torch.unique(c.cpu()) for c in codes]
    return int(torch.unique(torch.cat(per_layer)).numel())


@register_proxy(
    "swap",
    requires=(),  # runs its own pass
    description="distinct sample-wise ReLU patterns over 8 views per image",
)
def swap(ctx: ProxyContext) -> float:
    """Number of distinct sample-wise activation patterns (as a float)."""
    net = ctx.work_copy()
    codes: list[Tensor] = []

    def hook(_module: nn.Module, inputs: tuple) -> None:
        codes.append(torch.unique(pattern_codes(inputs[0])))

    handles = [m.register_forward_pre_hook(hook) for m in net.modules() if is_relu(m)]
    try:
        with torch.no_grad():
            main_output(net(sample_views(ctx.images.to(ctx.device))))
    finally:
        for h in handles:
            h.remove()
    return float(count_distinct_patterns(codes))
