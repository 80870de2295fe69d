"""Rows of the op table for einframe/_functions_index.py: move to docs/_gen/optable_index.py."""

import einframe as ef


def _x(*shape):
    return ef.randn(*shape, dtype=ef.float64).requires_grad_()


_I = ef.tensor([[0, 1, 2], [2, 0, 0]])

SAMPLES = {
    "sort": lambda: ef.sort(_x(2, 3), 1).values,
    "msort": lambda: ef.msort(_x(3, 2)),
    "topk": lambda: ef.topk(_x(2, 3), 2).values,
    "kthvalue": lambda: ef.kthvalue(_x(2, 3), 2).values,
    "masked_select": lambda: ef.masked_select(_x(2, 3), ef.tensor([True, False, True])),
    "take": lambda: ef.take(_x(2, 3), ef.tensor([0, 5])),
    "take_along_dim": lambda: ef.take_along_dim(_x(2, 3), ef.tensor([[0], [2]]), 1),
    "bincount": lambda: ef.bincount(ef.tensor([0, 2, 2]), _x(3)),
    "scatter": lambda: ef.scatter(_x(3, 3), 0, _I, _x(2, 3)),
    "scatter_add": lambda: ef.scatter_add(_x(3, 3), 0, _I, _x(2, 3)),
    "scatter_reduce": lambda: ef.scatter_reduce(_x(3, 3), 0, _I, _x(2, 3), "amax"),
    "index_add": lambda: ef.index_add(_x(3, 2), 0, ef.tensor([0, 0]), _x(2, 2)),
    "index_copy": lambda: ef.index_copy(_x(3, 2), 0, ef.tensor([2, 0]), _x(2, 2)),
    "index_reduce": lambda: ef.index_reduce(_x(3, 2), 0, ef.tensor([2, 0, 2]), _x(3, 2), "prod"),
    "index_fill": lambda: ef.index_fill(_x(3, 2), 0, ef.tensor([1]), 0.5),
    "index_put": lambda: ef.index_put(_x(3), (ef.tensor([0, 0]),), _x(2), accumulate=True),
    "index_put_": lambda: ef.index_put_(_x(3) * 1, (ef.tensor([1]),), _x(1)),
    "masked_scatter": lambda: ef.masked_scatter(_x(3), ef.tensor([True, False, True]), _x(2)),
    "put": lambda: ef.put(_x(2, 3), ef.tensor([0, 4]), _x(2)),
    "select_scatter": lambda: ef.select_scatter(_x(2, 3), _x(3), 0, 1),
    "slice_scatter": lambda: ef.slice_scatter(_x(2, 4), _x(2, 2), 1, 0, 4, 2),
    "diagonal_scatter": lambda: ef.diagonal_scatter(_x(3, 3), _x(3)),
    "roll": lambda: ef.roll(_x(2, 3), 1, 1),
    "rot90": lambda: ef.rot90(_x(2, 3)),
    "flipud": lambda: ef.flipud(_x(2, 3)),
    "fliplr": lambda: ef.fliplr(_x(2, 3)),
    "tile": lambda: ef.tile(_x(2, 3), (2,)),
    "repeat_interleave": lambda: ef.repeat_interleave(_x(3), ef.tensor([1, 0, 2])),
    "unbind": lambda: ef.unbind(_x(2, 3))[1],
    "movedim": lambda: ef.movedim(_x(2, 3, 4), 0, -1),
    "moveaxis": lambda: ef.moveaxis(_x(2, 3, 4), 0, -1),
    "swapdims": lambda: ef.swapdims(_x(2, 3), 0, 1),
    "swapaxes": lambda: ef.swapaxes(_x(2, 3), 0, 1),
    "diag": lambda: ef.diag(_x(3)),
    "diag_embed": lambda: ef.diag_embed(_x(2, 3)),
    "diagflat": lambda: ef.diagflat(_x(2, 2)),
    "meshgrid": lambda: ef.meshgrid(_x(3), _x(2), indexing="ij")[0],
    "broadcast_to": lambda: ef.broadcast_to(_x(3), (2, 3)),
    "broadcast_tensors": lambda: ef.broadcast_tensors(_x(3), _x(2, 1))[0],
    "tensor_split": lambda: ef.tensor_split(_x(5), 2)[0],
    "hsplit": lambda: ef.hsplit(_x(2, 4), 2)[1],
    "vsplit": lambda: ef.vsplit(_x(4, 2), 2)[1],
    "dsplit": lambda: ef.dsplit(_x(1, 2, 4), 2)[1],
    "hstack": lambda: ef.hstack([_x(2), _x(3)]),
    "vstack": lambda: ef.vstack([_x(3), _x(3)]),
    "row_stack": lambda: ef.row_stack([_x(3), _x(3)]),
    "dstack": lambda: ef.dstack([_x(3), _x(3)]),
    "column_stack": lambda: ef.column_stack([_x(3), _x(3)]),
    "atleast_1d": lambda: ef.atleast_1d(_x()),
    "atleast_2d": lambda: ef.atleast_2d(_x(3)),
    "atleast_3d": lambda: ef.atleast_3d(_x(3)),
    "cartesian_prod": lambda: ef.cartesian_prod(_x(3), _x(2)),
    "combinations": lambda: ef.combinations(_x(3)),
    "block_diag": lambda: ef.block_diag(_x(2, 2), _x(1, 3)),
    "narrow_copy": lambda: ef.narrow_copy(_x(4), 0, 1, 2),
    "diff": lambda: ef.diff(_x(2, 4)),
    "kron": lambda: ef.kron(_x(2, 2), _x(2, 3)),
}
NO_GRAD = [
    "argsort", "unique", "unique_consecutive", "nonzero", "argwhere", "searchsorted", "bucketize", "histc",
    "tril_indices", "triu_indices",
]  # fmt: skip
OTHER = ["broadcast_shapes"]
