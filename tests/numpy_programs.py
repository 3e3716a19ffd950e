"""Ordinary NumPy code, written the way NumPy implementations of the classic optimization test
functions are written (SciPy's ``benchmarks/go_benchmark_functions``, the Surjanovic–Bingham
virtual library), with ``tensorcalc.numpy`` imported under NumPy's usual name. Nothing here
is written for tensorcalc: lists of scalars go through ``asarray``, inputs through
``atleast_1d``/``atleast_2d``, and the bodies use the NumPy functions such code uses.

tests/test_numpy_programs.py differentiates every function to second order and compares with
central differences; with plain arrays the same code runs on NumPy itself.
"""

from __future__ import annotations

import tensorcalc.numpy as np

# --- many-dimensional --------------------------------------------------------------------------


def rosenbrock(x):
    x = np.asarray(x)
    return np.sum(100.0 * (x[1:] - x[:-1] ** 2.0) ** 2.0 + (1 - x[:-1]) ** 2.0, axis=0)


def rastrigin(x, A=10.0):
    x = np.atleast_1d(x)
    n = x.shape[0]
    return A * n + np.sum(x ** 2 - A * np.cos(2 * np.pi * x))


def ackley(x, a=20.0, b=0.2, c=2 * np.pi):
    x = np.asarray(x, dtype=float)
    d = len(x)
    s1 = np.sum(x ** 2)
    s2 = np.sum(np.cos(c * x))
    return -a * np.exp(-b * np.sqrt(s1 / d)) - np.exp(s2 / d) + a + np.e


def griewank(x):
    x = np.atleast_1d(x)
    i = np.arange(1, x.size + 1)
    return np.sum(x ** 2) / 4000.0 - np.prod(np.cos(x / np.sqrt(i))) + 1.0


def powell(x):
    x = np.asarray(x)
    x = x.reshape(-1, 4)
    a, b, c, d = x[:, 0], x[:, 1], x[:, 2], x[:, 3]
    terms = (a + 10 * b) ** 2 + 5 * (c - d) ** 2 + (b - 2 * c) ** 4 + 10 * (a - d) ** 4
    return terms.sum()


def trid(x):
    x = np.asarray(x)
    return np.sum((x - 1) ** 2) - np.sum(x[1:] * x[:-1])


def styblinski_tang(x):
    x = np.atleast_1d(x)
    return 0.5 * np.sum(x ** 4 - 16 * x ** 2 + 5 * x)


def zakharov(x):
    x = np.asarray(x)
    i = np.arange(1, len(x) + 1)
    s = np.sum(0.5 * i * x)
    return np.sum(x ** 2) + s ** 2 + s ** 4


def levy(x):
    x = np.asarray(x)
    w = 1 + (x - 1) / 4
    term1 = np.sin(np.pi * w[0]) ** 2
    wi = w[:-1]
    term2 = np.sum((wi - 1) ** 2 * (1 + 10 * np.sin(np.pi * wi + 1) ** 2))
    term3 = (w[-1] - 1) ** 2 * (1 + np.sin(2 * np.pi * w[-1]) ** 2)
    return term1 + term2 + term3


def michalewicz(x, m=10):
    x = np.asarray(x)
    i = np.arange(1, x.size + 1)
    return -np.sum(np.sin(x) * np.sin(i * x ** 2 / np.pi) ** (2 * m))


def dixon_price(x):
    x = np.asarray(x)
    i = np.arange(2, len(x) + 1)
    return (x[0] - 1) ** 2 + np.sum(i * (2 * x[1:] ** 2 - x[:-1]) ** 2)


def rotated_hyper_ellipsoid(x):
    x = np.asarray(x)
    return np.sum(np.cumsum(x ** 2))


def sum_of_different_powers(x):
    x = np.asarray(x)
    return np.sum(np.abs(x) ** np.arange(2, x.size + 2))


def schwefel(x):
    x = np.asarray(x)
    return 418.9829 * x.size - np.sum(x * np.sin(np.sqrt(np.abs(x))))


def perm(x, beta=10.0):
    x = np.asarray(x)
    d = len(x)
    j = np.arange(1, d + 1)
    outer = 0.0
    for i in range(1, d + 1):
        inner = np.sum((j + beta) * (x ** i - 1.0 / j ** i))
        outer = outer + inner ** 2
    return outer


def qing(x):
    x = np.atleast_1d(x)
    i = np.arange(1, x.shape[0] + 1)
    return np.sum((x ** 2 - i) ** 2)


# --- two-dimensional, taking the point as a pair -------------------------------------------------


def beale(x):
    x, y = x
    return ((1.5 - x + x * y) ** 2 + (2.25 - x + x * y ** 2) ** 2
            + (2.625 - x + x * y ** 3) ** 2)


def booth(p):
    x, y = p[0], p[1]
    return (x + 2 * y - 7) ** 2 + (2 * x + y - 5) ** 2


def matyas(p):
    x, y = p
    return 0.26 * (x ** 2 + y ** 2) - 0.48 * x * y


def himmelblau(p):
    x, y = p
    return (x ** 2 + y - 11) ** 2 + (x + y ** 2 - 7) ** 2


def three_hump_camel(p):
    x, y = p
    return 2 * x ** 2 - 1.05 * x ** 4 + x ** 6 / 6 + x * y + y ** 2


def six_hump_camel(p):
    x1, x2 = p
    return (4 - 2.1 * x1 ** 2 + x1 ** 4 / 3) * x1 ** 2 + x1 * x2 + (-4 + 4 * x2 ** 2) * x2 ** 2


def goldstein_price(p):
    x, y = p
    a = 1 + (x + y + 1) ** 2 * (19 - 14 * x + 3 * x ** 2 - 14 * y + 6 * x * y + 3 * y ** 2)
    b = 30 + (2 * x - 3 * y) ** 2 * (18 - 32 * x + 12 * x ** 2 + 48 * y - 36 * x * y
                                     + 27 * y ** 2)
    return a * b


def mccormick(p):
    x, y = p
    return np.sin(x + y) + (x - y) ** 2 - 1.5 * x + 2.5 * y + 1


def branin(p, a=1.0, b=5.1 / (4 * np.pi ** 2), c=5 / np.pi, r=6.0, s=10.0,
           t=1 / (8 * np.pi)):
    x1, x2 = p
    return a * (x2 - b * x1 ** 2 + c * x1 - r) ** 2 + s * (1 - t) * np.cos(x1) + s


def bohachevsky(p):
    x, y = p
    return x ** 2 + 2 * y ** 2 - 0.3 * np.cos(3 * np.pi * x) - 0.4 * np.cos(4 * np.pi * y) + 0.7


def easom(p):
    x, y = p
    return -np.cos(x) * np.cos(y) * np.exp(-((x - np.pi) ** 2 + (y - np.pi) ** 2))


def colville(x):
    x1, x2, x3, x4 = x
    return (100 * (x1 ** 2 - x2) ** 2 + (x1 - 1) ** 2 + (x3 - 1) ** 2
            + 90 * (x3 ** 2 - x4) ** 2 + 10.1 * ((x2 - 1) ** 2 + (x4 - 1) ** 2)
            + 19.8 * (x2 - 1) * (x4 - 1))


def hartmann3(x):
    alpha = np.array([1.0, 1.2, 3.0, 3.2])
    A = np.array([[3.0, 10, 30], [0.1, 10, 35], [3.0, 10, 30], [0.1, 10, 35]])
    P = 1e-4 * np.array([[3689, 1170, 2673], [4699, 4387, 7470],
                         [1091, 8732, 5547], [381, 5743, 8828]])
    x = np.atleast_2d(x)
    inner = np.sum(A * (x[:, None, :] - P) ** 2, axis=-1)
    return -np.sum(alpha * np.exp(-inner), axis=-1)[0]


# --- vectors rebuilt from scalars, the idiom that needs array() of traced values ---------------


def rosenbrock_from_scalars(x):
    x0, x1 = x[0], x[1]
    r = np.array([10 * (x1 - x0 ** 2), 1 - x0])
    return np.dot(r, r)


def spring_energy(q):
    # positions of a chain of three masses, rebuilt as points, with springs between them
    pts = np.asarray([[0.0, 0.0], [q[0], q[1]], [q[2], q[3]], [3.0, 0.0]])
    d = np.diff(pts, axis=0)
    length = np.sqrt(np.sum(d ** 2, axis=1))
    return np.sum((length - 1.0) ** 2) + 0.1 * np.sum(pts[:, 1])


def jacobian_rows(x):
    # a residual vector built row by row, then its least-squares cost
    rows = []
    for k in range(3):
        rows.append([x[0] * k + x[1], np.exp(x[0] * 0.1 * k) - x[1]])
    R = np.array(rows)
    return np.sum(R ** 2) + np.mean([x[0], x[1] ** 2])


# --- statistics and data fitting -----------------------------------------------------------------

_T = np.linspace(0.0, 1.0, 9)
_Y = np.sin(3 * _T) + 0.1 * np.cos(17 * _T)


def logistic_loss(w):
    X = np.c_[np.ones(6), np.linspace(-1, 1, 6), np.linspace(0, 2, 6) ** 2]
    y = np.r_[0, 0, 1, 0, 1, 1]
    w = np.atleast_1d(w)
    z = X @ w
    return np.mean(np.logaddexp(0, z) - y * z)


def polynomial_fit_residual(c):
    V = np.vander(_T, len(c))
    return np.sum((V @ c - _Y) ** 2) + np.sum((np.polyval(c, _T) - _Y) ** 2)


def robust_loss(theta):
    resid = _Y - (theta[0] + theta[1] * _T)
    return np.median(np.abs(resid - 0.05)) + np.percentile(resid ** 2, 75)


def mahalanobis_spread(x):
    X = np.atleast_2d(x).reshape(3, -1)
    C = np.cov(X) + np.eye(3)
    mu = np.mean(X, axis=1)
    return mu @ np.linalg.solve(C, mu) + np.trace(np.corrcoef(X + _T[:X.shape[1]]))


def smoothness_energy(u):
    du = np.gradient(u, _T[:len(u)])
    return np.trapezoid(du ** 2, _T[:len(u)]) + np.sum(np.diff(u, 2) ** 2)


def interpolated_misfit(knots):
    fit = np.interp(_T, np.linspace(0, 1, len(knots)), knots)
    return np.sum((fit - _Y) ** 2)


def spectral_roughness(u):
    U = np.fft.rfft(u)
    k = np.fft.rfftfreq(len(u))
    return np.sum(np.abs(np.fft.irfft(U * k, len(u))) ** 2) + np.sum(u ** 2) * 1e-3


def block_quadratic(x):
    x = np.asarray(x)
    A = np.block([[np.eye(2) * 2.0, np.ones((2, 1))], [np.ones((1, 2)), np.array([[3.0]])]])
    v = np.append(x[:2], x[-1])
    return v @ A @ v + np.sum(np.insert(x, 1, 0.5) ** 3) / 10


PROGRAMS = {
    # name: (function, a test point where it is smooth)
    "rosenbrock": (rosenbrock, [1.2, 0.8, -0.5, 1.1]),
    "rastrigin": (rastrigin, [0.3, -1.2, 2.1]),
    "ackley": (ackley, [0.7, -0.4, 1.3]),
    "griewank": (griewank, [1.5, -2.0, 0.7, 3.0]),
    "powell": (powell, [3.0, -1.0, 0.5, 1.0, 0.2, 0.4, -0.3, 1.5]),
    "trid": (trid, [1.0, 2.0, -0.5, 0.3]),
    "styblinski_tang": (styblinski_tang, [-2.9, 1.0, 0.5]),
    "zakharov": (zakharov, [0.5, -0.3, 0.2]),
    "levy": (levy, [1.3, -0.7, 2.2]),
    "michalewicz": (michalewicz, [2.2, 1.57, 1.3]),
    "dixon_price": (dixon_price, [1.0, 0.7, -0.4]),
    "rotated_hyper_ellipsoid": (rotated_hyper_ellipsoid, [0.5, -1.0, 2.0]),
    "sum_of_different_powers": (sum_of_different_powers, [0.5, -0.8, 0.3]),
    "schwefel": (schwefel, [420.0, 300.0, -200.0]),
    "perm": (perm, [1.0, 0.5, 0.3]),
    "qing": (qing, [1.0, 1.3, -1.7]),
    "beale": (beale, [2.5, 0.4]),
    "booth": (booth, [1.2, 2.7]),
    "matyas": (matyas, [0.3, -0.9]),
    "himmelblau": (himmelblau, [2.8, 1.9]),
    "three_hump_camel": (three_hump_camel, [0.4, -0.6]),
    "six_hump_camel": (six_hump_camel, [0.1, -0.7]),
    "goldstein_price": (goldstein_price, [0.1, -0.9]),
    "mccormick": (mccormick, [-0.5, -1.5]),
    "branin": (branin, [3.0, 2.5]),
    "bohachevsky": (bohachevsky, [0.3, -0.2]),
    "easom": (easom, [3.0, 3.3]),
    "colville": (colville, [0.9, 0.8, 1.1, 1.2]),
    "hartmann3": (hartmann3, [0.1, 0.55, 0.85]),
    "rosenbrock_from_scalars": (rosenbrock_from_scalars, [0.5, 0.3]),
    "spring_energy": (spring_energy, [1.1, 0.3, 2.0, -0.2]),
    "jacobian_rows": (jacobian_rows, [0.4, -0.2]),
    "logistic_loss": (logistic_loss, [0.1, -0.5, 0.3]),
    "polynomial_fit_residual": (polynomial_fit_residual, [0.3, -1.0, 0.5, 0.1]),
    "robust_loss": (robust_loss, [0.05, 0.9]),
    "mahalanobis_spread": (mahalanobis_spread, [0.3, 1.0, -0.4, 0.8, 0.2, 0.5, -1.1, 0.7, 0.1]),
    "smoothness_energy": (smoothness_energy, [0.1, 0.5, 0.4, 0.9, 1.3, 1.0]),
    "interpolated_misfit": (interpolated_misfit, [0.0, 0.6, 0.9, 0.4]),
    "spectral_roughness": (spectral_roughness, [0.2, -0.1, 0.5, 0.9, -0.3, 0.4, 0.1, 0.0]),
    "block_quadratic": (block_quadratic, [0.5, -0.3, 1.2]),
}
