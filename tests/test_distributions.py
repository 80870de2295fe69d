"""ef.distributions: densities, entropies and KLs against closed forms and values pasted from PyTorch,
sample moments under a fixed seed, float64 gradchecks, shapes and argument validation."""

import math

import numpy as np
import pytest

import einframe as ef
from einframe import distributions as D
from einframe.autograd import gradcheck


def _np(t):
    return np.asarray(t.detach().numpy(), dtype=np.float64)


def close(a, b, tol=1e-5):
    np.testing.assert_allclose(_np(a), np.asarray(b, dtype=np.float64), rtol=tol, atol=tol)


def test_lazy_attribute():
    assert ef.distributions is D and D.Normal is ef.distributions.normal.Normal


def test_normal_formulas():
    loc, scale = np.array([0.5, -1.0, 2.0]), np.array([1.5, 0.3, 2.0])
    v = np.array([[0.1, 0.2, 3.0], [1.0, 1.0, 1.0]])
    d = D.Normal(ef.tensor(loc), ef.tensor(scale))
    close(d.log_prob(ef.tensor(v)), -((v - loc) ** 2) / (2 * scale**2) - np.log(scale) - 0.5 * np.log(2 * np.pi))
    close(d.entropy(), 0.5 + 0.5 * np.log(2 * np.pi) + np.log(scale))
    close(d.mean, loc), close(d.mode, loc), close(d.stddev, scale), close(d.variance, scale**2)
    cdf = d.cdf(ef.tensor(v))
    close(cdf, 0.5 * (1 + np.vectorize(math.erf)((v - loc) / (scale * np.sqrt(2)))))
    close(d.icdf(cdf), v, 1e-4)


def test_uniform_formulas():
    d = D.Uniform(ef.tensor([0.0, -1.0]), ef.tensor([2.0, 3.0]))
    close(d.log_prob(ef.tensor([1.0, 0.0])), [-np.log(2), -np.log(4)])
    close(d.entropy(), [np.log(2), np.log(4)])
    close(d.mean, [1.0, 1.0]), close(d.variance, [4 / 12, 16 / 12])
    close(d.cdf(ef.tensor([0.5, 2.0])), [0.25, 0.75]), close(d.icdf(ef.tensor([0.5, 0.25])), [1.0, 0.0])
    out = D.Uniform(0.0, 1.0, validate_args=False).log_prob(ef.tensor([2.0]))
    assert _np(out)[0] == -np.inf


@pytest.mark.parametrize("param", ["probs", "logits"])
def test_bernoulli(param):
    p = np.array([0.1, 0.5, 0.9])
    d = D.Bernoulli(**{param: ef.tensor(p if param == "probs" else np.log(p / (1 - p)))})
    x = np.array([1.0, 0.0, 1.0])
    close(d.log_prob(ef.tensor(x)), x * np.log(p) + (1 - x) * np.log(1 - p))
    close(d.entropy(), -(p * np.log(p) + (1 - p) * np.log(1 - p)))
    close(d.probs, p), close(d.mean, p), close(d.variance, p * (1 - p))
    np.testing.assert_array_equal(_np(d.mode), [0.0, np.nan, 1.0])
    assert tuple(d.enumerate_support().shape) == (2, 3)


@pytest.mark.parametrize("param", ["probs", "logits"])
def test_categorical(param):
    w = np.array([[0.2, 0.3, 0.5], [0.6, 0.1, 0.3]])
    d = D.Categorical(**{param: ef.tensor(w * 4 if param == "probs" else np.log(w) + 1.0)})
    assert d.batch_shape == (2,) and d.event_shape == ()
    close(d.probs, w)
    close(d.log_prob(ef.tensor([2, 0])), np.log([0.5, 0.6]))
    close(d.log_prob(ef.tensor([[2], [1]])), np.log([[0.5, 0.3], [0.3, 0.1]]))  # value broadcasts with batch
    close(d.entropy(), -(w * np.log(w)).sum(-1))
    assert d.mode.tolist() == [2, 0]
    assert np.isnan(_np(d.mean)).all()


def test_one_hot_categorical():
    w = ef.tensor([[0.2, 0.3, 0.5], [0.6, 0.1, 0.3]])
    d = D.OneHotCategorical(probs=w)
    assert d.batch_shape == (2,) and d.event_shape == (3,)
    close(d.log_prob(ef.tensor([[0.0, 0.0, 1.0], [1.0, 0.0, 0.0]])), np.log([0.5, 0.6]))
    s = d.sample((7,))
    assert tuple(s.shape) == (7, 2, 3) and (_np(s).sum(-1) == 1).all()
    close(d.mode, [[0, 0, 1], [1, 0, 0]])


def test_gamma_beta_torch_values():
    # values pasted from torch.distributions (torch 2.x, float32)
    c, r = ef.tensor([0.5, 2.0, 5.0]), ef.tensor([1.0, 3.0, 0.2])
    g = D.Gamma(c, r)
    close(g.log_prob(ef.tensor([0.3, 1.0, 4.0])), [-0.2704, -0.8028, -6.4801], 1e-4)
    close(g.entropy(), [0.0906, 0.4786, 3.763], 1e-4)
    close(g.mean, [0.5, 2 / 3, 25.0]), close(g.variance, [0.5, 2 / 9, 125.0], 1e-4)
    b = D.Beta(c, r)
    close(b.log_prob(ef.tensor([0.3, 0.5, 0.9])), [-0.0912, 0.4055, 0.2021], 1e-4)
    close(b.entropy(), [-0.3069, -0.2349, -4.079], 1e-4)
    close(b.mean, [1 / 3, 0.4, 5 / 5.2])
    close(D.kl_divergence(g, D.Gamma(r, c)), [0.8525, 0.8201, 124.9316], 1e-4)
    close(D.kl_divergence(b, D.Beta(r, c)), [0.6931, 0.5, 32.6168], 1e-4)


def _mvn_reference(loc, cov, v):
    n = len(loc)
    diff = v - loc
    maha = np.einsum("...i,ij,...j->...", diff, np.linalg.inv(cov), diff)
    return -0.5 * (n * np.log(2 * np.pi) + np.linalg.slogdet(cov)[1] + maha)


@pytest.mark.parametrize("kind", ["covariance_matrix", "scale_tril", "precision_matrix"])
def test_multivariate_normal(kind):
    cov = np.array([[2.0, 0.3, 0.1], [0.3, 1.0, 0.2], [0.1, 0.2, 0.5]])
    loc = np.array([0.1, -0.2, 0.3])
    mat = {"covariance_matrix": cov, "scale_tril": np.linalg.cholesky(cov), "precision_matrix": np.linalg.inv(cov)}
    d = D.MultivariateNormal(ef.tensor(loc), **{kind: ef.tensor(mat[kind])})
    v = np.array([[0.1, 0.2, 3.0], [1.0, 1.0, 1.0]])
    close(d.log_prob(ef.tensor(v)), _mvn_reference(loc, cov, v), 1e-4)
    close(d.entropy(), 0.5 * (3 * (1 + np.log(2 * np.pi)) + np.linalg.slogdet(cov)[1]), 1e-4)
    close(d.covariance_matrix, cov, 1e-4), close(d.precision_matrix, np.linalg.inv(cov), 1e-3)
    close(d.variance, np.diag(cov), 1e-4), close(d.mean, loc)
    assert d.batch_shape == () and d.event_shape == (3,)
    batched = D.MultivariateNormal(ef.zeros(4, 1, 3), **{kind: ef.tensor(mat[kind]).expand(2, 3, 3)})
    assert batched.batch_shape == (4, 2) and tuple(batched.rsample((5,)).shape) == (5, 4, 2, 3)
    assert tuple(batched.log_prob(ef.zeros(3)).shape) == (4, 2)


def test_kl_closed_forms():
    p, q = D.Normal(ef.tensor([0.0, 1.0]), ef.tensor([1.0, 2.0])), D.Normal(ef.tensor(0.5), ef.tensor(1.5))
    mp, sp, mq, sq = np.array([0.0, 1.0]), np.array([1.0, 2.0]), 0.5, 1.5
    close(D.kl_divergence(p, q), np.log(sq / sp) + (sp**2 + (mp - mq) ** 2) / (2 * sq**2) - 0.5)
    pb, qb = np.array([0.0, 0.3, 1.0]), np.array([0.5, 0.6, 0.0])
    kb = D.kl_divergence(D.Bernoulli(ef.tensor(pb)), D.Bernoulli(ef.tensor(qb)))
    close(kb[:2], [np.log(2), 0.3 * np.log(0.3 / 0.6) + 0.7 * np.log(0.7 / 0.4)])
    assert _np(kb)[2] == np.inf
    pc, qc = np.array([0.2, 0.3, 0.5]), np.array([0.4, 0.4, 0.2])
    close(D.kl_divergence(D.Categorical(ef.tensor(pc)), D.Categorical(ef.tensor(qc))), (pc * np.log(pc / qc)).sum())
    ku = D.kl_divergence(D.Uniform(ef.tensor([0.0, -1.0]), ef.tensor([1.0, 2.0])), D.Uniform(-0.5, 1.5))
    close(ku[:1], [np.log(2.0)])
    assert _np(ku)[1] == np.inf
    cp, cq = np.array([[2.0, 0.3], [0.3, 1.0]]), np.array([[1.0, -0.2], [-0.2, 0.5]])
    lp, lq = np.array([0.1, 0.2]), np.array([-0.3, 1.0])
    k = D.kl_divergence(D.MultivariateNormal(ef.tensor(lp), ef.tensor(cp)), D.MultivariateNormal(ef.tensor(lq), ef.tensor(cq)))
    iq = np.linalg.inv(cq)
    ref = 0.5 * (np.trace(iq @ cp) + (lq - lp) @ iq @ (lq - lp) - 2 + np.log(np.linalg.det(cq) / np.linalg.det(cp)))
    close(k, ref, 1e-4)
    # pasted from torch: Normal(0, 1) vs Normal(0, 2)
    close(D.kl_divergence(D.Normal(0.0, 1.0), D.Normal(0.0, 2.0)), 0.3181472, 1e-5)


def test_kl_independent_and_registry():
    base = D.Normal(ef.zeros(2, 3), ef.ones(2, 3))
    k = D.kl_divergence(D.Independent(base, 1), D.Independent(D.Normal(ef.ones(2, 3), ef.ones(2, 3)), 1))
    close(k, [1.5, 1.5])
    with pytest.raises(NotImplementedError):
        D.kl_divergence(D.Normal(0.0, 1.0), D.Uniform(0.0, 1.0))

    class MyNormal(D.Normal):
        pass

    close(D.kl_divergence(MyNormal(0.0, 1.0), D.Normal(1.0, 1.0)), 0.5)  # dispatches on the parent
    with pytest.raises(TypeError):
        D.register_kl(int, D.Normal)


def test_sample_moments():
    ef.manual_seed(0)
    n = 20000
    s = D.Normal(ef.tensor([1.0, -2.0]), ef.tensor([0.5, 3.0])).sample((n,))
    close(s.mean(0), [1.0, -2.0], 0.1), close(s.std(0), [0.5, 3.0], 0.1)
    u = D.Uniform(ef.tensor(2.0), ef.tensor(5.0)).sample((n,))
    assert 2.0 <= float(u.min()) and float(u.max()) < 5.0 and abs(float(u.mean()) - 3.5) < 0.05
    b = D.Bernoulli(ef.tensor([0.2, 0.7])).sample((n,))
    close(b.mean(0), [0.2, 0.7], 0.02)
    c = D.Categorical(ef.tensor([0.1, 0.6, 0.3])).sample((n,))
    np.testing.assert_allclose(np.bincount(c.numpy(), minlength=3) / n, [0.1, 0.6, 0.3], atol=0.02)
    cov = np.array([[2.0, 0.6], [0.6, 1.0]])
    m = D.MultivariateNormal(ef.tensor([1.0, -1.0]), ef.tensor(cov)).sample((n,)).numpy()
    np.testing.assert_allclose(m.mean(0), [1.0, -1.0], atol=0.05)
    np.testing.assert_allclose(np.cov(m.T), cov, atol=0.1)
    g = D.Gamma(ef.tensor(3.0), ef.tensor(2.0)).sample((n,)).numpy()
    assert abs(g.mean() - 1.5) < 0.05 and abs(g.var() - 0.75) < 0.05
    be = D.Beta(ef.tensor(2.0), ef.tensor(5.0)).sample((n,)).numpy()
    assert abs(be.mean() - 2 / 7) < 0.01
    ef.manual_seed(3)
    a = D.Normal(0.0, 1.0).sample((4,))
    ef.manual_seed(3)
    assert (a == D.Normal(0.0, 1.0).sample((4,))).all()


def test_shapes():
    d = D.Normal(ef.zeros(3, 1), ef.ones(4))
    assert d.batch_shape == (3, 4) and d.event_shape == ()
    assert tuple(d.sample().shape) == (3, 4) and tuple(d.sample((2, 5)).shape) == (2, 5, 3, 4)
    assert tuple(d.expand((2, 3, 4)).sample().shape) == (2, 3, 4)
    assert tuple(D.Categorical(logits=ef.zeros(3, 4)).sample((6,)).shape) == (6, 3)
    ind = D.Independent(D.Normal(ef.zeros(2, 3, 4), 1.0), 2)
    assert ind.batch_shape == (2,) and ind.event_shape == (3, 4) and ind.has_rsample
    assert tuple(ind.entropy().shape) == (2,) and tuple(ind.rsample((5,)).shape) == (5, 2, 3, 4)
    assert D.Bernoulli(logits=ef.zeros(2)).expand((3, 2)).sample().shape == (3, 2)


def test_rsample_gradients():
    loc = ef.tensor([0.5, -1.0], requires_grad=True)
    scale = ef.tensor([2.0, 0.5], requires_grad=True)
    ef.manual_seed(0)
    x = D.Normal(loc, scale).rsample((3,))
    x.sum().backward()
    close(loc.grad, [3.0, 3.0])
    ef.manual_seed(0)
    eps = D.Normal(ef.zeros(2), ef.ones(2)).sample((3,))
    close(scale.grad, _np(eps).sum(0))
    assert D.Normal(loc, scale).sample().requires_grad is False
    with pytest.raises(NotImplementedError):
        D.Gamma(1.0, 1.0).rsample()


def _fixed(fn):
    """Reseed before every call, so a gradcheck of an rsample sees the same noise each time."""

    def wrapped(*args):
        ef.manual_seed(7)
        return fn(*args)

    return wrapped


def test_gradcheck_float64():
    d64 = ef.float64
    loc = ef.tensor([0.3, -0.7], dtype=d64, requires_grad=True)
    scale = ef.tensor([1.2, 0.4], dtype=d64, requires_grad=True)
    v = ef.tensor([0.1, 0.5], dtype=d64)
    assert gradcheck(_fixed(lambda m, s: D.Normal(m, s).rsample((3,))), (loc, scale))
    assert gradcheck(lambda m, s: D.Normal(m, s).log_prob(v), (loc, scale))
    assert gradcheck(lambda m, s: D.kl_divergence(D.Normal(m, s), D.Normal(0.2, 1.5)), (loc, scale))
    lo, hi = ef.tensor([0.0], dtype=d64, requires_grad=True), ef.tensor([2.0], dtype=d64, requires_grad=True)
    assert gradcheck(_fixed(lambda a, b: D.Uniform(a, b).rsample((4,))), (lo, hi))
    logits = ef.tensor([[0.2, -1.0, 0.5]], dtype=d64, requires_grad=True)
    assert gradcheck(lambda z: D.Categorical(logits=z).entropy(), (logits,))
    assert gradcheck(lambda z: D.Categorical(logits=z).log_prob(ef.tensor([2])), (logits,))
    assert gradcheck(lambda z: D.Bernoulli(logits=z).log_prob(ef.tensor([[1.0, 0.0, 1.0]], dtype=d64)), (logits,))
    assert gradcheck(lambda z: D.Bernoulli(logits=z).entropy(), (logits,))
    c = ef.tensor([0.7, 2.5], dtype=d64, requires_grad=True)
    assert gradcheck(lambda a: D.Gamma(a, 1.5).log_prob(ef.tensor([0.4, 2.0], dtype=d64)), (c,))
    assert gradcheck(lambda a: D.Beta(a, 2.0).entropy(), (c,))
    mloc = ef.tensor([0.1, -0.2], dtype=d64, requires_grad=True)
    L = ef.tensor([[1.1, 0.0], [0.3, 0.8]], dtype=d64, requires_grad=True)
    assert gradcheck(_fixed(lambda m, s: D.MultivariateNormal(m, scale_tril=ef.tril(s)).rsample((3,))), (mloc, L))
    assert gradcheck(
        lambda m, s: D.MultivariateNormal(m, scale_tril=ef.tril(s)).log_prob(ef.tensor([0.5, 0.5], dtype=d64)), (mloc, L)
    )
    cov = ef.tensor([[1.5, 0.2], [0.2, 0.9]], dtype=d64, requires_grad=True)
    q = D.MultivariateNormal(ef.zeros(2, dtype=d64), ef.eye(2, dtype=d64))
    assert gradcheck(lambda m, S: D.kl_divergence(D.MultivariateNormal(m, (S + S.mT) / 2), q), (mloc, cov))


@pytest.mark.parametrize(
    "make",
    [
        lambda: D.Normal(0.0, -1.0),
        lambda: D.Normal(ef.tensor([0.0, float("nan")]), 1.0),
        lambda: D.Uniform(1.0, 0.0),
        lambda: D.Bernoulli(ef.tensor(1.5)),
        lambda: D.Categorical(ef.tensor([-0.5, 1.0])),
        lambda: D.Gamma(ef.tensor(-1.0), 1.0),
        lambda: D.MultivariateNormal(ef.zeros(2), ef.tensor([[1.0, 2.0], [2.0, 1.0]])),
        lambda: D.MultivariateNormal(ef.zeros(2), scale_tril=ef.tensor([[1.0, 1.0], [0.0, 1.0]])),
        lambda: D.MultivariateNormal(ef.tensor(0.0), ef.eye(1)),
        lambda: D.MultivariateNormal(ef.zeros(2), ef.eye(2), scale_tril=ef.eye(2)),
        lambda: D.Bernoulli(probs=ef.tensor(0.3), logits=ef.tensor(0.1)),
        lambda: D.Independent(D.Normal(ef.zeros(2), 1.0), 2),
        lambda: D.Bernoulli(ef.tensor(0.3)).log_prob(ef.tensor(0.5)),
        lambda: D.Categorical(ef.tensor([0.5, 0.5])).log_prob(ef.tensor(2)),
        lambda: D.Normal(ef.zeros(3), 1.0).log_prob(ef.ones(2)),
        lambda: D.Uniform(0.0, 1.0).log_prob(ef.tensor(1.5)),
    ],
)
def test_validation_errors(make):
    with pytest.raises(ValueError):
        make()


def test_validation_can_be_disabled():
    d = D.Normal(0.0, -1.0, validate_args=False)
    assert np.isnan(_np(d.log_prob(ef.tensor(0.0))))
    msg = "Expected parameter scale (Tensor of shape ()) of distribution Normal(loc: 0.0, scale: -1.0)"
    with pytest.raises(ValueError, match=msg.replace("(", r"\(").replace(")", r"\)")):
        D.Normal(0.0, -1.0)
    D.Distribution.set_default_validate_args(False)
    try:
        D.Normal(0.0, -1.0)
    finally:
        D.Distribution.set_default_validate_args(True)
