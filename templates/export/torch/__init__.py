"""PyTorch loader for an svdq-codegen build (dist/torch/svdq). Shipped by `svdq-codegen build`.

    import sys; sys.path.insert(0, "dist/torch")
    import svdq
    layer = svdq.load_layer("packed.safetensors", "blocks.0.attn.to_q")   # device="cuda" for the GPU
    y = svdq.linear(x, layer)                                              # or torch.ops.svdq.linear(...)

On first import the C++ extension (svdq_torch.cpp) is compiled with torch.utils.cpp_extension and
cached by PyTorch. CPU tensors run on dist/emu/libsvdq_emu.so, CUDA tensors on dist/lib/libsvdq.so.
"""
import json
import os
import struct

import torch
from torch.utils.cpp_extension import load as _load

_HERE = os.path.dirname(os.path.abspath(__file__))
_DIST = os.path.dirname(os.path.dirname(_HERE))
EMU_LIBRARY = os.path.join(_DIST, "emu", "libsvdq_emu.so")
CUDA_LIBRARY = os.path.join(_DIST, "lib", "libsvdq.so")

EPILOGUE_BIAS, EPILOGUE_LOWRANK, EPILOGUE_SILU, EPILOGUE_GELU = 1, 2, 4, 8


def _build():
    with_cuda = torch.cuda.is_available() and os.path.exists(CUDA_LIBRARY)
    _load(
        name="svdq_torch" + ("_cuda" if with_cuda else ""),
        sources=[os.path.join(_HERE, "svdq_torch.cpp")],
        extra_include_paths=[os.path.join(_DIST, "include")],
        extra_cflags=["-O2"] + (["-DSVDQ_TORCH_WITH_CUDA"] if with_cuda else []),
        extra_ldflags=["-ldl"],
        with_cuda=with_cuda,
        is_python_module=False,
        verbose=os.environ.get("SVDQ_TORCH_VERBOSE") == "1",
    )
    torch.ops.svdq.set_libraries(EMU_LIBRARY if os.path.exists(EMU_LIBRARY) else "", CUDA_LIBRARY if os.path.exists(CUDA_LIBRARY) else "")


_build()

_DTYPES = {"F16": torch.float16, "BF16": torch.bfloat16, "F32": torch.float32, "U8": torch.uint8, "I8": torch.int8}


def read_safetensors(path):
    """(metadata, {name: tensor}) of a safetensors file (CPU tensors)."""
    with open(path, "rb") as f:
        (n,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(n))
        data = bytearray(f.read())
    meta = header.pop("__metadata__", {})
    out = {}
    for name, e in header.items():
        a, b = e["data_offsets"]
        dtype = _DTYPES[e["dtype"]]
        size = torch.empty(0, dtype=dtype).element_size()  # dtype.itemsize is newer than torch 1.13
        t = torch.frombuffer(data, dtype=dtype, count=(b - a) // size, offset=a) if b > a else torch.empty(0, dtype=dtype)
        out[name] = t.reshape(e["shape"]).clone()
    return meta, out


def load_layer(checkpoint, prefix, device="cpu"):
    """One packed layer of a `svdq-codegen pack` checkpoint as the keyword arguments of `linear`."""
    meta, t = read_safetensors(checkpoint)
    info = json.loads(meta["svdq.layers"])[prefix]
    if info.get("channel_scale"):
        raise ValueError(f"{prefix}: has per-channel output scales (NVFP4 wcscales); the C ABI has no cscale kernels, "
                         "run it with `svdq-codegen run` (emulator/GPU harness) instead")
    get = lambda s: t[f"{prefix}.{s}"].to(device) if f"{prefix}.{s}" in t else None
    act = info.get("activation", {"unsigned": False, "shift": 0.0})  # recorded by `pack` (u4 + shift after GELU)
    layer = {
        "wq": get("wq"), "wscales": get("wscales"), "bias": get("bias"), "smooth": get("smooth"),
        "lora_down": get("lora_down"), "lora_up": get("lora_up"), "lora_scales": get("lora_scales"),
        "group": info["format"]["group"],
        "epilogue": (EPILOGUE_BIAS if f"{prefix}.bias" in t else 0) | (EPILOGUE_LOWRANK if info["rank"] > 0 else 0),
        "wtensor_scale": float(t[f"{prefix}.wtensor_scale"]) if f"{prefix}.wtensor_scale" in t else 1.0,
        "act_unsigned": bool(act["unsigned"]), "shift": float(act["shift"]),
    }
    return layer


def linear(x, layer, act_unsigned=None, shift=None, epilogue=None):
    """y = the SVDQuant layer applied to x [..., K] (float16/bfloat16); the activation coding defaults to the
    one `pack` recorded for the layer (u4 + shift for the fc2 after GELU in INT4, signed otherwise)."""
    return torch.ops.svdq.linear(
        x, layer["wq"], layer["wscales"], layer["bias"], layer["smooth"], layer["lora_down"], layer["lora_up"],
        layer["lora_scales"], layer["group"], layer["epilogue"] if epilogue is None else epilogue,
        layer.get("act_unsigned", False) if act_unsigned is None else act_unsigned,
        layer.get("shift", 0.0) if shift is None else shift,
        layer["wtensor_scale"],
    )
