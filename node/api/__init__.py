"""The gRPC/protobuf API, package `settlement.v1`: code generated from proto/ by node.api.generate.

Import the generated modules as `node.api.settlement.v1.<file>_pb2`; never edit them by hand.
"""
