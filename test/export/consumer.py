"""A Python program using an svdq build through ctypes + numpy (no compiler, no CUDA): it reads a layer
from a checkpoint made by `svdq-codegen pack`, runs it with dist/emu/libsvdq_emu.so and compares Y with
an expected output.

    python3 consumer.py LIB CKPT PREFIX X.bin M EXPECTED.bin Y_OUT.bin MAX_ABS_ERR
"""
import ctypes as C
import json
import struct
import sys

import numpy as np

SVDQ_OK = 0
FORMAT = {"int4": 0, "nvfp4": 1, "mxfp4": 2}
DTYPE = {"fp16": 0, "bf16": 1}
NP16 = {"F16": np.uint16, "BF16": np.uint16, "U8": np.uint8, "I8": np.int8, "F32": np.float32}
EPI_BIAS, EPI_LOWRANK = 1, 2


class Desc(C.Structure):
    _fields_ = [
        ("N", C.c_int), ("K", C.c_int), ("rank", C.c_int), ("format", C.c_int), ("group", C.c_int),
        ("dtype", C.c_int), ("scale_dtype", C.c_int), ("act_unsigned", C.c_int), ("shift", C.c_float),
        ("epilogue", C.c_uint), ("wq", C.c_void_p), ("wscales", C.c_void_p), ("wtensor_scale", C.c_float),
        ("bias", C.c_void_p), ("smooth", C.c_void_p), ("lora_down", C.c_void_p), ("lora_up", C.c_void_p),
        ("lora_scales", C.POINTER(C.c_float)),
    ]


def read_safetensors(path):
    with open(path, "rb") as f:
        (n,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(n))
        data = f.read()
    meta = header.pop("__metadata__", {})
    tensors = {}
    for name, e in header.items():
        a, b = e["data_offsets"]
        tensors[name] = np.frombuffer(data[a:b], dtype=NP16[e["dtype"]]).reshape(e["shape"])
    return meta, tensors


def main():
    lib_path, ckpt, prefix, x_path, m, expected_path, y_path, tol = sys.argv[1:9]
    M = int(m)
    lib = C.CDLL(lib_path)
    lib.svdq_last_error.restype = C.c_char_p
    lib.svdq_device_alloc.argtypes = [C.c_size_t, C.POINTER(C.c_void_p)]
    lib.svdq_copy_to_device.argtypes = [C.c_void_p, C.c_void_p, C.c_size_t]
    lib.svdq_copy_to_host.argtypes = [C.c_void_p, C.c_void_p, C.c_size_t]
    lib.svdq_device_free.argtypes = [C.c_void_p]
    lib.svdq_layer_create.argtypes = [C.POINTER(Desc), C.POINTER(C.c_void_p)]
    lib.svdq_layer_workspace_size.argtypes = [C.c_void_p, C.c_int, C.POINTER(C.c_size_t)]
    lib.svdq_layer_run.argtypes = [C.c_void_p, C.c_int, C.c_void_p, C.c_void_p, C.c_void_p, C.c_size_t, C.c_void_p]
    lib.svdq_layer_destroy.argtypes = [C.c_void_p]

    def check(status, what):
        if status != SVDQ_OK:
            sys.exit(f"consumer.py: {what} failed ({status}): {lib.svdq_last_error().decode()}")

    def upload(array):
        array = np.ascontiguousarray(array)
        ptr = C.c_void_p()
        check(lib.svdq_device_alloc(max(array.nbytes, 1), C.byref(ptr)), "svdq_device_alloc")
        check(lib.svdq_copy_to_device(ptr, array.ctypes.data, array.nbytes), "svdq_copy_to_device")
        return ptr

    meta, t = read_safetensors(ckpt)
    info = json.loads(meta["svdq.layers"])[prefix]  # N, K, rank, format, dtype as `pack` recorded them
    fmt = info["format"]
    d = Desc()
    d.N, d.K, d.rank = info["N"], info["K"], info["rank"]
    d.format, d.group, d.dtype = FORMAT[fmt["kind"]], fmt["group"], DTYPE[info["dtype"]]
    d.scale_dtype = DTYPE.get(fmt["scaleDtype"], 0)
    d.wtensor_scale = float(t[f"{prefix}.wtensor_scale"]) if f"{prefix}.wtensor_scale" in t else 1.0
    d.wq, d.wscales = upload(t[f"{prefix}.wq"]), upload(t[f"{prefix}.wscales"])
    if f"{prefix}.bias" in t:
        d.bias, d.epilogue = upload(t[f"{prefix}.bias"]), d.epilogue | EPI_BIAS
    if f"{prefix}.smooth" in t:
        d.smooth = upload(t[f"{prefix}.smooth"])
    if d.rank > 0:
        d.lora_down, d.lora_up = upload(t[f"{prefix}.lora_down"]), upload(t[f"{prefix}.lora_up"])
        scales = np.ascontiguousarray(t[f"{prefix}.lora_scales"], dtype=np.float32)
        d.lora_scales = scales.ctypes.data_as(C.POINTER(C.c_float))
        d.epilogue |= EPI_LOWRANK

    layer = C.c_void_p()
    check(lib.svdq_layer_create(C.byref(d), C.byref(layer)), "svdq_layer_create")
    ws_bytes = C.c_size_t()
    check(lib.svdq_layer_workspace_size(layer, M, C.byref(ws_bytes)), "svdq_layer_workspace_size")
    x = np.fromfile(x_path, dtype=np.uint16)
    assert x.size == M * d.K, f"x has {x.size} values, expected {M * d.K}"
    dx = upload(x)
    dy, dws = C.c_void_p(), C.c_void_p()
    check(lib.svdq_device_alloc(M * d.N * 2, C.byref(dy)), "alloc y")
    check(lib.svdq_device_alloc(ws_bytes.value, C.byref(dws)), "alloc workspace")
    check(lib.svdq_layer_run(layer, M, dx, dy, dws, ws_bytes.value, None), "svdq_layer_run")
    y = np.empty(M * d.N, dtype=np.uint16)
    check(lib.svdq_copy_to_host(y.ctypes.data, dy, y.nbytes), "svdq_copy_to_host")
    lib.svdq_layer_destroy(layer)
    y.tofile(y_path)

    # bf16/fp16 bits → float32 for the comparison
    def decode(bits):
        if info["dtype"] == "bf16":
            return (bits.astype(np.uint32) << 16).view(np.float32)
        return bits.view(np.float16).astype(np.float32)

    want = decode(np.fromfile(expected_path, dtype=np.uint16))
    err = float(np.max(np.abs(decode(y) - want)))
    print(f"max |y - expected| = {err:.3e} (tolerance {float(tol):.3e})")
    sys.exit(0 if err <= float(tol) else 1)


if __name__ == "__main__":
    main()
