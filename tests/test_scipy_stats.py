"""tensorcalc.scipy.stats (issue 17, item 6): values against scipy.stats, derivatives in the
point and the parameters against central differences (tc.check_grads, order 2, both modes),
and the refusal of derivatives that have no closed form."""

import numpy as np
import pytest

import tensorcalc as tc

ss = pytest.importorskip("scipy.stats")
ts = pytest.importorskip("tensorcalc.scipy.stats")

RNG = np.random.default_rng(6)
U = RNG.uniform(0.1, 0.9, 5)
Z = RNG.standard_normal(5) * 2
POS = np.abs(Z) + 0.1
K = np.array([0.0, 1, 2, 3, 7, -1, 2.5])

CONTINUOUS = [
    ("norm", Z, (0.3, 1.7)), ("t", Z, (3.5, 0.3, 1.7)), ("gamma", Z, (2.5, -0.4, 1.3)),
    ("beta", U, (2.5, 1.5)), ("expon", Z, (0.1, 1.3)), ("laplace", Z, (0.1, 1.3)),
    ("logistic", Z, (0.1, 1.3)), ("cauchy", Z, (0.1, 1.3)), ("uniform", Z, (-1.0, 2.5)),
    ("chi2", POS, (3.0,)), ("pareto", Z + 2, (2.5, 0.1, 1.2)), ("gumbel_r", Z, (0.3, 1.5)),
    ("gumbel_l", Z, (0.3, 1.5)), ("truncnorm", Z, (-1.0, 1.5, 0.2, 1.3)),
    ("gennorm", Z, (1.5, 0.2, 1.3)),
]
DISCRETE = [("poisson", K, (2.3,)), ("bernoulli", np.array([0.0, 1, 2, -1, 0.5]), (0.3,)),
            ("binom", K, (6, 0.3)), ("geom", K, (0.3,)), ("nbinom", K, (3.5, 0.4))]


@pytest.mark.parametrize("name,x,params", CONTINUOUS, ids=[c[0] for c in CONTINUOUS])
@pytest.mark.parametrize("method", ["logpdf", "pdf", "cdf", "logcdf", "sf", "logsf"])
def test_continuous_values_match_scipy(name, x, params, method):
    with np.errstate(divide="ignore"):
        want = getattr(getattr(ss, name), method)(x, *params)
    np.testing.assert_allclose(getattr(getattr(ts, name), method)(x, *params), want,
                               rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("name,k,params", DISCRETE, ids=[d[0] for d in DISCRETE])
@pytest.mark.parametrize("method", ["logpmf", "pmf", "cdf", "sf"])
def test_discrete_values_match_scipy(name, k, params, method):
    with np.errstate(divide="ignore"):
        want = getattr(getattr(ss, name), method)(k, *params)
    np.testing.assert_allclose(getattr(getattr(ts, name), method)(k, *params), want,
                               rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("name", ["norm", "expon", "logistic", "cauchy"])
def test_ppf_matches_scipy(name):
    np.testing.assert_allclose(getattr(ts, name).ppf(U, 0.3, 2.0),
                               getattr(ss, name).ppf(U, 0.3, 2.0), rtol=1e-10)


@pytest.mark.parametrize("name,x,params,methods", [
    ("vonmises", Z, (2.0, 0.1), ("logpdf", "pdf")),
    ("wrapcauchy", Z + 2.0, (0.4, 0.1), ("logpdf", "pdf")),
    ("betabinom", K, (6, 2.5, 1.5), ("logpmf", "pmf"))])
def test_density_only_values_match_scipy(name, x, params, methods):
    for method in methods:
        with np.errstate(divide="ignore"):
            want = getattr(getattr(ss, name), method)(x, *params)
        np.testing.assert_allclose(getattr(getattr(ts, name), method)(x, *params), want,
                                   rtol=1e-9, atol=1e-12)


def test_sem_matches_scipy():
    a = RNG.standard_normal((4, 3))
    for axis in (0, 1, None):
        np.testing.assert_allclose(ts.sem(a, axis=axis), ss.sem(a, axis=axis), rtol=1e-12)


def test_multinomial_values_match_scipy():
    x = np.array([[1.0, 2, 3], [0, 6, 0], [1, 1, 1.5], [1, 1, 1]])
    p = np.array([0.2, 0.5, 0.3])
    with np.errstate(divide="ignore"):
        want = ss.multinomial.logpmf(x, 6, p)
    np.testing.assert_allclose(ts.multinomial.logpmf(x, 6, p), want, rtol=1e-10)


def test_multivariate_values_match_scipy():
    a = RNG.standard_normal((3, 3))
    cov = a @ a.T + np.eye(3)
    mean = RNG.standard_normal(3)
    x = RNG.standard_normal((4, 3))
    mvn_t, mvn_s = ts.multivariate_normal, ss.multivariate_normal
    for args in [(x, mean, cov), (x[0], mean, cov), (x, mean, np.diag(cov)), (x, np.zeros(3), 2.0)]:
        np.testing.assert_allclose(mvn_t.logpdf(*args), mvn_s.logpdf(*args), rtol=1e-10)
        np.testing.assert_allclose(mvn_t.pdf(*args), mvn_s.pdf(*args), rtol=1e-10)
    alpha = np.array([1.5, 2.0, 3.0])
    xs = RNG.dirichlet(alpha, 4).T   # components on the first axis, as in SciPy
    for xx in (xs, xs[:, 0], xs[:2]):
        np.testing.assert_allclose(ts.dirichlet.logpdf(xx, alpha), ss.dirichlet.logpdf(xx, alpha),
                                   rtol=1e-10)


GRADS = {
    "norm.logpdf": (lambda x, m, s: ts.norm.logpdf(x, m, s), (Z, 0.3, 1.7)),
    "norm.logcdf": (lambda x, m, s: ts.norm.logcdf(x, m, s), (Z, 0.3, 1.7)),
    "norm.cdf": (lambda x, m, s: ts.norm.cdf(x, m, s), (Z, 0.3, 1.7)),
    "norm.ppf": (lambda q, m, s: ts.norm.ppf(q, m, s), (U, 0.3, 1.7)),
    "t.logpdf": (lambda x, df, m, s: ts.t.logpdf(x, df, m, s), (Z, 3.5, 0.3, 1.7)),
    "t.cdf": (lambda x, m, s: ts.t.cdf(x, 3.5, m, s), (Z, 0.3, 1.7)),
    "gamma.logpdf": (lambda x, a, s: ts.gamma.logpdf(x, a, 0.0, s), (POS, 2.5, 1.3)),
    "gamma.cdf": (lambda x, s: ts.gamma.cdf(x, 2.5, 0.0, s), (POS, 1.3)),
    "beta.logpdf": (lambda x, a, b: ts.beta.logpdf(x, a, b), (U, 2.5, 1.5)),
    "beta.cdf": (lambda x: ts.beta.cdf(x, 2.5, 1.5), (U,)),
    "expon.logpdf": (lambda x, s: ts.expon.logpdf(x, 0.0, s), (POS, 1.3)),
    "laplace.logpdf": (lambda x, m, s: ts.laplace.logpdf(x, m, s), (Z + 0.05, 0.0, 1.3)),
    "logistic.logpdf": (lambda x, m, s: ts.logistic.logpdf(x, m, s), (Z, 0.1, 1.3)),
    "cauchy.logpdf": (lambda x, m, s: ts.cauchy.logpdf(x, m, s), (Z, 0.1, 1.3)),
    "chi2.logpdf": (lambda x, df: ts.chi2.logpdf(x, df), (POS, 3.0)),
    "poisson.logpmf": (lambda mu: ts.poisson.logpmf(K[:4], mu), (2.3,)),
    "poisson.cdf": (lambda mu: ts.poisson.cdf(K[:4], mu), (2.3,)),
    "bernoulli.logpmf": (lambda p: ts.bernoulli.logpmf(np.array([0.0, 1.0]), p), (0.3,)),
    "binom.logpmf": (lambda p: ts.binom.logpmf(K[:4], 6, p), (0.3,)),
    "binom.cdf": (lambda p: ts.binom.cdf(K[:4], 6, p), (0.3,)),
    "geom.logpmf": (lambda p: ts.geom.logpmf(K[1:4], p), (0.3,)),
    "pareto.logpdf": (lambda x, b, s: ts.pareto.logpdf(x, b, 0.0, s), (POS + 1.5, 2.5, 1.2)),
    "pareto.cdf": (lambda x, b: ts.pareto.cdf(x, b), (POS + 1.0, 2.5)),
    "gumbel_r.logpdf": (lambda x, m, s: ts.gumbel_r.logpdf(x, m, s), (Z, 0.3, 1.5)),
    "gumbel_l.cdf": (lambda x, m, s: ts.gumbel_l.cdf(x, m, s), (Z, 0.3, 1.5)),
    "truncnorm.logpdf": (lambda x, a, b, m: ts.truncnorm.logpdf(x, a, b, m),
                         (np.clip(Z, -0.9, 1.4), -1.0, 1.5, 0.0)),
    "truncnorm.cdf": (lambda x, a, b: ts.truncnorm.cdf(x, a, b),
                      (np.clip(Z, -0.9, 1.4), -1.0, 1.5)),
    "vonmises.logpdf": (lambda x, k, m: ts.vonmises.logpdf(x, k, m), (Z / 3, 2.0, 0.1)),
    "wrapcauchy.logpdf": (lambda x, c: ts.wrapcauchy.logpdf(x, c), (POS, 0.4)),
    "sem": (lambda a: ts.sem(a, axis=None), (RNG.standard_normal((2, 3)),)),
    "gennorm.logpdf": (lambda x, b: ts.gennorm.logpdf(x, b), (Z + 0.05, 1.5)),
    "gennorm.cdf": (lambda x: ts.gennorm.cdf(x, 1.5), (Z + 0.05,)),
    "nbinom.logpmf": (lambda n, p: ts.nbinom.logpmf(K[:4], n, p), (3.5, 0.4)),
    "nbinom.cdf": (lambda p: ts.nbinom.cdf(K[:4], 3.5, p), (0.4,)),
    "betabinom.logpmf": (lambda a, b: ts.betabinom.logpmf(K[:4], 6, a, b), (2.5, 1.5)),
    "multinomial.logpmf": (lambda p: ts.multinomial.logpmf(np.array([1.0, 2, 3]), 6, p),
                           (np.array([0.2, 0.5, 0.3]),)),
    "mvn.logpdf": (lambda x, m, c: ts.multivariate_normal.logpdf(x, m, c),
                   (RNG.standard_normal((4, 3)), RNG.standard_normal(3),
                    np.eye(3) * 2 + 0.3)),
    "mvn.logpdf_diag": (lambda x, c: ts.multivariate_normal.logpdf(x, None, c),
                        (RNG.standard_normal(3), np.array([1.0, 2.0, 0.5]))),
    "dirichlet.logpdf": (lambda x, a: ts.dirichlet.logpdf(x, a),
                         (RNG.dirichlet([1.5, 2.0, 3.0], 2).T, np.array([1.5, 2.0, 3.0]))),
}


@pytest.mark.parametrize("name", sorted(GRADS))
def test_derivatives(name):
    fn, args = GRADS[name]
    tc.check_grads(fn, args, order=2, modes=("fwd", "rev"))


def test_under_jit_and_vmap():
    f = tc.jit(tc.grad(lambda m: ts.norm.logpdf(Z, m, 1.5).sum()))
    np.testing.assert_allclose(f(0.3), np.sum(Z - 0.3) / 1.5 ** 2, rtol=1e-12)
    v = tc.vmap(lambda x: ts.multivariate_normal.logpdf(x, np.zeros(2), np.eye(2)))(
        RNG.standard_normal((5, 2)))
    assert v.shape == (5,)


def test_shape_parameter_derivatives_without_closed_form_raise():
    with pytest.raises(tc.NotDifferentiableError, match="gammainc.*with respect to a"):
        tc.grad(lambda a: ts.gamma.cdf(1.0, a))(2.0)
    with pytest.raises(tc.NotDifferentiableError, match="betainc"):
        tc.grad(lambda df: ts.t.cdf(0.5, df))(3.0)


def test_mvn_shape_error():
    with pytest.raises(ValueError, match="cov has shape"):
        ts.multivariate_normal.logpdf(np.zeros(3), None, np.eye(2))
