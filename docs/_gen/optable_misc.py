"""Rows of the op table for einframe/_functions_misc.py."""

import einframe as ef


def _x(*shape):
    return ef.randn(*shape, dtype=ef.float64).requires_grad_()


def _m(n=3):
    """A well-conditioned square matrix (shifted diagonal)."""
    return (ef.randn(n, n, dtype=ef.float64) + 3 * ef.eye(n, dtype=ef.float64)).requires_grad_()


def _spd(n=3):
    a = ef.randn(n, n, dtype=ef.float64)
    return (a @ a.T + 3 * ef.eye(n, dtype=ef.float64)).requires_grad_()


SAMPLES = {
    "inverse": lambda: ef.inverse(_m()),
    "det": lambda: ef.det(_m()),
    "logdet": lambda: ef.logdet(_spd()),
    "slogdet": lambda: ef.slogdet(_m()).logabsdet,
    "cholesky": lambda: ef.cholesky(_spd()),
    "cholesky_solve": lambda: ef.cholesky_solve(_x(3, 2), ef.cholesky(_spd())),
    "cholesky_inverse": lambda: ef.cholesky_inverse(ef.cholesky(_spd())),
    "triangular_solve": lambda: ef.triangular_solve(_x(3, 2), _m()).solution,
    "svd": lambda: ef.svd(_x(4, 3)).U,
    "qr": lambda: ef.qr(_x(4, 3)).R,
    "pinverse": lambda: ef.pinverse(_x(4, 3)),
    "lu": lambda: ef.lu(_m())[0],
    "lu_unpack": lambda: ef.lu_unpack(*ef.lu(_m())).U,
    "lu_solve": lambda: ef.lu_solve(_x(3, 2), *ef.lu(_m())),
    "matrix_power": lambda: ef.matrix_power(_x(3, 3), 3),
    "matrix_exp": lambda: ef.matrix_exp(_x(2, 2) * 0.1),
    "chain_matmul": lambda: ef.chain_matmul(_x(2, 3), _x(3, 4), _x(4, 2)),
    "mv": lambda: ef.mv(_x(2, 3), _x(3)),
    "inner": lambda: ef.inner(_x(2, 3), _x(4, 3)),
    "vdot": lambda: ef.vdot(_x(3), _x(3)),
    "cross": lambda: ef.cross(_x(2, 3), _x(2, 3), dim=1),
    "ger": lambda: ef.ger(_x(3), _x(2)),
    "addmm": lambda: ef.addmm(_x(3, 5), _x(3, 4), _x(4, 5), beta=0.5, alpha=2.0),
    "addbmm": lambda: ef.addbmm(_x(3, 5), _x(2, 3, 4), _x(2, 4, 5)),
    "baddbmm": lambda: ef.baddbmm(_x(2, 3, 5), _x(2, 3, 4), _x(2, 4, 5)),
    "addmv": lambda: ef.addmv(_x(3), _x(3, 4), _x(4)),
    "addr": lambda: ef.addr(_x(3, 4), _x(3), _x(4)),
    "ravel": lambda: ef.ravel(_x(2, 3)),
}
NO_GRAD = ["bernoulli", "multinomial", "poisson", "normal", "greater", "greater_equal", "less", "less_equal", "not_equal"]
OTHER = [
    "is_nonzero",
    "is_same_size",
    "logspace",
    "is_tensor",
    "numel",
    "is_floating_point",
    "result_type",
    "promote_types",
    "can_cast",
    "set_printoptions",
]
