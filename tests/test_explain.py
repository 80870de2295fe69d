"""ef.autograd.explain: the printed backward graph and its Graphviz export."""

from __future__ import annotations

import io
import re

import einframe as ef
from einframe.autograd import Function


def _mlp():
    x = ef.randn(4, 3, requires_grad=True)
    w = ef.randn(5, 3, requires_grad=True)
    b = ef.randn(5, requires_grad=True)
    return x, w, b, (ef.einsum("bi,oi->bo", x, w) + b).tanh().sum()


def test_explain_lists_nodes_equations_and_shapes(capsys):
    x, w, b, y = _mlp()
    g = ef.autograd.explain(y)
    text = capsys.readouterr().out
    assert text.strip() == str(g)
    assert [n.name for n in g.nodes] == [
        "ContractBackward",
        "TanhBackward",
        "AddBackward",
        "ContractBackward",
        "AccumulateGrad",
        "AccumulateGrad",
        "AccumulateGrad",
    ]
    lin = g.nodes[3]
    assert lin.forward == "einsum('bi,oi->bo')"
    assert lin.backward == ["dA = einsum('bo,oi->bi', grad, B)", "dB = einsum('bo,bi->oi', grad, A)"]
    assert lin.shape == (4, 5)
    assert [src[2] for src in lin.inputs] == [(4, 3), (5, 3)]
    assert g.nodes[2].inputs[1][2] == (5,)  # the bias
    assert "einsum('bi,oi->bo')" in text and "dB = einsum('bo,bi->oi', grad, A)" in text
    assert "-> (4, 5)" in text and "(5, 3) from" in text


def test_explain_order_is_the_engine_order():
    _, _, _, y = _mlp()
    g = ef.autograd.explain(y, file=None)
    index = {id(n.node): n.index for n in g.nodes}
    for n in g.nodes:  # every producer comes after its consumers
        for src in n.inputs:
            if src is not None:
                assert src[0] > n.index
    assert len(index) == len(g.nodes)


def test_explain_to_dot():
    _, _, _, y = _mlp()
    dot = ef.autograd.explain(y, file=None).to_dot()
    assert dot.startswith("digraph backward {") and dot.rstrip().endswith("}")
    assert len(re.findall(r"^\s*n\d+ \[label=", dot, re.M)) == 7
    assert len(re.findall(r"^\s*n\d+ -> n\d+", dot, re.M)) == 6
    assert "einsum('bi,oi->bo')" in dot
    assert dot.count("{") == dot.count("}")


def test_explain_custom_function_and_multi_output():
    class Split(Function):
        @staticmethod
        def forward(ctx, x):
            return x[:2] * 1, x[2:] * 1

        @staticmethod
        def backward(ctx, a, b):
            return ef.cat([a, b])

    x = ef.randn(5, requires_grad=True)
    a, b = Split.apply(x)
    g = ef.autograd.explain((a.sum() + b.sum() * 2), file=None)
    names = [n.name for n in g.nodes]
    assert "SplitBackward" in names
    node = g.nodes[names.index("SplitBackward")]
    assert node.kind == "Function"
    assert "Split.forward" in node.forward and "Split.backward" in node.backward[0]
    out_shapes = {src[2] for n in g.nodes for src in n.inputs if src is not None and src[0] == node.index}
    assert out_shapes == {(2,), (3,)}
    assert "output 1" in str(g)


def test_explain_equation_function():
    class Outer(Function):
        equation = "i,j->ij"

    x = ef.randn(3, requires_grad=True)
    g = ef.autograd.explain(Outer.apply(x, ef.randn(2)).sum(), file=None)
    node = next(n for n in g.nodes if n.name == "OuterBackward")
    assert node.forward == "einsum('i,j->ij')"
    assert node.backward[0] == "dA = einsum('ij,j->i', grad, B)"
    assert node.inputs[1] is None  # the second operand needs no gradient
    assert "input 1: no gradient" in str(g)


def test_explain_without_graph_and_on_a_leaf():
    out = io.StringIO()
    g = ef.autograd.explain(ef.ones(3), file=out)
    assert g.nodes == [] and "no backward graph" in out.getvalue()
    leaf = ef.ones(2, requires_grad=True)
    g = ef.autograd.explain(leaf, file=None)
    assert [n.name for n in g.nodes] == ["AccumulateGrad"] and g.nodes[0].shape == (2,)
    assert "1 nodes" in repr(g) or "1 nodes" in str(g)


def test_explain_non_contract_nodes_show_their_parameters():
    x = ef.randn(2, 3, requires_grad=True)
    g = ef.autograd.explain(x.reshape(6).exp().sum(), file=None)
    reshape = next(n for n in g.nodes if n.name == "ReshapeBackward")
    assert "shape=(6,)" in reshape.forward
    assert reshape.shape == (6,)
    assert "vjp" in reshape.backward[0]
