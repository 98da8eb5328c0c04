"""The Open Inference Protocol (KServe v2) bodies, as far as this server reads and writes them.

The infer request is validated against `InferRequest` before any field is read, so a field of the wrong type
gets a 400 naming it, not a 500. Names of v2 models and tensor datatypes are documented as enums but read
as strings: a name or datatype the server does not have gets the protocol's own 404 / 400 message.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

from service.schemas.common import ErrorResponse

DATATYPES = ["BOOL", "INT32", "INT64", "FP32", "FP64", "BYTES"]
Datatype = Annotated[str, Field(json_schema_extra={"enum": DATATYPES})]


class V2ErrorResponse(BaseModel):
    error: str = Field(description="What is wrong, in words")


# Paths the router does not match (a model name with a '/') and the body-size limit answer before the v2
# routes run, with the service's usual error body.
V2OrServiceError = V2ErrorResponse | ErrorResponse


class ServerMetadata(BaseModel):
    name: str
    version: str
    extensions: list[str]


class TensorMetadata(BaseModel):
    name: str
    datatype: Datatype
    shape: list[int] = Field(description="-1: any size")


class ModelMetadata(BaseModel):
    name: str
    versions: list[str]
    platform: str
    inputs: list[TensorMetadata]
    outputs: list[TensorMetadata]


class TritonTensorConfig(BaseModel):
    name: str
    data_type: str
    dims: list[int]


class ModelConfig(BaseModel):
    name: str
    platform: str
    backend: str
    max_batch_size: int = Field(description="0: the tensors carry no batch dimension; the server batches requests")
    input: list[TritonTensorConfig]
    output: list[TritonTensorConfig]


class InputParameters(BaseModel):
    model_config = ConfigDict(extra="allow")
    binary_data_size: int | None = Field(
        None, ge=0, description="Binary tensor extension: the input's bytes follow the JSON header, in input order"
    )


class InferInput(BaseModel):
    name: str
    datatype: Datatype
    shape: list[Annotated[int, Field(ge=0)]]
    parameters: InputParameters | None = None
    data: list[Any] | None = Field(None, description="Row-major, flat or nested; BYTES elements are strings")


class OutputParameters(BaseModel):
    model_config = ConfigDict(extra="allow")
    binary_data: bool = Field(False, description="Return this output in the binary tensor extension")


class RequestedOutput(BaseModel):
    name: str
    parameters: OutputParameters | None = None


class RequestParameters(BaseModel):
    model_config = ConfigDict(extra="allow")
    binary_data_output: bool = Field(False, description="Return every output in the binary tensor extension")


class InferRequest(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"id": "1", "inputs": [{"name": "POINTS", "datatype": "FP32", "shape": [4, 2], "data": [0, 0, 1, 0, 1, 1, 0, 1]}]}
            ]
        }
    )
    id: str | None = Field(None, description="Echoed in the response")
    parameters: RequestParameters | None = None
    inputs: list[InferInput]
    outputs: list[RequestedOutput] | None = Field(None, description="Outputs to return (default: all)")


class OutputTensor(BaseModel):
    name: str
    datatype: Datatype
    shape: list[int]
    parameters: dict[str, Any] | None = Field(None, description="binary_data_size, when the output is sent binary")
    data: list[Any] | None = None


class InferResponse(BaseModel):
    model_name: str
    model_version: str
    id: str | None = None
    outputs: list[OutputTensor]


def inline_schema(model: type[BaseModel]) -> dict[str, Any]:
    """The model's JSON schema with its nested models written in place: a `#/$defs/...` reference inside an
    operation's requestBody would resolve against the OpenAPI document, where those definitions are not."""
    schema = model.model_json_schema()
    defs = schema.pop("$defs", {})

    def resolve(node: Any) -> Any:
        if isinstance(node, dict):
            if "$ref" in node:
                return resolve(defs[node["$ref"].rsplit("/", 1)[-1]])
            return {k: resolve(v) for k, v in node.items()}
        if isinstance(node, list):
            return [resolve(v) for v in node]
        return node

    return resolve(schema)
