"""Exponential, Laplace, Cauchy, Gumbel, LogNormal, HalfNormal, Poisson, Geometric,
RelaxedOneHotCategorical and MixtureSameFamily: every closed form checked against numerical
integration or summation (no PyTorch), reparametrized draws against their moments and by gradcheck."""

from __future__ import annotations

import math

import numpy as np
import pytest

import einframe as ef
from einframe import distributions as D
from einframe.autograd import gradcheck

T = lambda *a: ef.tensor(np.asarray(a[0] if len(a) == 1 else a, dtype=np.float64))  # noqa: E731

# (family, parameters, integration grid): grids wide enough that the tails left out are < 1e-6
CONTINUOUS = [
    (D.Exponential, (T(1.7),), np.linspace(0, 15, 300001)),
    (D.Laplace, (T(0.3), T(1.4)), np.linspace(-30, 30, 600001)),
    (D.Cauchy, (T(-0.5), T(0.8)), np.linspace(-4000, 4000, 8000001)),
    (D.Gumbel, (T(0.2), T(1.3)), np.linspace(-8, 40, 480001)),
    (D.LogNormal, (T(0.1), T(0.6)), np.linspace(1e-9, 60, 600001)),
    (D.HalfNormal, (T(1.6),), np.linspace(0, 15, 300001)),
]
FINITE_MOMENTS = {D.Exponential, D.Laplace, D.Gumbel, D.LogNormal, D.HalfNormal}


@pytest.mark.parametrize("cls,params,grid", CONTINUOUS, ids=lambda v: getattr(v, "__name__", ""))
def test_continuous_closed_forms_match_numerical_integrals(cls, params, grid):
    d = cls(*params)
    x = ef.tensor(grid)
    lp = d.log_prob(x).numpy()
    p = np.exp(lp)
    assert abs(np.trapezoid(p, grid) - 1) < 2e-4  # normalised (the Cauchy's tails are the slowest)
    cdf = d.cdf(x).numpy()
    from_density = np.concatenate([[0.0], np.cumsum((p[1:] + p[:-1]) / 2 * np.diff(grid))]) + cdf[0]
    np.testing.assert_allclose(cdf, from_density, atol=2e-4)
    q = ef.tensor(np.array([0.1, 0.35, 0.5, 0.8, 0.97]))
    np.testing.assert_allclose(d.cdf(d.icdf(q)).numpy(), q.numpy(), atol=1e-12)
    if cls is not D.Cauchy:  # the Cauchy's entropy integral converges too slowly on any finite grid
        ent = -np.trapezoid(np.where(p > 0, p * lp, 0.0), grid)
        assert abs(d.entropy().item() - ent) < 1e-4
    if cls in FINITE_MOMENTS:
        m = np.trapezoid(grid * p, grid)
        assert abs(d.mean.item() - m) < 1e-4
        assert abs(d.variance.item() - np.trapezoid((grid - m) ** 2 * p, grid)) < 2e-3
        assert abs(d.stddev.item() - math.sqrt(d.variance.item())) < 1e-12
    else:
        assert math.isnan(d.mean.item()) and math.isinf(d.variance.item())


@pytest.mark.parametrize("cls,params,grid", CONTINUOUS, ids=lambda v: getattr(v, "__name__", ""))
def test_rsample_moments_and_reparametrized_gradients(cls, params, grid):
    d = cls(*params)
    assert d.has_rsample
    ef.manual_seed(0)
    x = d.rsample((200000,)).numpy()
    assert x.shape == (200000,) and np.isfinite(x).all()
    if cls is D.Cauchy:  # median and quartiles instead of moments
        loc, scale = params[0].item(), params[1].item()
        q1, med, q3 = np.quantile(x, [0.25, 0.5, 0.75])
        assert abs(med - loc) < 0.02 and abs((q3 - q1) / 2 - scale) < 0.02
    else:
        sd = math.sqrt(d.variance.item())
        assert abs(x.mean() - d.mean.item()) < 5 * sd / math.sqrt(len(x))
        assert abs(x.var() / d.variance.item() - 1) < 0.05
    # a seeded draw is a smooth function of the parameters: its gradient is the reparametrization's
    ps = [p.clone().requires_grad_() for p in params]

    def draw(*ps):
        ef.manual_seed(1)
        return cls(*ps).rsample((6,))

    assert gradcheck(draw, ps)
    assert d.sample((3, 2)).shape == (3, 2) and not d.sample().requires_grad


@pytest.mark.parametrize(
    "p,q",
    [
        (D.Exponential(T(1.5)), D.Exponential(T(0.4))),
        (D.Laplace(T(0.0), T(1.0)), D.Laplace(T(0.7), T(2.0))),
        (D.Gumbel(T(0.0), T(1.0)), D.Gumbel(T(0.5), T(1.7))),
        (D.LogNormal(T(0.1), T(0.5)), D.LogNormal(T(-0.3), T(0.9))),
        (D.HalfNormal(T(1.0)), D.HalfNormal(T(2.5))),
    ],
    ids=lambda d: type(d).__name__,
)
def test_kl_divergences_match_monte_carlo(p, q):
    ef.manual_seed(2)
    x = p.sample((400000,))
    mc = (p.log_prob(x) - q.log_prob(x)).numpy()
    kl = D.kl_divergence(p, q).item()
    assert abs(kl - mc.mean()) < 5 * mc.std() / math.sqrt(len(mc)) + 1e-6
    assert abs(D.kl_divergence(p, p).item()) < 1e-12


def test_poisson():
    d = D.Poisson(T(0.5, 3.0))
    k = ef.tensor(np.arange(60.0)[:, None])
    pmf = d.log_prob(k).exp().numpy()
    np.testing.assert_allclose(pmf.sum(0), 1.0, atol=1e-12)
    np.testing.assert_allclose((pmf * k.numpy()).sum(0), [0.5, 3.0], atol=1e-10)
    np.testing.assert_allclose((pmf * (k.numpy() - [0.5, 3.0]) ** 2).sum(0), d.variance.numpy(), atol=1e-9)
    assert math.isclose(D.Poisson(T(2.0)).log_prob(T(3.0)).exp().item(), 4 / 3 * math.exp(-2), rel_tol=1e-12)
    assert D.Poisson(T(0.0)).log_prob(T(0.0)).item() == 0.0  # xlogy: 0 log 0 = 0
    ef.manual_seed(3)
    s = d.sample((100000,)).numpy()
    assert (s % 1 == 0).all() and np.allclose(s.mean(0), [0.5, 3.0], atol=0.03)
    with pytest.raises(ValueError, match="support"):
        d.log_prob(T(1.5, 1.0))
    p, q = D.Poisson(T(2.0)), D.Poisson(T(5.0))
    exact = sum(math.exp(p.log_prob(T(float(j))).item()) * (p.log_prob(T(float(j))) - q.log_prob(T(float(j)))).item()
                for j in range(80))  # fmt: skip
    assert math.isclose(D.kl_divergence(p, q).item(), exact, rel_tol=1e-10)
    assert d.mode.tolist() == [0.0, 3.0]


@pytest.mark.parametrize("param", ["probs", "logits"])
def test_geometric(param):
    probs = np.array([0.25, 0.6])
    d = D.Geometric(probs=ef.tensor(probs)) if param == "probs" else D.Geometric(logits=ef.tensor(np.log(probs / (1 - probs))))
    k = ef.tensor(np.arange(200.0)[:, None])
    pmf = d.log_prob(k).exp().numpy()
    np.testing.assert_allclose(pmf[:3, 0], [0.25, 0.25 * 0.75, 0.25 * 0.75**2], rtol=1e-12)
    np.testing.assert_allclose(pmf.sum(0), 1.0, atol=1e-12)
    np.testing.assert_allclose((pmf * k.numpy()).sum(0), d.mean.numpy(), rtol=1e-10)
    np.testing.assert_allclose((pmf * (k.numpy() - d.mean.numpy()) ** 2).sum(0), d.variance.numpy(), rtol=1e-9)
    np.testing.assert_allclose(d.entropy().numpy(), -(pmf * np.log(pmf)).sum(0), rtol=1e-9)
    ef.manual_seed(4)
    s = d.sample((100000,)).numpy()
    assert (s % 1 == 0).all() and np.allclose(s.mean(0), d.mean.numpy(), rtol=0.03)


def test_geometric_sure_success_and_known_entropy():
    # PyTorch 2.13: Geometric(probs=[0.25, 1.0]).entropy(), and log_prob(0) of a sure success
    np.testing.assert_allclose(D.Geometric(probs=T(0.25, 1.0)).entropy().numpy(), [2.2493405784752336, 2.2e-16], atol=1e-15)
    assert D.Geometric(probs=T(1.0)).log_prob(T(0.0)).item() == 0.0


def test_relaxed_one_hot_categorical():
    # PyTorch 2.13 values (float64)
    d = D.RelaxedOneHotCategorical(T(0.7), probs=T(0.2, 0.3, 0.5))
    v = ef.tensor(np.array([[0.1, 0.2, 0.7], [0.5, 0.25, 0.25]]))
    np.testing.assert_allclose(d.log_prob(v).numpy(), [0.8986260662628887, -0.30622153706829547], rtol=1e-12)
    assert d.batch_shape == () and d.event_shape == (3,)
    ef.manual_seed(5)
    x = d.rsample((50000,)).numpy()
    assert np.allclose(x.sum(-1), 1) and (x > 0).all()
    # at low temperature the argmax of a draw is a draw from the categorical
    cold = D.RelaxedOneHotCategorical(T(0.05), probs=T(0.2, 0.3, 0.5))
    counts = np.bincount(cold.rsample((50000,)).numpy().argmax(-1), minlength=3) / 50000
    assert np.allclose(counts, [0.2, 0.3, 0.5], atol=0.01)
    logits = ef.tensor(np.array([0.1, -0.4, 0.3]), requires_grad=True)

    def draw(lg):
        ef.manual_seed(6)
        return D.RelaxedOneHotCategorical(T(0.9), logits=lg).rsample((4,))

    assert gradcheck(draw, (logits,))
    assert D.RelaxedOneHotCategorical(T(0.5), logits=ef.zeros(2, 4, dtype=ef.float64)).expand((3, 2)).rsample().shape == (3, 2, 4)


def test_mixture_same_family():
    w, loc, scale = np.array([0.3, 0.7]), np.array([-1.0, 2.0]), np.array([0.5, 1.5])
    mix = D.MixtureSameFamily(D.Categorical(probs=ef.tensor(w)), D.Normal(ef.tensor(loc), ef.tensor(scale)))
    x = np.linspace(-4, 6, 7)
    dens = (w * np.exp(-((x[:, None] - loc) ** 2) / (2 * scale**2)) / (scale * math.sqrt(2 * math.pi))).sum(-1)
    np.testing.assert_allclose(mix.log_prob(ef.tensor(x)).numpy(), np.log(dens), rtol=1e-12)
    m = (w * loc).sum()
    assert math.isclose(mix.mean.item(), m) and math.isclose(mix.variance.item(), (w * (scale**2 + (loc - m) ** 2)).sum())
    ef.manual_seed(7)
    s = mix.sample((200000,)).numpy()
    assert abs(s.mean() - m) < 0.02 and abs(s.var() / mix.variance.item() - 1) < 0.02
    # batched mixture of 2-D independent normals: log_prob over the event, samples of the event shape
    comp = D.Independent(D.Normal(ef.zeros(4, 3, 2, dtype=ef.float64), ef.ones(4, 3, 2, dtype=ef.float64)), 1)
    bm = D.MixtureSameFamily(D.Categorical(logits=ef.zeros(4, 3, dtype=ef.float64)), comp)
    assert bm.batch_shape == (4,) and bm.event_shape == (2,)
    assert bm.sample((5,)).shape == (5, 4, 2) and bm.log_prob(ef.zeros(5, 4, 2, dtype=ef.float64)).shape == (5, 4)
    np.testing.assert_allclose(bm.log_prob(ef.zeros(4, 2, dtype=ef.float64)).numpy(), -math.log(2 * math.pi), rtol=1e-12)
    with pytest.raises(ValueError, match="does not equal"):
        D.MixtureSameFamily(D.Categorical(probs=ef.ones(3)), D.Normal(ef.zeros(2), ef.ones(2)))
    with pytest.raises(ValueError, match="Categorical"):
        D.MixtureSameFamily(D.Normal(0.0, 1.0), D.Normal(ef.zeros(2), ef.ones(2)))


def test_parameter_validation_and_expand():
    with pytest.raises(ValueError, match="rate"):
        D.Exponential(T(-1.0))
    with pytest.raises(ValueError, match="scale"):
        D.Laplace(T(0.0), T(0.0))
    with pytest.raises(ValueError, match="support"):
        D.HalfNormal(T(1.0)).log_prob(T(-1.0))
    for d in (D.Exponential(T(2.0)), D.Gumbel(T(0.0), T(1.0)), D.LogNormal(T(0.0), T(1.0)), D.Poisson(T(1.0)),
              D.Geometric(probs=T(0.5)), D.Cauchy(T(0.0), T(1.0)), D.HalfNormal(T(1.0)), D.Laplace(T(0.0), T(1.0))):  # fmt: skip
        e = d.expand((3, 2))
        assert e.batch_shape == (3, 2) and e.sample().shape == (3, 2), type(d).__name__


# ---- TransformedDistribution and transforms ----------------------------------------------------------
from einframe.distributions import transforms as TR  # noqa: E402


def test_transformed_exp_normal_is_the_lognormal():
    base = D.Normal(T(0.2, -0.4), T(0.7, 1.3))
    td = D.TransformedDistribution(base, TR.ExpTransform())
    ln = D.LogNormal(T(0.2, -0.4), T(0.7, 1.3))
    y = T(0.5, 2.5)
    np.testing.assert_allclose(td.log_prob(y).numpy(), ln.log_prob(y).numpy(), rtol=1e-13)
    np.testing.assert_allclose(td.cdf(y).numpy(), ln.cdf(y).numpy(), rtol=1e-13)
    np.testing.assert_allclose(td.icdf(T(0.1, 0.9)).numpy(), ln.icdf(T(0.1, 0.9)).numpy(), rtol=1e-12)
    assert td.batch_shape == (2,) and td.event_shape == () and td.has_rsample


@pytest.mark.parametrize(
    "transforms,grid",
    [
        ([TR.TanhTransform()], np.linspace(-1 + 1e-9, 1 - 1e-9, 400001)),
        ([TR.SigmoidTransform()], np.linspace(1e-12, 1 - 1e-12, 400001)),
        ([TR.SoftplusTransform()], np.linspace(1e-9, 30, 600001)),
        ([TR.AffineTransform(1.0, -2.0), TR.TanhTransform()], np.linspace(-1 + 1e-9, 1 - 1e-9, 400001)),
        ([TR.ExpTransform(), TR.PowerTransform(T(0.5))], np.linspace(1e-9, 40, 800001)),
    ],
    ids=["tanh", "sigmoid", "softplus", "affine-tanh", "exp-sqrt"],
)
def test_transformed_densities_normalise_and_sample_consistently(transforms, grid):
    d = D.TransformedDistribution(D.Normal(T(0.3), T(0.8)), transforms)
    p = d.log_prob(ef.tensor(grid)).exp().numpy()
    assert abs(np.trapezoid(p, grid) - 1) < 2e-3
    ef.manual_seed(8)
    s = d.sample((200000,)).numpy()
    assert abs(s.mean() - np.trapezoid(grid * p, grid)) < 0.01  # the density's mean is the samples' mean
    q = np.quantile(s, [0.25, 0.5, 0.75])
    np.testing.assert_allclose(d.cdf(ef.tensor(q)).numpy(), [0.25, 0.5, 0.75], atol=0.01)


def test_tanh_cache_scores_saturated_samples_and_rsample_gradients():
    mu = ef.tensor(np.array([0.0, 30.0]), requires_grad=True)
    d = D.TransformedDistribution(D.Normal(mu, T(1.0)), [TR.TanhTransform(cache_size=1)])
    ef.manual_seed(9)
    a = d.rsample()
    assert a.detach().numpy()[1] == 1.0  # tanh saturates in float64 ...
    lp = d.log_prob(a)  # ... yet the cached pre-image scores it finitely
    assert np.isfinite(lp.detach().numpy()).all()
    (a.sum() + lp.sum()).backward()
    assert np.isfinite(mu.grad.numpy()).all()
    x = ef.tensor(np.array([0.3, -1.2]), requires_grad=True)

    def draw(m):
        ef.manual_seed(10)
        dd = D.TransformedDistribution(D.Normal(m, T(0.5)), [TR.AffineTransform(0.5, 2.0), TR.SigmoidTransform()])
        return dd.rsample((3,))

    assert gradcheck(draw, (x,))


def test_transform_inverses_jacobians_and_errors():
    x = ef.tensor(np.array([-1.5, 0.2, 2.0]), requires_grad=True)
    for t in (
        TR.ExpTransform(),
        TR.SigmoidTransform(),
        TR.TanhTransform(),
        TR.SoftplusTransform(),
        TR.AffineTransform(0.3, -1.7),
    ):
        y = t(x)
        np.testing.assert_allclose(t.inv(y).detach().numpy(), x.detach().numpy(), rtol=1e-9, atol=1e-12)
        (dy,) = ef.autograd.grad(y.sum(), x)  # elementwise maps: the Jacobian is diagonal
        np.testing.assert_allclose(t.log_abs_det_jacobian(x, y).detach().numpy(), np.log(np.abs(dy.numpy())), rtol=1e-9)
        np.testing.assert_allclose(t.inv.log_abs_det_jacobian(y, x).detach().numpy(), -np.log(np.abs(dy.numpy())), rtol=1e-9)
    c = TR.ComposeTransform([TR.AffineTransform(1.0, 2.0), TR.ExpTransform()])
    np.testing.assert_allclose(c(T(0.5)).item(), math.exp(2.0))
    np.testing.assert_allclose(c.log_abs_det_jacobian(T(0.5), c(T(0.5))).item(), math.log(2.0) + 2.0)
    ev = D.TransformedDistribution(D.Normal(ef.zeros(3, dtype=ef.float64), ef.ones(3, dtype=ef.float64)),
                                   [TR.AffineTransform(0.0, T(1.0, 2.0, 3.0), event_dim=1)])  # fmt: skip
    assert ev.batch_shape == () and ev.event_shape == (3,)
    np.testing.assert_allclose(ev.log_prob(ef.zeros(3, dtype=ef.float64)).item(), -1.5 * math.log(2 * math.pi) - math.log(6.0))
    assert ev.expand((4,)).sample().shape == (4, 3)
    with pytest.raises(ValueError, match="Transform"):
        D.TransformedDistribution(D.Normal(T(0.0), T(1.0)), ["exp"])
    with pytest.raises(ValueError, match="cache_size"):
        TR.TanhTransform(cache_size=2)


def test_dirichlet():
    alpha = np.array([[0.7, 2.0, 3.5], [1.0, 1.0, 1.0]])
    d = D.Dirichlet(ef.tensor(alpha))
    assert d.batch_shape == (2,) and d.event_shape == (3,)
    # the flat Dirichlet on 3 categories has density 2 (the simplex's area is 1/2); known log-normaliser otherwise
    v = ef.tensor(np.array([[0.2, 0.3, 0.5], [0.2, 0.3, 0.5]]))
    lp = d.log_prob(v).numpy()
    assert abs(lp[1] - math.log(2.0)) < 1e-12
    ref = ((alpha[0] - 1) * np.log([0.2, 0.3, 0.5])).sum() + math.lgamma(alpha[0].sum()) - sum(math.lgamma(x) for x in alpha[0])
    assert abs(lp[0] - ref) < 1e-12
    ef.manual_seed(11)
    s = d.sample((200000,)).numpy()
    assert np.allclose(s.sum(-1), 1) and (s > 0).all()
    np.testing.assert_allclose(s.mean(0), d.mean.numpy(), atol=3e-3)
    np.testing.assert_allclose(s.var(0), d.variance.numpy(), rtol=0.03)
    ent_mc = -d.log_prob(ef.tensor(s)).numpy().mean(0)
    np.testing.assert_allclose(d.entropy().numpy(), ent_mc, atol=0.01)
    q = D.Dirichlet(ef.tensor(np.array([[2.0, 1.0, 1.5], [0.5, 2.0, 1.0]])))
    kl_mc = (d.log_prob(ef.tensor(s)) - q.log_prob(ef.tensor(s))).numpy().mean(0)
    np.testing.assert_allclose(D.kl_divergence(d, q).numpy(), kl_mc, atol=0.02)
    assert abs(D.kl_divergence(d, d).numpy()).max() < 1e-12
    np.testing.assert_allclose(D.Dirichlet(ef.tensor(np.array([0.5, 0.3, 0.2]))).mode.numpy(), [1.0, 0.0, 0.0])
    assert d.expand((4, 2)).sample().shape == (4, 2, 3)
    with pytest.raises(ValueError, match="concentration"):
        D.Dirichlet(ef.tensor(np.array([1.0, -1.0])))
