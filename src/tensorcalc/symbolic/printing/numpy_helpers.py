"""Helper functions the generated NumPy source defines when it uses them (numerically stable
softmax and log-sum-exp, the adjugate through the SVD, the commutation and diagonal-embedding
matrices, and the guard that refuses a numerically singular matrix where a formula divides by
its determinant)."""

HELPERS = {
    "_softmax": (
        "def _softmax(z):\n    e = np.exp(z - np.max(z))\n    return e / np.sum(e)\n"
    ),
    "_logsumexp": (
        "def _logsumexp(z):\n    m = np.max(z)\n    return m + np.log(np.sum(np.exp(z - m)))\n"
    ),
    "_commutation": (
        "def _commutation(m, n):\n"
        "    # K @ vec(X) == vec(X.T) for X of shape (m, n), column-major vec\n"
        "    K = np.zeros((m * n, m * n))\n"
        "    i, j = np.meshgrid(np.arange(m), np.arange(n), indexing='ij')\n"
        "    K[(i * n + j).ravel(), (j * m + i).ravel()] = 1.0\n"
        "    return K\n"
    ),
    "_diag_embed": (
        "def _diag_embed(n):\n    E = np.zeros((n * n, n))\n"
        "    E[np.arange(n) * (n + 1), np.arange(n)] = 1.0\n    return E\n"
    ),
    "_diag_rows": (
        "def _diag_rows(d):\n"
        "    # diag_embed(n).T @ diag(vec(M)) from d = diag(M): row i holds d[i]\n"
        "    # at column i * (n + 1), the position of M[i, i] in vec(M)\n"
        "    n = d.shape[0]\n    out = np.zeros((n, n * n))\n"
        "    out[np.arange(n), np.arange(n) * (n + 1)] = d\n    return out\n"
    ),
    "_adjugate": (
        "def _adjugate(a):\n"
        "    # adj(A) = det(U) det(V) V diag(prod_{j != i} s_j) U' from A = U S V': no inverse,\n"
        "    # so it is exact at singular matrices too (where det(A) inv(A) is 0 * inf)\n"
        "    u, s, vt = np.linalg.svd(a)\n"
        "    left = np.concatenate(([1.0], np.cumprod(s[:-1])))\n"
        "    right = np.concatenate((np.cumprod(s[::-1][:-1])[::-1], [1.0]))\n"
        "    sign = np.linalg.det(u) * np.linalg.det(vt)\n"
        "    return sign * (vt.T * (left * right)) @ u.T\n"
    ),
    "_nonsingular": (
        "def _nonsingular(a, what):\n"
        "    # The formula divides by det(a) (through inv/solve); near a singular a its relative\n"
        "    # error is about cond(a) * eps, so refuse instead of returning a wrong tensor.\n"
        "    c = np.linalg.cond(a)\n"
        "    if not c * np.finfo(float).eps <= 1e-6:\n"
        "        raise np.linalg.LinAlgError(\n"
        "            f'{what}: the matrix is numerically singular (condition number {c:.3g}); '\n"
        "            'the formula goes through its inverse and would give a wrong tensor '\n"
        "            'here; evaluate at a non-singular matrix')\n"
        "    return a\n"
    ),
}
