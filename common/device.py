"""Device choice for the stages that run models (merge, evaluation): `auto`, `cpu`, `cuda`, `cuda:N`."""

from __future__ import annotations

import torch


class DeviceError(ValueError):
    """The recipe asks for a device this machine does not have."""


def pick_device(name: str, *, key: str = "device") -> torch.device:
    """`auto` is the first CUDA device when there is one, else the CPU; `key` names the recipe setting
    in the error when CUDA is asked for but absent."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(name)
    except RuntimeError as err:
        raise DeviceError(f"{key}: {name!r} is not a device ({err})") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise DeviceError(f"{key} is {name} but no CUDA device is available")
    return device
