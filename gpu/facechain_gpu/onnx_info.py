"""Inputs, outputs and external-data files of an ONNX model, read straight from the protobuf
wire format: no onnx package, and weights are skipped by seeking, so a 3 GB model costs a few
kilobytes of reading. Used to describe exports in their manifests and to check that every
external weights file a graph names is there.

Field numbers are those of onnx.proto (ModelProto.graph = 7; GraphProto.initializer = 5,
input = 11, output = 12; ValueInfoProto.name = 1, type = 2; TypeProto.tensor_type = 1;
Tensor.elem_type = 1, shape = 2; TensorShapeProto.dim = 1; Dimension.dim_value = 1,
dim_param = 2; TensorProto.name = 8, external_data = 13; StringStringEntryProto key = 1, value = 2).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import BinaryIO, Iterator

# ONNX TensorProto.DataType → the names models/manifest.ts accepts.
ELEM_TYPES = {1: "float32", 2: "uint8", 6: "int32", 7: "int64", 9: "bool", 10: "float16"}
_ELEM_NAMES = {3: "int8", 4: "uint16", 5: "int16", 8: "string", 11: "double", 12: "uint32", 13: "uint64", 16: "bfloat16"}


class OnnxFormatError(ValueError):
    pass


@dataclass
class TensorInfo:
    name: str
    type: str
    shape: list[int | str]

    def spec(self) -> dict:
        return {"name": self.name, "type": self.type, "shape": list(self.shape)}


@dataclass
class OnnxInfo:
    inputs: list[TensorInfo] = field(default_factory=list)
    outputs: list[TensorInfo] = field(default_factory=list)
    initializers: int = 0
    external_files: set[str] = field(default_factory=set)


class _Reader:
    def __init__(self, f: BinaryIO, size: int):
        self.f = f
        self.size = size

    def varint(self, pos: int, end: int) -> tuple[int, int]:
        self.f.seek(pos)
        result = shift = 0
        while True:
            if pos >= end:
                raise OnnxFormatError("truncated varint")
            b = self.f.read(1)
            if not b:
                raise OnnxFormatError("unexpected end of file")
            pos += 1
            result |= (b[0] & 0x7F) << shift
            if not b[0] & 0x80:
                return result, pos
            shift += 7
            if shift > 63:
                raise OnnxFormatError("varint too long")

    def fields(self, start: int, end: int) -> Iterator[tuple[int, int, int, int]]:
        """(field number, wire type, value or payload offset, payload length) for each field."""
        pos = start
        while pos < end:
            tag, pos = self.varint(pos, end)
            number, wire = tag >> 3, tag & 7
            if wire == 0:
                value, pos = self.varint(pos, end)
                yield number, wire, value, 0
            elif wire == 1:
                yield number, wire, pos, 8
                pos += 8
            elif wire == 2:
                length, pos = self.varint(pos, end)
                if pos + length > end:
                    raise OnnxFormatError("a field runs past its message")
                yield number, wire, pos, length
                pos += length
            elif wire == 5:
                yield number, wire, pos, 4
                pos += 4
            else:
                raise OnnxFormatError(f"unsupported wire type {wire}")
        if pos != end:
            raise OnnxFormatError("a message runs past its end")

    def bytes_at(self, pos: int, length: int) -> bytes:
        self.f.seek(pos)
        data = self.f.read(length)
        if len(data) != length:
            raise OnnxFormatError("unexpected end of file")
        return data

    def text(self, pos: int, length: int) -> str:
        return self.bytes_at(pos, length).decode("utf-8")


def _value_info(r: _Reader, start: int, end: int) -> TensorInfo:
    name, elem, shape = "", 0, []
    for num, wire, pos, length in r.fields(start, end):
        if num == 1 and wire == 2:
            name = r.text(pos, length)
        elif num == 2 and wire == 2:
            for tnum, twire, tpos, tlen in r.fields(pos, pos + length):
                if tnum != 1 or twire != 2:
                    continue  # sequences, maps, optionals: not used by these models
                for n2, w2, p2, l2 in r.fields(tpos, tpos + tlen):
                    if n2 == 1 and w2 == 0:
                        elem = p2
                    elif n2 == 2 and w2 == 2:
                        for n3, w3, p3, l3 in r.fields(p2, p2 + l2):
                            if n3 != 1 or w3 != 2:
                                continue
                            dim: int | str = f"d{len(shape)}"
                            for n4, w4, p4, l4 in r.fields(p3, p3 + l3):
                                if n4 == 1 and w4 == 0:
                                    dim = p4
                                elif n4 == 2 and w4 == 2:
                                    dim = r.text(p4, l4)
                            shape.append(dim)
    # A type manifests cannot name is kept as "!<kind>" and refused by _check_types (initializers
    # listed as inputs are dropped first, whatever their type).
    return TensorInfo(name, ELEM_TYPES.get(elem) or "!" + _ELEM_NAMES.get(elem, f"type {elem}"), shape)


def _check_types(tensors: list[TensorInfo]) -> None:
    for t in tensors:
        if t.type.startswith("!"):
            raise OnnxFormatError(f"{t.name or 'a tensor'} is {t.type[1:]}, which model manifests cannot describe")


def _initializer(r: _Reader, start: int, end: int, info: OnnxInfo) -> str:
    name = ""
    for num, wire, pos, length in r.fields(start, end):
        if num == 8 and wire == 2:
            name = r.text(pos, length)
        elif num == 13 and wire == 2:
            key = value = ""
            for n2, w2, p2, l2 in r.fields(pos, pos + length):
                if n2 == 1 and w2 == 2:
                    key = r.text(p2, l2)
                elif n2 == 2 and w2 == 2:
                    value = r.text(p2, l2)
            if key == "location":
                info.external_files.add(value)
    return name


def read_onnx_info(path: str | os.PathLike[str]) -> OnnxInfo:
    """Graph inputs (initializers excluded, for exports that list them as inputs), outputs and
    the external data files the initializers point to (relative to the model's folder)."""
    size = os.path.getsize(path)
    info = OnnxInfo()
    with open(path, "rb") as f:
        r = _Reader(f, size)
        graph = None
        for num, wire, pos, length in r.fields(0, size):
            if num == 7 and wire == 2:
                graph = (pos, pos + length)
        if graph is None:
            raise OnnxFormatError(f"{path} has no graph: not an ONNX model")
        inits: set[str] = set()
        inputs: list[TensorInfo] = []
        for num, wire, pos, length in r.fields(*graph):
            if wire != 2:
                continue
            if num == 5:
                inits.add(_initializer(r, pos, pos + length, info))
            elif num == 11:
                inputs.append(_value_info(r, pos, pos + length))
            elif num == 12:
                info.outputs.append(_value_info(r, pos, pos + length))
        info.initializers = len(inits)
        info.inputs = [i for i in inputs if i.name not in inits]
    _check_types(info.inputs)
    _check_types(info.outputs)
    return info
