"""Registers a servicer's methods with a request parser that never raises.

grpc's generated registration parses the request before the handler runs and answers a body that
is not valid protobuf with UNKNOWN ("Unexpected DecodeError"). A client that sends garbage should
learn that its request is at fault, so here a malformed body reaches a guard that answers
INVALID_ARGUMENT instead; the servicer itself only ever sees well-formed messages.

A method may parse its request as another message of the same wire layout: Submit parses a
SubmitRequest as a SubmittedBatch, which keeps each command's bytes as sent
(proto/settlement/v1/log.proto).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import grpc
from google.protobuf import descriptor, message_factory
from google.protobuf.message import DecodeError


class _Malformed:
    __slots__ = ("reason",)

    def __init__(self, reason: str) -> None:
        self.reason = reason


def _tolerant_parser(message_class: type) -> Callable[[bytes], object]:
    def parse(data: bytes) -> object:
        try:
            return message_class.FromString(data)
        except (DecodeError, ValueError) as error:
            return _Malformed(str(error))

    return parse


def _details(request: _Malformed, method: descriptor.MethodDescriptor) -> str:
    return f"request: not a valid {method.input_type.full_name}: {request.reason}"


def _guard_unary(behaviour: Callable, method: descriptor.MethodDescriptor) -> Callable:
    async def handle(request, context: grpc.aio.ServicerContext):
        if isinstance(request, _Malformed):
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, _details(request, method))
        return await behaviour(request, context)

    return handle


def _guard_stream(behaviour: Callable, method: descriptor.MethodDescriptor) -> Callable:
    async def handle(request, context: grpc.aio.ServicerContext):
        if isinstance(request, _Malformed):
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, _details(request, method))
        async for response in behaviour(request, context):
            yield response

    return handle


def add_servicer(server: grpc.aio.Server, service: descriptor.ServiceDescriptor, servicer: object,
                 parse_requests_as: Mapping[str, type] | None = None) -> None:
    """Adds every method of `service` (unary-unary and unary-stream) implemented by `servicer`.
    `parse_requests_as`: method name -> the message class its request bytes are parsed as
    (default: the method's input type)."""
    handlers = {}
    for method in service.methods:
        assert not method.client_streaming, method.full_name  # no client-streaming calls in the API
        request_class = (parse_requests_as or {}).get(method.name) or message_factory.GetMessageClass(method.input_type)
        parse = _tolerant_parser(request_class)
        serialize = message_factory.GetMessageClass(method.output_type).SerializeToString
        behaviour = getattr(servicer, method.name)
        if method.server_streaming:
            handlers[method.name] = grpc.unary_stream_rpc_method_handler(
                _guard_stream(behaviour, method), request_deserializer=parse, response_serializer=serialize
            )
        else:
            handlers[method.name] = grpc.unary_unary_rpc_method_handler(
                _guard_unary(behaviour, method), request_deserializer=parse, response_serializer=serialize
            )
    server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(service.full_name, handlers),))
