"""Precision: bfloat16 compute where the CPU has bfloat16 units, float32 checkpoints always."""

from __future__ import annotations

import contextlib
from pathlib import Path

import keras
import tensorflow as tf

# bfloat16 compute where the CPU has bfloat16 units. BENCHMARKS.md: on a 2-core
# Xeon with AMX the seed network trains 2.4x and the improved one 1.4x faster; elsewhere bfloat16
# is emulated and slow, so "auto" keeps float32 there.

PRECISIONS = ("auto", "float32", "bfloat16")


def bfloat16_hardware() -> bool:
    """Whether this CPU computes bfloat16 natively (Intel AMX or AVX512-BF16) and TensorFlow
    sees no GPU (on a GPU, mixed precision is float16's business, not this)."""
    if tf.config.list_physical_devices("GPU"):
        return False
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    return " amx_bf16" in flags or " avx512_bf16" in flags


def policy_name(precision: str = "auto") -> str:
    """The Keras dtype policy for `precision`: "mixed_bfloat16" (float32 weights, bfloat16
    compute) or "float32"."""
    if precision not in PRECISIONS:
        raise ValueError(f"unknown precision {precision!r}: expected one of {PRECISIONS}")
    if precision == "auto":
        precision = "bfloat16" if bfloat16_hardware() else "float32"
    return "mixed_bfloat16" if precision == "bfloat16" else "float32"


@contextlib.contextmanager
def precision_scope(precision: str = "auto"):
    """Build models inside this block to compute in `precision`; the global Keras policy is
    restored afterwards (a policy only matters when a layer is made)."""
    previous = keras.mixed_precision.global_policy()
    keras.mixed_precision.set_global_policy(policy_name(precision))
    try:
        yield keras.mixed_precision.global_policy().name
    finally:
        keras.mixed_precision.set_global_policy(previous)


def float32_copy(model):
    """The same network and weights with every layer in float32: what is saved, so a model
    trained in bfloat16 predicts at full speed on CPUs without bfloat16 units too. Returns
    `model` itself when it is float32 already."""
    if all(layer.dtype_policy.name == "float32" for layer in model.layers):
        return model

    def in_float32(layer):
        return layer.__class__.from_config({**layer.get_config(), "dtype": "float32"})

    with precision_scope("float32"):
        copy = keras.models.clone_model(model, clone_function=in_float32)
    copy.set_weights(model.get_weights())
    return copy
