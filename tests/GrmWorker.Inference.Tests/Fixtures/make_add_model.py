"""Builds add.onnx, the binding tests' fixture: C = A + B (float32 [2, 3]) and Y = X * 2 (int64 [N]).
Run with Debian's python3-onnx: /usr/bin/python3 make_add_model.py"""
import onnx
from onnx import TensorProto, helper

a = helper.make_tensor_value_info("A", TensorProto.FLOAT, [2, 3])
b = helper.make_tensor_value_info("B", TensorProto.FLOAT, [2, 3])
c = helper.make_tensor_value_info("C", TensorProto.FLOAT, [2, 3])
x = helper.make_tensor_value_info("X", TensorProto.INT64, ["n"])
y = helper.make_tensor_value_info("Y", TensorProto.INT64, ["n"])
two = helper.make_tensor("two", TensorProto.INT64, [], [2])
graph = helper.make_graph(
    [helper.make_node("Add", ["A", "B"], ["C"]), helper.make_node("Mul", ["X", "two"], ["Y"])],
    "add", [a, b, x], [c, y], initializer=[two])
model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], producer_name="grm-tests")
model.ir_version = 7
onnx.checker.check_model(model)
onnx.save(model, "add.onnx")
