"""Layers (functional init/apply), parameter gradients, optimizers on a quadratic, and
save/load of parameter pytrees."""

import numpy as np
import pytest

import tensorcalc as tc
import tensorcalc.nn as nn


def test_linear_gradient_is_xT_delta(rng):
    # z = x W + b with rows as examples: ∂J/∂W = xᵀ δ, ∂J/∂b = Σ_rows δ (docs/lessons/networks.md).
    layer = nn.Linear(4, 3)
    params = layer.init(rng)
    x = rng.standard_normal((5, 4))
    delta = rng.standard_normal((5, 3))
    g = tc.grad(lambda p: (layer.apply(p, x) * delta).sum())(params)
    np.testing.assert_allclose(g["W"], x.T @ delta, atol=1e-12)
    np.testing.assert_allclose(g["b"], delta.sum(0), atol=1e-12)


def test_mlp_check_grads(rng):
    model = nn.MLP(3, [5, 4], 2, activation="tanh")
    params = model.init(0)
    x = rng.standard_normal((6, 3))
    labels = rng.integers(0, 2, 6)
    tc.check_grads(lambda p: nn.softmax_cross_entropy(model.apply(p, x), labels), (params,),
                   order=2)


def test_sequential_structure_and_init_is_seeded():
    model = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1, bias=False))
    p1, p2 = model.init(7), model.init(7)
    assert [sorted(p) for p in p1] == [["W", "b"], [], ["W"]]
    np.testing.assert_array_equal(p1[0]["W"], p2[0]["W"])
    assert model.apply(p1, np.ones((4, 2))).shape == (4, 1)
    assert "Linear(2, 3" in repr(model)


def test_conv_net_gradients(rng):
    model = nn.Sequential(nn.Conv2d(1, 2, 3, padding=1), nn.Tanh(), nn.AvgPool2d(2),
                          nn.Flatten(), nn.Linear(8, 3))
    params = model.init(0)
    x = rng.standard_normal((2, 1, 4, 4))
    labels = np.array([0, 2])
    tc.check_grads(lambda p: nn.softmax_cross_entropy(model.apply(p, x), labels), (params,),
                   order=1)


def test_layer_errors():
    with pytest.raises(TypeError, match="forget the parentheses"):
        nn.Sequential(nn.Linear(2, 2), nn.ReLU)
    with pytest.raises(ValueError, match="unknown activation"):
        nn.MLP(2, [3], 1, activation="swish")
    with pytest.raises(ValueError, match="params has 1 entries"):
        nn.Sequential(nn.Linear(2, 2), nn.ReLU()).apply([{}], np.ones((1, 2)))


def _quadratic():
    # f(p) = ½ Σ a_i (p_i − c_i)², minimum at c; params as a nested pytree.
    a = {"u": np.array([1.0, 4.0]), "v": [np.array([[2.0]])]}
    c = {"u": np.array([3.0, -1.0]), "v": [np.array([[0.5]])]}

    def f(p):
        return 0.5 * ((a["u"] * (p["u"] - c["u"]) ** 2).sum()
                      + (a["v"][0] * (p["v"][0] - c["v"][0]) ** 2).sum())

    p0 = {"u": np.zeros(2), "v": [np.zeros((1, 1))]}
    return f, p0, c


@pytest.mark.parametrize("opt", [
    nn.SGD(lr=0.1), nn.SGD(lr=0.05, momentum=0.9), nn.SGD(lr=0.05, momentum=0.9, nesterov=True),
    nn.Adam(lr=0.1), nn.Adam(lr=0.1, weight_decay=1e-6, decoupled=True),
])
def test_optimizers_minimize_a_quadratic(opt):
    f, params, c = _quadratic()
    state = opt.init(params)
    for _ in range(400):
        params, state = opt.update(tc.grad(f)(params), state, params)
    np.testing.assert_allclose(params["u"], c["u"], atol=1e-3)
    np.testing.assert_allclose(params["v"][0], c["v"][0], atol=1e-3)
    assert state.step == 400


def test_sgd_one_step_matches_formula():
    opt = nn.SGD(lr=0.1, momentum=0.5, weight_decay=0.01, nesterov=True)
    p = np.array([1.0, -2.0])
    g = np.array([0.5, 0.25])
    state = opt.init(p)
    p1, state = opt.update(g, state, p)
    gd = g + 0.01 * p
    v = gd  # v0 = 0
    np.testing.assert_allclose(p1, p - 0.1 * (gd + 0.5 * v))


def test_adam_first_step_is_lr_times_sign():
    opt = nn.Adam(lr=0.01)
    p = np.array([1.0, 1.0])
    p1, _ = opt.update(np.array([3.0, -0.2]), opt.init(p), p)
    np.testing.assert_allclose(p1, p - 0.01 * np.array([1.0, -1.0]), rtol=1e-6)


def test_optimizer_errors():
    with pytest.raises(ValueError, match="lr must be > 0"):
        nn.SGD(lr=0)
    with pytest.raises(ValueError, match="nesterov"):
        nn.SGD(nesterov=True)
    opt = nn.Adam()
    with pytest.raises(ValueError, match="structure"):
        opt.update([np.ones(2)], opt.init({"a": np.ones(2)}), {"a": np.ones(2)})


def test_save_load_round_trip(tmp_path):
    params = [{"W": np.arange(6.0).reshape(2, 3), "b": np.zeros(3, np.float32)}, {},
              ({"k": np.array([1, 2])}, None), [np.float64(2.5)]]
    path = tmp_path / "params.npz"
    nn.save(path, params)
    back = nn.load(path)
    assert isinstance(back, list) and isinstance(back[2], tuple) and back[2][1] is None
    np.testing.assert_array_equal(back[0]["W"], params[0]["W"])
    assert back[0]["b"].dtype == np.float32
    assert back[1] == {}
    np.testing.assert_array_equal(back[2][0]["k"], [1, 2])
    assert float(back[3][0]) == 2.5


def test_save_load_model_params(tmp_path):
    model = nn.MLP(4, [8], 3)
    params = model.init(1)
    nn.save(tmp_path / "m.npz", params)
    x = np.ones((2, 4))
    np.testing.assert_array_equal(model.apply(nn.load(tmp_path / "m.npz"), x),
                                  model.apply(params, x))


def test_save_errors(tmp_path):
    with pytest.raises(TypeError, match="string"):
        nn.save(tmp_path / "x.npz", {1: np.ones(2)})
    np.savez(tmp_path / "plain.npz", a=np.ones(2))
    with pytest.raises(ValueError, match="not written by tensorcalc.nn.save"):
        nn.load(tmp_path / "plain.npz")
