"""What the project made by `modeltrail demo` contains: its files (templates here, read with
importlib.resources) and the edits the demo's people make to them. The data is `data.py`'s.
"""

from __future__ import annotations

from importlib import resources


def template(name: str) -> str:
    return (resources.files(__name__) / name).read_text(encoding="utf-8")


GITIGNORE = """\
# modeltrail's local registry, the trained model, Python caches
.modeltrail/
.modeltrail-demo
model.npz
__pycache__/
"""

FEATURES_BEFORE = '''\
def features(X: np.ndarray) -> np.ndarray:
    """The model's inputs, from the raw columns."""
    return featurekit.log_scale(X, columns=[FEATURES.index(c) for c in SKEWED])
'''

FEATURES_AFTER = '''\
def features(X: np.ndarray) -> np.ndarray:
    """The model's inputs, from the raw columns, plus a night-time flag."""
    hour = X[:, FEATURES.index("hour")]
    night = ((hour >= 22) | (hour < 6)).astype(float)
    scaled = featurekit.log_scale(X, columns=[FEATURES.index(c) for c in SKEWED])
    return np.column_stack([scaled, night])
'''


def params_yaml(*, learning_rate: float, epochs: int) -> str:
    return (
        "# Settings read by train.py\n"
        "model: logistic_regression\n"
        "train:\n"
        f"  learning_rate: {learning_rate}\n"
        f"  epochs: {epochs}\n"
        "  l2: 0.001\n"
        "  threshold: 0.5\n"
    )
