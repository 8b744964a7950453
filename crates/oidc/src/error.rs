//! OAuth 2.0 / OpenID Connect error codes (RFC 6749 §4.1.2.1 and §5.2, OIDC Core §3.1.2.6).

/// An `error` value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCode {
    /// The request is missing a parameter, repeats one, or is otherwise malformed.
    InvalidRequest,
    /// Client authentication failed (token endpoint).
    InvalidClient,
    /// The code is invalid, expired, used, or was issued to another client or redirect URI.
    InvalidGrant,
    /// The client may not use this grant or response type.
    UnauthorizedClient,
    /// Only `authorization_code` is supported.
    UnsupportedGrantType,
    /// Only `code` is supported.
    UnsupportedResponseType,
    /// A scope is unknown or not registered for this client.
    InvalidScope,
    /// The person refused, or the client asked for more than it is registered for.
    AccessDenied,
    /// `prompt=none`: every Tessera sign-in needs the person.
    LoginRequired,
    /// Request objects are not supported.
    RequestNotSupported,
    /// `request_uri` is not supported.
    RequestUriNotSupported,
    /// The service failed.
    ServerError,
    /// The service is overloaded or unavailable for now.
    TemporarilyUnavailable,
}

impl ErrorCode {
    /// The wire value.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::InvalidRequest => "invalid_request",
            ErrorCode::InvalidClient => "invalid_client",
            ErrorCode::InvalidGrant => "invalid_grant",
            ErrorCode::UnauthorizedClient => "unauthorized_client",
            ErrorCode::UnsupportedGrantType => "unsupported_grant_type",
            ErrorCode::UnsupportedResponseType => "unsupported_response_type",
            ErrorCode::InvalidScope => "invalid_scope",
            ErrorCode::AccessDenied => "access_denied",
            ErrorCode::LoginRequired => "login_required",
            ErrorCode::RequestNotSupported => "request_not_supported",
            ErrorCode::RequestUriNotSupported => "request_uri_not_supported",
            ErrorCode::ServerError => "server_error",
            ErrorCode::TemporarilyUnavailable => "temporarily_unavailable",
        }
    }
}

/// An OAuth error response body (RFC 6749 §5.2).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ErrorBody {
    /// The code.
    pub error: &'static str,
    /// For the developer of the relying party.
    pub error_description: String,
}

impl ErrorBody {
    /// `code` with `description`.
    pub fn new(code: ErrorCode, description: impl Into<String>) -> ErrorBody {
        ErrorBody {
            error: code.as_str(),
            error_description: description.into(),
        }
    }
}
