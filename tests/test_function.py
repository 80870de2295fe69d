"""ef.autograd.Function: the seed examples, ctx API, errors, einsum-declared Functions, forward mode,
double backward, gradcheck/gradgradcheck."""

from __future__ import annotations

import numpy as np
import pytest

import einframe as ef
from einframe.autograd import Function
from einframe.tensor import Tensor

# ---------------------------------------------------------------------------------------------
# the seed examples, as written in the blog post (imports changed)


class LinearFunction(Function):
    # Note that both forward and backward are @staticmethods
    @staticmethod
    # bias is an optional argument
    def forward(ctx, input, weight, bias=None):
        ctx.save_for_backward(input, weight, bias)
        output = input.mm(weight.t())
        if bias is not None:
            output += bias.unsqueeze(0).expand_as(output)
        return output

    # This function has only a single output, so it gets only one gradient
    @staticmethod
    def backward(ctx, grad_output):
        input, weight, bias = ctx.saved_tensors
        grad_input = grad_weight = grad_bias = None
        if ctx.needs_input_grad[0]:
            grad_input = grad_output.mm(weight)
        if ctx.needs_input_grad[1]:
            grad_weight = grad_output.t().mm(input)
        if bias is not None and ctx.needs_input_grad[2]:
            grad_bias = grad_output.sum(0).squeeze(0)
        return grad_input, grad_weight, grad_bias


class MulConstant(Function):
    @staticmethod
    def forward(ctx, tensor, constant):
        # ctx is a context object that can be used to stash information
        # for backward computation
        ctx.constant = constant
        return tensor * constant

    @staticmethod
    def backward(ctx, grad_output):
        # We return as many input gradients as there were arguments.
        # Gradients of non-Tensor arguments to forward must be None.
        return grad_output * ctx.constant, None


def f64(*shape, rg=True, seed=None):
    return ef.randn(*shape, dtype=ef.float64, requires_grad=rg)


def test_linear_function_matches_numpy():
    x, w, b = f64(4, 3), f64(5, 3), f64(5)
    y = LinearFunction.apply(x, w, b)
    np.testing.assert_allclose(y.detach().numpy(), x.detach().numpy() @ w.detach().numpy().T + b.detach().numpy())
    assert y.grad_fn.name() == "LinearFunctionBackward"
    assert y.grad_fn.needs_input_grad == (True, True, True)
    g = np.random.default_rng(1).standard_normal((4, 5))
    y.backward(ef.tensor(g, dtype=ef.float64))
    np.testing.assert_allclose(x.grad.detach().numpy(), g @ w.detach().numpy())
    np.testing.assert_allclose(w.grad.detach().numpy(), g.T @ x.detach().numpy())
    np.testing.assert_allclose(b.grad.detach().numpy(), g.sum(0))


def test_linear_function_gradcheck_and_gradgradcheck():
    x, w, b = f64(4, 3), f64(5, 3), f64(5)
    assert ef.autograd.gradcheck(LinearFunction.apply, (x, w, b))
    assert ef.autograd.gradgradcheck(LinearFunction.apply, (x, w, b))
    assert ef.autograd.gradcheck(LinearFunction.apply, (x, w))  # the optional bias left out


def test_needs_input_grad_skips_work():
    seen = []

    class Spy(LinearFunction):
        @staticmethod
        def backward(ctx, grad_output):
            seen.append(ctx.needs_input_grad)
            return LinearFunction.backward(ctx, grad_output)

    x = f64(2, 3, rg=False)
    w, b = f64(4, 3), f64(4, rg=False)
    Spy.apply(x, w, b).sum().backward()
    assert seen == [(False, True, False)]
    assert x.grad is None and b.grad is None and w.grad.shape == (4, 3)


def test_seed_backward_call_and_grad_fn_apply():
    x, w = f64(2, 3), f64(4, 3)
    linear = LinearFunction.apply(x, w)
    gi, gw, gb = linear.grad_fn.apply(ef.ones(2, 4, dtype=ef.float64))
    np.testing.assert_allclose(gi.detach().numpy(), np.ones((2, 4)) @ w.detach().numpy())
    assert gb is None
    linear.sum().backward()
    np.testing.assert_allclose(w.grad.detach().numpy(), gw.detach().numpy())


def test_mul_constant():
    x = f64(3)
    y = MulConstant.apply(x, 2.5)
    assert y.grad_fn.constant == 2.5
    y.sum().backward()
    np.testing.assert_allclose(x.grad.detach().numpy(), [2.5, 2.5, 2.5])
    assert ef.autograd.gradcheck(lambda t: MulConstant.apply(t, -3.0), (f64(2, 2),))
    assert ef.autograd.gradgradcheck(lambda t: MulConstant.apply(t, -3.0) ** 2, (f64(2, 2),))


def test_custom_linear_module_from_the_seed():
    from einframe import nn

    class Linear(nn.Module):
        def __init__(self, input_features, output_features, bias=True):
            super().__init__()
            self.input_features = input_features
            self.output_features = output_features
            self.weight = nn.Parameter(ef.Tensor(output_features, input_features))
            if bias:
                self.bias = nn.Parameter(ef.Tensor(output_features))
            else:
                self.register_parameter("bias", None)
            self.weight.data.uniform_(-0.1, 0.1)
            if bias is not None:
                self.bias.data.uniform_(-0.1, 0.1)

        def forward(self, input):
            return LinearFunction.apply(input, self.weight, self.bias)

        def extra_repr(self):
            return f"in_features={self.input_features}, out_features={self.output_features}, bias={self.bias is not None}"

    m = Linear(3, 2)
    assert len(list(m.parameters())) == 2
    out = m(ef.randn(5, 3))
    assert out.shape == (5, 2)
    out.sum().backward()
    assert m.weight.grad.shape == (2, 3) and m.bias.grad.shape == (2,)
    np.testing.assert_allclose(m.bias.grad.detach().numpy(), [5.0, 5.0])
    assert "in_features=3, out_features=2, bias=True" in repr(m)


# ---------------------------------------------------------------------------------------------
# ctx API


class TwoOut(Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * 2, x * x

    @staticmethod
    def backward(ctx, ga, gb):
        (x,) = ctx.saved_tensors
        return ga * 2 + gb * 2 * x


def test_multiple_outputs():
    x = f64(3)
    a, b = TwoOut.apply(x)
    assert a.grad_fn is b.grad_fn and b._output_nr == 1
    (a.sum() + (b * 3).sum()).backward()
    np.testing.assert_allclose(x.grad.detach().numpy(), 2 + 6 * x.detach().numpy())
    assert ef.autograd.gradcheck(TwoOut.apply, (f64(2),))
    assert ef.autograd.gradgradcheck(TwoOut.apply, (f64(2),))


def test_unused_output_gets_zeros_or_none():
    seen = []

    class Fn(TwoOut):
        @staticmethod
        def backward(ctx, ga, gb):
            seen.append(gb)
            return ga * 2

    x = f64(3)
    a, _ = Fn.apply(x)
    a.sum().backward()
    assert isinstance(seen[0], Tensor) and np.all(seen[0].detach().numpy() == 0)

    class NoMat(Fn):
        @staticmethod
        def forward(ctx, x):
            ctx.set_materialize_grads(False)
            return x * 2, x * x

    a, _ = NoMat.apply(x)
    a.sum().backward()
    assert seen[1] is None


def test_mark_non_differentiable():
    class Sort(Function):
        @staticmethod
        def forward(ctx, x):
            order = np.argsort(x.detach().numpy())
            mask = ef.tensor((x.detach().numpy() > 0).astype(np.float64))
            ctx.mark_non_differentiable(mask)
            ctx.order = order
            return ef.tensor(x.detach().numpy()[order]), mask

        @staticmethod
        def backward(ctx, g, gmask):
            assert np.all(gmask.detach().numpy() == 0)
            out = np.zeros(g.shape)
            out[ctx.order] = g.detach().numpy()
            return ef.tensor(out)

    x = ef.tensor([3.0, -1.0, 2.0], dtype=ef.float64, requires_grad=True)
    s, m = Sort.apply(x)
    assert s.requires_grad and not m.requires_grad and m.grad_fn is None
    (s * ef.tensor([1.0, 2.0, 3.0], dtype=ef.float64)).sum().backward()
    np.testing.assert_allclose(x.grad.detach().numpy(), [3.0, 1.0, 2.0])


class AddOneInplace(Function):
    @staticmethod
    def forward(ctx, x):
        x.add_(1)
        ctx.mark_dirty(x)
        return x

    @staticmethod
    def backward(ctx, g):
        return g


def test_mark_dirty():
    a = f64(3)
    x = a * 2
    v = x._version
    y = AddOneInplace.apply(x)
    assert y is x and x._version > v
    assert x.grad_fn.name() == "AddOneInplaceBackward"
    np.testing.assert_allclose(x.detach().numpy(), a.detach().numpy() * 2 + 1)
    (x * 3).sum().backward()
    np.testing.assert_allclose(a.grad.detach().numpy(), [6.0, 6.0, 6.0])


def test_mark_dirty_on_leaf_requiring_grad_is_an_error():
    with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
        AddOneInplace.apply(f64(3))


def test_input_returned_as_is_is_a_new_tensor():
    class Identity(Function):
        @staticmethod
        def forward(ctx, x):
            return x

        @staticmethod
        def backward(ctx, g):
            return g * 5

    x = f64(2)
    y = Identity.apply(x)
    assert y is not x and y.grad_fn is not None and x.grad_fn is None
    y.sum().backward()
    np.testing.assert_allclose(x.grad.detach().numpy(), [5.0, 5.0])


def test_kwargs_and_non_tensor_args_get_none():
    class Scale(Function):
        @staticmethod
        def forward(ctx, x, factor=1.0, *, offset=0.0):
            ctx.factor = factor
            return x * factor + offset

        @staticmethod
        def backward(ctx, g):
            return g * ctx.factor, None

    x = f64(2)
    Scale.apply(x, factor=4.0, offset=1.0).sum().backward()
    np.testing.assert_allclose(x.grad.detach().numpy(), [4.0, 4.0])


def test_setup_context_style():
    class Sq(Function):
        @staticmethod
        def forward(x):
            return x * x

        @staticmethod
        def setup_context(ctx, inputs, output):
            (x,) = inputs
            ctx.save_for_backward(x)

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return 2 * x * g

    assert ef.autograd.gradcheck(Sq.apply, (f64(3),))


def test_no_graph_without_grad():
    x = f64(2, 3)
    w = f64(4, 3, rg=False)
    with ef.no_grad():
        y = LinearFunction.apply(x, w)
    assert y.grad_fn is None and not y.requires_grad
    y2 = LinearFunction.apply(x.detach(), w)
    assert y2.grad_fn is None


def test_calling_an_instance_is_a_clear_error():
    with pytest.raises(RuntimeError, match=r"MulConstant\.apply"):
        MulConstant()(f64(2), 2.0)


def test_missing_backward():
    class NoBackward(Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2

    with pytest.raises(NotImplementedError, match="backward or vjp"):
        NoBackward.apply(f64(2)).sum().backward()


def test_vjp_alias_for_backward():
    class Double(Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2

        @staticmethod
        def vjp(ctx, g):
            return g * 2

    assert ef.autograd.gradcheck(Double.apply, (f64(2),))


# ---------------------------------------------------------------------------------------------
# errors


def _fn_returning(grads_fn):
    class Bad(Function):
        @staticmethod
        def forward(ctx, x, k):
            return x * 2

        @staticmethod
        def backward(ctx, g):
            return grads_fn(g)

    return Bad


def test_wrong_number_of_gradients():
    Bad = _fn_returning(lambda g: (g,))
    with pytest.raises(RuntimeError, match=r"BadBackward returned an incorrect number of gradients \(expected 2, got 1\)"):
        Bad.apply(f64(2), 3).sum().backward()
    Bad = _fn_returning(lambda g: (g, None, g))
    with pytest.raises(RuntimeError, match=r"expected 2, got 3"):
        Bad.apply(f64(2), 3).sum().backward()
    ok = _fn_returning(lambda g: (g * 2, None, None))  # extra trailing Nones are fine
    x = f64(2)
    ok.apply(x, 3).sum().backward()
    np.testing.assert_allclose(x.grad.detach().numpy(), [2.0, 2.0])


def test_gradient_for_non_tensor_argument():
    Bad = _fn_returning(lambda g: (g, g))
    with pytest.raises(RuntimeError, match="position 2, but the corresponding forward input was not a Tensor"):
        Bad.apply(f64(2), 3).sum().backward()
    Bad = _fn_returning(lambda g: (2.0, None))
    with pytest.raises(TypeError, match="expected a Tensor or None"):
        Bad.apply(f64(2), 3).sum().backward()


def test_wrong_shape():
    Bad = _fn_returning(lambda g: (ef.ones(5, dtype=ef.float64), None))
    with pytest.raises(RuntimeError, match=r"invalid gradient at index 0 - got \[5\] but expected shape compatible with \[2\]"):
        Bad.apply(f64(2), 3).sum().backward()
    # a broadcast gradient is summed down to the input's shape, as PyTorch does
    Ok = _fn_returning(lambda g: (ef.ones(3, 2, dtype=ef.float64), None))
    x = f64(2)
    Ok.apply(x, 3).sum().backward()
    np.testing.assert_allclose(x.grad.detach().numpy(), [3.0, 3.0])


def test_wrong_device():
    x = f64(2)
    other = object.__new__(type(x.device))
    other.type, other.index, other._xp = "cuda", 7, np
    Bad = _fn_returning(lambda g: (Tensor._wrap(np.ones(2), other), None))
    with pytest.raises(RuntimeError, match="returned a gradient on .* but input 0 is on cpu"):
        Bad.apply(x, 3).sum().backward()


def test_dtype_of_gradient_is_cast_to_input():
    Ok = _fn_returning(lambda g: (ef.ones(2, dtype=ef.float32), None))
    x = f64(2)
    Ok.apply(x, 3).sum().backward()
    assert x.grad.dtype == ef.float64


def test_saved_tensors_freed_after_backward():
    x, w = f64(2, 3), f64(4, 3)
    y = LinearFunction.apply(x, w)
    y.sum().backward()
    with pytest.raises(RuntimeError, match="backward through the graph a second time"):
        y.sum().backward()
    with pytest.raises(RuntimeError, match="already been freed"):
        y.grad_fn.saved_tensors  # noqa: B018
    y = LinearFunction.apply(x, w)
    y.sum().backward(retain_graph=True)
    y.sum().backward()  # retain_graph kept them
    np.testing.assert_allclose(w.grad.detach().numpy(), 3 * np.ones((4, 2)) @ x.detach().numpy())


def test_inplace_change_of_saved_tensor():
    x = f64(2, 3)
    h = x * 1
    w = f64(4, 3)
    y = LinearFunction.apply(h, w)
    with ef.no_grad():
        h.mul_(2)
    with pytest.raises(RuntimeError, match="modified by an inplace operation.*LinearFunctionBackward.*expected version 0"):
        y.sum().backward()


def test_saved_tensors_hooks_apply_to_functions():
    packed, unpacked = [], []

    def pack(t):
        packed.append(tuple(t.shape))
        return t.detach().numpy().copy()

    def unpack(a):
        unpacked.append(a.shape)
        return ef.tensor(a)

    x, w = f64(2, 3), f64(4, 3)
    with ef.autograd.graph.saved_tensors_hooks(pack, unpack):
        y = LinearFunction.apply(x, w)
    assert packed == [(2, 3), (4, 3)]
    y.sum().backward()
    assert unpacked == [(2, 3), (4, 3)]
    np.testing.assert_allclose(w.grad.detach().numpy(), np.ones((4, 2)) @ x.detach().numpy())


def test_anomaly_names_the_custom_function():
    class NanBackward(Function):
        @staticmethod
        def forward(ctx, x):
            return x * 1

        @staticmethod
        def backward(ctx, g):
            return g * float("nan")

    x = f64(2)
    with ef.autograd.detect_anomaly():
        y = NanBackward.apply(x)
        with pytest.raises(RuntimeError, match=r"NanBackwardBackward.*nan or inf(?s:.*)test_function\.py"):
            y.sum().backward()


# ---------------------------------------------------------------------------------------------
# double backward, forward mode, einsum-declared Functions


class Cube(Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * x * x

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return 3 * x * x * g

    @staticmethod
    def jvp(ctx, t):
        (x,) = ctx.saved_tensors
        return 3 * x * x * t

    @staticmethod
    def setup_context(ctx, inputs, output):  # also keep x for jvp
        ctx.save_for_backward(*inputs)
        ctx.save_for_forward(*inputs)


class CubeCtx(Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        ctx.save_for_forward(x)
        return x * x * x

    backward = Cube.backward
    jvp = Cube.jvp


def test_double_backward_through_custom_function():
    x = ef.tensor([1.0, 2.0], dtype=ef.float64, requires_grad=True)
    (g,) = ef.autograd.grad(CubeCtx.apply(x).sum(), x, create_graph=True)
    np.testing.assert_allclose(g.detach().numpy(), [3.0, 12.0])
    (gg,) = ef.autograd.grad(g.sum(), x)
    np.testing.assert_allclose(gg.detach().numpy(), [6.0, 12.0])
    assert ef.autograd.gradgradcheck(CubeCtx.apply, (f64(3),))


def test_custom_jvp_forward_mode():
    x = ef.tensor([1.0, 2.0], dtype=ef.float64)
    v = ef.tensor([1.0, -1.0], dtype=ef.float64)
    _, t = ef.func.jvp(CubeCtx.apply, (x,), (v,))
    np.testing.assert_allclose(t.detach().numpy(), [3.0, -12.0])
    import einframe.autograd.forward_ad as fwAD

    with fwAD.dual_level():
        out = CubeCtx.apply(fwAD.make_dual(x, v)) * 2
        np.testing.assert_allclose(fwAD.unpack_dual(out).tangent.detach().numpy(), [6.0, -24.0])


def test_forward_mode_without_jvp_is_a_clear_error():
    with pytest.raises(RuntimeError, match=r"LinearFunction has no forward-mode rule: define `@staticmethod def jvp"):
        ef.func.jvp(lambda a: LinearFunction.apply(a, ef.ones(2, 3, dtype=ef.float64)), (f64(4, 3),), (f64(4, 3),))


class Bilinear(Function):
    equation = "bi,oij,bj->bo"


def test_equation_function():
    x, w, y = f64(2, 3), f64(4, 3, 5), f64(2, 5)
    out = Bilinear.apply(x, w, y)
    np.testing.assert_allclose(
        out.detach().numpy(), np.einsum("bi,oij,bj->bo", x.detach().numpy(), w.detach().numpy(), y.detach().numpy())
    )
    assert out.grad_fn.name() == "BilinearBackward"
    assert out.grad_fn.equation == "bi,oij,bj->bo"
    assert out.grad_fn.backward_equations == [
        "dA = einsum('bo,oij,bj->bi', grad, B, C)",
        "dB = einsum('bo,bi,bj->oij', grad, A, C)",
        "dC = einsum('bo,bi,oij->bj', grad, A, B)",
    ]
    assert ef.autograd.gradcheck(Bilinear.apply, (x, w, y))
    assert ef.autograd.gradgradcheck(Bilinear.apply, (x, w, y))


def test_equation_function_forward_mode_is_derived():
    x, w, y = f64(2, 3), f64(4, 3, 5), f64(2, 5)
    tx, ty = f64(2, 3), f64(2, 5)
    _, t = ef.func.jvp(lambda a, c: Bilinear.apply(a, w, c), (x, y), (tx, ty))
    expect = np.einsum("bi,oij,bj->bo", tx.detach().numpy(), w.detach().numpy(), y.detach().numpy()) + np.einsum(
        "bi,oij,bj->bo", x.detach().numpy(), w.detach().numpy(), ty.detach().numpy()
    )
    np.testing.assert_allclose(t.detach().numpy(), expect)


def test_equation_function_with_diagonal_and_mixed_dtypes():
    class Trace(Function):
        equation = "ii->"

    a = ef.randn(3, 3, requires_grad=True)
    Trace.apply(a).backward()
    np.testing.assert_allclose(a.grad.detach().numpy(), np.eye(3))

    class Dot(Function):
        equation = "i,i"

    r = Dot.apply(ef.ones(3, dtype=ef.float32), ef.ones(3, dtype=ef.float64))
    assert r.dtype == ef.float64 and r.item() == 3.0
    with pytest.raises(TypeError, match="operand 1 is a str"):
        Dot.apply(ef.ones(3), "x")


def test_once_differentiable():
    class Sq(Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x * x

        @staticmethod
        @ef.autograd.once_differentiable
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return ef.tensor(2 * x.detach().numpy() * g.detach().numpy())

    x = f64(2)
    (g,) = ef.autograd.grad(Sq.apply(x).sum(), x, create_graph=True)
    np.testing.assert_allclose(g.detach().numpy(), 2 * x.detach().numpy())
    with pytest.raises(RuntimeError, match="once_differentiable"):
        g.sum().backward()
    Sq.apply(x).sum().backward()
    np.testing.assert_allclose(x.grad.detach().numpy(), 2 * x.detach().numpy())


def test_hooks_on_custom_function_outputs():
    x = f64(3)
    a, b = TwoOut.apply(x)
    b.register_hook(lambda g: g * 0)
    a.retain_grad()
    (a.sum() + b.sum()).backward()
    np.testing.assert_allclose(x.grad.detach().numpy(), [2.0, 2.0, 2.0])
    np.testing.assert_allclose(a.grad.detach().numpy(), [1.0, 1.0, 1.0])


def test_save_for_backward_rejects_non_tensors():
    class Bad(Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x, 3)
            return x

    with pytest.raises(TypeError, match="save_for_backward can only save tensors or None"):
        Bad.apply(f64(2))


class ExpSavingOutput(Function):
    @staticmethod
    def forward(ctx, x):
        out = x.exp()
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, g):
        (out,) = ctx.saved_tensors
        return g * out


def test_saving_the_output_supports_double_backward():
    x = f64(3)
    assert ef.autograd.gradcheck(ExpSavingOutput.apply, (x,))
    assert ef.autograd.gradgradcheck(ExpSavingOutput.apply, (x,))
    y = ExpSavingOutput.apply(x)
    with ef.no_grad():
        y.mul_(2)  # the saved output changed in place
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.sum().backward()
