"""Primitive samples for ``einframe/ops/linalg.py`` (merged into tests/test_primitives.py's SAMPLES).

Inputs are kept well-conditioned: a shifted diagonal for inverses/determinants, ``a a^T + 3 I`` for
Cholesky, ``a + a^T`` for eigh (its gradients are symmetric, as PyTorch's), random Gaussian matrices
(distinct singular values almost surely) for SVD, QR and pinv.
"""

from __future__ import annotations

import numpy as np

import einframe as ef
from einframe.ops.linalg import LU, QR, SVD, Cholesky, Eigh, Inv, Pinv, SlogDet, Solve


def _shifted(rng, shape):
    """Gaussian plus 3 I: safely invertible."""
    return rng.standard_normal(shape) + 3 * np.eye(shape[-1])


def _spd(a):
    return a @ a.mT + 3 * ef.eye(a.shape[-1], dtype=a.dtype)


def samples(S, helpers):
    normal = helpers["normal"]
    return {
        "Inv": [
            S([(3, 3)], lambda a: Inv()(a), init=[_shifted]),
            S([(2, 3, 3)], lambda a: ef.linalg.inv(a), init=[_shifted], id="batched"),
        ],
        "Solve": [
            S([(3, 3), (3, 2)], lambda a, b: Solve()(a, b), init=[_shifted, normal]),
            S([(2, 3, 3), (3,)], lambda a, b: ef.linalg.solve(a, b.expand(2, 3)), init=[_shifted, normal], id="vector"),
        ],
        "SlogDet": [
            S([(3, 3)], lambda a: SlogDet()(a), init=[_shifted]),
            S([(2, 3, 3)], lambda a: ef.linalg.det(a), init=[_shifted], id="det"),
        ],
        "Cholesky": [
            S([(3, 3)], lambda a: Cholesky()(_spd(a))),
            S([(2, 3, 3)], lambda a: ef.linalg.cholesky(_spd(a), upper=True), id="batched-upper"),
        ],
        "Eigh": [
            S([(3, 3)], lambda a: Eigh()(a + a.mT)),
            S([(2, 3, 3)], lambda a: ef.linalg.eigh(a + a.mT, UPLO="U").eigenvectors, id="batched-U"),
        ],
        "SVD": [
            S([(4, 3)], lambda a: SVD()(a), id="tall"),
            S([(3, 5)], lambda a: SVD()(a), id="wide"),
            S([(2, 3, 3)], lambda a: ef.linalg.svdvals(a), id="svdvals"),
        ],
        "QR": [
            S([(4, 3)], lambda a: QR()(a), id="tall"),
            S([(2, 3, 3)], lambda a: ef.linalg.qr(a).R, id="batched"),
            S([(3, 4)], lambda a: ef.linalg.qr(a).R, id="wide"),
        ],
        "LU": [
            S([(3, 3)], lambda a: LU()(a)),
            S([(2, 4, 4)], lambda a: ef.linalg.lu(a).L, id="batched-L"),
            S([(3, 3)], lambda a: ef.linalg.lu_solve(*ef.linalg.lu_factor(a), a[:, :2] * 2.0), id="lu_solve"),
            S([(3, 5)], lambda a: LU()(a), id="wide"),
            S([(2, 5, 3)], lambda a: LU()(a), id="tall-batched"),
        ],
        "Pinv": [
            S([(4, 3)], lambda a: Pinv()(a), id="tall"),
            S([(2, 3, 4)], lambda a: ef.linalg.pinv(a), id="wide"),
        ],
    }
