"""qtrain.quantum.carleman.polymaps against independent oracles (finite differences, closed
forms)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import scipy.sparse as sp

from qtrain.quantum.carleman import digits, random_maps
from qtrain.quantum.carleman import polymaps as pm
from qtrain.quantum.carleman import taylor as taylor_maps


def _tensor_apply(tensor: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Contract every input index of an (n, n, …, n) tensor with u."""
    out = tensor
    for _ in range(tensor.ndim - 1):
        out = out @ u
    return out


def test_kron_power_and_poly_apply_match_tensor_contraction():
    rng = np.random.default_rng(1)
    n = 3
    tensors = [rng.standard_normal((n,) * (ell + 1)) for ell in range(4)]
    F = [tensors[0]] + [t.reshape(n, n**ell) for ell, t in enumerate(tensors) if ell > 0]
    u = rng.standard_normal(n)
    expected = tensors[0] + sum(_tensor_apply(t, u) for t in tensors[1:])
    assert np.allclose(pm.poly_apply(F, u), expected)
    assert np.allclose(pm.gd_step(F, u), u + expected)
    assert np.allclose(pm.kron_power(u, 0), [1.0])
    assert np.allclose(pm.kron_power(u, 2), np.outer(u, u).ravel())
    # sparse terms and absent terms give the same result
    F_sparse = [None, sp.csr_matrix(F[1]), None, sp.csr_matrix(F[3])]
    expected = _tensor_apply(tensors[1], u) + _tensor_apply(tensors[3], u)
    assert np.allclose(pm.poly_apply(F_sparse, u), expected)
    assert pm.degree(F_sparse) == 3 and pm.map_dimension(F_sparse) == n


def test_symmetrize_keeps_the_action_and_is_symmetric():
    rng = np.random.default_rng(2)
    n = 3
    f = rng.standard_normal((n, n**3))
    sym = pm.symmetrize(f, 3)
    u = rng.standard_normal(n)
    assert np.allclose(sym @ pm.kron_power(u, 3), f @ pm.kron_power(u, 3))
    tensor = sym.reshape(n, n, n, n)
    for perm in itertools.permutations((1, 2, 3)):
        assert np.allclose(np.transpose(tensor, (0, *perm)), tensor)


def test_nonlinearity_ratio_and_spectral_radius_scalar_closed_form():
    # u' = u − a u + c u² + f0: R = (|c|·|u| + |f0|/|u|) / (1 − |1 − a|)
    a, c, f0, u = 0.3, 0.2, 0.01, 0.5
    F = [np.array([f0]), np.array([[-a]]), np.array([[c]])]
    assert pm.spectral_radius(F) == pytest.approx(0.7)
    assert pm.nonlinearity_ratio(F, np.array([u])) == pytest.approx((c * u + f0 / u) / a)
    assert pm.nonlinearity_ratio(F, np.array([0.0])) == np.inf
    assert pm.nonlinearity_ratio([None, np.array([[0.1]]), F[2]], np.array([u])) == np.inf
    assert pm.operator_norm(np.array([[3.0, 4.0]])) == pytest.approx(5.0)


@pytest.mark.parametrize("kind", random_maps.MAP_KINDS)
def test_random_map_controls_spectrum_and_nonlinearity(kind):
    eta, n = 0.1, 4
    m = random_maps.random_map(
        n, kind, eta=eta, degree=3, nonlinearity=(0.7, 0.4), u0_norm=0.2, seed=3
    )
    rho = pm.spectral_radius(m.F)
    expected = {
        "dissipative": rho < 1,
        "almost_dissipative": abs(rho - 1) < 1e-12,
        "almost_dissipative_coupled": abs(rho - 1) < 1e-12,
        "divergent": rho == pytest.approx(1 + eta * 1.0),
    }[kind]
    assert expected
    assert pm.operator_norm(m.F[2]) == pytest.approx(eta * 0.7)
    assert pm.operator_norm(m.F[3]) == pytest.approx(eta * 0.4)
    assert np.linalg.norm(m.u0) == pytest.approx(0.2)
    # gradient of a scalar loss: F_1 symmetric, every derivative tensor fully symmetric
    assert np.allclose(m.F[1], m.F[1].T)
    for ell in (2, 3):
        tensor = m.F[ell].reshape((n,) * (ell + 1))
        for perm in itertools.permutations(range(ell + 1)):
            assert np.allclose(np.transpose(tensor, perm), tensor)
    if kind.startswith("almost"):
        w, V = np.linalg.eigh(np.eye(n) + m.F[1])
        flat = V[:, np.argmax(w)]
        along = [flat @ _tensor_apply(m.F[ell].reshape((n,) * (ell + 1)), flat) for ell in (2, 3)]
        if kind == "almost_dissipative":
            assert np.allclose(along, 0.0, atol=1e-14)
        else:
            assert min(abs(x) for x in along) > 1e-3


def test_with_eta_rescales_every_term():
    m = random_maps.random_map(3, "dissipative", eta=0.1, gradient=0.5, seed=4)
    m2 = m.with_eta(0.05)
    for f, f2 in zip(m.F, m2.F, strict=True):
        assert np.allclose(f2, 0.5 * f)
    assert m2.eta == 0.05


def test_quadratic_loss_map_is_gd_step():
    rng = np.random.default_rng(5)
    A = rng.standard_normal((3, 3))
    A = A @ A.T
    b, bar, u = rng.standard_normal(3), rng.standard_normal(3), rng.standard_normal(3)
    m = pm.quadratic_loss_map(A, b, bar, 0.1)
    theta = bar + u
    assert np.allclose(bar + m.step(u), theta - 0.1 * (A @ theta - b))


def _digits_like(seed=6, S=40, p=2):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((S, p)), np.sign(rng.standard_normal(S))


def test_quadratic_network_gradient_matches_finite_differences():
    X, y = _digits_like()
    theta = np.random.default_rng(7).standard_normal(2 * X.shape[1] + 1)
    grad = digits.quadratic_network_grad(theta, X, y)
    h = 1e-6
    fd = [
        (
            digits.quadratic_network_loss(theta + h * e, X, y)
            - digits.quadratic_network_loss(theta - h * e, X, y)
        )
        / (2 * h)
        for e in np.eye(theta.size)
    ]
    assert np.allclose(grad, fd, rtol=1e-6, atol=1e-8)


def test_quadratic_network_map_is_exact_far_from_the_expansion_point():
    X, y = _digits_like()
    rng = np.random.default_rng(8)
    n = 2 * X.shape[1] + 1
    bar = rng.standard_normal(n)
    m = digits.quadratic_network_map(X, y, bar, eta=0.05)
    assert m.degree == 3 and [f.shape for f in m.F[1:]] == [(n, n), (n, n**2), (n, n**3)]
    for scale in (0.1, 1.0, 3.0):
        u = scale * rng.standard_normal(n)
        expected = (bar + u) - 0.05 * digits.quadratic_network_grad(bar + u, X, y)
        assert np.allclose(bar + m.step(u), expected, rtol=1e-12, atol=1e-12)


def test_taylor_map_of_polynomial_loss_equals_exact_map():
    torch = pytest.importorskip("torch")
    X, y = _digits_like(S=20)
    p = X.shape[1]
    bar = np.random.default_rng(9).standard_normal(2 * p + 1)
    Xt, yt = torch.tensor(X), torch.tensor(y)

    def loss(theta):
        v, c, w = theta[:p], theta[p], theta[p + 1 :]
        return 0.5 * torch.mean((Xt @ v + c + (Xt @ w) ** 2 - yt) ** 2)

    taylor = taylor_maps.taylor_map(loss, bar, eta=0.1, order=3)
    exact = digits.quadratic_network_map(X, y, bar, eta=0.1)
    assert np.allclose(taylor.F[0], exact.F[0])
    for ell in (1, 2, 3):
        assert np.allclose(pm.symmetrize(taylor.F[ell], ell), pm.symmetrize(exact.F[ell], ell))


def test_torch_model_taylor_map_error_shrinks_like_fourth_power():
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(2, 2), torch.nn.Tanh(), torch.nn.Linear(2, 1))
    inputs = torch.randn(8, 2)
    targets = torch.randn(8, 1)
    eta = 0.1
    m = taylor_maps.torch_model_taylor_map(model, inputs, targets, eta, order=3)
    theta0 = torch.cat([p.detach().reshape(-1) for p in model.parameters()]).double()
    n = theta0.numel()
    assert n == 9 and m.degree == 3

    def true_step(u):
        theta = (theta0 + torch.tensor(u)).requires_grad_(True)
        sizes = [p.numel() for p in model.parameters()]
        chunks = torch.split(theta, sizes)
        params = {
            name: c.reshape(p.shape)
            for (name, p), c in zip(model.named_parameters(), chunks, strict=True)
        }
        out = torch.func.functional_call(model, params, (inputs.double(),))
        loss = torch.nn.functional.mse_loss(out, targets.double())
        (g,) = torch.autograd.grad(loss, theta)
        return u - eta * g.numpy()

    direction = np.random.default_rng(10).standard_normal(n)
    errors = [
        np.linalg.norm(m.step(s * direction) - true_step(s * direction)) for s in (0.08, 0.04)
    ]
    # gradient Taylor series through third order: remainder O(|u|^4)
    assert errors[0] / errors[1] == pytest.approx(16.0, rel=0.15)


def test_taylor_map_refuses_oversized_terms():
    pytest.importorskip("torch")
    with pytest.raises(ValueError, match="entries"):
        taylor_maps.taylor_map(
            lambda t: (t**2).sum(), np.zeros(50), 0.1, order=3, max_entries=10**6
        )


def test_nilpotent_map_structure():
    m = random_maps.nilpotent_map(2, 2, degree=3, seed=11)
    n = 4
    for ell in (2, 3):
        tensor = m.F[ell].reshape((n,) * (ell + 1))
        assert np.allclose(tensor[:2], 0.0)  # writes only into the driven block
        mask = np.ones((n,) * ell, dtype=bool)
        mask[(slice(0, 2),) * ell] = False
        assert np.allclose(tensor[:, mask], 0.0)  # reads only the driver block


def test_digits_quadratic_network_is_an_exact_gd_map():
    m = digits.digits_quadratic_network(2, train_steps=300, n_samples=200, expansion="minimum")
    assert m.n == 5 and m.degree == 3
    assert m.info["loss_minimum"] < m.info["loss_init"]
    assert m.info["grad_norm_minimum"] < 1e-3
    # the same GD run seen from two expansion points (θ* and θ0) must agree step by step
    init = digits.digits_quadratic_network(
        2, train_steps=300, n_samples=200, expansion="init", eta=m.eta
    )
    assert np.allclose(init.u0, 0.0)
    u_min, u_init = m.u0.copy(), init.u0.copy()
    for _ in range(5):
        u_min, u_init = m.step(u_min), init.step(u_init)
        assert np.allclose(u_min - m.u0, u_init, rtol=1e-10, atol=1e-12)


def test_polymap_is_seen_through_its_methods():
    m = random_maps.random_map(3, "dissipative", eta=0.1, degree=3, gradient=0.5, seed=21)
    n = m.n
    assert (n, m.degree, m.orders()) == (3, 3, [0, 1, 2, 3])
    assert pm.as_polymap(m) is m
    raw = pm.as_polymap(m.F)  # a raw list of terms is wrapped
    assert (raw.n, raw.degree) == (n, 3)
    for ell in range(4):
        term = m.term(ell)
        assert sp.isspmatrix_csr(term) or sp.issparse(term)
        assert term.shape == ((n, 1) if ell == 0 else (n, n**ell))
        assert np.allclose(term.toarray().reshape(-1) if ell == 0 else term.toarray(), m.F[ell])
        assert np.allclose(m.dense_term(ell), m.F[ell])
        assert m.term_norm(ell) == pytest.approx(pm.operator_norm(np.reshape(m.F[ell], (n, -1))))
    assert np.allclose(m.linear_part().toarray(), np.eye(n) + m.F[1])
    assert np.allclose(m.linear_dense(), np.eye(n) + m.F[1])
    u = np.array([0.1, -0.2, 0.05])
    expected = sum(m.apply_term(ell, pm.kron_power(u, ell)) for ell in m.orders())
    assert np.allclose(m.apply(u), expected)
    assert np.allclose(m.step(u), u + expected)
    assert np.allclose(pm.gd_step(m.F, u), m.step(u))
    assert m.term(4) is None and m.dense_term(4) is None and m.term_norm(4) == 0.0
    bad = pm.PolyMap(F=[None, np.eye(3), np.ones((3, 4))], eta=0.1)
    with pytest.raises(ValueError, match=r"F\[2\] has shape"):
        bad.term(2)


def test_one_digits_loader_for_the_quadratic_network_and_the_proxy_check():
    X, y = digits.digits_features(2, seed=0)
    assert X.shape == (1797, 2) and set(y) == {-1.0, 1.0}
    assert np.allclose(X.std(axis=0), 1.0)
    Xs, ys = digits.digits_features(2, seed=0, n_samples=100, rng=np.random.default_rng(0))
    assert Xs.shape == (100, 2) and ys.shape == (100,)
