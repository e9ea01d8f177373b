"""A small PyTorch MLP for tabular rows (``algorithm="torch_mlp"``, the ``pitwall[torch]`` extra).

scikit-learn compatible estimators (``TorchMLPClassifier`` / ``TorchMLPRegressor``: ``fit``,
``predict``, ``predict_proba``, ``score``):

- inputs: median imputation and standardisation learned on the training rows (a column that is
  always empty imputes 0, a constant one keeps scale 1); regression targets are standardised too;
- network: hidden layers (``hidden_layer_sizes="64-32"``: two ReLU layers) and a linear output
  (class logits with cross-entropy, or one value with squared error), trained with Adam in
  mini-batches on the CPU;
- early stopping on a held-out 10 % of the training rows (``validation_fraction``): the weights of
  the epoch with the lowest held-out loss are kept, training stops after ``patience`` epochs
  without improvement or at ``max_epochs``;
- reproducible: the seed fixes the split, the initial weights and the batch order (torch's global
  RNG is forked, not touched), ``n_jobs`` threads (1 by default) while fitting.

Torch trains the network; prediction is a NumPy forward pass over the learned weights, so a fitted
model and one loaded from its artifact predict through the same code, bit for bit, and a loaded
model needs no torch. ``to_arrays``/``from_arrays`` are the artifact format (``torch-npz``): the
weights as named float32 arrays (a ``.npz`` read with ``allow_pickle=False``) and the
architecture and scalers as JSON (``pitwall.ml.artifacts``); nothing is pickled, ``torch.save``
is never used. torch is imported only inside ``fit``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin

from pitwall.ml.errors import MLInputError

ARCH_FORMAT = "pitwall-torch-mlp"
ARCH_VERSION = 1
MIN_VALIDATION_ROWS = 20
"""Below this many training rows the whole set is fitted for ``max_epochs`` (no held-out part)."""
INSTALL_HINT = "algorithm 'torch_mlp' needs PyTorch: pip install 'pitwall[torch]' (the CPU build is pinned)"


def import_torch() -> Any:
    """``torch``, or a clear error naming the extra to install."""
    try:
        import torch
    except ImportError:
        raise MLInputError(f"algorithm: {INSTALL_HINT}") from None
    return torch


def _hidden(spec: Any) -> tuple[int, ...]:
    from pitwall.ml.algorithms import hidden_layers

    return hidden_layers(spec)


def _positive(name: str, value: Any, kind: type = float) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
        raise MLInputError(f"params: {name} must be a positive number, got {value!r}")
    if kind is int and not isinstance(value, int):
        raise MLInputError(f"params: {name} must be a positive integer, got {value!r}")


class _TorchMLP(BaseEstimator):
    """Shared fitting, the NumPy forward pass and the artifact arrays of both estimators."""

    _kind = "regressor"

    def __init__(
        self,
        hidden_layer_sizes: str = "64-32",
        learning_rate: float = 1e-3,
        weight_decay: float = 1e-4,
        batch_size: int = 64,
        max_epochs: int = 200,
        patience: int = 10,
        validation_fraction: float = 0.1,
        n_jobs: int = 1,
        random_state: int = 0,
    ) -> None:
        self.hidden_layer_sizes = hidden_layer_sizes
        self.learning_rate = learning_rate
        self.weight_decay = weight_decay
        self.batch_size = batch_size
        self.max_epochs = max_epochs
        self.patience = patience
        self.validation_fraction = validation_fraction
        self.n_jobs = n_jobs
        self.random_state = random_state

    # ----------------------------------------------------------------------------- fit
    def _check_params(self) -> tuple[int, ...]:
        hidden = _hidden(self.hidden_layer_sizes)
        _positive("learning_rate", self.learning_rate)
        for name in ("batch_size", "max_epochs", "patience", "n_jobs"):
            _positive(name, getattr(self, name), int)
        if isinstance(self.weight_decay, bool) or not isinstance(self.weight_decay, int | float):
            raise MLInputError(f"params: weight_decay must be a number >= 0, got {self.weight_decay!r}")
        if self.weight_decay < 0:
            raise MLInputError(f"params: weight_decay must be a number >= 0, got {self.weight_decay!r}")
        if not 0 <= self.validation_fraction < 1:
            raise MLInputError(f"params: validation_fraction must be in [0, 1), got {self.validation_fraction!r}")
        return hidden

    def _targets(self, y: np.ndarray) -> np.ndarray:
        """The training targets as the network sees them (class indices, or standardised values)."""
        raise NotImplementedError

    def fit(self, X: np.ndarray, y: np.ndarray) -> _TorchMLP:
        hidden = self._check_params()
        torch = import_torch()
        X = np.asarray(X, dtype=np.float64)
        if X.ndim != 2 or len(X) != len(y) or len(X) == 0:
            raise MLInputError(f"X: expected a non-empty 2-D matrix with one row per target, got shape {X.shape}")
        with np.errstate(all="ignore"):
            median = np.nanmedian(np.where(np.isfinite(X), X, np.nan), axis=0)  # all-empty column: NaN
        self.impute_ = np.nan_to_num(median, nan=0.0).astype(np.float64)
        filled = self._impute(X)
        self.mean_ = filled.mean(axis=0)
        std = filled.std(axis=0)
        self.scale_ = np.where(std > 1e-12, std, 1.0)
        inputs = ((filled - self.mean_) / self.scale_).astype(np.float32)
        targets = self._targets(np.asarray(y))
        n_out = self.n_outputs_

        rng = np.random.default_rng(int(self.random_state))
        order = rng.permutation(len(inputs))
        n_val = int(round(self.validation_fraction * len(inputs))) if len(inputs) >= MIN_VALIDATION_ROWS else 0
        val_rows, fit_rows = np.sort(order[:n_val]), np.sort(order[n_val:])

        threads = torch.get_num_threads()
        torch.set_num_threads(int(self.n_jobs))
        try:
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(int(self.random_state))
                layers: list[Any] = []
                width = inputs.shape[1]
                for size in hidden:
                    layers += [torch.nn.Linear(width, size), torch.nn.ReLU()]
                    width = size
                layers.append(torch.nn.Linear(width, n_out))
                net = torch.nn.Sequential(*layers)
                loss_fn = torch.nn.CrossEntropyLoss() if self._kind == "classifier" else torch.nn.MSELoss()
                optimiser = torch.optim.Adam(
                    net.parameters(), lr=float(self.learning_rate), weight_decay=float(self.weight_decay)
                )
                x_fit = torch.from_numpy(inputs[fit_rows])
                y_fit = torch.from_numpy(targets[fit_rows])
                x_val = torch.from_numpy(inputs[val_rows])
                y_val = torch.from_numpy(targets[val_rows])
                batches = torch.Generator().manual_seed(int(self.random_state))
                best, best_loss, best_epoch, waited, epoch = None, math.inf, 0, 0, 0
                for epoch in range(1, int(self.max_epochs) + 1):
                    net.train()
                    for idx in torch.randperm(len(x_fit), generator=batches).split(int(self.batch_size)):
                        optimiser.zero_grad()
                        loss = loss_fn(net(x_fit[idx]), y_fit[idx])
                        loss.backward()
                        optimiser.step()
                    if n_val == 0:
                        continue
                    net.eval()
                    with torch.no_grad():
                        val_loss = float(loss_fn(net(x_val), y_val))
                    if val_loss < best_loss - 1e-7:
                        best_loss, best_epoch, waited = val_loss, epoch, 0
                        best = [p.detach().clone() for p in net.parameters()]
                    else:
                        waited += 1
                        if waited >= int(self.patience):
                            break
                params = best if best is not None else [p.detach() for p in net.parameters()]
                self.weights_ = [np.ascontiguousarray(p.numpy(), dtype=np.float32) for p in params]
        finally:
            torch.set_num_threads(threads)
        self.n_epochs_ = epoch
        self.best_epoch_ = best_epoch if n_val else epoch
        self.validation_loss_ = None if n_val == 0 else best_loss
        self.n_features_in_ = inputs.shape[1]
        return self

    # ----------------------------------------------------------------------------- predict
    def _impute(self, X: np.ndarray) -> np.ndarray:
        X = np.asarray(X, dtype=np.float64)
        return np.where(np.isfinite(X), X, self.impute_)

    def _forward(self, X: np.ndarray) -> np.ndarray:
        """The network's output for raw feature rows (NumPy, float64 over the float32 weights)."""
        X = np.asarray(X, dtype=np.float64)
        if X.ndim != 2 or X.shape[1] != self.n_features_in_:
            raise MLInputError(f"X: expected {self.n_features_in_} feature columns, got shape {X.shape}")
        h = (self._impute(X) - self.mean_) / self.scale_
        pairs = list(zip(self.weights_[0::2], self.weights_[1::2], strict=True))
        for i, (w, b) in enumerate(pairs):
            h = h @ w.astype(np.float64).T + b.astype(np.float64)
            if i < len(pairs) - 1:
                h = np.maximum(h, 0.0)
        return h

    # ----------------------------------------------------------------------------- artifact
    def to_arrays(self) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        """(weights as named float32 arrays, the architecture and scalers as JSON-ready dict)."""
        arrays = {f"layer{i // 2}.{'weight' if i % 2 == 0 else 'bias'}": w for i, w in enumerate(self.weights_)}
        arch: dict[str, Any] = {
            "format": ARCH_FORMAT,
            "version": ARCH_VERSION,
            "kind": self._kind,
            "n_features": int(self.n_features_in_),
            "hidden": [int(w.shape[0]) for w in self.weights_[0:-2:2]],
            "n_outputs": int(self.n_outputs_),
            "activation": "relu",
            "impute": self.impute_.tolist(),
            "mean": self.mean_.tolist(),
            "scale": self.scale_.tolist(),
            "params": self.get_params(),
            "n_epochs": int(self.n_epochs_),
            "best_epoch": int(self.best_epoch_),
        }
        if self._kind == "regressor":
            arch["target_mean"], arch["target_scale"] = float(self.target_mean_), float(self.target_scale_)
        return arrays, arch


class TorchMLPClassifier(ClassifierMixin, _TorchMLP):
    """Classes are the encoded labels ``0..k-1`` (Pitwall's ``training_arrays``)."""

    _kind = "classifier"

    def _targets(self, y: np.ndarray) -> np.ndarray:
        labels = np.asarray(y, dtype=np.int64)
        if labels.min() < 0:
            raise MLInputError("y: class labels must be encoded 0..k-1")
        self.n_outputs_ = max(int(labels.max()) + 1, 2)
        self.classes_ = np.arange(self.n_outputs_)
        return labels

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        logits = self._forward(X)
        logits = logits - logits.max(axis=1, keepdims=True)
        e = np.exp(logits)
        return e / e.sum(axis=1, keepdims=True)

    def predict(self, X: np.ndarray) -> np.ndarray:
        return np.argmax(self.predict_proba(X), axis=1)


class TorchMLPRegressor(RegressorMixin, _TorchMLP):
    _kind = "regressor"

    def _targets(self, y: np.ndarray) -> np.ndarray:
        values = np.asarray(y, dtype=np.float64)
        self.n_outputs_ = 1
        self.target_mean_ = float(values.mean())
        std = float(values.std())
        self.target_scale_ = std if std > 1e-12 else 1.0
        return ((values - self.target_mean_) / self.target_scale_).astype(np.float32).reshape(-1, 1)

    def predict(self, X: np.ndarray) -> np.ndarray:
        return self._forward(X)[:, 0] * self.target_scale_ + self.target_mean_


def build(kind: str, params: Mapping[str, Any], seed: int) -> _TorchMLP:
    """An unfitted estimator of ``kind`` (torch is needed only to ``fit`` it)."""
    import_torch()  # fail at once, with the extra to install, rather than after the data is prepared
    cls = TorchMLPClassifier if kind == "classifier" else TorchMLPRegressor
    return cls(random_state=seed, **dict(params))


# ---------------------------------------------------------------------------------------- load
def _floats(arch: Mapping[str, Any], key: str, n: int, where: str) -> np.ndarray:
    values = arch.get(key)
    if (
        not isinstance(values, list)
        or len(values) != n
        or not all(isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v) for v in values)
    ):
        raise ValueError(f"{where}: {key!r} must be {n} finite numbers")
    return np.asarray(values, dtype=np.float64)


def layer_shapes(arch: Mapping[str, Any], where: str = "architecture") -> dict[str, tuple[int, ...]]:
    """The array names and shapes an architecture needs; ``ValueError`` naming the problem."""
    if not isinstance(arch, Mapping) or arch.get("format") != ARCH_FORMAT or arch.get("version") != ARCH_VERSION:
        raise ValueError(f"{where}: not a {ARCH_FORMAT} version {ARCH_VERSION} description")
    if arch.get("activation") != "relu":
        raise ValueError(f"{where}: unsupported activation {arch.get('activation')!r}")
    sizes = [arch.get("n_features"), *(arch.get("hidden") or []), arch.get("n_outputs")]
    if not isinstance(arch.get("hidden"), list) or not all(
        isinstance(s, int) and not isinstance(s, bool) and 1 <= s <= 100_000 for s in sizes
    ):
        raise ValueError(f"{where}: 'n_features', 'hidden' and 'n_outputs' must be positive integers")
    shapes: dict[str, tuple[int, ...]] = {}
    for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:], strict=True)):
        shapes[f"layer{i}.weight"] = (n_out, n_in)
        shapes[f"layer{i}.bias"] = (n_out,)
    return shapes


def from_arrays(
    kind: str, arch: Mapping[str, Any], arrays: Mapping[str, np.ndarray], where: str = "architecture"
) -> _TorchMLP:
    """A fitted estimator from its artifact parts, every shape and value checked (``ValueError``)."""
    shapes = layer_shapes(arch, where)
    if arch.get("kind") != kind:
        raise ValueError(f"{where}: describes a {arch.get('kind')!r}, not a {kind}")
    if set(arrays) != set(shapes):
        raise ValueError(f"{where}: weight arrays {sorted(arrays)} do not match the layers {sorted(shapes)}")
    for name, shape in shapes.items():
        arr = arrays[name]
        if arr.dtype != np.float32 or arr.shape != shape or not np.isfinite(arr).all():
            raise ValueError(f"{where}: array {name!r} must be finite float32 of shape {shape}")
    n = int(arch["n_features"])
    params = arch.get("params") if isinstance(arch.get("params"), dict) else {}
    cls = TorchMLPClassifier if kind == "classifier" else TorchMLPRegressor
    est = cls(**{k: v for k, v in params.items() if k in cls._get_param_names()})
    est.impute_ = _floats(arch, "impute", n, where)
    est.mean_ = _floats(arch, "mean", n, where)
    est.scale_ = _floats(arch, "scale", n, where)
    if not (est.scale_ > 0).all():
        raise ValueError(f"{where}: 'scale' must be positive")
    est.weights_ = [np.ascontiguousarray(arrays[name]) for name in shapes]
    est.n_features_in_ = n
    est.n_outputs_ = int(arch["n_outputs"])
    est.n_epochs_ = int(arch.get("n_epochs", 0))
    est.best_epoch_ = int(arch.get("best_epoch", 0))
    if kind == "classifier":
        if est.n_outputs_ < 2:
            raise ValueError(f"{where}: a classifier needs at least 2 outputs")
        est.classes_ = np.arange(est.n_outputs_)
    else:
        if est.n_outputs_ != 1:
            raise ValueError(f"{where}: a regressor has 1 output")
        mean, scale = arch.get("target_mean"), arch.get("target_scale")
        if not all(isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v) for v in (mean, scale)):
            raise ValueError(f"{where}: 'target_mean' and 'target_scale' must be finite numbers")
        est.target_mean_, est.target_scale_ = float(mean), float(scale)
    return est
