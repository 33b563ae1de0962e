using System.Text.Json.Serialization;

namespace OverlayCtl.Etcd;

// etcd's v3 JSON gateway: bytes are base64, int64 are strings, zero values are omitted.

internal sealed record RangeRequest(
    [property: JsonPropertyName("key")] string Key,
    [property: JsonPropertyName("range_end")] string? RangeEnd = null,
    [property: JsonPropertyName("limit")] long Limit = 0,
    [property: JsonPropertyName("keys_only")] bool KeysOnly = false);

internal sealed record PutRequest(
    [property: JsonPropertyName("key")] string Key,
    [property: JsonPropertyName("value")] string Value,
    [property: JsonPropertyName("lease")] long Lease = 0);

internal sealed record DeleteRangeRequest(
    [property: JsonPropertyName("key")] string Key,
    [property: JsonPropertyName("range_end")] string? RangeEnd = null);

internal sealed record Compare(
    [property: JsonPropertyName("key")] string Key,
    [property: JsonPropertyName("target")] string Target,
    [property: JsonPropertyName("result")] string Result,
    [property: JsonPropertyName("version")] long? Version = null,
    [property: JsonPropertyName("create_revision")] long? CreateRevision = null,
    [property: JsonPropertyName("mod_revision")] long? ModRevision = null);

internal sealed record RequestOp(
    [property: JsonPropertyName("request_range")] RangeRequest? RequestRange = null,
    [property: JsonPropertyName("request_put")] PutRequest? RequestPut = null,
    [property: JsonPropertyName("request_delete_range")] DeleteRangeRequest? RequestDeleteRange = null);

internal sealed record TxnRequest(
    [property: JsonPropertyName("compare")] IReadOnlyList<Compare> Compare,
    [property: JsonPropertyName("success")] IReadOnlyList<RequestOp> Success,
    [property: JsonPropertyName("failure")] IReadOnlyList<RequestOp> Failure);

internal sealed record ResponseHeader([property: JsonPropertyName("revision")] long Revision);

internal sealed record KeyValueWire(
    [property: JsonPropertyName("key")] string? Key,
    [property: JsonPropertyName("value")] string? Value,
    [property: JsonPropertyName("create_revision")] long CreateRevision,
    [property: JsonPropertyName("mod_revision")] long ModRevision,
    [property: JsonPropertyName("version")] long Version,
    [property: JsonPropertyName("lease")] long Lease);

internal sealed record RangeResponse(
    [property: JsonPropertyName("header")] ResponseHeader? Header,
    [property: JsonPropertyName("kvs")] IReadOnlyList<KeyValueWire>? Kvs,
    [property: JsonPropertyName("count")] long Count);

internal sealed record DeleteRangeResponse(
    [property: JsonPropertyName("header")] ResponseHeader? Header,
    [property: JsonPropertyName("deleted")] long Deleted);

internal sealed record ResponseOp(
    [property: JsonPropertyName("response_range")] RangeResponse? ResponseRange,
    [property: JsonPropertyName("response_delete_range")] DeleteRangeResponse? ResponseDeleteRange);

internal sealed record TxnResponse(
    [property: JsonPropertyName("header")] ResponseHeader? Header,
    [property: JsonPropertyName("succeeded")] bool Succeeded,
    [property: JsonPropertyName("responses")] IReadOnlyList<ResponseOp>? Responses);

internal sealed record LeaseGrantRequest([property: JsonPropertyName("TTL")] long Ttl, [property: JsonPropertyName("ID")] long Id = 0);

internal sealed record LeaseGrantResponse([property: JsonPropertyName("ID")] long Id, [property: JsonPropertyName("TTL")] long Ttl);

internal sealed record LeaseIdRequest([property: JsonPropertyName("ID")] long Id);

internal sealed record AuthenticateRequest([property: JsonPropertyName("name")] string Name, [property: JsonPropertyName("password")] string Password);

internal sealed record AuthenticateResponse([property: JsonPropertyName("token")] string? Token);

internal sealed record ErrorResponse(
    [property: JsonPropertyName("error")] string? Error,
    [property: JsonPropertyName("message")] string? Message,
    [property: JsonPropertyName("code")] int Code);

internal sealed record Empty;

[JsonSourceGenerationOptions(
    NumberHandling = JsonNumberHandling.AllowReadingFromString | JsonNumberHandling.WriteAsString,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(RangeRequest))]
[JsonSerializable(typeof(RangeResponse))]
[JsonSerializable(typeof(PutRequest))]
[JsonSerializable(typeof(DeleteRangeRequest))]
[JsonSerializable(typeof(DeleteRangeResponse))]
[JsonSerializable(typeof(TxnRequest))]
[JsonSerializable(typeof(TxnResponse))]
[JsonSerializable(typeof(LeaseGrantRequest))]
[JsonSerializable(typeof(LeaseGrantResponse))]
[JsonSerializable(typeof(LeaseIdRequest))]
[JsonSerializable(typeof(AuthenticateRequest))]
[JsonSerializable(typeof(AuthenticateResponse))]
[JsonSerializable(typeof(ErrorResponse))]
[JsonSerializable(typeof(Empty))]
internal sealed partial class WireContext : JsonSerializerContext;
