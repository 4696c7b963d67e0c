//! The catalogue of problem codes and per-field codes. `/api/docs/problems` is rendered
//! from these lists, so a code cannot exist without its documentation.

macro_rules! problem_codes {
    ($($variant:ident = ($code:literal, $status:literal, $title:literal, $desc:literal),)*) => {
        /// The stable, machine-readable `code` of a problem response.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum ProblemCode { $($variant,)* }

        impl ProblemCode {
            pub const ALL: &'static [ProblemCode] = &[$(ProblemCode::$variant,)*];

            pub fn as_str(self) -> &'static str {
                match self { $(ProblemCode::$variant => $code,)* }
            }

            pub fn status(self) -> u16 {
                match self { $(ProblemCode::$variant => $status,)* }
            }

            pub fn title(self) -> &'static str {
                match self { $(ProblemCode::$variant => $title,)* }
            }

            /// What it means and what a client should do about it.
            pub fn description(self) -> &'static str {
                match self { $(ProblemCode::$variant => $desc,)* }
            }
        }
    };
}

problem_codes! {
    BadRequest = ("bad_request", 400, "Bad request",
        "The request is malformed in a way no more specific code describes. Fix the request; retrying it unchanged will fail again."),
    InvalidJson = ("invalid_json", 400, "Invalid JSON",
        "The body is not valid JSON or does not have the expected shape. `detail` says where parsing failed."),
    InvalidFilter = ("invalid_filter", 400, "Invalid filter",
        "The `filter` query parameter could not be parsed or names an unknown field. `detail` gives the byte position of the problem."),
    InvalidQuery = ("invalid_query", 400, "Invalid query parameter",
        "A query or path parameter is missing, malformed or out of range. `detail` names the parameter."),
    InvalidEventId = ("invalid_event_id", 400, "Invalid event id",
        "`Last-Event-ID` or `since` on a realtime stream is not a sequence number, or is ahead of the change feed (it comes from another server or a restored database). Reconnect without it and refetch."),
    Unauthenticated = ("unauthenticated", 401, "Authentication required",
        "No valid credentials were presented: the bearer token is missing, malformed, expired or revoked. The response carries `WWW-Authenticate: Bearer`. Log in again or use another token."),
    Forbidden = ("forbidden", 403, "Forbidden",
        "The caller is authenticated but not allowed to do this (missing role, scope or admin rights)."),
    NotFound = ("not_found", 404, "Not found",
        "No resource exists at this path, or the caller may not see it. Hearth answers 404 rather than 403 for records the caller may not view, so ids do not leak."),
    MethodNotAllowed = ("method_not_allowed", 405, "Method not allowed",
        "The path exists but does not accept this HTTP method."),
    Conflict = ("conflict", 409, "Conflict",
        "The request conflicts with the current state of the resource."),
    UniqueViolation = ("unique_violation", 409, "Unique constraint violated",
        "Another record already has this value in a field declared `unique`. `errors` names the field."),
    SchemaConflict = ("schema_conflict", 409, "Schema change conflicts with existing data",
        "The collection change would violate existing rows (for example a new required field without a default). Nothing was changed; `detail` names the field and how many rows violate it."),
    TokenLimitReached = ("token_limit_reached", 409, "Too many personal tokens",
        "The account already has the most live personal tokens it may hold (100). Revoke tokens that are no longer used (`DELETE /api/v1/auth/tokens/{id}`), then create the new one."),
    UploadOffsetMismatch = ("upload_offset_mismatch", 409, "Upload offset mismatch",
        "A tus `PATCH` carried an `Upload-Offset` other than the upload's current offset (a chunk was lost or sent twice). Ask for the offset with `HEAD /api/v1/uploads/{id}` and resume from there."),
    UploadExpired = ("upload_expired", 410, "Upload expired",
        "The tus upload was not finished before its `Upload-Expires` time (24 h after its last chunk by default) and its bytes are being removed. Start a new upload."),
    TusVersionUnsupported = ("tus_version_unsupported", 412, "tus version not supported",
        "A tus request lacks `Tus-Resumable: 1.0.0` or asks for another version of the protocol. The `Tus-Version` header lists the versions this server speaks."),
    PreconditionFailed = ("precondition_failed", 412, "Precondition failed",
        "`If-Match` did not match the current `ETag`: someone else changed the record. Fetch it again and retry."),
    RequestTimeout = ("request_timeout", 408, "Request timeout",
        "The request body did not arrive within `body_read_timeout` (30 s by default). Send it faster or in a smaller request."),
    PayloadTooLarge = ("payload_too_large", 413, "Payload too large",
        "The request body is larger than the server's limit (1 MiB by default, `body_limit` in the configuration)."),
    UnsupportedMediaType = ("unsupported_media_type", 415, "Unsupported media type",
        "The `Content-Type` of the body is missing or not one this endpoint accepts (usually `application/json`)."),
    RangeNotSatisfiable = ("range_not_satisfiable", 416, "Range not satisfiable",
        "The `Range` header of a file download asks for bytes past the end of the file (its size is in `Content-Range: bytes */SIZE`). Ask for a range that starts within the file, or for the whole file without `Range`."),
    IdempotencyKeyReused = ("idempotency_key_reused", 422, "Idempotency key reused",
        "The `Idempotency-Key` was already used within 24 hours for a request with a different body. Use a new key for a new request."),
    ValidationFailed = ("validation_failed", 422, "Validation failed",
        "The body is well-formed but some fields are invalid. `errors` lists every invalid field with a per-field code (see below)."),
    ChecksumMismatch = ("checksum_mismatch", 460, "Checksum mismatch",
        "The SHA-256 of a tus `PATCH` body did not match its `Upload-Checksum`: the chunk was damaged on the way and was discarded (the upload's offset is unchanged). Send the chunk again."),
    RateLimited = ("rate_limited", 429, "Too many requests",
        "The caller exceeded its rate limit. Wait for the number of seconds in `Retry-After` before retrying."),
    StreamLimitReached = ("stream_limit_reached", 429, "Too many streams",
        "The caller already holds its maximum of realtime streams open (`realtime_max_streams_per_user`). Close one, or follow several collections on one stream with `/api/v1/realtime?topics=`."),
    Internal = ("internal", 500, "Internal server error",
        "Something failed inside the server. The body says nothing more on purpose; quote the `request_id` to the operator, whose log has the cause."),
    QueryTimeout = ("query_timeout", 503, "Query took too long",
        "The query ran past the server's time budget for one query (`query_timeout`, 3 s by default) and was stopped; nothing was changed. Retry after the number of seconds in `Retry-After`, with a narrower filter, an indexed sort, or without `count=true`."),
    Unavailable = ("unavailable", 503, "Service unavailable",
        "The server cannot serve this now (database busy, starting or stopping). Retry after the number of seconds in `Retry-After`."),
    InsufficientStorage = ("insufficient_storage", 507, "Insufficient storage",
        "The server's disk is full; nothing was written. Retry once the operator has freed space."),
}

macro_rules! field_codes {
    ($($variant:ident = ($code:literal, $desc:literal),)*) => {
        /// Per-field codes inside a `validation_failed` problem's `errors`.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum FieldCode { $($variant,)* }

        impl FieldCode {
            pub const ALL: &'static [FieldCode] = &[$(FieldCode::$variant,)*];

            pub fn as_str(self) -> &'static str {
                match self { $(FieldCode::$variant => $code,)* }
            }

            pub fn description(self) -> &'static str {
                match self { $(FieldCode::$variant => $desc,)* }
            }
        }
    };
}

field_codes! {
    Required = ("required", "The field is required and was missing or null."),
    WrongType = ("wrong_type", "The value has the wrong JSON type for the field."),
    TooShort = ("too_short", "The text is shorter than `min_length`."),
    TooLong = ("too_long", "The text is longer than `max_length` (or the JSON larger than `max_bytes`)."),
    TooSmall = ("too_small", "The number is below `min`."),
    TooLarge = ("too_large", "The number is above `max`."),
    PatternMismatch = ("pattern_mismatch", "The text does not match the field's `pattern`."),
    NotInEnum = ("not_in_enum", "The value is not one of the field's `values`."),
    InvalidEmail = ("invalid_email", "The value is not an email address."),
    InvalidUrl = ("invalid_url", "The value is not an absolute http(s) URL."),
    InvalidDatetime = ("invalid_datetime", "The value is not an RFC 3339 date-time (or a `YYYY-MM-DD` date for date fields)."),
    UnknownField = ("unknown_field", "The body names a field the resource does not have."),
    ReadOnlyField = ("read_only_field", "The field is set by the server (`id`, `created_at`, `updated_at`, `version`, `owner`)."),
    RelationNotFound = ("relation_not_found", "The relation points at a record that does not exist."),
    Invalid = ("invalid", "The value is invalid for a reason the message explains."),
    FileTypeNotAllowed = ("file_type_not_allowed", "The file's content (sniffed from its bytes) is not one of the field's `mime_types`."),
    TooManyFiles = ("too_many_files", "The field holds more files than its `max_files`."),
    FileNotFound = ("file_not_found", "The name is not a file this record holds or this request uploaded."),
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn codes_are_unique_snake_case_and_statuses_are_errors() {
        let mut seen = HashSet::new();
        for code in ProblemCode::ALL {
            assert!(seen.insert(code.as_str()), "duplicate {}", code.as_str());
            assert!(code
                .as_str()
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b == b'_'));
            assert!((400..600).contains(&code.status()));
            assert!(!code.description().is_empty());
        }
        let fields: HashSet<_> = FieldCode::ALL.iter().map(|c| c.as_str()).collect();
        assert_eq!(fields.len(), FieldCode::ALL.len());
    }

    #[test]
    fn contract_codes_exist() {
        // API.md section 3 lists these; the catalogue must carry every one.
        let codes: HashSet<_> = ProblemCode::ALL.iter().map(|c| c.as_str()).collect();
        for c in [
            "bad_request",
            "invalid_json",
            "invalid_filter",
            "invalid_query",
            "unauthenticated",
            "forbidden",
            "not_found",
            "method_not_allowed",
            "conflict",
            "unique_violation",
            "schema_conflict",
            "precondition_failed",
            "payload_too_large",
            "unsupported_media_type",
            "validation_failed",
            "rate_limited",
            "internal",
            "unavailable",
        ] {
            assert!(codes.contains(c), "{c} missing");
        }
        let fields: HashSet<_> = FieldCode::ALL.iter().map(|c| c.as_str()).collect();
        for c in [
            "required",
            "wrong_type",
            "too_short",
            "too_long",
            "too_small",
            "too_large",
            "pattern_mismatch",
            "not_in_enum",
            "invalid_email",
            "invalid_url",
            "invalid_datetime",
            "unknown_field",
            "read_only_field",
            "relation_not_found",
        ] {
            assert!(fields.contains(c), "{c} missing");
        }
    }
}
